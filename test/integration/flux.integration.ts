/**
 * Flux for real: Flux's own source-controller and kustomize-controller (v1.9.4, as Flux v2.9.4
 * ships them) run against the test bed's API server and Cluster API managers, pull the project's
 * GitOps tree over SSH from a loopback sshd, and apply it through the program's own Flux objects
 * (deploy-key Secret with known_hosts, GitRepository on a branch or a semver range, root
 * Kustomization with pruning, SOPS and the settings ConfigMap), rendered from each stack's config
 * with the Git URL, known_hosts and keys of the test's server.
 *
 * Simulated: OpenStack (ORC's Image and CAAPH's HelmChartProxy status are written by the test in
 * place of those controllers, see simulateOrcAndCaaph), the VM and kind (the control plane is a
 * loopback kube-apiserver). Everything each test asserts is read from Flux's and Cluster API's
 * own conditions and objects.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR } from "../harness";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { startManagementCluster, requiredComponents } from "./harness/managementCluster";
import { yamlStream } from "./harness/objects";
import { Testbed } from "./harness/testbed";
import { FLUX_BINARIES, FluxControllers } from "./fluxControllers";
import {
    artifactRevision,
    cond,
    describeReady,
    GIT_REPOSITORY,
    inventory,
    KUSTOMIZATION,
    objectOf,
    programObjects,
    ProgramObjects,
    simulateOrcAndCaaph,
    until,
} from "./fluxObjects";
import { GitServer, newKeyPair, Repository } from "./gitServer";

/** Interval the test gives the GitRepository and root Kustomization (`gitops.interval`). */
const INTERVAL = "5s";

/** Bound of one Flux step (clone, build, apply, health) on a loaded 2-core machine. */
const STEP_MS = 180_000;

/** Bound of a pushed commit reaching the cluster (the "within the test's bound"). */
const COMMIT_APPLIED_MS = 120_000;

/** The SOPS fixture: a Secret encrypted for a test-only age key (see its README). */
const SOPS_DIR = path.join(__dirname, "fixtures", "sops");

const FLUX_NS = "flux-system";
const ROOT = "flux-system";
const CHILDREN = ["cluster-classes", "node-images", "addons"];
const WORKLOADS = "workload-clusters";
const EXAMPLE = "workload-1";
const EXAMPLE_FILE = "workloads/base/workload-1.yaml";
const PROD_OVERLAY = "workloads/prod/kustomization.yaml";

/** kubectl resource of each kind FluxSync creates. */
const RESOURCES: Record<string, string> = {
    Secret: "secrets",
    ConfigMap: "configmaps",
    GitRepository: GIT_REPOSITORY,
    Kustomization: KUSTOMIZATION,
};

/** A timestamp of an object's metadata (the harness's type leaves them out). */
function stamp(obj: KubeObject, field: "creationTimestamp" | "deletionTimestamp"): string | undefined {
    return (obj.metadata as Record<string, unknown>)[field] as string | undefined;
}

/** Why the suite cannot run here, or undefined. */
function missingPrerequisites(): string | undefined {
    const problems: string[] = [];
    try {
        const m = Testbed.load().missing([...requiredComponents(), ...FLUX_BINARIES]);
        if (m) {
            problems.push(m);
        }
    } catch (err) {
        problems.push((err as Error).message);
    }
    for (const [file, pkg] of [
        ["/usr/sbin/sshd", "openssh-server"],
        ["/usr/bin/git", "git"],
        ["/usr/bin/git-shell", "git"],
        ["/usr/bin/ssh-keygen", "openssh-client"],
    ]) {
        if (!fs.existsSync(file)) {
            problems.push(`${file} missing (apt-get install ${pkg})`);
        }
    }
    return problems.length ? problems.join("; ") : undefined;
}

/** A test bed for one stack: control plane with the providers, Flux, a Git server, a repository. */
class FluxBed {
    private constructor(
        readonly stack: string,
        readonly cp: ControlPlane,
        readonly flux: FluxControllers,
        readonly git: GitServer,
        readonly repo: Repository,
        readonly scratch: string,
    ) {}

