/**
 * Running the host scripts for real under bash, as the remote commands do, and checking
 * them with shellcheck: what every script test shares.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Outcome of running a script. */
export interface RunResult {
    status: number | null;
    stdout: string;
    stderr: string;
    /** Wall-clock milliseconds the run took. */
    ms: number;
}

/**
 * Bound of one script run: a script that hangs fails its test instead of the suite. Only a
 * guard: the tests drive the scripts' clocks (test/fakes/clock.ts), so none depends on speed.
 */
export const SCRIPT_RUN_TIMEOUT_MS = 300_000;

/** Pipes a script to `bash -s` with exactly the environment `env`, as the remote commands do. */
export function runScript(script: string, env: Record<string, string>): RunResult {
    const started = Date.now();
    const r = spawnSync("bash", ["-s"], { input: script, env, encoding: "utf8", timeout: SCRIPT_RUN_TIMEOUT_MS });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

/**
 * Temp directories made by the tests, removed when the test process ends (not in a root
 * `after` hook: under `mocha --parallel` a worker runs several files but loads this once).
 */
const tempDirs: string[] = [];

process.on("exit", () => {
    for (const dir of tempDirs.splice(0)) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

/** A new temp directory, removed when the test process ends. */
export function makeTempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `capi-mgmt-${prefix}-`));
    tempDirs.push(dir);
    return dir;
}

/** Where the fake tools' scripts live (test/fakes, a `.sh` file each, shellchecked by test/fakes.spec.ts). */
export const FAKES_DIR = __dirname;

/**
 * Copies the fake tool `test/fakes/<file>` to `<bin>/<name>`, executable, with each library it
 * sources from beside itself (a line `source "${0%/*}/<lib>"`): `<lib>` found in the fake's own
 * folder, else in test/fakes (e.g. ssh-args.sh, shared by the fake ssh commands).
 */
export function installFake(bin: string, name: string, file: string): void {
    const source = path.join(FAKES_DIR, file);
    const target = path.join(bin, name);
    fs.mkdirSync(bin, { recursive: true });
    fs.copyFileSync(source, target);
    fs.chmodSync(target, 0o755);
    for (const [, lib] of fs.readFileSync(source, "utf8").matchAll(/^source "\$\{0%\/\*\}\/([\w.-]+)"$/gm)) {
        const beside = path.join(path.dirname(source), lib);
        fs.copyFileSync(fs.existsSync(beside) ? beside : path.join(FAKES_DIR, lib), path.join(bin, lib));
    }
}

/** True when shellcheck is installed (CI installs it; tests that need it skip otherwise). */
export function hasShellcheck(): boolean {
    return spawnSync("shellcheck", ["--version"], { encoding: "utf8" }).status === 0;
}

/** SHA-256 of the scripts shellcheck passed in this test process: each text is checked once. */
const shellchecked = new Set<string>();

/**
 * Fails unless shellcheck finds nothing, down to style level, in `files`: one shellcheck run
 * for the files whose exact text no earlier call of this process has passed.
 */
export function shellcheck(files: string[]): void {
    const digest = (f: string): string => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");
    const unchecked = files.filter((f) => !shellchecked.has(digest(f)));
    if (unchecked.length === 0) {
        return;
    }
    const r = spawnSync("shellcheck", ["-S", "style", ...unchecked], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, `shellcheck failed:\n${r.stdout}${r.stderr}`);
    unchecked.forEach((f) => shellchecked.add(digest(f)));
}

export function assertSuccess(r: RunResult): void {
    assert.strictEqual(r.status, 0, `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

export function assertFailure(r: RunResult): void {
    assert.ok(r.status !== 0 && r.status !== null, `expected a failure, got exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

/**
 * Skips the current test or suite (call it in `before`/`it` with mocha's `this`), printing
 * the one message every skipped test prints: what is skipped and what it needs.
 */
export function skipTest(ctx: Mocha.Context, what: string, needs: string): never {
    console.warn(`    SKIPPED: ${what}: needs ${needs}, which this machine lacks (docs/testing.md, "What the tests need", lists them)`);
    ctx.skip();
}

/** The lines a fake logged to `file`, blank ones left out; fails when there is no such file. */
export function logLines(file: string): string[] {
    return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "");
}

/** {@link logLines}, or none when the file is not there (nothing was logged yet). */
export function logLinesIfAny(file: string): string[] {
    return fs.existsSync(file) ? logLines(file) : [];
}

/** KEY=value lines of an environment file (comments and blank lines skipped), every key once. */
export function envFileOf(content: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of content.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"))) {
        const m = /^([A-Za-z_]+)=(\S+)$/.exec(line);
        assert.ok(m, `not a KEY=value line: ${JSON.stringify(line)}`);
        assert.ok(!(m[1] in out), `${m[1]} twice`);
        out[m[1]] = m[2];
    }
    return out;
}
