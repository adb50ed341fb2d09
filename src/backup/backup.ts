/**
 * The management cluster's backup (docs/backup-restore.md): `src/host/scripts/backup.sh`
 * (clusterctl move --to-directory, retention, a loud failure), its systemd service and timer
 * (src/host/systemd/), the script that installs them on the server (the backup step of
 * src/backup/managementBackup.ts), and `npm run backup`'s arguments. Pure renderers; the
 * restore is render/restore.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE, ORC_CREDENTIALS_SECRET } from "../shared/contract";
import { HOST_STATE_DIR, HOST_SYSTEMD_DIR, renderHostScript, mgmtKubeconfigParams } from "../host/hostScripts";
import { SYSTEMD_UNIT_DIR } from "../host/lbCleanupScript";
import { BACKUP_DEFAULTS, BACKUP_SCHEDULE_PATTERN } from "../config/schema";
import { parseFlags, requiredStack, wholeNumberFlag } from "../shared/cliFlags";

/** Where the backup script is installed on the server (root-only). */
export const BACKUP_SCRIPT_PATH = "/usr/local/lib/capi-mgmt/backup.sh";

/** Name of the service and the timer. */
export const BACKUP_UNIT = "capi-mgmt-backup";

/** Root-only directory of the local backups on the server. */
export const BACKUP_DIR = `${HOST_STATE_DIR}/backups`;

/** The marker a failed backup leaves in {@link BACKUP_DIR} until the next good one. */
export const BACKUP_FAILED_MARKER = "FAILED";

/** Backups kept on the server by default (`capi-mgmt:backup.keep`). */
export const DEFAULT_BACKUP_KEEP: number = BACKUP_DEFAULTS.keep;

/** Parameters of the backup. */
export interface BackupParams {
    /** Namespace of the workload Clusters. */
    namespace: string;
    /** Complete backups kept (the newest). */
    keep?: number;
}

const NAMESPACE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The Secrets a backup leaves out: the OpenStack credentials the program itself puts on every
 * server (CAPO's behind the cluster identity, ORC's in the workload namespace).
 */
export function credentialSecrets(namespace: string): string[] {
    return [`${CAPO_NAMESPACE}/${CAPO_CREDENTIALS_SECRET}`, `${namespace}/${ORC_CREDENTIALS_SECRET}`];
}

function checkedNamespace(namespace: string): string {
    if (!NAMESPACE.test(namespace)) {
        throw new Error(`backup: namespace must be a namespace name, got ${JSON.stringify(namespace)}`);
    }
    return namespace;
}

function checkedKeep(keep: number = DEFAULT_BACKUP_KEEP): number {
    if (!Number.isInteger(keep) || keep < 1 || keep > 1000) {
        throw new Error(`backup: keep must be a whole number from 1 to 1000, got ${keep}`);
    }
    return keep;
}

/** The parameters of `src/host/scripts/backup.sh` both renderings give it, in their rendered order. */
function backupScriptParams(p: BackupParams): Record<string, string> {
    return {
        ...mgmtKubeconfigParams(),
        NAMESPACE: checkedNamespace(p.namespace),
        BACKUP_DIR,
        KEEP: String(checkedKeep(p.keep)),
        CREDENTIAL_SECRETS: credentialSecrets(p.namespace).join(" "),
    };
}

/** Renders `src/host/scripts/backup.sh` with its parameters (the installed script: the timer gives the reason). */
export function renderBackupScript(p: BackupParams): string {
    return renderHostScript("backup.sh", backupScriptParams(p));
}

/** The service and timer units, as files in `src/host/systemd/`. */
export const BACKUP_SERVICE_FILE = `${BACKUP_UNIT}.service`;
export const BACKUP_TIMER_FILE = `${BACKUP_UNIT}.timer`;

/** The default of `capi-mgmt:backup.schedule` (systemd OnCalendar): every six hours. */
export const DEFAULT_BACKUP_SCHEDULE: string = BACKUP_DEFAULTS.schedule;

function unitFile(name: string): string {
    return fs.readFileSync(path.join(HOST_SYSTEMD_DIR, name), "utf8");
}

/**
 * The service (src/host/systemd/capi-mgmt-backup.service): one backup (a oneshot). A failed
 * backup leaves the unit "failed" (what `systemctl --failed` and the troubleshooting of
 * docs/operations.md look for) until the next good run.
 */
