/**
 * What CAPO v0.14.7 made in OpenStack for a workload Cluster of the tree, checked through the
 * bed's APIs against the Cluster's variables and the live OpenStackCluster: the cluster's own
 * network and subnet, the router with its gateway on the external network, the managed
 * security groups, the API load balancer (provider, allow-list, floating IP on its VIP), and
 * the first control-plane server (flavor, image or root volume, server group, availability
 * zone, API pool member).
 */
import * as assert from "assert";
import { Obj } from "./capoProject";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { at, clusterVariables } from "./harness/objects";
import { ManagedProcess, waitFor } from "./harness/processes";
import { TreeObject } from "../../render/gitopsTree";
import { Session } from "./openstackBed";

/** Resources, with explicit versions. */
export const R = {
    Cluster: "clusters.v1beta2.cluster.x-k8s.io",
    Machine: "machines.v1beta2.cluster.x-k8s.io",
    OpenStackCluster: "openstackclusters.v1beta1.infrastructure.cluster.x-k8s.io",
    OpenStackMachine: "openstackmachines.v1beta1.infrastructure.cluster.x-k8s.io",
    OpenStackServer: "openstackservers.v1alpha1.infrastructure.cluster.x-k8s.io",
};

/** Timings of the run, printed at the end (docs/testbed-openstack.md keeps them). */
export const timings: [string, number][] = [];

/** Records the seconds since `since` under `what`; returns `value`. */
export function timed<T>(what: string, since: number, value: T): T {
    timings.push([what, Math.round((Date.now() - since) / 1000)]);
    return value;
}

/** Bounds of a wait, with the processes that fail it early. */
export interface Wait {
    timeoutMs: number;
    intervalMs?: number;
    watched?: ManagedProcess[];
}

/** What the later checks and the deletion need to know of the cluster. */
export interface CapoExpectations {
    clusterName: string;
    namespace: string;
    uid: string;
    oscName: string;
    vars: Record<string, unknown>;
    networkId: string;
    subnetId: string;
    subnetCidr: string;
    routerId: string;
    securityGroupIds: string[];
    apiLbId: string;
    apiAddress: string;
    externalNetworkId: string;
}

type Status = {
    ready?: boolean;
    network?: { id: string; name: string; subnets: { id: string; name: string; cidr: string }[] };
    router?: { id: string; name: string; ips?: string[] };
    externalNetwork?: { id: string };
    controlPlaneSecurityGroup?: { id: string; name: string };
    workerSecurityGroup?: { id: string; name: string };
    apiServerLoadBalancer?: { id: string; name: string; ip: string; internalIP: string; allowedCIDRs?: string[] };
};

const sorted = (xs: string[]) => [...new Set(xs)].sort();
const cidr = (x: string) => (x.includes("/") ? x : `${x}/32`);

