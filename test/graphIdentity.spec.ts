/**
 * The deployed graph does not change when code moves: both stacks' mock-engine graphs
 * (URN, type, parent, dependencies, options, a digest of every input) equal the snapshot
 * in test/fixtures/graph/, taken from the code before the move to a folder per feature.
 * Same URNs means no resource is replaced or deleted by a later `up` through a rename
 * (modelled: the mock engine computes URNs as the real one does, from the parent type
 * chain and the logical name). When a change to the graph is intended, regenerate the
 * snapshot with `UPDATE_GRAPH_SNAPSHOT=1 npx mocha test/graphIdentity.spec.ts` and review
 * its diff.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "./harness";
import { GraphNode, graphSnapshot, GraphSnapshot } from "./graphSnapshot";

const SNAPSHOT_DIR = path.join(PROJECT_DIR, "test", "fixtures", "graph");

/** Human-readable differences between two snapshots (empty when equal). */
export function graphDifferences(before: GraphSnapshot, after: GraphSnapshot): string[] {
    const problems: string[] = [];
    const old = new Map(before.resources.map((r) => [r.urn, r]));
    const now = new Map(after.resources.map((r) => [r.urn, r]));
    for (const urn of old.keys()) {
        if (!now.has(urn)) {
            problems.push(`gone (a later up would delete or replace it): ${urn}`);
        }
    }
    for (const [urn, r] of now) {
        const o = old.get(urn);
        if (!o) {
            problems.push(`new URN: ${urn}`);
            continue;
        }
        for (const key of ["type", "custom", "parent", "dependsOn", "propertyDependencies", "options"] as (keyof GraphNode)[]) {
            if (JSON.stringify(o[key]) !== JSON.stringify(r[key])) {
                problems.push(`${urn}: ${key} changed: ${JSON.stringify(o[key])} -> ${JSON.stringify(r[key])}`);
            }
        }
        for (const k of new Set([...Object.keys(o.inputs), ...Object.keys(r.inputs)])) {
            if (o.inputs[k] !== r.inputs[k]) {
                problems.push(`${urn}: input ${k} changed`);
            }
        }
    }
    return problems;
}

describe("graph identity across code moves", function () {
    this.timeout(120000);
    for (const stack of ["dev", "prod"]) {
        it(`stack ${stack}: same URNs, types, parents, options and inputs as the checked-in snapshot`, async () => {
            const file = path.join(SNAPSHOT_DIR, `${stack}.json`);
            const now = await graphSnapshot(stack);
            if (process.env.UPDATE_GRAPH_SNAPSHOT === "1") {
                fs.writeFileSync(file, JSON.stringify(now, null, 1) + "\n");
            }
            const before = JSON.parse(fs.readFileSync(file, "utf8")) as GraphSnapshot;
            assert.ok(before.resources.length > 20, `${file} holds too few resources to be a real snapshot`);
            assert.deepStrictEqual(graphDifferences(before, now), []);
        });
    }

    it("reports a changed input, a renamed resource and a changed parent", async () => {
        const before = await graphSnapshot("dev");
        const after: GraphSnapshot = JSON.parse(JSON.stringify(before));
        const custom = after.resources.filter((r) => r.custom && Object.keys(r.inputs).length > 0);
        const [a, b, c] = [custom[0], custom[1], custom[2]];
        const key = Object.keys(a.inputs)[0];
        a.inputs[key] = "0".repeat(64);
        b.urn = `${b.urn}-renamed`;
        c.parent = "urn:pulumi:dev::capi-mgmt::other";
        const problems = graphDifferences(before, after);
        assert.ok(problems.includes(`${a.urn}: input ${key} changed`), problems.join("\n"));
        assert.ok(
            problems.some((p) => p.startsWith("gone") && p.endsWith(before.resources.find((r) => r.urn === b.urn.replace(/-renamed$/, ""))!.urn)),
            problems.join("\n"),
        );
        assert.ok(problems.includes(`new URN: ${b.urn}`), problems.join("\n"));
        assert.ok(
            problems.some((p) => p.startsWith(`${c.urn}: parent changed`)),
            problems.join("\n"),
        );
    });
});
