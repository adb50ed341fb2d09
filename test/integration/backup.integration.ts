/**
 * Backup and restore on the test bed: the dev stack's objects on a real API server with the real
 * Cluster API, CAPO and CAAPH managers (A), src/host/scripts/backup.sh running the real clusterctl v1.14
 * (`move --to-directory`), and src/host/scripts/restore.sh running it (`move --from-directory`) into a
 * fresh second API server with the providers installed (B). See docs/operations.md, "Backup and
 * restore".
 *
 * Simulated, and said where: no machine boots (the control plane's and the Machines' progress is
 * reported by patching their status, as KCP, CAPO and the Machine controller would); what
 * `clusterctl init` does on the server besides the CRDs (the clusterctl label on the providers'
 * CRDs, the provider inventory) is done here with kubectl; ORC's CRDs are labelled with the
 * command src/host/scripts/orc.sh runs (test/clusterScripts.spec.ts checks the script runs it).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { credentialSecrets, renderBackupScript } from "../../src/backup/backup";
import { cloudConfigResourceData } from "../../src/cluster/clusterObjects";
import { renderCloudConf } from "../../src/cluster/cloudCredentials";
import { CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE } from "../../src/shared/contract";
import { renderRestoreScript } from "../../src/backup/restore";
import { bootMachines, CONTROLLER_TIMEOUT_MS, HostRun, inventory, labelOrcCrds, labelProviderCrds, NOT_CLUSTER_API, provisionCluster, R } from "./backupBed";
import { ControlPlane, KubeObject, parseDocs } from "./harness/controlPlane";
import { requiredComponents, startManagementCluster } from "./harness/managementCluster";
import { at, clone, conditionTrue, yamlStream } from "./harness/objects";
import { waitFor } from "./harness/processes";
import { RenderedStack, renderStack } from "./harness/stack";
import { Testbed } from "./harness/testbed";

describe("test bed: backup (clusterctl move --to-directory) and restore (--from-directory) of the dev stack with the real clusterctl", function () {
    this.timeout(CONTROLLER_TIMEOUT_MS + 120_000);
    let a: ControlPlane | undefined;
    let b: ControlPlane | undefined;
    let testbed: Testbed;
    let rendered: RenderedStack;
    let workDir: string;
    let backupDir: string;
    let bin: string;
    let home: string;
    const ns = "clusters";

    const A = () => {
        assert.ok(a, "API server A not started");
        return a;
    };
    const B = () => {
        assert.ok(b, "API server B not started (see the restore test)");
        return b;
    };
    const poll = (cp: ControlPlane) => ({ timeoutMs: CONTROLLER_TIMEOUT_MS, intervalMs: 2000, watched: cp.processes });
    const allDocs = () => [...rendered.manifests.flatMap((m) => m.docs), ...rendered.kustomizations.flatMap((k) => k.docs)];
    const clusters = () => rendered.kustomizations.flatMap((k) => k.docs).filter((d) => d.kind === "Cluster");
    /** The rendered manifests as the program creates them, the resource set's Secret filled as the program fills it. */
    const programObjects = () =>
        rendered.manifests
            .flatMap((m) => m.docs)
            .map((d) => {
                const crsSecret = d.kind === "Secret" && (d as { type?: string }).type === "addons.cluster.x-k8s.io/resource-set";
                return crsSecret
                    ? {
                          ...d,
                          stringData: cloudConfigResourceData(
                              renderCloudConf({ authUrl: "https://keystone.example:5000/v3", id: "testbed-id", secret: "testbed-secret" }),
                          ),
                      }
                    : d;
            });

    /** Runs a rendered host script under bash with the real kubectl and clusterctl against `cp`, its paths moved into the test's directory. */
    function runHost(text: string, cp: ControlPlane, args: string[] = []): HostRun {
        const file = path.join(workDir, `host-${Date.now()}.sh`);
        fs.writeFileSync(
            file,
            text
                .replace(/^readonly BACKUP_DIR=.*$/m, `readonly BACKUP_DIR='${backupDir}'`)
                .replace(/^readonly MGMT_KUBECONFIG=.*$/m, `readonly MGMT_KUBECONFIG='${cp.kubeconfig}'`),
            { mode: 0o700 },
        );
        const r = spawnSync("bash", [file, ...args], {
            encoding: "utf8",
            env: { PATH: `${bin}:${process.env.PATH}`, HOME: home },
            timeout: 300_000,
        });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr + (r.error ? String(r.error) : "") };
    }
    const backup = (cp: ControlPlane) => runHost(renderBackupScript({ namespace: ns, keep: 5 }), cp);
    const latestObjects = () => fs.readdirSync(path.join(backupDir, "latest", "objects")).sort();
    const readObject = (file: string) => parseDocs(fs.readFileSync(path.join(backupDir, "latest", "objects", file), "utf8"))[0];

    /** Applies the GitOps tree's Kustomizations (all but `skip`) as Flux would, waiting for each ClusterClass. */
    async function applyTree(cp: ControlPlane, skip: string[] = []): Promise<void> {
        for (const k of rendered.kustomizations.filter((x) => !skip.includes(x.kustomization.metadata.name))) {
            for (const d of k.docs) {
                const r = cp.apply(toYaml(d), { fieldManager: "kustomize-controller" });
                assert.strictEqual(r.status, 0, `${k.file}: ${d.kind} ${d.metadata.name} refused:\n${r.stderr}`);
            }
            for (const cc of k.docs.filter((d) => d.kind === "ClusterClass")) {
                await waitFor(
                    `ClusterClass ${cc.metadata.name} VariablesReady`,
                    () => {
                        return conditionTrue(cp.get(R.ClusterClass, cc.metadata.name, cc.metadata.namespace), "VariablesReady") ? true : undefined;
                    },
                    poll(cp),
                );
            }
        }
    }

    before(async function () {
        this.timeout(20 * 60_000);
        testbed = Testbed.load();
        const missing = testbed.missing([...requiredComponents(), "clusterctl"]);
        if (missing) {
            console.log(`      SKIPPED (backup and restore): test bed incomplete: ${missing}`);
            this.skip();
        }
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-it-backup-"));
        backupDir = path.join(workDir, "backups");
        bin = path.join(workDir, "bin");
        home = path.join(workDir, "home");
        fs.mkdirSync(bin);
        fs.mkdirSync(home);
        fs.symlinkSync(testbed.path("clusterctl"), path.join(bin, "clusterctl"));
        rendered = renderStack("dev", path.join(workDir, "render"));
        a = await startManagementCluster(testbed, "backup-a");
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

    it("A: the program's objects and the GitOps tree, each Cluster expanded, provisioned (simulated) and given its ClusterResourceSet", async function () {
        const r = A().apply(yamlStream(programObjects()));
        assert.strictEqual(r.status, 0, r.stderr);
        A().applyOk(yamlStream(rendered.root.docs), { fieldManager: "kustomize-controller" });
        await applyTree(A());
        for (const cl of clusters()) {
            await provisionCluster(A(), cl, ns, poll(A()));
        }
    });

    it("refuses while a Machine has no node yet (a rollout or scale-up under way), with the script's message; then the Machines get their nodes", async function () {
        labelProviderCrds(A());
        const r = backup(A());
        assert.notStrictEqual(r.status, 0, `backup passed with Machines without nodes:\n${r.stderr}`);
        assert.match(
            r.stderr,
            /backup: FAILED: a Cluster or Machine is still being created \(a cluster being built, or a rollout or scale-up under way: a Machine without its node yet\): Machine clusters\/\S+ has no node yet[.;]/,
        );
        assert.match(fs.readFileSync(path.join(backupDir, "FAILED"), "utf8"), /message=a Cluster or Machine is still being created/);
        assert.ok(!fs.existsSync(path.join(backupDir, "latest")), "a refused backup is no backup");
        await bootMachines(A(), ns, poll(A()));
    });

    it("refuses a paused Cluster with the script's message, and pauses or changes nothing", function () {
        const name = clusters()[0].metadata.name;
        A().kubectlOk(["patch", R.Cluster, name, "-n", ns, "--type=merge", "-p", '{"spec":{"paused":true}}']);
        const r = backup(A());
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, new RegExp(`backup: FAILED: Cluster\\(s\\) paused: ${ns}/${name}\\. clusterctl does not back up a paused Cluster`));
        A().kubectlOk(["patch", R.Cluster, name, "-n", ns, "--type=merge", "-p", '{"spec":{"paused":false}}']);
    });

    it("leaves ORC's Images and ServerGroups out while ORC's CRDs lack the clusterctl label (ORC's release manifest has none), and takes them once labelled as src/host/scripts/orc.sh does", function () {
        const r = backup(A());
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(
            latestObjects().filter((f) => /^(Image|ServerGroup)_/.test(f)),
            [],
            "ORC objects backed up without the label",
        );
        assert.ok(
            latestObjects().some((f) => f.startsWith("Cluster_")),
            "the Clusters are backed up",
        );
        labelOrcCrds(A());
        const again = backup(A());
        assert.strictEqual(again.status, 0, again.stderr);
        const orc = allDocs()
            .filter((d) => d.kind === "Image" || d.kind === "ServerGroup")
            .map((d) => `${d.kind}_${ns}_${d.metadata.name}.yaml`)
            .sort();
        assert.ok(orc.length >= 3, "the dev tree has an Image and two ServerGroups");
        assert.deepStrictEqual(
            latestObjects().filter((f) => /^(Image|ServerGroup)_/.test(f)),
            orc,
        );
    });

    it("backs up every Cluster API object of the stack, leaves out the identity and the credentials, and leaves A's Clusters running (the files hold them paused)", function () {
        A().apply(inventory(testbed));
        // What clusterctl itself takes: with CAPO in the inventory, its namespace's labelled Secret too.
        const raw = path.join(workDir, "raw");
        fs.mkdirSync(raw);
        const rr = spawnSync(path.join(bin, "clusterctl"), ["move", "--kubeconfig", A().kubeconfig, "--namespace", ns, "--to-directory", raw], {
            encoding: "utf8",
            env: { PATH: process.env.PATH, HOME: home, CLUSTERCTL_DISABLE_VERSIONCHECK: "true" },
        });
        assert.strictEqual(rr.status, 0, rr.stdout + rr.stderr);
        const rawFiles = fs.readdirSync(raw);
        for (const s of credentialSecrets(ns)) {
            assert.ok(
                rawFiles.includes(`Secret_${s.replace("/", "_")}.yaml`),
                `clusterctl takes the credential Secret ${s} (the script must remove it): ${rawFiles.join(" ")}`,
            );
        }

        const r = backup(A());
        assert.strictEqual(r.status, 0, r.stderr);
        const files = latestObjects();
        assert.deepStrictEqual(
            files,
            rawFiles.filter((f) => !credentialSecrets(ns).some((s) => f === `Secret_${s.replace("/", "_")}.yaml`)).sort(),
            "the backup is clusterctl's files without the credential Secrets",
        );
        // Every rendered object: in the backup, or (named here) not Cluster API's to move.
        const leftOut = new Set([...credentialSecrets(ns).map((s) => `Secret/${s}`), `OpenStackClusterIdentity/undefined/openstack`]);
        const problems: string[] = [];
        for (const d of allDocs()) {
            const key = `${d.kind}/${d.metadata.namespace}/${d.metadata.name}`;
            const file = `${d.kind}_${d.metadata.namespace ?? ""}_${d.metadata.name}.yaml`;
            if (NOT_CLUSTER_API.has(d.kind) || d.metadata.namespace === "flux-system") {
                continue;
            }
            if (leftOut.has(key)) {
                if (files.includes(file)) {
                    problems.push(`${key} is in the backup`);
                }
            } else if (!files.includes(file)) {
                problems.push(`${key} is not in the backup`);
            }
        }
        assert.deepStrictEqual(problems, []);
        // And what the controllers made from them (topology, MachineSets, Machines, CA and kubeconfig Secrets, bindings).
        for (const kind of [
            "KubeadmControlPlane",
            "OpenStackCluster",
            "MachineDeployment",
            "MachineSet",
            "Machine",
            "KubeadmConfig",
            "OpenStackMachine",
            "MachineHealthCheck",
            "ClusterResourceSetBinding",
            "HelmChartProxy",
        ]) {
            assert.ok(
                files.some((f) => f.startsWith(`${kind}_${ns}_`)),
                `no ${kind} in the backup: ${files.join(" ")}`,
            );
        }
        for (const cl of clusters()) {
            for (const s of ["ca", "kubeconfig"]) {
                assert.ok(files.includes(`Secret_${ns}_${cl.metadata.name}-${s}.yaml`), `${cl.metadata.name}-${s} Secret`);
            }
            // A keeps reconciling: clusterctl resumed the Cluster it paused while saving; the file has it paused.
            assert.notStrictEqual(at(A().get(R.Cluster, cl.metadata.name, ns), "spec.paused"), true, "A's Cluster left paused");
            assert.strictEqual(at(readObject(`Cluster_${ns}_${cl.metadata.name}.yaml`), "spec.paused"), true, "the saved Cluster is paused");
        }
        assert.ok(!fs.existsSync(path.join(backupDir, "FAILED")), "a good backup clears FAILED");
        assert.ok(A().get(R.Identity, "openstack"), "A's identity is still there");
    });

    it("restores into a fresh API server with the providers (B): the same objects, B's own identity and credentials untouched, the Clusters running on B", async function () {
        this.timeout(20 * 60_000);
        b = await startManagementCluster(testbed, "backup-b");
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
        B().applyOk(inventory(testbed));
        // The new server as `pulumi up` leaves it: the program's objects (B's own credential), Flux's
        // tree without the Clusters (the restore procedure keeps them out of the Git path until it is done).
        const own = programObjects().map((d) =>
            d.kind === "Secret" && d.metadata.name === CAPO_CREDENTIALS_SECRET ? { ...d, stringData: { "clouds.yaml": "b-credential" } } : d,
        );
        B().applyOk(yamlStream(own));
        B().applyOk(yamlStream(rendered.root.docs), { fieldManager: "kustomize-controller" });
        await applyTree(B(), ["workload-clusters"]);
        const identityBefore = B().get(R.Identity, "openstack");
        const secretBefore = B().get("secrets", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE);

        // The old management server is lost: A's controllers stop. A's API server stays up as the
        // workload cluster's API (the Clusters' kubeconfig Secrets point at it).
        for (const p of A().processes.filter((x) => !["etcd", "kube-apiserver"].includes(x.spec.name))) {
            await p.stop();
        }
        const tgz = spawnSync("tar", ["-C", fs.realpathSync(path.join(backupDir, "latest")), "-cz", "objects", "backup.env"]);
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
            B().kubectlOk([
                "patch",
                R.KubeadmControlPlane,
                at(restored, "spec.controlPlaneRef.name") as string,
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
                at(restored, "spec.infrastructureRef.name") as string,
                "-n",
                ns,
                "--subresource=status",
                "--type=merge",
                "-p",
                JSON.stringify({ status: { ready: true } }),
            ]);
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
            const k = rendered.kustomizations.find((x) => x.kustomization.metadata.name === "workload-clusters");
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
            const dir = fs.mkdtempSync(path.join(workDir, "old-"));
            fs.cpSync(fs.realpathSync(path.join(backupDir, "latest")), dir, { recursive: true });
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
});
