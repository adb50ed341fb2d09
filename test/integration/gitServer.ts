/**
 * A Git server over SSH on loopback for the Flux tests: Debian's OpenSSH server (`sshd`) on a
 * free high port with its own generated host key and one authorised deploy key, serving bare
 * repositories in a temporary directory through `git-shell` (the key may run nothing else).
 *
 * It runs as the user running the tests (root in CI): an sshd not started as root can only
 * log that same user in, so the Git URL names the current user. Needs the packages
 * `openssh-server`, `openssh-client` (ssh-keygen) and `git`.
 *
 * `stop()` ends sshd and removes the directory; the process is also killed when the test
 * process exits (see harness/processes).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { ManagedProcess, waitFor } from "./harness/processes";

/** Where Debian installs the server. */
const SSHD = "/usr/sbin/sshd";

/** Bound of sshd's start on a loaded machine. */
const SSHD_READY_TIMEOUT_MS = 30_000;

/** Runs a program that must succeed; returns stdout. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): string {
    const r = spawnSync(cmd, args, {
        cwd: opts.cwd,
        input: opts.input,
        encoding: "utf8",
        env: { ...process.env, ...(opts.env ?? {}) },
        timeout: 60_000,
    });
    if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr ?? ""}${r.stdout ?? ""}${r.error ? String(r.error) : ""}`);
    }
    return r.stdout;
}

/** An SSH key pair made by ssh-keygen (OpenSSH formats). */
export interface KeyPair {
    /** Private key, OpenSSH PEM. */
    privateKey: string;
    /** Public key line, `ssh-ed25519 AAAA… comment`. */
    publicKey: string;
}

/** A new ed25519 key pair. */
export function newKeyPair(dir: string, name: string): KeyPair {
    const file = path.join(dir, name);
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file]);
    return { privateKey: fs.readFileSync(file, "utf8"), publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim() };
}

/** A free TCP port on 127.0.0.1 (the same technique as the control plane's). */
function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

/** Reads the first bytes the server sends (its SSH version banner). */
function banner(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, "127.0.0.1");
        let data = "";
        sock.setTimeout(3000, () => sock.destroy(new Error("no banner")));
        sock.on("data", (c) => {
            data += c.toString("utf8");
            if (data.includes("\n")) {
                sock.destroy();
                resolve(data.trim());
            }
        });
        sock.on("error", reject);
        sock.on("close", () => resolve(data.trim()));
    });
}

/** Git's environment for commits made by the tests: no user or system configuration. */
const GIT_ENV: Record<string, string> = {
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_AUTHOR_NAME: "capi-mgmt test",
    GIT_AUTHOR_EMAIL: "test@capi-mgmt.invalid",
    GIT_COMMITTER_NAME: "capi-mgmt test",
    GIT_COMMITTER_EMAIL: "test@capi-mgmt.invalid",
};

/** Runs git in `cwd`. */
export function git(cwd: string, ...args: string[]): string {
    return run("git", args, { cwd, env: GIT_ENV });
}

/** A bare repository on the server and a work tree the test commits in and pushes from. */
export class Repository {
    constructor(
        /** Bare repository the server serves. */
        readonly bareDir: string,
        /** Work tree. */
        readonly workDir: string,
        /** `ssh://user@127.0.0.1:port/abs/path.git`. */
        readonly url: string,
    ) {}

    /** Writes a file of the work tree (creating directories). */
    write(rel: string, text: string): void {
        const file = path.join(this.workDir, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
    }

    /** Reads a file of the work tree. */
    read(rel: string): string {
        return fs.readFileSync(path.join(this.workDir, rel), "utf8");
    }

    /** Removes a file of the work tree. */
    remove(rel: string): void {
        fs.rmSync(path.join(this.workDir, rel));
    }

    /** Commits everything and pushes the branch; returns the commit's SHA. */
    commit(message: string, branch = "main"): string {
        git(this.workDir, "add", "-A");
        git(this.workDir, "commit", "-q", "--allow-empty", "-m", message);
        git(this.workDir, "push", "-q", "origin", `HEAD:refs/heads/${branch}`);
        return this.head();
    }

    /** Creates an annotated tag on HEAD and pushes it; returns the commit's SHA. */
    tag(name: string): string {
        git(this.workDir, "tag", "-a", name, "-m", name);
        git(this.workDir, "push", "-q", "origin", `refs/tags/${name}`);
        return this.head();
    }

    /** SHA of HEAD. */
    head(): string {
        return git(this.workDir, "rev-parse", "HEAD").trim();
    }
}

/** The running server. */
export class GitServer {
    private constructor(
        readonly dir: string,
        readonly port: number,
        readonly user: string,
        /** The host key's public line (`ssh-ed25519 AAAA…`). */
        readonly hostPublicKey: string,
        /** The authorised deploy key. */
        readonly deployKey: KeyPair,
        readonly process: ManagedProcess,
    ) {}

