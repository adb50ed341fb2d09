import "mocha";
import * as assert from "assert";
import { DEPLOYED_OUTPUT, DeployedState, lifecycleProblems, previousDeployment } from "../src/lifecycle/lifecycle";
import { MockCloudOptions, RecordedResource, valueOf } from "../render/engine";
import { parseTestConfig } from "./fixtures";
import { Run, runStack } from "./harness";

const FLOATING_IP = "openstack:networking/floatingIp:FloatingIp";
const EXTERNAL_ID = "6f0b0e3c-8a55-4d2e-9c1e-0123456789ab";
const SHARED = JSON.stringify({ network: "shared", subnet: "shared-v4" });
/** The settings that turn the dev stack's created network into an existing one. */
const EXISTING = { nodeCidr: undefined, dnsNameservers: undefined, existingNetwork: SHARED };

/** Cloud resources a run registered (components and providers excluded). */
function created(run: Run): RecordedResource[] {
    return run.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
}

/** The problems a run's preflight found; a refused run registered nothing. */
async function problemsOf(run: Run): Promise<string[]> {
    const problems = (await valueOf(run.evaluation.result.preflight)).problems;
    if (problems.length > 0) {
        assert.deepStrictEqual(
            created(run).map((r) => r.name),
            [],
            "resources were registered although preflight failed",
        );
    }
    return problems;
}

/** A second `up` of a stack that recorded `state`. */
function after(state: unknown, extra: MockCloudOptions = {}): MockCloudOptions {
    return { previousOutputs: { [DEPLOYED_OUTPUT]: state, floatingIp: "192.0.2.10" }, ...extra };
}

