/**
 * The deletion of a workload Cluster on the OpenStack test bed, step by step (issue 21's
 * blocker): what OCCM and Cinder CSI would have left is made first (capoDeletion.ts), the
 * Cluster is pruned from the tree, CAPO is seen blocked by the load balancer, and
 * src/host/scripts/lb-cleanup.sh is run as its timer runs it until CAPO has deleted everything.
 *
 * A test device: a finalizer of the test's own on the OpenStackCluster keeps it (and so the
 * Cluster) in Deleting after CAPO has finished, so the cleanup's volume opt-in can be run
 * against a Cluster that is still deleting (the opt-in acts only then; a real user sets the
 * label before, or while the cluster is deleting). It is removed at the end and the Cluster goes.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { DELETE_VOLUMES_LABEL } from "../../src/host/lbCleanupScript";
import { Environment, TreeObject } from "../../render/gitopsTree";
import { caaphValues } from "./caaphValues";
import { CapoExpectations, R, timed, Wait } from "./capoChecks";
import { CleanupRun, lbActive, pruned, runLbCleanup, seedCsiVolume, seedOccmLoadBalancer, treeWithout } from "./capoDeletion";
import { inventory, Obj } from "./capoProject";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { at } from "./harness/objects";
import { sleep, waitFor } from "./harness/processes";
import { PROJECT_DIR } from "./harness/stack";
import { gone, Session } from "./openstackBed";

/** The test's finalizer (see the file's comment). */
const HOLD = "capi-mgmt.test/hold-for-volume-opt-in";
/** CAPO's finalizer on an OpenStackCluster (infrav1.ClusterFinalizer). */
const CAPO_FINALIZER = "openstackcluster.infrastructure.cluster.x-k8s.io";
/** The timer runs the cleanup a minute after each pass; shortened here. */
const TICK_MS = 15_000;

/**
 * OCCM's cloud.conf `[LoadBalancer]` values as the tree's OCCM HelmChartProxy renders them for
 * this Cluster: the values template executed by CAAPH's own HelmChartProxy controller against
 * the live Cluster and OpenStackCluster (CAPO's real status), selecting this Cluster alone by a
 * label of the test (caaphValues.ts).
 */
