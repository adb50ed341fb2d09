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
 * The tests of one stack run in order and build on each other.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PulumiFn } from "@pulumi/pulumi/automation";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { fluxInstallUrl } from "../../lib/clusterObjects";
import { loadStackConfig } from "../../lib/loadConfig";
import { DEFAULT_VERSIONS } from "../../lib/versions";
import { program } from "../../program";
import { EngineBed, EngineHome, EngineStack, minimalTestbedComponents, Operation, startEngineCluster } from "./engineBed";
import { changes, kubeAccess, mutations, newAgeKey, newDeployKey, skipWith, standInFluxInstall } from "./engineFixtures";
import { ControllerStandIns, ReleaseProxy } from "./engineStandIns";
import { ControlPlane } from "./harness/controlPlane";
import { Testbed } from "./harness/testbed";
import { bedRunning, bedScript, clouds } from "./openstackBed";
import { installStandIns, inventory, kindLikeKubeconfig, Inventory, PeerWatch, purgeProject, TestProject, writeCloudsYaml } from "./openstackEngineBed";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** Bound of one engine operation on a loaded 2-core machine. */
const OPERATION_TIMEOUT_MS = 900_000;

/** Why these tests cannot run here, or undefined. */
function unavailableReason(): string | undefined {
    const bed = EngineBed.load();
    if (typeof bed === "string") {
        return bed;
    }
    const engine = bed.missing(["pulumi", "pulumi-resource-kubernetes", "pulumi-resource-openstack"]);
    if (engine) {
        return engine;
    }
    try {
        return Testbed.load().missing(minimalTestbedComponents());
    } catch (err) {
        return (err as Error).message;
    }
}

/** The program as index.ts runs it: the stack's settings read from the engine, every output exported. */
const indexProgram: PulumiFn = () => {
    const { outputs } = program(loadStackConfig());
    return Promise.resolve({ ...outputs });
};

/** Steps other than `same` and the StackReference's `read` (the preflight's read of the stack's own outputs). */
function notSame(op: Operation): string[] {
    return op.steps.filter((s) => s.op !== "same" && s.op !== "read").map((s) => `${s.op} ${s.urn.split("::").slice(-2).join("::")}`);
}

/** What `after` holds that `before` does not, and the other way round, per kind. */
function inventoryDiff(before: Inventory, after: Inventory): { added: Record<string, string[]>; removed: Record<string, string[]> } {
    const added: Record<string, string[]> = {};
    const removed: Record<string, string[]> = {};
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
        const a = (after[k] ?? []).filter((x) => !(before[k] ?? []).includes(x));
        const r = (before[k] ?? []).filter((x) => !(after[k] ?? []).includes(x));
        if (a.length) {
            added[k] = a;
        }
        if (r.length) {
            removed[k] = r;
        }
    }
    return { added, removed };
}

