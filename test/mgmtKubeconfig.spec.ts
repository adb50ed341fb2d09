/**
 * The active management cluster's kubeconfig (src/host/scripts/lib/mgmt-kubeconfig.sh,
 * docs/self-hosted.md "The active management cluster"): every host tool that works on the
 * Cluster API objects reads the kind cluster before the pivot, the self-hosted cluster while it
 * holds them (active.kubeconfig, the link self-hosted-pivot.sh makes with lib/self-hosted-state.sh's
 * link_active) and the kind cluster again once self-hosted-unpivot.sh removed the link. Each tool
 * runs under bash as rendered by the program (only its paths replaced by temp ones) with a fake
 * kubectl, clusterctl and sonobuoy (test/fakes/mgmt-probe.sh) that record which cluster they were
 * pointed at and refuse, so that the tool stops at its first call.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderBackupScript } from "../src/backup/backup";
import { renderBackupBeforeScript } from "../src/backup/backupSteps";
import { renderRestoreScript } from "../src/backup/restore";
import { renderConformanceScript } from "../src/cluster/check";
import { renderCloudProviderRestartScript } from "../src/host/credentialRotation";
import { ACTIVE_KUBECONFIG, readHostInclude, SERVER_KUBECONFIG } from "../src/host/hostScripts";
import { renderLbCleanupScript } from "../src/host/lbCleanupScript";
import { rerender } from "./fakes/rerender";
import { installFake, makeTempDir, runScript, RunResult } from "./fakes/shell";

const NS = "clusters";

/** A server: the kind cluster's kubeconfig, the self-hosted state directory, the fake tools. */
class Server {
    readonly root = makeTempDir("mgmt-kubeconfig");
    /** The server's files here: the kind cluster's kubeconfig, the self-hosted state, the backups. */
    readonly at = (p: string) => path.join(this.root, p);
    readonly kind = this.at("kubeconfig");
    readonly state = this.at("self-hosted");
    readonly active = this.at("self-hosted/active.kubeconfig");
    readonly backups = this.at("backups");

    constructor() {
        ["kubectl", "clusterctl", "sonobuoy"].forEach((tool) => installFake(this.at("bin"), tool, "mgmt-probe.sh"));
        fs.mkdirSync(this.state);
        fs.writeFileSync(this.kind, "kind-cluster\n", { mode: 0o600 });
        fs.writeFileSync(this.at("self-hosted/kubeconfig"), "self-hosted-cluster\n", { mode: 0o600 });
        // A backup for restore.sh to read (backup.sh's layout).
        const backup = path.join(this.backups, "20261207T000000Z-manual");
        fs.mkdirSync(path.join(backup, "objects"), { recursive: true });
        const epoch = Math.floor(Date.now() / 1000);
        fs.writeFileSync(path.join(backup, "backup.env"), `time=now\nepoch=${epoch}\nreason=manual\nnamespace=${NS}\n`);
        fs.symlinkSync(backup, path.join(this.backups, "latest"));
    }

    /** What self-hosted-pivot.sh does once the move is verified: link_active of lib/self-hosted-state.sh. */
    pivoted(): void {
        const r = runScript(`${readHostInclude("self-hosted-state.sh")}\nlink_active\n`, { PATH: process.env.PATH!, STATE_DIR: this.state });
        assert.strictEqual(r.status, 0, r.stderr);
    }

    /** What self-hosted-unpivot.sh does before it moves the objects back. */
    unpivoted(): void {
        fs.rmSync(this.active);
    }

    /** Runs a rendered tool with this server's paths; returns the clusters its kubectl/clusterctl calls went to. */
    run(rendered: string): { r: RunResult; clusters: string[] } {
        const paths: Record<string, string> = { [SERVER_KUBECONFIG]: this.kind, [ACTIVE_KUBECONFIG]: this.active };
        const dirs: Record<string, string> = {
            STATE_DIR: path.join(this.root, "state"),
            RESULTS_DIR: path.join(this.root, "results"),
            BACKUP_DIR: this.backups,
        };
        const script = rerender(rendered, (name, value) => paths[value] ?? dirs[name]);
        const log = this.at("probe.log");
        fs.writeFileSync(log, "");
        const r = runScript(script, { PATH: `${this.at("bin")}:${process.env.PATH}`, HOME: this.root, TMPDIR: this.root, FAKE_PROBE_LOG: log });
        const clusters = fs
            .readFileSync(log, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => l.replace(/^\S+ /, ""));
        return { r, clusters };
    }
}

