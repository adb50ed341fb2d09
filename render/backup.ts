/**
 * `npm run backup -- --stack <stack> [--to <directory>] [--keep <n>]`: a backup of the stack's
 * management server now (src/host/scripts/backup.sh over ssh, render/serverSsh.ts), and with `--to` a copy on
 * this machine (src/host/scripts/backup-download.sh: base64 of a tar.gz on ssh's stdout, unpacked into
 * `<directory>/<name>/`, 0700; never printed). The scheduled backup is installed by `pulumi up`
 * (src/backup/managementBackup.ts). Exit: the backup's status (0 done, 1 refused or
 * failed: its message says why), 2 bad arguments, 3 could not run, 255 ssh failed.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BACKUP_USAGE, BackupUsageError, parseBackupArgs, renderBackupDownloadScript, renderManualBackupScript } from "../src/backup/backup";
import { failWith, optionsOrUsage, ServerSsh, stackTarget } from "./serverSsh";

const COMMAND = "npm run backup";
const fail = (message: string, status: number): never => failWith(COMMAND, message, status);

async function main(argv: string[]): Promise<number> {
    const options = optionsOrUsage(COMMAND, BACKUP_USAGE, BackupUsageError, () => parseBackupArgs(argv));
    if (!options) {
        return 0;
    }
    const ssh = new ServerSsh(COMMAND, stackTarget(COMMAND, options.stack));
    process.stderr.write(`${COMMAND}: backing up namespace ${ssh.target.workloadNamespace} on ${ssh.where} (stack ${options.stack})\n`);
    const made = await ssh.run(renderManualBackupScript({ namespace: ssh.target.workloadNamespace, keep: options.keep }));
    if (made.status !== 0 || options.to === undefined) {
        return made.status;
    }
    const got = await ssh.run(renderBackupDownloadScript(), true);
    const m = /^name=([0-9]{8}T[0-9]{6}Z-[a-z-]+(?:-[0-9]+)?)\n([A-Za-z0-9+/=\n]+)$/.exec(got.stdout);
    if (got.status !== 0 || !m) {
        failWith(COMMAND, `the backup was made on the server, but copying it failed (exit ${got.status}); run again with --to`, 1);
    }
    const target = path.resolve(options.to, m[1]);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    fs.mkdirSync(target, { mode: 0o700 });
    const r = spawnSync("tar", ["-xz", "-C", target], { input: Buffer.from(m[2].replace(/\n/g, ""), "base64") });
    if (r.error || r.status !== 0) {
        fs.rmSync(target, { recursive: true, force: true });
        fail(`cannot unpack the backup into ${target}: ${r.error?.message ?? r.stderr.toString().trim()}`, 3);
    }
    process.stdout.write(`${COMMAND}: copied to ${target} (restore it with: npm run restore -- --stack ${options.stack} --from ${target})\n`);
    return 0;
}

main(process.argv.slice(2)).then(
    (status) => process.exit(status),
    (e: Error) => fail(e.stack ?? e.message, 3),
);
