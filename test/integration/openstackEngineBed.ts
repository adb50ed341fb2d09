/**
 * What the OpenStack engine tests (openstackEngine.integration.ts) need of the OpenStack test bed
 * besides engineBed.ts: a project of their own with two users holding the roles a cloud user has,
 * a clouds.yaml of their own, a full inventory of that project and its purge. The engine's side
 * (stand-in plugins, peers, kubeconfig) is in openstackEngineHost.ts.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import { stringify as toYaml } from "yaml";
import { Cloud, Session } from "./openstackBed";

/** The roles a cloud user has on the bed's user project (docs/testbed-openstack.md). */
export const USER_ROLES = ["member", "load-balancer_member"];

/** One user of a test project: its clouds.yaml entry and a session. */
export interface ProjectUser {
    cloud: Cloud;
    session: Session;
}

/** A project of the test's own on the bed, with an owner and a second user, made through the admin cloud. */
export class TestProject {
    private constructor(
        private readonly admin: Session,
        readonly projectId: string,
        readonly name: string,
        readonly owner: ProjectUser,
        readonly peer: ProjectUser,
        private readonly userIds: string[],
    ) {}

    static async create(adminCloud: Cloud, name: string): Promise<TestProject> {
        const admin = await Session.login(adminCloud);
        const project = (
            await admin.call<{ project: { id: string } }>("identity", "POST", "/projects", {
                project: { name, domain_id: "default", description: "capi-mgmt OpenStack engine test" },
            })
        ).project;
        const roles = (await admin.call<{ roles: { id: string; name: string }[] }>("identity", "GET", "/roles")).roles;
        const users: ProjectUser[] = [];
        const userIds: string[] = [];
        for (const suffix of ["", "-peer"]) {
            const password = randomBytes(16).toString("hex");
            const user = (
                await admin.call<{ user: { id: string } }>("identity", "POST", "/users", {
                    user: { name: `${name}${suffix}`, password, domain_id: "default", default_project_id: project.id },
                })
            ).user;
            userIds.push(user.id);
            for (const r of USER_ROLES) {
                const role = roles.find((x) => x.name === r);
                if (!role) {
                    throw new Error(`the bed has no role ${r}`);
                }
                await admin.call("identity", "PUT", `/projects/${project.id}/users/${user.id}/roles/${role.id}`);
            }
            const cloud: Cloud = {
                auth: {
                    auth_url: adminCloud.auth.auth_url,
                    username: `${name}${suffix}`,
                    password,
                    project_name: name,
                    user_domain_name: "Default",
                    project_domain_name: "Default",
                },
                region_name: adminCloud.region_name,
            };
            users.push({ cloud, session: await Session.login(cloud) });
        }
        return new TestProject(admin, project.id, name, users[0], users[1], userIds);
    }

    /** Sets a compute or network quota of this project (only ours: never a shared project's). */
    async setQuota(service: "compute" | "network" | "volumev3", quotas: Record<string, number>): Promise<void> {
        if (service === "compute") {
            await this.admin.call("compute", "PUT", `/os-quota-sets/${this.projectId}`, { quota_set: quotas });
        } else if (service === "network") {
            await this.admin.call("network", "PUT", `/v2.0/quotas/${this.projectId}`, { quota: quotas });
        } else {
            await this.admin.call("volumev3", "PUT", `/os-quota-sets/${this.projectId}`, { quota_set: quotas });
        }
    }

    /** This project's compute quotas with their use (Nova's `/os-quota-sets/{project}/detail`, as admin). */
    async computeQuotas(): Promise<Record<string, { limit: number; in_use: number }>> {
        return (
            await this.admin.call<{ quota_set: Record<string, { limit: number; in_use: number }> }>("compute", "GET", `/os-quota-sets/${this.projectId}/detail`)
        ).quota_set;
    }

    /**
     * An external network (`router:external`) owned by this project, made as admin (a cloud user
     * cannot): every project sees it while it exists, so callers delete it right after use
     * (purgeProject deletes it too). Never the shared `public`.
     */
    async createExternalNetwork(name: string): Promise<{ id: string; delete: () => Promise<void> }> {
        if (name === "public") {
            throw new Error("the shared external network is not the test's to make");
        }
        const net = (
            await this.admin.call<{ network: { id: string } }>("network", "POST", "/v2.0/networks", {
                network: { name, project_id: this.projectId, "router:external": true },
            })
        ).network;
        return { id: net.id, delete: async () => void (await this.admin.statusOf("network", "DELETE", `/v2.0/networks/${net.id}`)) };
    }

