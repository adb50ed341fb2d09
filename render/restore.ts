/**
 * `npm run restore -- --stack <stack> [--from <directory>] [--max-age <hours>] [--force]`: brings
 * the stack's management server back to managing the existing workload clusters from a backup
 * (docs/operations.md, "Restore").
 *
 * Like `npm run check` (render/check.ts): reads the stack's outputs through the Pulumi CLI,
 * writes the login key and the pinned known_hosts line into a private temporary directory
 * (removed on exit), and runs `host/restore.sh` on the server over ssh (host key pinned, never
 * accepted on first use), streaming its output. With `--from`, the backup directory on this
 * machine travels inside the script (base64 of a tar.gz, on ssh's stdin; never on a command
 * line, never printed). Exit: the script's (0 restored, 1 refused or failed), 2 for bad
 * arguments, 3 when it could not run, 255 when ssh itself failed.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackOutputs, SERVER_LOGIN_USER, sshArgs } from "../lib/check";
import { parseRestoreArgs, renderRestoreScript, RESTORE_USAGE, RestoreUsageError } from "../lib/restore";

function fail(message: string, status: number): never {
    process.stderr.write(`npm run restore: ${message}\n`);
    process.exit(status);
}

/** The stack's outputs, secrets shown: kept in memory, never printed. */
function stackOutputs(stack: string): string {
    const r = spawnSync("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        maxBuffer: 16 * 1024 * 1024,
    });
    if (r.error) {
        fail(`cannot run the Pulumi CLI (${r.error.message}): 'pulumi' must be on PATH, logged in to the stack's backend`, 3);
    }
    if (r.status !== 0) {
        fail(`'pulumi stack output --stack ${stack}' failed (exit ${r.status}): ${r.stderr.trim()}`, 3);
    }
    return r.stdout;
}

/** The backup directory `dir` as base64 of a tar.gz of its objects/ and backup.env (checked first). */
function packBackup(dir: string): string {
    const problems = ["objects", "backup.env"].filter((f) => !fs.existsSync(path.join(dir, f)));
    if (problems.length) {
        fail(`--from: ${dir} is not a backup directory of host/backup.sh (it has no ${problems.join(" and no ")})`, 2);
    }
    const r = spawnSync("tar", ["-C", dir, "-cz", "objects", "backup.env"], { maxBuffer: 512 * 1024 * 1024 });
    if (r.error || r.status !== 0) {
        fail(`--from: cannot pack ${dir} with tar: ${r.error?.message ?? r.stderr.toString().trim()}`, 3);
    }
    return r.stdout.toString("base64").replace(/(.{76})/g, "$1\n");
}

async function main(argv: string[]): Promise<number> {
    let options;
    try {
        options = parseRestoreArgs(argv);
    } catch (e) {
        if (e instanceof RestoreUsageError) {
            fail(`${e.message}\n\n${RESTORE_USAGE}`, 2);
        }
        throw e;
    }
    if (!options) {
        process.stdout.write(`${RESTORE_USAGE}\n`);
        return 0;
    }
    const upload = options.from === undefined ? undefined : packBackup(path.resolve(options.from));
    let target;
    try {
        target = parseStackOutputs(options.stack, stackOutputs(options.stack));
    } catch (e) {
        fail((e as Error).message, 3);
    }
    const script = renderRestoreScript({ namespace: target.workloadNamespace, maxAgeHours: options.maxAgeHours, force: options.force, upload });

    // mkdtemp makes the directory 0700; the files are created 0600, never overwriting.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-restore-"));
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    const keyFile = path.join(dir, "id");
    const knownHostsFile = path.join(dir, "known_hosts");
    fs.writeFileSync(keyFile, target.privateKey, { mode: 0o600, flag: "wx" });
    fs.writeFileSync(knownHostsFile, target.knownHosts, { mode: 0o600, flag: "wx" });

    process.stderr.write(
        `npm run restore: restoring ${options.from === undefined ? "the server's latest backup" : `the backup ${options.from}`} into the management cluster of ${SERVER_LOGIN_USER}@${target.host} (stack ${options.stack}, namespace ${target.workloadNamespace}, max age ${options.maxAgeHours}h${options.force ? ", forced" : ""})\n`,
    );
    const child = spawn("ssh", sshArgs({ host: target.host, user: SERVER_LOGIN_USER, keyFile, knownHostsFile }), { stdio: ["pipe", "inherit", "inherit"] });
    child.stdin.on("error", () => undefined);
    child.stdin.end(script);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (c, s) => resolve([c, s]));
    }).catch((e: Error) => fail(`cannot run ssh: ${e.message}`, 3));
    if (code === 255) {
        fail(
            `ssh to ${SERVER_LOGIN_USER}@${target.host} failed (exit 255): unreachable, not allowed by sshAllowedCidrs, or its host key is not the stack's sshKnownHosts`,
            255,
        );
    }
    if (code === null) {
        fail(`ssh ended by signal ${signal}`, 3);
    }
    return code;
}

main(process.argv.slice(2)).then(
    (status) => process.exit(status),
    (e: Error) => fail(e.stack ?? e.message, 3),
);
