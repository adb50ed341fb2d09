/**
 * Who owns the application credentials, and which runs may touch them.
 *
 * Keystone application credentials belong to a user, not to a project. The provider
 * (terraform-provider-openstack v1.54.1, resource_openstack_identity_application_credential_v3.go)
 * creates, reads and deletes them under the user of the current token
 * (`/v3/users/{token user}/application_credentials/{id}`): Read maps a 404 to "gone"
 * (`CheckDeleted` drops the resource from the state) and Delete maps a 404 to "deleted".
 * Keystone (keystone/api/users.py, `_update_request_user_id_attribute`) checks the policy
 * against the credential's real owner, so another user without an admin role gets a 403
 * (refresh and destroy fail) or, where a cloud answers 404, the credential silently drops
 * out of the state and stays valid. Keystone also deletes a user's credentials when the
 * user is deleted, and they stop working when it is disabled or loses a role.
 *
 * So the stack records the owner (`deployed.appCredentialOwner`) and preflight refuses a
 * run by anyone else before anything is touched; `appCredential.owner` names the user
 * that must own them (a service user) and is part of the credential names, so changing it
 * is a deliberate hand-over: new credentials are created by the new owner.
 * Pure: no Pulumi runtime here.
 */
import { CONFIG_NAMESPACE } from "../config";
import { PreviousDeployment } from "./lifecycle";

/** A Keystone user as getAuthScope reports it (and the stack records it). */
export interface KeystoneUser {
    /** User ID. */
    id: string;
    /** User name (unique within its domain only). */
    name: string;
}

/** What preflight says about the owner: problems refuse the run, the rest is logged. */
export interface OwnerFindings {
    /** Problems, each naming `capi-mgmt:appCredential.owner`. */
    problems: string[];
    /** Warnings (logged). */
    warnings: string[];
    /** Which user the credentials belong to (logged as information). */
    info: string;
}

/** The facts preflight has about the owner. */
export interface OwnerFacts {
    /** `capi-mgmt:appCredential.owner` (name or ID), if set. */
    expected?: string;
    /** The user the credentials are created, read and deleted as in this run. */
    current: KeystoneUser;
    /** What the last successful `up` recorded. */
    previous: PreviousDeployment;
    /** Production stacks are warned without `expected`. */
    production: boolean;
    /** The clouds.yaml entry the credentials are created through (`workloadProject.cloud`), if not `openstack:cloud`. */
    workloadProjectCloud?: string;
}

const KEY = `${CONFIG_NAMESPACE}:appCredential.owner`;
const SEE = `docs/settings.md, "Owner: a service user"`;

/** True when a setting (user name or ID) names this user. */
export function ownerMatches(expected: string, user: KeystoneUser): boolean {
    return expected === user.id || expected === user.name;
}

/** The owner the last successful `up` recorded, if it recorded one. */
export function recordedOwner(previous: PreviousDeployment): KeystoneUser | undefined {
    if (previous.kind !== "deployed") {
        return undefined;
    }
    const o = previous.state.appCredentialOwner as unknown;
    if (typeof o !== "object" || o === null) {
        return undefined;
    }
    const { id, name } = o as Record<string, unknown>;
    return typeof id === "string" && id !== "" && typeof name === "string" ? { id, name } : undefined;
}

function who(u: KeystoneUser): string {
    return `"${u.name}" (ID ${u.id})`;
}

/**
 * Checks the user this run authenticates as against `appCredential.owner` and against the
 * recorded owner. Refused: a user other than the expected one (the credentials would be
 * created or rotated by the wrong user); without an expectation, a user other than the
 * recorded owner (Keystone lets only the owner read and delete them). A changed
 * expectation that names the current user is a hand-over: new credentials (their names
 * include the owner) are created by this user, with a warning about the old ones.
 */
export function credentialOwnerFindings(f: OwnerFacts): OwnerFindings {
    const problems: string[] = [];
    const warnings: string[] = [];
    const c = f.current;
    const through = f.workloadProjectCloud
        ? `the workload project's clouds.yaml entry (${CONFIG_NAMESPACE}:workloadProject.cloud "${f.workloadProjectCloud}")`
        : "openstack:cloud (or the OS_* variables)";
    const info = `the application credentials are created, read and deleted as Keystone user ${who(c)}, the user of ${through}`;
    const recorded = recordedOwner(f.previous);

    if (f.expected !== undefined) {
        if (!ownerMatches(f.expected, c)) {
            problems.push(
                `${KEY}: this run authenticates as ${who(c)} through ${through}, not as "${f.expected}": the application ` +
                    `credentials would be created, rotated or deleted by the wrong user. Authenticate as "${f.expected}" ` +
                    `(its clouds.yaml entry), or set ${KEY} to hand the credentials over (${SEE})`,
            );
        } else if (recorded && recorded.id !== c.id) {
            if (ownerMatches(f.expected, recorded)) {
                // The same setting names both: two users of that name in different domains.
                problems.push(
                    `${KEY}: "${f.expected}" names both the recorded owner ${who(recorded)} and this run's user ${who(c)} ` +
                        `(same name, other domain): set it to the owner's user ID`,
                );
            } else {
                warnings.push(
                    `${KEY}: handing the application credentials over from ${who(recorded)} to ${who(c)}: new ones are ` +
                        `created as ${who(c)} and the old ones deleted. Keystone lets only their owner (or an admin) delete ` +
                        `them; if it refuses, the run ends with that error after everything else is done: delete the old ` +
                        `ones as "${recorded.name}" or an admin (\`openstack application credential delete\`), then run \`pulumi up\` again`,
                );
            }
        }
    } else if (recorded && recorded.id !== c.id) {
        problems.push(
            `${KEY}: the application credentials of this stack belong to Keystone user ${who(recorded)}, and this run ` +
                `authenticates as ${who(c)} through ${through}. Keystone lets only their owner read and delete them: a run as ` +
                `another user would drop them from the state and create new ones under that user, or leave them valid after ` +
                `\`pulumi destroy\`. Run as "${recorded.name}", or take them over: set ${KEY} to "${c.id}", which creates new ` +
                `credentials as ${who(c)} (${SEE})`,
        );
    } else if (!recorded && f.previous.kind !== "none") {
        warnings.push(
            `${KEY}: the owner of this stack's application credentials was not recorded (deployed by an older version); ` +
                `this run records ${who(c)}. If someone else created them, stop and run as that user, or set ${KEY} (${SEE})`,
        );
    }
    if (f.expected === undefined && f.production) {
        warnings.push(
            `${KEY} is not set: the application credentials belong to whoever runs \`pulumi up\` (now ${who(c)}), and Keystone ` +
                `deletes them with that user (or they stop working when it is disabled or loses a role), cutting CAPO, ORC and ` +
                `every workload cluster's cloud provider off at once. Production should run as a dedicated service user and ` +
                `set ${KEY} to it (${SEE})`,
        );
    }
    return { problems, warnings, info };
}
