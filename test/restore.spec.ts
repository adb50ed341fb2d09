/**
 * `npm run restore`: its arguments, and the driver with fake pulumi and ssh, the ssh running
 * src/host/scripts/restore.sh under bash with fake kubectl and clusterctl on the virtual clock
 * (test/fakes/clock.ts). The real clusterctl restores in test/integration/backup.integration.ts.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_MAX_AGE_HOURS, parseRestoreArgs, RestoreUsageError } from "../src/backup/restore";
import { CLOCK_START_MS, FakeClock } from "./fakes/clock";
import { installFake, logLines, makeTempDir } from "./fakes/shell";

const REPO = path.resolve(__dirname, "..");
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nS0VZLUJPRFktTkVWRVItUFJJTlRFRA==\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_LINE = "192.0.2.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyOfTheStack";
/** The content of the backed-up CA Secret: never printed. */
const CA_SECRET = "c2VjcmV0LWNhLWtleS1vZi1hbHBoYQ==";
const HOUR = 3600;

function usageError(argv: string[]): string {
    try {
        parseRestoreArgs(argv);
    } catch (e) {
        assert.ok(e instanceof RestoreUsageError, String(e));
        return e.message;
    }
    assert.fail(`no error for ${argv.join(" ")}`);
}

describe("restore (npm run restore): arguments", () => {
    it("parses --stack, --from, --max-age and --force", () => {
        assert.deepStrictEqual(parseRestoreArgs(["--stack", "dev"]), { stack: "dev", from: undefined, maxAgeHours: DEFAULT_MAX_AGE_HOURS, force: false });
        assert.deepStrictEqual(parseRestoreArgs(["--stack=org/capi-mgmt/prod", "--from", "b/20260601T000000Z-scheduled", "--max-age=48", "--force"]), {
            stack: "org/capi-mgmt/prod",
            from: "b/20260601T000000Z-scheduled",
            maxAgeHours: 48,
            force: true,
        });
        assert.strictEqual(parseRestoreArgs(["--help"]), undefined);
    });

    it("refuses bad arguments, naming the flag", () => {
        const cases: [string[], RegExp][] = [
            [[], /^--stack: required/],
            [["--stack", "a b"], /^--stack: "a b" is not a stack name/],
            [["--stack", "dev", "--max-age", "0"], /^--max-age: must be a whole number of hours from 1 to 8760, got "0"/],
            [["--stack", "dev", "--max-age", "1.5"], /^--max-age: must be a whole number/],
            [["--stack", "dev", "--force", "--force"], /^--force: given twice/],
            [["--stack", "dev", "--from"], /^--from: needs a value/],
            [["--stack", "dev", "--yes"], /^--yes: unknown flag/],
            [["--stack", "dev", "latest"], /^unexpected argument "latest"/],
        ];
        for (const [argv, message] of cases) {
            assert.match(usageError(argv), message, argv.join(" "));
        }
    });
});

/** This machine with fake pulumi and ssh; the "server" (fake kubectl, clusterctl, clock) in `root`. */
class Workstation {
    readonly dir = makeTempDir("restore");
    readonly bin = path.join(this.dir, "bin");
    readonly root = path.join(this.dir, "server");
    readonly tmp = path.join(this.dir, "tmp");
    readonly log = path.join(this.dir, "log");
    readonly clock = new FakeClock(path.join(this.dir, "clock"));

    constructor() {
        installFake(this.bin, "pulumi", "check/pulumi.sh");
        installFake(this.bin, "ssh", "restore/ssh.sh");
        installFake(this.bin, "kubectl", "restore/kubectl.sh");
        installFake(this.bin, "clusterctl", "restore/clusterctl.sh");
        fs.mkdirSync(this.tmp);
        fs.mkdirSync(path.join(this.root, "backups"), { recursive: true });
        fs.writeFileSync(path.join(this.root, "kubeconfig"), "fake", { mode: 0o600 });
        fs.writeFileSync(
            path.join(this.dir, "outputs.json"),
            JSON.stringify({
                floatingIp: "192.0.2.10",
                sshKnownHosts: HOST_LINE,
                sshPrivateKey: PRIVATE_KEY,
                deployed: { serverGeneration: 2, workloadNamespace: "clusters" },
            }),
        );
        fs.writeFileSync(this.log, "");
    }

