/**
 * `npm run check -- --stack <stack> --cluster [<namespace>/]<name> [--mode quick|conformance]`:
 * the conformance check of a workload cluster (SCS's `make check`).
 *
 * Reads the stack's outputs through the Pulumi CLI (render/serverSsh.ts), writes the login key and the pinned
 * known_hosts line into a private temporary directory (removed on every exit, also on
 * failure and on SIGINT/SIGTERM/SIGHUP), and runs `src/host/scripts/conformance.sh` on the management server
 * over ssh (host key pinned, never accepted on first use), streaming its output. The exit
 * status is the script's (0 passed, 1 failed, 2 timed out, 3 could not run); 2 also for bad
 * arguments, before anything runs; 255 when ssh itself failed.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CHECK_USAGE, CheckUsageError, conformanceScriptFor, parseCheckArgs, SERVER_LOGIN_USER, sshArgs } from "../src/cluster/check";
import { failWith, optionsOrUsage, stackTarget } from "./serverSsh";

const COMMAND = "npm run check";
function fail(message: string, status: number): never {
    return failWith(COMMAND, message, status);
}

async function main(argv: string[]): Promise<number> {
    const options = optionsOrUsage(COMMAND, CHECK_USAGE, CheckUsageError, () => parseCheckArgs(argv));
    if (!options) {
        return 0;
    }
    const target = stackTarget(COMMAND, options.stack);
    const script = conformanceScriptFor(options, target);

    // mkdtemp makes the directory 0700; the files are created 0600, never overwriting.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-check-"));
    const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
    process.on("exit", removeDir);
    const keyFile = path.join(dir, "id");
    const knownHostsFile = path.join(dir, "known_hosts");
    fs.writeFileSync(keyFile, target.privateKey, { mode: 0o600, flag: "wx" });
    fs.writeFileSync(knownHostsFile, target.knownHosts, { mode: 0o600, flag: "wx" });

    const namespace = options.cluster.namespace ?? target.workloadNamespace;
    process.stderr.write(
        `npm run check: ${options.mode} check of ${namespace}/${options.cluster.name} from ${SERVER_LOGIN_USER}@${target.host} (stack ${options.stack}, bound ${options.timeoutMinutes} min)\n`,
    );
    // ssh in a session of its own: a Ctrl-C in the terminal reaches only this process, which
    // ends ssh itself (and so knows the check was interrupted, not that ssh failed).
    const child = spawn("ssh", sshArgs({ host: target.host, user: SERVER_LOGIN_USER, keyFile, knownHostsFile }), {
        stdio: ["pipe", "inherit", "inherit"],
        detached: true,
    });
    let interrupted: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
        if (!interrupted) {
            interrupted = signal;
            process.stderr.write(
                `npm run check: ${signal}: ending the session; the server deletes sonobuoy's objects from the cluster when it notices (within ${options.pollSeconds}s)\n`,
            );
        }
        child.kill("SIGTERM");
    };
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.on(signal, onSignal);
    }
    child.stdin.on("error", () => undefined);
    child.stdin.end(script);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (c, s) => resolve([c, s]));
    }).catch((e: Error) => fail(`cannot run ssh: ${e.message}`, 3));
    removeDir();
    if (interrupted) {
        return interrupted === "SIGINT" ? 130 : interrupted === "SIGHUP" ? 129 : 143;
    }
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
