/**
 * A project of its own on the shared OpenStack test bed (testbed/openstack) for the CAPO tests:
 * made through the admin cloud (project, user, the roles a cloud user has), the application
 * credential the program would make in it (src/cloud/appCredentials.ts: same name rule, roles,
 * `unrestricted: false`), an inventory of everything the project holds, and a clean-up that
 * empties and deletes it. Nothing here touches another project.
 */
import * as crypto from "crypto";
import { appCredentialName, APP_CREDENTIAL_PURPOSES, canonicalSettings } from "../../src/cloud/appCredentials";
import { AppCredentialSettings } from "../../src/config";
import { ApiError, Cloud, gone, poll, Session } from "./openstackBed";

/** A JSON object of an OpenStack API. */
export type Obj = Record<string, unknown> & { id: string; name?: string };

/** What the dev stack sets (Pulumi.dev.yaml, capi-mgmt:appCredential). */
export const DEV_APP_CREDENTIAL: AppCredentialSettings = { roles: ["member", "load-balancer_member"] };

/** The project, its user and sessions. */
export interface OwnProject {
    name: string;
    projectId: string;
    userId: string;
    /** The user's cloud entry (password auth), like the bed's clouds.yaml entries. */
    cloud: Cloud;
    /** The user's session (what a cloud user can do). */
    user: Session;
    /** The admin session (project and user lifecycle only). */
    admin: Session;
}

/** Creates a project and a user that is `member` and `load-balancer_member` of it. */
export async function createProject(adminCloud: Cloud, prefix: string): Promise<OwnProject> {
    const admin = await Session.login(adminCloud);
    const name = `${prefix}-${crypto.randomBytes(3).toString("hex")}`;
    const password = crypto.randomBytes(18).toString("base64url");
    const ks = (method: string, p: string, body?: unknown) => admin.call<Record<string, Obj & Obj[]>>("identity", method, p, body);
    const project = (
        await ks("POST", "/projects", {
            project: { name, domain_id: "default", description: "capi-mgmt CAPO test bed (test/integration/capoOpenstack.integration.ts)" },
        })
    ).project;
    const user = (await ks("POST", "/users", { user: { name, password, domain_id: "default", default_project_id: project.id } })).user;
    for (const role of DEV_APP_CREDENTIAL.roles) {
        const roles = (await ks("GET", `/roles?name=${encodeURIComponent(role)}`)).roles as unknown as Obj[];
        if (roles.length !== 1) {
            throw new Error(`the bed has no role ${role}`);
        }
        await admin.call("identity", "PUT", `/projects/${project.id}/users/${user.id}/roles/${roles[0].id}`);
    }
    const cloud: Cloud = {
        auth: { ...adminCloud.auth, username: name, password, project_name: name, user_domain_name: "Default", project_domain_name: "Default" },
        region_name: adminCloud.region_name,
    };
    return { name, projectId: project.id, userId: user.id, cloud, user: await Session.login(cloud), admin };
}

/** An application credential as the program's AppCredentials component makes it. */
export async function createAppCredential(
    p: OwnProject,
    prefix: string,
    purpose: keyof typeof APP_CREDENTIAL_PURPOSES,
): Promise<{ id: string; secret: string; name: string }> {
    const settings = canonicalSettings(DEV_APP_CREDENTIAL);
    const name = appCredentialName(prefix, purpose, DEV_APP_CREDENTIAL);
    const r = await p.user.call<{ application_credential: { id: string; secret: string; name: string } }>(
        "identity",
        "POST",
        `/users/${p.userId}/application_credentials`,
        {
            application_credential: {
                name,
                description: `capi-mgmt ${prefix}: ${APP_CREDENTIAL_PURPOSES[purpose]}`,
                roles: settings.roles.map((r) => ({ name: r })),
                unrestricted: false,
            },
        },
    );
    return r.application_credential;
}

/** Everything a project can hold that CAPO, the cloud controller manager, Cinder CSI or a test makes. */
export interface Inventory {
    networks: Obj[];
    subnets: Obj[];
    routers: Obj[];
    ports: Obj[];
    securityGroups: Obj[];
    floatingIps: Obj[];
    loadBalancers: Obj[];
    servers: Obj[];
    volumes: Obj[];
    serverGroups: Obj[];
}