    static async start(stack: string): Promise<FluxBed> {
        const testbed = Testbed.load();
        const cp = await startManagementCluster(testbed, `flux-${stack}`);
        let flux: FluxControllers | undefined;
        let git: GitServer | undefined;
        try {
            flux = await FluxControllers.start(cp, testbed);
            git = await GitServer.start();
            const repo = git.createRepository("fleet", path.join(PROJECT_DIR, "gitops"));
            const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-flux-test-"));
            return new FluxBed(stack, cp, flux, git, repo, scratch);
        } catch (err) {
            await git?.stop();
            await flux?.stop();
            await cp.stop();
            throw err;
        }
    }

    async stop(): Promise<void> {
        await this.git.stop();
        await this.flux.stop();
        await this.cp.stop();
        fs.rmSync(this.scratch, { recursive: true, force: true });
    }

    /** The program's objects for this stack with the server's URL, known_hosts and key. */
    objects(o: { knownHosts?: string; deployKey?: string; sopsAgeKey?: string } = {}): Promise<ProgramObjects> {
        return programObjects(this.stack, {
            url: this.repo.url,
            knownHosts: o.knownHosts ?? this.git.knownHosts,
            deployKey: o.deployKey ?? this.git.deployKey.privateKey,
            sopsAgeKey: o.sopsAgeKey,
            interval: INTERVAL,
        });
    }

    /** Applies the workload namespace and FluxSync's objects as the program defines them. */
    apply(objs: ProgramObjects): void {
        this.cp.applyOk(yamlStream([objs.namespace.object, ...objs.flux.map((f) => f.object)]));
    }

    get(resource: string, name: string, ns = FLUX_NS): KubeObject | undefined {
        return this.cp.get(resource, name, ns);
    }

    until<T>(what: string, probe: () => T | undefined, timeoutMs = STEP_MS): Promise<T> {
        return until(this.cp, [...this.flux.processes, ...this.cp.processes, this.git.process], what, timeoutMs, probe);
    }

    /** Asks Flux to reconcile now, as `flux reconcile` does (annotation, no waiting). */
    requestReconcile(resource: string, name: string): void {
        this.cp.kubectlOk(["annotate", "--overwrite", "-n", FLUX_NS, resource, name, `reconcile.fluxcd.io/requestedAt=${new Date().toISOString()}`]);
    }

    /** Waits until the GitRepository is Ready at `revision` and the root Kustomization applied it. */
    async synced(revision: string): Promise<void> {
        await this.until(`GitRepository at ${revision}`, () => {
            const g = this.get(GIT_REPOSITORY, ROOT);
            return cond(g, "Ready")?.status === "True" && artifactRevision(g) === revision ? true : undefined;
        });
        await this.until(`root Kustomization applied ${revision}`, () => {
            const k = this.get(KUSTOMIZATION, ROOT);
            return cond(k, "Ready")?.status === "True" && k?.status?.lastAppliedRevision === revision ? true : undefined;
        });
    }

    /** The example Cluster (undefined while absent). */
    cluster(ns: string, name = EXAMPLE): KubeObject | undefined {
        return this.cp.get("clusters.cluster.x-k8s.io", name, ns);
    }

    /** Worker replicas the Cluster's topology asks for (md-0). */
    static workerReplicas(cluster: KubeObject | undefined): number | undefined {
        const mds =
            (cluster?.spec?.topology as { workers?: { machineDeployments?: { name: string; replicas?: number }[] } } | undefined)?.workers
                ?.machineDeployments ?? [];
        return mds.find((m) => m.name === "md-0")?.replicas;
    }

    /** The topology controller's MachineDeployment for md-0 of the example. */
    machineDeployment(ns: string): KubeObject | undefined {
        return this.cp
            .list("machinedeployments.cluster.x-k8s.io", {
                namespace: ns,
                selector: `cluster.x-k8s.io/cluster-name=${EXAMPLE},topology.cluster.x-k8s.io/deployment-name=md-0`,
            })
            .at(0);
    }