/** Waits for the Cluster's OpenStackCluster to be ready and checks what CAPO made for it in OpenStack. */
export async function checkCapoCluster(a: {
    cp: ControlPlane;
    s: Session;
    cluster: TreeObject;
    publicNet: Obj;
    mgmtAddress: string;
    wait: Wait;
}): Promise<CapoExpectations> {
    const { cp, s } = a;
    const ns = a.cluster.metadata.namespace as string;
    const name = a.cluster.metadata.name;
    const vars = clusterVariables(a.cluster as KubeObject);
    const live = await waitFor(
        `Cluster ${name} infrastructureRef`,
        () => {
            const got = cp.get(R.Cluster, name, ns);
            return at(got, "spec.infrastructureRef.name") ? got : undefined;
        },
        a.wait,
    );
    const oscName = at(live, "spec.infrastructureRef.name") as string;
    const osc = await waitFor(
        `OpenStackCluster ${oscName} ready`,
        () => {
            const got = cp.get(R.OpenStackCluster, oscName, ns);
            return (got?.status as Status | undefined)?.ready === true ? got : undefined;
        },
        a.wait,
    );
    const st = osc.status as Status;
    assert.ok(
        st.network && st.router && st.apiServerLoadBalancer && st.controlPlaneSecurityGroup && st.workerSecurityGroup,
        `OpenStackCluster status incomplete: ${JSON.stringify(st)}`,
    );

    // External network: the variable's filter found `public`.
    assert.strictEqual(st.externalNetwork?.id, a.publicNet.id, "externalNetwork");
    assert.deepStrictEqual(
        vars.externalNetwork,
        { filter: { name: a.publicNet.name } },
        "the Cluster's externalNetwork variable names the bed's external network",
    );

    // The cluster's own network and subnet, with the DNS servers of the variable.
    const net = (await s.call<{ network: Obj }>("network", "GET", `/v2.0/networks/${st.network.id}`)).network;
    assert.ok(String(net.name).includes(`${ns}-${name}`), `network name ${net.name} names the cluster`);
    assert.strictEqual(st.network.subnets.length, 1, "one managed subnet");
    const subnet = (await s.call<{ subnet: Obj }>("network", "GET", `/v2.0/subnets/${st.network.subnets[0].id}`)).subnet;
    assert.strictEqual(subnet.network_id, net.id);
    assert.strictEqual(subnet.cidr, at(osc, "spec.managedSubnets.0.cidr"), "subnet CIDR is the class's nodeCidr");
    assert.deepStrictEqual(subnet.dns_nameservers, vars.dnsNameservers, "subnet DNS servers are the dnsNameservers variable");

    // The router: gateway on public (a 127.100.x.x address), an interface on the subnet.
    const router = (await s.call<{ router: Obj }>("network", "GET", `/v2.0/routers/${st.router.id}`)).router;
    const gw = router.external_gateway_info as { network_id: string; external_fixed_ips: { ip_address: string }[] };
    assert.strictEqual(gw.network_id, a.publicNet.id, "router gateway on the external network");
    const routerIps = gw.external_fixed_ips.map((x) => x.ip_address);
    assert.ok(
        routerIps.every((ip) => /^127\.100\./.test(ip)),
        `router gateway addresses ${routerIps} on the bed's public subnet`,
    );
    const ifaces = (await s.call<{ ports: Obj[] }>("network", "GET", `/v2.0/ports?device_id=${router.id}&device_owner=network:router_interface`)).ports;
    assert.ok(
        ifaces.some((x) => (x.fixed_ips as { subnet_id: string }[]).some((f) => f.subnet_id === subnet.id)),
        "router interface on the cluster subnet",
    );

    // Managed security groups: the API port on the control plane, all in-cluster traffic (allowAllInClusterTraffic).
    const sgs: Obj[] = [];
    for (const g of [st.controlPlaneSecurityGroup, st.workerSecurityGroup]) {
        sgs.push((await s.call<{ security_group: Obj }>("network", "GET", `/v2.0/security-groups/${g.id}`)).security_group);
    }
    const rules = (g: Obj) =>
        g.security_group_rules as { direction: string; protocol: string | null; port_range_min: number | null; remote_group_id: string | null }[];
    assert.ok(
        rules(sgs[0]).some((r) => r.direction === "ingress" && r.protocol === "tcp" && r.port_range_min === 6443),
        "control plane group admits the API port",
    );
    for (const g of sgs) {
        assert.ok(String(g.name).includes(`${ns}-${name}`), `security group ${g.name} names the cluster`);
        for (const other of sgs) {
            assert.ok(
                rules(g).some((r) => r.direction === "ingress" && r.remote_group_id === other.id && r.protocol === null),
                `${g.name} admits all traffic from ${other.name} (allowAllInClusterTraffic)`,
            );
        }
    }

    // The API load balancer: provider pinned by the class (amphora enforces allowed_cidrs), its
    // VIP on the cluster subnet, the allow-list, and a floating IP on the VIP.
    const lb = (await s.call<{ loadbalancer: Obj }>("load-balancer", "GET", `/v2/lbaas/loadbalancers/${st.apiServerLoadBalancer.id}`)).loadbalancer;
    const provider = (vars.apiLoadBalancer as { provider?: string } | undefined)?.provider ?? "amphora";
    assert.strictEqual(lb.provider, provider, "API load balancer provider");
    assert.strictEqual(lb.provisioning_status, "ACTIVE");
    assert.strictEqual(lb.vip_subnet_id, subnet.id, "API load balancer VIP on the cluster subnet");
    const listeners = (await s.call<{ listeners: Obj[] }>("load-balancer", "GET", `/v2/lbaas/listeners?loadbalancer_id=${lb.id}`)).listeners;
    const api = listeners.find((l) => l.protocol_port === 6443);
    assert.ok(api, `no listener on 6443: ${JSON.stringify(listeners.map((l) => l.protocol_port))}`);
    const wanted = sorted([cidr(a.mgmtAddress), ...(vars.apiAllowedCidrs as string[]), subnet.cidr as string, ...routerIps.map(cidr)]);
    assert.deepStrictEqual(
        sorted(api.allowed_cidrs as string[]),
        wanted,
        "allow-list: the management server's address, apiAllowedCidrs, the nodes' subnet and the router's (their egress) address",
    );
    assert.ok((vars.apiAllowedCidrs as string[]).includes(cidr(a.mgmtAddress)), "the tree's apiAllowedCidrs carry MANAGEMENT_EGRESS_CIDR as substituted");
    const fips = (await s.call<{ floatingips: Obj[] }>("network", "GET", `/v2.0/floatingips?port_id=${lb.vip_port_id}`)).floatingips;
    assert.strictEqual(fips.length, 1, "one floating IP on the API VIP");
    const apiAddress = fips[0].floating_ip_address as string;
    assert.match(apiAddress, /^127\.100\./);
    assert.strictEqual(at(osc, "spec.controlPlaneEndpoint.host"), apiAddress, "control plane endpoint is the VIP's floating IP");
    assert.strictEqual(at(osc, "spec.controlPlaneEndpoint.port"), 6443);

    return {
        clusterName: name,
        namespace: ns,
        uid: at(live, "metadata.uid") as string,
        oscName,
        vars,
        networkId: net.id,
        subnetId: subnet.id,
        subnetCidr: subnet.cidr as string,
        routerId: router.id,
        securityGroupIds: sgs.map((g) => g.id),
        apiLbId: lb.id,
        apiAddress,
        externalNetworkId: a.publicNet.id,
    };
}

