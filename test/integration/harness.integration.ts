/**
 * The harness itself: failures are reported with the servers' logs and never leave a process
 * running.
 */
import * as assert from "assert";
import { ControlPlane } from "./harness/controlPlane";
import { runningProcesses } from "./harness/processes";
import { Testbed } from "./harness/testbed";

/** True while a process with this pid exists. */
function pidAlive(pid: number | undefined): boolean {
    if (pid === undefined) {
        return false;
    }
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

describe("test bed harness", function () {
    it("stops etcd and reports the API server's log when kube-apiserver cannot start", async function () {
        this.timeout(240_000);
        const testbed = Testbed.load();
        const missing = testbed.missing(["etcd"]);
        if (missing) {
            console.log(`      SKIPPED: ${missing}`);
            this.skip();
        }
        // A "kube-apiserver" that prints a line and fails.
        const broken = testbed.withPath("kube-apiserver", "/bin/sh");
        const before = runningProcesses().length;
        await assert.rejects(ControlPlane.start(broken, "broken"), (err: Error) => {
            assert.match(err.message, /kube-apiserver exited with 2/);
            assert.match(err.message, /last \d+ lines of .*kube-apiserver\.log/);
            return true;
        });
        assert.strictEqual(runningProcesses().length, before, "a process of the failed start is still running");
    });
});

// Runs after every suite of the integration run: nothing the harness started may outlive it.
after(function () {
    const left = runningProcesses();
    assert.deepStrictEqual(
        left.filter((p) => pidAlive(p.pid)),
        [],
        "processes left running by the test bed",
    );
});
