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
import { bootMachines, CONTROLLER_TIMEOUT_MS, HostRun, inventory, labelOrcCrds, labelProviderCrds, NOT_CLUSTER_API, provisionCluster, R } from "./backupBed";
import { ControlPlane, parseDocs } from "./harness/controlPlane";
import { requiredComponents, startManagementCluster } from "./harness/managementCluster";
import { at, conditionTrue, yamlStream } from "./harness/objects";
import { waitFor } from "./harness/processes";
import { serverHooks } from "./harness/serverHooks";
import { RenderedStack, renderStack } from "./harness/stack";
import { Testbed } from "./harness/testbed";
import { restoreTests } from "./backupRestoreTests";

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

    serverHooks(
        () => [a, b],
        () => workDir,
    );

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

    restoreTests({
        A,
        B,
        startB: async () => {
            b = await startManagementCluster(testbed, "backup-b");
        },
        testbed: () => testbed,
        rendered: () => rendered,
        workDir: () => workDir,
        backupDir: () => backupDir,
        ns,
        poll,
        clusters,
        programObjects,
        runHost,
        latestObjects,
        readObject,
        applyTree,
    });
});
