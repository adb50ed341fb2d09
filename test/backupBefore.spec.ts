/**
 * Backups before risky operations (docs/backup-restore.md, "Before risky operations"):
 * src/host/scripts/backup-before.sh (before a version upgrade; on the old server before a
 * serverGeneration bump, through src/host/scripts/rebuild-check.sh and its fake ssh) and the
 * warn-only backup of the teardown, each under bash with a fake installed backup script
 * (test/fakes/backupBefore/); and where the program puts them in its graph (mock engine).
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { BACKUP_DIR, BACKUP_SCRIPT_PATH } from "../src/backup/backup";
import { BACKUP_PROCEED_FILE, renderBackupBeforeScript, renderBackupBeforeUpgradeScript } from "../src/backup/backupSteps";
import { renderHostScriptText, SERVER_KUBECONFIG } from "../src/host/hostScripts";
import { REBUILD_CHECK_KEY_ENV, RebuildCheckPlan, renderRebuildCheckScript } from "../src/lifecycle/rebuild";
import { renderTeardownScript } from "../src/lifecycle/teardownScript";
import { DEFAULT_VERSIONS } from "../src/versions/versions";
import { assertFailure, assertSuccess, hasShellcheck, installFake, makeTempDir, RunResult, runScript, shellcheck, skipTest } from "./fakes/shell";
import { runStack } from "./harness";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nS0VZLUJPRFktTkVWRVItUFJJTlRFRA==\n-----END OPENSSH PRIVATE KEY-----";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyOfTheStack";

/** A server: the fake backup script, a kubeconfig (unless told), the override file's place; the paths of `script` moved there. */
class Server {
    readonly dir = makeTempDir("backup-before");
    readonly bin = path.join(this.dir, "bin");
    readonly log = path.join(this.dir, "log");
    readonly proceed = path.join(this.dir, "proceed-without-backup");
    readonly kubeconfig = path.join(this.dir, "kubeconfig");

    constructor(opts: { kubeconfig?: boolean; installed?: boolean } = {}) {
        for (const tool of ["mountpoint", "umount"]) {
            installFake(this.bin, tool, `backupBefore/${tool}.sh`);
        }
        if (opts.installed !== false) {
            installFake(path.join(this.dir, "lib"), "backup.sh", "backupBefore/backup.sh");
        }
        if (opts.kubeconfig !== false) {
            fs.writeFileSync(this.kubeconfig, "fake");
        }
        fs.writeFileSync(this.log, "");
    }

    /** `script` with the server's paths in this directory (the kubeconfig, the backup script, the override, the backup directory). */
    localize(script: string): string {
        return script
            .split(SERVER_KUBECONFIG)
            .join(this.kubeconfig)
            .split(BACKUP_SCRIPT_PATH)
            .join(path.join(this.dir, "lib", "backup.sh"))
            .split(BACKUP_PROCEED_FILE)
            .join(this.proceed)
            .split(BACKUP_DIR)
            .join(path.join(this.dir, "backups"));
    }

    run(script: string, env: Record<string, string> = {}): RunResult {
        return runScript(this.localize(script), { PATH: `${this.bin}:/usr/bin:/bin`, FAKE_LOG: this.log, ...env });
    }

    calls(): string[] {
        return fs
            .readFileSync(this.log, "utf8")
            .split("\n")
            .filter((l) => l !== "");
    }
}

