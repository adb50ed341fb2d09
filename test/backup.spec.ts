/**
 * src/host/scripts/backup.sh under bash with fake clusterctl, kubectl and date (test/fakes/backup/),
 * and `npm run backup`. Its install step and systemd units: test/backupSchedule.spec.ts. The
 * real clusterctl runs it in test/integration/backup.integration.ts.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BACKUP_FAILED_MARKER, renderBackupInstallScript, renderBackupScript } from "../src/backup/backup";
import { fakeBackupServer } from "./fakes/backupServer";
import { assertFailure, assertSuccess, hasShellcheck, installFake, makeTempDir, RunResult, shellcheck, skipTest } from "./fakes/shell";

/** A backup run in `dir`: fakes on PATH, the backups in `dir/backups`, now = `now` (epoch seconds). */
function backupRun(dir: string, opts: { mode?: string; now?: number; keep?: number; reason?: string } = {}): RunResult {
    const bin = path.join(dir, "bin");
    installFake(bin, "clusterctl", "backup/clusterctl.sh");
    installFake(bin, "kubectl", "backup/kubectl.sh");
    installFake(bin, "date", "backup/date.sh");
    fs.mkdirSync(path.join(dir, "state"), { recursive: true });
    fs.writeFileSync(path.join(dir, "state", "now"), String(opts.now ?? 1_780_000_000));
    fs.writeFileSync(path.join(dir, "kubeconfig"), "fake", { mode: 0o600 });
    const text = renderBackupScript({ namespace: "clusters", keep: opts.keep ?? 3 })
        .replace(/^readonly BACKUP_DIR=.*$/m, `readonly BACKUP_DIR='${dir}/backups'`)
        .replace(/^readonly MGMT_KUBECONFIG=.*$/m, `readonly MGMT_KUBECONFIG='${dir}/kubeconfig'`);
    const file = path.join(dir, "backup.sh");
    fs.writeFileSync(file, text, { mode: 0o700 });
    const r = spawnSync("bash", [file, ...(opts.reason ? [opts.reason] : [])], {
        encoding: "utf8",
        env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: path.join(dir, "log"), FAKE_STATE: path.join(dir, "state"), FAKE_CLUSTERCTL_MODE: opts.mode ?? "ok" },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: 0 };
}

const entries = (dir: string) =>
    fs
        .readdirSync(path.join(dir, "backups"))
        .filter((e) => !e.startsWith("."))
        .sort();

