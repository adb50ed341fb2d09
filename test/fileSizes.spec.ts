/**
 * No source file over 400 lines (issue 23; the developers' guide: a file that long holds two
 * concerns, split it by concern): every .ts, .sh and .py file under src/, render/, testbed/ and
 * test/, counted as `wc -l` counts.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "./harness";

const MAX_LINES = 400;
const ROOTS = ["src", "render", "testbed", "test"];
const SOURCE = /\.(ts|sh|py)$/;

/** Lines of a text as `wc -l` counts them (newlines; a last line without one counts too). */
export function lineCount(text: string): number {
    return text === "" ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

/** Project-relative paths of the source files under `root` (dot folders and node_modules left out). */
function sourceFiles(root: string): string[] {
    const out: string[] = [];
    const walk = (dir: string): void => {
        for (const e of fs.readdirSync(path.join(PROJECT_DIR, dir), { withFileTypes: true })) {
            const rel = path.posix.join(dir, e.name);
            if (e.isDirectory() && !e.name.startsWith(".") && e.name !== "node_modules") {
                walk(rel);
            } else if (e.isFile() && SOURCE.test(e.name)) {
                out.push(rel);
            }
        }
    };
    walk(root);
    return out;
}

describe("source file sizes", () => {
    const sizes = new Map(ROOTS.flatMap(sourceFiles).map((f) => [f, lineCount(fs.readFileSync(path.join(PROJECT_DIR, f), "utf8"))]));

    it("finds the sources of every folder, in each language", () => {
        for (const f of ["src/config/schema.ts", "src/host/scripts/teardown.sh", "render/render.ts", "testbed/build.sh", "test/harness.ts"]) {
            assert.ok(sizes.has(f), f);
        }
        assert.ok(
            [...sizes.keys()].some((f) => f.endsWith(".py")),
            "no .py file found",
        );
    });

    it(`no .ts, .sh or .py file under ${ROOTS.join("/, ")}/ is over ${MAX_LINES} lines`, () => {
        const over = [...sizes].filter(([, n]) => n > MAX_LINES).map(([f, n]) => `${f}: ${n} lines`);
        assert.deepStrictEqual(over, [], `split these by concern (at most ${MAX_LINES} lines a file)`);
    });

    it("counts lines as wc -l does", () => {
        assert.strictEqual(lineCount(""), 0);
        assert.strictEqual(lineCount("a\n"), 1);
        assert.strictEqual(lineCount("a\nb"), 2);
        assert.strictEqual(lineCount("a\n\nb\n"), 3);
        assert.strictEqual(lineCount("\n".repeat(401)), 401);
    });
});
