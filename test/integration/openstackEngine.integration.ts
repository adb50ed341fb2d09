/**
 * The project's REAL program (program.ts and its unchanged components) under the REAL Pulumi CLI
 * with the REAL OpenStack provider the test bed built (plugin openstack 3.15.2 from
 * terraform-provider-openstack v1.54.1), against the OpenStack test bed on loopback, driven by the
 * Automation API (issue 22, part 2, second half; docs/testbed-openstack-engine.md).
 *
 * Real: the engine's steps and diffs, every OpenStack resource (network, subnet, router and its
 * interface, security group and rules, keypair, both application credentials, boot volume, server
 * with user-data, floating IP and association), preflight's look-ups (flavor, images, limits,
 * quotas, auth scope, networks) and the lifecycle gate reading the stack's own `deployed` output,
 * the Kubernetes provider and the in-cluster objects (against the test bed's API server).
 * Stand-ins (see the files): the pulumi-command and pulumi-tls plugins (standins/: real plugin
 * processes, real keys, pulumi-command's diff rules, but no script runs: nothing boots on the
 * bed), the kind cluster (the test bed's API server, whose kubeconfig the `kubeconfig` step's
 * stand-in returns), Flux's release download and controllers (engineStandIns.ts).
 *
 * Each stack runs in its own OpenStack project made through the admin cloud, with two users
 * holding the roles a cloud user has, and a clouds.yaml of the test's own whose entry is named as
 * the stack's `openstack:cloud`. The stack's settings are its Pulumi.<stack>.yaml as committed;
 * the only additions are the secrets that file says to set (prod: gitops.deployKey and
 * gitops.sopsAgeKey). No setting is overridden: the bed has what both stacks name (the flavors
 * SCS-4V-16 and SCS-8V-32, the image "Ubuntu 24.04", the external network "public", the
 * availability zone "nova").
 *
 * The tests of one stack run in order and build on each other; they are defined in
 * openstackEngineLifecycle.ts and openstackEngineMapTests.ts and share one {@link EngineSuite}
 * (openstackEngineSuite.ts: the stack's project, API server, engine home and stack).
 */
import * as assert from "assert";
import { skipAfterFailure, skipWith } from "./engineHelpers";
import { bedRunning, bedScript } from "./openstackBed";
import { lastLines } from "./openstackEngineMap";
import { PeerWatch } from "./openstackEngineHost";
import { firstUpTests, lifecycleTests } from "./openstackEngineLifecycle";
import { mapTests, preflightTests } from "./openstackEngineMapTests";
import { EngineSuite, FULL, OPERATION_TIMEOUT_MS, times, unavailableReason } from "./openstackEngineSuite";

describe("the program under the real engine and the real OpenStack provider, against the OpenStack test bed", function () {
    this.timeout(OPERATION_TIMEOUT_MS);
    let unavailable: string | undefined;
    const watch = new PeerWatch();

    before(function () {
        this.timeout(1_800_000);
        unavailable = unavailableReason();
        if (!unavailable && !bedRunning()) {
            // Idempotent; the bed is shared and stays up for the other tests (docs/testbed-openstack.md).
            bedScript("up");
        }
        watch.start();
    });

    after(function () {
        watch.stop();
        console.log(`      measured (s): ${JSON.stringify(times)}`);
    });

    // CAPI_MGMT_OS_ENGINE_STACKS=prod (or dev,prod) picks the stacks, e.g. to look into one.
    const stacks = process.env.CAPI_MGMT_OS_ENGINE_STACKS?.split(",") ?? (FULL ? ["dev", "prod"] : ["dev"]);
    for (const stackName of stacks) {
        describe(`${stackName} stack`, function () {
            const s = new EngineSuite(stackName);

            /** The tests build on each other: after a failure the rest would only repeat it. */
            skipAfterFailure(() => unavailable);
            afterEach(function () {
                // Said at once (mocha lists failures at the very end, after the other stack's run).
                if (this.currentTest?.state === "failed") {
                    console.log(`      ${stackName}: FAILED: ${lastLines(this.currentTest.err?.message ?? "", 25)}`);
                }
            });

            before(async function () {
                this.timeout(OPERATION_TIMEOUT_MS);
                if (!unavailable) {
                    await s.setUp();
                }
            });

            after(async function () {
                await s.tearDown();
            });

            // In this order: 1-2, 3, 4-7, 8.
            firstUpTests(s);
            mapTests(s);
            lifecycleTests(s);
            preflightTests(s);
        });
    }

    // In a suite of its own: mocha runs a suite's own tests before its child suites, and this
    // one judges what the stacks' suites above did.
    describe("afterwards", function () {
        it("no process of the engine (CLI, plugins) or of the bed had a peer beyond loopback", function () {
            if (unavailable) {
                skipWith(this, unavailable);
            }
            watch.sample();
            assert.ok(watch.seen > 0, "the watch saw the engine's connections");
            assert.deepStrictEqual(watch.stray, [], "a connection of the engine left loopback");
        });
    });
});