/** Measured wall-clock times (reported, never asserted). */
const times: Record<string, number> = {};
async function timed<T>(what: string, f: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
        return await f();
    } finally {
        times[what] = Math.round((Date.now() - t0) / 100) / 10;
    }
}

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

    for (const stackName of ["dev", "prod"]) {
        describe(`${stackName} stack`, function () {
            let project: TestProject | undefined;
            let cp: ControlPlane | undefined;
            let home: EngineHome | undefined;
            let proxy: ReleaseProxy | undefined;
            let ready: ControllerStandIns | undefined;
            let stack: EngineStack;
            let baseline: Inventory;
            let inventoryAfterUp: Inventory;
            let cloudName: string;
            let standInLog: string;
            const inv = () => inventory((project as TestProject).projectId, (project as TestProject).owner.session, { owner: (project as TestProject).owner.session, peer: (project as TestProject).peer.session });

            /** The tests build on each other: after a failure the rest would only repeat it. */
            let brokenBy: string | undefined;
            beforeEach(function () {
                if (unavailable) {
                    skipWith(this, unavailable);
                }
                if (brokenBy) {
                    skipWith(this, `an earlier step failed: ${brokenBy}`);
                }
            });
            afterEach(function () {
                if (this.currentTest?.state === "failed" && !brokenBy) {
                    brokenBy = this.currentTest.title;
                }
            });

            before(async function () {
                this.timeout(OPERATION_TIMEOUT_MS);
                if (unavailable) {
                    return;
                }
                const all = clouds();
                project = await TestProject.create(all.admin, `capi-engine-${stackName}-${process.pid}`);
                // Neutron makes a project's default security group on its first listing: before the baseline.
                await project.owner.session.call("network", "GET", "/v2.0/security-groups");
                baseline = await inv();

                const testbed = Testbed.load();
                const started = await startEngineCluster(testbed, `os-engine-${stackName}`);
                cp = started.cp;
                if (started.limits) {
                    console.log(`      test bed: ${started.limits}`);
                }
                const kubeconfigFile = path.join(cp.dir, "standin-kubeconfig.yaml");
                fs.writeFileSync(kubeconfigFile, kindLikeKubeconfig(cp), { mode: 0o600 });
                standInLog = path.join(cp.dir, "standin-calls.jsonl");

                const stackFile = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stackName}.yaml`), "utf8")) as { config: Record<string, unknown> };
                cloudName = String(stackFile.config["openstack:cloud"]);
                const cloudsFile = path.join(cp.dir, "clouds.yaml");
                writeCloudsYaml(cloudsFile, { [cloudName]: project.owner.cloud });

                const gitops = stackFile.config["capi-mgmt:gitops"] as { semver?: string };
                proxy = await ReleaseProxy.start(path.join(cp.dir, "release-proxy"), { [fluxInstallUrl(DEFAULT_VERSIONS.flux.version)]: standInFluxInstall(testbed) });
                home = EngineHome.create(
                    EngineBed.load() as EngineBed,
                    {
                        ...proxy.env(),
                        OS_CLIENT_CONFIG_FILE: cloudsFile,
                        CAPI_MGMT_STANDIN_KUBECONFIG: kubeconfigFile,
                        CAPI_MGMT_STANDIN_LOG: standInLog,
                    },
                    ["kubernetes", "openstack"],
                );
                installStandIns(home);
                ready = new ControllerStandIns(kubeAccess(cp));
                ready.start();

                stack = await home.stack(stackName, indexProgram);
                // The stack's settings file as committed, in the workspace next to the salt `stack init` wrote.
                const workFile = path.join(home.workDir, `Pulumi.${stackName}.yaml`);
                const initialised = (fs.existsSync(workFile) ? parseYaml(fs.readFileSync(workFile, "utf8")) : {}) as Record<string, unknown>;
                fs.writeFileSync(workFile, toYaml({ ...initialised, config: stackFile.config }));
                if (gitops.semver !== undefined) {
                    // What Pulumi.prod.yaml says to set as secrets before the first `up`.
                    await stack.stack.setConfig("capi-mgmt:gitops.deployKey", { value: newDeployKey(cp.dir), secret: true }, true);
                    await stack.stack.setConfig("capi-mgmt:gitops.sopsAgeKey", { value: newAgeKey(), secret: true }, true);
                }
            });

            after(async function () {
                ready?.stop();
                try {
                    if (project && process.env.TESTBED_KEEP !== "1") {
                        // After a failure before `destroy`: what the stack still has, then anything left.
                        if (stack && (await stack.resources()).length > 0) {
                            await stack.destroy().catch((e: Error) => console.log(`      destroy after a failure: ${e.message.split("\n")[0]}`));
                        }
                        await purgeProject(clouds().admin, project.name);
                    }
                    await cp?.stop();
                } finally {
                    home?.dispose();
                    await Promise.race([proxy?.stop(), new Promise((resolve) => setTimeout(resolve, 5000))]);
                }
            });

            /** Calls the stand-ins got (create, update, delete, read, diff), one per line, since `from`. */
            const standInCalls = (from = 0): { provider: string; op: string; urn: string }[] =>
                fs.existsSync(standInLog)
                    ? fs.readFileSync(standInLog, "utf8").split("\n").filter((l) => l).slice(from).map((l) => JSON.parse(l) as { provider: string; op: string; urn: string })
                    : [];

            it("first up creates the whole stack in its own project", async function () {
                const up = await timed(`${stackName}: first up`, () => stack.up());
                assert.deepStrictEqual([...new Set(mutations(up).map((s) => s.op))], ["create"], changes(up).join("; "));
                inventoryAfterUp = await inv();
                const { added, removed } = inventoryDiff(baseline, inventoryAfterUp);
                assert.deepStrictEqual(removed, {});
                const count = (k: string) => (added[k] ?? []).length;
                assert.deepStrictEqual(
                    Object.fromEntries(["servers", "volumes", "networks", "subnets", "routers", "floatingIps", "securityGroups", "keypairs(owner)", "applicationCredentials(owner)", "keypairs(peer)", "applicationCredentials(peer)", "serverGroups", "loadBalancers"].map((k) => [k, count(k)])),
                    { servers: 1, volumes: 1, networks: 1, subnets: 1, routers: 1, floatingIps: 1, securityGroups: 1, "keypairs(owner)": 1, "applicationCredentials(owner)": 2, "keypairs(peer)": 0, "applicationCredentials(peer)": 0, serverGroups: 0, loadBalancers: 0 },
                    JSON.stringify(added, null, 1),
                );
                const outputs = await stack.stack.outputs();
                const fip = String(outputs.floatingIp.value);
                assert.match(fip, /^127\.100\./);
                assert.ok(added.floatingIps[0].endsWith(` ${fip}`), `the floatingIp output ${fip} is the project's floating IP (${added.floatingIps[0]})`);
                const ids = [outputs.capiAppCredentialId.value, outputs.cloudProviderAppCredentialId.value].map(String);
                assert.deepStrictEqual(ids.map((id) => added["applicationCredentials(owner)"].some((l) => l.endsWith(` ${id}`))), [true, true]);
            });

            it("a second up changes nothing: the preview is empty and up takes only `same` steps", async function () {
                const preview = await timed(`${stackName}: preview (no change)`, () => stack.preview());
                const summary = preview.result.changeSummary;
                assert.deepStrictEqual(Object.keys(summary).filter((k) => k !== "same" && k !== "read"), [], `preview: ${JSON.stringify(summary)}; ${notSame(preview).join("; ")}`);
                const calls = standInCalls().length;
                const up = await timed(`${stackName}: second up`, () => stack.up());
                assert.deepStrictEqual(notSame(up), []);
                assert.deepStrictEqual(standInCalls(calls).filter((c) => c.op !== "diff"), [], "no step of the stand-ins ran");
                assert.deepStrictEqual(inventoryDiff(inventoryAfterUp, await inv()), { added: {}, removed: {} });
            });

            it("destroy leaves the project as it was before the first up", async function () {
                await timed(`${stackName}: destroy`, () => stack.destroy());
                assert.deepStrictEqual(await stack.resources(), []);
                assert.deepStrictEqual(inventoryDiff(baseline, await inv()), { added: {}, removed: {} });
            });
        });
    }

    it("no process of the engine (CLI, plugins) or of the bed had a peer beyond loopback", function () {
        if (unavailable) {
            skipWith(this, unavailable);
        }
        watch.sample();
        assert.ok(watch.seen > 0, "the watch saw the engine's connections");
        assert.deepStrictEqual(watch.stray, [], "a connection of the engine left loopback");
    });
});