describe("src/host/scripts/backup.sh (fake clusterctl)", () => {
    it("passes shellcheck as rendered", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of the rendered backup script", "shellcheck");
        }
        const dir = makeTempDir("backup-sc");
        fs.writeFileSync(path.join(dir, "backup.sh"), renderBackupScript({ namespace: "clusters" }));
        fs.writeFileSync(path.join(dir, "backup-install.sh"), renderBackupInstallScript({ namespace: "clusters" }));
        shellcheck([path.join(dir, "backup.sh"), path.join(dir, "backup-install.sh")]);
    });

    it("saves the namespace with clusterctl move --to-directory into a root-only, timestamped directory, without the OpenStack credentials, and points latest at it", () => {
        const dir = makeTempDir("backup");
        const r = backupRun(dir);
        assertSuccess(r);
        const name = "20260528T202640Z-scheduled";
        assert.deepStrictEqual(entries(dir), [name, "last-success", "latest"]);
        assert.strictEqual(fs.readlinkSync(path.join(dir, "backups", "latest")), name);
        assert.strictEqual(fs.statSync(path.join(dir, "backups")).mode & 0o777, 0o700);
        const objects = fs.readdirSync(path.join(dir, "backups", name, "objects")).sort();
        assert.deepStrictEqual(
            objects,
            ["Cluster_clusters_alpha.yaml", "Image_clusters_ubuntu-2404.yaml", "Secret_clusters_alpha-ca.yaml", "Secret_clusters_alpha-kubeconfig.yaml"],
            "the credential Secrets (capo-system/capi-mgmt-openstack-credentials, clusters/openstack-credentials) are left out",
        );
        const log = fs.readFileSync(path.join(dir, "log"), "utf8");
        assert.match(
            log,
            new RegExp(`clusterctl move --kubeconfig ${dir}/kubeconfig --namespace clusters --to-directory ${dir}/backups/${name}.partial/objects\n`),
        );
        const env = fs.readFileSync(path.join(dir, "backups", name, "backup.env"), "utf8");
        assert.match(env, /^time=2026-05-28T20:26:40Z\nepoch=1780000000\nreason=scheduled\nnamespace=clusters\nobjects=4\nclusters=1\n$/);
        assert.strictEqual(fs.readFileSync(path.join(dir, "backups", "last-success"), "utf8"), env);
        assert.strictEqual(r.stdout, `backup: ${dir}/backups/${name}: 4 objects, 1 Cluster(s) of namespace clusters\n`);
    });

    it("keeps the newest KEEP backups and names each by time and reason", () => {
        const dir = makeTempDir("backup-keep");
        for (const [i, reason] of ["scheduled", "before-destroy", "scheduled", "manual"].entries()) {
            assertSuccess(backupRun(dir, { now: 1_780_000_000 + i * 3600, keep: 3, reason }));
        }
        assert.deepStrictEqual(entries(dir), [
            "20260528T212640Z-before-destroy",
            "20260528T222640Z-scheduled",
            "20260528T232640Z-manual",
            "last-success",
            "latest",
        ]);
        assert.strictEqual(fs.readlinkSync(path.join(dir, "backups", "latest")), "20260528T232640Z-manual");
        // Two in the same second get distinct names.
        assertSuccess(backupRun(dir, { now: 1_780_000_000 + 3 * 3600, keep: 3, reason: "manual" }));
        assert.strictEqual(fs.readlinkSync(path.join(dir, "backups", "latest")), "20260528T232640Z-manual-2");
    });

    const refusals: [string, RegExp][] = [
        [
            "paused",
            /FAILED: Cluster\(s\) paused: clusters\/alpha, clusters\/beta\. clusterctl does not back up a paused Cluster .*kubectl -n clusters patch cluster <name> --type merge -p '\{"spec":\{"paused":false\}\}'/,
        ],
        [
            "provisioning",
            /FAILED: a Cluster or Machine is still being created \(a cluster being built, or a rollout or scale-up under way: a Machine without its node yet\): Machine clusters\/alpha-md-0-x7k2p-abcde has no node yet; the control plane of Cluster clusters\/beta is not yet initialized\. clusterctl does not back up then/,
        ],
    ];
    for (const [mode, message] of refusals) {
        it(`reports clusterctl's refusal (${mode}) with what to do, fails, leaves FAILED and keeps the last good backup`, () => {
            const dir = makeTempDir(`backup-${mode}`);
            assertSuccess(backupRun(dir));
            const r = backupRun(dir, { mode, now: 1_780_003_600 });
            assertFailure(r);
            assert.match(r.stderr, message);
            const failed = fs.readFileSync(path.join(dir, "backups", BACKUP_FAILED_MARKER), "utf8");
            assert.match(failed, /^time=2026-05-28T21:26:40Z\nreason=scheduled\nmessage=/);
            assert.deepStrictEqual(entries(dir), ["20260528T202640Z-scheduled", BACKUP_FAILED_MARKER, "last-success", "latest"], "no partial backup is left");
            assert.doesNotMatch(fs.readFileSync(path.join(dir, "log"), "utf8"), /patch/, "a refusal pauses nothing, so nothing is resumed");
            // The next good backup clears the marker.
            assertSuccess(backupRun(dir, { now: 1_780_007_200 }));
            assert.ok(!fs.existsSync(path.join(dir, "backups", BACKUP_FAILED_MARKER)));
        });
    }

    it("resumes the Clusters clusterctl paused when it fails midway, and only those", () => {
        const dir = makeTempDir("backup-midway");
        fs.mkdirSync(path.join(dir, "state", "paused"), { recursive: true });
        fs.writeFileSync(path.join(dir, "state", "paused", "gamma"), ""); // paused by someone else before
        const r = backupRun(dir, { mode: "midway" });
        assertFailure(r);
        assert.match(r.stderr, /resuming Cluster clusters\/alpha, which clusterctl paused before it failed/);
        assert.match(r.stderr, /FAILED: clusterctl move --to-directory failed \(exit code 1, its output above\)/);
        assert.deepStrictEqual(fs.readdirSync(path.join(dir, "state", "paused")), ["gamma"]);
        assert.match(
            fs.readFileSync(path.join(dir, "log"), "utf8"),
            /patch clusters\.cluster\.x-k8s\.io alpha --type merge -p \{"spec":\{"paused":false\}\}\n/,
        );
    });
});

