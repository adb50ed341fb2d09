/**
 * The etcd restore of gitops/README.md ("Restore a snapshot") without SSH:
 * gitops/tools/etcd-restore.sh against a fake kubectl (management and workload cluster),
 * and gitops/tools/etcd-restore-node.sh on a fake node (a temporary root, fake crictl and
 * ctr). Modelled: the Pods' run on real nodes, kubelet's static pods and etcdutl itself.
 */
import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { gzipSync } from "zlib";
import { parseAllDocuments } from "yaml";
import { hasShellcheck, makeTempDir, shellcheck, skipTest } from "./fakes/shell";
import { PROJECT_DIR } from "./harness";

const TOOLS = path.join(PROJECT_DIR, "gitops", "tools");
const DRIVER = path.join(TOOLS, "etcd-restore.sh");
const NODE_SCRIPT = path.join(TOOLS, "etcd-restore-node.sh");
const FAKES = path.join(PROJECT_DIR, "test", "fakes");
const SNAPSHOT = "etcd-20261130T023000Z.db.gz";
const OLD = [
    "8e9e05c52164694d, started, cp-a, https://10.6.0.11:2380, https://10.6.0.11:2379, false",
    "91bc3c398fb3c146, started, cp-b, https://10.6.0.12:2380, https://10.6.0.12:2379, false",
    "fd422379fda50e48, started, cp-c, https://10.6.0.13:2380, https://10.6.0.13:2379, false",
];

