/**
 * src/host/scripts/backup-upload.sh under bash with a fake curl speaking Keystone's and Swift's
 * APIs (test/fakes/backup/swift-curl.sh) and the fake clock's date; its install script; and its
 * call from backup.sh. The real Swift of the OpenStack test bed runs it in
 * test/integration/backupObjectStorage.integration.ts.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderBackupScript } from "../src/backup/backup";
import { renderBackupUploadScript, renderObjectStorageInstallScript } from "../src/backup/objectStorage";
import { assertFailure, assertSuccess, hasShellcheck, installFake, makeTempDir, RunResult, shellcheck, skipTest } from "./fakes/shell";
import { bed, CONFIG, makeBackup, objects, run, SECRET, untar, writeConfig } from "./backupUploadBed";

describe("src/host/scripts/backup-upload.sh (fake Keystone and Swift)", () => {
    it("passes shellcheck as rendered, with its install script", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of the rendered backup upload scripts", "shellcheck");
        }
        const dir = makeTempDir("backup-upload-sc");
        fs.writeFileSync(path.join(dir, "backup-upload.sh"), renderBackupUploadScript());
        fs.writeFileSync(path.join(dir, "backup-object-storage.sh"), renderObjectStorageInstallScript(CONFIG));
        shellcheck([path.join(dir, "backup-upload.sh"), path.join(dir, "backup-object-storage.sh")]);
    });

    it("uploads the latest backup as one tar.gz named after it, with the token and secret never on a command line", () => {
        const b = bed();
        writeConfig(b);
        makeBackup(b, "20260528T200000Z-scheduled");
        const r = run(b, []);
        assertSuccess(r);
        assert.deepStrictEqual(objects(b), ["20260528T200000Z-scheduled.tar.gz"]);
        assert.deepStrictEqual(untar(path.join(b.swift, "objects", "20260528T200000Z-scheduled.tar.gz")), {
            "backup.env": "time=x\nepoch=1\nreason=scheduled\nnamespace=clusters\n",
            "objects/Cluster_clusters_alpha.yaml": "cluster of 20260528T200000Z-scheduled",
        });
        assert.strictEqual(r.stdout, "backup-upload: https://swift.example/v1/AUTH_p1/dev-backups/20260528T200000Z-scheduled.tar.gz\n");
        const log = fs.readFileSync(b.log, "utf8");
        assert.match(log, /^POST https:\/\/keystone\.example:5000\/v3\/auth\/tokens /m, "/v3 is added to an auth URL without it");
        assert.match(log, /^PUT https:\/\/swift\.example\/v1\/AUTH_p1\/dev-backups\/20260528T200000Z-scheduled\.tar\.gz ARGS .*-H ETag: [0-9a-f]{32}/m);
        assert.ok(!log.includes(SECRET), "the credential's secret appeared in curl's arguments");
        assert.ok(!log.includes("fake-token"), "the token appeared in curl's arguments");
    });

    it("keeps the newest KEEP backups in the container and leaves objects that are no backups alone", () => {
        const b = bed();
        writeConfig(b, { keep: 2 });
        fs.writeFileSync(path.join(b.swift, "objects", "notes.txt"), "mine");
        for (const name of ["20260528T010000Z-scheduled", "20260528T070000Z-before-destroy", "20260528T130000Z-scheduled", "20260528T130000Z-scheduled-2"]) {
            makeBackup(b, name);
            assertSuccess(run(b, []));
        }
        assert.deepStrictEqual(objects(b), ["20260528T130000Z-scheduled-2.tar.gz", "20260528T130000Z-scheduled.tar.gz", "notes.txt"]);
    });

    it("deletes backups older than MAX_AGE_DAYS by the clock, but never the newest", () => {
        const b = bed();
        writeConfig(b, { keep: 10, maxAgeDays: 2 });
        // now: 2026-05-28T20:26:40Z; the cutoff 2026-05-26T20:26:40Z.
        for (const name of ["20260520T000000Z-scheduled", "20260526T200000Z-scheduled", "20260527T000000Z-manual"]) {
            makeBackup(b, name);
            assertSuccess(run(b, []));
        }
        assert.deepStrictEqual(objects(b), ["20260527T000000Z-manual.tar.gz"]);
        // Only old backups: the newest stays whatever its age.
        const old = bed();
        writeConfig(old, { keep: 10, maxAgeDays: 1 });
        makeBackup(old, "20260101T000000Z-scheduled");
        assertSuccess(run(old, []));
        assert.deepStrictEqual(objects(old), ["20260101T000000Z-scheduled.tar.gz"]);
    });

    it("fails loudly when Keystone refuses the credential, uploading nothing", () => {
        const b = bed({ secret: "another" });
        writeConfig(b);
        makeBackup(b, "20260528T200000Z-scheduled");
        const r = run(b, []);
        assertFailure(r);
        assert.match(r.stderr, /FAILED: Keystone refused the backup credential backupcred0001 at https:\/\/keystone\.example:5000\/v3 \(HTTP 401/);
        assert.deepStrictEqual(objects(b), []);
    });

    it("fails loudly when Swift refuses the upload or the container (another container: the access rules)", () => {
        const b = bed();
        writeConfig(b);
        makeBackup(b, "20260528T200000Z-scheduled");
        const refused = run(b, [], { FAKE_SWIFT_FAIL: "PUT:503" });
        assertFailure(refused);
        assert.match(refused.stderr, /FAILED: uploading 20260528T200000Z-scheduled\.tar\.gz to container dev-backups failed \(HTTP 503: fake failure\)/);
        const other = bed({ container: "someone-elses" });
        writeConfig(other);
        makeBackup(other, "20260528T200000Z-scheduled");
        const r = run(other, []);
        assertFailure(r);
        assert.match(r.stderr, /HTTP 403/);
        // A failed listing (retention) fails too, after the upload.
        const list = bed();
        writeConfig(list);
        makeBackup(list, "20260528T200000Z-scheduled");
        const l = run(list, [], { FAKE_SWIFT_FAIL: "GET:500" });
        assertFailure(l);
        assert.match(l.stderr, /FAILED: listing container dev-backups failed \(HTTP 500/);
    });

    it("fetches the newest backup, or a named one, into a new directory with the same bytes", () => {
        const b = bed();
        writeConfig(b, { keep: 5 });
        for (const name of ["20260527T000000Z-scheduled", "20260528T000000Z-manual"]) {
            makeBackup(b, name, `bytes of ${name}`);
            assertSuccess(run(b, []));
        }
        const newest = path.join(b.dir, "restore-newest");
        const r = run(b, ["fetch", newest]);
        assertSuccess(r);
        assert.strictEqual(fs.readFileSync(path.join(newest, "objects", "Cluster_clusters_alpha.yaml"), "utf8"), "bytes of 20260528T000000Z-manual");
        const named = path.join(b.dir, "restore-named");
        assertSuccess(run(b, ["fetch", "20260527T000000Z-scheduled.tar.gz", named]));
        assert.strictEqual(fs.readFileSync(path.join(named, "objects", "Cluster_clusters_alpha.yaml"), "utf8"), "bytes of 20260527T000000Z-scheduled");
        const missing = run(b, ["fetch", "20200101T000000Z-scheduled.tar.gz", path.join(b.dir, "x")]);
        assertFailure(missing);
        assert.match(missing.stderr, /downloading dev-backups\/20200101T000000Z-scheduled\.tar\.gz failed \(HTTP 404/);
        const empty = bed();
        writeConfig(empty);
        assertFailure(run(empty, ["fetch", path.join(empty.dir, "y")]));
        assert.strictEqual(run(b, ["list"]).stdout, "20260527T000000Z-scheduled.tar.gz\n20260528T000000Z-manual.tar.gz\n");
    });

    it("without its configuration: an upload does nothing (exit 0), a fetch fails", () => {
        const b = bed();
        makeBackup(b, "20260528T200000Z-scheduled");
        const r = run(b, []);
        assertSuccess(r);
        assert.match(r.stderr, /object storage not configured, nothing uploaded/);
        assert.ok(!fs.existsSync(b.log), "curl was called");
        assertFailure(run(b, ["fetch", path.join(b.dir, "z")]));
    });
});

describe("backup.sh calls backup-upload.sh after a good backup", () => {
    function backupRun(dir: string, upload: string | undefined, now = 1_780_000_000): RunResult {
        const bin = path.join(dir, "bin");
        installFake(bin, "clusterctl", "backup/clusterctl.sh");
        installFake(bin, "kubectl", "backup/kubectl.sh");
        installFake(bin, "date", "backup/date.sh");
        fs.mkdirSync(path.join(dir, "state"), { recursive: true });
        fs.writeFileSync(path.join(dir, "state", "now"), String(now));
        fs.writeFileSync(path.join(dir, "kubeconfig"), "fake", { mode: 0o600 });
        const file = path.join(dir, "backup.sh");
        fs.writeFileSync(
            file,
            renderBackupScript({ namespace: "clusters", keep: 3 })
                .replace(/^readonly BACKUP_DIR=.*$/m, `readonly BACKUP_DIR='${dir}/backups'`)
                .replace(/^readonly MGMT_KUBECONFIG=.*$/m, `readonly MGMT_KUBECONFIG='${dir}/kubeconfig'`),
        );
        const r = spawnSync("bash", [file], {
            encoding: "utf8",
            env: {
                PATH: `${bin}:/usr/bin:/bin`,
                FAKE_LOG: path.join(dir, "log"),
                FAKE_STATE: path.join(dir, "state"),
                FAKE_CLUSTERCTL_MODE: "ok",
                BACKUP_UPLOAD_SCRIPT: upload ?? path.join(dir, "no-such-script"),
            },
        });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: 0 };
    }

    it("passes the new backup's directory; a failed upload fails the backup and leaves FAILED, the local backup kept", () => {
        const dir = makeTempDir("backup-calls-upload");
        installFake(path.join(dir, "lib"), "upload.sh", "backup/upload-recorder.sh");
        const upload = path.join(dir, "lib", "upload.sh");
        fs.mkdirSync(path.join(dir, "state"), { recursive: true });
        fs.writeFileSync(path.join(dir, "state", "upload-exit"), "0");
        assertSuccess(backupRun(dir, upload));
        assert.strictEqual(fs.readFileSync(path.join(dir, "state", "upload-calls"), "utf8"), `upload ${dir}/backups/20260528T202640Z-scheduled\n`);
        fs.writeFileSync(path.join(dir, "state", "upload-exit"), "1");
        const r = backupRun(dir, upload, 1_780_003_600);
        assertFailure(r);
        const failed = fs.readFileSync(path.join(dir, "backups", "FAILED"), "utf8");
        assert.match(failed, /message=copying .*20260528T212640Z-scheduled to object storage failed \(.*upload\.sh exit code 1/);
        assert.strictEqual(fs.readlinkSync(path.join(dir, "backups", "latest")), "20260528T212640Z-scheduled");
    });

    it("without the upload script installed, backs up as before", () => {
        const dir = makeTempDir("backup-no-upload");
        assertSuccess(backupRun(dir, undefined));
        assert.ok(!fs.existsSync(path.join(dir, "backups", "FAILED")));
    });
});
