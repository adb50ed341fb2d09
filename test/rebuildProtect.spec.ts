import "mocha";
import * as assert from "assert";
import { valueOf } from "../render/engine";
import { Run, runStack } from "./harness";
import { INSTANCE, deployedOf, again } from "./rebuildParams";

describe("protect (mock engine)", function () {
    this.timeout(120000);
    const FLOATING_IP = "openstack:networking/floatingIp:FloatingIp";
    const TEARDOWN = "command:remote:Command";

    function protectedOf(run: Run): string[] {
        return run.resources
            .filter((r) => r.options.protect)
            .map((r) => `${r.type} ${r.name}`)
            .sort();
    }

    it("production protects the server (with its boot volume), the floating IP and the teardown, and records it; nothing else", async () => {
        const run = await runStack("prod");
        assert.deepStrictEqual(protectedOf(run), [`${TEARDOWN} workload-teardown`, `${INSTANCE} server`, `${FLOATING_IP} floating-ip`].sort());
        assert.ok(run.one(INSTANCE, "server").inputs.blockDevices, "prod's server has a boot volume (inside the protected instance)");
        assert.strictEqual((await valueOf(run.outputs.deployed)).protect, true);
    });

    it("development protects nothing unless asked; production can turn it off for a planned destroy", async () => {
        const dev = await runStack("dev");
        assert.deepStrictEqual(protectedOf(dev), []);
        assert.strictEqual((await valueOf(dev.outputs.deployed)).protect, undefined);
        assert.deepStrictEqual(protectedOf(await runStack("prod", { protect: "false" })), []);
        assert.strictEqual(protectedOf(await runStack("dev", { protect: "true" })).length, 3);
    });

    it("a bump over a protected server is refused before anything is created; after an up that unprotects, it goes through", async () => {
        const prodDeployed = await deployedOf("prod");
        const bump = await runStack("prod", { serverGeneration: "2" }, again(prodDeployed));
        const problems = (await valueOf(bump.evaluation.result.preflight)).problems;
        assert.strictEqual(problems.length, 1, problems.join("\n"));
        assert.match(problems[0], /^capi-mgmt:serverGeneration: generation 1's server is protected/);
        assert.deepStrictEqual(
            bump.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:")),
            [],
        );

        const unprotect = await runStack("prod", { protect: "false" }, again(prodDeployed));
        assert.deepStrictEqual((await valueOf(unprotect.evaluation.result.preflight)).problems, []);
        const unprotected = await valueOf(unprotect.outputs.deployed);
        assert.strictEqual(unprotected.protect, undefined);
        const rebuilt = await runStack("prod", { serverGeneration: "2" }, again(unprotected));
        assert.deepStrictEqual((await valueOf(rebuilt.evaluation.result.preflight)).problems, []);
        assert.ok(rebuilt.one(INSTANCE, "server-g2").options.protect, "the new generation is protected again");
    });
});
