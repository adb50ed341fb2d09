/**
 * A virtual clock for running the host scripts under test, so that no test depends on how
 * fast the machine is: fake `sleep` and `date` first on PATH, and the run of the script
 * treated as a discrete-event simulation.
 *
 * - `date +%s` (and `+%s%N`) print the virtual time; the fake kubectl and curl read it too
 *   ({@link FakeClock.nowMs}, `$FAKE_CLOCK_DIR/t`).
 * - `sleep N` registers its wake-up time N virtual seconds ahead and blocks until the clock
 *   reaches it. The clock moves only when every process of the run waits for it: each leaf
 *   of the script's process tree is a registered `sleep` and every other process is blocked
 *   (on its children). Then the clock jumps to the earliest wake-up. While any process works
 *   (a kubectl call, a loop of the script), the clock stands still, however long that takes.
 *
 * So each process sees exactly its own sleeps pass, and parallel jobs advance in lockstep:
 * a bound of 30 s is 30 s of polls, on an idle or a loaded machine alike. Real time only
 * passes in `timeout` around a command that never answers (a hung fake).
 *
 * The clock is lock-free: each move adds a file `t/<16-digit ms>` and the time is the
 * largest name, so a late writer can never move it back. The sleep that moves it wakes
 * the sleeps then due through their FIFOs (`sleepers/<pid>.wake`).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { RunResult, SCRIPT_RUN_TIMEOUT_MS } from "./shell";

/** Virtual start time of every run: 2026-06-01T00:00:00Z. */
export const CLOCK_START_MS = Date.UTC(2026, 5, 1);

/** The fake `sleep`: whole or decimal seconds (up to milliseconds), one argument. */

/** The machine's `date`, for the conversions the fake leaves to it. */
const REAL_DATE = spawnSync("bash", ["-c", "command -v date"], { encoding: "utf8" }).stdout.trim() || "/usr/bin/date";

/** Runs the script from stdin as `bash -s`, recording that process as the root of the run. */
const WRAPPER = `echo "$$" >"$FAKE_CLOCK_DIR/root"; exec bash -s`;

/** A virtual clock in `dir`: its bin directory (fake sleep and date) and its time. */
export class FakeClock {
    readonly bin: string;

    constructor(readonly dir: string) {
        if (!fs.existsSync(`/proc/${process.pid}/task/${process.pid}/children`)) {
            throw new Error("the virtual clock walks the script's processes through /proc/<pid>/task/<tid>/children (Linux, CONFIG_PROC_CHILDREN)");
        }
        this.bin = path.join(dir, "bin");
        for (const d of [this.bin, path.join(dir, "t"), path.join(dir, "sleepers")]) {
            fs.mkdirSync(d, { recursive: true });
        }
        this.setMs(CLOCK_START_MS);
        fs.copyFileSync(path.join(__dirname, "clock-sleep.sh"), path.join(this.bin, "sleep"));
        fs.copyFileSync(path.join(__dirname, "clock-date.sh"), path.join(this.bin, "date"));
        fs.chmodSync(path.join(this.bin, "sleep"), 0o755);
        fs.chmodSync(path.join(this.bin, "date"), 0o755);
    }

    /** The virtual time, epoch milliseconds. */
    nowMs(): number {
        return Math.max(...fs.readdirSync(path.join(this.dir, "t")).map(Number));
    }

    /** Moves the clock forward to `ms` (never back). */
    setMs(ms: number): void {
        fs.writeFileSync(path.join(this.dir, "t", String(Math.round(ms)).padStart(16, "0")), "");
    }

    /** The environment a script needs to run on this clock: `FAKE_CLOCK_DIR` and the fakes first on PATH. */
    env(base: Record<string, string>): Record<string, string> {
        return { ...base, PATH: `${this.bin}:${base.PATH ?? process.env.PATH}`, FAKE_CLOCK_DIR: this.dir, FAKE_REAL_DATE: REAL_DATE };
    }

    /** Pipes `script` to `bash -s` on this clock, with exactly `env` besides. */
    run(script: string, env: Record<string, string>): RunResult {
        const started = Date.now();
        const r = spawnSync("bash", ["--norc", "-c", WRAPPER], { input: script, env: this.env(env), encoding: "utf8", timeout: SCRIPT_RUN_TIMEOUT_MS });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
    }
}
