import "mocha";
import * as assert from "assert";
import { semverRangeProblem } from "../src/gitops/semverRange";
import * as table from "./fixtures/semver-ranges.json";

describe("Flux semver ranges (src/gitops/semverRange.ts)", () => {
    it("agrees with Masterminds/semver on every case of the shared table", () => {
        assert.ok(table.cases.length >= 40, "the table is the contract: keep it large");
        const disagreements = table.cases
            .map((c) => ({ ...c, problem: semverRangeProblem(c.range) }))
            .filter((c) => (c.problem === undefined) !== c.valid)
            .map((c) => `${JSON.stringify(c.range)}: Masterminds says ${c.valid ? "valid" : "invalid"}, we say ${c.problem ?? "valid"}`);
        assert.deepStrictEqual(disagreements, []);
    });

    it("names the offending part of a refused range", () => {
        assert.match(semverRangeProblem("v1.x.y") ?? "", /"v1\.x\.y" is not a version constraint/);
        assert.match(semverRangeProblem(">=1.0.0 || abc1") ?? "", /"abc1"/);
        assert.match(semverRangeProblem("1.0.0-01") ?? "", /"1\.0\.0-01" is not a valid version constraint/);
        assert.match(semverRangeProblem("1".repeat(513)) ?? "", /longer than 512/);
        assert.match(semverRangeProblem(Array(33).fill("1").join("||")) ?? "", /more than 32 alternatives/);
    });
});