describe("src/host/scripts/backup-before.sh: the backup before a version upgrade (fake backup script)", () => {
    const script = renderBackupBeforeUpgradeScript(DEFAULT_VERSIONS);

    it("passes shellcheck as rendered", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of the rendered backup-before script", "shellcheck");
        }
        const dir = makeTempDir("backup-before-sc");
        fs.writeFileSync(path.join(dir, "a.sh"), script);
        fs.writeFileSync(path.join(dir, "b.sh"), renderTeardownScript({ clusterName: "dev", timeoutSeconds: 1800, perClusterTimeoutSeconds: 1680 }));
        shellcheck([path.join(dir, "a.sh"), path.join(dir, "b.sh")]);
    });

    it("backs up (reason before-upgrade) and names the versions it is for", () => {
        const s = new Server();
        const r = s.run(script);
        assertSuccess(r);
        assert.deepStrictEqual(s.calls(), ["backup before-upgrade"]);
        assert.match(r.stdout, /^backup: .*20260528T202640Z-before-upgrade: 4 objects/m);
        assert.match(
            r.stderr,
            /backing up the Cluster API state before the kind, ORC and Cluster API steps move to: kind node image kindest\/node:v1\.36\.1@sha256:.*Cluster API v1\.14\.0/,
        );
    });

    it("without a management cluster on the server (a new server): nothing to back up, goes on", () => {
        const s = new Server({ kubeconfig: false });
        const r = s.run(script);
        assertSuccess(r);
        assert.deepStrictEqual(s.calls(), []);
        assert.match(r.stderr, /no management cluster on this server .*nothing to back up/);
    });

    it("a failed backup refuses the operation, saying how to go on without one this once", () => {
        const s = new Server();
        const r = s.run(script, { FAKE_BACKUP_EXIT: "1" });
        assertFailure(r);
        assert.match(r.stderr, /backup: FAILED: Cluster\(s\) paused/);
        assert.match(
            r.stderr,
            new RegExp(
                `backup-before: REFUSED: no backup before the kind, ORC .*the backup failed \\(exit 1.*run 'sudo touch ${s.proceed}' on the management server and run again`,
            ),
        );
    });

    it("the override lets ONE operation go on without a backup (loudly) and is used up", () => {
        const s = new Server();
        fs.writeFileSync(s.proceed, "");
        const r = s.run(script, { FAKE_BACKUP_EXIT: "1" });
        assertSuccess(r);
        assert.match(r.stderr, /WARNING: no backup before .* going on because .*proceed-without-backup existed \(now removed/);
        assert.ok(!fs.existsSync(s.proceed), "the override is removed");
        assertFailure(s.run(script, { FAKE_BACKUP_EXIT: "1" }));
    });

    it("a backup script that is not installed is a failed backup (refused; the override lets it go on)", () => {
        const s = new Server({ installed: false });
        const r = s.run(script);
        assertFailure(r);
        assert.match(r.stderr, /REFUSED: .*the backup script .* is not installed/);
    });

    it("unmounts the backup volume afterwards only when asked (the old server of a bump)", () => {
        const s = new Server();
        assertSuccess(s.run(script, { FAKE_MOUNTED: "1" }));
        assert.deepStrictEqual(s.calls(), ["backup before-upgrade"]);
        const release = renderBackupBeforeScript({ reason: "before-rebuild", what: "the rebuild", releaseVolume: true });
        const r = s.run(release, { FAKE_MOUNTED: "1" });
        assertSuccess(r);
        assert.deepStrictEqual(s.calls(), ["backup before-upgrade", "backup before-rebuild", `umount -- ${s.dir}/backups`]);
        assert.match(r.stderr, /unmounted the backup volume .* for the new server/);
    });
});

describe("the teardown's backup before pulumi destroy: a warning, never a refusal", () => {
    /** The include's function in warn mode, as teardown.sh calls it (test/fakes/backupBefore/teardown-caller.sh). */
    const caller = (kubeconfig: string, command: string) =>
        renderHostScriptText("teardown-caller.sh", fs.readFileSync(path.join(__dirname, "fakes", "backupBefore", "teardown-caller.sh"), "utf8"), {
            BACKUP_COMMAND: command,
            KUBECONFIG_PATH: kubeconfig,
        });

    it("backs up first (reason before-destroy); a failed backup is a warning and the teardown goes on", () => {
        const s = new Server();
        const script = caller(s.kubeconfig, path.join(s.dir, "lib", "backup.sh"));
        assertSuccess(s.run(script));
        const failed = s.run(script, { FAKE_BACKUP_EXIT: "1" });
        assertSuccess(failed);
        assert.match(failed.stderr, /backup-before: WARNING: no backup before the teardown: the backup failed .*going on/);
        assert.strictEqual(failed.stdout, "teardown-goes-on\n");
        assert.deepStrictEqual(s.calls(), ["backup before-destroy", "backup before-destroy"]);
    });

    it("teardown.sh runs it once the management cluster is found, before it suspends Flux or deletes anything, with the installed script", () => {
        const text = renderTeardownScript({ clusterName: "dev", timeoutSeconds: 1800, perClusterTimeoutSeconds: 1680 });
        assert.ok(text.split("\n").includes(`readonly BACKUP_COMMAND='${BACKUP_SCRIPT_PATH}'`));
        const main = text.slice(text.lastIndexOf("\nmain() {"));
        const at = (s: string) => {
            const i = main.indexOf(s);
            assert.ok(i > 0, s);
            return i;
        };
        assert.ok(at("    find_management_cluster\n") < at("backup_before before-destroy warn"));
        assert.ok(at("backup_before before-destroy warn") < at("    suspend_flux\n"));
    });
});

