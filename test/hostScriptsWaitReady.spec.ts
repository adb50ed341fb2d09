import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderWaitReadyScript } from "../src/host/bootstrapScripts";
import { assertFailure, assertSuccess, installFake, makeTempDir, RunResult, runScript, skipTest } from "./fakes/shell";
import { canRunAsLoginUser, FakeSudo } from "./fakes/sudo";

describe("src/host/scripts/wait-ready.sh", () => {
    let dir: string;
    let marker: string;
    let cloudInitLog: string;

    beforeEach(() => {
        dir = makeTempDir("wait-ready");
        installFake(path.join(dir, "bin"), "cloud-init", "host/cloud-init.sh");
        // Never the machine's sudo: as a user other than root the script looks through sudo.
        installFake(path.join(dir, "bin"), "sudo", "host/sudo-passthrough.sh");
        marker = path.join(dir, "state", "cloud-init.done");
        cloudInitLog = path.join(dir, "cloud-init.log");
    });

    function touchMarker(): void {
        fs.mkdirSync(path.dirname(marker), { recursive: true });
        fs.writeFileSync(marker, "");
    }

    function run(env: Record<string, string>, timeoutSeconds = 5): RunResult {
        const script = renderWaitReadyScript({ marker, timeoutSeconds });
        return runScript(script, {
            PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
            FAKE_CLOUD_INIT_LOG: cloudInitLog,
            ...env,
        });
    }

    it("succeeds when cloud-init is done and the marker exists", () => {
        touchMarker();
        const r = run({ FAKE_CLOUD_INIT_EXIT: "0" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /wait-ready: server is ready/);
        assert.doesNotMatch(r.stderr, /WARNING/);
        assert.strictEqual(fs.readFileSync(cloudInitLog, "utf8"), "status --wait\n");
    });

    it("warns but succeeds when cloud-init reports recoverable errors (exit 2)", () => {
        touchMarker();
        const r = run({ FAKE_CLOUD_INIT_EXIT: "2" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stderr, /WARNING: cloud-init finished with recoverable errors/);
        assert.match(r.stderr, /fake-module: something went sideways/, "includes `cloud-init status --long`");
        assert.match(r.stdout, /server is ready/);
    });

    it("fails clearly when cloud-init failed (exit 1)", () => {
        touchMarker();
        const r = run({ FAKE_CLOUD_INIT_EXIT: "1" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /wait-ready: ERROR: cloud-init failed \(cloud-init status exit code 1\)/);
        assert.match(r.stderr, /\/var\/log\/cloud-init-output\.log/);
        assert.match(r.stderr, /cloud-init status --long/);
        assert.strictEqual(r.stdout, "");
    });

    it("fails on any other cloud-init exit code", () => {
        touchMarker();
        const r = run({ FAKE_CLOUD_INIT_EXIT: "3" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /exit code 3/);
    });

    it("fails clearly when the marker is missing", () => {
        const r = run({ FAKE_CLOUD_INIT_EXIT: "0" });
        assert.notStrictEqual(r.status, 0);
        assert.ok(r.stderr.includes(`did not write the marker ${marker}`), r.stderr);
        assert.match(r.stderr, /\/var\/log\/cloud-init-output\.log/);
    });

    it("gives up after TIMEOUT_SECONDS when cloud-init hangs", () => {
        touchMarker();
        const r = run({ FAKE_CLOUD_INIT_SLEEP: "30" }, 1);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /did not finish within 1s/);
    });

    it("handles a marker path that needs quoting", () => {
        marker = path.join(dir, "it's $(touch pwned) here", "done");
        touchMarker();
        const r = run({ FAKE_CLOUD_INIT_EXIT: "0" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.ok(r.stdout.includes(marker), r.stdout);
        assert.ok(!fs.existsSync(path.join(dir, "pwned")) && !fs.existsSync("pwned"));
    });
});

describe("src/host/scripts/wait-ready.sh re-run as the login user after every later step", () => {
    let dir: string;
    let sudo: FakeSudo;
    let stateDir: string;
    let marker: string;

    before(function () {
        if (!canRunAsLoginUser()) {
            skipTest(this, "running a script as an unprivileged user against a root-only directory", "root and setpriv");
        }
    });

    beforeEach(() => {
        dir = makeTempDir("wait-ready-rerun");
        sudo = new FakeSudo(dir);
        installFake(path.join(dir, "bin"), "cloud-init", "host/cloud-init.sh");
        fs.chmodSync(path.join(dir, "bin"), 0o755);
        fs.writeFileSync(path.join(dir, "cloud-init.log"), "", { mode: 0o666 });
        fs.chmodSync(path.join(dir, "cloud-init.log"), 0o666);
        // As the later steps leave it: /var/lib/capi-mgmt owned by root, mode 0700.
        stateDir = path.join(dir, "var", "lib", "capi-mgmt");
        fs.mkdirSync(stateDir, { recursive: true });
        fs.chmodSync(path.join(dir, "var"), 0o755);
        fs.chmodSync(path.join(dir, "var", "lib"), 0o755);
        fs.chmodSync(stateDir, 0o700);
        marker = path.join(stateDir, "cloud-init.done");
    });

    function run(): RunResult {
        const script = renderWaitReadyScript({ marker, timeoutSeconds: 5 });
        return sudo.runAsLoginUser(script, {
            PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
            FAKE_CLOUD_INIT_LOG: path.join(dir, "cloud-init.log"),
            FAKE_CLOUD_INIT_EXIT: "0",
        });
    }

    it("finds the marker in the root-only state directory, through sudo", () => {
        fs.writeFileSync(marker, "");
        assert.ok(fs.statSync(stateDir).uid === 0 && (fs.statSync(stateDir).mode & 0o777) === 0o700);
        const r = run();
        assertSuccess(r);
        assert.match(r.stdout, /wait-ready: server is ready/);
        assert.deepStrictEqual(sudo.calls(), ["-n true", `-n test -e ${marker}`]);
        assert.strictEqual(fs.readFileSync(path.join(dir, "cloud-init.log"), "utf8"), "status --wait\n", "cloud-init ran as the login user");
    });

    it("still fails when the marker is missing from the root-only directory", () => {
        const r = run();
        assertFailure(r);
        assert.ok(r.stderr.includes(`did not write the marker ${marker}`), r.stderr);
        assert.deepStrictEqual(sudo.calls(), ["-n true", `-n test -e ${marker}`]);
    });

    it("says that the login user needs passwordless sudo when sudo refuses", () => {
        fs.writeFileSync(marker, "");
        sudo.deny();
        const r = run();
        assertFailure(r);
        assert.match(
            r.stderr,
            /wait-ready: ERROR: cannot look for the marker .* as root: 'sudo -n true' failed \(sudo: a password is required\); the login user needs passwordless sudo/,
        );
    });
});