    /** A backup directory as src/host/scripts/backup.sh leaves it, taken `ageSeconds` before the clock's now. */
    backup(parent: string, ageSeconds: number, name = "20260531T000000Z-scheduled"): string {
        const d = path.join(parent, name);
        fs.mkdirSync(path.join(d, "objects"), { recursive: true });
        fs.writeFileSync(path.join(d, "objects", "Cluster_clusters_alpha.yaml"), '{"kind":"Cluster","metadata":{"name":"alpha","namespace":"clusters"}}');
        fs.writeFileSync(path.join(d, "objects", "Secret_clusters_alpha-ca.yaml"), `{"kind":"Secret","data":{"tls.key":"${CA_SECRET}"}}`);
        const epoch = Math.floor(CLOCK_START_MS / 1000) - ageSeconds;
        fs.writeFileSync(
            path.join(d, "backup.env"),
            `time=${new Date(epoch * 1000).toISOString().replace(/\.000Z$/, "Z")}\nepoch=${epoch}\nreason=scheduled\nnamespace=clusters\nobjects=2\nclusters=1\n`,
        );
        return d;
    }

    /** The server's own latest backup. */
    serverBackup(ageSeconds: number): string {
        const d = this.backup(path.join(this.root, "backups"), ageSeconds);
        fs.symlinkSync(path.basename(d), path.join(this.root, "backups", "latest"));
        return d;
    }

    run(argv: string[], extra: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
        const env = this.clock.env({
            PATH: `${this.bin}:${process.env.PATH}`,
            HOME: this.dir,
            TMPDIR: this.tmp,
            FAKE_LOG: this.log,
            FAKE_ROOT: this.root,
            FAKE_STACK: "dev",
            FAKE_OUTPUTS: path.join(this.dir, "outputs.json"),
            ...extra,
        });
        const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(REPO, "render", "restore.ts"), ...argv], {
            cwd: REPO,
            env,
            encoding: "utf8",
            timeout: 120000,
        });
        const out = { status: r.status, stdout: r.stdout, stderr: r.stderr };
        for (const text of [out.stdout, out.stderr]) {
            assert.ok(!text.includes("S0VZLUJPRFktTkVWRVItUFJJTlRFRA"), `the login key was printed:\n${text}`);
            assert.ok(!text.includes(CA_SECRET), `a backed-up secret was printed:\n${text}`);
        }
        assert.deepStrictEqual(
            fs.readdirSync(this.tmp).filter((f) => f.startsWith("capi-mgmt-ssh-")),
            [],
            "the key's temporary directory is left behind",
        );
        return out;
    }

    calls(): string[] {
        return logLines(this.log);
    }
}

