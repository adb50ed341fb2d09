/**
 * The stack output `lastBackup` (src/backup/backupStatus.ts): src/host/scripts/backup-status.sh
 * on this machine with the fake ssh of the rebuild check (the "server" is a directory here),
 * its parsing, and the output under the mock engine (the invoke answered by the mock cloud).
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_DIR } from "../src/backup/backup";
import { parseBackupStatus, renderBackupStatusScript } from "../src/backup/backupStatus";
import { REBUILD_CHECK_KEY_ENV } from "../src/lifecycle/rebuild";
import { valueOf } from "../render/engine";
import { assertSuccess, hasShellcheck, installFake, makeTempDir, runScript, shellcheck, skipTest } from "./fakes/shell";
import { runStack } from "./harness";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nS0VZLUJPRFktTkVWRVItUFJJTlRFRA==\n-----END OPENSSH PRIVATE KEY-----";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyOfTheStack";
const WHERE = { host: "192.0.2.10", loginUser: "ubuntu", volumeId: "vol-1" };

function status(backups: (dir: string) => void, env: Record<string, string> = {}) {
    const dir = makeTempDir("backup-status");
    const bin = path.join(dir, "bin");
    for (const tool of ["ssh", "sudo"]) {
        installFake(bin, tool, `rebuild/${tool}.sh`);
    }
    fs.writeFileSync(path.join(dir, "key"), `${KEY}\n`);
    const server = path.join(dir, "backups");
    fs.mkdirSync(server);
    backups(server);
    const script = renderBackupStatusScript("192.0.2.10", HOST_KEY, "ubuntu").replace(/^readonly BACKUP_DIR=.*$/m, `readonly BACKUP_DIR='${server}'`);
    const r = runScript(script, {
        PATH: `${bin}:/usr/bin:/bin`,
        HOME: dir,
        [REBUILD_CHECK_KEY_ENV]: KEY,
        FAKE_LOG: path.join(dir, "log"),
        FAKE_EXPECTED_KEY: path.join(dir, "key"),
        ...env,
    });
    assert.ok(!r.stdout.includes("S0VZLUJPRFktTkVWRVItUFJJTlRFRA"), "the key was printed");
    return r;
}

const good = (d: string) => {
    fs.mkdirSync(path.join(d, "20260528T202640Z-scheduled"));
    fs.symlinkSync("20260528T202640Z-scheduled", path.join(d, "latest"));
    fs.writeFileSync(
        path.join(d, "last-success"),
        "time=2026-05-28T20:26:40Z\nepoch=1780000000\nreason=scheduled\nnamespace=clusters\nobjects=4\nclusters=1\n",
    );
};

describe("lastBackup: src/host/scripts/backup-status.sh and its parsing", function () {
    this.timeout(60000);

    it("passes shellcheck as rendered", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of backup-status.sh", "shellcheck");
        }
        const dir = makeTempDir("backup-status-sc");
        fs.writeFileSync(path.join(dir, "s.sh"), renderBackupStatusScript("192.0.2.10", HOST_KEY, "ubuntu"));
        shellcheck([path.join(dir, "s.sh")]);
    });

    it("a good backup: its time, reason, Cluster count and location (server, directory, volume)", () => {
        const r = status(good);
        assertSuccess(r);
        assert.deepStrictEqual(parseBackupStatus(r.stdout, WHERE), {
            status: "ok",
            time: "2026-05-28T20:26:40Z",
            location: `ubuntu@192.0.2.10:${BACKUP_DIR}/20260528T202640Z-scheduled`,
            volumeId: "vol-1",
            reason: "scheduled",
            clusters: 1,
        });
    });

    it("a failed last attempt: status failed with its time and message, the last good one still named", () => {
        const r = status((d) => {
            good(d);
            fs.writeFileSync(path.join(d, "FAILED"), "time=2026-05-29T02:03:00Z\nreason=scheduled\nmessage=Cluster(s) paused: clusters/alpha\n");
        });
        const s = parseBackupStatus(r.stdout, WHERE);
        assert.strictEqual(s.status, "failed");
        assert.deepStrictEqual(s.failure, { time: "2026-05-29T02:03:00Z", message: "Cluster(s) paused: clusters/alpha" });
        assert.strictEqual(s.time, "2026-05-28T20:26:40Z");
    });

    it("no backup yet: status none", () => {
        assert.strictEqual(parseBackupStatus(status(() => undefined).stdout, WHERE).status, "none");
    });

    it("a server that does not answer: status unknown with why, and the run does not fail", () => {
        const r = status(good, { FAKE_SSH: "unreachable" });
        assertSuccess(r);
        const s = parseBackupStatus(r.stdout, WHERE);
        assert.strictEqual(s.status, "unknown");
        assert.match(s.note ?? "", /^ssh to ubuntu@192\.0\.2\.10 failed \(exit 255: ssh: connect to host .* Connection timed out\)/);
    });
});

describe("lastBackup: the stack output (mock engine)", function () {
    this.timeout(300000);

    it("is the server's answer at this run, not secret; no resource holds it", async () => {
        const run = await runStack("dev", {}, { backupStatus: "latest=20260528T202640Z-manual\ntime=2026-05-28T20:26:40Z\nreason=manual\nclusters=2\n" });
        const out = await valueOf(run.outputs.lastBackup);
        assert.strictEqual(out.status, "ok");
        assert.strictEqual(out.reason, "manual");
        assert.strictEqual(out.clusters, 2);
        assert.match(out.location, /^ubuntu@.*:\/var\/lib\/capi-mgmt\/backups\/20260528T202640Z-manual$/);
        assert.strictEqual(await pulumi.isSecret(run.outputs.lastBackup), false);
        assert.ok(!run.all("command:local:Command").some((c) => c.name.includes("backup")), "no resource");
    });
});
