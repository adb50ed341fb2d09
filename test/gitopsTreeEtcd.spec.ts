/**
 * The GitOps tree's etcd care: the maintenance script and service the ClusterClass adds to
 * control plane nodes, run against a fake crictl/etcdctl. Shared helpers: gitopsTreeHelpers.ts.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { gunzipSync } from "zlib";
import { classOf, classVariables, schemaProblems } from "../render/classVariables";
import { objectsOf as objects, ofKind } from "../render/gitopsRules";
import { etcdctlCalls } from "./fakes/etcdFake";
import { assertFailure, assertSuccess, installFake, makeTempDir, runScript } from "./fakes/shell";
import { environment, literalFile, shellcheckLiteral } from "./gitopsTreeHelpers";

describe("GitOps tree (gitops/)", () => {
    describe("etcd care", () => {
        const SCRIPT = "/usr/local/sbin/capi-mgmt-etcd-maintenance";
        const SERVICE = "/etc/systemd/system/capi-mgmt-etcd-maintenance.service";
        const SETTINGS_FILE = "/etc/default/capi-mgmt-etcd-maintenance";
        const devCluster = () => ofKind(environment("dev"), "Cluster")[0];
        const devClass = () => classOf(devCluster(), objects(environment("dev")));
        // The files Cluster API renders from the class's templates (timer, settings), their units
        // under systemd-analyze and the variables they follow: test/integration/classNodeFiles.integration.ts.

        it("adds the script and its service as literal files, with no Jinja delimiters (cloud-init renders the user data as a Jinja template)", () => {
            for (const p of [SCRIPT, SERVICE]) {
                const f = literalFile(devClass(), "etcd-maintenance", p);
                assert.strictEqual(f.owner, "root:root", p);
                assert.doesNotMatch(f.content, /\{\{|\{%|\{#/, p);
            }
            assert.strictEqual(literalFile(devClass(), "etcd-maintenance", SCRIPT).permissions, "0755");
            assert.match(literalFile(devClass(), "etcd-maintenance", SERVICE).content, new RegExp(`^ExecStart=${SCRIPT}$`, "m"));
            assert.match(literalFile(devClass(), "etcd-maintenance", SERVICE).content, new RegExp(`^EnvironmentFile=${SETTINGS_FILE}$`, "m"));
        });

        it("takes a time of day HH:MM and a retention of at least one snapshot (the schema)", () => {
            const schema = (name: string) => classVariables(devClass()).find((v) => v.name === name)!.schema.openAPIV3Schema;
            for (const [name, value] of [
                ["etcdMaintenanceTime", "24:00"],
                ["etcdMaintenanceTime", "2:30"],
                ["etcdSnapshotsKept", 0],
            ] as [string, unknown][]) {
                assert.notDeepStrictEqual(schemaProblems(value, schema(name), name), [], `${name} ${value}`);
            }
            assert.deepStrictEqual(schemaProblems("04:05", schema("etcdMaintenanceTime"), "t"), []);
            assert.deepStrictEqual(schemaProblems(14, schema("etcdSnapshotsKept"), "k"), []);
        });

        describe("the script", () => {
            /** Member IDs above 2^63, as etcd's are: shell arithmetic would break on them. */
            const LOCAL_ID = 17237436991929493444n;
            const PEER_A = 12146726434712346599n;
            const PEER_B = 9372538179322589801n;
            const status = (endpoint: string, member: bigint, leader: bigint) =>
                `{"Endpoint":"${endpoint}","Status":{"header":{"cluster_id":14841639068965178418,"member_id":${member},"revision":42,"raft_term":3},"version":"3.6.5","dbSize":2097152,"leader":${leader},"raftIndex":99,"raftTerm":3}}`;
            let dir: string;
            let script: string;
            beforeEach(() => {
                dir = makeTempDir("etcd-maintenance");
                fs.mkdirSync(path.join(dir, "bin"));
                fs.mkdirSync(path.join(dir, "data"));
                installFake(path.join(dir, "bin"), "crictl", "gitops/crictl.sh");
                script = literalFile(devClass(), "etcd-maintenance", SCRIPT).content;
            });
            const run = (opts: { leader: bigint; members: [string, bigint][]; health?: number; container?: string; kept?: string }) => {
                fs.writeFileSync(path.join(dir, "local.json"), `[${status("https://127.0.0.1:2379", LOCAL_ID, opts.leader)}]`);
                fs.writeFileSync(path.join(dir, "cluster.json"), `[${opts.members.map(([ep, id]) => status(ep, id, opts.leader)).join(",")}]`);
                fs.writeFileSync(path.join(dir, "log"), "");
                const r = runScript(script, {
                    PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
                    FAKE_DIR: dir,
                    FAKE_LOG: path.join(dir, "log"),
                    FAKE_CONTAINER: opts.container ?? "c0ffee",
                    FAKE_HEALTH_EXIT: String(opts.health ?? 0),
                    SNAPSHOT_DIR: path.join(dir, "backups"),
                    SNAPSHOTS_KEPT: opts.kept ?? "7",
                    ETCD_DATA_DIR: path.join(dir, "data"),
                });
                return { ...r, calls: etcdctlCalls(path.join(dir, "log")) };
            };
            const three: [string, bigint][] = [
                ["https://10.6.0.11:2379", PEER_A],
                ["https://10.6.0.10:2379", LOCAL_ID],
                ["https://10.6.0.12:2379", PEER_B],
            ];
            const snapshots = () => (fs.existsSync(path.join(dir, "backups")) ? fs.readdirSync(path.join(dir, "backups")).sort() : []);

            it("passes shellcheck", function () {
                shellcheckLiteral(this, "the etcd maintenance script", path.join(dir, "capi-mgmt-etcd-maintenance"), script);
            });

            it("on the leader's node: snapshots, then defragments the followers one by one, hands leadership over, and defragments its own member last", () => {
                const r = run({ leader: LOCAL_ID, members: three });
                assertSuccess(r);
                assert.deepStrictEqual(r.calls, [
                    `https://127.0.0.1:2379 snapshot save ${path.join(dir, "data/capi-mgmt-snapshot.db")}`,
                    "https://127.0.0.1:2379 endpoint status -w json",
                    "https://127.0.0.1:2379 endpoint health --cluster",
                    "https://127.0.0.1:2379 endpoint status --cluster -w json",
                    // Leadership is checked again right before each step (test/gitopsEtcdLeaderRace.spec.ts).
                    "https://127.0.0.1:2379 endpoint status -w json",
                    "https://10.6.0.11:2379 defrag",
                    "https://127.0.0.1:2379 endpoint status -w json",
                    "https://10.6.0.12:2379 defrag",
                    "https://127.0.0.1:2379 endpoint status -w json",
                    `https://127.0.0.1:2379 move-leader ${PEER_A.toString(16)}`,
                    "https://127.0.0.1:2379 endpoint status -w json",
                    "https://127.0.0.1:2379 defrag",
                ]);
                const [snap] = snapshots();
                assert.match(snap, /^etcd-\d{8}T\d{6}Z\.db\.gz$/);
                const file = path.join(dir, "backups", snap);
                assert.strictEqual(gunzipSync(fs.readFileSync(file)).toString(), "snapshot of https://127.0.0.1:2379\n");
                assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
                assert.strictEqual(fs.statSync(path.join(dir, "backups")).mode & 0o777, 0o700);
                assert.deepStrictEqual(fs.readdirSync(path.join(dir, "data")), [], "the snapshot was left in etcd's data directory");
            });

            it("on a follower's node: snapshots only", () => {
                const r = run({ leader: PEER_A, members: three });
                assertSuccess(r);
                assert.match(r.stdout, /this member follows/);
                assert.ok(!r.calls.some((c) => / (defrag|move-leader|endpoint health)/.test(c)), r.calls.join("\n"));
                assert.strictEqual(snapshots().length, 1);
            });

            it("alone: defragments its member without moving leadership", () => {
                const r = run({ leader: LOCAL_ID, members: [["https://10.6.0.10:2379", LOCAL_ID]] });
                assertSuccess(r);
                assert.deepStrictEqual(
                    r.calls.filter((c) => / (defrag|move-leader)/.test(c)),
                    ["https://127.0.0.1:2379 defrag"],
                );
            });

            it("with an unhealthy member: fails after the snapshot, defragmenting nothing", () => {
                const r = run({ leader: LOCAL_ID, members: three, health: 1 });
                assertFailure(r);
                assert.match(r.stderr, /unhealthy: no defragmentation \(the snapshot was taken\)/);
                assert.ok(!r.calls.some((c) => / (defrag|move-leader)/.test(c)));
                assert.strictEqual(snapshots().length, 1);
            });

            it("keeps the newest SNAPSHOTS_KEPT snapshots and nothing else of its own", () => {
                fs.mkdirSync(path.join(dir, "backups"));
                const old = Array.from({ length: 9 }, (_, i) => `etcd-2026010${i + 1}T023000Z.db.gz`);
                for (const f of [...old, "notes.txt"]) fs.writeFileSync(path.join(dir, "backups", f), "x");
                assertSuccess(run({ leader: PEER_A, members: three, kept: "3" }));
                const left = snapshots();
                assert.strictEqual(left.length, 4);
                assert.deepStrictEqual(left.slice(0, 2), ["etcd-20260108T023000Z.db.gz", "etcd-20260109T023000Z.db.gz"]);
                assert.match(left[2], /^etcd-\d{8}T\d{6}Z\.db\.gz$/);
                assert.strictEqual(left[3], "notes.txt");
            });

            it("does nothing where no etcd runs, and refuses a retention that is not a number", () => {
                const none = run({ leader: LOCAL_ID, members: three, container: "" });
                assertSuccess(none);
                assert.match(none.stdout, /no etcd container runs on this node/);
                assert.deepStrictEqual(none.calls, []);
                const bad = run({ leader: LOCAL_ID, members: three, kept: "seven" });
                assertFailure(bad);
                assert.match(bad.stderr, /SNAPSHOTS_KEPT must be a whole number, not 'seven'/);
            });
        });
    });
});
