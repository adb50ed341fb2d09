import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR } from "./harness";
import { hasShellcheck, shellcheck, skipTest } from "./fakes/shell";

/** The quick start's commands, as scripts/quickstart-commands.sh prints them for .ci/run. */
function quickstart(readme = path.join(PROJECT_DIR, "README.md")): string[] {
    const r = spawnSync("bash", [path.join(PROJECT_DIR, "scripts/quickstart-commands.sh"), readme], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    return r.stdout.split("\n").filter((l) => l.trim() !== "");
}

describe("README: the front door", () => {
    const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");

    it("is short: at most 200 lines", () => {
        assert.ok(readme.split("\n").length <= 200, `README.md has ${readme.split("\n").length} lines`);
    });

    it("has a quick start that reaches a rendered dev stack and a passing npm test, in that order", () => {
        const commands = quickstart().map((l) => l.replace(/\s+#.*$/, ""));
        const at = (c: string) => commands.findIndex((l) => l === c);
        for (const c of ["source scripts/node22.sh", "npm ci", "npm run render -- --stack dev", "npm test"]) {
            assert.ok(at(c) >= 0, `the quick start lacks \`${c}\`:\n${commands.join("\n")}`);
        }
        assert.ok(at("source scripts/node22.sh") < at("npm ci") && at("npm ci") < at("npm run render -- --stack dev"));
        assert.ok(at("npm run render -- --stack dev") < at("npm test"));
    });

    it("is what .ci/run runs: CI installs nothing and runs no npm command the quick start does not", () => {
        const ci = fs.readFileSync(path.join(PROJECT_DIR, ".ci/run"), "utf8");
        assert.match(ci, /^run_quickstart$/m);
        assert.match(ci, /bash scripts\/quickstart-commands\.sh README\.md/);
        for (const own of [/apt-get install/, /npm ci/, /npm pack/, /npm run static/]) {
            assert.doesNotMatch(ci.replace(/^\s*#.*$/gm, ""), own, `.ci/run does ${own} itself`);
        }
    });

    it("prints nothing for a README without the block (so .ci/run fails instead of running nothing)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-readme-"));
        try {
            fs.writeFileSync(path.join(dir, "README.md"), "# x\n\n```sh\nnpm test\n```\n");
            assert.deepStrictEqual(quickstart(path.join(dir, "README.md")), []);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("links only to files that exist", () => {
        for (const doc of ["README.md", ...fs.readdirSync(path.join(PROJECT_DIR, "docs")).map((f) => `docs/${f}`)]) {
            const text = fs.readFileSync(path.join(PROJECT_DIR, doc), "utf8");
            for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
                if (/^[a-z]+:/.test(m[1])) {
                    continue;
                }
                assert.ok(fs.existsSync(path.resolve(PROJECT_DIR, path.dirname(doc), m[1])), `${doc} links to ${m[1]}, which does not exist`);
            }
        }
    });

    it("scripts/node22.sh, the extractor and .ci/run pass shellcheck", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of the quick start's scripts", "shellcheck");
        }
        shellcheck(["scripts/node22.sh", "scripts/quickstart-commands.sh", ".ci/run"].map((f) => path.join(PROJECT_DIR, f)));
    });
});
