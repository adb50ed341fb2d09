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
import { DEFAULT_MAX_AGE_HOURS, parseRestoreArgs, renderRestoreScript } from "../src/backup/restore";
import {
    backupAccessRules,
    BACKUP_OBJECT_STORAGE_CONFIG,
    BACKUP_UPLOAD_SCRIPT_PATH,
    objectStoreEndpoint,
    renderBackupUploadScript,
    renderObjectStorageConfig,
    renderObjectStorageInstallScript,
} from "../src/backup/objectStorage";
import { assertFailure, assertSuccess, hasShellcheck, installFake, makeTempDir, RunResult, shellcheck, skipTest } from "./fakes/shell";

const SECRET = "s3cr3t-Backup_Secret";
const CONFIG = {
    authUrl: "https://keystone.example:5000",
    credentialId: "backupcred0001",
    credentialSecret: SECRET,
    storageUrl: "https://swift.example/v1/AUTH_p1",
    container: "dev-backups",
    keep: 3,
    maxAgeDays: 0,
};

interface Bed {
    dir: string;
    swift: string;
    log: string;
    backups: string;
}

function bed(opts: { container?: string; secret?: string } = {}): Bed {
    const dir = makeTempDir("backup-upload");
    const swift = path.join(dir, "swift");
    fs.mkdirSync(path.join(swift, "objects"), { recursive: true });
    fs.writeFileSync(path.join(swift, "secret"), opts.secret ?? SECRET);
    fs.writeFileSync(path.join(swift, "container"), opts.container ?? CONFIG.container);
    const bin = path.join(dir, "bin");
    installFake(bin, "curl", "backup/swift-curl.sh");
    installFake(bin, "date", "backup/date.sh");
    fs.mkdirSync(path.join(dir, "state"));
    fs.writeFileSync(path.join(dir, "state", "now"), String(1_780_000_000)); // 2026-05-28T20:26:40Z
    return { dir, swift, log: path.join(dir, "log"), backups: path.join(dir, "backups") };
}

/** A backup directory of backup.sh named `name` with one object whose text is `text`. */
function makeBackup(b: Bed, name: string, text = `cluster of ${name}`): string {
    const d = path.join(b.backups, name);
    fs.mkdirSync(path.join(d, "objects"), { recursive: true });
    fs.writeFileSync(path.join(d, "objects", "Cluster_clusters_alpha.yaml"), text);
    fs.writeFileSync(path.join(d, "backup.env"), `time=x\nepoch=1\nreason=scheduled\nnamespace=clusters\n`);
    fs.rmSync(path.join(b.backups, "latest"), { force: true });
    fs.symlinkSync(name, path.join(b.backups, "latest"));
    return d;
}

function writeConfig(b: Bed, over: Partial<typeof CONFIG> = {}): string {
    const f = path.join(b.dir, "backup-object-storage.env");
    fs.writeFileSync(f, renderObjectStorageConfig({ ...CONFIG, ...over }), { mode: 0o600 });
    return f;
}

function script(b: Bed): string {
    const f = path.join(b.dir, "backup-upload.sh");
    fs.writeFileSync(
        f,
        renderBackupUploadScript()
            .replace(/^readonly BACKUP_DIR=.*$/m, `readonly BACKUP_DIR='${b.backups}'`)
            .replace(/^readonly CONFIG_FILE=.*$/m, `readonly CONFIG_FILE='${path.join(b.dir, "backup-object-storage.env")}'`),
        { mode: 0o700 },
    );
    return f;
}

