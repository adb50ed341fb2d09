/**
 * The restore half of backup.integration.ts (registered in its describe, after the backup tests,
 * on its API server A and the backup they left): restore.sh into a fresh API server B, B's
 * controllers taking the Clusters over, and the restore's refusals.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE } from "../../src/shared/contract";
import { renderRestoreScript } from "../../src/backup/restore";
import { HostRun, inventory, labelOrcCrds, labelProviderCrds, R, TwoServerSuite } from "./backupBed";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { at, clone, conditionTrue, yamlStream } from "./harness/objects";
import { waitFor } from "./harness/processes";
import { patchStatus } from "./harness/simulated";
import { RenderedStack } from "./harness/stack";
import { Testbed } from "./harness/testbed";

/** The backup suite's state and helpers as the restore tests see them. */
export interface BackupSuite extends TwoServerSuite {
    /** API server B (fails before the restore test started it). */
    B: () => ControlPlane;
    /** Starts API server B. */
    startB: () => Promise<void>;
    testbed: () => Testbed;
    rendered: () => RenderedStack;
    workDir: () => string;
    backupDir: () => string;
    programObjects: () => KubeObject[];
    runHost: (text: string, cp: ControlPlane, args?: string[]) => HostRun;
    latestObjects: () => string[];
    readObject: (file: string) => KubeObject;
    applyTree: (cp: ControlPlane, skip?: string[]) => Promise<void>;
}