    /** Deletes the users (Keystone deletes their application credentials) and the project. */
    async delete(): Promise<void> {
        for (const id of this.userIds) {
            await this.admin.statusOf("identity", "DELETE", `/users/${id}`);
        }
        await this.admin.statusOf("identity", "PATCH", `/projects/${this.projectId}`, { project: { enabled: false } });
        await this.admin.statusOf("identity", "DELETE", `/projects/${this.projectId}`);
    }
}

/** Writes a clouds.yaml with the given entries (name → cloud). */
export function writeCloudsYaml(file: string, entries: Record<string, Cloud>): void {
    const clouds = Object.fromEntries(Object.entries(entries).map(([n, c]) => [n, { ...c, interface: "public", identity_api_version: 3 }]));
    fs.writeFileSync(file, toYaml({ clouds }), { mode: 0o600 });
}

type Item = Record<string, unknown> & { id: string; name?: string };

/** What a project holds, by kind: sorted `name id` lines (security groups with their rules). */
export type Inventory = Record<string, string[]>;

/**
 * Everything the project holds, as its owner sees it (servers, ports, networks, subnets, routers,
 * floating IPs, security groups with their rules, volumes, snapshots, server groups, load
 * balancers), and the user-scoped keypairs and application credentials of each user given.
 */
export async function inventory(projectId: string, owner: Session, users: Record<string, Session>): Promise<Inventory> {
    const list = async (service: string, p: string, key: string, session = owner): Promise<Item[]> =>
        (await session.call<Record<string, Item[]>>(service, "GET", p))[key];
    const mine = (items: Item[]) => items.filter((i) => (i.project_id ?? i.tenant_id) === projectId);
    const lines = (items: Item[], extra: (i: Item) => string = () => "") => items.map((i) => `${i.name ?? ""} ${i.id}${extra(i)}`).sort();
    const rules = (g: Item) =>
        " [" +
        ((g.security_group_rules as Item[]) ?? [])
            .map(
                (r) =>
                    `${r.direction as string}/${r.ethertype as string}/${String(r.protocol)}/${String(r.port_range_min)}-${String(r.port_range_max)}/${String(r.remote_ip_prefix)}/${String(r.remote_group_id)}`,
            )
            .sort()
            .join(", ") +
        "]";
    const inv: Inventory = {
        servers: lines(await list("compute", "/servers/detail", "servers")),
        serverGroups: lines(await list("compute", "/os-server-groups", "server_groups")),
        volumes: lines(await list("volumev3", "/volumes/detail", "volumes")),
        snapshots: lines(await list("volumev3", "/snapshots", "snapshots")),
        networks: lines(mine(await list("network", "/v2.0/networks", "networks"))),
        subnets: lines(mine(await list("network", "/v2.0/subnets", "subnets")), (s) => ` ${s.cidr as string}`),
        ports: lines(mine(await list("network", "/v2.0/ports", "ports")), (p) => ` ${p.device_owner as string}`),
        routers: lines(mine(await list("network", "/v2.0/routers", "routers"))),
        floatingIps: lines(mine(await list("network", "/v2.0/floatingips", "floatingips")), (f) => ` ${f.floating_ip_address as string}`),
        securityGroups: lines(mine(await list("network", "/v2.0/security-groups", "security_groups")), rules),
        loadBalancers: lines(await list("load-balancer", "/v2/lbaas/loadbalancers", "loadbalancers")),
    };
    for (const [who, s] of Object.entries(users)) {
        inv[`keypairs(${who})`] = (await s.call<{ keypairs: { keypair: { name: string; fingerprint: string } }[] }>("compute", "GET", "/os-keypairs")).keypairs
            .map((k) => `${k.keypair.name} ${k.keypair.fingerprint}`)
            .sort();
        inv[`applicationCredentials(${who})`] = lines(await list("identity", `/users/${s.userId}/application_credentials`, "application_credentials", s));
    }
    return inv;
}

