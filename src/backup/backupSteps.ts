/**
 * The backup's host steps and the backups before risky operations (docs/backup-restore.md):
 * the scripts `src/host/scripts/backup-volume.sh` (mounts the Cinder backup volume) and
 * `src/host/scripts/backup-before.sh` (a backup before a version upgrade, or on the old server
 * before a `serverGeneration` bump), with their parameters, and the key that re-runs the
 * backup before an upgrade. Pure renderers.
 */
import { HOST_STATE_DIR, renderHostScript, mgmtKubeconfigParams } from "../host/hostScripts";
import { Versions } from "../versions/versions";
import { BACKUP_DIR, BACKUP_SCRIPT_PATH } from "./backup";

/**
 * The one-time override of a refused backup before an operation: `sudo touch` it on the
 * server, run the operation again; the backup that fails next removes it and lets that one
 * operation go on (src/host/scripts/lib/backup-before.sh).
 */
export const BACKUP_PROCEED_FILE = `${HOST_STATE_DIR}/proceed-without-backup`;

/** ext4 label of a backup volume backup-volume.sh formatted. */
export const BACKUP_FS_LABEL = "capi-backups";

/** Bound of the wait for the attached volume's device, seconds. */
export const BACKUP_VOLUME_WAIT_SECONDS = 120;

const VOLUME_ID = /^[0-9A-Za-z-]{1,64}$/;

/**
 * Renders `src/host/scripts/backup-volume.sh` for Cinder volume `volumeId` of `sizeGib` GiB
 * ("" and 0 when `backup.volumeSize` is 0). The size is in the script so that a larger volume
 * runs it again (it grows the filesystem).
 */
export function renderBackupVolumeScript(volumeId: string, sizeGib: number): string {
    if (volumeId !== "" && !VOLUME_ID.test(volumeId)) {
        throw new Error(`backup: the backup volume's ID must be a Cinder volume ID, got ${JSON.stringify(volumeId)}`);
    }
    if (!Number.isInteger(sizeGib) || sizeGib < 0 || (volumeId === "") !== (sizeGib === 0)) {
        throw new Error(`backup: the backup volume's size must be a whole number of GiB, 0 exactly without a volume, got ${sizeGib}`);
    }
    return renderHostScript("backup-volume.sh", {
        VOLUME_ID: volumeId,
        VOLUME_SIZE_GIB: String(sizeGib),
        MOUNT_DIR: BACKUP_DIR,
        FS_LABEL: BACKUP_FS_LABEL,
        FSTAB: "/etc/fstab",
        DEVICE_DIR: "/dev/disk/by-id",
        WAIT_SECONDS: String(BACKUP_VOLUME_WAIT_SECONDS),
    });
}

/** What a backup before an operation is for. */
export interface BackupBeforeParams {
    /** The backup's reason (the suffix of its directory's name). */
    reason: "before-upgrade" | "before-rebuild";
    /** The operation, for the messages. */
    what: string;
    /** Unmount the backup volume afterwards (on the old server of a bump, so that its detach finds it clean). */
    releaseVolume?: boolean;
}

/** Renders `src/host/scripts/backup-before.sh`: a backup, refusing the operation when it fails (unless {@link BACKUP_PROCEED_FILE}). */
export function renderBackupBeforeScript(p: BackupBeforeParams): string {
    if (/[\n'"\\$`]/.test(p.what)) {
        throw new Error(`backup: the operation's description must be plain text, got ${JSON.stringify(p.what)}`);
    }
    return renderHostScript("backup-before.sh", {
        REASON: p.reason,
        WHAT: p.what,
        BACKUP_COMMAND: BACKUP_SCRIPT_PATH,
        ...mgmtKubeconfigParams(),
        PROCEED_FILE: BACKUP_PROCEED_FILE,
        RELEASE_DIR: p.releaseVolume ? BACKUP_DIR : "",
    });
}

/**
 * The versions the kind, ORC and Cluster API steps install: the key (with the server's ID) that
 * re-runs the backup before an upgrade. A change of any of them, and only that, runs it again.
 */
export function clusterVersionsKey(v: Pick<Versions, "nodeImage" | "orc" | "clusterApi" | "capo" | "caaph" | "certManager">): string[] {
    return [
        `kind node image ${v.nodeImage}`,
        `ORC ${v.orc}`,
        `Cluster API ${v.clusterApi}`,
        `CAPO ${v.capo}`,
        `CAAPH ${v.caaph}`,
        `cert-manager ${v.certManager}`,
    ];
}

/** The backup-before-upgrade step's script for these versions (its text changes only with them). */
export function renderBackupBeforeUpgradeScript(v: Parameters<typeof clusterVersionsKey>[0]): string {
    return renderBackupBeforeScript({
        reason: "before-upgrade",
        what: `the kind, ORC and Cluster API steps move to: ${clusterVersionsKey(v).join(", ")}`,
    });
}
