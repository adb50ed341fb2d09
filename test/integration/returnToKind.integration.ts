/**
 * The way back from the self-hosted mode on the test bed (docs/self-hosted.md, "selfHosted →
 * kind"): src/host/scripts/return-to-kind.sh as the program renders it for the dev stack (the
 * render's scripts/NN-return-to-kind.sh, only the server's paths replaced by the bed's and a
 * short bound), run as the step runs it (`bash -s`, the script on stdin), with the real pivot
 * script and the real clusterctl v1.14 between two loopback API servers, each with the real
 * Cluster API, CAPO, CAAPH and ORC managers: A, the kind cluster; B, the self-hosted cluster.
 *
 * A holds the dev stack (program objects, GitOps tree, workload Clusters) and the self-hosted
 * Cluster `<prefix>-management` with its ORC Image and ServerGroup (src/cluster/selfHostedManifest.ts,
 * applied server-side as self-hosted-cluster.sh applies it); pivot.sh moves them to B, and the
 * state is written as self-hosted-pivot.sh writes it, with the state library's own functions
 * (lib/self-hosted-state.sh: kubeconfig, phase `pivoting`, the move, active.kubeconfig, phase
 * `pivoted`; kind's Kustomizations suspended by its suspend_kustomizations).
 *
 * Simulated, and said where: no machine boots (test/integration/backupBed.ts, pivotBed.ts report
 * the control planes, infrastructure and Nodes as KCP, CAPO and the bootstrap provider would);
 * B's Flux is its Kustomizations (the tree's root, unsuspended) and stand-in Deployments for its
 * controllers, which nothing runs. On deletion, what the providers that reach no OpenStack do
 * is simulated: a finalizer of CAPO, the kubeadm providers or ORC on an object of the workload
 * namespace that has been deleting for 15 s is removed, as CAPO would after deleting the servers,
 * load balancer and network, and ORC after deleting the server group; the run prints what it
 * removed. Measured: nothing was left to remove (CAPO and the kubeadm providers reconcile nothing
 * on the bed; ORC, which runs and cannot reach its closed loopback Keystone, held up no deletion:
 * it never created an OpenStack resource here), so deleting real OpenStack resources is not
 * exercised. Cluster API's own deletion (Cluster,
 * MachineDeployments, MachineSets, Machines, its control plane and infrastructure objects) is real.
 * The test bed has no garbage collector: what only it deletes (objects owned by the deleted
 * Cluster: a MachineHealthCheck, an OpenStackMachineTemplate) is listed, not asserted, and deleted
 * before the second round as it would (clusterctl refuses a graph with an owner that is gone).
 * Network rule: loopback only.
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderSelfHostedManifest } from "../../src/cluster/selfHostedManifest";
import { HOST_SCRIPTS_DIR } from "../../src/host/hostScripts";
import { withParams } from "../selfHostedBed";
import { bootMachines, CLUSTERCTL_LABEL, CONTROLLER_TIMEOUT_MS, HostRun, provisionCluster, R } from "./backupBed";
import { ControlPlane, KubeObject, parseDocs } from "./harness/controlPlane";
import { startManagementCluster } from "./harness/managementCluster";
import { at, yamlStream } from "./harness/objects";
import { startOrc } from "./harness/orc";
import { serverHooks } from "./harness/serverHooks";
import { applyDevStack, assertLoopbackOnly, clusterctlInit, credentialObjects, DevBed, prepareDevBed, reportMovedClustersRunning, runPivot } from "./pivotBed";

const ns = "clusters";
const ORC = { ServerGroup: "servergroups.openstack.k-orc.cloud", Image: "images.openstack.k-orc.cloud" };
/** What does not run on the bed, or reaches no OpenStack: their finalizers are removed on deletion (simulated). */
const PROVIDER_RESOURCES = [R.OpenStackCluster, R.OpenStackMachine, R.KubeadmControlPlane, R.KubeadmConfig, ORC.ServerGroup, ORC.Image];
const DELETING_GRACE_MS = 15_000;

