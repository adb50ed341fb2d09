import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { PROJECT_DIR } from "./harness";

/** Runs `body` (TypeScript, `runCommand` in scope) as its own node process. */
function run(body: string): { status: number | null; stdout: string; stderr: string } {
    const command = JSON.stringify(path.join(PROJECT_DIR, "render", "command.ts"));
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", `const { runCommand } = require(${command});\n${body}`], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("render/command.ts: how the render tools' commands fail", () => {
    it("runs the body and leaves the exit status to it", () => {
        const r = run(`void runCommand("tool", async () => { console.log("done"); process.exitCode = 0; });`);
        assert.deepStrictEqual(r, { status: 0, stdout: "done\n", stderr: "" });
    });

    it("reports a thrown error once as `<command> failed: <message>`, exit 1, no stack trace", () => {
        const r = run(`void runCommand("tool", async () => { throw new Error("capi-mgmt:flavor: is required"); });`);
        assert.deepStrictEqual(r, { status: 1, stdout: "", stderr: "tool failed: capi-mgmt:flavor: is required\n" });
    });

    it("reports a promise nobody awaited and a non-Error the same way", () => {
        const floating = run(`void runCommand("tool", async () => { void Promise.reject(new Error("late")); await new Promise(() => undefined); });`);
        assert.deepStrictEqual(floating, { status: 1, stdout: "", stderr: "tool failed: late\n" });
        const thrown = run(`void runCommand("tool", async () => { throw "a string"; });`);
        assert.deepStrictEqual(thrown, { status: 1, stdout: "", stderr: "tool failed: a string\n" });
    });
});
