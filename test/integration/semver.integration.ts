/**
 * The table test/semverRange.spec.ts holds src/gitops/semverRange.ts to is Masterminds/semver's own
 * verdict: the library Flux's source-controller parses ref.semver with, built in the test bed.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import { Testbed } from "./harness/testbed";
import * as table from "../fixtures/semver-ranges.json";

describe("Flux semver ranges against Masterminds/semver", () => {
    it("the shared table's verdicts are Masterminds/semver's", function () {
        const testbed = Testbed.load();
        const missing = testbed.missing(["semver-check"]);
        if (missing) {
            console.log(`      SKIPPED: ${missing}`);
            this.skip();
        }
        const verdicts = JSON.parse(
            execFileSync(testbed.path("semver-check"), { input: JSON.stringify(table.cases.map((c) => c.range)), encoding: "utf8" }),
        ) as { range: string; valid: boolean; error?: string }[];
        const wrong = verdicts
            .filter((v, i) => v.valid !== table.cases[i].valid)
            .map((v) => `${JSON.stringify(v.range)}: Masterminds says ${v.valid ? "valid" : `invalid (${v.error})`}`);
        assert.deepStrictEqual(wrong, [], `test/fixtures/semver-ranges.json disagrees with ${testbed.describe("semver-check")}`);
    });
});
