/**
 * The self-hosted mode's move on the test bed: src/host/scripts/pivot.sh, run as the
 * orchestration runs it (`FROM_KUBECONFIG=… TO_KUBECONFIG=… NAMESPACE=… CLUSTERCTL=… bash
 * pivot.sh`), with the real clusterctl v1.14 (built from the pinned Cluster API module) between
 * two loopback API servers, each with the real Cluster API, CAPO, CAAPH and ORC managers (A: the
 * kind cluster, B: the HA cluster). docs/self-hosted.md, "The move (pivot.sh)".
 *
 * Simulated, and said where (test/integration/backupBed.ts): no machine boots (the control plane's
 * and Machines' progress is reported by patching their status, as KCP, CAPO and the bootstrap
 * provider would); `clusterctl init`'s label on the providers' CRDs and its inventory are applied
 * with kubectl. ORC runs for real but reaches no OpenStack: its credentials point at a closed
 * loopback port (network rule: loopback only, asserted at the end from the managers' logs).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE, ORC_CREDENTIALS_SECRET } from "../../src/shared/contract";
import { HOST_SCRIPTS_DIR } from "../../src/host/hostScripts";
import { bootMachines, CONTROLLER_TIMEOUT_MS, HostRun, inventory, provisionCluster, R } from "./backupBed";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { startManagementCluster } from "./harness/managementCluster";
import { at, yamlStream } from "./harness/objects";
import { startOrc } from "./harness/orc";
import { waitFor } from "./harness/processes";
import { serverHooks } from "./harness/serverHooks";
import { RenderedStack, renderStack } from "./harness/stack";
import { Testbed } from "./harness/testbed";
import { applyDevStack, clusterctlInit as pivotBedInit, credentialObjects, loadTestbed, loopbackCloudsYaml, makeWorkDir, runPivot } from "./pivotBed";
import { moveTests } from "./pivotMoveTests";

const ns = "clusters";

describe("test bed: pivot.sh moves the dev stack's Cluster API objects between two management clusters with the real clusterctl, and back", function () {
    this.timeout(CONTROLLER_TIMEOUT_MS + 180_000);
    let a: ControlPlane | undefined;
    let b: ControlPlane | undefined;
    let testbed: Testbed;
    let rendered: RenderedStack;
    let workDir: string;
    let home: string;
    let cloudsYaml: string;
    const A = () => {
        assert.ok(a, "API server A not started");
        return a;
    };
    const B = () => {
        assert.ok(b, "API server B not started");
        return b;
    };
    const poll = (cp: ControlPlane) => ({ timeoutMs: CONTROLLER_TIMEOUT_MS, intervalMs: 2000, watched: cp.processes });
    const allDocs = () => [...rendered.manifests.flatMap((m) => m.docs), ...rendered.kustomizations.flatMap((k) => k.docs)];
    const clusters = () => rendered.kustomizations.flatMap((k) => k.docs).filter((d) => d.kind === "Cluster");
    const names = () =>
        clusters()
            .map((c) => c.metadata.name)
            .sort();
    const bed = () => ({ testbed, workDir, home, ns });
    /** The credential objects the program puts on each cluster itself: never moved. */
    const credentials = () => credentialObjects(ns, cloudsYaml);
    /** The resource name kubectl takes for a document (Kind.version.group). */
    const resourceOf = (d: { apiVersion: string; kind: string }) =>
        d.apiVersion.includes("/") ? `${d.kind}.${d.apiVersion.split("/").reverse().join(".")}` : d.kind;

    const pivot = (from: ControlPlane | string, to: ControlPlane | string, env: Record<string, string> = {}) => runPivot(bed(), from, to, env);
    const clusterctlInit = (cp: ControlPlane, edit?: (inv: string) => string) => pivotBedInit(bed(), cp, edit);
    const refused = (r: HostRun) => {
        assert.strictEqual(r.status, 1, `pivot.sh did not refuse:\n${r.stdout}\n${r.stderr}`);
        assert.match(r.stderr, /pivot: nothing was moved \(\d+ problem\(s\) above\)/);
    };
    const clusterNames = (cp: ControlPlane) =>
        cp
            .list(R.Cluster, { namespace: ns })
            .map((c) => c.metadata.name)
            .sort();
    const nothingMoved = () => {
        assert.deepStrictEqual(clusterNames(A()), names(), "A keeps its Clusters");
        assert.deepStrictEqual(clusterNames(B()), [], "B has none");
        for (const c of A().list(R.Cluster, { namespace: ns })) {
            assert.notStrictEqual(at(c, "spec.paused"), true, `A's ${c.metadata.name} left paused`);
            assert.strictEqual(c.metadata.annotations?.["capi-mgmt.io/pivot"], undefined, "no pivot mark left");
        }
    };

    before(async function () {
        this.timeout(30 * 60_000);
        testbed = loadTestbed(this, "pivot");
        ({ workDir, home } = makeWorkDir("pivot"));
        rendered = renderStack("dev", path.join(workDir, "render"));
        cloudsYaml = await loopbackCloudsYaml();
        const started = await Promise.allSettled([startManagementCluster(testbed, "pivot-a"), startManagementCluster(testbed, "pivot-b")]);
        a = started[0].status === "fulfilled" ? started[0].value : undefined;
        b = started[1].status === "fulfilled" ? started[1].value : undefined;
        for (const s of started) {
            if (s.status === "rejected") {
                throw s.reason;
            }
        }
        await startOrc(A(), testbed);
        await startOrc(B(), testbed);
    });

    serverHooks(
        () => [a, b],
        () => workDir,
    );

    it("bad arguments: exit 2 naming what is wrong", function () {
        const noNs = spawnSync("bash", [path.join(HOST_SCRIPTS_DIR, "pivot.sh")], {
            encoding: "utf8",
            env: { PATH: process.env.PATH ?? "", FROM_KUBECONFIG: A().kubeconfig, TO_KUBECONFIG: B().kubeconfig, CLUSTERCTL: testbed.path("clusterctl") },
        });
        assert.strictEqual(noNs.status, 2);
        assert.match(noNs.stderr, /pivot: NAMESPACE is not set/);
        const same = pivot(A(), A());
        assert.strictEqual(same.status, 2);
        assert.match(same.stderr, /FROM_KUBECONFIG and TO_KUBECONFIG point at the same API server \(https:\/\/127\.0\.0\.1:\d+\)/);
    });

    it("A: the program's objects and the GitOps tree, each Cluster expanded and provisioned (simulated), its Machines not booted yet", async function () {
        clusterctlInit(A());
        await applyDevStack(A(), rendered, cloudsYaml, poll(A()));
        for (const cl of clusters()) {
            await provisionCluster(A(), cl, ns, poll(A()));
        }
        const orc = allDocs().filter((d) => d.kind === "Image" || d.kind === "ServerGroup");
        assert.ok(orc.length >= 3, "the dev tree has an Image and two ServerGroups");
        assert.ok(
            orc.some((d) => at(d, "spec.managementPolicy") === "managed"),
            "a managed ORC object (its OpenStack resource is deleted with it unless detached)",
        );
    });

    it("refuses, before moving anything and each with its message: Machines without nodes, providers missing on the target, the identity and the credential Secrets missing there", function () {
        const r = pivot(A(), B());
        refused(r);
        assert.match(
            r.stderr,
            /pivot: REFUSED: a Cluster or Machine is still being created \(a cluster being built, or a rollout or scale-up under way: a Machine without its node yet\): Machine clusters\/\S+ has no node yet.* clusterctl does not move then; pivot once/,
        );
        assert.match(r.stderr, /pivot: REFUSED: provider CoreProvider\/cluster-api v\S+ is not installed on the target/);
        assert.match(r.stderr, /pivot: REFUSED: provider InfrastructureProvider\/openstack \S+ is not installed on the target/);
        assert.match(r.stderr, /pivot: REFUSED: the OpenStackClusterIdentity openstack the Clusters use is not on the target: clusterctl does not move it/);
        assert.match(r.stderr, new RegExp(`pivot: REFUSED: the credential Secret ${CAPO_NAMESPACE}/${CAPO_CREDENTIALS_SECRET} is not on the target`));
        assert.match(r.stderr, new RegExp(`pivot: REFUSED: the credential Secret ${ns}/${ORC_CREDENTIALS_SECRET} is not on the target`));
        assert.match(
            r.stderr,
            /pivot: REFUSED: Flux on the source is not suspended \(Kustomization\(s\) [^)]*flux-system\/flux-system[^)]*\): it would apply the moved objects there again from Git/,
        );
        nothingMoved();
    });

    it("refuses a provider at another version on the target", async function () {
        await bootMachines(A(), ns, poll(A()));
        // As the orchestration does before the pivot: Flux on A stops applying the tree.
        for (const k of A().list("kustomizations.kustomize.toolkit.fluxcd.io")) {
            A().kubectlOk([
                "patch",
                "kustomizations.kustomize.toolkit.fluxcd.io",
                k.metadata.name,
                "-n",
                k.metadata.namespace ?? "",
                "--type=merge",
                "-p",
                '{"spec":{"suspend":true}}',
            ]);
        }
        clusterctlInit(B(), (inv) => inv.replace(/(name: cluster-api\n(?:.*\n)*?version: )v\S+/, "$1v9.9.9"));
        B().applyOk(yamlStream(credentials()));
        const r = pivot(A(), B());
        refused(r);
        assert.match(
            r.stderr,
            /pivot: REFUSED: provider CoreProvider\/cluster-api is v\S+ on the source but v9\.9\.9 on the target: install the same version on the target first/,
        );
        assert.doesNotMatch(r.stderr, /identity|credential Secret|no node yet|Flux/, "only the version is left");
        B().applyOk(inventory(testbed));
        nothingMoved();
    });

    it("refuses a paused Cluster, and a paused ClusterClass, with the backup's words", function () {
        const name = names()[0];
        A().kubectlOk(["patch", R.Cluster, name, "-n", ns, "--type=merge", "-p", '{"spec":{"paused":true}}']);
        const r = pivot(A(), B());
        refused(r);
        assert.match(
            r.stderr,
            new RegExp(
                `pivot: REFUSED: Cluster\\(s\\) paused: ${ns}/${name}\\. clusterctl does not move a paused Cluster .*kubectl -n ${ns} patch cluster <name>`,
            ),
        );
        A().kubectlOk(["patch", R.Cluster, name, "-n", ns, "--type=merge", "-p", '{"spec":{"paused":false}}']);
        const cc = A().list(R.ClusterClass, { namespace: ns })[0].metadata.name;
        A().kubectlOk(["annotate", R.ClusterClass, cc, "-n", ns, "cluster.x-k8s.io/paused="]);
        const c = pivot(A(), B());
        refused(c);
        assert.match(
            c.stderr,
            new RegExp(
                `pivot: REFUSED: ClusterClass\\(es\\) paused: ${ns}/${cc}\\. clusterctl does not move while a ClusterClass has the cluster.x-k8s.io/paused annotation`,
            ),
        );
        A().kubectlOk(["annotate", R.ClusterClass, cc, "-n", ns, "cluster.x-k8s.io/paused-"]);
        nothingMoved();
    });

    it("refuses mid-rollout (a scale-up: a new Machine without its node), then the new Machine boots", async function () {
        const name = names()[0];
        const live = A().get(R.Cluster, name, ns) as KubeObject;
        const mds = at(live, "spec.topology.workers.machineDeployments") as { replicas?: number }[];
        const before = A().list(R.Machine, { namespace: ns }).length;
        A().kubectlOk([
            "patch",
            R.Cluster,
            name,
            "-n",
            ns,
            "--type=json",
            "-p",
            JSON.stringify([{ op: "replace", path: "/spec/topology/workers/machineDeployments/0/replicas", value: (mds[0].replicas ?? 1) + 1 }]),
        ]);
        await waitFor("the new Machine", () => (A().list(R.Machine, { namespace: ns }).length > before ? true : undefined), poll(A()));
        const r = pivot(A(), B());
        refused(r);
        assert.match(r.stderr, /pivot: REFUSED: a Cluster or Machine is still being created .*: Machine clusters\/\S+ has no node yet/);
        nothingMoved();
        await bootMachines(A(), ns, poll(A()));
    });

    moveTests({ A, B, ns, poll, allDocs, clusters, names, resourceOf, pivot, clusterNames });
});
