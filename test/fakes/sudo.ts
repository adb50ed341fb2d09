/**
 * Running a script as a real unprivileged user (the server's login user), with a fake
 * `sudo` that really runs its command as root: the fake forwards the command through two
 * FIFOs to a helper loop that runs as root for the duration of the run.
 *
 * Needs root (to switch users and to own the root-only directories of the test) and
 * `setpriv` (util-linux); {@link canRunAsLoginUser} tells whether both are there.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { FAKES_DIR, installFake, logLines, RunResult, SCRIPT_RUN_TIMEOUT_MS } from "./shell";

/** The unprivileged user the scripts run as (nobody/nogroup exist on every Debian/Ubuntu). */
export const LOGIN_UID = 65534;
export const LOGIN_GID = 65534;

/** True when this process is root and `setpriv` is installed. */
export function canRunAsLoginUser(): boolean {
    return process.getuid?.() === 0 && spawnSync("setpriv", ["--version"], { encoding: "utf8" }).status === 0;
}

/** A fake sudo in `dir` (which it makes world-readable): its bin directory, log and switches. */
export class FakeSudo {
    readonly bin: string;
    readonly log: string;
    private readonly fifoDir: string;

    constructor(readonly dir: string) {
        fs.chmodSync(dir, 0o755);
        this.bin = path.join(dir, "sudo-bin");
        this.fifoDir = path.join(dir, "sudo-fifos");
        this.log = path.join(dir, "sudo.log");
        fs.mkdirSync(this.bin, { recursive: true, mode: 0o755 });
        fs.mkdirSync(this.fifoDir, { recursive: true, mode: 0o755 });
        installFake(this.bin, "sudo", "sudo.sh");
        for (const fifo of ["request", "reply"]) {
            const r = spawnSync("mkfifo", ["-m", "0666", path.join(this.fifoDir, fifo)], { encoding: "utf8" });
            if (r.status !== 0) {
                throw new Error(`mkfifo failed: ${r.stderr}`);
            }
        }
        fs.writeFileSync(this.log, "", { mode: 0o666 });
        fs.chmodSync(this.log, 0o666);
    }

    /** Makes sudo refuse, as for a user without a sudoers rule. */
    deny(): void {
        fs.writeFileSync(path.join(this.fifoDir, "denied"), "");
    }

    /** The sudo calls (their arguments), in order. */
    calls(): string[] {
        return logLines(this.log);
    }

    /** Pipes `script` to `bash -s` run as the login user, with this sudo first on PATH and exactly `env` besides. */
    runAsLoginUser(script: string, env: Record<string, string>): RunResult {
        const started = Date.now();
        // test/fakes/sudo-root.sh serves the fake sudo as root, then runs the script as the login user.
        const r = spawnSync("bash", ["--norc", path.join(FAKES_DIR, "sudo-root.sh"), String(LOGIN_UID), String(LOGIN_GID)], {
            input: script,
            env: {
                ...env,
                PATH: `${this.bin}:${env.PATH ?? process.env.PATH}`,
                FAKE_SUDO_DIR: this.fifoDir,
                FAKE_SUDO_LOG: this.log,
            },
            encoding: "utf8",
            timeout: SCRIPT_RUN_TIMEOUT_MS,
        });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
    }
}