/** Registers the restore tests in the backup suite's describe. */
export function restoreTests(s: BackupSuite): void {
    const { A, B, ns, poll, clusters, programObjects, runHost, latestObjects, readObject, applyTree } = s;
    it("restores into a fresh API server with the providers (B): the same objects, B's own identity and credentials untouched, the Clusters running on B", async function () {
        this.timeout(20 * 60_000);
        await s.startB();
        labelProviderCrds(B());
        labelOrcCrds(B());
        const providerCrd = A().get("crd", "providers.clusterctl.cluster.x-k8s.io") as KubeObject;
        B().applyOk(
            toYaml({
                apiVersion: providerCrd.apiVersion,
                kind: providerCrd.kind,
                metadata: { name: providerCrd.metadata.name, labels: providerCrd.metadata.labels },
                spec: providerCrd.spec,
            }),
        );
        B().kubectlOk(["wait", "--for=condition=Established", "--timeout=60s", "crd/providers.clusterctl.cluster.x-k8s.io"]);
        B().applyOk(inventory(s.testbed()));
        // The new server as `pulumi up` leaves it: the program's objects (B's own credential), Flux's
        // tree without the Clusters (the restore procedure keeps them out of the Git path until it is done).
        const own = programObjects().map((d) =>
            d.kind === "Secret" && d.metadata.name === CAPO_CREDENTIALS_SECRET ? { ...d, stringData: { "clouds.yaml": "b-credential" } } : d,
        );
        B().applyOk(yamlStream(own));
        B().applyOk(yamlStream(s.rendered().root.docs), { fieldManager: "kustomize-controller" });
        await applyTree(B(), ["workload-clusters"]);
        const identityBefore = B().get(R.Identity, "openstack");
        const secretBefore = B().get("secrets", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE);

        // The old management server is lost: A's controllers stop. A's API server stays up as the
        // workload cluster's API (the Clusters' kubeconfig Secrets point at it).
        for (const p of A().processes.filter((x) => !["etcd", "kube-apiserver"].includes(x.spec.name))) {
            await p.stop();
        }
        const tgz = spawnSync("tar", ["-C", fs.realpathSync(path.join(s.backupDir(), "latest")), "-cz", "objects", "backup.env"]);
        assert.strictEqual(tgz.status, 0, String(tgz.stderr));
        const r = runHost(renderRestoreScript({ namespace: ns, maxAgeHours: 24, force: false, upload: tgz.stdout.toString("base64") }), B());
        assert.strictEqual(r.status, 0, r.stderr);
        const files = latestObjects();
        assert.match(
            r.stdout,
            new RegExp(
                `^restore: restored ${files.length} objects of namespace ${ns}, ${clusters().length} Cluster\\(s\\): ${clusters()
                    .map((c) => c.metadata.name)
                    .join(" ")}, from the backup taken at `,
            ),
        );
        assert.doesNotMatch(r.stdout + r.stderr, /testbed-secret|BEGIN (RSA |EC )?PRIVATE KEY|b-credential/, "the restore prints no secret");

        const problems: string[] = [];
        for (const f of files) {
            const saved = readObject(f);
            const resource = saved.apiVersion.includes("/") ? `${saved.kind}.${saved.apiVersion.split("/").reverse().join(".")}` : saved.kind;
            const onB = B().get(resource, saved.metadata.name, saved.metadata.namespace);
            if (!onB) {
                problems.push(`${f}: not on B`);
                continue;
            }
            const body = (o: KubeObject | undefined) => {
                const c = clone(o ?? {}) as Record<string, unknown> & { spec?: Record<string, unknown> };
                if (c.spec) {
                    delete c.spec.paused;
                }
                // What a binding records as applied is its controller's to rewrite: B's ClusterResourceSet
                // controller resets it and applies again once it reaches the cluster (checked below).
                if (o?.kind === "ClusterResourceSetBinding" && c.spec) {
                    c.spec.bindings = ((c.spec.bindings as { clusterResourceSetName: string }[] | undefined) ?? []).map((x) => x.clusterResourceSetName);
                }
                return {
                    spec: c.spec,
                    data: c.data,
                    labels: o?.metadata.labels ?? {},
                    owners: (o?.metadata.ownerReferences ?? []).map((x) => `${x.kind}/${x.name}`).sort(),
                };
            };
            try {
                assert.deepStrictEqual(body(onB), body(saved));
            } catch (e) {
                problems.push(`${f}: B differs from the backup: ${(e as Error).message.slice(0, 600)}`);
            }
        }
        assert.deepStrictEqual(problems, []);
        for (const cl of clusters()) {
            assert.notStrictEqual(at(B().get(R.Cluster, cl.metadata.name, ns), "spec.paused"), true, "the restore resumes the Clusters");
        }
        assert.deepStrictEqual(B().get(R.Identity, "openstack")?.spec, identityBefore?.spec, "B's identity is B's own");
        assert.deepStrictEqual(B().get("secrets", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE)?.data, secretBefore?.data, "B's credential is B's own");
    });

    it("B's Cluster API takes the Clusters over (A's controllers are gone: nothing reconciled twice), and Flux's apply of them from Git adopts the restored objects (same UID, no second copy)", async function () {
        for (const cl of clusters()) {
            const name = cl.metadata.name;
            const restored = B().get(R.Cluster, name, ns) as KubeObject;
            // Statuses are not restored; each provider rebuilds its own from what exists. KCP and
            // CAPO do not reconcile on the test bed, so their findings are reported as A's were:
            // the control plane runs (KCP), the cluster's infrastructure exists (CAPO).
            patchStatus(B(), R.KubeadmControlPlane, at(restored, "spec.controlPlaneRef.name") as string, ns, {
                version: at(cl, "spec.topology.version"),
                initialization: { controlPlaneInitialized: true },
            });
            patchStatus(B(), R.OpenStackCluster, at(restored, "spec.infrastructureRef.name") as string, ns, { ready: true });
            await waitFor(
                `B's Cluster API sees ${name}'s control plane initialized`,
                () => (conditionTrue(B().get(R.Cluster, name, ns), "ControlPlaneInitialized") ? true : undefined),
                poll(B()),
            );
            // B's Cluster controller reconciles the restored Cluster (its status starts empty on B).
            await waitFor(
                `B's Cluster API reconciles ${name}`,
                () => {
                    const got = B().get(R.Cluster, name, ns);
                    return (at(got, "status.conditions") as unknown[] | undefined)?.length ? true : undefined;
                },
                poll(B()),
            );
            // B's Machine controller reaches the workload cluster (the restored kubeconfig Secret) and finds each Machine's Node.
            for (const m of B().list(R.Machine, { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${name}` })) {
                await waitFor(
                    `B's Cluster API finds the Node of Machine ${m.metadata.name}`,
                    () => (at(B().get(R.Machine, m.metadata.name, ns), "status.nodeRef.name") ? true : undefined),
                    poll(B()),
                );
            }
            // B's ClusterResourceSet applies its Secret to the existing workload cluster again (strategy Reconcile).
            await waitFor(
                `B's ClusterResourceSetBinding of ${name} applied`,
                () => {
                    const b = B().get(R.ClusterResourceSetBinding, name, ns);
                    const resources = ((at(b, "spec.bindings") as { resources?: { applied: boolean }[] }[] | undefined) ?? []).flatMap(
                        (x) => x.resources ?? [],
                    );
                    return resources.length > 0 && resources.every((x) => x.applied) ? true : undefined;
                },
                poll(B()),
            );
            const mdsBefore = B()
                .list(R.MachineDeployment, { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${name}` })
                .map((m) => m.metadata.name)
                .sort();
            const k = s.rendered().kustomizations.find((x) => x.kustomization.metadata.name === "workload-clusters");
            assert.ok(k, "the tree has a workload-clusters Kustomization");
            for (const d of k.docs) {
                const r = B().apply(toYaml(d), { fieldManager: "kustomize-controller" });
                assert.strictEqual(r.status, 0, `${d.kind} ${d.metadata.name} refused on B after the restore:\n${r.stderr}`);
            }
            const adopted = B().get(R.Cluster, name, ns) as KubeObject;
            assert.strictEqual((adopted.metadata as { uid?: string }).uid, (restored.metadata as { uid?: string }).uid, "Flux's apply re-created the Cluster");
            assert.strictEqual(adopted.metadata.generation, restored.metadata.generation, "Flux's apply changed the restored Cluster's spec");
            const mdsAfter = B()
                .list(R.MachineDeployment, { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${name}` })
                .map((m) => m.metadata.name)
                .sort();
            assert.deepStrictEqual(mdsAfter, mdsBefore, "no second MachineDeployment");
        }
    });

    it("refuses to restore over existing Clusters, and a backup older than the maximum age unless forced", function () {
        const tgz = (edit?: (env: string) => string) => {
            const dir = fs.mkdtempSync(path.join(s.workDir(), "old-"));
            fs.cpSync(fs.realpathSync(path.join(s.backupDir(), "latest")), dir, { recursive: true });
            if (edit) {
                fs.writeFileSync(path.join(dir, "backup.env"), edit(fs.readFileSync(path.join(dir, "backup.env"), "utf8")));
            }
            return spawnSync("tar", ["-C", dir, "-cz", "objects", "backup.env"]).stdout.toString("base64");
        };
        const existing = runHost(renderRestoreScript({ namespace: ns, maxAgeHours: 24, force: false, upload: tgz() }), B());
        assert.strictEqual(existing.status, 1, existing.stderr);
        assert.match(existing.stderr, new RegExp(`restore: the management cluster already has Clusters in namespace ${ns}: ${clusters()[0].metadata.name}`));
        const old = tgz((env) => env.replace(/^epoch=(\d+)$/m, (_m, e: string) => `epoch=${Number(e) - 3 * 3600}`));
        const refused = runHost(renderRestoreScript({ namespace: ns, maxAgeHours: 2, force: false, upload: old }), B());
        assert.strictEqual(refused.status, 1);
        assert.match(refused.stderr, /restore: the uploaded backup was taken at \S+ \(scheduled\), 3h0\dm ago: older than the maximum age of 2h00m\./);
        const forced = runHost(renderRestoreScript({ namespace: ns, maxAgeHours: 2, force: true, upload: old }), B());
        assert.match(forced.stderr, /WARNING: restoring a backup 3h0\dm old .*forced/);
        assert.match(forced.stderr, /already has Clusters/, "forced past the age, the Clusters check still holds");
    });
}
