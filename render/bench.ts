/**
 * Benchmark (not a test): median render time per stack, and the test suite's time.
 * Usage: npm run bench [-- --runs N]
 */
import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { reportCriticalPaths } from "./criticalPathBench";

const ROOT = path.resolve(__dirname, "..");
const RENDER_GOAL_SECONDS = 3;

function timed(cmd: string, args: string[]): number {
    const start = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stderr}`);
    }
    return seconds;
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function main(): void {
    const i = process.argv.indexOf("--runs");
    const runs = i > 0 ? Number(process.argv[i + 1]) : 5;
    const out = path.join(os.tmpdir(), "capi-mgmt-bench");
    console.log(`capi-mgmt benchmark, ${runs} runs each (goal: render median <= ${RENDER_GOAL_SECONDS} s)`);
    for (const stack of ["dev", "prod"]) {
        const times = Array.from({ length: runs }, () =>
            timed("npx", ["ts-node", "--transpile-only", "render/render.ts", "--stack", stack, "--out", path.join(out, stack)]),
        );
        const m = median(times);
        console.log(`render ${stack}: median ${m.toFixed(2)} s (min ${Math.min(...times).toFixed(2)}, max ${Math.max(...times).toFixed(2)})${m > RENDER_GOAL_SECONDS ? "  ABOVE GOAL" : ""}`);
    }
    console.log(`test suite (mocha, both stacks): ${timed("npx", ["mocha"]).toFixed(2)} s`);
}

main();
void reportCriticalPaths(["dev", "prod"]);