/** A bin directory with the named fakes (name -> file in test/fakes) and a `sleep` that returns at once. */
function bin(fakes: Record<string, string>): string {
    const dir = makeTempDir("etcd-restore-bin");
    for (const [name, file] of Object.entries(fakes)) fs.symlinkSync(path.join(FAKES, file), path.join(dir, name));
    fs.writeFileSync(path.join(dir, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    return dir;
}

function run(script: string, args: string[], env: Record<string, string>) {
    return spawnSync("bash", [script, ...args], { env: { PATH: process.env.PATH!, ...env }, encoding: "utf8", timeout: 60_000 });
}

describe("etcd restore without SSH (gitops/tools)", () => {
    it("passes shellcheck (both scripts and their fakes)", function () {
        if (!hasShellcheck()) skipTest(this, "shellcheck of the etcd restore scripts", "shellcheck");
        shellcheck([DRIVER, NODE_SCRIPT, ...["kubectl", "crictl", "ctr"].map((f) => path.join(FAKES, `etcd-restore-${f}.sh`))]);
    });

    describe("etcd-restore.sh, through the management cluster", () => {
        function driver(over: Record<string, string> = {}, args = ["workload-1", "cp-a", SNAPSHOT]) {
            const state = makeTempDir("etcd-restore-state");
            const dir = bin({ kubectl: "etcd-restore-kubectl.sh" });
            const r = run(DRIVER, args, {
                PATH: `${dir}:${process.env.PATH}`,
                FAKE_STATE: state,
                FAKE_NODES: "cp-a\ncp-b\ncp-c",
                FAKE_OLD_MEMBERS: OLD.join("\n"),
                FAKE_NEW_MEMBER: "2c1f6f9a0b7d3e11",
                FAKE_DOWN: "3",
                FAKE_MACHINES: "workload-1-cp-1 cp-a\nworkload-1-cp-2 cp-b\nworkload-1-cp-3 cp-c",
                POLL_SECONDS: "0",
                TMPDIR: state,
                ...over,
            });
            const calls = fs.existsSync(path.join(state, "calls")) ? fs.readFileSync(path.join(state, "calls"), "utf8").trim().split("\n") : [];
            const applied = fs.existsSync(path.join(state, "applied.yaml"))
                ? parseAllDocuments(fs.readFileSync(path.join(state, "applied.yaml"), "utf8"))
                      .map((d) => d.toJS())
                      .filter(Boolean)
                : [];
            return { r, calls, applied, state };
        }

        it("pauses, stops the other members and restores on the node in Pods made at once, waits for a new single member, unpauses and replaces the other Machines", () => {
            const { r, calls, applied, state } = driver();
            assert.strictEqual(r.status, 0, r.stderr + r.stdout);
            const index = (re: RegExp) => calls.findIndex((c) => re.test(c));
            assert.ok(index(/^-n clusters get secret workload-1-kubeconfig /) === 0, calls.join("\n"));
            assert.strictEqual(fs.readFileSync(path.join(state, "kubeconfig-seen"), "utf8"), "kubeconfig of the workload cluster");
            const pause = index(/patch cluster workload-1 --type merge -p \{"spec":\{"paused":true\}\}/);
            const apply = index(/apply -f -$/);
            const unpause = index(/patch cluster workload-1 --type merge -p \{"spec":\{"paused":false\}\}/);
            assert.ok(0 < pause && pause < apply && apply < unpause, calls.join("\n"));
            // One apply: the ConfigMap and the three Pods, the restore last.
            assert.deepStrictEqual(
                applied.map((o) => `${o.kind} ${o.metadata.name}`),
                ["ConfigMap etcd-restore", "Pod etcd-restore-stop-cp-b", "Pod etcd-restore-stop-cp-c", "Pod etcd-restore-restore-cp-a"],
            );
            for (const pod of applied.slice(1)) {
                assert.strictEqual(pod.metadata.namespace, "kube-system");
                assert.strictEqual(pod.spec.nodeName, pod.metadata.name.replace(/^etcd-restore-(stop|restore)-/, ""));
                assert.strictEqual(pod.spec.containers[0].securityContext.privileged, true);
                assert.deepStrictEqual(pod.spec.volumes[0], { name: "host", hostPath: { path: "/" } });
                assert.match(pod.spec.containers[0].command[2], /exec chroot \/host bash \/root\/etcd-restore-node\.sh "\$@"$/);
            }
            assert.deepStrictEqual(applied[3].spec.containers[0].command.slice(3), ["--", "restore", SNAPSHOT]);
            assert.deepStrictEqual(applied[1].spec.containers[0].command.slice(3), ["--", "stop"]);
            assert.ok(Number(applied[0].data["etcd-restore-node.sh"]) === fs.statSync(NODE_SCRIPT).size, "the ConfigMap carries the node script");
            // Waited through the outage: the member list failed 3 times, then answered.
            assert.strictEqual(calls.filter((c) => / exec etcd-cp-a /.test(c)).length, 1 + 3 + 1);
            // After unpausing: the other two Machines, not the restored node's.
            const deletes = calls.filter((c) => / delete machine /.test(c));
            assert.deepStrictEqual(deletes, [
                "-n clusters delete machine workload-1-cp-2 --wait=false",
                "-n clusters delete machine workload-1-cp-3 --wait=false",
            ]);
            assert.ok(index(/delete machine/) > unpause);
            // The workload kubeconfig does not outlive the run.
            assert.deepStrictEqual(
                fs.readdirSync(state).filter((f) => f.startsWith("tmp.")),
                [],
            );
        });

        it("restores a single-member etcd (dev) once its member's ID is a new one", () => {
            const { r, applied, calls } = driver({ FAKE_NODES: "cp-a", FAKE_OLD_MEMBERS: OLD[0], FAKE_MACHINES: "workload-1-cp-1 cp-a", FAKE_DOWN: "0" });
            assert.strictEqual(r.status, 0, r.stderr);
            assert.deepStrictEqual(
                applied.map((o) => o.metadata.name),
                ["etcd-restore", "etcd-restore-restore-cp-a"],
            );
            assert.deepStrictEqual(
                calls.filter((c) => / delete machine /.test(c)),
                [],
            );
        });

        it("keeps the Cluster paused and fails when the API never answers from a restored etcd", () => {
            const { r, calls } = driver({ FAKE_NEW_MEMBER: "", POLLS: "5" });
            assert.strictEqual(r.status, 1);
            assert.match(r.stderr, /does not answer from a restored etcd .* the Cluster stays paused/);
            assert.ok(!calls.some((c) => /"paused":false/.test(c)));
            assert.ok(!calls.some((c) => / delete machine /.test(c)));
        });

        it("refuses a node that is not a control plane node, a bad snapshot name, and touches nothing", () => {
            const notCp = driver({}, ["workload-1", "worker-x", SNAPSHOT]);
            assert.strictEqual(notCp.r.status, 1);
            assert.match(notCp.r.stderr, /worker-x is not a control plane node of workload-1/);
            assert.ok(!notCp.calls.some((c) => / patch /.test(c)));
            const bad = driver({}, ["workload-1", "cp-a", "../../etc/passwd"]);
            assert.strictEqual(bad.r.status, 2);
            assert.deepStrictEqual(bad.calls, []);
        });
    });

    describe("etcd-restore-node.sh, on the node", () => {
        function node(mode: string[], over: Record<string, string> = {}, members = OLD.slice(0, 1)) {
            const root = makeTempDir("etcd-restore-root");
            const state = makeTempDir("etcd-restore-node-state");
            const manifests = path.join(root, "etc/kubernetes/manifests");
            fs.mkdirSync(manifests, { recursive: true });
            fs.writeFileSync(
                path.join(manifests, "etcd.yaml"),
                "spec:\n  containers:\n  - command:\n    - etcd\n    - --name=cp-a\n    - --initial-advertise-peer-urls=https://10.6.0.11:2380\n    image: registry.k8s.io/etcd:3.6.5-0\n",
            );
            fs.writeFileSync(path.join(manifests, "kube-apiserver.yaml"), "kind: Pod\n");
            fs.mkdirSync(path.join(root, "var/lib/etcd/member"), { recursive: true });
            fs.writeFileSync(path.join(root, "var/lib/etcd/member/old"), "old data");
            fs.mkdirSync(path.join(root, "var/backups/etcd"), { recursive: true });
            fs.writeFileSync(path.join(root, "var/backups/etcd", SNAPSHOT), gzipSync("snapshot data"));
            const dir = bin({ crictl: "etcd-restore-crictl.sh", ctr: "etcd-restore-ctr.sh" });
            const r = run(NODE_SCRIPT, mode, { PATH: `${dir}:${process.env.PATH}`, ROOT: root, FAKE_STATE: state, FAKE_MEMBERS: members.join("\n"), ...over });
            const ctr = fs.existsSync(path.join(state, "ctr-args")) ? fs.readFileSync(path.join(state, "ctr-args"), "utf8").trim().split("\n") : undefined;
            return { r, root, ctr, manifests: fs.readdirSync(manifests).sort() };
        }

        it("restores the snapshot as a single member named as kubeadm named it, keeping the old data, and starts etcd and the API server again", () => {
            const { r, root, ctr, manifests } = node(["restore", SNAPSHOT]);
            assert.strictEqual(r.status, 0, r.stderr + r.stdout);
            assert.deepStrictEqual(manifests, ["etcd.yaml", "kube-apiserver.yaml"]);
            assert.strictEqual(fs.readFileSync(path.join(root, "var/lib/etcd/member/snap"), "utf8"), "snapshot data");
            assert.strictEqual(fs.readFileSync(path.join(root, "var/lib/etcd.before-restore/member/old"), "utf8"), "old data");
            const restore = ctr!.slice(ctr!.indexOf("registry.k8s.io/etcd:3.6.5-0"));
            assert.deepStrictEqual(restore, [
                "registry.k8s.io/etcd:3.6.5-0",
                "etcd-restore",
                "etcdutl",
                "snapshot",
                "restore",
                "/backup/etcd-20261130T023000Z.db",
                "--data-dir",
                "/var/lib/etcd",
                "--name",
                "cp-a",
                "--initial-cluster",
                "cp-a=https://10.6.0.11:2380",
                "--initial-advertise-peer-urls",
                "https://10.6.0.11:2380",
            ]);
            assert.ok(!fs.existsSync(path.join(root, "var/backups/etcd/etcd-20261130T023000Z.db")), "the unpacked copy is removed");
        });

        it("stop: parks etcd's and the API server's manifests, restoring nothing", () => {
            const { r, root, ctr, manifests } = node(["stop"]);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.deepStrictEqual(manifests, []);
            assert.deepStrictEqual(fs.readdirSync(path.join(root, "root/etcd-restore-manifests")).sort(), ["etcd.yaml", "kube-apiserver.yaml"]);
            assert.strictEqual(ctr, undefined);
        });

        it("waits for the other members to stop, and restores nothing while one still answers", async () => {
            const server = net.createServer((s) => s.end());
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            const port = (server.address() as net.AddressInfo).port;
            try {
                const closed = net.createServer();
                await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
                const closedPort = (closed.address() as net.AddressInfo).port;
                await new Promise<void>((resolve) => closed.close(() => resolve()));
                const gone = node(["restore", SNAPSHOT], {}, [
                    OLD[0],
                    `91bc3c398fb3c146, started, cp-b, https://127.0.0.1:2380, https://127.0.0.1:${closedPort}, false`,
                ]);
                assert.strictEqual(gone.r.status, 0, gone.r.stderr);
                assert.match(gone.r.stdout, new RegExp(`member at https://127.0.0.1:${closedPort} is stopped`));
                const alive = node(["restore", SNAPSHOT], { WAIT_POLLS: "2" }, [
                    OLD[0],
                    `91bc3c398fb3c146, started, cp-b, https://127.0.0.1:2380, https://127.0.0.1:${port}, false`,
                ]);
                assert.strictEqual(alive.r.status, 1);
                assert.match(alive.r.stderr, /still answers: stop it first .* restored nothing, restarted this member/);
                assert.strictEqual(alive.ctr, undefined);
                assert.deepStrictEqual(alive.manifests, ["etcd.yaml", "kube-apiserver.yaml"]);
                assert.strictEqual(fs.readFileSync(path.join(alive.root, "var/lib/etcd/member/old"), "utf8"), "old data");
            } finally {
                server.close();
            }
        });

        it("refuses a snapshot the node does not have, or a name that is not etcd care's", () => {
            assert.match(
                node(["restore", "etcd-20250101T000000Z.db.gz"]).r.stderr,
                /no .*etcd-20250101T000000Z\.db\.gz on this node \(it has: etcd-20261130T023000Z\.db\.gz/,
            );
            assert.match(node(["restore", "../x"]).r.stderr, /not a snapshot name/);
        });
    });

    it("is what gitops/README.md's restore runs, with its symptom in Troubleshooting", () => {
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "gitops", "README.md"), "utf8");
        const section = readme.split(/^### /m).find((s) => s.startsWith("Restore a snapshot"))!;
        assert.match(section, /tools\/etcd-restore\.sh workload-1 <node> etcd-20261130T023000Z\.db\.gz/);
        assert.doesNotMatch(section, /\(SSH with|as root:/, "the old restore over SSH");
        const trouble = readme.split(/^## /m).find((s) => s.startsWith("Troubleshooting"))!;
        assert.match(trouble, /etcd-restore\.sh/);
    });
});