describe("restore (npm run restore): the driver with fake pulumi and ssh, src/host/scripts/restore.sh with fake clusterctl", function () {
    this.timeout(180000);

    it("restores the server's latest backup with clusterctl move --from-directory over ssh with the host key pinned", () => {
        const w = new Workstation();
        const b = w.serverBackup(2 * HOUR);
        const r = w.run(["--stack", "dev"]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(
            r.stdout,
            "restore: restored 2 objects of namespace clusters, 1 Cluster(s): alpha, from the backup taken at 2026-05-31T22:00:00Z (scheduled); Cluster API on this server manages them now\n",
        );
        assert.match(
            r.stderr,
            /restoring the server's latest backup into the management cluster of ubuntu@192\.0\.2\.10 \(stack dev, namespace clusters, max age 24h\)/,
        );
        const calls = w.calls();
        assert.strictEqual(calls[0], "pulumi stack output --json --show-secrets --stack dev");
        assert.match(calls[1], /^ssh -i \S+\/id .*-o StrictHostKeyChecking=yes -o UserKnownHostsFile=\S+\/known_hosts .*-T ubuntu@192\.0\.2\.10 sudo bash -s$/);
        assert.strictEqual(calls[2], "key mode 600 known_hosts mode 600");
        assert.ok(calls.includes(`clusterctl move --to-kubeconfig ${w.root}/kubeconfig --from-directory ${b}/objects`), calls.join("\n"));
        assert.ok(fs.existsSync(path.join(w.root, "clusters", "alpha")), "the Cluster is on the server");
    });

    it("uploads a backup from this machine with --from (inside the script on stdin) and removes it from the server afterwards", () => {
        const w = new Workstation();
        const local = w.backup(path.join(w.dir, "copied"), HOUR, "20260531T230000Z-before-rebuild");
        const r = w.run(["--stack", "dev", "--from", local]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /^restore: restored 2 objects of namespace clusters, 1 Cluster\(s\): alpha, from the backup taken at 2026-05-31T23:00:00Z/);
        const restored = w.calls().find((l) => l.startsWith("clusterctl move"));
        assert.match(restored ?? "", new RegExp(`--from-directory ${w.root}/backups/\\.restore-\\w+/objects$`));
        assert.ok(w.calls().includes(`restores Secret_clusters_alpha-ca.yaml: {"kind":"Secret","data":{"tls.key":"${CA_SECRET}"}}`), "the files arrive intact");
        assert.deepStrictEqual(fs.readdirSync(path.join(w.root, "backups")), [], "the upload is removed");
        assert.ok(!w.calls().some((l) => l.includes(CA_SECRET) && l.startsWith("ssh")), "the backup is not on ssh's command line");
        assert.match(
            fs.readFileSync(path.join(w.root, "script.sh"), "utf8"),
            /^readonly UPLOAD='H4sI/m,
            "the backup travels in the script as base64 of a tar.gz",
        );
    });

    it("refuses a backup older than --max-age (virtual clock) and restores it with --force, warning", () => {
        const w = new Workstation();
        w.serverBackup(25 * HOUR);
        const r = w.run(["--stack", "dev"]);
        assert.strictEqual(r.status, 1);
        assert.match(
            r.stderr,
            /restore: this server's latest backup \(\S+\) was taken at 2026-05-30T23:00:00Z \(scheduled\), 25h00m ago: older than the maximum age of 24h00m\. .*--force/,
        );
        assert.ok(!w.calls().some((l) => l.startsWith("clusterctl")), "nothing restored");
        const ok = w.run(["--stack", "dev", "--max-age", "26"]);
        assert.strictEqual(ok.status, 0, ok.stderr);
        fs.rmSync(path.join(w.root, "clusters"), { recursive: true });
        w.clock.setMs(CLOCK_START_MS + 10 * HOUR * 1000);
        const forced = w.run(["--stack", "dev", "--force"]);
        assert.strictEqual(forced.status, 0, forced.stderr);
        assert.match(forced.stderr, /WARNING: restoring a backup 35h00m old \(taken at 2026-05-30T23:00:00Z\), older than the maximum age of 24h00m: forced/);
    });

    it("refuses when the management cluster already has Clusters in the namespace, before clusterctl runs", () => {
        const w = new Workstation();
        w.serverBackup(HOUR);
        fs.mkdirSync(path.join(w.root, "clusters"));
        fs.writeFileSync(path.join(w.root, "clusters", "alpha"), "");
        const r = w.run(["--stack", "dev"]);
        assert.strictEqual(r.status, 1);
        assert.match(
            r.stderr,
            /restore: the management cluster already has Clusters in namespace clusters: alpha\. A restore would give Cluster API a second copy of each/,
        );
        assert.ok(!w.calls().some((l) => l.startsWith("clusterctl")));
    });

    it("says what to do when the server has no backup, and when clusterctl fails midway", () => {
        const w = new Workstation();
        const none = w.run(["--stack", "dev"]);
        assert.strictEqual(none.status, 1);
        assert.match(
            none.stderr,
            /this server has no backup \(\S+\/backups\/latest is missing: a new server starts without one\); give one with --from <directory>/,
        );
        const local = w.backup(path.join(w.dir, "copied"), HOUR);
        const failed = w.run(["--stack", "dev", "--from", local], { FAKE_CLUSTERCTL_FAIL: "1" });
        assert.strictEqual(failed.status, 1);
        assert.match(
            failed.stderr,
            /clusterctl: Error: error creating "cluster\.x-k8s\.io\/v1beta2, Kind=MachineDeployment" clusters\/alpha-md-0: connection refused/,
        );
        assert.match(
            failed.stderr,
            /complete it on the server \(it keeps existing objects\): sudo CLUSTERCTL_DISABLE_VERSIONCHECK=true clusterctl move --to-kubeconfig \S+ --from-directory \S+\/backups\/\.restore-\w+\/objects/,
        );
        assert.strictEqual(
            fs.readdirSync(path.join(w.root, "backups")).filter((f) => f.startsWith(".restore-")).length,
            1,
            "the upload is kept for that command",
        );
    });

    it("bad arguments or a --from that is no backup: exit 2 before pulumi or ssh; ssh failing: 255", () => {
        const w = new Workstation();
        const bad = w.run(["--stack", "dev", "--max-age", "x"]);
        assert.strictEqual(bad.status, 2);
        assert.match(bad.stderr, /^npm run restore: --max-age: must be a whole number of hours/);
        const notBackup = w.run(["--stack", "dev", "--from", w.dir]);
        assert.strictEqual(notBackup.status, 2);
        assert.match(notBackup.stderr, /--from: \S+ is not a backup directory of src\/host\/scripts\/backup\.sh \(it has no objects and no backup\.env\)/);
        assert.deepStrictEqual(w.calls(), [], "nothing ran");
        w.serverBackup(HOUR);
        const ssh = w.run(["--stack", "dev"], { FAKE_SSH_EXIT: "255" });
        assert.strictEqual(ssh.status, 255);
        assert.match(ssh.stderr, /ssh to ubuntu@192\.0\.2\.10 failed \(exit 255\)/);
    });
});