export function renderBackupService(): string {
    const text = unitFile(BACKUP_SERVICE_FILE);
    if (!text.includes(`\nExecStart=${BACKUP_SCRIPT_PATH} scheduled\n`)) {
        throw new Error(`src/host/systemd/${BACKUP_SERVICE_FILE} must run ExecStart=${BACKUP_SCRIPT_PATH} scheduled`);
    }
    return text;
}

/** The timer (src/host/systemd/capi-mgmt-backup.timer) with `schedule` as its OnCalendar. */
export function renderBackupTimer(schedule: string = DEFAULT_BACKUP_SCHEDULE): string {
    if (typeof schedule !== "string" || !new RegExp(BACKUP_SCHEDULE_PATTERN).test(schedule) || schedule.trim() !== schedule) {
        throw new Error(`backup: schedule must be a systemd calendar expression on one line, got ${JSON.stringify(schedule)}`);
    }
    const text = unitFile(BACKUP_TIMER_FILE);
    const lines = text.split("\n").filter((l) => l.startsWith("OnCalendar="));
    if (lines.length !== 1) {
        throw new Error(`src/host/systemd/${BACKUP_TIMER_FILE} must have exactly one OnCalendar= line`);
    }
    return text.replace(lines[0], `OnCalendar=${schedule}`);
}

/** Renders `src/host/scripts/backup-install.sh` (the backup step): installs (or updates) the script and the units, and starts the timer. */
export function renderBackupInstallScript(p: BackupParams & { schedule?: string }): string {
    return renderHostScript(
        "backup-install.sh",
        {
            SCRIPT_PATH: BACKUP_SCRIPT_PATH,
            SCRIPT: renderBackupScript(p),
            UNIT_DIR: SYSTEMD_UNIT_DIR,
            UNIT: BACKUP_UNIT,
            SERVICE: renderBackupService(),
            TIMER: renderBackupTimer(p.schedule),
        },
        { multiLine: ["SCRIPT", "SERVICE", "TIMER"] },
    );
}

/** Renders `src/host/scripts/backup.sh` for one run over ssh (`npm run backup`), its reason `manual`. */
export function renderManualBackupScript(p: BackupParams): string {
    return renderHostScript("backup.sh", { ...backupScriptParams(p), BACKUP_REASON: "manual" });
}

/** Renders `src/host/scripts/backup-download.sh`: the latest backup on stdout (`npm run backup -- --to`). */
export function renderBackupDownloadScript(): string {
    return renderHostScript("backup-download.sh", { BACKUP_DIR });
}

/** What `npm run backup -- …` was asked to do. */
export interface BackupOptions {
    /** Pulumi stack whose management server is backed up. */
    stack: string;
    /** A directory on this machine the new backup is copied into; undefined: it stays on the server only. */
    to?: string;
    /** Backups kept on the server. */
    keep: number;
}

/** Bad arguments; the message names the flag. */
export class BackupUsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "BackupUsageError";
    }
}

/** How to call the backup. */
export const BACKUP_USAGE = `usage: npm run backup -- --stack <stack> [--to <directory>] [--keep <n>]

Backs up the Cluster API state of the stack's management server now (src/host/scripts/backup.sh:
clusterctl move --to-directory, kept on the server under ${BACKUP_DIR}) and, with --to,
copies it to <directory>/<time>-manual/ on this machine: do that before a serverGeneration
bump or anything else that may lose the server (docs/operations.md, "Backup and restore").

  --stack  the Pulumi stack (e.g. dev)
  --to     a directory on this machine for a copy (created 0700; the copy holds the
           workload clusters' CA keys)
  --keep   backups kept on the server (default ${DEFAULT_BACKUP_KEEP}; the timer keeps
           capi-mgmt:backup.keep)

The scheduled backup (${BACKUP_UNIT}.timer, capi-mgmt:backup.schedule) is installed by
\`pulumi up\`.`;

/** Parses the backup's arguments; `undefined` when help was asked for. */
export function parseBackupArgs(argv: readonly string[]): BackupOptions | undefined {
    const error = (message: string) => new BackupUsageError(message);
    const parsed = parseFlags(argv, {
        values: ["stack", "to", "keep"],
        removed: { "install-timer": "removed: `pulumi up` installs the backup timer on the server (capi-mgmt:backup.schedule)" },
        error,
    });
    if (!parsed) {
        return undefined;
    }
    const { values } = parsed;
    const stack = requiredStack(values.stack, error);
    const keep = values.keep === undefined ? DEFAULT_BACKUP_KEEP : wholeNumberFlag("keep", values.keep, 1, 1000, error);
    return { stack, to: values.to, keep };
}
