/**
 * The restore (`npm run restore`): its arguments and the rendering of `src/host/scripts/restore.sh`, which
 * runs `clusterctl move --from-directory` on the management server. Pure: the driver,
 * `render/restore.ts`, does the I/O (the stack's outputs, ssh with the host key pinned: the
 * same as `npm run check`, src/cluster/check.ts).
 */
import { BACKUP_DIR } from "./backup";
import { BACKUP_UPLOAD_SCRIPT_PATH } from "./objectStorage";
import { renderHostScript, mgmtKubeconfigParams } from "../host/hostScripts";

/** Default of `--max-age`, hours: a backup older than this is refused unless `--force`. */
export const DEFAULT_MAX_AGE_HOURS = 24;

/** What `npm run restore -- …` was asked to do. */
export interface RestoreOptions {
    /** Pulumi stack whose (new) management server gets the backup. */
    stack: string;
    /** A backup directory on this machine (`objects/` and `backup.env`); undefined: the server's latest. */
    from?: string;
    /** With `--from swift:[OBJECT]`: the object in the stack's Swift container (`latest`: the newest), fetched on the server. */
    fromSwift?: string;
    /** The oldest backup restored without `force`, hours. */
    maxAgeHours: number;
    /** Restore a backup older than `maxAgeHours`. */
    force: boolean;
}

/** Bad arguments; the message names the flag. */
export class RestoreUsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "RestoreUsageError";
    }
}

/** How to call the restore. */
export const RESTORE_USAGE = `usage: npm run restore -- --stack <stack> [--from <directory>] [--max-age <hours>] [--force]

Brings the stack's management server (e.g. a new one after a serverGeneration bump) back to
managing the existing workload clusters: restores a backup of src/host/scripts/backup.sh there with
clusterctl move --from-directory. Their servers are not touched. Refuses when the management
cluster already has Clusters in the workload namespace (docs/operations.md, "Restore").

  --stack     the Pulumi stack (e.g. dev)
  --from      a backup directory on this machine (<time>-<reason>/, with objects/ and
              backup.env, as copied from a server); or swift:latest, swift:<object>: the
              newest (or that) backup in the stack's Swift container (backupObjectStorage),
              fetched by the server; default: the server's own latest backup
  --max-age   the oldest backup restored, in hours (default ${DEFAULT_MAX_AGE_HOURS})
  --force     restore a backup older than --max-age`;

const STACK_NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+){0,2}$/;
const VALUE_FLAGS = ["stack", "from", "max-age"] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

/**
 * Parses the restore's arguments (`--flag value` or `--flag=value`, `--force` alone);
 * `undefined` when help was asked for. Throws a {@link RestoreUsageError} naming the flag.
 */
export function parseRestoreArgs(argv: readonly string[]): RestoreOptions | undefined {
    const values: Partial<Record<ValueFlag, string>> = {};
    let force = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--help" || arg === "-h") {
            return undefined;
        }
        if (arg === "--force") {
            if (force) {
                throw new RestoreUsageError("--force: given twice");
            }
            force = true;
            continue;
        }
        const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
        if (!m) {
            throw new RestoreUsageError(`unexpected argument ${JSON.stringify(arg)}: every argument is a --flag`);
        }
        const flag = m[1] as ValueFlag;
        if (!VALUE_FLAGS.includes(flag)) {
            throw new RestoreUsageError(`--${m[1]}: unknown flag (known: --stack, --from, --max-age, --force)`);
        }
        if (values[flag] !== undefined) {
            throw new RestoreUsageError(`--${flag}: given twice`);
        }
        let value = m[2];
        if (value === undefined) {
            value = argv[i + 1];
            if (value === undefined || value.startsWith("--")) {
                throw new RestoreUsageError(`--${flag}: needs a value`);
            }
            i++;
        }
        values[flag] = value;
    }
    if (values.stack === undefined) {
        throw new RestoreUsageError("--stack: required (the Pulumi stack, e.g. --stack dev)");
    }
    if (!STACK_NAME.test(values.stack)) {
        throw new RestoreUsageError(`--stack: ${JSON.stringify(values.stack)} is not a stack name`);
    }
    if (values.from !== undefined && values.from.trim() === "") {
        throw new RestoreUsageError("--from: needs a directory");
    }
    let maxAgeHours = DEFAULT_MAX_AGE_HOURS;
    if (values["max-age"] !== undefined) {
        const v = values["max-age"];
        maxAgeHours = /^[0-9]+$/.test(v) ? Number(v) : NaN;
        if (!Number.isInteger(maxAgeHours) || maxAgeHours < 1 || maxAgeHours > 24 * 365) {
            throw new RestoreUsageError(`--max-age: must be a whole number of hours from 1 to ${24 * 365}, got ${JSON.stringify(v)}`);
        }
    }
    const swift = /^swift:(.*)$/s.exec(values.from ?? "");
    if (swift) {
        const object = swift[1] === "" ? "latest" : swift[1];
        if (object !== "latest" && !SWIFT_BACKUP_OBJECT.test(object)) {
            throw new RestoreUsageError(`--from: ${JSON.stringify(object)} is not a backup's object name (<UTC time>Z-<reason>.tar.gz, or latest)`);
        }
        return { stack: values.stack, from: undefined, fromSwift: object, maxAgeHours, force };
    }
    return { stack: values.stack, from: values.from, maxAgeHours, force };
}

/** The name backup-upload.sh gives a backup in Swift. */
const SWIFT_BACKUP_OBJECT = /^[0-9]{8}T[0-9]{6}Z-[a-z][a-z-]*(-[0-9]+)?\.tar\.gz$/;

/** Parameters of `src/host/scripts/restore.sh`. */
export interface RestoreScriptParams {
    /** Namespace of the workload Clusters (the stack's). */
    namespace: string;
    /** The oldest backup restored without `force`, hours. */
    maxAgeHours: number;
    /** Restore an older one. */
    force: boolean;
    /** The backup (base64 of a tar.gz of its directory), or undefined: the server's latest. */
    upload?: string;
    /** An object of the stack's Swift container (`latest`: the newest) the server fetches; undefined: none. */
    fromSwift?: string;
}

/** Renders `src/host/scripts/restore.sh`. */
export function renderRestoreScript(p: RestoreScriptParams): string {
    if (p.upload !== undefined && !/^[A-Za-z0-9+/=\n]+$/.test(p.upload)) {
        throw new Error("restore: the uploaded backup must be base64");
    }
    return renderHostScript(
        "restore.sh",
        {
            ...mgmtKubeconfigParams(),
            NAMESPACE: p.namespace,
            BACKUP_DIR,
            MAX_AGE_SECONDS: String(p.maxAgeHours * 3600),
            FORCE: p.force ? "true" : "false",
            UPLOAD: p.upload ?? "",
            FROM_SWIFT: p.fromSwift ?? "",
            UPLOAD_SCRIPT: BACKUP_UPLOAD_SCRIPT_PATH,
        },
        { multiLine: ["UPLOAD"] },
    );
}