    /** known_hosts for this server: `[127.0.0.1]:<port> <type> <key>`. */
    get knownHosts(): string {
        const [type, key] = this.hostPublicKey.split(/\s+/);
        return `[127.0.0.1]:${this.port} ${type} ${key}\n`;
    }

    /** Starts sshd; on failure removes what it made and throws with sshd's log. */
    static async start(): Promise<GitServer> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-gitserver-"));
        const user = os.userInfo().username;
        const hostKey = newKeyPair(dir, "ssh_host_ed25519_key");
        const deployKey = newKeyPair(dir, "deploy_key");
        // Only git-shell may run for the key, whatever the client asks.
        fs.writeFileSync(path.join(dir, "authorized_keys"), `restrict,command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"" ${deployKey.publicKey}\n`, {
            mode: 0o600,
        });
        if (process.getuid?.() === 0) {
            // sshd started as root insists on its privilege separation directory.
            fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
        }
        const port = await freePort();
        const config = [
            `Port ${port}`,
            "ListenAddress 127.0.0.1",
            `HostKey ${path.join(dir, "ssh_host_ed25519_key")}`,
            `PidFile ${path.join(dir, "sshd.pid")}`,
            `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
            `AllowUsers ${user}`,
            // The temp dir is not root-owned all the way up; the files are ours and 0600.
            "StrictModes no",
            "UsePAM no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "AllowTcpForwarding no",
            "AllowAgentForwarding no",
            "X11Forwarding no",
            "PermitTTY no",
            "PrintMotd no",
            "LogLevel VERBOSE",
            "",
        ].join("\n");
        fs.writeFileSync(path.join(dir, "sshd_config"), config);
        run(SSHD, ["-t", "-f", path.join(dir, "sshd_config")]);
        const proc = new ManagedProcess({
            name: "sshd (git server)",
            command: SSHD,
            args: ["-D", "-e", "-f", path.join(dir, "sshd_config")],
            logFile: path.join(dir, "sshd.log"),
        });
        try {
            await waitFor("sshd banner", async () => ((await banner(port)).startsWith("SSH-2.0-") ? true : undefined), {
                timeoutMs: SSHD_READY_TIMEOUT_MS,
                watched: [proc],
            });
        } catch (err) {
            await proc.stop();
            fs.rmSync(dir, { recursive: true, force: true });
            throw err;
        }
        return new GitServer(dir, port, user, hostKey.publicKey, deployKey, proc);
    }

    /** A new bare repository holding a copy of `fromDir` as its first commit on `main`. */
    createRepository(name: string, fromDir: string): Repository {
        const bare = path.join(this.dir, "repos", `${name}.git`);
        const work = path.join(this.dir, "work", name);
        fs.mkdirSync(bare, { recursive: true });
        git(bare, "init", "-q", "--bare", "-b", "main");
        fs.mkdirSync(work, { recursive: true });
        fs.cpSync(fromDir, work, { recursive: true });
        git(work, "init", "-q", "-b", "main");
        git(work, "remote", "add", "origin", bare);
        const repo = new Repository(bare, work, `ssh://${this.user}@127.0.0.1:${this.port}${bare}`);
        repo.commit("GitOps tree from the project's gitops/");
        return repo;
    }

    /**
     * Clones `repo` over SSH with OpenSSH's client, the deploy key and strict host key checking
     * against {@link knownHosts}: proves the server works independently of Flux.
     */
    cloneWithOpenSsh(repo: Repository, into: string): void {
        const key = path.join(this.dir, "deploy_key");
        const kh = path.join(this.dir, "known_hosts");
        fs.writeFileSync(kh, this.knownHosts);
        run("git", ["clone", "-q", repo.url, into], {
            env: {
                ...GIT_ENV,
                GIT_SSH_COMMAND: `ssh -F none -i ${key} -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${kh} -o BatchMode=yes`,
            },
        });
    }

    /** sshd's log tail, for failure messages. */
    report(lines = 30): string {
        return this.process.report(lines);
    }

    /** Stops sshd and removes the directory (kept with TESTBED_KEEP=1). */
    async stop(): Promise<void> {
        await this.process.stop();
        if (process.env.TESTBED_KEEP !== "1") {
            fs.rmSync(this.dir, { recursive: true, force: true });
        }
    }
}