function run(b: Bed, args: string[], env: Record<string, string> = {}): RunResult {
    const r = spawnSync("bash", [script(b), ...args], {
        encoding: "utf8",
        env: { PATH: `${path.join(b.dir, "bin")}:/usr/bin:/bin`, FAKE_SWIFT: b.swift, FAKE_LOG: b.log, FAKE_STATE: path.join(b.dir, "state"), ...env },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: 0 };
}

const objects = (b: Bed) => fs.readdirSync(path.join(b.swift, "objects")).sort();

function untar(file: string): Record<string, string> {
    const out = makeTempDir("untar");
    assert.strictEqual(spawnSync("tar", ["-xzf", file, "-C", out]).status, 0);
    const files: Record<string, string> = {};
    const walk = (d: string, rel: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const r = rel ? `${rel}/${e.name}` : e.name;
            if (e.isDirectory()) {
                walk(path.join(d, e.name), r);
            } else {
                files[r] = fs.readFileSync(path.join(d, e.name), "utf8");
            }
        }
    };
    walk(out, "");
    return files;
}

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

describe("object storage: access rules, endpoint, configuration", () => {
    it("allows listing the container and reading, writing, deleting its objects, nothing else", () => {
        assert.deepStrictEqual(backupAccessRules("https://swift.example:8080/v1/AUTH_p1", "dev-backups"), [
            { service: "object-store", method: "GET", path: "/v1/AUTH_p1/dev-backups" },
            { service: "object-store", method: "GET", path: "/v1/AUTH_p1/dev-backups/*" },
            { service: "object-store", method: "PUT", path: "/v1/AUTH_p1/dev-backups/*" },
            { service: "object-store", method: "DELETE", path: "/v1/AUTH_p1/dev-backups/*" },
        ]);
        assert.throws(
            () => backupAccessRules("https://swift.example/v1/AUTH_p1", "a/b"),
            /backupObjectStorage\.container: "a\/b" is not a Swift container name/,
        );
    });

    it("finds the public object-store endpoint of the region, and says so when there is none", () => {
        const catalog = [
            {
                type: "object-store",
                endpoints: [
                    { interface: "internal", region: "r1", url: "http://internal/v1/AUTH_p" },
                    { interface: "public", region: "r1", url: "https://r1.example/v1/AUTH_p/" },
                    { interface: "public", region: "r2", url: "https://r2.example/v1/AUTH_p" },
                ],
            },
        ];
        assert.strictEqual(objectStoreEndpoint(catalog, "r2"), "https://r2.example/v1/AUTH_p");
        assert.strictEqual(objectStoreEndpoint(catalog), "https://r1.example/v1/AUTH_p");
        assert.throws(() => objectStoreEndpoint([]), /backupObjectStorage\.enabled: the service catalog has no public object-store \(Swift\) endpoint/);
    });

    it("installs the script and the root-only configuration, idempotently, printing no secret", function () {
        const dir = makeTempDir("backup-os-install");
        const text = renderObjectStorageInstallScript(CONFIG)
            .replace(`readonly SCRIPT_PATH='${BACKUP_UPLOAD_SCRIPT_PATH}'`, `readonly SCRIPT_PATH='${dir}/lib/backup-upload.sh'`)
            .replace(`readonly CONFIG_PATH='${BACKUP_OBJECT_STORAGE_CONFIG}'`, `readonly CONFIG_PATH='${dir}/state/backup-object-storage.env'`);
        const first = spawnSync("bash", ["-s"], { input: text, encoding: "utf8" });
        assert.strictEqual(first.status, 0, first.stderr);
        assert.ok(!`${first.stdout}${first.stderr}`.includes(SECRET));
        assert.strictEqual(fs.statSync(`${dir}/state/backup-object-storage.env`).mode & 0o777, 0o600);
        assert.strictEqual(fs.statSync(`${dir}/lib/backup-upload.sh`).mode & 0o777, 0o700);
        assert.match(fs.readFileSync(`${dir}/state/backup-object-storage.env`, "utf8"), new RegExp(`^CREDENTIAL_SECRET=${SECRET}$`, "m"));
        const second = spawnSync("bash", ["-s"], { input: text, encoding: "utf8" });
        assert.strictEqual(second.status, 0);
        assert.strictEqual(second.stdout, "", "a second run rewrote a file");
    });
});

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
