/**
 * The OpenStack test bed (testbed/openstack/, docs/testbed-openstack.md) does what a cloud user
 * needs, through the real APIs, as the user project (member + load-balancer_member): network,
 * subnet, router with its gateway on the external network, a port, servers booted from an image
 * and from a volume, a floating IP, an Octavia load balancer whose VIP is a real Neutron port (and
 * blocks its subnet as on a cloud), application credentials with access rules; afterwards the
 * project holds nothing, and no process of the bed talks to anything but loopback.
 *
 * Brings the bed up unless it runs (then stops it again at the end); `up` on a warm state takes
 * about a minute, cold a few (numbers in docs/testbed-openstack.md).
 */
import * as assert from "assert";
import { ApiError, bedPids, bedRunning, bedScript, Cloud, clouds, gone, loopback, poll, Session, sockets } from "./openstackBed";

type Obj = Record<string, unknown> & { id: string };

/** Tenant subnet: loopback too (Neutron requires DHCP off on a loopback subnet). */
const SUBNET_CIDR = "127.200.0.0/24";
const PUBLIC_CIDR = /^127\.100\./;

describe("OpenStack test bed (testbed/openstack)", function () {
    this.timeout(1_800_000);
    let startedHere = false;
    let cloud: Cloud;
    let admin: Session;
    let user: Session;
    const made: {
        network?: Obj;
        subnet?: Obj;
        router?: Obj;
        port?: Obj;
        servers: Obj[];
        volume?: Obj;
        fips: Obj[];
        lb?: Obj;
        appCreds: Obj[];
        keypair?: string;
        group?: Obj;
    } = {
        servers: [],
        fips: [],
        appCreds: [],
    };

    before(async function () {
        if (!bedRunning()) {
            // Set first: a failed up is stopped again by the after hook.
            startedHere = true;
            bedScript("up");
        }
        const all = clouds();
        cloud = all["capi-mgmt"];
        admin = await Session.login(all.admin);
        user = await Session.login(cloud);
    });

    after(function () {
        if (startedHere) {
            bedScript("down");
        }
    });

    const net = (method: string, p: string, body?: unknown) => user.call<Record<string, Obj & Record<string, unknown>>>("network", method, `/v2.0${p}`, body);
    const nova = (method: string, p: string, body?: unknown) => user.call<Record<string, Obj & Record<string, unknown>>>("compute", method, p, body);
    const cinder = (method: string, p: string, body?: unknown) => user.call<Record<string, Obj & Record<string, unknown>>>("volumev3", method, p, body);
    const lbaas = (method: string, p: string, body?: unknown) =>
        user.call<Record<string, Obj & Record<string, unknown>>>("load-balancer", method, `/v2${p}`, body);

    async function idByName(list: Promise<Record<string, unknown>>, key: string, name: string): Promise<string> {
        const items = (await list)[key] as Obj[];
        const found = items.find((i) => i.name === name);
        assert.ok(found, `no ${key} named ${name}`);
        return found.id;
    }

    it("serves every API on loopback only, with the user project's roles", async function () {
        for (const type of ["identity", "image", "placement", "compute", "network", "volumev3", "load-balancer"]) {
            const url = user.catalog.get(type) ?? (type === "identity" ? cloud.auth.auth_url : undefined);
            assert.ok(url, `no ${type} endpoint`);
            assert.match(url, /^http:\/\/127\.0\.0\.1:\d+/, `${type} endpoint ${url}`);
        }
        const pids = bedPids();
        const listening = sockets().filter((s) => s.state === "LISTEN" && s.pids.some((p) => pids.has(p)));
        assert.ok(listening.length >= 10, `expected the bed's listeners, saw ${listening.length}`);
        assert.deepStrictEqual(
            listening.filter((s) => !loopback(s.local)),
            [],
            "a process of the bed listens beyond loopback",
        );
        const roles = await admin.call<{ role_assignments: { role: { name: string } }[] }>(
            "identity",
            "GET",
            `/role_assignments?user.id=${user.userId}&scope.project.id=${user.projectId}&include_names=true`,
        );
        assert.deepStrictEqual(roles.role_assignments.map((r) => r.role.name).sort(), ["load-balancer_member", "member"]);
    });

    it("creates a network, a subnet and a router with its gateway on the external network", async function () {
        const pub = await idByName(net("GET", "/networks?router:external=true"), "networks", "public");
        made.network = (await net("POST", "/networks", { network: { name: "bed-net" } })).network;
        made.subnet = (
            await net("POST", "/subnets", { subnet: { name: "bed-subnet", network_id: made.network.id, ip_version: 4, cidr: SUBNET_CIDR, enable_dhcp: false } })
        ).subnet;
        made.router = (await net("POST", "/routers", { router: { name: "bed-router", external_gateway_info: { network_id: pub } } })).router;
        await net("PUT", `/routers/${made.router.id}/add_router_interface`, { subnet_id: made.subnet.id });
        const router = (await net("GET", `/routers/${made.router.id}`)).router as Obj & {
            status: string;
            external_gateway_info: { external_fixed_ips: { ip_address: string }[] };
        };
        assert.strictEqual(router.status, "ACTIVE");
        assert.match(router.external_gateway_info.external_fixed_ips[0].ip_address, PUBLIC_CIDR);
    });

    it("boots a server from an image on a port of ours and one from a volume on a diskless flavor", async function () {
        made.keypair = "bed-key";
        await nova("POST", "/os-keypairs", { keypair: { name: made.keypair, type: "ssh" } });
        made.port = (await net("POST", "/ports", { port: { name: "bed-port", network_id: made.network!.id } })).port;
        const image = await idByName(user.call("image", "GET", "/v2/images?name=Ubuntu%2024.04"), "images", "Ubuntu 24.04");
        const nodeImage = await idByName(user.call("image", "GET", "/v2/images?name=ubuntu-capi-image-v1.35.8"), "images", "ubuntu-capi-image-v1.35.8");
        const flavors = (await nova("GET", "/flavors/detail")).flavors as unknown as { id: string; name: string; disk: number }[];
        const withDisk = flavors.find((f) => f.name === "SCS-2V-4-20s");
        const diskless = flavors.find((f) => f.name === "SCS-4V-16");
        assert.ok(withDisk && withDisk.disk === 20 && diskless && diskless.disk === 0, "SCS flavors");

        const fromImage = (
            await nova("POST", "/servers", {
                server: { name: "bed-image", flavorRef: withDisk.id, imageRef: image, key_name: made.keypair, networks: [{ port: made.port.id }] },
            })
        ).server;
        made.servers.push(fromImage);

        made.volume = (await cinder("POST", "/volumes", { volume: { name: "bed-root", size: 20, imageRef: nodeImage } })).volume;
        await poll(
            "root volume available",
            async () => (await cinder("GET", `/volumes/${made.volume!.id}`)).volume,
            (v) => v.status === "available" || v.status === "error",
        );
        const volume = (await cinder("GET", `/volumes/${made.volume.id}`)).volume as Obj & { status: string; bootable: string };
        assert.deepStrictEqual([volume.status, volume.bootable], ["available", "true"]);
        const fromVolume = (
            await nova("POST", "/servers", {
                server: {
                    name: "bed-volume",
                    flavorRef: diskless.id,
                    imageRef: "",
                    networks: [{ uuid: made.network!.id }],
                    block_device_mapping_v2: [
                        { boot_index: 0, uuid: made.volume.id, source_type: "volume", destination_type: "volume", delete_on_termination: false },
                    ],
                },
            })
        ).server;
        made.servers.push(fromVolume);

        for (const s of made.servers) {
            const server = await poll(
                `server ${s.id} ACTIVE`,
                async () => (await nova("GET", `/servers/${s.id}`)).server,
                (v) => v.status === "ACTIVE" || v.status === "ERROR",
            );
            assert.strictEqual(server.status, "ACTIVE", JSON.stringify(server.fault ?? server));
        }
        const port = (await net("GET", `/ports/${made.port.id}`)).port;
        assert.deepStrictEqual([port.status, port.device_id], ["ACTIVE", fromImage.id]);
        const attached = (await cinder("GET", `/volumes/${made.volume.id}`)).volume as Obj & { status: string; attachments: { server_id: string }[] };
        assert.deepStrictEqual([attached.status, attached.attachments.map((a) => a.server_id)], ["in-use", [fromVolume.id]]);
    });

    it("refuses an image-backed server on a diskless flavor, and spreads an anti-affinity group over the two fake hosts", async function () {
        const image = await idByName(user.call("image", "GET", "/v2/images?name=Ubuntu%2024.04"), "images", "Ubuntu 24.04");
        const flavors = (await nova("GET", "/flavors")).flavors as unknown as { id: string; name: string }[];
        const flavor = (name: string) => flavors.find((f) => f.name === name)!.id;
        const diskless = await user.statusOf("compute", "POST", "/servers", {
            server: { name: "bed-diskless", flavorRef: flavor("SCS-4V-16"), imageRef: image, networks: [{ uuid: made.network!.id }] },
        });
        assert.strictEqual(diskless.status, 403, diskless.message);
        assert.match(diskless.message, /volume-backed servers are allowed for flavors with zero disk/);

        made.group = (await nova("POST", "/os-server-groups", { server_group: { name: "bed-anti", policy: "anti-affinity" } })).server_group;
        const hosts: string[] = [];
        // One boot after the other: Nova's anti-affinity check races when two land together.
        for (const name of ["bed-anti-1", "bed-anti-2", "bed-anti-3"]) {
            const server = (
                await nova("POST", "/servers", {
                    server: { name, flavorRef: flavor("SCS-2V-4-20s"), imageRef: image, networks: [{ uuid: made.network!.id }] },
                    "os:scheduler_hints": { group: made.group.id },
                })
            ).server;
            made.servers.push(server);
            const done = await poll(
                `server ${name} scheduled`,
                async () => (await nova("GET", `/servers/${server.id}`)).server,
                (v) => v.status === "ACTIVE" || v.status === "ERROR",
            );
            const host = (await admin.call<{ server: Record<string, string> }>("compute", "GET", `/servers/${server.id}`)).server["OS-EXT-SRV-ATTR:host"];
            hosts.push(`${done.status as string} ${host ?? "-"}`);
        }
        // Two hosts, so the third member of the group has nowhere to go.
        assert.deepStrictEqual(hosts.slice(0, 2).sort(), ["ACTIVE capi-testbed-compute-1", "ACTIVE capi-testbed-compute-2"]);
        assert.strictEqual(hosts[2], "ERROR -");
    });

    it("associates a floating IP from the external network with the server's port", async function () {
        const pub = await idByName(net("GET", "/networks?router:external=true"), "networks", "public");
        const fip = (await net("POST", "/floatingips", { floatingip: { floating_network_id: pub, port_id: made.port!.id } })).floatingip;
        made.fips.push(fip);
        assert.match(fip.floating_ip_address as string, PUBLIC_CIDR);
        const fixed = ((await net("GET", `/ports/${made.port!.id}`)).port.fixed_ips as { ip_address: string }[])[0].ip_address;
        assert.strictEqual(fip.fixed_ip_address, fixed);
        assert.strictEqual(fip.router_id, made.router!.id);
    });

    it("creates an Octavia load balancer whose VIP is a Neutron port on the subnet, with the allow-list in Neutron", async function () {
        made.lb = (
            await lbaas("POST", "/lbaas/loadbalancers", { loadbalancer: { name: "bed-lb", vip_subnet_id: made.subnet!.id, provider: "amphora" } })
        ).loadbalancer;
        const active = (id: string) =>
            poll(
                `load balancer ${id} ACTIVE`,
                async () => (await lbaas("GET", `/lbaas/loadbalancers/${id}`)).loadbalancer,
                (l) => l.provisioning_status === "ACTIVE" || l.provisioning_status === "ERROR",
            );
        const lb = await active(made.lb.id);
        assert.strictEqual(lb.provisioning_status, "ACTIVE");
        const vip = (await net("GET", `/ports/${lb.vip_port_id as string}`)).port as Obj & {
            network_id: string;
            device_owner: string;
            fixed_ips: { subnet_id: string; ip_address: string }[];
        };
        assert.deepStrictEqual(
            [vip.network_id, vip.device_owner, vip.fixed_ips[0].subnet_id, vip.fixed_ips[0].ip_address],
            [made.network!.id, "Octavia", made.subnet!.id, lb.vip_address],
        );

        const allowed = ["127.100.0.0/16", "127.200.0.0/24"];
        const listener = (
            await lbaas("POST", "/lbaas/listeners", {
                listener: { name: "bed-api", loadbalancer_id: made.lb.id, protocol: "TCP", protocol_port: 6443, allowed_cidrs: allowed },
            })
        ).listener;
        await active(made.lb.id);
        assert.deepStrictEqual(((await lbaas("GET", `/lbaas/listeners/${listener.id}`)).listener.allowed_cidrs as string[]).sort(), allowed);
        // The allow-list reaches Neutron: the load balancer's security group (the service
        // project's, so read as admin) admits exactly those sources on the listener's port.
        const sgs = (
            await admin.call<{
                security_groups: {
                    id: string;
                    security_group_rules: { port_range_min: number | null; remote_ip_prefix: string | null; direction: string }[];
                }[];
            }>("network", "GET", `/v2.0/security-groups?name=lb-${made.lb.id}`)
        ).security_groups;
        assert.strictEqual(sgs.length, 1, "the load balancer's security group");
        const sources = sgs[0].security_group_rules
            .filter((r) => r.direction === "ingress" && r.port_range_min === 6443)
            .map((r) => r.remote_ip_prefix)
            .sort();
        assert.deepStrictEqual(sources, allowed);

        const pub = await idByName(net("GET", "/networks?router:external=true"), "networks", "public");
        made.fips.push((await net("POST", "/floatingips", { floatingip: { floating_network_id: pub, port_id: vip.id } })).floatingip);
    });

    it("refuses to take the subnet from the router or delete it while the load balancer exists", async function () {
        const remove = () => net("PUT", `/routers/${made.router!.id}/remove_router_interface`, { subnet_id: made.subnet!.id });
        // Only the VIP's floating IP is left: it alone keeps the router on the subnet.
        const [serverFip, vipFip] = made.fips.splice(0);
        await net("DELETE", `/floatingips/${serverFip.id}`);
        await assert.rejects(remove(), (e: ApiError) => e.status === 409 && /RouterInterfaceInUseByFloatingIP|floating IPs/.test(e.message));
        await net("DELETE", `/floatingips/${vipFip.id}`);
        await remove();
        // Without servers, the test's port and the router, the VIP port alone holds the subnet:
        // this is what wedges a network's deletion on a leftover load balancer.
        for (const s of made.servers) {
            await nova("DELETE", `/servers/${s.id}`);
        }
        for (const s of made.servers.splice(0)) {
            await gone(user, "compute", `/servers/${s.id}`);
        }
        await net("DELETE", `/ports/${made.port!.id}`);
        made.port = undefined;
        const left = (await net("GET", `/ports?network_id=${made.network!.id}`)).ports as unknown as { id: string }[];
        const lb = (await lbaas("GET", `/lbaas/loadbalancers/${made.lb!.id}`)).loadbalancer;
        assert.deepStrictEqual(
            left.map((p) => p.id),
            [lb.vip_port_id],
        );
        const refused = await user.statusOf("network", "DELETE", `/v2.0/subnets/${made.subnet!.id}`);
        assert.strictEqual(refused.status, 409, refused.message);
        await assert.rejects(net("DELETE", `/networks/${made.network!.id}`), (e: ApiError) => e.status === 409);
    });

    it("creates application credentials whose access rules Keystone and the services enforce", async function () {
        const plain = (
            await user.call<{ application_credential: Obj & { secret: string } }>("identity", "POST", `/users/${user.userId}/application_credentials`, {
                application_credential: { name: "bed-cred", roles: [{ name: "member" }, { name: "load-balancer_member" }] },
            })
        ).application_credential;
        made.appCreds.push(plain);
        const asCred = await Session.login(cloud, { id: plain.id, secret: plain.secret });
        assert.strictEqual(asCred.projectId, user.projectId);
        assert.ok(Array.isArray((await asCred.call("load-balancer", "GET", "/v2/lbaas/loadbalancers")).loadbalancers));

        const ruled = (
            await user.call<{ application_credential: Obj & { secret: string } }>("identity", "POST", `/users/${user.userId}/application_credentials`, {
                application_credential: { name: "bed-cred-ruled", access_rules: [{ service: "compute", method: "GET", path: "/v2.1/servers" }] },
            })
        ).application_credential;
        made.appCreds.push(ruled);
        const limited = await Session.login(cloud, { id: ruled.id, secret: ruled.secret });
        assert.ok(Array.isArray((await limited.call("compute", "GET", "/servers")).servers));
        assert.strictEqual((await limited.statusOf("network", "GET", "/v2.0/networks")).status, 401);
        assert.strictEqual((await limited.statusOf("compute", "GET", "/flavors")).status, 401);
    });

    it("cleans up: servers, load balancer, volume, router, network, credentials; the project is empty", async function () {
        for (const s of made.servers) {
            await nova("DELETE", `/servers/${s.id}`);
        }
        for (const s of made.servers.splice(0)) {
            await gone(user, "compute", `/servers/${s.id}`);
        }
        await lbaas("DELETE", `/lbaas/loadbalancers/${made.lb!.id}?cascade=true`);
        await gone(user, "load-balancer", `/v2/lbaas/loadbalancers/${made.lb!.id}`);
        await poll(
            "root volume detached",
            async () => (await cinder("GET", `/volumes/${made.volume!.id}`)).volume,
            (v) => v.status === "available",
        );
        await cinder("DELETE", `/volumes/${made.volume!.id}`);
        await gone(user, "volumev3", `/volumes/${made.volume!.id}`);
        if (made.port) {
            await net("DELETE", `/ports/${made.port.id}`);
        }
        await net("DELETE", `/routers/${made.router!.id}`);
        await net("DELETE", `/networks/${made.network!.id}`);
        await nova("DELETE", `/os-keypairs/${made.keypair}`);
        await nova("DELETE", `/os-server-groups/${made.group!.id}`);
        for (const c of made.appCreds) {
            await user.call("identity", "DELETE", `/users/${user.userId}/application_credentials/${c.id}`);
        }

        const mine = (items: unknown) =>
            (items as { project_id?: string; tenant_id?: string; name?: string }[]).filter((i) => (i.project_id ?? i.tenant_id) === user.projectId);
        const inventory = {
            servers: (await nova("GET", "/servers")).servers,
            keypairs: (await nova("GET", "/os-keypairs")).keypairs,
            server_groups: (await nova("GET", "/os-server-groups")).server_groups,
            volumes: (await cinder("GET", "/volumes")).volumes,
            snapshots: (await cinder("GET", "/snapshots")).snapshots,
            networks: mine((await net("GET", "/networks")).networks),
            subnets: mine((await net("GET", "/subnets")).subnets),
            ports: mine((await net("GET", "/ports")).ports),
            routers: mine((await net("GET", "/routers")).routers),
            floatingips: mine((await net("GET", "/floatingips")).floatingips),
            security_groups: mine((await net("GET", "/security-groups")).security_groups).filter((g) => g.name !== "default"),
            loadbalancers: (await lbaas("GET", "/lbaas/loadbalancers")).loadbalancers,
            application_credentials: (await user.call("identity", "GET", `/users/${user.userId}/application_credentials`)).application_credentials,
        };
        const left = Object.entries(inventory).filter(([, v]) => (v as unknown as unknown[]).length > 0);
        assert.deepStrictEqual(left, [], "the project still holds resources");
    });

    it("no process of the bed has a peer beyond loopback", function () {
        const pids = bedPids();
        const ours = sockets().filter((s) => s.state !== "LISTEN" && s.pids.some((p) => pids.has(p)));
        assert.ok(ours.length > 0, "the bed's processes hold connections (database, message queue, Keystone)");
        assert.deepStrictEqual(
            ours.filter((s) => !loopback(s.local) || !loopback(s.peer)),
            [],
            "a connection of the bed leaves loopback",
        );
    });
});
