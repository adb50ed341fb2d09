/**
 * The copy of the management cluster's backups to object storage in the same cloud (Swift's
 * API; capi-mgmt:backupObjectStorage, docs/backup-restore.md "Object storage"): the access
 * rules of the backup application credential, the configuration of
 * `src/host/scripts/backup-upload.sh` and the script that installs both on the server. Pure
 * renderers; the resources are in ./backupStorage.ts.
 */
import { BACKUP_DIR } from "./backup";
import { HOST_STATE_DIR, renderHostScript } from "../host/hostScripts";
import { CatalogService, publicEndpoint } from "../cluster/cloudCredentials";
import { BACKUP_CONTAINER_PATTERN } from "../config/schemaBackup";

/** Where the upload script is installed on the server (backup.sh calls it from there). */
export const BACKUP_UPLOAD_SCRIPT_PATH = "/usr/local/lib/capi-mgmt/backup-upload.sh";

/** Its root-only configuration, with the backup credential. */
export const BACKUP_OBJECT_STORAGE_CONFIG = `${HOST_STATE_DIR}/backup-object-storage.env`;

/** The Swift container of a stack's backups when `backupObjectStorage.container` is not set. */
export function defaultBackupContainer(prefix: string): string {
    return `${prefix}-backups`;
}

/** One Keystone access rule (as `openstack.identity.ApplicationCredential` takes it). */
export interface AccessRule {
    service: string;
    method: string;
    path: string;
}

/**
 * The public object-store endpoint of the catalog (the project's Swift account,
 * `…/v1/AUTH_<project id>`), in `region` when given.
 * @throws when the catalog has none (the cloud has no Swift API for this project).
 */
export function objectStoreEndpoint(catalog: CatalogService[], region?: string): string {
    const url = publicEndpoint(catalog, "object-store", region);
    if (url === undefined) {
        throw new Error(
            "capi-mgmt:backupObjectStorage.enabled: the service catalog has no public object-store (Swift) endpoint" +
                (region ? ` in region ${JSON.stringify(region)}` : "") +
                "; the backups cannot go to object storage in this cloud",
        );
    }
    return url;
}

/**
 * The access rules of the backup credential: list the container, and read, write and delete
 * its objects (paths as the Swift API is called: the endpoint's path, then the container).
 * Nothing else: not the account, not another container, no other service. Keystone's `*`
 * matches one path segment; backup names have no `/`.
 */
export function backupAccessRules(storageUrl: string, container: string): AccessRule[] {
    if (!new RegExp(BACKUP_CONTAINER_PATTERN).test(container)) {
        throw new Error(`capi-mgmt:backupObjectStorage.container: ${JSON.stringify(container)} is not a Swift container name`);
    }
    const base = `${new URL(storageUrl).pathname.replace(/\/+$/, "")}/${container}`;
    const rule = (method: string, path: string): AccessRule => ({ service: "object-store", method, path });
    return [rule("GET", base), rule("GET", `${base}/*`), rule("PUT", `${base}/*`), rule("DELETE", `${base}/*`)];
}

/** The configuration of backup-upload.sh. */
export interface ObjectStorageConfig {
    /** Keystone's public endpoint. */
    authUrl: string;
    /** The backup credential's ID. */
    credentialId: string;
    /** Its secret. */
    credentialSecret: string;
    /** The Swift account URL ({@link objectStoreEndpoint}). */
    storageUrl: string;
    /** The container. */
    container: string;
    /** Objects kept (the newest). */
    keep: number;
    /** Objects older than this are deleted too (the newest never); 0: no age limit. */
    maxAgeDays: number;
}

/** The root-only `key=value` file backup-upload.sh reads (holds the credential's secret). */
export function renderObjectStorageConfig(c: ObjectStorageConfig): string {
    const lines: [string, string][] = [
        ["AUTH_URL", c.authUrl],
        ["CREDENTIAL_ID", c.credentialId],
        ["CREDENTIAL_SECRET", c.credentialSecret],
        ["STORAGE_URL", c.storageUrl],
        ["CONTAINER", c.container],
        ["KEEP", String(c.keep)],
        ["MAX_AGE_DAYS", String(c.maxAgeDays)],
    ];
    for (const [k, v] of lines) {
        if (v.trim() === "" || /[\r\n]/.test(v)) {
            throw new Error(`backup object storage: ${k} must be one non-empty line`);
        }
    }
    return lines.map(([k, v]) => `${k}=${v}\n`).join("");
}

/** Renders `src/host/scripts/backup-upload.sh` as installed on the server. */
export function renderBackupUploadScript(): string {
    return renderHostScript("backup-upload.sh", { BACKUP_DIR, CONFIG_FILE: BACKUP_OBJECT_STORAGE_CONFIG });
}

/** Renders `src/host/scripts/backup-object-storage.sh` (the host step's stdin: a secret, it holds the configuration). */
export function renderObjectStorageInstallScript(c: ObjectStorageConfig): string {
    return renderHostScript(
        "backup-object-storage.sh",
        {
            SCRIPT_PATH: BACKUP_UPLOAD_SCRIPT_PATH,
            SCRIPT: renderBackupUploadScript(),
            CONFIG_PATH: BACKUP_OBJECT_STORAGE_CONFIG,
            CONFIG: renderObjectStorageConfig(c),
        },
        { multiLine: ["SCRIPT", "CONFIG"] },
    );
}
