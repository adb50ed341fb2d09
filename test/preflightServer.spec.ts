/**
 * Preflight of a server this run creates or resizes (mock engine): a flavor without a disk
 * needs a boot volume, a server an earlier failed `up` already created is not counted twice
 * against Nova's quota, and a resize is counted by what it adds. What Nova then does is
 * modelled, not run.
 */
import "mocha";
import * as assert from "assert";
import { DEPLOYED_OUTPUT } from "../src/lifecycle/lifecycle";
import { preflightProblems } from "../src/cloud/preflightChecks";
import { MockCloudOptions, valueOf } from "../render/engine";
import { runStack } from "./harness";

const INSTANCE = "openstack:compute/instance:Instance";
const GET_PORT = "openstack:networking/getPort:getPort";
/** SCS's diskless flavor: 4 vCPUs, 16 GiB, no root disk. */
const DISKLESS = { "SCS-4V-16": { vcpus: 4, ram: 16384, disk: 0 } };
/** A project with room for exactly one more SCS-4V-16 server, and one server already in use. */
const ONE_SERVER_USED = { maxTotalInstances: 1, totalInstancesUsed: 1, maxTotalCores: 4, totalCoresUsed: 4, maxTotalRamSize: 16384, totalRamUsed: 16384 };
const FLAVOR_4V = { "SCS-4V-16": { vcpus: 4, ram: 16384, disk: 20 } };

async function problems(stack: string, overrides: Record<string, string | undefined>, cloud: MockCloudOptions): Promise<string[]> {
    const run = await runStack(stack, overrides, cloud);
    const found = (await valueOf(run.evaluation.result.preflight)).problems;
    if (found.length > 0) {
        assert.strictEqual(run.all(INSTANCE).length, 0, "a server was registered although preflight refused");
    }
    return found;
}