    /** Brings the whole tree up: children Ready (ORC and CAAPH simulated), the example Cluster applied. */
    async treeUp(ns: string): Promise<void> {
        await this.until("children Ready (ORC's Image and CAAPH's HelmChartProxies stood in for)", () => {
            simulateOrcAndCaaph(this.cp, ns);
            return CHILDREN.every((c) => cond(this.get(KUSTOMIZATION, c), "Ready")?.status === "True") ? true : undefined;
        });
        await this.until(`Cluster ${ns}/${EXAMPLE} applied by ${WORKLOADS}`, () => this.cluster(ns));
    }

    /**
     * Rewrites the example's md-0 replicas in the work tree where the stack sets them: dev takes
     * the base Cluster as it is, prod's overlay replaces the replicas with a patch.
     */
    setWorkerReplicas(from: number, to: number): void {
        const [file, re] =
            this.stack === "prod"
                ? [PROD_OVERLAY, new RegExp(`(path: /spec/topology/workers/machineDeployments/0/replicas\\n\\s+value: )${from}\\b`)]
                : [EXAMPLE_FILE, new RegExp(`(name: md-0\\n\\s+replicas: )${from}\\b`)];
        const text = this.repo.read(file);
        assert.match(text, re, `${file} no longer sets md-0's replicas to ${from} where this test expects it`);
        this.repo.write(file, text.replace(re, `$1${to}`));
    }
}

/**
 * Hooks for a describe whose tests build on each other: after a test fails, its controllers'
 * and Git server's log tails are printed, and the later tests skip, naming the failed one.
 */
function failureChain(bed: () => FluxBed | undefined): { beforeEach: (this: Mocha.Context) => void; afterEach: (this: Mocha.Context) => void } {
    let failed: string | undefined;
    return {
        beforeEach(this: Mocha.Context) {
            if (failed) {
                console.log(`      SKIPPED: builds on "${failed}", which failed`);
                this.skip();
            }
        },
        afterEach(this: Mocha.Context) {
            if (this.currentTest?.state === "failed") {
                failed ??= this.currentTest.title;
                const b = bed();
                if (b) {
                    console.log(`${b.flux.report(30)}\n${b.git.report(10)}`);
                }
            }
        },
    };
}

/** The revision Flux reports for a branch or tag at a commit. */
function rev(ref: string, sha: string): string {
    return `${ref}@sha1:${sha}`;
}