/** Waits for the first control-plane Machine's server and checks it in Nova, Cinder and Octavia. */
export async function checkFirstControlPlaneMachine(a: { cp: ControlPlane; s: Session; expect: CapoExpectations; wait: Wait }): Promise<void> {
    const { cp, s, expect: e } = a;
    const machine = await waitFor(
        "first control-plane Machine",
        () => {
            const ms = cp.list(R.Machine, {
                namespace: e.namespace,
                selector: `cluster.x-k8s.io/cluster-name=${e.clusterName},cluster.x-k8s.io/control-plane`,
            });
            return ms.length > 0 ? ms[0] : undefined;
        },
        a.wait,
    );
    // CAPO v0.14 creates the server through an OpenStackServer of the OpenStackMachine's name;
    // the OpenStackMachine gets the ID only once the API pool member is ACTIVE (see below).
    const osmName = at(machine, "spec.infrastructureRef.name") as string;
    const instanceId = await waitFor(
        `OpenStackServer ${osmName} instanceID`,
        () => at(cp.get(R.OpenStackServer, osmName, e.namespace), "status.instanceID") as string | undefined,
        a.wait,
    );
    const server = await waitFor(
        `server ${instanceId} ACTIVE`,
        async () => {
            const sv = (await s.call<{ server: Obj }>("compute", "GET", `/servers/${instanceId}`)).server;
            if (sv.status === "ERROR") {
                throw new Error(`server ${instanceId} ERROR: ${JSON.stringify(sv.fault)}`);
            }
            return sv.status === "ACTIVE" ? sv : undefined;
        },
        a.wait,
    );
    const v = e.vars;
    assert.strictEqual((server.flavor as { original_name: string }).original_name, v.controlPlaneFlavor, "flavor");

    const images = (await s.call<{ images: Obj[] }>("image", "GET", `/v2/images?name=${encodeURIComponent(v.nodeImage as string)}`)).images;
    assert.strictEqual(images.length, 1, `one Glance image ${v.nodeImage}`);
    const attached = (server["os-extended-volumes:volumes_attached"] as { id: string }[]) ?? [];
    const rootVolume = v.rootVolume as { sizeGiB: number; type?: string; availabilityZone?: unknown } | undefined;
    if (rootVolume) {
        assert.strictEqual(server.image, "", "booted from a volume, not the image");
        assert.strictEqual(attached.length, 1, "one root volume");
        const vol = (await s.call<{ volume: Obj }>("volumev3", "GET", `/volumes/${attached[0].id}`)).volume;
        assert.strictEqual(vol.size, rootVolume.sizeGiB, "root volume size");
        assert.strictEqual(vol.bootable, "true");
        assert.strictEqual((vol.volume_image_metadata as Record<string, string>).image_id, images[0].id, "root volume made from the node image");
    } else {
        assert.strictEqual((server.image as { id: string }).id, images[0].id, "booted from the node image");
        assert.deepStrictEqual(attached, [], "no root volume without the rootVolume variable");
    }

    if (v.controlPlaneServerGroup) {
        const groups = (await s.call<{ server_groups: Obj[] }>("compute", "GET", "/os-server-groups")).server_groups.filter(
            (g) => g.name === v.controlPlaneServerGroup,
        );
        assert.strictEqual(groups.length, 1, `one Nova server group ${v.controlPlaneServerGroup}`);
        assert.ok((groups[0].members as string[]).includes(instanceId), "server is a member of the control plane's server group");
        assert.strictEqual(groups[0].policy, "anti-affinity", "control plane group policy");
    }

    const az = server["OS-EXT-AZ:availability_zone"] as string;
    const zones = (await s.call<{ availabilityZoneInfo: { zoneName: string }[] }>("compute", "GET", "/os-availability-zone")).availabilityZoneInfo.map(
        (z) => z.zoneName,
    );
    assert.ok(zones.includes(az), `server AZ ${az} is one of Nova's ${zones}`);
    const fd = at(machine, "spec.failureDomain") ?? at(cp.get(R.Machine, machine.metadata.name, e.namespace), "spec.failureDomain");
    if (fd) {
        assert.strictEqual(az, fd, "server AZ is the Machine's failure domain");
    }
    if (v.controlPlaneAvailabilityZones) {
        assert.ok((v.controlPlaneAvailabilityZones as string[]).includes(az), "server AZ is one of controlPlaneAvailabilityZones");
    }

    // Its port on the cluster network with the control plane group; the API pool has it as a member.
    const ports = (await s.call<{ ports: Obj[] }>("network", "GET", `/v2.0/ports?device_id=${instanceId}`)).ports;
    assert.strictEqual(ports.length, 1, "one port");
    assert.strictEqual(ports[0].network_id, e.networkId, "port on the cluster network");
    assert.ok((ports[0].security_groups as string[]).includes(e.securityGroupIds[0]), "port in the control plane security group");
    const ip = (ports[0].fixed_ips as { ip_address: string }[])[0].ip_address;
    // CAPO asks Octavia for the member; the bed's Octavia (no-op amphora) fails the member's
    // flow (HandleNetworkDeltas looks up the no-op amphora's port in Neutron: ERROR), so only
    // the request is checked here, not that the member goes ACTIVE (docs/testbed-openstack.md).
    const member = await waitFor(
        `API pool member ${ip}`,
        async () => {
            const pools = (await s.call<{ pools: Obj[] }>("load-balancer", "GET", `/v2/lbaas/pools?loadbalancer_id=${e.apiLbId}`)).pools;
            for (const pool of pools) {
                const members = (await s.call<{ members: Obj[] }>("load-balancer", "GET", `/v2/lbaas/pools/${pool.id}/members`)).members;
                const m = members.find((x) => x.address === ip && x.protocol_port === 6443);
                if (m && !String(m.provisioning_status).startsWith("PENDING")) {
                    return m;
                }
            }
            return undefined;
        },
        a.wait,
    );
    console.log(`      API pool member ${ip}:6443 ${member.provisioning_status} (server ${instanceId}, AZ ${az}, flavor ${v.controlPlaneFlavor})`);
}