describe("npm run backup: the driver with fake pulumi and ssh, src/host/scripts/backup.sh with fake clusterctl, and the copy restored by npm run restore", function () {
    this.timeout(180000);
    const REPO = path.resolve(__dirname, "..");
    const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nS0VZLUJPRFktTkVWRVItUFJJTlRFRA==\n-----END OPENSSH PRIVATE KEY-----\n";

    /** Runs render/<driver>.ts with fakes in `bin`, the server's files in `dir/server`. */
    function driver(dir: string, bin: string, script: string, argv: string[], extra: Record<string, string> = {}) {
        fs.mkdirSync(path.join(dir, "server", "state"), { recursive: true });
        fs.writeFileSync(path.join(dir, "server", "kubeconfig"), "fake");
        fs.writeFileSync(
            path.join(dir, "outputs.json"),
            JSON.stringify({
                floatingIp: "192.0.2.10",
                sshKnownHosts: "192.0.2.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyOfTheStack",
                sshPrivateKey: KEY,
                deployed: { workloadNamespace: "clusters" },
            }),
        );
        const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(REPO, "render", script), ...argv], {
            cwd: REPO,
            encoding: "utf8",
            timeout: 120000,
            env: {
                PATH: `${bin}:${process.env.PATH}`,
                HOME: dir,
                FAKE_LOG: path.join(dir, "log"),
                FAKE_ROOT: path.join(dir, "server"),
                FAKE_STATE: path.join(dir, "server", "state"),
                FAKE_STACK: "dev",
                FAKE_OUTPUTS: path.join(dir, "outputs.json"),
                ...extra,
            },
        });
        for (const text of [r.stdout, r.stderr]) {
            assert.ok(!text.includes("S0VZLUJPRFktTkVWRVItUFJJTlRFRA"), `the login key was printed:\n${text}`);
        }
        return r;
    }

    it("backs up on the server (reason manual) and copies the backup to --to, 0700; npm run restore --from takes that copy", () => {
        const dir = makeTempDir("backup-cmd");
        const bin = fakeBackupServer(dir, { fakes: "backup", now: 1_780_000_000 });
        const copies = path.join(dir, "copies");
        const r = driver(dir, bin, "backup.ts", ["--stack", "dev", "--to", copies, "--keep", "2"]);
        assert.strictEqual(r.status, 0, r.stderr);
        const name = "20260528T202640Z-manual";
        assert.match(r.stdout, new RegExp(`^backup: ${dir}/server/backups/${name}: 4 objects, 1 Cluster\\(s\\) of namespace clusters$`, "m"));
        assert.match(
            r.stdout,
            new RegExp(`npm run backup: copied to ${copies}/${name} \\(restore it with: npm run restore -- --stack dev --from ${copies}/${name}\\)\\n$`),
        );
        assert.deepStrictEqual(
            fs.readdirSync(path.join(copies, name, "objects")).sort(),
            fs.readdirSync(path.join(dir, "server", "backups", name, "objects")).sort(),
        );
        assert.strictEqual(fs.statSync(path.join(copies, name)).mode & 0o777, 0o700);
        assert.match(fs.readFileSync(path.join(dir, "server", "script.sh"), "utf8"), /^readonly BACKUP_DIR=/m);

        // The copy, restored into a new server (restore's fakes; its clock: the backup's time, 2 h later).
        const fresh = makeTempDir("backup-cmd-new-server");
        const bin2 = fakeBackupServer(fresh, { fakes: "restore", now: 1_780_000_000 + 7200, bin: path.join(dir, "bin2") });
        const restored = driver(fresh, bin2, "restore.ts", ["--stack", "dev", "--from", path.join(copies, name)]);
        assert.strictEqual(restored.status, 0, restored.stderr);
        assert.match(
            restored.stdout,
            /^restore: restored 4 objects of namespace clusters, 1 Cluster\(s\): alpha, from the backup taken at 2026-05-28T20:26:40Z \(manual\)/,
        );
    });

    it("a refused backup: exit 1 with the server's message, nothing copied", () => {
        const dir = makeTempDir("backup-cmd-refused");
        const bin = fakeBackupServer(dir, { fakes: "backup", now: 1_780_000_000 });
        const r = driver(dir, bin, "backup.ts", ["--stack", "dev", "--to", path.join(dir, "copies")], { FAKE_CLUSTERCTL_MODE: "paused" });
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /backup: FAILED: Cluster\(s\) paused: clusters\/alpha, clusters\/beta/);
        assert.ok(!fs.existsSync(path.join(dir, "copies")));
    });

    it("bad arguments: exit 2 naming the flag", () => {
        const dir = makeTempDir("backup-cmd-args");
        const r = driver(dir, path.join(dir, "bin"), "backup.ts", ["--stack", "dev", "--keep", "0"]);
        assert.strictEqual(r.status, 2);
        assert.match(r.stderr, /^npm run backup: --keep: must be a whole number from 1 to 1000, got "0"/);
        const gone = driver(dir, path.join(dir, "bin"), "backup.ts", ["--stack", "dev", "--install-timer"]);
        assert.strictEqual(gone.status, 2);
        assert.match(gone.stderr, /^npm run backup: --install-timer: removed: `pulumi up` installs the backup timer/);
    });
});
