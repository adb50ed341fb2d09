/**
 * The management cluster's backup (docs/operations.md, "Backup and restore"): `host/backup.sh`
 * (clusterctl move --to-directory, retention, a loud failure), its systemd service and timer,
 * and the script that installs them on the server. Pure renderers; the restore is render/restore.ts.
 */
import { CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE, ORC_CREDENTIALS_SECRET } from "./contract";
import { HOST_STATE_DIR, renderHostScript, SERVER_KUBECONFIG } from "./hostScripts";
import { SYSTEMD_UNIT_DIR } from "./lbCleanup";

/** Where the backup script is installed on the server (root-only). */
export const BACKUP_SCRIPT_PATH = "/usr/local/lib/capi-mgmt/backup.sh";

/** Name of the service and the timer. */
export const BACKUP_UNIT = "capi-mgmt-backup";

/** Root-only directory of the local backups on the server. */
export const BACKUP_DIR = `${HOST_STATE_DIR}/backups`;

/** The marker a failed backup leaves in {@link BACKUP_DIR} until the next good one. */
export const BACKUP_FAILED_MARKER = "FAILED";

/** Backups kept on the server by default. */
export const DEFAULT_BACKUP_KEEP = 14;

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

/** Renders `host/backup.sh` with its parameters. */
export function renderBackupScript(p: BackupParams): string {
    if (!NAMESPACE.test(p.namespace)) {
        throw new Error(`backup: namespace must be a namespace name, got ${JSON.stringify(p.namespace)}`);
    }
    const keep = p.keep ?? DEFAULT_BACKUP_KEEP;
    if (!Number.isInteger(keep) || keep < 1 || keep > 1000) {
        throw new Error(`backup: keep must be a whole number from 1 to 1000, got ${keep}`);
    }
    return renderHostScript("backup.sh", {
        MGMT_KUBECONFIG: SERVER_KUBECONFIG,
        NAMESPACE: p.namespace,
        BACKUP_DIR,
        KEEP: String(keep),
        CREDENTIAL_SECRETS: credentialSecrets(p.namespace).join(" "),
    });
}

/**
 * The service: one backup (a oneshot). A failed backup leaves the unit "failed" (what
 * `systemctl --failed` and the troubleshooting of docs/operations.md look for) until the next
 * good run.
 */
export function renderBackupService(scriptPath: string = BACKUP_SCRIPT_PATH): string {
    return [
        "[Unit]",
        "Description=capi-mgmt: back up the Cluster API state (clusterctl move --to-directory)",
        "Documentation=https://cluster-api.sigs.k8s.io/clusterctl/commands/move",
        "After=docker.service",
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=${scriptPath} scheduled`,
        // clusterctl keeps its configuration under $HOME; a system service has none by default.
        "Environment=HOME=/root",
        "TimeoutStartSec=30min",
        "Nice=10",
        "",
    ].join("\n");
}

/** The timer: every six hours (and after a boot that missed one), spread by up to ten minutes. */
export function renderBackupTimer(): string {
    return [
        "[Unit]",
        "Description=capi-mgmt: back up the Cluster API state every six hours",
        "",
        "[Timer]",
        "OnCalendar=*-*-* 00/6:00:00",
        "Persistent=true",
        "RandomizedDelaySec=10min",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
}

/** Renders `host/backup-install.sh`: installs (or updates) the script and the units, and starts the timer. */
export function renderBackupInstallScript(p: BackupParams): string {
    return renderHostScript(
        "backup-install.sh",
        {
            SCRIPT_PATH: BACKUP_SCRIPT_PATH,
            SCRIPT: renderBackupScript(p),
            UNIT_DIR: SYSTEMD_UNIT_DIR,
            UNIT: BACKUP_UNIT,
            SERVICE: renderBackupService(),
            TIMER: renderBackupTimer(),
        },
        { multiLine: ["SCRIPT", "SERVICE", "TIMER"] },
    );
}
