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
import { artifactRevision, cond, describeReady, GIT_REPOSITORY, KUSTOMIZATION, objectOf } from "./fluxObjects";
import { COMMIT_APPLIED_MS, SOPS_DIR, ROOT, EXAMPLE, missingPrerequisites, FluxBed, failureChain, rev, secs } from "./fluxBed";

describe("Flux against the test bed (integration)", function () {
    this.timeout(0);
    const reason = missingPrerequisites();

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
