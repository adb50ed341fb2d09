import "mocha";
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderConformanceScript } from "../src/cluster/check";
import { ACTIVE_KUBECONFIG, HOST_SCRIPTS_DIR, renderHostScript, SERVER_KUBECONFIG } from "../src/host/hostScripts";
import { FakeClock } from "./fakes/clock";
import { hasShellcheck, installFake, makeTempDir, RunResult, shellcheck, skipTest } from "./fakes/shell";

/** A line that is only in the workload cluster's kubeconfig: it must never be printed. */
const KUBECONFIG_MARKER = "client-key-data: U0VDUkVULUtVQkVDT05GSUctTUFSS0VS";

/** The management server of a conformance check: fakes first on PATH, a virtual clock. */
class CheckHost {
    readonly root = makeTempDir("conformance");
    readonly clock = new FakeClock(path.join(this.root, "clock"));
    readonly bin = path.join(this.root, "bin");
    readonly state = path.join(this.root, "state");
    readonly tmp = path.join(this.root, "tmp");
    readonly results = path.join(this.root, "checks");
    readonly log = path.join(this.root, "calls.log");
    readonly mgmtKubeconfig = path.join(this.root, "mgmt.kubeconfig");
    readonly workloadKubeconfig = path.join(this.root, "workload.kubeconfig");

    constructor() {
        for (const d of [this.bin, this.state, this.tmp]) {
            fs.mkdirSync(d, { recursive: true });
        }
        installFake(this.bin, "kubectl", "conformance/kubectl.sh");
        installFake(this.bin, "sonobuoy", "conformance/sonobuoy.sh");
        fs.writeFileSync(this.mgmtKubeconfig, "apiVersion: v1\nkind: Config\n# management\n");
        fs.writeFileSync(this.workloadKubeconfig, `apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    ${KUBECONFIG_MARKER}\n`);
        fs.writeFileSync(this.log, "");
    }

    /** Marks a fact of the fake world (no-cluster, no-secret, unreachable, sonobuoy-namespace). */
    set(fact: string): void {
        fs.writeFileSync(path.join(this.state, fact), "");
    }

    has(fact: string): boolean {
        return fs.existsSync(path.join(this.state, fact));
    }

    run(env: Record<string, string> = {}, params: Record<string, string> = {}): RunResult {
        const script = renderHostScript("conformance.sh", {
            MGMT_KUBECONFIG: this.mgmtKubeconfig,
            ACTIVE_KUBECONFIG: `${this.mgmtKubeconfig}.active`,
            NAMESPACE: "clusters",
            CLUSTER: "workload-1",
            MODE: "quick",
            TIMEOUT_SECONDS: "600",
            POLL_SECONDS: "30",
            DELETE_WAIT_MINUTES: "15",
            RESULTS_DIR: this.results,
            ...params,
        });
        return this.clock.run(script, {
            PATH: `${this.bin}:${process.env.PATH}`,
            TMPDIR: this.tmp,
            FAKE_LOG: this.log,
            FAKE_STATE: this.state,
            FAKE_MGMT_KUBECONFIG: this.mgmtKubeconfig,
            FAKE_WORKLOAD_KUBECONFIG: this.workloadKubeconfig,
            FAKE_NAMESPACE: "clusters",
            FAKE_CLUSTER: "workload-1",
            FAKE_E2E_RESULT: "passed",
            ...env,
        });
    }

    calls(): string[] {
        return fs
            .readFileSync(this.log, "utf8")
            .split("\n")
            .filter((l) => l !== "");
    }

    sonobuoyCalls(): string[] {
        return this.calls()
            .filter((l) => l.startsWith("sonobuoy "))
            .map((l) => l.split(" ").slice(0, 2).join(" "));
    }
}