/**
 * Deletes, as admin, everything a test project named `name` holds and then its users and the
 * project: for a run that failed before its `destroy` (only projects whose name starts with
 * `capi-engine-`, the ones these tests make).
 */
export async function purgeProject(adminCloud: Cloud, name: string): Promise<void> {
    if (!name.startsWith("capi-engine-")) {
        throw new Error(`not a project of the engine tests: ${name}`);
    }
    const admin = await Session.login(adminCloud);
    const projects = (await admin.call<{ projects: { id: string }[] }>("identity", "GET", `/projects?name=${encodeURIComponent(name)}`)).projects;
    for (const { id } of projects) {
        const get = async (service: string, p: string, key: string) => (await admin.call<Record<string, Item[]>>(service, "GET", p))[key];
        for (const s of await get("compute", `/servers?all_tenants=1&project_id=${id}`, "servers")) {
            await admin.statusOf("compute", "DELETE", `/servers/${s.id}`);
        }
        for (const f of await get("network", `/v2.0/floatingips?project_id=${id}`, "floatingips")) {
            await admin.statusOf("network", "DELETE", `/v2.0/floatingips/${f.id}`);
        }
        for (const r of await get("network", `/v2.0/routers?project_id=${id}`, "routers")) {
            for (const p of await get("network", `/v2.0/ports?device_id=${r.id}&device_owner=network:router_interface`, "ports")) {
                await admin.statusOf("network", "PUT", `/v2.0/routers/${r.id}/remove_router_interface`, { port_id: p.id });
            }
            await admin.statusOf("network", "DELETE", `/v2.0/routers/${r.id}`);
        }
        // Servers go asynchronously; their ports and volumes after them.
        for (let i = 0; i < 60 && (await get("compute", `/servers?all_tenants=1&project_id=${id}`, "servers")).length > 0; i++) {
            await new Promise((r) => setTimeout(r, 1000));
        }
        for (const p of await get("network", `/v2.0/ports?project_id=${id}`, "ports")) {
            await admin.statusOf("network", "DELETE", `/v2.0/ports/${p.id}`);
        }
        for (const n of await get("network", `/v2.0/networks?project_id=${id}`, "networks")) {
            await admin.statusOf("network", "DELETE", `/v2.0/networks/${n.id}`);
        }
        for (const g of await get("network", `/v2.0/security-groups?project_id=${id}`, "security_groups")) {
            await admin.statusOf("network", "DELETE", `/v2.0/security-groups/${g.id}`);
        }
        for (const v of await get("volumev3", `/volumes?all_tenants=1&project_id=${id}`, "volumes")) {
            await admin.statusOf("volumev3", "DELETE", `/volumes/${v.id}`);
        }
        for (const u of (await admin.call<{ users: { id: string; name: string }[] }>("identity", "GET", `/users`)).users.filter(
            (x) => x.name === name || x.name === `${name}-peer`,
        )) {
            for (const k of await get("compute", `/os-keypairs?user_id=${u.id}`, "keypairs")) {
                const kp = (k as unknown as { keypair: { name: string } }).keypair;
                await admin.statusOf("compute", "DELETE", `/os-keypairs/${encodeURIComponent(kp.name)}?user_id=${u.id}`);
            }
            await admin.statusOf("identity", "DELETE", `/users/${u.id}`);
        }
        await admin.statusOf("identity", "PATCH", `/projects/${id}`, { project: { enabled: false } });
        await admin.statusOf("identity", "DELETE", `/projects/${id}`);
    }
}

/** What `after` holds that `before` does not, and the other way round, per kind. */
export function inventoryDiff(before: Inventory, after: Inventory): { added: Record<string, string[]>; removed: Record<string, string[]> } {
    const added: Record<string, string[]> = {};
    const removed: Record<string, string[]> = {};
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
        const a = (after[k] ?? []).filter((x) => !(before[k] ?? []).includes(x));
        const r = (before[k] ?? []).filter((x) => !(after[k] ?? []).includes(x));
        if (a.length) {
            added[k] = a;
        }
        if (r.length) {
            removed[k] = r;
        }
    }
    return { added, removed };
}
