/**
 * Benchmark (not a test): how long `render` and `npm test` take on this machine.
 * Usage: npm run bench [-- --runs N]
 *
 * Each report is its own function called by main(); a report that fails prints why and
 * the benchmark goes on with the next one, then exits non-zero.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { reportCriticalPaths } from "./criticalPathBench";

const ROOT = path.resolve(__dirname, "..");
const RENDER_GOAL_SECONDS = 3;
/** Goal for the whole `npm test` (type check, lint and unit tests) on an idle machine. */
const TEST_GOAL_SECONDS = 60;

/** Outcome of one timed command. */
interface Timed {
    seconds: number;
    status: number | null;
    stdout: string;
    stderr: string;
}

function timed(cmd: string, args: string[]): Timed {
    const start = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { seconds, status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** The last `n` lines of `text`. */
function tail(text: string, n = 20): string {
    return text.trimEnd().split("\n").slice(-n).join("\n");
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const seconds = (s: number): string => `${s.toFixed(2)} s`;

/**
 * Median render time per stack, without the replacement map (`--no-map`: its ~45 renders
 * per stack are measured by the replacement-map spec files in npm test); false when a
 * render failed.
 */
function reportRender(runs: number): boolean {
    const out = path.join(os.tmpdir(), "capi-mgmt-bench");
    let ok = true;
    for (const stack of ["dev", "prod"]) {
        const times: number[] = [];
        for (let i = 0; i < runs; i++) {
            const r = timed("npx", ["ts-node", "--transpile-only", "render/render.ts", "--stack", stack, "--out", path.join(out, stack), "--no-map"]);
            if (r.status !== 0) {
                console.log(`render ${stack}: FAILED (exit ${r.status}):\n${tail(r.stderr + r.stdout)}`);
                ok = false;
                break;
            }
            times.push(r.seconds);
        }
        if (times.length === runs) {
            const m = median(times);
            const above = m > RENDER_GOAL_SECONDS ? "  ABOVE GOAL" : "";
            console.log(`render ${stack}: median ${seconds(m)} (min ${seconds(Math.min(...times))}, max ${seconds(Math.max(...times))})${above}`);
        }
    }
    return ok;
}

/** A test as mocha's JSON reporter writes it. */
interface MochaTest {
    fullTitle: string;
    file?: string;
    duration?: number;
    err?: { message?: string };
}

interface MochaReport {
    stats: { tests: number; passes: number; failures: number; pending: number };
    tests: MochaTest[];
    failures: MochaTest[];
}

/** Runs the unit tests with mocha's JSON reporter; prints their time, the slowest spec files and every failing test. */
function reportUnitTests(): { ok: boolean; seconds: number } {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-bench-")), "mocha.json");
    const r = timed("npx", ["mocha", "--reporter", "json", "--reporter-option", `output=${file}`]);
    let report: MochaReport;
    try {
        report = JSON.parse(fs.readFileSync(file, "utf8")) as MochaReport;
    } catch {
        console.log(`unit tests: mocha wrote no report (exit ${r.status}) after ${seconds(r.seconds)}:\n${tail(r.stderr + r.stdout)}`);
        return { ok: false, seconds: r.seconds };
    } finally {
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
    const { tests, passes, failures, pending } = report.stats;
    console.log(`unit tests: ${seconds(r.seconds)} (${tests} tests: ${passes} passed, ${failures} failed, ${pending} skipped)`);
    const perFile = new Map<string, number>();
    for (const t of report.tests) {
        const f = path.relative(ROOT, t.file ?? "?");
        perFile.set(f, (perFile.get(f) ?? 0) + (t.duration ?? 0));
    }
    const slowest = [...perFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    console.log(`  slowest spec files (sum of their tests): ${slowest.map(([f, ms]) => `${f} ${seconds(ms / 1000)}`).join(", ")}`);
    for (const t of report.failures) {
        console.log(`  FAILED: ${t.fullTitle} (${path.relative(ROOT, t.file ?? "?")})\n    ${(t.err?.message ?? "").split("\n")[0]}`);
    }
    return { ok: failures === 0 && r.status === 0, seconds: r.seconds };
}

/** Times `npm test` in its two parts: the type check and lint, then the unit tests. */
function reportTestSuite(): boolean {
    const check = timed("npm", ["run", "-s", "static"]);
    console.log(
        `type check and lint (npm run static): ${seconds(check.seconds)}${check.status === 0 ? "" : `  FAILED:\n${tail(check.stdout + check.stderr)}`}`,
    );
    const unit = reportUnitTests();
    const total = check.seconds + unit.seconds;
    const above = total > TEST_GOAL_SECONDS ? `  ABOVE GOAL (${TEST_GOAL_SECONDS} s on an idle machine)` : "";
    console.log(`npm test: ${seconds(total)}${above}`);
    return check.status === 0 && unit.ok;
}

function main(): void {
    const i = process.argv.indexOf("--runs");
    const runs = i > 0 ? Number(process.argv[i + 1]) : 5;
    if (!Number.isInteger(runs) || runs < 1) {
        console.error("usage: npm run bench [-- --runs N], N a whole number >= 1");
        process.exit(2);
    }
    console.log(`capi-mgmt benchmark on ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(2)}`);
    console.log(`render: ${runs} runs per stack (goal: median <= ${RENDER_GOAL_SECONDS} s)`);
    const results = [reportRender(runs), reportTestSuite()];
    if (results.includes(false)) {
        process.exitCode = 1;
    }
}

main();
void reportCriticalPaths(["dev", "prod"]);