/** Lists what the session's project holds (the admin-visible `public` network and its ports excluded by project). */
export async function inventory(s: Session): Promise<Inventory> {
    const pid = s.projectId;
    const net = async (p: string, key: string) => (await s.call<Record<string, Obj[]>>("network", "GET", `/v2.0${p}?project_id=${pid}`))[key];
    return {
        networks: await net("/networks", "networks"),
        subnets: await net("/subnets", "subnets"),
        routers: await net("/routers", "routers"),
        ports: await net("/ports", "ports"),
        // The project's `default` group is Neutron's own, made on first use: not counted.
        securityGroups: (await net("/security-groups", "security_groups")).filter((g) => g.name !== "default"),
        floatingIps: await net("/floatingips", "floatingips"),
        loadBalancers: (await s.call<{ loadbalancers: Obj[] }>("load-balancer", "GET", `/v2/lbaas/loadbalancers?project_id=${pid}`)).loadbalancers,
        servers: (await s.call<{ servers: Obj[] }>("compute", "GET", "/servers/detail")).servers,
        volumes: (await s.call<{ volumes: Obj[] }>("volumev3", "GET", "/volumes/detail")).volumes,
        serverGroups: (await s.call<{ server_groups: Obj[] }>("compute", "GET", "/os-server-groups")).server_groups,
    };
}

/** `kind name(id)` lines of an inventory, for messages and logs. */
export function describeInventory(inv: Inventory): string[] {
    return Object.entries(inv).flatMap(([kind, items]) => (items as Obj[]).map((i) => `${kind} ${String(i.name ?? i.floating_ip_address ?? "")}(${i.id})`));
}

async function ignore404(p: Promise<unknown>): Promise<void> {
    try {
        await p;
    } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) {
            throw err;
        }
    }
}

/**
 * Deletes everything the project holds, then the project and its user. Best effort per object
 * (a failure is reported at the end, after everything else was tried).
 */
export async function destroyProject(p: OwnProject): Promise<void> {
    const s = p.user;
    const problems: string[] = [];
    const attempt = async (what: string, f: () => Promise<unknown>) => {
        try {
            await f();
        } catch (err) {
            problems.push(`${what}: ${(err as Error).message}`);
        }
    };
    let inv = await inventory(s);
    for (const lb of inv.loadBalancers) {
        await attempt(`load balancer ${lb.name}`, async () => {
            await poll(
                `load balancer ${lb.name} not pending`,
                () => s.call<{ loadbalancer: Obj }>("load-balancer", "GET", `/v2/lbaas/loadbalancers/${lb.id}`).catch(() => undefined),
                (r) => !r || !String(r.loadbalancer.provisioning_status).startsWith("PENDING_"),
                120,
            );
            await ignore404(s.call("load-balancer", "DELETE", `/v2/lbaas/loadbalancers/${lb.id}?cascade=true`));
            await gone(s, "load-balancer", `/v2/lbaas/loadbalancers/${lb.id}`, 180);
        });
    }
    for (const srv of inv.servers) {
        await attempt(`server ${srv.name}`, async () => {
            await ignore404(s.call("compute", "DELETE", `/servers/${srv.id}`));
            await gone(s, "compute", `/servers/${srv.id}`, 180);
        });
    }
    for (const f of inv.floatingIps) {
        await attempt(`floating IP ${String(f.floating_ip_address)}`, () => ignore404(s.call("network", "DELETE", `/v2.0/floatingips/${f.id}`)));
    }
    for (const r of inv.routers) {
        await attempt(`router ${r.name}`, async () => {
            const ports = (await s.call<{ ports: Obj[] }>("network", "GET", `/v2.0/ports?device_id=${r.id}&device_owner=network:router_interface`)).ports;
            for (const port of ports) {
                await ignore404(s.call("network", "PUT", `/v2.0/routers/${r.id}/remove_router_interface`, { port_id: port.id }));
            }
            await ignore404(s.call("network", "DELETE", `/v2.0/routers/${r.id}`));
        });
    }
    inv = await inventory(s);
    for (const port of inv.ports) {
        await attempt(`port ${port.name}`, () => ignore404(s.call("network", "DELETE", `/v2.0/ports/${port.id}`)));
    }
    for (const n of inv.networks) {
        await attempt(`network ${n.name}`, () => ignore404(s.call("network", "DELETE", `/v2.0/networks/${n.id}`)));
    }
    for (const g of inv.securityGroups) {
        await attempt(`security group ${g.name}`, () => ignore404(s.call("network", "DELETE", `/v2.0/security-groups/${g.id}`)));
    }
    for (const v of inv.volumes) {
        await attempt(`volume ${v.name}`, async () => {
            await ignore404(s.call("volumev3", "DELETE", `/volumes/${v.id}`));
            await gone(s, "volumev3", `/volumes/${v.id}`, 120);
        });
    }
    for (const g of inv.serverGroups) {
        await attempt(`server group ${g.name}`, () => ignore404(s.call("compute", "DELETE", `/os-server-groups/${g.id}`)));
    }
    const left = describeInventory(await inventory(s));
    await attempt("user", () => ignore404(p.admin.call("identity", "DELETE", `/users/${p.userId}`)));
    await attempt("project", () => ignore404(p.admin.call("identity", "DELETE", `/projects/${p.projectId}`)));
    if (problems.length || left.length) {
        throw new Error(`clean-up of project ${p.name}: ${[...problems, ...left.map((l) => `left: ${l}`)].join("\n")}`);
    }
}
