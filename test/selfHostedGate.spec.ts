/**
 * The gate on selfHosted → kind for a stack whose last `up` was an older capi-mgmt's
 * (docs/self-hosted.md, "A stack last deployed in selfHosted mode by an older capi-mgmt"):
 * its recorded self-hosted-unpivot knows no `returned` marker, so the switch is refused until
 * one selfHosted `up` of this version has recorded `unpivotKnowsReturn`. Pure.
 */
import "mocha";
import * as assert from "assert";
import { deployedStateOf } from "../src/lifecycle/deployedState";
import { DEPLOYED_OUTPUT, DeployedState, lifecycleProblems, previousDeployment } from "../src/lifecycle/lifecycle";
import { selfHostedProblems } from "../src/lifecycle/selfHostedGate";
import { parseTestConfig } from "./fixtures";

const GITOPS = {
    gitops: JSON.stringify({
        url: "ssh://git@git.example/org/repo",
        branch: "main",
        knownHosts: "git.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpl6qtx0Fi5m7XlV8mw0gXx7qrqbSJ0bJIRPB2uO/IU",
    }),
};
const BASE = { ...GITOPS, prefix: "capi", flavor: "SCS-4V-16" };
const selfHostedCfg = parseTestConfig({ ...BASE, managementCluster: JSON.stringify({ mode: "selfHosted" }) });
const kindCfg = parseTestConfig(BASE);

/** A recorded `deployed` output; `extra`: the optional records. */
function recorded(extra: Record<string, unknown>): Record<string, unknown> {
    return {
        [DEPLOYED_OUTPUT]: {
            serverGeneration: 1,
            prefix: "capi",
            availabilityZone: "nova",
            flavor: "SCS-4V-16",
            workloadNamespace: "clusters",
            gitops: true,
            ...extra,
        },
    };
}

/** What this version's selfHosted `up` records, as the next run reads it back. */
const thisVersion = () =>
    previousDeployment({
        [DEPLOYED_OUTPUT]: deployedStateOf(selfHostedCfg, {
            availabilityZone: "nova",
            workloadNamespace: "clusters",
            owner: { id: "u", name: "user" },
            resolved: {},
        }),
    });

describe("self-hosted gate: selfHosted → kind after an older version's selfHosted up (pure)", () => {
    it("refuses the switch when the last selfHosted up did not record that its unpivot knows the way back, naming the setting and what to do", () => {
        const older = previousDeployment(recorded({ managementClusterMode: "selfHosted" }));
        assert.strictEqual(older.kind === "deployed" && older.state.unpivotKnowsReturn, undefined, "a state from before the record parses without it");
        const problems = lifecycleProblems(older, kindCfg);
        assert.strictEqual(problems.length, 1, problems.join("\n"));
        assert.match(problems[0], /^capi-mgmt:managementCluster\.mode: the stack was last deployed in selfHosted mode by an older capi-mgmt/);
        assert.match(problems[0], /would delete every ORC object .* of the\s+workload namespace "clusters"/);
        assert.match(problems[0], /Set it back to selfHosted and run `pulumi up` once with this version .*then set it to kind/);
        assert.match(problems[0], /docs\/self-hosted\.md, "selfHosted → kind"/);
        // Staying in selfHosted mode (the way out) is not refused.
        assert.deepStrictEqual(lifecycleProblems(older, selfHostedCfg), []);
    });

    it("allows it once this version's selfHosted up has recorded unpivotKnowsReturn", () => {
        const now = thisVersion();
        assert.ok(now.kind === "deployed" && now.state.managementClusterMode === "selfHosted" && now.state.unpivotKnowsReturn === true);
        assert.deepStrictEqual(lifecycleProblems(now, kindCfg), []);
        assert.deepStrictEqual(lifecycleProblems(now, selfHostedCfg), []);
    });

    it("with a serverGeneration bump besides, names both", () => {
        const older = previousDeployment(recorded({ managementClusterMode: "selfHosted" }));
        const bump = parseTestConfig({ ...BASE, serverGeneration: "2" });
        const problems = selfHostedProblems(older, bump);
        assert.deepStrictEqual(
            problems.map((p) => p.split(":").slice(0, 2).join(":")),
            ["capi-mgmt:managementCluster.mode", "capi-mgmt:serverGeneration"],
        );
    });

    it("leaves kind-mode stacks, first ups and legacy states alone", () => {
        const kindState = previousDeployment(recorded({}));
        assert.ok(kindState.kind === "deployed" && !("unpivotKnowsReturn" in kindState.state));
        for (const prev of [kindState, previousDeployment({}), previousDeployment({ floatingIp: "192.0.2.10" })]) {
            assert.deepStrictEqual(selfHostedProblems(prev, kindCfg), [], prev.kind);
            assert.deepStrictEqual(selfHostedProblems(prev, selfHostedCfg), [], prev.kind);
        }
        // A kind run records nothing of it, as before.
        const kindRecord = deployedStateOf(kindCfg, {
            availabilityZone: "nova",
            workloadNamespace: "clusters",
            owner: { id: "u", name: "user" },
            resolved: {},
        });
        assert.ok(!("unpivotKnowsReturn" in kindRecord) && !("managementClusterMode" in kindRecord));
    });

    it("treats a malformed record as absent (refused, not unreadable)", () => {
        for (const bad of ["true", 1, false, null]) {
            const prev = previousDeployment(recorded({ managementClusterMode: "selfHosted", unpivotKnowsReturn: bad }));
            assert.strictEqual(prev.kind, "deployed", String(bad));
            assert.ok(!("unpivotKnowsReturn" in (prev as { state: DeployedState }).state), String(bad));
            assert.strictEqual(selfHostedProblems(prev, kindCfg).length, 1, String(bad));
        }
    });
});