async function occmLoadBalancerConf(cp: ControlPlane, tree: Environment, cluster: KubeObject, wait: Wait): Promise<Record<string, string>> {
    const hcp = tree.units
        .flatMap((u) => u.documents.map((d) => d.object))
        .find((o) => o.kind === "HelmChartProxy" && at(o, "spec.chartName") === "openstack-cloud-controller-manager");
    assert.ok(hcp, "the tree has no OCCM HelmChartProxy");
    const name = cluster.metadata.name as string;
    const ns = cluster.metadata.namespace as string;
    cp.kubectlOk(["label", R.Cluster, name, "-n", ns, "--overwrite", `capi-mgmt.io/values-test=${name}`]);
    const text = await caaphValues(
        cp,
        hcp,
        { cluster: name, namespace: ns, selector: { "capi-mgmt.io/values-test": name }, copyName: `occm-values-${name}` },
        wait,
    );
    const values = parseYaml(text) as { cloudConfigContents: string };
    const section = values.cloudConfigContents.split(/^\[LoadBalancer\]\s*$/m)[1]?.split(/^\[/m)[0] ?? "";
    return Object.fromEntries(
        section
            .split("\n")
            .map((l) => l.split("=").map((x) => x.trim()))
            .filter((kv) => kv.length === 2 && kv[0]),
    );
}

/**
 * The whole deletion on the bed (see the file's comment), with the cluster CAPO made
 * (`expect`), the environment as applied (`envTree`, `settings`), the user's session `s`, the
 * external network and the management server's floating IP (which must survive).
 */
export async function runDeletion(a: {
    cp: ControlPlane;
    s: Session;
    expect: CapoExpectations;
    env: string;
    envTree: Environment;
    settings: Record<string, string>;
    workDir: string;
    publicNet: Obj;
    mgmtFip: Obj;
    wait: Wait;
}): Promise<void> {
    const { cp, s, expect: e } = a;
    const ns = e.namespace;
    const name = e.clusterName;
    const t0 = Date.now();

    // What the cluster's OCCM would have made, with cloud.conf as the tree renders it from CAPO's real status.
    const liveCluster = cp.get(R.Cluster, name, ns) as KubeObject;
    const conf = await occmLoadBalancerConf(cp, a.envTree, liveCluster, a.wait);
    assert.strictEqual(conf["floating-network-id"], e.externalNetworkId, "OCCM cloud.conf floating-network-id is the cluster's external network");
    assert.strictEqual(conf["subnet-id"], e.subnetId, "OCCM cloud.conf subnet-id is the cluster's subnet");
    const occm = await seedOccmLoadBalancer(s, {
        clusterName: name,
        namespace: "ingress-nginx",
        service: "ingress-nginx-controller",
        subnetId: conf["subnet-id"],
        floatingNetworkId: conf["floating-network-id"],
        provider: conf["lb-provider"],
    });
    const kept = await seedCsiVolume(s, `${name}.${e.uid}`, { namespace: "default", name: "data" });
    const legacy = await seedCsiVolume(s, name, { namespace: "default", name: "old-data" });

    // Another cluster's network in the same project (as another stack's cluster), with its own load balancers.
    const otherNet = (await s.call<{ network: Obj }>("network", "POST", "/v2.0/networks", { network: { name: `k8s-clusterapi-cluster-${ns}-workload-2` } }))
        .network;
    const otherSubnet = (
        await s.call<{ subnet: Obj }>("network", "POST", "/v2.0/subnets", {
            subnet: { network_id: otherNet.id, cidr: "10.7.0.0/24", ip_version: 4, name: "other" },
        })
    ).subnet;
    const otherRouter = (
        await s.call<{ router: Obj }>("network", "POST", "/v2.0/routers", { router: { name: "other", external_gateway_info: { network_id: a.publicNet.id } } })
    ).router;
    await s.call("network", "PUT", `/v2.0/routers/${otherRouter.id}/add_router_interface`, { subnet_id: otherSubnet.id });
    const secondCluster = await seedOccmLoadBalancer(s, {
        clusterName: "workload-2",
        namespace: "default",
        service: "web",
        subnetId: otherSubnet.id,
        floatingNetworkId: a.publicNet.id,
    });
    const sameNameOtherNet = await seedOccmLoadBalancer(s, {
        clusterName: name,
        namespace: "default",
        service: "web",
        subnetId: otherSubnet.id,
        floatingNetworkId: a.publicNet.id,
    });
    const foreign = (
        await s.call<{ loadbalancer: Obj }>("load-balancer", "POST", "/v2/lbaas/loadbalancers", {
            loadbalancer: { name: "made-by-hand", vip_subnet_id: otherSubnet.id },
        })
    ).loadbalancer;
    await lbActive(s, foreign.id);
    const otherVolume = await seedCsiVolume(s, `workload-2.${e.uid.replace(/^./, "0")}`, { namespace: "default", name: "data" });
    timed("seeded OCCM / Cinder CSI leftovers and another cluster's objects", t0, undefined);

    // The commit that removes the Cluster, and Flux's prune of what it no longer builds.
    cp.kubectlOk([
        "patch",
        R.OpenStackCluster,
        e.oscName,
        "-n",
        ns,
        "--type=json",
        "-p",
        JSON.stringify([{ op: "add", path: "/metadata/finalizers/-", value: HOLD }]),
    ]);
    const after = treeWithout(path.join(PROJECT_DIR, "gitops"), a.workDir, `./clusters/${a.env}`, a.settings, name);
    const gone1 = pruned(a.envTree.units, after.units);
    assert.ok(
        gone1.some((o) => o.kind === "Cluster" && o.metadata.name === name),
        `the prune deletes the Cluster: ${gone1.map((o) => `${o.kind}/${o.metadata.name}`)}`,
    );
    assert.ok(!gone1.some((o) => ["ClusterClass", "Image", "HelmChartProxy"].includes(o.kind)), "the prune leaves the shared infrastructure");
    const tDelete = Date.now();
    for (const o of gone1) {
        // kustomize-controller deletes with background propagation and does not wait.
        cp.kubectlOk(["delete", "--wait=false", "--ignore-not-found", "--cascade=background", "-f", "-"], toYaml(o));
    }
    // ORC's finalizers delete the pruned ServerGroups' Nova groups; the objects go when they are done.
    for (const o of gone1.filter((d) => String(d.apiVersion).startsWith("openstack.k-orc.cloud/"))) {
        const kind = `${o.kind.toLowerCase()}s.${String(o.apiVersion).split("/")[1]}.openstack.k-orc.cloud`;
        await waitFor(
            `ORC ${o.kind} ${o.metadata.name} deleted`,
            () => (cp.get(kind, o.metadata.name, o.metadata.namespace as string) ? undefined : true),
            a.wait,
        );
    }

    await waitFor(
        `Machines of ${name} gone`,
        () =>
            cp.list("machines.v1beta2.cluster.x-k8s.io", { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${name}` }).length === 0 ? true : undefined,
        a.wait,
    );
    timed("Machines deleted (server, ports gone)", tDelete, undefined);
    // The blocker, on the real CAPO: the OCCM load balancer's floating IP and VIP port keep the router interface and the network.
    const capoLog = path.join(cp.dir, "capo.log");
    const blocked = await waitFor(
        "CAPO refused by Neutron (router interface or network in use)",
        () => {
            const m = /failed to delete (router|network|ports)[^\n]*/.exec(fs.readFileSync(capoLog, "utf8"));
            return m ? m[0].slice(0, 400) : undefined;
        },
        a.wait,
    );
    console.log(`      CAPO blocked: ${blocked}`);
    timed("CAPO seen blocked", tDelete, undefined);
    assert.ok(cp.get(R.OpenStackCluster, e.oscName, ns), "OpenStackCluster still there while blocked");

    // The cleanup, as its timer runs it, until CAPO has finished.
    const stateDir = path.join(a.workDir, "lb-cleanup-state");
    fs.mkdirSync(stateDir, { recursive: true });
    const runs: CleanupRun[] = [];
    const tCleanup = Date.now();
    await waitFor(
        "CAPO's finalizer removed after the cleanup",
        async () => {
            runs.push(runLbCleanup(cp.kubeconfig, ns, stateDir));
            const fins = (cp.get(R.OpenStackCluster, e.oscName, ns)?.metadata as { finalizers?: string[] } | undefined)?.finalizers ?? [];
            if (!fins.includes(CAPO_FINALIZER)) {
                return true;
            }
            await sleep(TICK_MS);
            return undefined;
        },
        { ...a.wait, timeoutMs: 25 * 60_000 },
    );
    timed(`cleanup ran ${runs.length} time(s) until CAPO finished`, tCleanup, undefined);
    timed("deletion (prune to CAPO done)", tDelete, undefined);
    const log = runs.map((r) => r.output).join("");
    console.log(
        log
            .split("\n")
            .map((l) => `      | ${l}`)
            .join("\n"),
    );
    assert.ok(
        runs.every((r) => r.status === 0 || /trying again|could not/.test(r.output)),
        "each failed run says what it retries",
    );
    assert.match(log, new RegExp(`${name}: deleted floating IP ${String(occm.fip.floating_ip_address).replace(/\./g, "\\.")} \\(${occm.fip.id}\\)`));
    assert.match(log, new RegExp(`${name}: deleting load balancer ${occm.lb.name} \\(${occm.lb.id}\\)`));
    assert.match(log, new RegExp(`Cinder volumes of cluster ${name} are kept[^\\n]*${kept.id}`));
    assert.match(log, new RegExp(`Cinder volumes of cluster ${name} are kept[^\\n]*${legacy.id}[^\\n]*name only`));
    const events = JSON.parse(
        cp.kubectlOk(["get", "events", "-n", ns, "--field-selector", `involvedObject.name=${name},reason=CinderVolumesKept`, "-o", "json"]),
    ) as { items: { message: string }[] };
    assert.ok(
        events.items.some((x) => x.message.includes(kept.id)),
        "Event CinderVolumesKept on the Cluster names the kept volume",
    );

    // The project: nothing of the cluster but its volumes; everything else untouched.
    for (const [svc, p] of [
        ["network", `/v2.0/networks/${e.networkId}`],
        ["network", `/v2.0/subnets/${e.subnetId}`],
        ["network", `/v2.0/routers/${e.routerId}`],
        ...e.securityGroupIds.map((g) => ["network", `/v2.0/security-groups/${g}`]),
        ["load-balancer", `/v2/lbaas/loadbalancers/${e.apiLbId}`],
        ["load-balancer", `/v2/lbaas/loadbalancers/${occm.lb.id}`],
        ["network", `/v2.0/floatingips/${occm.fip.id}`],
    ] as [string, string][]) {
        await gone(s, svc, p, 120);
    }
    const inv = await inventory(s);
    assert.deepStrictEqual(
        inv.servers.map((x) => x.name),
        [],
        "no servers",
    );
    assert.deepStrictEqual(
        inv.serverGroups.map((x) => x.name),
        [],
        "no server groups (the pruned ORC ServerGroups)",
    );
    assert.deepStrictEqual(
        inv.networks.map((x) => x.id),
        [otherNet.id],
        "only the other cluster's network",
    );
    assert.deepStrictEqual(
        inv.securityGroups.map((x) => x.name).filter((n) => String(n).includes(`${ns}-${name}`)),
        [],
        "no security group of the cluster",
    );
    assert.deepStrictEqual(
        inv.floatingIps.map((x) => x.id).sort(),
        [a.mgmtFip.id, secondCluster.fip.id, sameNameOtherNet.fip.id].sort(),
        "floating IPs: the management server's and the other network's",
    );
    assert.deepStrictEqual(
        inv.loadBalancers.map((x) => x.id).sort(),
        [secondCluster.lb.id, sameNameOtherNet.lb.id, foreign.id].sort(),
        "load balancers: only the other network's",
    );
    assert.ok(
        inv.loadBalancers.every((x) => x.provisioning_status === "ACTIVE"),
        "the other load balancers are untouched (ACTIVE)",
    );
    assert.deepStrictEqual(
        inv.volumes.map((x) => x.id).sort(),
        [kept.id, legacy.id, otherVolume.id].sort(),
        "volumes: the cluster's kept ones and the other cluster's",
    );

    // The per-cluster opt-in, while the Cluster is still deleting: its exactly tagged volume goes too.
    cp.kubectlOk(["label", R.Cluster, name, "-n", ns, `${DELETE_VOLUMES_LABEL}=true`]);
    const optIn = runLbCleanup(cp.kubeconfig, ns, stateDir);
    console.log(
        optIn.output
            .split("\n")
            .map((l) => `      | ${l}`)
            .join("\n"),
    );
    assert.strictEqual(optIn.status, 0, optIn.output);
    assert.match(optIn.output, new RegExp(`${name}: deleted volume ${kept.id} of PVC default/data`));
    await gone(s, "volumev3", `/volumes/${kept.id}`, 120);
    const vols = (await inventory(s)).volumes.map((x) => x.id).sort();
    assert.deepStrictEqual(vols, [legacy.id, otherVolume.id].sort(), "the name-only tagged volume and the other cluster's stay");

    // Release the test's hold: the Cluster goes.
    const fins = ((cp.get(R.OpenStackCluster, e.oscName, ns)?.metadata as { finalizers?: string[] }).finalizers ?? []).filter((f) => f !== HOLD);
    cp.kubectlOk(["patch", R.OpenStackCluster, e.oscName, "-n", ns, "--type=merge", "-p", JSON.stringify({ metadata: { finalizers: fins } })]);
    await waitFor(`Cluster ${name} gone`, () => (cp.get(R.Cluster, name, ns) ? undefined : true), a.wait);
    timed("Cluster gone after the hold is released", tDelete, undefined);
    assert.deepStrictEqual(
        cp.list(R.OpenStackCluster, { namespace: ns }).map((o: TreeObject) => o.metadata.name),
        [],
        "no OpenStackCluster left",
    );
}
