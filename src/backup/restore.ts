/**
 * The restore (`npm run restore`): its arguments and the rendering of `src/host/scripts/restore.sh`, which
 * runs `clusterctl move --from-directory` on the management server. Pure: the driver,
 * `render/restore.ts`, does the I/O (the stack's outputs, ssh with the host key pinned: the
 * same as `npm run check`, src/cluster/check.ts).
 */
import { BACKUP_DIR } from "./backup";
import { BACKUP_UPLOAD_SCRIPT_PATH } from "./objectStorage";
import { renderHostScript, mgmtKubeconfigParams } from "../host/hostScripts";
import { parseFlags, requiredStack, wholeNumberFlag } from "../shared/cliFlags";

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

const VALUE_FLAGS = ["stack", "from", "max-age"] as const;

/**
 * Parses the restore's arguments (`--flag value` or `--flag=value`, `--force` alone);
 * `undefined` when help was asked for. Throws a {@link RestoreUsageError} naming the flag.
 */
export function parseRestoreArgs(argv: readonly string[]): RestoreOptions | undefined {
    const error = (message: string) => new RestoreUsageError(message);
    const parsed = parseFlags(argv, { values: VALUE_FLAGS, switches: ["force"], error });
    if (!parsed) {
        return undefined;
    }
    const { values } = parsed;
    const force = parsed.switches.has("force");
    const stack = requiredStack(values.stack, error);
    if (values.from !== undefined && values.from.trim() === "") {
        throw new RestoreUsageError("--from: needs a directory");
    }
    const maxAge = values["max-age"];
    const maxAgeHours = maxAge === undefined ? DEFAULT_MAX_AGE_HOURS : wholeNumberFlag("max-age", maxAge, 1, 24 * 365, error, "hours");
    const swift = /^swift:(.*)$/s.exec(values.from ?? "");
    if (swift) {
        const object = swift[1] === "" ? "latest" : swift[1];
        if (object !== "latest" && !SWIFT_BACKUP_OBJECT.test(object)) {
            throw new RestoreUsageError(`--from: ${JSON.stringify(object)} is not a backup's object name (<UTC time>Z-<reason>.tar.gz, or latest)`);
        }
        return { stack, from: undefined, fromSwift: object, maxAgeHours, force };
    }
    return { stack, from: values.from, maxAgeHours, force };
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
