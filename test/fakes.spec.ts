/**
 * The fake tools of the tests are real `.sh` files under test/fakes/, shellchecked like the
 * host scripts, each saying in a header comment what it reads; no TypeScript file under test/
 * carries a bash script body (the heuristic: a template literal, or an array of lines, that
 * starts with a shebang and has at least two lines after it).
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { scriptBodiesIn } from "./fakes/scriptBodies";
import { FAKES_DIR, hasShellcheck, shellcheck, skipTest } from "./fakes/shell";

const TEST_DIR = __dirname;

/** Every file under `dir` whose name ends with `suffix`, recursively, sorted. */
function filesUnder(dir: string, suffix: string): string[] {
    return fs
        .readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(suffix) && !f.split(path.sep).includes("node_modules"))
        .map((f) => path.join(dir, f))
        .sort();
}

describe("fake tools as files (test/fakes/**/*.sh)", function () {
    const scripts = filesUnder(FAKES_DIR, ".sh");

    it("finds the fakes", () => {
        for (const f of ["curl.sh", "sudo.sh", "cluster/kubectl.sh", "cluster/preamble.sh", "conformance/sonobuoy.sh", "rebuild/ssh.sh"]) {
            assert.ok(scripts.includes(path.join(FAKES_DIR, f)), f);
        }
    });

    it("pass shellcheck, all at once (so a fake's sourced preamble.sh is followed)", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of test/fakes/**/*.sh", "shellcheck");
        }
        shellcheck(scripts);
    });

    it("each starts with a shebang (or, when sourced, a shellcheck shell directive) and a header comment", () => {
        for (const f of scripts) {
            const [first, second] = fs.readFileSync(f, "utf8").split("\n");
            assert.match(first, /^(#!\/usr\/bin\/env bash|#!\/bin\/bash|# shellcheck shell=bash)$/, path.relative(TEST_DIR, f));
            assert.match(second, /^# \S/, `${path.relative(TEST_DIR, f)}: no header comment saying what the fake does and reads`);
        }
    });

    it("no TypeScript file under test/ carries a bash script body", () => {
        const bodies = filesUnder(TEST_DIR, ".ts").flatMap((f) =>
            scriptBodiesIn(f, fs.readFileSync(f, "utf8")).map((b) => `${path.relative(TEST_DIR, f)}:${b}`),
        );
        assert.deepStrictEqual(bodies, [], "move these fakes to test/fakes/*.sh");
    });

    it("the heuristic finds a template literal, a raw one with substitutions, and an array of lines, and lets a one-line body, a string and an assertion pass", () => {
        const tick = "`";
        const source = [
            `const A = ${tick}#!/usr/bin/env bash\nset -euo pipefail\necho "\\\${x:-}"\n${tick};`,
            `const B = String.raw${tick}#!/usr/bin/env bash\\nS="$FAKE_STATE"\\nORC=(\${list})\\n${tick};`,
            `const C = ["#!/bin/bash", 'echo "crictl $*"', "exit 0", ""].join("\\n");`,
            `const D = ${tick}#!/bin/sh\\necho "\${name} \${version}"\\n${tick};`,
            `const E = "#!/usr/bin/env bash\\nset -euo pipefail\\nuse_proxy\\n";`,
            `assert.strictEqual(lines[0], "#!/usr/bin/env bash");`,
        ].join("\n");
        assert.deepStrictEqual(scriptBodiesIn("sample.ts", source), ["1: #!/usr/bin/env bash", "5: #!/usr/bin/env bash", "6: #!/bin/bash"]);
    });
});