describe("preflight of a new server (mock engine)", function () {
    this.timeout(60000);

    describe("a flavor without a disk", () => {
        it("is refused for an image-backed server (rootVolumeSize 0), naming both settings", async () => {
            const found = await problems("dev", { rootVolumeSize: "0" }, { flavors: DISKLESS });
            assert.strictEqual(found.length, 1, found.join("\n"));
            assert.match(
                found[0],
                /^capi-mgmt:rootVolumeSize: 0 boots the server from the flavor's disk, but capi-mgmt:flavor "SCS-4V-16" has none \(disk 0\)/,
            );
            assert.match(found[0], /Set capi-mgmt:rootVolumeSize to 20 or more \(a boot volume\), or pick a flavor with a disk$/);
        });

        it("is fine with a boot volume, and a flavor with a disk is fine without one", async () => {
            assert.deepStrictEqual(await problems("dev", { rootVolumeSize: "50" }, { flavors: DISKLESS }), []);
            assert.deepStrictEqual(await problems("dev", { rootVolumeSize: "0" }, { flavors: FLAVOR_4V }), []);
        });

        it("is not looked at again once the server runs (it is never re-created from the flavor)", () => {
            const flavor = { vcpus: 4, ram: 16384, disk: 0 };
            const settings = { flavor: "SCS-4V-16", image: "Ubuntu 24.04", rootVolumeSize: 0, roles: ["member"] };
            assert.deepStrictEqual(preflightProblems(settings, { server: false, firstUp: false, network: false }, { flavor }), []);
            assert.strictEqual(preflightProblems(settings, { server: true, firstUp: false, network: false }, { flavor }).length, 1);
        });
    });

    describe("a resize of the running server (a new flavor, same generation)", () => {
        const previousOutputs = {
            [DEPLOYED_OUTPUT]: { serverGeneration: 1, prefix: "dev", availabilityZone: "", flavor: "SCS-4V-16", workloadNamespace: "clusters", gitops: true },
        };
        const flavors = { ...FLAVOR_4V, "SCS-8V-32": { vcpus: 8, ram: 32768, disk: 20 } };
        /** One server (the running SCS-4V-16) in use. */
        const limits = (maxCores: number, maxRam: number) => ({ ...ONE_SERVER_USED, maxTotalCores: maxCores, maxTotalRamSize: maxRam });

        it("is refused when the quota has no room for what the new flavor has more", async () => {
            const found = await problems("dev", { flavor: "SCS-8V-32" }, { previousOutputs, flavors, computeLimits: limits(6, 24576) });
            assert.deepStrictEqual(found, [
                "OpenStack quota cores: 4 of 6 used, and this run needs 4 more (free some, or ask the cloud's admins to raise the project's quota)",
                "OpenStack quota ram: 16384 MiB of 24576 MiB used, and this run needs 16384 MiB more (free some, or ask the cloud's admins to raise the project's quota)",
            ]);
        });

        it("counts no new instance, and nothing for a downsize", async () => {
            assert.deepStrictEqual(await problems("dev", { flavor: "SCS-8V-32" }, { previousOutputs, flavors, computeLimits: limits(8, 32768) }), []);
            const bigger = { [DEPLOYED_OUTPUT]: { ...previousOutputs[DEPLOYED_OUTPUT], flavor: "SCS-8V-32" } };
            assert.deepStrictEqual(await problems("dev", { flavor: "SCS-4V-16" }, { previousOutputs: bigger, flavors, computeLimits: limits(4, 16384) }), []);
        });
    });

    describe("the stack's own server after an `up` that failed before recording it", () => {
        it("is not counted again against Nova's quota when its port is bound to an instance", async () => {
            const calls: string[] = [];
            const found = await problems(
                "dev",
                {},
                {
                    flavors: FLAVOR_4V,
                    computeLimits: ONE_SERVER_USED,
                    ports: { "dev-mgmt": { deviceId: "3f6b1c2e-0000-4000-8000-000000000001", deviceOwner: "compute:nova" } },
                    onCall: (token) => calls.push(token),
                },
            );
            assert.deepStrictEqual(found, []);
            assert.ok(calls.includes(GET_PORT));
        });

        it("still counts a new server when there is no such port, or the port has no instance", async () => {
            const cases: MockCloudOptions["ports"][] = [
                undefined,
                { "dev-mgmt": { deviceId: "", deviceOwner: "" } },
                { "other-mgmt": { deviceId: "x", deviceOwner: "compute:nova" } },
            ];
            for (const ports of cases) {
                const found = await problems("dev", {}, { flavors: FLAVOR_4V, computeLimits: ONE_SERVER_USED, ports });
                for (const quota of ["instances", "cores", "ram"]) {
                    assert.ok(
                        found.some((p) => p.startsWith(`OpenStack quota ${quota}: `)),
                        `${quota} not counted with ${JSON.stringify(ports)}:\n${found.join("\n")}`,
                    );
                }
            }
        });

        it("looks for the port of the new generation on a serverGeneration bump", async () => {
            const previousOutputs = {
                [DEPLOYED_OUTPUT]: {
                    serverGeneration: 1,
                    prefix: "dev",
                    availabilityZone: "",
                    flavor: "SCS-4V-16",
                    workloadNamespace: "clusters",
                    gitops: true,
                },
            };
            // The old server (generation 1) and a generation-2 server a failed bump created: both in use.
            const limits = {
                ...ONE_SERVER_USED,
                maxTotalInstances: 2,
                totalInstancesUsed: 2,
                maxTotalCores: 8,
                totalCoresUsed: 8,
                maxTotalRamSize: 32768,
                totalRamUsed: 32768,
            };
            const boundG2 = { "dev-mgmt-g2": { deviceId: "3f6b1c2e-0000-4000-8000-000000000002", deviceOwner: "compute:nova" } };
            assert.deepStrictEqual(
                await problems("dev", { serverGeneration: "2" }, { previousOutputs, flavors: FLAVOR_4V, computeLimits: limits, ports: boundG2 }),
                [],
            );
            // Generation 1's port does not stand for the new server.
            const boundG1 = { "dev-mgmt": { deviceId: "3f6b1c2e-0000-4000-8000-000000000001", deviceOwner: "compute:nova" } };
            const found = await problems("dev", { serverGeneration: "2" }, { previousOutputs, flavors: FLAVOR_4V, computeLimits: limits, ports: boundG1 });
            assert.ok(
                found.some((p) => p.startsWith("OpenStack quota instances: 2 of 2 used")),
                found.join("\n"),
            );
        });
    });
});
