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
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import {
    capoCredentialsSecret,
    capoIdentity,
    cloudConfigResourceData,
    cloudCredentialsData,
    namespace,
    orcCredentialsSecret,
} from "../../src/cluster/clusterObjects";
import { renderCloudConf, renderCloudsYaml } from "../../src/cluster/cloudCredentials";
import { CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE, ORC_CREDENTIALS_SECRET } from "../../src/shared/contract";
import { HOST_SCRIPTS_DIR } from "../../src/host/hostScripts";
import { bootMachines, CONTROLLER_TIMEOUT_MS, HostRun, inventory, labelProviderCrds, NOT_CLUSTER_API, provisionCluster, R } from "./backupBed";
import { ControlPlane, freePort, KubeObject } from "./harness/controlPlane";
import { requiredComponents, startManagementCluster } from "./harness/managementCluster";
import { at, conditionTrue, yamlStream } from "./harness/objects";
import { startOrc } from "./harness/orc";
import { waitFor } from "./harness/processes";
import { RenderedStack, renderStack } from "./harness/stack";
import { Testbed } from "./harness/testbed";

const ns = "clusters";
const ORC_CRD = /\.openstack\.k-orc\.cloud$/;

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
    /** The credential objects the program puts on each cluster itself: never moved. */
    const credentials = () => [
        namespace(ns),
        capoCredentialsSecret(cloudCredentialsData(cloudsYaml)),
        orcCredentialsSecret(ns, cloudCredentialsData(cloudsYaml)),
        capoIdentity(ns),
    ];
    /** The rendered manifests as the program creates them, with the loopback credentials. */
    const programObjects = () =>
        rendered.manifests
            .flatMap((m) => m.docs)
            .map((d) => {
                if (d.kind === "Secret" && (d as { type?: string }).type === "addons.cluster.x-k8s.io/resource-set") {
                    return {
                        ...d,
                        stringData: cloudConfigResourceData(
                            renderCloudConf({ authUrl: "https://keystone.example:5000/v3", id: "pivot-id", secret: "pivot-secret" }),
                        ),
                    };
                }
                if (d.kind === "Secret" && [CAPO_CREDENTIALS_SECRET, ORC_CREDENTIALS_SECRET].includes(d.metadata.name)) {
                    return { ...d, stringData: cloudCredentialsData(cloudsYaml) };
                }
                return d;
            });
    /** The resource name kubectl takes for a document (Kind.version.group). */
    const resourceOf = (d: { apiVersion: string; kind: string }) =>
        d.apiVersion.includes("/") ? `${d.kind}.${d.apiVersion.split("/").reverse().join(".")}` : d.kind;

    function pivot(from: ControlPlane | string, to: ControlPlane | string, env: Record<string, string> = {}): HostRun {
        const r = spawnSync("bash", [path.join(HOST_SCRIPTS_DIR, "pivot.sh")], {
            encoding: "utf8",
            env: {
                PATH: process.env.PATH ?? "/usr/bin:/bin",
                HOME: home,
                FROM_KUBECONFIG: typeof from === "string" ? from : from.kubeconfig,
                TO_KUBECONFIG: typeof to === "string" ? to : to.kubeconfig,
                NAMESPACE: ns,
                CLUSTERCTL: testbed.path("clusterctl"),
                ...env,
            },
            timeout: 600_000,
        });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr + (r.error ? String(r.error) : "") };
    }
    /**
     * What `clusterctl init` leaves besides the providers: the label on their CRDs, clusterctl's
     * inventory CRD (clusterctl itself creates it on any command against a cluster: a
     * `move --to-directory` of an empty namespace here) and its Provider objects (`version`
     * rewritten by `edit`).
     */
    function clusterctlInit(cp: ControlPlane, edit: (inv: string) => string = (x) => x): void {
        labelProviderCrds(cp);
        const dir = fs.mkdtempSync(path.join(workDir, "init-"));
        const r = spawnSync(testbed.path("clusterctl"), ["move", "--kubeconfig", cp.kubeconfig, "--namespace", "no-such-namespace", "--to-directory", dir], {
            encoding: "utf8",
            env: { PATH: process.env.PATH, HOME: home, CLUSTERCTL_DISABLE_VERSIONCHECK: "true" },
        });
        assert.strictEqual(r.status, 0, r.stdout + r.stderr);
        cp.kubectlOk(["wait", "--for=condition=Established", "--timeout=60s", "crd/providers.clusterctl.cluster.x-k8s.io"]);
        cp.applyOk(edit(inventory(testbed)));
    }
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
        testbed = Testbed.load();
        const missing = testbed.missing([...requiredComponents(), "clusterctl", "orc"]);
        if (missing) {
            console.log(`      SKIPPED (pivot): test bed incomplete: ${missing}`);
            this.skip();
        }
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-it-pivot-"));
        home = path.join(workDir, "home");
        fs.mkdirSync(home);
        rendered = renderStack("dev", path.join(workDir, "render"));
        // Keystone at a closed loopback port: ORC tries, and reaches nothing else.
        cloudsYaml = renderCloudsYaml({ authUrl: `http://127.0.0.1:${await freePort()}/v3`, id: "pivot-id", secret: "pivot-secret" });
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

    afterEach(function () {
        if (this.currentTest?.state === "failed") {
            for (const cp of [a, b]) {
                if (cp) {
                    console.log(cp.report(25));
                }
            }
        }
    });

    after(async function () {
        this.timeout(180_000);
        await a?.stop();
        await b?.stop();
        if (workDir) {
            fs.rmSync(workDir, { recursive: true, force: true });
        }
    });

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
        A().applyOk(yamlStream(programObjects()));
        A().applyOk(yamlStream(rendered.root.docs), { fieldManager: "kustomize-controller" });
        for (const k of rendered.kustomizations) {
            A().applyOk(yamlStream(k.docs), { fieldManager: "kustomize-controller" });
            for (const cc of k.docs.filter((d) => d.kind === "ClusterClass")) {
                await waitFor(
                    `ClusterClass ${cc.metadata.name} VariablesReady`,
                    () => (conditionTrue(A().get(R.ClusterClass, cc.metadata.name, cc.metadata.namespace), "VariablesReady") ? true : undefined),
                    poll(A()),
                );
            }
        }
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

    /** Every object A holds in the namespace, as `Kind/name` with its resource version, before the move. */
    let beforeMove: Map<string, KubeObject>;
    let moved: Set<string>;

    it("moves A's objects to B: every Cluster on B and running there, none left on A, the identity and credentials each cluster's own", async function () {
        this.timeout(15 * 60_000);
        const secretsBefore = B().get("secrets", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE);
        const orcSecretBefore = B().get("secrets", ORC_CREDENTIALS_SECRET, ns);
        beforeMove = new Map();
        for (const d of allDocs().filter((x) => x.metadata.namespace === ns && !NOT_CLUSTER_API.has(x.kind))) {
            const live = A().get(resourceOf(d), d.metadata.name, ns);
            assert.ok(live, `${d.kind} ${d.metadata.name} is on A before the move`);
            beforeMove.set(`${d.kind}/${d.metadata.name}`, live);
        }
        const started = Date.now();
        const r = pivot(A(), B());
        console.log(`      pivot.sh A -> B: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        assert.strictEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
        assert.match(
            r.stdout,
            new RegExp(
                `^pivot: moved Cluster\\(s\\) ${names().join(" ")} of namespace ${ns} from https://127\\.0\\.0\\.1:\\d+ to https://127\\.0\\.0\\.1:\\d+`,
            ),
        );
        assert.doesNotMatch(r.stdout + r.stderr, /pivot-secret|application_credential_secret/, "pivot.sh prints no secret");

        // Where every object of the stack ends up.
        const problems: string[] = [];
        moved = new Set();
        for (const [key, d] of beforeMove) {
            const res = resourceOf(d);
            const onA = A().get(res, d.metadata.name, ns);
            const onB = B().get(res, d.metadata.name, ns);
            if (d.kind === "Secret" && d.metadata.name === ORC_CREDENTIALS_SECRET) {
                if (!onA) problems.push(`${key}: A lost its own credential Secret`);
                if (JSON.stringify(onB?.data) !== JSON.stringify(orcSecretBefore?.data)) problems.push(`${key}: B's own credential Secret changed`);
                if (onA?.metadata.labels?.["clusterctl.cluster.x-k8s.io/move"] === undefined) problems.push(`${key}: A's move label not put back`);
                continue;
            }
            if (!onB) problems.push(`${key}: not on B`);
            if (onA) problems.push(`${key}: still on A`);
            moved.add(key);
        }
        assert.deepStrictEqual(problems, []);
        for (const kind of [
            "Cluster",
            "ClusterClass",
            "ClusterResourceSet",
            "HelmChartProxy",
            "Image",
            "ServerGroup",
            "KubeadmControlPlaneTemplate",
            "OpenStackClusterTemplate",
        ]) {
            assert.ok(
                [...moved].some((k) => k.startsWith(`${kind}/`)),
                `the stack has a ${kind} and it moved`,
            );
        }
        // What the controllers made: on B, none left on A.
        for (const res of [
            R.MachineDeployment,
            R.Machine,
            R.KubeadmControlPlane,
            R.OpenStackCluster,
            R.OpenStackMachine,
            R.KubeadmConfig,
            R.ClusterResourceSetBinding,
        ]) {
            assert.ok(B().list(res, { namespace: ns }).length > 0, `no ${res} on B`);
            assert.deepStrictEqual(
                A()
                    .list(res, { namespace: ns })
                    .map((o) => o.metadata.name),
                [],
                `${res} left on A`,
            );
        }
        for (const name of names()) {
            for (const s of ["ca", "kubeconfig"]) {
                assert.ok(B().get("secrets", `${name}-${s}`, ns), `${name}-${s} on B`);
                assert.strictEqual(A().get("secrets", `${name}-${s}`, ns), undefined, `${name}-${s} left on A`);
            }
            const c = B().get(R.Cluster, name, ns) as KubeObject;
            assert.notStrictEqual(at(c, "spec.paused"), true, "B's Cluster resumed");
            assert.strictEqual(c.metadata.annotations?.["capi-mgmt.io/pivot"], undefined, "the pivot's mark removed on B");
        }
        // The identity and CAPO's credential: each cluster keeps its own.
        assert.ok(A().get(R.Identity, "openstack") && B().get(R.Identity, "openstack"), "the identity on both");
        assert.ok(
            A().get("secrets", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE)?.metadata.labels?.["clusterctl.cluster.x-k8s.io/move"] !== undefined,
            "A's CAPO credential kept, label back",
        );
        assert.deepStrictEqual(B().get("secrets", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE)?.data, secretsBefore?.data, "B's CAPO credential untouched");
        // ORC: CRDs labelled on both; the managed objects' onDelete as before the move (detached only for it).
        for (const cp of [A(), B()]) {
            const crds = cp.list("crd").filter((c) => ORC_CRD.test(c.metadata.name));
            assert.ok(crds.length > 0 && crds.every((c) => c.metadata.labels?.["clusterctl.cluster.x-k8s.io"] === ""), "ORC's CRDs labelled for clusterctl");
        }
        for (const d of allDocs().filter((x) => x.kind === "ServerGroup" || x.kind === "Image")) {
            const onB = B().get(resourceOf(d), d.metadata.name, ns) as KubeObject;
            assert.deepStrictEqual(at(onB, "spec.managedOptions"), at(d, "spec.managedOptions"), `${d.kind} ${d.metadata.name}: managedOptions as in Git`);
            assert.strictEqual(onB.metadata.annotations?.["capi-mgmt.io/pivot-on-delete"], undefined);
        }
    });

    it("nothing is reconciled twice: A's managers have nothing left to reconcile, B's take over (Cluster API, ORC)", async function () {
        this.timeout(10 * 60_000);
        for (const name of names()) {
            const live = B().get(R.Cluster, name, ns) as KubeObject;
            const cl = clusters().find((c) => c.metadata.name === name) as KubeObject;
            // As KCP and CAPO would report on B (statuses are not moved).
            B().kubectlOk([
                "patch",
                R.KubeadmControlPlane,
                at(live, "spec.controlPlaneRef.name") as string,
                "-n",
                ns,
                "--subresource=status",
                "--type=merge",
                "-p",
                JSON.stringify({ status: { version: at(cl, "spec.topology.version"), initialization: { controlPlaneInitialized: true } } }),
            ]);
            B().kubectlOk([
                "patch",
                R.OpenStackCluster,
                at(live, "spec.infrastructureRef.name") as string,
                "-n",
                ns,
                "--subresource=status",
                "--type=merge",
                "-p",
                JSON.stringify({ status: { ready: true } }),
            ]);
            await waitFor(
                `B's Cluster API reconciles ${name} (control plane initialized)`,
                () => (conditionTrue(B().get(R.Cluster, name, ns), "ControlPlaneInitialized") ? true : undefined),
                poll(B()),
            );
            await waitFor(
                `B's Cluster API reports ${name}'s infrastructure`,
                () => (at(B().get(R.Cluster, name, ns), "status.initialization.infrastructureProvisioned") === true ? true : undefined),
                poll(B()),
            );
        }
        for (const m of B().list(R.Machine, { namespace: ns })) {
            await waitFor(
                `B's Cluster API finds the Node of ${m.metadata.name}`,
                () => (at(B().get(R.Machine, m.metadata.name, ns), "status.nodeRef.name") ? true : undefined),
                poll(B()),
            );
        }
        // B's ORC reconciles the moved objects (it reports that it cannot reach Keystone).
        for (const d of allDocs().filter((x) => x.kind === "ServerGroup")) {
            await waitFor(
                `B's ORC reconciles ServerGroup ${d.metadata.name}`,
                () => ((at(B().get(resourceOf(d), d.metadata.name, ns), "status.conditions") as unknown[] | undefined)?.length ? true : undefined),
                poll(B()),
            );
        }
        // A's API server has none of the moved objects: A's controllers only see their own API server.
        for (const [key, d] of beforeMove) {
            if (moved.has(key)) {
                assert.strictEqual(A().get(resourceOf(d), d.metadata.name, ns), undefined, `${key} on A`);
            }
        }
        // A's ORC did reconcile them before the move (so it was a second controller to stop).
        const orcLog = fs.readFileSync(path.join(A().dir, "orc.log"), "utf8");
        const serverGroups = allDocs().filter((d) => d.kind === "ServerGroup");
        assert.ok(
            serverGroups.every((d) => orcLog.includes(`"${d.metadata.name}"`)),
            `A's ORC reconciled the ServerGroups before the move:\n${orcLog.slice(-1500)}`,
        );
    });

    it("a second run after the move moves nothing and changes nothing on B (idempotent)", function () {
        const rv = () =>
            B()
                .list(R.Cluster, { namespace: ns })
                .map((c) => `${c.metadata.name}@${c.metadata.resourceVersion}`);
        const before = rv();
        const r = pivot(A(), B());
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^pivot: already done: Cluster\\(s\\) ${names().join(" ")} of namespace ${ns} are on the target`));
        assert.deepStrictEqual(rv(), before, "B's Clusters unchanged");
    });

    it("refuses to move into a cluster that has the Clusters (the reverse direction before they left B would double them)", function () {
        // A gets a Cluster of the same namespace (as Flux on A would apply from Git): a pivot B -> A refuses.
        const cl = clusters()[0];
        const copy = { ...cl, metadata: { ...cl.metadata, name: "intruder" }, spec: { ...cl.spec, paused: true } };
        A().applyOk(toYaml(copy));
        const r = pivot(B(), A());
        assert.strictEqual(r.status, 1, r.stderr);
        assert.match(r.stderr, /pivot: REFUSED: the target already has Clusters in namespace clusters: intruder\. A move would give Cluster API a second copy/);
        assert.ok(B().list(R.Cluster, { namespace: ns }).length === names().length, "B keeps its Clusters");
        // Paused from the start: nothing expanded it, and Cluster API put no finalizer on it.
        A().kubectlOk(["delete", R.Cluster, "intruder", "-n", ns, "--timeout=60s"]);
        assert.deepStrictEqual(A().list(R.MachineDeployment, { namespace: ns }), [], "the paused intruder was never expanded");
    });

    it("the reverse pivot (B -> A, as before destroy) brings every object back to A", async function () {
        this.timeout(15 * 60_000);
        await waitFor("A's intruder gone", () => (A().list(R.Cluster, { namespace: ns }).length === 0 ? true : undefined), poll(A()));
        const started = Date.now();
        const r = pivot(B(), A());
        console.log(`      pivot.sh B -> A: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        assert.strictEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
        const problems: string[] = [];
        for (const key of moved) {
            const d = beforeMove.get(key) as KubeObject;
            if (!A().get(resourceOf(d), d.metadata.name, ns)) problems.push(`${key}: not back on A`);
            if (B().get(resourceOf(d), d.metadata.name, ns)) problems.push(`${key}: still on B`);
        }
        assert.deepStrictEqual(problems, []);
        assert.deepStrictEqual(clusterNames(A()), names());
        assert.ok(B().get("secrets", ORC_CREDENTIALS_SECRET, ns) && B().get("secrets", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE), "B keeps its own credentials");
    });

    it("network rule: the managers and clusterctl reached loopback only", function () {
        for (const cp of [A(), B()]) {
            // The check reads real connection attempts: each ORC tried the loopback Keystone.
            assert.match(fs.readFileSync(path.join(cp.dir, "orc.log"), "utf8"), /dial tcp 127\.0\.0\.1:\d+: connect: connection refused/);
            assert.match(cp.server, /^https:\/\/127\.0\.0\.1:\d+$/);
            for (const f of fs.readdirSync(cp.dir).filter((x) => x.endsWith(".log"))) {
                const text = fs.readFileSync(path.join(cp.dir, f), "utf8");
                const dials = [...text.matchAll(/dial tcp ([^\s:\]]+|\[[^\]]+\]):\d+/g)]
                    .map((m) => m[1])
                    .filter((h) => !/^(127\.0\.0\.1|\[::1\]|localhost)$/.test(h));
                const lookups = [...text.matchAll(/lookup ([a-z0-9.-]+)/gi)].map((m) => m[1]).filter((h) => h !== "localhost");
                assert.deepStrictEqual([...dials, ...lookups], [], `${f} reached beyond loopback`);
            }
        }
    });
});
