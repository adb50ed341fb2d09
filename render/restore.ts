/**
 * `npm run restore -- --stack <stack> [--from <directory>] [--max-age <hours>] [--force]`: brings
 * the stack's management server back to managing the existing workload clusters from a backup
 * (docs/operations.md, "Restore").
 *
 * Runs `src/host/scripts/restore.sh` on the server over ssh (render/serverSsh.ts: as `npm run check`, host key
 * pinned), streaming its output. With `--from`, the backup directory on this machine travels
 * inside the script (base64 of a tar.gz, on ssh's stdin; never on a command line, never
 * printed). Exit: the script's (0 restored, 1 refused or failed), 2 for bad arguments, 3 when it
 * could not run, 255 when ssh itself failed.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseRestoreArgs, renderRestoreScript, RESTORE_USAGE, RestoreUsageError } from "../src/backup/restore";
import { failWith, optionsOrUsage, ServerSsh, stackTarget } from "./serverSsh";

const COMMAND = "npm run restore";
const fail = (message: string, status: number): never => failWith(COMMAND, message, status);

/** The backup directory `dir` as base64 of a tar.gz of its objects/ and backup.env (checked first). */
function packBackup(dir: string): string {
    const missing = ["objects", "backup.env"].filter((f) => !fs.existsSync(path.join(dir, f)));
    if (missing.length) {
        fail(`--from: ${dir} is not a backup directory of src/host/scripts/backup.sh (it has no ${missing.join(" and no ")})`, 2);
    }
    const r = spawnSync("tar", ["-C", dir, "-cz", "objects", "backup.env"], { maxBuffer: 512 * 1024 * 1024 });
    if (r.error || r.status !== 0) {
        fail(`--from: cannot pack ${dir} with tar: ${r.error?.message ?? r.stderr.toString().trim()}`, 3);
    }
    return r.stdout.toString("base64").replace(/(.{76})/g, "$1\n");
}

async function main(argv: string[]): Promise<number> {
    const options = optionsOrUsage(COMMAND, RESTORE_USAGE, RestoreUsageError, () => parseRestoreArgs(argv));
    if (!options) {
        return 0;
    }
    const upload = options.from === undefined ? undefined : packBackup(path.resolve(options.from));
    const ssh = new ServerSsh(COMMAND, stackTarget(COMMAND, options.stack));
    const namespace = ssh.target.workloadNamespace;
    process.stderr.write(
        `${COMMAND}: restoring ${options.fromSwift !== undefined ? `the backup ${options.fromSwift} from object storage` : options.from === undefined ? "the server's latest backup" : `the backup ${options.from}`} into the management cluster of ${ssh.where} (stack ${options.stack}, namespace ${namespace}, max age ${options.maxAgeHours}h${options.force ? ", forced" : ""})\n`,
    );
    const { status } = await ssh.run(
        renderRestoreScript({ namespace, maxAgeHours: options.maxAgeHours, force: options.force, upload, fromSwift: options.fromSwift }),
    );
    return status;
}

main(process.argv.slice(2)).then(
    (status) => process.exit(status),
    (e: Error) => fail(e.stack ?? e.message, 3),
);
