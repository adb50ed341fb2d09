/**
 * What `npm run backup` and `npm run restore` share with `npm run check` (render/check.ts): the
 * stack's outputs through the Pulumi CLI (kept in memory, never printed), the login key and the
 * pinned known_hosts line in a private temporary directory (removed on exit), and a host
 * script on ssh's stdin (`sudo bash -s`, host key pinned, never accepted on first use).
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CheckTarget, parseStackOutputs, SERVER_LOGIN_USER, sshArgs } from "../src/cluster/check";

/** Prints `<command>: message` on stderr and exits with `status`. */
export function failWith(command: string, message: string, status: number): never {
    process.stderr.write(`${command}: ${message}\n`);
    process.exit(status);
}

/**
 * The command's options as `parse()` reads them; on its usage error (a `usageError`), the
 * message and `usage` on stderr and exit 2; `undefined`, with `usage` printed on stdout, when
 * help was asked for.
 */
export function optionsOrUsage<T>(command: string, usage: string, usageError: new (message: string) => Error, parse: () => T | undefined): T | undefined {
    let options: T | undefined;
    try {
        options = parse();
    } catch (e) {
        if (e instanceof usageError) {
            failWith(command, `${e.message}\n\n${usage}`, 2);
        }
        throw e;
    }
    if (!options) {
        process.stdout.write(`${usage}\n`);
    }
    return options;
}

/** The stack's server (address, pinned host key, login key, workload namespace); exits 3 when unreadable. */
export function stackTarget(command: string, stack: string): CheckTarget {
    const r = spawnSync("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        maxBuffer: 16 * 1024 * 1024,
    });
    if (r.error) {
        failWith(command, `cannot run the Pulumi CLI (${r.error.message}): 'pulumi' must be on PATH, logged in to the stack's backend`, 3);
    }
    if (r.status !== 0) {
        failWith(command, `'pulumi stack output --stack ${stack}' failed (exit ${r.status}): ${r.stderr.trim()}`, 3);
    }
    try {
        return parseStackOutputs(stack, r.stdout);
    } catch (e) {
        failWith(command, (e as Error).message, 3);
    }
}

/** A session maker for one server: the key files are written once and removed on exit. */
export class ServerSsh {
    private readonly keyFile: string;
    private readonly knownHostsFile: string;

    constructor(
        private readonly command: string,
        readonly target: CheckTarget,
    ) {
        // mkdtemp makes the directory 0700; the files are created 0600, never overwriting.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-ssh-"));
        process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
        this.keyFile = path.join(dir, "id");
        this.knownHostsFile = path.join(dir, "known_hosts");
        fs.writeFileSync(this.keyFile, target.privateKey, { mode: 0o600, flag: "wx" });
        fs.writeFileSync(this.knownHostsFile, target.knownHosts, { mode: 0o600, flag: "wx" });
    }

    /** `user@host`, for messages. */
    get where(): string {
        return `${SERVER_LOGIN_USER}@${this.target.host}`;
    }

    /**
     * Runs `script` as root on the server; stderr streams to ours, stdout too unless `capture`
     * (then it is returned). Exits 255 saying so when ssh itself fails, 3 when it cannot run.
     */
    async run(script: string, capture = false): Promise<{ status: number; stdout: string }> {
        const child = spawn("ssh", sshArgs({ host: this.target.host, user: SERVER_LOGIN_USER, keyFile: this.keyFile, knownHostsFile: this.knownHostsFile }), {
            stdio: ["pipe", capture ? "pipe" : "inherit", "inherit"],
        });
        const chunks: Buffer[] = [];
        child.stdout?.on("data", (c: Buffer) => chunks.push(c));
        child.stdin?.on("error", () => undefined);
        child.stdin?.end(script);
        const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
            child.on("error", reject);
            child.on("close", (c, s) => resolve([c, s]));
        }).catch((e: Error) => failWith(this.command, `cannot run ssh: ${e.message}`, 3));
        if (code === 255) {
            failWith(
                this.command,
                `ssh to ${this.where} failed (exit 255): unreachable, not allowed by sshAllowedCidrs, or its host key is not the stack's sshKnownHosts`,
                255,
            );
        }
        if (code === null) {
            failWith(this.command, `ssh ended by signal ${signal}`, 3);
        }
        return { status: code, stdout: Buffer.concat(chunks).toString("utf8") };
    }
}