const TOOLS: [string, () => string][] = [
    ["lb-cleanup.sh (the deletion cleanup's timer)", () => renderLbCleanupScript({ namespace: NS })],
    [
        "cloud-provider-restart.sh (after a credential rotation)",
        () => renderCloudProviderRestartScript({ workloadNamespace: NS, credentialId: "0123456789abcdef" }),
    ],
    ["backup.sh (the backup timer, the backups before risky operations, npm run backup)", () => renderBackupScript({ namespace: NS })],
    ["restore.sh (npm run restore)", () => renderRestoreScript({ namespace: NS, maxAgeHours: 24, force: false })],
    [
        "conformance.sh (npm run check)",
        () => renderConformanceScript({ namespace: NS, cluster: "workload-1", mode: "quick", timeoutSeconds: 600, pollSeconds: 30, deleteWaitMinutes: 5 }),
    ],
];

describe("the active management cluster's kubeconfig: every host tool follows the pivot and the reverse pivot", () => {
    for (const [tool, render] of TOOLS) {
        it(`${tool}: kind before the pivot, the self-hosted cluster after it, kind again after the reverse pivot`, () => {
            const server = new Server();
            const script = render();
            const before = server.run(script);
            assert.notStrictEqual(before.clusters.length, 0, `${tool} called no kubectl/clusterctl: ${before.r.stderr}`);
            assert.deepStrictEqual([...new Set(before.clusters)], ["kind-cluster"], before.r.stderr);

            server.pivoted();
            const after = server.run(script);
            assert.deepStrictEqual([...new Set(after.clusters)], ["self-hosted-cluster"], after.r.stderr);

            server.unpivoted();
            const back = server.run(script);
            assert.deepStrictEqual([...new Set(back.clusters)], ["kind-cluster"], back.r.stderr);
        });
    }

    it("a dangling active link (the self-hosted kubeconfig lost while pivoted): the tool fails naming it, never reads kind", () => {
        const server = new Server();
        server.pivoted();
        fs.rmSync(path.join(server.state, "kubeconfig"));
        const { r, clusters } = server.run(renderBackupScript({ namespace: NS }));
        assert.notStrictEqual(r.status, 0);
        assert.ok(r.stderr.includes(`no kubeconfig at ${server.active}`), r.stderr);
        assert.ok(!clusters.includes("kind-cluster"), clusters.join("\n"));
    });

    it("backup-before.sh (before an upgrade): backs up the self-hosted cluster after the pivot even without the kind cluster's kubeconfig", () => {
        const server = new Server();
        const backup = path.join(server.root, "backup-command.sh");
        fs.writeFileSync(backup, `#!/usr/bin/env bash\necho "backup $*" >>'${server.at("probe.log")}'\n`, { mode: 0o755 });
        const script = renderBackupBeforeScript({ reason: "before-upgrade", what: "the upgrade", releaseVolume: false }).replace(
            /^readonly BACKUP_COMMAND=.*$/m,
            `readonly BACKUP_COMMAND='${backup}'`,
        );
        fs.rmSync(server.kind);
        const without = server.run(script);
        assert.strictEqual(without.r.status, 0, without.r.stderr);
        assert.match(without.r.stderr, /no management cluster on this server/);
        server.pivoted();
        const pivoted = server.run(script);
        assert.strictEqual(pivoted.r.status, 0, pivoted.r.stderr);
        assert.deepStrictEqual(fs.readFileSync(server.at("probe.log"), "utf8"), "backup before-upgrade\n");
    });
});
