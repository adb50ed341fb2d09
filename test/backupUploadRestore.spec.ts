/**
 * restore.sh --from swift:[OBJECT]: the restore fetching its backup with backup-upload.sh from the
 * fake Keystone and Swift of test/backupUploadBed.ts.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_MAX_AGE_HOURS, parseRestoreArgs, renderRestoreScript } from "../src/backup/restore";
import { assertFailure, assertSuccess, installFake, makeTempDir, RunResult } from "./fakes/shell";

describe("restore --from swift:[OBJECT]: restore.sh fetches the backup with backup-upload.sh", () => {
    it("parses swift:latest, swift: and swift:<object>, and refuses another name", () => {
        assert.deepStrictEqual(parseRestoreArgs(["--stack", "dev", "--from", "swift:latest"]), {
            stack: "dev",
            from: undefined,
            fromSwift: "latest",
            maxAgeHours: DEFAULT_MAX_AGE_HOURS,
            force: false,
        });
        assert.strictEqual(parseRestoreArgs(["--stack", "dev", "--from=swift:"])?.fromSwift, "latest");
        assert.strictEqual(parseRestoreArgs(["--stack", "dev", "--from", "swift:20260528T000000Z-manual.tar.gz"])?.fromSwift, "20260528T000000Z-manual.tar.gz");
        assert.throws(() => parseRestoreArgs(["--stack", "dev", "--from", "swift:../etc/passwd"]), /--from: "\.\.\/etc\/passwd" is not a backup's object name/);
        assert.strictEqual(parseRestoreArgs(["--stack", "dev", "--from", "./swift"])?.from, "./swift");
    });

    function restoreRun(dir: string, fromSwift: string, env: Record<string, string> = {}): RunResult {
        const bin = path.join(dir, "bin");
        installFake(bin, "clusterctl", "restore/clusterctl.sh");
        installFake(bin, "kubectl", "restore/kubectl.sh");
        installFake(bin, "date", "backup/date.sh");
        installFake(path.join(dir, "lib"), "backup-upload.sh", "backup/fetch-recorder.sh");
        fs.mkdirSync(path.join(dir, "state"), { recursive: true });
        fs.mkdirSync(path.join(dir, "root", "clusters"), { recursive: true });
        fs.writeFileSync(path.join(dir, "state", "now"), "1780000000");
        fs.writeFileSync(path.join(dir, "kubeconfig"), "fake");
        const text = renderRestoreScript({ namespace: "clusters", maxAgeHours: 24, force: false, fromSwift })
            .replace(/^readonly BACKUP_DIR=.*$/m, `readonly BACKUP_DIR='${dir}/backups'`)
            .replace(/^readonly MGMT_KUBECONFIG=.*$/m, `readonly MGMT_KUBECONFIG='${dir}/kubeconfig'`)
            .replace(/^readonly UPLOAD_SCRIPT=.*$/m, `readonly UPLOAD_SCRIPT='${dir}/lib/backup-upload.sh'`);
        const r = spawnSync("bash", ["-s"], {
            input: text,
            encoding: "utf8",
            env: {
                PATH: `${bin}:/usr/bin:/bin`,
                FAKE_LOG: path.join(dir, "log"),
                FAKE_ROOT: path.join(dir, "root"),
                FAKE_STATE: path.join(dir, "state"),
                ...env,
            },
        });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: 0 };
    }

    it("fetches the newest (or the named) object into a root-only work directory, restores it, and removes it", () => {
        const dir = makeTempDir("restore-swift");
        const r = restoreRun(dir, "latest");
        assertSuccess(r);
        assert.match(r.stdout, /restored 1 objects of namespace clusters, 1 Cluster\(s\): alpha, from the backup taken at 2026-05-28T20:26:40Z \(scheduled\)/);
        const calls = fs.readFileSync(path.join(dir, "state", "upload-calls"), "utf8");
        assert.match(calls, new RegExp(`^fetch ${dir}/backups/\\.restore-[A-Za-z0-9]+/backup\\n$`));
        assert.deepStrictEqual(fs.readdirSync(path.join(dir, "backups")), [], "the fetched backup is left on the server");
        const named = makeTempDir("restore-swift-named");
        assertSuccess(restoreRun(named, "20260528T000000Z-manual.tar.gz"));
        assert.match(fs.readFileSync(path.join(named, "state", "upload-calls"), "utf8"), /^fetch 20260528T000000Z-manual\.tar\.gz /);
    });

    it("fails, saying so, when the fetch fails or the upload script is not installed", () => {
        const dir = makeTempDir("restore-swift-fail");
        const r = restoreRun(dir, "latest", { FAKE_FETCH_FAIL: "1" });
        assertFailure(r);
        assert.match(r.stderr, /could not fetch the backup latest from object storage/);
        assert.deepStrictEqual(fs.readdirSync(path.join(dir, "root", "clusters")), [], "restored something");
        const none = makeTempDir("restore-swift-none");
        fs.mkdirSync(path.join(none, "lib"), { recursive: true });
        const text = renderRestoreScript({ namespace: "clusters", maxAgeHours: 24, force: false, fromSwift: "latest" })
            .replace(/^readonly BACKUP_DIR=.*$/m, `readonly BACKUP_DIR='${none}/backups'`)
            .replace(/^readonly MGMT_KUBECONFIG=.*$/m, `readonly MGMT_KUBECONFIG='${none}/kubeconfig'`)
            .replace(/^readonly UPLOAD_SCRIPT=.*$/m, `readonly UPLOAD_SCRIPT='${none}/lib/missing.sh'`);
        fs.writeFileSync(path.join(none, "kubeconfig"), "fake");
        const bin = path.join(none, "bin");
        installFake(bin, "clusterctl", "restore/clusterctl.sh");
        installFake(bin, "kubectl", "restore/kubectl.sh");
        const m = spawnSync("bash", ["-s"], { input: text, encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: path.join(none, "log") } });
        assert.strictEqual(m.status, 1);
        assert.match(m.stderr, /this server has no copy to object storage .*backupObjectStorage\.enabled/);
    });
});