describe("src/host/scripts/rebuild-check.sh: the backup on the old server before a serverGeneration bump (fake ssh)", function () {
    this.timeout(120000);
    const CHECK: RebuildCheckPlan = { mode: "check", previousGeneration: 1, targetGeneration: 2, host: "192.0.2.10" };
    const ACK: RebuildCheckPlan = { mode: "acknowledged", previousGeneration: 1, targetGeneration: 2, host: "192.0.2.10" };

    function check(plan: RebuildCheckPlan, env: Record<string, string> = {}, server = new Server()) {
        for (const tool of ["ssh", "sudo", "kubectl", "docker"]) {
            installFake(server.bin, tool, `rebuild/${tool}.sh`);
        }
        fs.writeFileSync(path.join(server.dir, "expected-key"), `${KEY}\n`);
        const r = server.run(renderRebuildCheckScript(plan, HOST_KEY, "ubuntu"), {
            HOME: server.dir,
            [REBUILD_CHECK_KEY_ENV]: KEY,
            FAKE_EXPECTED_KEY: path.join(server.dir, "expected-key"),
            FAKE_KIND_NODES: "0123456789ab",
            FAKE_CLUSTERS: "",
            ...env,
        });
        return { r, server, backups: server.calls().filter((c) => c.startsWith("backup ") || c.startsWith("umount ")) };
    }

    it("no Cluster: backs up on the old server (reason before-rebuild), unmounts the backup volume there, then passes", () => {
        const { r, backups } = check(CHECK, { FAKE_MOUNTED: "1" });
        assertSuccess(r);
        assert.deepStrictEqual(backups.slice(0, 1), ["backup before-rebuild"]);
        assert.match(backups[1], /^umount -- .*\/backups$/);
        assert.match(r.stdout, /rebuild check: backup: .*before-rebuild: 4 objects/);
        assert.match(r.stdout, /holds no Cluster objects.*building generation 2/);
    });

    it("a failed backup refuses the bump, saying how to rebuild without one this once", () => {
        const { r, server } = check(CHECK, { FAKE_BACKUP_EXIT: "1" });
        assertFailure(r);
        assert.match(
            r.stderr,
            new RegExp(
                `REFUSED: capi-mgmt:serverGeneration: bumping it from 1 to 2, but the backup of the management cluster on the running server failed .*run 'sudo touch ${server.proceed}' on that server \\(ubuntu@192\\.0\\.2\\.10\\)`,
            ),
        );
        assert.doesNotMatch(r.stdout, /building generation 2/);
    });

    it("with the server's override: the bump goes on without a backup, once", () => {
        const server = new Server();
        fs.writeFileSync(server.proceed, "");
        const { r } = check(CHECK, { FAKE_BACKUP_EXIT: "1" }, server);
        assertSuccess(r);
        assert.match(r.stderr, /WARNING: no backup before .*proceed-without-backup existed/);
        assert.ok(!fs.existsSync(server.proceed));
    });

    it("Clusters on the old server: refused as before, without a backup (no bump happens)", () => {
        const { r, backups } = check(CHECK, { FAKE_CLUSTERS: "clusters/alpha" });
        assertFailure(r);
        assert.match(r.stderr, /holds 1 Cluster object\(s\): clusters\/alpha/);
        assert.deepStrictEqual(backups, []);
    });

    it("an acknowledged bump: backs up (no Cluster check); a failed backup refuses it too", () => {
        const ok = check(ACK, { FAKE_CLUSTERS: "clusters/alpha" });
        assertSuccess(ok.r);
        assert.deepStrictEqual(ok.backups, ["backup before-rebuild"]);
        const failed = check(ACK, { FAKE_BACKUP_EXIT: "1" });
        assertFailure(failed.r);
        assert.match(failed.r.stderr, /the backup of the management cluster on the running server failed/);
    });

    it("an acknowledged bump over a server that does not answer (gone): a warning, no backup, the bump goes on", () => {
        const { r, backups } = check(ACK, { FAKE_SSH: "unreachable" });
        assertSuccess(r);
        assert.match(
            r.stderr,
            /WARNING: the old server \(generation 1\) does not answer SSH at 192\.0\.2\.10 .*no backup before the rebuild; going on as capi-mgmt:rebuildWithClusters allows/,
        );
        assert.deepStrictEqual(backups, []);
    });
});

