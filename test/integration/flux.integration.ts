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
import * as path from "path";
import { artifactRevision, cond, describeReady, GIT_REPOSITORY, inventory, KUSTOMIZATION, objectOf, ProgramObjects } from "./fluxObjects";
import { newKeyPair } from "./gitServer";
import {
    STEP_MS,
    COMMIT_APPLIED_MS,
    FLUX_NS,
    ROOT,
    CHILDREN,
    WORKLOADS,
    EXAMPLE,
    EXAMPLE_FILE,
    RESOURCES,
    stamp,
    missingPrerequisites,
    FluxBed,
    failureChain,
    rev,
    secs,
} from "./fluxBed";

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
});