describe("test bed: return-to-kind.sh moves a pivoted stack back to the kind cluster with the real clusterctl, and kind deletes the self-hosted cluster", function () {
    this.timeout(CONTROLLER_TIMEOUT_MS + 180_000);
    let a: ControlPlane | undefined;
    let b: ControlPlane | undefined;
    /** The test bed, the work directory, the dev stack rendered, the loopback credentials. */
    let dev: DevBed | undefined;
    /** The program's return-to-kind.sh for the dev stack, and its parameters. */
    let script: string;
    let param: (name: string) => string;
    const A = () => a ?? assert.fail("API server A (kind) not started");
    const B = () => b ?? assert.fail("API server B (self-hosted) not started");
    const poll = (cp: ControlPlane) => ({ timeoutMs: CONTROLLER_TIMEOUT_MS, intervalMs: 2000, watched: cp.processes });
    const bed = () => dev ?? assert.fail("the test bed is not prepared");
    const self = () => param("CLUSTER");
    /** The GitOps tree's documents, as Flux applies them. */
    const treeDocs = () => bed().rendered.kustomizations.flatMap((k) => k.docs);
    const workloads = () =>
        treeDocs()
            .filter((d) => d.kind === "Cluster")
            .map((c) => c.metadata.name)
            .sort();
    const clusterNames = (cp: ControlPlane) =>
        cp
            .list(R.Cluster, { namespace: ns })
            .map((c) => c.metadata.name)
            .sort();
    const ownOrc = () => param("ORC_OBJECTS").split(" ");

    /** Runs the state library's functions (lib/self-hosted-state.sh) on STATE_DIR `dir`, as the steps do. */
    function state(dir: string, commands: string): void {
        const lib = path.join(HOST_SCRIPTS_DIR, "lib", "self-hosted-state.sh");
        const body = `set -euo pipefail\ndie() { echo "state: $*" >&2; exit 1; }\n. "$LIB"\n${commands}\n`;
        const env = { PATH: process.env.PATH, HOME: bed().home, STATE_DIR: dir, LIB: lib, KIND: A().kubeconfig, SELF: B().kubeconfig };
        const r = spawnSync("bash", ["-c", body], { encoding: "utf8", env });
        assert.strictEqual(r.status, 0, r.stderr);
    }

    /** The self-hosted Cluster on A, as the self-hosted-cluster step applies it, provisioned and its Machines booted (simulated). */
    async function buildSelfHosted(): Promise<void> {
        const version = at(
            treeDocs().find((d) => d.kind === "Cluster"),
            "spec.topology.version",
        ) as string;
        const manifest = renderSelfHostedManifest({
            name: self(),
            namespace: ns,
            kubernetesVersion: version,
            image: "Ubuntu 24.04",
            flavor: "SCS-4V-16",
            externalNetworkId: "0b7e5a8e-0000-4000-8000-00000000e7e7",
            apiAllowedCidrs: ["203.0.113.0/24"],
            serverAddress: "203.0.113.10",
            dnsNameservers: ["9.9.9.9"],
        });
        A().applyOk(manifest, { fieldManager: "self-hosted-cluster" });
        await provisionCluster(A(), parseDocs(manifest).find((d) => d.kind === "Cluster") as KubeObject, ns, poll(A()));
        await bootMachines(A(), ns, poll(A()));
    }

    /** pivot.sh A → B with the state written around it as self-hosted-pivot.sh writes it; B's Cluster API then runs them. */
    async function pivotToB(stateDir: string): Promise<void> {
        // The self-hosted-cluster step writes the kubeconfig; the pivot step stops kind's Flux and records pivoting.
        state(
            stateDir,
            'kind_kube() { kubectl --kubeconfig "$KIND" "$@"; }\nopen_state\nwrite_state kubeconfig "$(<"$SELF")"\nsuspend_kustomizations kind_kube "kind cluster"\nset_phase pivoting',
        );
        const r = runPivot(bed(), A(), path.join(stateDir, "kubeconfig"));
        assert.strictEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
        state(stateDir, "open_state\nlink_active\nset_phase pivoted");
        await reportMovedClustersRunning(B(), ns, poll(B()));
        assert.deepStrictEqual(clusterNames(B()), [...workloads(), self()].sort());
        assert.deepStrictEqual(clusterNames(A()), []);
    }

    /** Every object of the workload namespace whose kind clusterctl moves (the CRDs with its label), by `Kind/name`. */
    function clusterApiObjects(cp: ControlPlane): Map<string, KubeObject> {
        const crds = cp.list("crd", { selector: CLUSTERCTL_LABEL }).filter((c) => at(c, "spec.scope") === "Namespaced");
        const out = new Map<string, KubeObject>();
        for (const crd of crds.filter((c) => c.metadata.name !== "providers.clusterctl.cluster.x-k8s.io")) {
            cp.list(crd.metadata.name, { namespace: ns }).forEach((o) => out.set(`${o.kind}/${o.metadata.name}`, o));
        }
        return out;
    }
    /**
     * What Kubernetes' garbage collector does, which the test bed does not run: deletes the objects
     * of the workload namespace (Cluster API's and Secrets) whose every owner, each of a kind listed
     * here, is gone; repeated for chains. Returns them.
     */
    function collectGarbage(cp: ControlPlane): string[] {
        const collected: string[] = [];
        for (;;) {
            const objects = [...clusterApiObjects(cp).values(), ...cp.list("secrets", { namespace: ns })];
            const uids = new Set(objects.map((o) => at(o, "metadata.uid")));
            const kinds = new Set(objects.map((o) => o.kind));
            const orphans = objects.filter((o) => {
                const owners = (at(o, "metadata.ownerReferences") ?? []) as { kind: string; uid: string }[];
                return owners.length > 0 && owners.every((r) => kinds.has(r.kind) && !uids.has(r.uid));
            });
            if (orphans.length === 0) return collected;
            for (const o of orphans) {
                const resource = o.apiVersion.includes("/") ? `${o.kind}.${o.apiVersion.split("/").reverse().join(".")}` : o.kind;
                cp.kubectlOk(["delete", resource, o.metadata.name, "-n", ns, "--wait=false"]);
                collected.push(`${o.kind}/${o.metadata.name}`);
            }
        }
    }
    const isOwn = (key: string, o: KubeObject) =>
        key === `Cluster/${self()}` ||
        o.metadata.labels?.["cluster.x-k8s.io/cluster-name"] === self() ||
        at(o, "spec.clusterName") === self() ||
        ownOrc().some((r) => key === `${r.startsWith("images") ? "Image" : "ServerGroup"}/${r.split("/")[1]}`);

    /**
     * The program's return-to-kind.sh with the bed's paths, run as the step runs it; while it runs,
     * what the providers that reach no OpenStack do on deletion (simulated, header), recorded.
     */
    async function returnToKind(stateDir: string): Promise<HostRun & { simulated: string[] }> {
        const text = withParams(script, {
            KIND_KUBECONFIG: A().kubeconfig,
            STATE_DIR: stateDir,
            CLUSTERCTL: bed().testbed.path("clusterctl"),
            PIVOT_SCRIPT: path.join(HOST_SCRIPTS_DIR, "pivot.sh"),
            TIMEOUT_SECONDS: "420",
        });
        const child = spawn("bash", ["-s"], { env: { PATH: process.env.PATH, HOME: bed().home, SELF_HOSTED_POLL_SECONDS: "2" } });
        const out = { stdout: "", stderr: "" };
        child.stdout.on("data", (d) => (out.stdout += d));
        child.stderr.on("data", (d) => (out.stderr += d));
        const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
        child.stdin.end(text);
        const simulated: string[] = [];
        let status: number | null | undefined;
        void exited.then((s) => (status = s));
        while (status === undefined) {
            await new Promise((r) => setTimeout(r, 3000));
            for (const res of PROVIDER_RESOURCES) {
                for (const o of A().list(res, { namespace: ns })) {
                    const deleting = at(o, "metadata.deletionTimestamp");
                    const finalizers = (at(o, "metadata.finalizers") ?? []) as string[];
                    if (!deleting || Date.now() - Date.parse(String(deleting)) < DELETING_GRACE_MS || !finalizers.length) continue;
                    const onDelete = o.kind === "ServerGroup" ? ` onDelete=${String(at(o, "spec.managedOptions.onDelete") ?? "delete")}` : "";
                    simulated.push(`${o.kind}/${o.metadata.name} [${finalizers.join(",")}]${onDelete}`);
                    A().kubectl(["patch", res, o.metadata.name, "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
                }
            }
        }
        console.log(`      finalizers removed as the providers would (simulated): ${simulated.join("; ") || "none"}`);
        console.log(
            out.stderr
                .split("\n")
                .filter((l) => l.startsWith("return-to-kind: "))
                .map((l) => `        ${l}`)
                .join("\n"),
        );
        return { status: await exited, ...out, simulated };
    }

    /** Where everything is after a completed return: `onB` is what B held before it. */
    function assertReturned(r: HostRun, onB: Map<string, KubeObject>, stateDir: string): void {
        assert.strictEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, new RegExp(`every Cluster API object of ${ns} is on the kind cluster; the self-hosted cluster ${ns}/${self()} is deleted`));
        assert.match(
            r.stderr,
            new RegExp(`pivot: moved Cluster\\(s\\) [^\\n]*\\b${self()}\\b[^\\n]* from https://127\\.0\\.0\\.1:\\d+ to https://127\\.0\\.0\\.1:\\d+`),
            "the real pivot script moved them back",
        );
        const problems: string[] = [];
        const onA = clusterApiObjects(A());
        const leftOnB = clusterApiObjects(B());
        for (const [key, o] of onB) {
            if (leftOnB.has(key)) problems.push(`${key}: still on B`);
            if (!isOwn(key, o) && !onA.has(key)) problems.push(`${key}: not back on A`);
        }
        assert.deepStrictEqual(problems, []);
        assert.ok(onB.size > 20 && [...onB.keys()].some((k) => k.startsWith("HelmChartProxy/")), `B held the stack: ${[...onB.keys()].join(" ")}`);
        // The workload clusters: on A, running, not deleted; their ORC objects kept.
        assert.deepStrictEqual(clusterNames(A()), workloads());
        for (const c of A().list(R.Cluster, { namespace: ns })) {
            assert.ok(!at(c, "metadata.deletionTimestamp") && at(c, "spec.paused") !== true, `${c.metadata.name} deleted or paused on A`);
            const ofIt = (m: KubeObject) => m.kind === "Machine" && m.metadata.labels?.["cluster.x-k8s.io/cluster-name"] === c.metadata.name;
            assert.strictEqual([...onA.values()].filter(ofIt).length, [...onB.values()].filter(ofIt).length, `${c.metadata.name}'s Machines on A`);
        }
        for (const d of treeDocs().filter((x) => x.kind === "Image" || x.kind === "ServerGroup")) {
            const o = A().get(ORC[d.kind as keyof typeof ORC], d.metadata.name, ns);
            assert.ok(o && !at(o, "metadata.deletionTimestamp"), `the workload clusters' ${d.kind} ${d.metadata.name} kept on A`);
        }
        // The self-hosted cluster: deleted by kind's Cluster API with what it deletes, its own ORC objects deleted.
        const sel = `cluster.x-k8s.io/cluster-name=${self()}`;
        for (const res of [R.Cluster, R.MachineDeployment, R.Machine, R.KubeadmControlPlane, R.OpenStackCluster, R.OpenStackMachine]) {
            for (const cp of [A(), B()]) {
                const left = cp.list(res, { namespace: ns, selector: sel }).map((o) => o.metadata.name);
                assert.deepStrictEqual(left, [], `${res} of ${self()} left`);
            }
        }
        assert.strictEqual(A().get(R.Cluster, self(), ns), undefined);
        for (const object of ownOrc()) {
            assert.strictEqual(A().get(object.split("/")[0], object.split("/")[1], ns), undefined, `${object} left on A`);
        }
        const gc = [...clusterApiObjects(A()).entries()].filter(([k, o]) => isOwn(k, o)).map(([k]) => k);
        console.log(`      left for Kubernetes' garbage collector (none on the bed): ${gc.join(" ") || "nothing"}`);
        // B's Flux stopped before the move; the state: returned, phase and kubeconfigs gone.
        assert.ok(
            B()
                .list("deployments", { namespace: param("FLUX_NAMESPACE") })
                .every((d) => at(d, "spec.replicas") === 0),
            "B's Flux scaled to zero",
        );
        assert.ok(
            B()
                .list("kustomizations.kustomize.toolkit.fluxcd.io")
                .every((k) => at(k, "spec.suspend") === true),
            "B's Kustomizations suspended",
        );
        assert.deepStrictEqual(
            fs.readdirSync(stateDir).filter((f) => f !== "lock"),
            ["returned"],
        );
        assert.strictEqual(fs.readFileSync(path.join(stateDir, "returned"), "utf8"), `${ns}/${self()}\n`);
    }

    before(async function () {
        this.timeout(30 * 60_000);
        dev = await prepareDevBed(this, "return-to-kind", ns);
        const file = fs.readdirSync(path.join(bed().rendered.dir, "scripts")).find((f) => /^\d+-return-to-kind\.sh$/.test(f));
        assert.ok(file, "the dev stack renders a return-to-kind step");
        script = fs.readFileSync(path.join(bed().rendered.dir, "scripts", file), "utf8");
        const params = new Map([...script.matchAll(/^readonly ([A-Z_]+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]));
        param = (name) => params.get(name) ?? assert.fail(`the rendered return-to-kind.sh has no ${name}`);
        // One after the other (2 cores): after() stops whichever started.
        a = await startManagementCluster(bed().testbed, "kind-a");
        b = await startManagementCluster(bed().testbed, "self-b");
        for (const cp of [A(), B()]) await startOrc(cp, bed().testbed);
    });

    serverHooks(
        () => [a, b],
        () => dev?.workDir,
    );

    it("A (kind): the dev stack, its workload Clusters and the self-hosted Cluster <prefix>-management, provisioned and booted (simulated)", async function () {
        this.timeout(15 * 60_000);
        assert.strictEqual(self(), "dev-management", "the program's name of the dev stack's self-hosted Cluster");
        assert.strictEqual(param("NAMESPACE"), ns);
        clusterctlInit(bed(), A());
        await applyDevStack(A(), bed().rendered, bed().cloudsYaml, poll(A()));
        for (const cl of treeDocs().filter((d) => d.kind === "Cluster")) {
            await provisionCluster(A(), cl, ns, poll(A()));
        }
        await buildSelfHosted();
        assert.deepStrictEqual(clusterNames(A()), [...workloads(), self()].sort());
    });

    it("pivoted: pivot.sh moved everything to B (self-hosted), its Flux running there, the state as self-hosted-pivot.sh leaves it", async function () {
        this.timeout(15 * 60_000);
        clusterctlInit(bed(), B());
        B().applyOk(yamlStream(credentialObjects(ns, bed().cloudsYaml)));
        // B's Flux: the tree's root (its Kustomizations, not suspended) and stand-ins for its controllers (nothing runs them).
        const controller = (name: string) => ({
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name, namespace: param("FLUX_NAMESPACE") },
            spec: {
                replicas: 1,
                selector: { matchLabels: { app: name } },
                template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `stand-in/${name}` }] } },
            },
        });
        B().applyOk(yamlStream([...bed().rendered.root.docs, controller("source-controller"), controller("kustomize-controller")] as KubeObject[]));
        const stateDir = path.join(bed().workDir, "state", "self-hosted");
        await pivotToB(stateDir);
        assert.strictEqual(fs.readFileSync(path.join(stateDir, "phase"), "utf8"), "pivoted\n");
        assert.strictEqual(fs.readlinkSync(path.join(stateDir, "active.kubeconfig")), "kubeconfig");
    });

    it("return-to-kind.sh: B's Flux stopped, every object back on A and none on B, kind deletes the self-hosted Cluster and its own ORC objects, the workload clusters and theirs kept; returned written, phase cleared", async function () {
        this.timeout(20 * 60_000);
        const stateDir = path.join(bed().workDir, "state", "self-hosted");
        const onB = clusterApiObjects(B());
        const started = Date.now();
        const r = await returnToKind(stateDir);
        console.log(`      return-to-kind.sh: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        assertReturned(r, onB, stateDir);
        const steps = [
            "stopped the self-hosted cluster's Flux",
            `moving the Cluster API objects of ${ns} back`,
            `the Cluster API objects of ${ns} are back on the kind cluster`,
            `deleting the self-hosted cluster ${ns}/${self()}`,
        ];
        const positions = steps.map((s) => r.stderr.indexOf(`return-to-kind: ${s}`));
        assert.ok(
            positions.every((i, n) => i >= 0 && (n === 0 || i > positions[n - 1])),
            r.stderr,
        );
        assert.doesNotMatch(r.stdout + r.stderr, /pivot-secret|application_credential_secret/, "no secret printed");
    });

    it("a second run does nothing and changes nothing (idempotent)", async function () {
        const stateDir = path.join(bed().workDir, "state", "self-hosted");
        const versions = () => [...clusterApiObjects(A()).entries()].map(([k, o]) => `${k}@${o.metadata.resourceVersion}`).sort();
        const before = versions();
        const r = await returnToKind(stateDir);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.stdout, `return-to-kind: nothing to do: no self-hosted cluster ${ns}/${self()} (phase kind)\n`);
        assert.deepStrictEqual(versions(), before, "nothing on A changed");
        assert.deepStrictEqual(clusterNames(B()), []);
        assert.deepStrictEqual(r.simulated, []);
    });

    it("a return stopped after recording unpivoting (B's Flux stopped, nothing moved yet): the next run moves back and completes", async function () {
        this.timeout(25 * 60_000);
        // A later selfHosted → kind round on a fresh state directory: the self-hosted cluster again, the objects on B again.
        // The garbage collector's part of the first round's deletion (clusterctl refuses a graph with an owner that is gone).
        console.log(`      deleted as Kubernetes' garbage collector would: ${collectGarbage(A()).join(" ") || "nothing"}`);
        await reportMovedClustersRunning(A(), ns, poll(A()));
        await buildSelfHosted();
        const stateDir = path.join(bed().workDir, "state2", "self-hosted");
        await pivotToB(stateDir);
        // What move_back leaves when stopped right after `set_phase unpivoting`.
        B().kubectlOk(["scale", "deployment", "--all", "-n", param("FLUX_NAMESPACE"), "--replicas=0"]);
        state(stateDir, 'open_state\nset_phase unpivoting\nrm -f -- "$STATE_DIR/active.kubeconfig"');
        const onB = clusterApiObjects(B());
        const r = await returnToKind(stateDir);
        assertReturned(r, onB, stateDir);
    });

    it("network rule: the managers and clusterctl reached loopback only", function () {
        assertLoopbackOnly([A(), B()]);
    });
});