function describeRun(r: RunResult): string {
    return `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** What every run must hold: the kubeconfig never printed, the private directory gone. */
function assertNoLeak(host: CheckHost, r: RunResult): void {
    const secret = fs.readFileSync(host.workloadKubeconfig);
    for (const text of [r.stdout, r.stderr]) {
        assert.ok(!text.includes(KUBECONFIG_MARKER), `the kubeconfig was printed:\n${text}`);
        assert.ok(!text.includes(secret.toString("base64").slice(0, 40)), `the kubeconfig was printed (base64):\n${text}`);
    }
    assert.deepStrictEqual(fs.readdirSync(host.tmp), [], "the private directory (with the kubeconfig) is left behind");
}

describe("src/host/scripts/conformance.sh", function () {
    this.timeout(120000);

    it("is clean under shellcheck", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of src/host/scripts/conformance.sh", "shellcheck");
        }
        shellcheck([path.join(HOST_SCRIPTS_DIR, "conformance.sh")]);
    });

    it("renders the check's parameters, with the server's kubeconfig and results directory", () => {
        const script = renderConformanceScript({
            namespace: "clusters",
            cluster: "workload-1",
            mode: "conformance",
            timeoutSeconds: 14400,
            pollSeconds: 30,
            deleteWaitMinutes: 15,
        });
        const header = script.split("\n").slice(2, 11);
        assert.deepStrictEqual(header, [
            `readonly MGMT_KUBECONFIG='${SERVER_KUBECONFIG}'`,
            `readonly ACTIVE_KUBECONFIG='${ACTIVE_KUBECONFIG}'`,
            "readonly NAMESPACE='clusters'",
            "readonly CLUSTER='workload-1'",
            "readonly MODE='certified-conformance'",
            "readonly TIMEOUT_SECONDS='14400'",
            "readonly POLL_SECONDS='30'",
            "readonly DELETE_WAIT_MINUTES='15'",
            "readonly RESULTS_DIR='/var/lib/capi-mgmt/checks'",
        ]);
        assert.throws(
            () => renderConformanceScript({ namespace: "Clusters", cluster: "w", mode: "quick", timeoutSeconds: 1, pollSeconds: 1, deleteWaitMinutes: 1 }),
            /DNS labels/,
        );
        assert.throws(
            () => renderConformanceScript({ namespace: "c", cluster: "w", mode: "quick", timeoutSeconds: 0, pollSeconds: 1, deleteWaitMinutes: 1 }),
            /timeoutSeconds/,
        );
    });

    it("passes: runs sonobuoy with the Secret's kubeconfig, reports progress each poll, keeps the results, prints the summary, cleans up", () => {
        const host = new CheckHost();
        const r = host.run();
        assert.strictEqual(r.status, 0, describeRun(r));
        assert.deepStrictEqual(host.sonobuoyCalls(), [
            "sonobuoy version",
            "sonobuoy run",
            "sonobuoy status",
            "sonobuoy status",
            "sonobuoy status",
            "sonobuoy retrieve",
            "sonobuoy results",
            "sonobuoy delete",
        ]);
        const calls = host.calls();
        assert.ok(calls.includes("kubectl [clusters] get clusters.cluster.x-k8s.io workload-1 -o name"), calls.join("\n"));
        assert.ok(calls.includes("kubectl [clusters] get secret workload-1-kubeconfig -o jsonpath={.data.value}"), calls.join("\n"));
        assert.ok(calls.includes("sonobuoy run --mode quick --timeout 600"), calls.join("\n"));
        assert.ok(calls.includes("sonobuoy status --json"), calls.join("\n"));
        assert.ok(calls.includes("sonobuoy delete --all --wait=15"), calls.join("\n"));
        for (const line of calls.filter((l) => l.startsWith("kubeconfig mode"))) {
            assert.strictEqual(line, "kubeconfig mode 600 dir mode 700");
        }
        // One progress line per poll, POLL_SECONDS of the (virtual) clock apart, with each plugin's state.
        const progress = r.stderr.split("\n").filter((l) => /^conformance: \d+s of 600s: /.test(l));
        assert.deepStrictEqual(progress, [
            "conformance: 0s of 600s: starting The Sonobuoy aggregator is in the 'Pending' state. This is normal as the pod is created and begins to run.",
            "conformance: 30s of 600s: running e2e: running, 2/20 tests, 1 failed; systemd-logs: 1 complete/passed, 1 running",
            "conformance: 60s of 600s: complete e2e: complete/passed; systemd-logs: 2 complete/passed",
        ]);
        assert.match(r.stdout, /^Plugin: e2e\nStatus: passed\n/);
        assert.match(r.stdout, /Plugin: systemd-logs\nStatus: passed/);
        assert.match(r.stderr, /PASSED: clusters\/workload-1 \(mode quick\): every plugin passed/);
        const kept = path.join(host.results, "clusters.workload-1.tar.gz");
        assert.strictEqual(fs.readFileSync(kept, "utf8"), "tarball of the run\n");
        assert.strictEqual(fs.statSync(kept).mode & 0o777, 0o600);
        assert.strictEqual(fs.statSync(host.results).mode & 0o777, 0o700);
        assert.ok(!host.has("sonobuoy-namespace"), "sonobuoy's objects were not deleted");
        assertNoLeak(host, r);
    });

    it("a status call that fails now and then is reported and polled again", () => {
        const host = new CheckHost();
        const r = host.run({ FAKE_STATUS_ERROR_AT_POLL: "2", FAKE_POLLS_TO_COMPLETE: "4" });
        assert.strictEqual(r.status, 0, describeRun(r));
        assert.match(
            r.stderr,
            /^conformance: 30s of 600s: starting time="2026-06-01T00:00:00Z" level=error msg="error checking sonobuoy status: the server was unable/m,
        );
        assert.match(r.stderr, /^conformance: 90s of 600s: complete /m);
        assertNoLeak(host, r);
    });

    it("a failed test: exit 1, the summary names the failed test and the plugin, cleanup happens", () => {
        const host = new CheckHost();
        const r = host.run({ FAKE_E2E_RESULT: "failed" });
        assert.strictEqual(r.status, 1, describeRun(r));
        assert.match(r.stdout, /Plugin: e2e\nStatus: failed\n/);
        assert.match(r.stdout, /Failed tests:\n\[sig-node\] Pods should be submitted and removed/);
        assert.match(r.stderr, /FAILED: clusters\/workload-1 \(mode quick\): plugins that did not pass: e2e=failed\n/);
        assert.strictEqual(host.sonobuoyCalls().at(-1), "sonobuoy delete");
        assert.ok(!host.has("sonobuoy-namespace"));
        assertNoLeak(host, r);
    });

    it("a run that never completes: exit 2 at the bound, after a progress line every poll, cleanup happens", () => {
        const host = new CheckHost();
        const r = host.run({ FAKE_POLLS_TO_COMPLETE: "0" }, { TIMEOUT_SECONDS: "120", POLL_SECONDS: "30" });
        assert.strictEqual(r.status, 2, describeRun(r));
        const elapsed = [...r.stderr.matchAll(/^conformance: (\d+)s of 120s: /gm)].map((m) => Number(m[1]));
        assert.deepStrictEqual(elapsed, [0, 30, 60, 90, 120]);
        assert.match(r.stderr, /ERROR: the run did not complete within 120s \(last status: running e2e: running, 5\/50 tests/);
        assert.ok(!host.sonobuoyCalls().includes("sonobuoy retrieve"));
        assert.strictEqual(host.sonobuoyCalls().at(-1), "sonobuoy delete");
        assert.ok(host.calls().includes("sonobuoy run --mode quick --timeout 120"), "the aggregator gets the same bound");
        assertNoLeak(host, r);
    });

    it("the aggregator fails: exit 1 naming it, cleanup happens", () => {
        const host = new CheckHost();
        const r = host.run({ FAKE_AGGREGATOR_FAILS: "1" });
        assert.strictEqual(r.status, 1, describeRun(r));
        assert.match(r.stderr, /: failed e2e: running\n/);
        assert.match(r.stderr, /ERROR: sonobuoy's aggregator failed in clusters\/workload-1/);
        assert.strictEqual(host.sonobuoyCalls().at(-1), "sonobuoy delete");
        assertNoLeak(host, r);
    });

    it("no kubeconfig Secret (control plane not initialized): exit 3 naming the Secret; sonobuoy never runs", () => {
        const host = new CheckHost();
        host.set("no-secret");
        const r = host.run();
        assert.strictEqual(r.status, 3, describeRun(r));
        assert.match(r.stderr, /ERROR: Cluster clusters\/workload-1 has no kubeconfig Secret workload-1-kubeconfig yet: its control plane is not initialized/);
        assert.deepStrictEqual(host.sonobuoyCalls(), []);
        assertNoLeak(host, r);
    });

    it("no such Cluster: exit 3 naming it", () => {
        const host = new CheckHost();
        const r = host.run({}, { CLUSTER: "workload-9" });
        assert.strictEqual(r.status, 3, describeRun(r));
        assert.match(r.stderr, /ERROR: there is no Cluster clusters\/workload-9 in the management cluster/);
        assert.deepStrictEqual(host.sonobuoyCalls(), []);
        assertNoLeak(host, r);
    });

    it("an unreachable workload API server: exit 3 with kubectl's error, before sonobuoy runs", () => {
        const host = new CheckHost();
        host.set("unreachable");
        const r = host.run();
        assert.strictEqual(r.status, 3, describeRun(r));
        assert.match(r.stderr, /ERROR: cannot reach the API server of clusters\/workload-1 from the management server: Unable to connect/);
        assert.deepStrictEqual(host.sonobuoyCalls(), []);
        assertNoLeak(host, r);
    });

    it("deletes a run left from before, then runs", () => {
        const host = new CheckHost();
        host.set("sonobuoy-namespace");
        const r = host.run();
        assert.strictEqual(r.status, 0, describeRun(r));
        assert.match(r.stderr, /a sonobuoy run from before is still in clusters\/workload-1 \(namespace sonobuoy\); deleting it first/);
        assert.deepStrictEqual(host.sonobuoyCalls().slice(0, 3), ["sonobuoy delete", "sonobuoy version", "sonobuoy run"]);
        assertNoLeak(host, r);
    });

    // PIPE is what the script gets when the SSH session is gone (its next progress line has no
    // reader); HUP and TERM when the session or the server ends it.
    for (const [signal, status] of [
        ["PIPE", 141],
        ["HUP", 129],
        ["TERM", 143],
    ] as const) {
        it(`SIG${signal} during the run: cleanup still deletes sonobuoy's objects and the kubeconfig (exit ${status})`, () => {
            const host = new CheckHost();
            const r = host.run({ FAKE_POLLS_TO_COMPLETE: "0", FAKE_SIGNAL_AT_POLL: "2", FAKE_SIGNAL: signal });
            assert.strictEqual(r.status, status, describeRun(r));
            assert.strictEqual(host.sonobuoyCalls().at(-1), "sonobuoy delete");
            assert.ok(!host.sonobuoyCalls().includes("sonobuoy retrieve"));
            assert.ok(!host.has("sonobuoy-namespace"));
            assertNoLeak(host, r);
        });
    }

    it("the SSH session going away (its output pipe closed) ends the run at the next progress line, with the cleanup", () => {
        const host = new CheckHost();
        const script = renderHostScript("conformance.sh", {
            MGMT_KUBECONFIG: host.mgmtKubeconfig,
            ACTIVE_KUBECONFIG: `${host.mgmtKubeconfig}.active`,
            NAMESPACE: "clusters",
            CLUSTER: "workload-1",
            MODE: "quick",
            TIMEOUT_SECONDS: "600",
            POLL_SECONDS: "30",
            DELETE_WAIT_MINUTES: "15",
            RESULTS_DIR: host.results,
        });
        const statusFile = path.join(host.root, "status");
        // As sshd would: the script's stdout and stderr go to a reader that goes away, here
        // after the first two lines (the start, sonobuoy's output); the run never completes.
        const pipeline = `bash -c 'echo "$$" >"$FAKE_CLOCK_DIR/root"; exec bash -s' 2>&1 | head -n 2 >"${host.root}/seen"; echo "\${PIPESTATUS[0]}" >"${statusFile}"`;
        const env = host.clock.env({
            PATH: `${host.bin}:${process.env.PATH}`,
            TMPDIR: host.tmp,
            FAKE_LOG: host.log,
            FAKE_STATE: host.state,
            FAKE_MGMT_KUBECONFIG: host.mgmtKubeconfig,
            FAKE_WORKLOAD_KUBECONFIG: host.workloadKubeconfig,
            FAKE_NAMESPACE: "clusters",
            FAKE_CLUSTER: "workload-1",
            FAKE_E2E_RESULT: "passed",
            FAKE_POLLS_TO_COMPLETE: "0",
        });
        const r = spawnSync("bash", ["-c", pipeline], { input: script, env, encoding: "utf8", timeout: 120000 });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(fs.readFileSync(statusFile, "utf8").trim(), "141", fs.readFileSync(path.join(host.root, "seen"), "utf8"));
        const polls = host.sonobuoyCalls().filter((c) => c === "sonobuoy status").length;
        assert.ok(polls < 20, `the run went on after the session was gone (${polls} polls)`);
        assert.strictEqual(host.sonobuoyCalls().at(-1), "sonobuoy delete");
        assert.ok(!host.has("sonobuoy-namespace"));
        assert.deepStrictEqual(fs.readdirSync(host.tmp), [], "the private directory (with the kubeconfig) is left behind");
    });

    it("a failed cleanup fails a passing check (exit 3) and says what to do", () => {
        const host = new CheckHost();
        const r = host.run({ FAKE_DELETE_EXIT: "1" });
        assert.strictEqual(r.status, 3, describeRun(r));
        assert.match(r.stderr, /ERROR: sonobuoy delete failed; on the server, run it again/);
        assertNoLeak(host, r);
    });

    it("refuses a second check of the same cluster while one runs", () => {
        const host = new CheckHost();
        fs.mkdirSync(host.results, { recursive: true });
        const lockFile = path.join(host.results, "clusters.workload-1.lock");
        fs.writeFileSync(lockFile, "");
        // Hold the lock from outside for as long as the run takes.
        const holder = spawn("flock", [lockFile, "sleep", "60"], { stdio: "ignore" });
        try {
            let held = false;
            for (let i = 0; i < 200 && !held; i++) {
                held = spawnSync("flock", ["--nonblock", lockFile, "true"]).status !== 0;
                if (!held) {
                    spawnSync("sleep", ["0.05"]);
                }
            }
            assert.ok(held, "the test could not take the lock");
            const r = host.run();
            assert.strictEqual(r.status, 3, describeRun(r));
            assert.match(r.stderr, /ERROR: another check of clusters\/workload-1 is running on this server/);
            assert.deepStrictEqual(host.sonobuoyCalls(), []);
            assertNoLeak(host, r);
        } finally {
            holder.kill("SIGKILL");
        }
    });

    it("refuses bad parameters, naming them", () => {
        const host = new CheckHost();
        for (const [params, message] of [
            [{ MODE: "full" }, /MODE must be quick or certified-conformance/],
            [{ NAMESPACE: "Bad_NS" }, /NAMESPACE must be a namespace name/],
            [{ POLL_SECONDS: "0" }, /POLL_SECONDS must be a positive whole number/],
        ] as const) {
            const r = host.run({}, params as Record<string, string>);
            assert.strictEqual(r.status, 3, describeRun(r));
            assert.match(r.stderr, message);
        }
        assert.deepStrictEqual(host.sonobuoyCalls(), []);
    });
});