describe("lifecycle: network changes under a live server (defects 1-3, mock engine)", function () {
    this.timeout(120000);
    let deployed: DeployedState;
    let deployedExisting: DeployedState;

    before(async () => {
        deployed = await valueOf((await runStack("dev")).outputs.deployed);
        deployedExisting = await valueOf((await runStack("dev", EXISTING)).outputs.deployed);
    });

    it("records the external network's ID and the server's network in `deployed`", () => {
        assert.strictEqual(deployed.externalNetworkId, "network-public-id");
        assert.deepStrictEqual(deployed.serverNetwork, { created: true, nodeCidr: "10.0.0.0/24" });
        assert.deepStrictEqual(deployedExisting.serverNetwork, { created: false, networkId: "network-shared-id", subnetId: "subnet-shared-v4-id" });
    });

    describe("existingNetwork (defect 1)", () => {
        it("refuses adding it, naming the setting and serverGeneration", async () => {
            const problems = await problemsOf(await runStack("dev", EXISTING, after(deployed)));
            assert.strictEqual(problems.length, 1, problems.join("\n"));
            assert.match(
                problems[0],
                /^capi-mgmt:existingNetwork: the running server's port is on the network the program created; adding it .*replaces the port and with it the server.*bump of capi-mgmt:serverGeneration \(now 1\)/,
            );
        });

        it("refuses removing it", async () => {
            const problems = await problemsOf(await runStack("dev", {}, after(deployedExisting)));
            assert.match(
                problems.join("\n"),
                /^capi-mgmt:existingNetwork: the running server's port is on network network-shared-id, subnet subnet-shared-v4-id; removing it/,
            );
        });

        it("refuses re-pointing it to another network or subnet, by the IDs the names resolve to", async () => {
            for (const other of [
                { network: "shared-2", subnet: "shared-v4" },
                { network: "shared", subnet: "shared-v4-b" },
            ]) {
                const problems = await problemsOf(await runStack("dev", { ...EXISTING, existingNetwork: JSON.stringify(other) }, after(deployedExisting)));
                assert.match(problems.join("\n"), /^capi-mgmt:existingNetwork: .*pointing it elsewhere/, JSON.stringify(other));
            }
        });

        it("lets the same network through, by name or by ID, and a change with a serverGeneration bump", async () => {
            const byId = { network: "0a1b2c3d-0000-4000-8000-000000000001", subnet: "0a1b2c3d-0000-4000-8000-000000000002" };
            const recorded: DeployedState = { ...deployedExisting, serverNetwork: { created: false, networkId: byId.network, subnetId: byId.subnet } };
            assert.deepStrictEqual(await problemsOf(await runStack("dev", { ...EXISTING, existingNetwork: JSON.stringify(byId) }, after(recorded))), []);
            assert.deepStrictEqual(await problemsOf(await runStack("dev", EXISTING, after(deployedExisting))), []);
            assert.deepStrictEqual(await problemsOf(await runStack("dev", { ...EXISTING, serverGeneration: "2" }, after(deployed))), []);
        });
    });

    describe("externalNetwork and the floating IP (defect 2)", () => {
        it("refuses another external network, also with a serverGeneration bump", async () => {
            for (const overrides of [{ externalNetwork: "public-2" }, { externalNetwork: "public-2", serverGeneration: "2" }]) {
                const problems = await problemsOf(await runStack("dev", overrides, after(deployed)));
                assert.strictEqual(problems.length, 1, problems.join("\n"));
                assert.match(
                    problems[0],
                    /^capi-mgmt:externalNetwork: "public-2" is network network-public-2-id, but the management server's floating IP and router are on network-public-id: .*new public address/,
                );
            }
        });

        it("does not replace the floating IP when the cloud renames the external network (pool ignored, gate by ID)", async () => {
            const first = await runStack("dev", { externalNetwork: EXTERNAL_ID }, { networkNames: { [EXTERNAL_ID]: "public" } });
            const recorded = await valueOf(first.outputs.deployed);
            assert.strictEqual(recorded.externalNetworkId, EXTERNAL_ID);
            const renamed = await runStack("dev", { externalNetwork: EXTERNAL_ID }, after(recorded, { networkNames: { [EXTERNAL_ID]: "public-ext" } }));
            assert.deepStrictEqual(await problemsOf(renamed), []);
            const [before, now] = [first.one(FLOATING_IP), renamed.one(FLOATING_IP)];
            assert.deepStrictEqual([before.inputs.pool, now.inputs.pool], ["public", "public-ext"]);
            // The only input that differs is one the engine is told to ignore: no replacement.
            assert.ok(now.options.ignoreChanges.includes("pool"), "a rename of the external network would replace the floating IP");
            assert.strictEqual(now.urn, before.urn);
        });
    });

    describe("nodeCidr (defect 3)", () => {
        it("refuses another node CIDR on the same server, and lets it through with a serverGeneration bump", async () => {
            const problems = await problemsOf(await runStack("dev", { nodeCidr: "10.1.0.0/24" }, after(deployed)));
            assert.strictEqual(problems.length, 1, problems.join("\n"));
            assert.match(
                problems[0],
                /^capi-mgmt:nodeCidr: changing it from "10.0.0.0\/24" to "10.1.0.0\/24" replaces the management subnet.*serverGeneration \(now 1\)/,
            );
            assert.deepStrictEqual(await problemsOf(await runStack("dev", { nodeCidr: "10.1.0.0/24", serverGeneration: "2" }, after(deployed))), []);
        });
    });

    describe("states recorded before these fields existed", () => {
        it("parse, and what they do not record is not refused", async () => {
            const old: Record<string, unknown> = { ...deployed };
            delete old.externalNetworkId;
            delete old.serverNetwork;
            const prev = previousDeployment({ [DEPLOYED_OUTPUT]: old });
            assert.strictEqual(prev.kind, "deployed");
            for (const overrides of [{ externalNetwork: "public-2" }, { nodeCidr: "10.1.0.0/24" }, EXISTING]) {
                assert.deepStrictEqual(await problemsOf(await runStack("dev", overrides, after(old))), [], JSON.stringify(overrides));
            }
            // The fields it does record are still checked.
            assert.match((await problemsOf(await runStack("dev", { prefix: "dev2" }, after(old)))).join("\n"), /^capi-mgmt:prefix:/);
        });

        it("drop a malformed optional field (unknown) instead of the whole record", () => {
            const prev = previousDeployment({ [DEPLOYED_OUTPUT]: { ...deployed, externalNetworkId: 7, serverNetwork: { created: true } } });
            assert.ok(prev.kind === "deployed");
            assert.ok(!("externalNetworkId" in prev.state) && !("serverNetwork" in prev.state), JSON.stringify(prev.state));
        });

        it("compare nothing by ID when this run's look-ups are not given (pure)", () => {
            const cfg = parseTestConfig({ externalNetwork: "other" });
            const prev = previousDeployment({ [DEPLOYED_OUTPUT]: { ...deployed, gitops: false } });
            assert.deepStrictEqual(lifecycleProblems(prev, cfg), []);
            assert.strictEqual(lifecycleProblems(prev, cfg, { externalNetworkId: "network-other-id" }).length, 1);
        });
    });
});