describe("the backups before risky operations in the program's graph (mock engine)", function () {
    this.timeout(300000);
    const COMMAND = "command:remote:Command";

    it("the kind, ORC and providers steps wait for the backup before an upgrade, which re-runs on a version change only", async () => {
        const base = await runStack("dev");
        const before = base.one(COMMAND, "backup-before-upgrade");
        // kind-cluster waits for it; orc and capi-providers wait for kind-cluster.
        assert.ok(base.one(COMMAND, "kind-cluster").dependsOn.includes(before.urn));
        assert.ok(base.one(COMMAND, "orc").dependsOn.includes(base.one(COMMAND, "kind-cluster").urn));
        assert.ok(before.dependsOn.includes(base.one(COMMAND, "backup").urn), "after the backup script is installed");
        assert.strictEqual(String(before.inputs.stdin), renderBackupBeforeUpgradeScript(DEFAULT_VERSIONS));
        const bumped = await runStack("dev", { versions: JSON.stringify({ capo: "v0.14.8" }) });
        assert.notDeepStrictEqual(bumped.one(COMMAND, "backup-before-upgrade").inputs.triggers, before.inputs.triggers);
        const kept = await runStack("dev", { backup: JSON.stringify({ keep: 30, schedule: "daily" }) });
        assert.deepStrictEqual(kept.one(COMMAND, "backup-before-upgrade").inputs, before.inputs, "a backup setting does not run it");
    });

    it("with backup.volumeSize: a protected (in production) Cinder volume, attached with deleteBeforeReplace, mounted before the backup step; the teardown outlives the attachment", async () => {
        const dev = await runStack("dev");
        assert.deepStrictEqual(dev.all("openstack:blockstorage/volume:Volume"), []);
        assert.match(String(dev.one(COMMAND, "backup-volume").inputs.stdin), /^readonly VOLUME_ID=''$/m);
        const prod = await runStack("prod", { backup: JSON.stringify({ volumeSize: 10 }) });
        const volume = prod.one("openstack:blockstorage/volume:Volume", "backup-volume");
        assert.strictEqual(volume.inputs.size, 10);
        assert.strictEqual(volume.inputs.enableOnlineResize, true);
        assert.strictEqual(volume.options.protect, true);
        assert.deepStrictEqual(volume.options.ignoreChanges, ["availabilityZone"]);
        const attach = prod.one("openstack:compute/volumeAttach:VolumeAttach", "backup-volume-attach");
        assert.strictEqual(attach.options.deleteBeforeReplace, true);
        assert.ok(attach.propertyDependencies.instanceId.includes(prod.one("openstack:compute/instance:Instance").urn));
        const mount = prod.one(COMMAND, "backup-volume");
        assert.ok(mount.dependsOn.includes(attach.urn));
        assert.match(String(mount.inputs.stdin), /^readonly VOLUME_SIZE_GIB='10'$/m);
        assert.ok(prod.one(COMMAND, "backup").dependsOn.includes(mount.urn));
        assert.ok(
            prod.one(COMMAND, "workload-teardown").dependsOn.includes(attach.urn),
            "destroy deletes the attachment only after the teardown (its backup) ran",
        );
    });
});