/** Milliseconds since `t0`, as seconds with one decimal, for the measured times in the log. */
function secs(t0: number): string {
    return `${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

describe("Flux against the test bed (integration)", function () {
    this.timeout(0);
    const reason = missingPrerequisites();

    describe("dev stack: follows the branch", function () {
        // Each test builds on the state the previous one left: after a failure the rest skip.
        const chain = failureChain(() => bed);
        beforeEach(chain.beforeEach);
        afterEach(chain.afterEach);
        let bed: FluxBed;
        let ns: string;

        before(async function () {
            if (reason) {
                console.log(`      SKIPPED: ${reason}`);
                this.skip();
            }
            const t0 = Date.now();
            bed = await FluxBed.start("dev");
            console.log(`    test bed with Flux and the Git server up in ${secs(t0)}`);
        });

        after(async function () {
            await bed?.stop();
        });

        it("serves the tree over SSH to OpenSSH's own client with the pinned host key", function () {
            const into = path.join(bed.scratch, "clone");
            bed.git.cloneWithOpenSsh(bed.repo, into);
            assert.ok(fs.existsSync(path.join(into, "clusters", "dev", "kustomization.yaml")));
        });

        it("security: a wrong known_hosts keeps the GitRepository not Ready with a host-key message and applies nothing", async function () {
            const other = newKeyPair(bed.scratch, "not-the-host-key");
            const [type, key] = other.publicKey.split(/\s+/);
            const objs = await bed.objects({ knownHosts: `[127.0.0.1]:${bed.git.port} ${type} ${key}\n` });
            ns = String(objs.namespace.object.metadata.name);
            bed.apply(objs);
            const g = await bed.until("GitRepository failing on the host key", () => {
                const o = bed.get(GIT_REPOSITORY, ROOT);
                const c = cond(o, "Ready");
                return c?.status === "False" && /knownhosts|host key|hostkey/i.test(c.message ?? "") ? o : undefined;
            });
            console.log(`    GitRepository: ${describeReady(g)}`);
            assert.strictEqual(artifactRevision(g), undefined, "no artifact may exist from an unverified host");
            const root = bed.get(KUSTOMIZATION, ROOT);
            assert.notStrictEqual(cond(root, "Ready")?.status, "True", `root Kustomization must not be Ready: ${describeReady(root)}`);
            assert.strictEqual(root?.status?.lastAppliedRevision, undefined);
            for (const c of [...CHILDREN, WORKLOADS]) {
                assert.strictEqual(bed.get(KUSTOMIZATION, c), undefined, `Kustomization ${c} must not exist`);
            }
            assert.deepStrictEqual(bed.cp.list("clusterclasses.cluster.x-k8s.io", { namespace: ns }), []);
        });

        it("security: a deploy key the server does not know fails likewise and applies nothing", async function () {
            const stranger = newKeyPair(bed.scratch, "unknown-deploy-key");
            bed.apply(await bed.objects({ deployKey: stranger.privateKey }));
            bed.requestReconcile(GIT_REPOSITORY, ROOT);
            const g = await bed.until("GitRepository failing to authenticate", () => {
                const o = bed.get(GIT_REPOSITORY, ROOT);
                const c = cond(o, "Ready");
                return c?.status === "False" && /unable to authenticate|no supported methods|permission denied/i.test(c.message ?? "") ? o : undefined;
            });
            console.log(`    GitRepository: ${describeReady(g)}`);
            assert.strictEqual(artifactRevision(g), undefined);
            assert.strictEqual(bed.get(KUSTOMIZATION, "cluster-classes"), undefined);
            assert.deepStrictEqual(bed.cp.list("clusterclasses.cluster.x-k8s.io", { namespace: ns }), []);
        });

        it("the root Kustomization becomes Ready; the children apply in dependsOn order; the topology controller expands the example", async function () {
            const t0 = Date.now();
            const objs = await bed.objects();
            // The program's objects as rendered for dev: branch, pruning, settings substituted.
            const source = objectOf(objs.flux, "GitRepository");
            const sync = objectOf(objs.flux, "Kustomization");
            assert.deepStrictEqual((source.spec as { ref: unknown }).ref, { branch: "main" });
            assert.strictEqual((sync.spec as { prune: boolean }).prune, true);
            bed.apply(objs);
            bed.requestReconcile(GIT_REPOSITORY, ROOT);
            const head = bed.repo.head();
            await bed.synced(rev("main", head));
            console.log(`    GitRepository and root Kustomization Ready at main@${head.slice(0, 8)} in ${secs(t0)}`);
            const root = bed.get(KUSTOMIZATION, ROOT)!;
            for (const c of [...CHILDREN, WORKLOADS]) {
                assert.ok(
                    inventory(root).includes(`${FLUX_NS}_${c}_kustomize.toolkit.fluxcd.io_Kustomization`),
                    `root inventory lacks ${c}: ${inventory(root).join(", ")}`,
                );
            }

            // The class comes first and is judged by Cluster API itself (VariablesReady).
            await bed.until("cluster-classes Ready (ClusterClass VariablesReady from Cluster API)", () =>
                cond(bed.get(KUSTOMIZATION, "cluster-classes"), "Ready")?.status === "True" ? true : undefined,
            );
            const cc = bed.cp.get("clusterclasses.cluster.x-k8s.io", "openstack-kubeadm", ns);
            assert.strictEqual(cond(cc, "VariablesReady")?.status, "True");

            // node-images waits for ORC: until the Image is Available, workload-clusters must hold back.
            await bed.until("node image applied by node-images", () =>
                bed.cp.list("images.openstack.k-orc.cloud", { namespace: ns }).length > 0 ? true : undefined,
            );
            const held = await bed.until(`${WORKLOADS} held back by node-images or addons`, () => {
                const k = bed.get(KUSTOMIZATION, WORKLOADS);
                const c = cond(k, "Ready");
                return c?.reason === "DependencyNotReady" && /node-images|addons/.test(c.message ?? "") ? k : undefined;
            });
            console.log(`    ${WORKLOADS} while node-images waits for ORC's Image: ${describeReady(held)}`);
            assert.notStrictEqual(cond(bed.get(KUSTOMIZATION, "node-images"), "Ready")?.status, "True");
            assert.strictEqual(bed.cluster(ns), undefined, "the Cluster must not be applied before its dependencies are Ready");

            await bed.treeUp(ns);
            const cluster = bed.cluster(ns)!;
            const created = Date.parse(stamp(cluster, "creationTimestamp")!);
            for (const c of CHILDREN) {
                const readyAt = Date.parse(cond(bed.get(KUSTOMIZATION, c), "Ready")!.lastTransitionTime!);
                // Kubernetes timestamps have one-second resolution.
                assert.ok(created >= readyAt - 999, `Cluster created at ${stamp(cluster, "creationTimestamp")}, before ${c} was Ready`);
            }
            assert.strictEqual(cluster.metadata.labels?.["kustomize.toolkit.fluxcd.io/name"], WORKLOADS);
            console.log(`    example Cluster applied ${secs(t0)} after the objects`);

            // Cluster API's topology controller expands it, with the settings Flux substituted.
            const md = await bed.until("MachineDeployment md-0 from the topology controller", () => bed.machineDeployment(ns));
            assert.strictEqual((md.spec as { replicas: number }).replicas, 1);
            const kcp = await bed.until("KubeadmControlPlane from the topology controller", () =>
                bed.cp
                    .list("kubeadmcontrolplanes.controlplane.cluster.x-k8s.io", { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${EXAMPLE}` })
                    .at(0),
            );
            assert.strictEqual((kcp.spec as { replicas: number }).replicas, 1);
            const osc = await bed.until("OpenStackCluster from the topology controller", () =>
                bed.cp.list("openstackclusters.infrastructure.cluster.x-k8s.io", { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${EXAMPLE}` }).at(0),
            );
            const egress = String((bed.cp.get("configmaps", "capi-mgmt-settings", FLUX_NS)!.data as Record<string, string>).MANAGEMENT_EGRESS_CIDR);
            assert.ok(JSON.stringify(osc.spec).includes(`"${egress}"`), `OpenStackCluster does not admit ${egress}: ${JSON.stringify(osc.spec)}`);
            console.log(`    topology expanded (KubeadmControlPlane, MachineDeployment, OpenStackCluster with ${egress}) ${secs(t0)} after the objects`);
        });

        it("a new commit changing the worker replicas is applied within the bound", async function () {
            const t0 = Date.now();
            bed.setWorkerReplicas(1, 2);
            const sha = bed.repo.commit("workload-1: two workers");
            await bed.until(
                `GitRepository at the new commit`,
                () => (artifactRevision(bed.get(GIT_REPOSITORY, ROOT)) === rev("main", sha) ? true : undefined),
                COMMIT_APPLIED_MS,
            );
            await bed.until("Cluster with 2 workers", () => (FluxBed.workerReplicas(bed.cluster(ns)) === 2 ? true : undefined), COMMIT_APPLIED_MS);
            await bed.until(
                "MachineDeployment with 2 replicas",
                () => ((bed.machineDeployment(ns)?.spec as { replicas?: number } | undefined)?.replicas === 2 ? true : undefined),
                COMMIT_APPLIED_MS,
            );
            const k = bed.get(KUSTOMIZATION, WORKLOADS)!;
            assert.strictEqual(k.status?.lastAttemptedRevision, rev("main", sha));
            console.log(`    commit → Cluster → MachineDeployment in ${secs(t0)}`);
        });

        it("prune: removing a file from the tree removes its objects", async function () {
            const file = "workloads/dev/team-config.yaml";
            bed.repo.write(file, ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: team-config", "data:", "  owner: platform", ""].join("\n"));
            const kfile = "workloads/dev/kustomization.yaml";
            const kust = bed.repo.read(kfile);
            bed.repo.write(kfile, kust.replace(/resources:\n/, `resources:\n  - team-config.yaml\n`));
            const added = bed.repo.commit("dev: team-config");
            await bed.until("ConfigMap team-config applied", () => bed.cp.get("configmaps", "team-config", ns));
            assert.ok(inventory(bed.get(KUSTOMIZATION, WORKLOADS)).includes(`${ns}_team-config__ConfigMap`));
            bed.repo.remove(file);
            bed.repo.write(kfile, kust);
            const removed = bed.repo.commit("dev: drop team-config");
            assert.notStrictEqual(added, removed);
            await bed.until(
                "ConfigMap team-config pruned",
                () => (bed.cp.get("configmaps", "team-config", ns) === undefined ? true : undefined),
                COMMIT_APPLIED_MS,
            );
            assert.ok(!inventory(bed.get(KUSTOMIZATION, WORKLOADS)).includes(`${ns}_team-config__ConfigMap`));
            assert.ok(bed.cluster(ns), "the example Cluster stays");
        });

        it("prune: removing the example Cluster from Git deletes the Cluster object", async function () {
            const t0 = Date.now();
            const base = "workloads/base/kustomization.yaml";
            const kust = bed.repo.read(base);
            const example = bed.repo.read(EXAMPLE_FILE);
            assert.match(kust, /resources:\n\s+- workload-1\.yaml\n/);
            bed.repo.write(base, kust.replace(/resources:\n\s+- workload-1\.yaml\n/, "resources: []\n"));
            bed.repo.remove(EXAMPLE_FILE);
            bed.repo.commit("remove workload-1");
            await bed.until("Cluster workload-1 deleted (Flux prunes, Cluster API deletes)", () => (bed.cluster(ns) === undefined ? true : undefined), STEP_MS);
            console.log(`    Cluster deleted ${secs(t0)} after the commit`);
            assert.deepStrictEqual(
                bed.cp.list("machinedeployments.cluster.x-k8s.io", { namespace: ns }).map((o) => o.metadata.name),
                [],
            );
            // Put it back for the next test.
            bed.repo.write(base, kust);
            bed.repo.write(EXAMPLE_FILE, example);
            bed.repo.commit("restore workload-1");
            await bed.until("Cluster workload-1 back", () => bed.cluster(ns), STEP_MS);
        });

        /** Deletes FluxSync's objects dependents first, each waited for, as Pulumi does; returns what it deleted. */
        const deleteFluxObjects = (objs: ProgramObjects, which: (o: ProgramObjects["flux"][number]) => boolean): string[] => {
            const deleted: string[] = [];
            for (const o of [...objs.flux].reverse().filter(which)) {
                const { kind, metadata } = o.object;
                const resource = RESOURCES[kind];
                assert.ok(resource, `the program now creates a ${kind} in FluxSync: add it to RESOURCES`);
                bed.cp.kubectlOk([
                    "delete",
                    resource,
                    metadata.name,
                    "-n",
                    metadata.namespace ?? FLUX_NS,
                    "--ignore-not-found",
                    "--wait=true",
                    "--timeout=120s",
                ]);
                deleted.push(`${kind}/${metadata.name}`);
            }
            return deleted;
        };

        /** Waits until Flux has acted on the deletions, then requires every Cluster of `before` untouched. */
        const clustersStay = async (before: string[], deleted: string[]): Promise<void> => {
            // A root Kustomization's finalizer runs before `kubectl delete --wait` returns; what
            // it pruned is then being deleted. Wait until no Kustomization is mid-deletion.
            await bed.until("Flux done with the deletions", () =>
                bed.cp.list(KUSTOMIZATION, { namespace: FLUX_NS }).every((k) => !stamp(k, "deletionTimestamp")) ? true : undefined,
            );
            const after = bed.cp.list("clusters.cluster.x-k8s.io", { namespace: ns });
            const deleting = after.filter((c) => stamp(c, "deletionTimestamp")).map((c) => c.metadata.name);
            const gone = before.filter((n) => !after.some((c) => c.metadata.name === n));
            assert.deepStrictEqual(
                { gone, deleting },
                { gone: [], deleting: [] },
                `Clusters deleted or being deleted after deleting ${deleted.join(", ") || "nothing"} (the lifecycle-safety issue's defect 3)`,
            );
        };

        it("turning gitops off: what Pulumi deletes of the program's Flux objects (dependents first, not retainOnDelete) leaves every Cluster in place", async function () {
            const objs = await bed.objects();
            const before = bed.cp.list("clusters.cluster.x-k8s.io", { namespace: ns }).map((c) => c.metadata.name);
            assert.ok(before.length > 0, "a Cluster must exist to show it stays");
            const deleted = deleteFluxObjects(objs, (o) => !o.retainOnDelete);
            const retained = objs.flux.filter((o) => o.retainOnDelete).map((o) => `${o.object.kind}/${o.object.metadata.name}`);
            console.log(`    Pulumi deletes: ${deleted.join(", ") || "nothing"}; retains: ${retained.join(", ") || "nothing"}`);
            await clustersStay(before, deleted);
        });

        it("turning gitops off: even the program's Flux objects all deleted by hand leave every Cluster in place", async function () {
            const objs = await bed.objects();
            const before = bed.cp.list("clusters.cluster.x-k8s.io", { namespace: ns }).map((c) => c.metadata.name);
            assert.ok(before.length > 0, "a Cluster must exist to show it stays");
            const root = objectOf(objs.flux, "Kustomization");
            console.log(`    root Kustomization deletionPolicy: ${(root.spec as { deletionPolicy?: string }).deletionPolicy ?? "(default: MirrorPrune)"}`);
            await clustersStay(
                before,
                deleteFluxObjects(objs, () => true),
            );
        });
    });

    describe("prod stack: follows semver tags, decrypts SOPS", function () {
        // Each test builds on the state the previous one left: after a failure the rest skip.
        const chain = failureChain(() => bed);
        beforeEach(chain.beforeEach);
        afterEach(chain.afterEach);
        let bed: FluxBed;
        let ns: string;
        let tagged: Record<string, string>;

        before(async function () {
            if (reason) {
                console.log(`      SKIPPED: ${reason}`);
                this.skip();
            }
            const t0 = Date.now();
            bed = await FluxBed.start("prod");
            console.log(`    test bed with Flux and the Git server up in ${secs(t0)}`);
            // The encrypted Secret joins what prod's root Kustomization applies, then the tags.
            bed.repo.write("clusters/prod/sops-secret.enc.yaml", fs.readFileSync(path.join(SOPS_DIR, "secret.enc.yaml"), "utf8"));
            const kfile = "clusters/prod/kustomization.yaml";
            bed.repo.write(kfile, bed.repo.read(kfile).replace(/resources:\n/, "resources:\n  - sops-secret.enc.yaml\n"));
            bed.repo.commit("prod: a SOPS-encrypted Secret");
            tagged = { "v1.0.0": bed.repo.tag("v1.0.0") };
            bed.setWorkerReplicas(3, 4);
            bed.repo.commit("workload-1: four workers");
            tagged["v1.1.0"] = bed.repo.tag("v1.1.0");
            bed.setWorkerReplicas(4, 5);
            tagged.untagged = bed.repo.commit("workload-1: five workers, not released yet");
        });

        after(async function () {
            await bed?.stop();
        });

        it("SOPS: with an age key that is not the recipient's, the root Kustomization reports the decryption error and applies nothing", async function () {
            const objs = await bed.objects({ sopsAgeKey: fs.readFileSync(path.join(SOPS_DIR, "other.agekey"), "utf8") });
            ns = String(objs.namespace.object.metadata.name);
            const sync = objectOf(objs.flux, "Kustomization");
            assert.deepStrictEqual((sync.spec as { decryption?: unknown }).decryption, { provider: "sops", secretRef: { name: "sops-age" } });
            bed.apply(objs);
            const k = await bed.until("root Kustomization failing to decrypt", () => {
                const o = bed.get(KUSTOMIZATION, ROOT);
                const c = cond(o, "Ready");
                return c?.status === "False" && /decrypt/i.test(c.message ?? "") ? o : undefined;
            });
            console.log(`    root Kustomization: ${describeReady(k)}`);
            assert.strictEqual(k.status?.lastAppliedRevision, undefined);
            assert.strictEqual(bed.get("secrets", "sops-test"), undefined);
            assert.strictEqual(bed.get(KUSTOMIZATION, "cluster-classes"), undefined);
        });

        it("SOPS: with the program's sops-age Secret holding the key, the Secret is applied decrypted", async function () {
            const objs = await bed.objects({ sopsAgeKey: fs.readFileSync(path.join(SOPS_DIR, "test.agekey"), "utf8") });
            bed.apply(objs);
            bed.requestReconcile(KUSTOMIZATION, ROOT);
            await bed.synced(rev("v1.1.0", tagged["v1.1.0"]));
            const s = bed.get("secrets", "sops-test")!;
            assert.ok(s, "the decrypted Secret exists");
            assert.strictEqual(Buffer.from((s.data as Record<string, string>).token, "base64").toString("utf8"), "decrypted-by-flux");
            assert.ok(!JSON.stringify(s).includes("ENC["), "no SOPS ciphertext reaches the cluster");
        });

        it("with tags v1.0.0 and v1.1.0 and a later untagged commit, the GitRepository checks out v1.1.0", async function () {
            const g = bed.get(GIT_REPOSITORY, ROOT)!;
            assert.deepStrictEqual((g.spec as { ref: unknown }).ref, { semver: ">=1.0.0" });
            assert.strictEqual(artifactRevision(g), rev("v1.1.0", tagged["v1.1.0"]));
            await bed.treeUp(ns);
            assert.strictEqual(FluxBed.workerReplicas(bed.cluster(ns)), 4, "v1.1.0's replicas, not v1.0.0's (3) or the untagged commit's (5)");
            // prod's overlay (three control plane nodes) is what the topology controller expands.
            const kcp = await bed.until("KubeadmControlPlane from the topology controller", () =>
                bed.cp
                    .list("kubeadmcontrolplanes.controlplane.cluster.x-k8s.io", { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${EXAMPLE}` })
                    .at(0),
            );
            assert.strictEqual((kcp.spec as { replicas: number }).replicas, 3);
        });

        it("tagging v1.2.0 moves it, and the change reaches the Cluster and its MachineDeployment", async function () {
            const t0 = Date.now();
            const sha = bed.repo.tag("v1.2.0");
            assert.strictEqual(sha, tagged.untagged);
            await bed.synced(rev("v1.2.0", sha));
            await bed.until("Cluster with 5 workers", () => (FluxBed.workerReplicas(bed.cluster(ns)) === 5 ? true : undefined), COMMIT_APPLIED_MS);
            await bed.until(
                "MachineDeployment with 5 replicas",
                () => ((bed.machineDeployment(ns)?.spec as { replicas?: number } | undefined)?.replicas === 5 ? true : undefined),
                COMMIT_APPLIED_MS,
            );
            console.log(`    tag → GitRepository → Cluster → MachineDeployment in ${secs(t0)}`);
        });
    });
});
