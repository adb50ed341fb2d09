/**
 * A throw-away project on the shared OpenStack test bed, made through its admin cloud: a project,
 * a user in it with the roles a cloud user has, and a session as that user. Tests that share the
 * running bed with others work (and take inventory) only inside a project of their own.
 */
import { randomBytes } from "crypto";
import { APP_CREDENTIAL_PURPOSES, appCredentialName, canonicalSettings } from "../../src/cloud/appCredentials";
import { CatalogService, identityEndpoint, renderCloudsYaml } from "../../src/cluster/cloudCredentials";
import { DEFAULT_ROLES } from "../../src/config";
import { Cloud, Session } from "./openstackBed";

/** Roles of a cloud user on the bed's own user project (bootstrap.py gives capi-mgmt these). */
export const CLOUD_USER_ROLES = ["member", "load-balancer_member"];

/** A project of a test's own, with its user. */
export interface OwnProject {
    /** Keystone ID and name of the project. */
    projectId: string;
    name: string;
    /** The user's ID; `cloud` logs in as it (password auth, scoped to the project). */
    userId: string;
    cloud: Cloud;
    /** A session as the user, scoped to the project. */
    session: Session;
    /** Deletes the user and the project (not what the test made inside: clean that up first). */
    remove(): Promise<void>;
}

/**
 * Creates project `<prefix>-<random>` in the Default domain and a user of the same name with
 * `roles` on it, through `admin` (a session of the bed's admin cloud); `template` (any cloud of
 * the bed) gives the auth URL and region.
 */
export async function createOwnProject(admin: Session, template: Cloud, prefix: string, roles = CLOUD_USER_ROLES): Promise<OwnProject> {
    const name = `${prefix}-${randomBytes(4).toString("hex")}`;
    const password = randomBytes(18).toString("base64url");
    const project = (
        await admin.call<{ project: { id: string } }>("identity", "POST", "/projects", {
            project: { name, domain_id: "default", description: "capi-mgmt integration test (throw-away)" },
        })
    ).project;
    let userId: string | undefined;
    const remove = async () => {
        if (userId) {
            await admin.call("identity", "DELETE", `/users/${userId}`);
        }
        await admin.call("identity", "DELETE", `/projects/${project.id}`).catch(async () => {
            // Keystone refuses to delete an enabled project on some versions: disable it first.
            await admin.call("identity", "PATCH", `/projects/${project.id}`, { project: { enabled: false } });
            await admin.call("identity", "DELETE", `/projects/${project.id}`);
        });
    };
    try {
        userId = (
            await admin.call<{ user: { id: string } }>("identity", "POST", "/users", {
                user: { name, password, domain_id: "default", default_project_id: project.id },
            })
        ).user.id;
        for (const role of roles) {
            const found = (await admin.call<{ roles: { id: string }[] }>("identity", "GET", `/roles?name=${encodeURIComponent(role)}`)).roles;
            if (found.length !== 1) {
                throw new Error(`the bed has ${found.length} roles named ${role}`);
            }
            await admin.call("identity", "PUT", `/projects/${project.id}/users/${userId}/roles/${found[0].id}`);
        }
        const cloud: Cloud = {
            auth: {
                auth_url: template.auth.auth_url,
                username: name,
                password,
                project_name: name,
                user_domain_name: "Default",
                project_domain_name: "Default",
            },
            region_name: template.region_name,
        };
        const session = await Session.login(cloud);
        return { projectId: project.id, name, userId, cloud, session, remove };
    } catch (err) {
        await remove().catch(() => undefined);
        throw err;
    }
}

/** An application credential of the project's user, and the clouds.yaml the program writes for it. */
export interface ProgramCredential {
    id: string;
    secret: string;
    /** Roles Keystone gave it (sorted) and whether it is unrestricted, as Keystone answers. */
    roles: string[];
    unrestricted: boolean;
    /** clouds.yaml (cloud `openstack`) as src/cluster/cloudCredentials.ts renders it for CAPO and ORC. */
    cloudsYaml: string;
    /** Deletes the credential. */
    remove(): Promise<void>;
}

/**
 * Creates an application credential as src/cloud/appCredentials.ts creates it (name, description,
 * the default roles `capi-mgmt:appCredential.roles` has, restricted, no expiry) and renders its
 * clouds.yaml with the program's functions (identity endpoint from the catalog).
 */
export async function createProgramCredential(
    own: OwnProject,
    prefix: string,
    purpose: keyof typeof APP_CREDENTIAL_PURPOSES = "capi",
): Promise<ProgramCredential> {
    const settings = canonicalSettings({ roles: [...DEFAULT_ROLES] });
    const made = (
        await own.session.call<{ application_credential: { id: string; secret: string; roles: { name: string }[]; unrestricted: boolean } }>(
            "identity",
            "POST",
            `/users/${own.userId}/application_credentials`,
            {
                application_credential: {
                    name: appCredentialName(prefix, purpose, settings),
                    description: `capi-mgmt ${prefix}: ${APP_CREDENTIAL_PURPOSES[purpose]}`,
                    roles: settings.roles.map((name) => ({ name })),
                    unrestricted: false,
                },
            },
        )
    ).application_credential;
    const catalog = (await own.session.call<{ catalog: CatalogService[] }>("identity", "GET", "/auth/catalog")).catalog;
    const region = own.cloud.region_name;
    return {
        id: made.id,
        secret: made.secret,
        roles: made.roles.map((r) => r.name).sort(),
        unrestricted: made.unrestricted,
        cloudsYaml: renderCloudsYaml({ authUrl: identityEndpoint(catalog, region), region, id: made.id, secret: made.secret }),
        remove: async () => {
            await own.session.call("identity", "DELETE", `/users/${own.userId}/application_credentials/${made.id}`);
        },
    };
}
