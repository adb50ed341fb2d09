/**
 * Processes started by the integration suite: each writes to its own log file, is stopped by
 * `stop()` (SIGTERM, then SIGKILL), and is killed when the test process exits for any reason, so a
 * failed or interrupted run leaves no server behind.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";

/** Everything started and not yet seen exiting. */
const running = new Set<ManagedProcess>();

function killAll(): void {
    for (const p of running) {
        p.killNow();
    }
}

let hooksInstalled = false;
function installExitHooks(): void {
    if (hooksInstalled) {
        return;
    }
    hooksInstalled = true;
    process.on("exit", killAll);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(signal, () => {
            killAll();
            process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
        });
    }
}

/** `setpriv --pdeathsig` makes the kernel kill the child if this process dies without cleanup (SIGKILL). */
const hasSetpriv = spawnSync("setpriv", ["--help"], { stdio: "ignore" }).status === 0;

/** What to run. */
export interface ProcessSpec {
    /** Short name for messages. */
    name: string;
    /** Executable path. */
    command: string;
    /** Arguments. */
    args: string[];
    /** File that receives stdout and stderr (truncated on start). */
    logFile: string;
    /** Extra environment on top of this process's. */
    env?: Record<string, string>;
}

/** A started process. */
export class ManagedProcess {
    private readonly child: ChildProcess;
    private exitCode: number | null = null;
    private exitSignal: NodeJS.Signals | null = null;
    private exitedFlag = false;
    /** Resolves when the process has exited. */
    readonly exited: Promise<void>;

    constructor(readonly spec: ProcessSpec) {
        installExitHooks();
        const fd = fs.openSync(spec.logFile, "w");
        const [command, args] = hasSetpriv ? ["setpriv", ["--pdeathsig", "KILL", "--", spec.command, ...spec.args]] : [spec.command, spec.args];
        this.child = spawn(command, args, {
            stdio: ["ignore", fd, fd],
            env: { ...process.env, ...(spec.env ?? {}) },
        });
        fs.closeSync(fd);
        running.add(this);
        this.exited = new Promise((resolve) => {
            const done = (code: number | null, signal: NodeJS.Signals | null) => {
                this.exitCode = code;
                this.exitSignal = signal;
                this.exitedFlag = true;
                running.delete(this);
                resolve();
            };
            this.child.once("exit", done);
            this.child.once("error", (err) => {
                fs.appendFileSync(spec.logFile, `\n[harness] failed to start: ${err.message}\n`);
                done(null, null);
            });
        });
    }

    /** Process id (undefined if it could not be started). */
    get pid(): number | undefined {
        return this.child.pid;
    }

    /** True while the process runs. */
    get alive(): boolean {
        return !this.exitedFlag;
    }

    /** How it ended, for messages. */
    describeExit(): string {
        if (!this.exitedFlag) {
            return "still running";
        }
        return this.exitSignal ? `killed by ${this.exitSignal}` : `exited with ${this.exitCode}`;
    }

    /** Last `lines` lines of the log. */
    logTail(lines = 40): string {
        try {
            const text = fs.readFileSync(this.spec.logFile, "utf8");
            return text.split("\n").slice(-lines).join("\n");
        } catch {
            return "(no log)";
        }
    }

    /** Log tail framed for an error message. */
    report(lines = 40): string {
        return `--- ${this.spec.name} (${this.describeExit()}), last ${lines} lines of ${this.spec.logFile}:\n${this.logTail(lines)}\n---`;
    }

    /** SIGKILL without waiting (exit hooks). */
    killNow(): void {
        if (this.alive) {
            try {
                this.child.kill("SIGKILL");
            } catch {
                // already gone
            }
        }
    }

    /** SIGTERM, SIGKILL after `graceMs`; resolves when the process is gone. */
    async stop(graceMs = 10_000): Promise<void> {
        if (!this.alive) {
            return;
        }
        this.child.kill("SIGTERM");
        const timer = setTimeout(() => this.killNow(), graceMs);
        await this.exited;
        clearTimeout(timer);
    }
}

/** Pids of processes the harness started that are still running (tests check teardown with it). */
export function runningProcesses(): { name: string; pid: number | undefined }[] {
    return [...running].map((p) => ({ name: p.spec.name, pid: p.pid }));
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` until it returns a value other than undefined, at most `timeoutMs`. Fails early
 * when `watched` has exited, with its log tail; on timeout the message carries `what` and the log
 * tails of `watched`.
 */
export async function waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined> | T | undefined,
    opts: { timeoutMs: number; intervalMs?: number; watched?: ManagedProcess[] },
): Promise<T> {
    const deadline = Date.now() + opts.timeoutMs;
    let lastError = "";
    for (;;) {
        for (const p of opts.watched ?? []) {
            if (!p.alive) {
                throw new Error(`${what}: ${p.spec.name} ${p.describeExit()}\n${p.report()}`);
            }
        }
        try {
            const value = await probe();
            if (value !== undefined) {
                return value;
            }
        } catch (err) {
            lastError = (err as Error).message;
        }
        if (Date.now() > deadline) {
            const tails = (opts.watched ?? []).map((p) => p.report()).join("\n");
            throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}\n${tails}`);
        }
        await sleep(opts.intervalMs ?? 500);
    }
}
