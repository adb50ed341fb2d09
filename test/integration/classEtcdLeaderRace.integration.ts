/**
 * The etcd care script's defragmentation when leadership moves while it runs (issue 21, "the
 * defrag leader race"): the script, as Cluster API's real topology controller puts it onto a
 * control plane node of the dev cluster (test/integration/classBed.ts), runs under bash against the fake crictl/etcdctl (test/fakes/gitops/crictl.sh),
 * whose leader changes right before a chosen etcdctl call. The script checks leadership again
 * right before each step and stops safely when it no longer leads: no member that leads is
 * ever defragmented. The race is placed by call count, not by time: the script neither sleeps
 * nor waits, so no clock is involved (a run takes the same steps on any machine).
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { etcdctlCalls } from "../fakes/etcdFake";
import { assertFailure, assertSuccess, installFake, makeTempDir, runScript } from "../fakes/shell";
import { PROJECT_DIR } from "../harness";
import { classBedFor } from "./classBed";

const TREE = path.join(PROJECT_DIR, "gitops");
const SCRIPT = "/usr/local/sbin/capi-mgmt-etcd-maintenance";

/** Member IDs above 2^63, as etcd's are. */
const LOCAL = 17237436991929493444n;
const PEER_A = 12146726434712346599n;
const PEER_B = 9372538179322589801n;
const MEMBERS: [string, bigint][] = [
    ["https://10.6.0.11:2379", PEER_A],
    ["https://10.6.0.10:2379", LOCAL],
    ["https://10.6.0.12:2379", PEER_B],
];
const status = (endpoint: string, member: bigint, leader: bigint) =>
    `{"Endpoint":"${endpoint}","Status":{"header":{"cluster_id":14841639068965178418,"member_id":${member},"revision":42,"raft_term":3},"version":"3.6.5","dbSize":2097152,"leader":${leader},"raftIndex":99,"raftTerm":3}}`;
const localStatus = (leader: bigint) => `[${status("https://127.0.0.1:2379", LOCAL, leader)}]`;

describe("etcd care: leadership moving during the defragmentation (the script as the topology controller renders it)", () => {
    let script: string;
    let dir: string;
    const b = classBedFor("etcd-leader-race");
    before(async function () {
        this.timeout(600_000);
        const files = (await b().expand(b().base)).controlPlane.files ?? [];
        const file = files.find((f) => f.path === SCRIPT);
        assert.ok(file, `no ${SCRIPT} on the control plane: ${files.map((f) => f.path).join(", ")}`);
        script = file.content;
    });
    beforeEach(() => {
        dir = makeTempDir("etcd-leader-race");
        fs.mkdirSync(path.join(dir, "bin"));
        fs.mkdirSync(path.join(dir, "data"));
        installFake(path.join(dir, "bin"), "crictl", "gitops/crictl.sh");
    });

    /** Runs the script on the leader's node; `at` maps an etcdctl call's number to the leader from that call on. */
    const run = (at: Record<number, bigint>, env: Record<string, string> = {}) => {
        fs.writeFileSync(path.join(dir, "local.json"), localStatus(LOCAL));
        fs.writeFileSync(path.join(dir, "cluster.json"), `[${MEMBERS.map(([ep, id]) => status(ep, id, LOCAL)).join(",")}]`);
        for (const [n, leader] of Object.entries(at)) fs.writeFileSync(path.join(dir, `local.json.at-${n}`), localStatus(leader));
        fs.writeFileSync(path.join(dir, "log"), "");
        const r = runScript(script, {
            PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
            FAKE_DIR: dir,
            FAKE_LOG: path.join(dir, "log"),
            FAKE_CONTAINER: "c0ffee",
            SNAPSHOT_DIR: path.join(dir, "backups"),
            ETCD_DATA_DIR: path.join(dir, "data"),
            ...env,
        });
        return { ...r, calls: etcdctlCalls(path.join(dir, "log")) };
    };
    const steps = (calls: string[]) => calls.filter((c) => / (defrag|move-leader)/.test(c));
    // etcdctl calls of a full run: 1 snapshot, 2 status, 3 health, 4 cluster status, 5 status,
    // 6 defrag A, 7 status, 8 defrag B, 9 status, 10 move-leader, 11 status, 12 own defrag.

    it("stops before the second follower when an election made that follower the leader after the first defragmentation", () => {
        const r = run({ 7: PEER_B });
        assertSuccess(r);
        assert.deepStrictEqual(steps(r.calls), ["https://10.6.0.11:2379 defrag"]);
        assert.match(r.stdout, /leadership moved away from this member before defragmenting [0-9a-f]+: stopping \(skipped safely/);
    });

    it("defragments nothing when leadership moved between the first check and the first defragmentation", () => {
        const r = run({ 5: PEER_A });
        assertSuccess(r);
        assert.deepStrictEqual(steps(r.calls), []);
        assert.match(r.stdout, /leadership moved away/);
    });

    it("does not hand over leadership it lost after defragmenting the followers, nor defragment its own member", () => {
        const r = run({ 9: PEER_A });
        assertSuccess(r);
        assert.deepStrictEqual(steps(r.calls), ["https://10.6.0.11:2379 defrag", "https://10.6.0.12:2379 defrag"]);
        assert.match(r.stdout, /before handing it to/);
    });

    it("skips its own defragmentation when leadership came back to its member after the hand-over", () => {
        const r = run({ 11: LOCAL });
        assertSuccess(r);
        assert.deepStrictEqual(steps(r.calls), [
            "https://10.6.0.11:2379 defrag",
            "https://10.6.0.12:2379 defrag",
            `https://127.0.0.1:2379 move-leader ${PEER_A.toString(16)}`,
        ]);
        assert.match(r.stdout, /leadership came back to this member: own defragmentation skipped/);
    });

    it("fails without defragmenting its own member when the hand-over fails and it still leads", () => {
        const r = run({}, { FAKE_MOVE_LEADER_EXIT: "1" });
        assertFailure(r);
        assert.ok(!steps(r.calls).includes("https://127.0.0.1:2379 defrag"), r.calls.join("\n"));
        assert.match(r.stderr, /could not move leadership to [0-9a-f]+: own defragmentation skipped/);
    });
});

describe("etcd care: the leader race in gitops/README.md", () => {
    it("names the log lines and what to do in the troubleshooting", () => {
        const readme = fs.readFileSync(path.join(TREE, "README.md"), "utf8");
        const t = readme.split(/^## /m).find((s) => s.startsWith("Troubleshooting"))!;
        assert.match(t, /leadership moved away from this member\s+before/);
        assert.match(t, /could not move leadership to <id>/);
    });
});
