import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { preflightError } from "../src/cloud/preflight";
import { StackConfig } from "../src/config";
import { DEPLOYED_OUTPUT, DeployedState, lifecycleProblems, previousDeployment } from "../src/lifecycle/lifecycle";
import { MIN_RAM_MIB, MIN_VCPUS, preflightProblems } from "../src/cloud/preflightChecks";
import { MockCloudOptions, RecordedResource, reveal, valueOf } from "../render/engine";
import { parseTestConfig } from "./fixtures";
import { PROJECT_DIR, Run, runStack } from "./harness";

const INSTANCE = "openstack:compute/instance:Instance";

/** Cloud resources a run registered (components and providers excluded). */
function created(run: Run): RecordedResource[] {
    return run.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
}

/** The problems a run's preflight found. */
async function problemsOf(run: Run): Promise<string[]> {
    return (await valueOf(run.evaluation.result.preflight)).problems;
}

/** A run that must be refused: nothing created, the problems returned. */
async function refused(stack: string, overrides: Record<string, string | undefined>, cloud: MockCloudOptions): Promise<string[]> {
    const run = await runStack(stack, overrides, cloud);
    assert.deepStrictEqual(
        created(run).map((r) => `${r.type} ${r.name}`),
        [],
        "resources were registered although preflight failed",
    );
    const problems = await problemsOf(run);
    assert.ok(problems.length > 0, "no problem reported");
    return problems;
}

describe("lifecycle: preflight and later runs (mock engine)", function () {
    this.timeout(60000);
    let first: Run;
    let deployed: DeployedState;
    /** The cloud as a second `up` of the dev stack sees it. */
    let again: MockCloudOptions;

    before(async () => {
        first = await runStack("dev");
        deployed = await valueOf(first.outputs.deployed);
        again = { previousOutputs: { [DEPLOYED_OUTPUT]: deployed, floatingIp: "192.0.2.10" } };
    });

    describe("what a run records for the next one", () => {
        it("exports `deployed` under the name preflight reads back", () => {
            assert.match(fs.readFileSync(path.join(PROJECT_DIR, "index.ts"), "utf8"), new RegExp(`export const ${DEPLOYED_OUTPUT} = `));
            assert.deepStrictEqual(deployed, {
                serverGeneration: 1,
                prefix: "dev",
                availabilityZone: "",
                flavor: "SCS-4V-16",
                workloadNamespace: "clusters",
                gitops: true,
                appCredentialOwner: { id: "mock-user-id", name: "mock-user" },
                externalNetworkId: "network-public-id",
                serverNetwork: { created: true, nodeCidr: "10.0.0.0/24" },
            });
            assert.deepStrictEqual(previousDeployment({ [DEPLOYED_OUTPUT]: deployed }), { kind: "deployed", state: deployed });
            assert.deepStrictEqual(previousDeployment({ floatingIp: "192.0.2.10" }), { kind: "legacy", gitops: false });
            assert.deepStrictEqual(previousDeployment({ floatingIp: "192.0.2.10", deployPublicKey: "ssh-ed25519 AAAA" }), { kind: "legacy", gitops: true });
            assert.deepStrictEqual(previousDeployment({}), { kind: "none" });
        });
    });

    describe("preflight before anything is created (first up)", () => {
        it("refuses a flavor below 4 vCPUs or 16 GiB, naming the setting", async () => {
            for (const flavor of [
                { vcpus: 2, ram: 32768 },
                { vcpus: 8, ram: 8192 },
            ]) {
                const problems = await refused("dev", {}, { flavors: { "SCS-4V-16": flavor } });
                assert.match(
                    problems.join("\n"),
                    /^capi-mgmt:flavor: "SCS-4V-16" has \d+ vCPUs and [\d.]+ GiB of RAM; the management server needs at least 4 vCPUs and 16 GiB$/m,
                );
            }
            assert.deepStrictEqual([MIN_VCPUS, MIN_RAM_MIB], [4, 16384]);
        });

        it("refuses a flavor or image the cloud does not have", async () => {
            const problems = await refused("dev", {}, { flavors: {}, missingImages: ["Ubuntu 24.04"] });
            assert.ok(
                problems.some((p) => /^capi-mgmt:flavor: Nova has no flavor "SCS-4V-16"/.test(p)),
                problems.join("\n"),
            );
            assert.ok(
                problems.some((p) => /^capi-mgmt:image: Glance has no image "Ubuntu 24.04"/.test(p)),
                problems.join("\n"),
            );
        });

        it("refuses exhausted quotas, each named, all at once", async () => {
            const problems = await refused(
                "dev",
                {},
                {
                    computeLimits: {
                        maxTotalInstances: 5,
                        totalInstancesUsed: 5,
                        maxTotalCores: 20,
                        totalCoresUsed: 16,
                        maxTotalRamSize: 65536,
                        totalRamUsed: 40000,
                    },
                    networkQuota: { floatingip: 0, network: 0, router: 0, securityGroup: 0 },
                },
            );
            for (const quota of ["instances", "cores", "ram", "floatingip", "network", "router", "security_group"]) {
                assert.ok(
                    problems.some((p) => p.startsWith(`OpenStack quota ${quota}: `)),
                    `no problem names quota ${quota}:\n${problems.join("\n")}`,
                );
            }
            assert.ok(
                problems.some(
                    (p) =>
                        p ===
                        "OpenStack quota cores: 16 of 20 used, and this run needs 8 more (free some, or ask the cloud's admins to raise the project's quota)",
                ),
            );
        });

        it("does not count a network or router with existingNetwork; unlimited (-1) quotas pass", async () => {
            const run = await runStack(
                "dev",
                { nodeCidr: undefined, dnsNameservers: undefined, existingNetwork: JSON.stringify({ network: "shared", subnet: "shared-v4" }) },
                {
                    networkQuota: { network: 0, router: 0 },
                    computeLimits: { maxTotalInstances: -1, totalInstancesUsed: 99, maxTotalCores: -1, maxTotalRamSize: -1 },
                },
            );
            assert.deepStrictEqual(await problemsOf(run), []);
            assert.strictEqual(run.all(INSTANCE).length, 1);
        });

        it("skips the quota checks (with a warning) where the cloud's policy hides quotas", async () => {
            const run = await runStack("dev", {}, { quotasHidden: true });
            assert.deepStrictEqual(await problemsOf(run), []);
            assert.strictEqual(run.all(INSTANCE).length, 1);
        });

        it("refuses roles the user does not hold as a listed problem, not an exception", async () => {
            const problems = await refused("dev", {}, { rolesHeld: ["member"] });
            assert.match(
                problems.join("\n"),
                /^capi-mgmt:appCredential.roles: load-balancer_member is not a role you hold on this project \(you hold: member\)/m,
            );
        });

        it("fails the run with every problem listed and no stack trace", () => {
            const e = preflightError(["capi-mgmt:flavor: a", "OpenStack quota cores: b"]);
            assert.strictEqual(
                e.message,
                "preflight refused this run (2 problems); nothing was created or changed:\n  - capi-mgmt:flavor: a\n  - OpenStack quota cores: b",
            );
            assert.strictEqual(e.constructor.name, "RunError");
        });

        it("boots a new server from the newest image of the name, looked up once", async () => {
            const calls: string[] = [];
            const run = await runStack("dev", {}, { onCall: (t) => calls.push(t) });
            assert.match(String(reveal(run.one(INSTANCE).inputs.imageId)), /^image-[0-9a-f]{8}-id$/);
            assert.strictEqual(calls.filter((t) => t === "openstack:images/getImageIds:getImageIds").length, 1);
        });
    });

    describe("a later up of the same server", () => {
        it("looks up no image, flavor or quota, so a renamed image or a full project cannot break it", async () => {
            const calls: string[] = [];
            const run = await runStack(
                "dev",
                {},
                {
                    ...again,
                    onCall: (t) => calls.push(t),
                    missingImages: ["Ubuntu 24.04"],
                    flavors: {},
                    computeLimits: { maxTotalInstances: 1, totalInstancesUsed: 1 },
                    networkQuota: { floatingip: 0 },
                },
            );
            assert.deepStrictEqual(await problemsOf(run), []);
            for (const token of ["getImageIds", "getImage", "getFlavor", "getLimitsV2", "getQuotaV2"]) {
                assert.ok(!calls.some((t) => t.endsWith(`:${token}`)), `${token} was called`);
            }
            // The server's image inputs differ from the first run, but are ignored after creation.
            const server = run.one(INSTANCE);
            assert.strictEqual(reveal(server.inputs.imageId), "Ubuntu 24.04");
            for (const prop of ["imageId", "blockDevices"]) {
                assert.ok(server.options.ignoreChanges.includes(prop), prop);
            }
            assert.strictEqual(server.urn, first.one(INSTANCE).urn);
        });

        it("still checks the flavor when it changes (a resize)", async () => {
            const problems = await refused("dev", { flavor: "SCS-2V-4" }, { ...again, flavors: { "SCS-2V-4": { vcpus: 2, ram: 4096 } } });
            assert.match(problems.join("\n"), /^capi-mgmt:flavor: "SCS-2V-4" has 2 vCPUs/m);
        });

        it("refuses a new prefix or availability zone on the same server, naming serverGeneration", async () => {
            for (const [overrides, key] of [
                [{ prefix: "dev2" }, "prefix"],
                [{ availabilityZone: "az-2" }, "availabilityZone"],
            ] as const) {
                const problems = await refused("dev", overrides, {
                    ...again,
                    previousOutputs: { [DEPLOYED_OUTPUT]: { ...deployed, availabilityZone: "az-1" } },
                });
                assert.strictEqual(problems.length, 1, problems.join("\n"));
                // prefix: no longer the server (no Nova keypair), but both application credentials.
                const why = key === "prefix" ? "replaces both application credentials" : "port the old one still holds \\(Nova refuses\\)";
                assert.match(problems[0], new RegExp(`^capi-mgmt:${key}: .*${why}.*bump of capi-mgmt:serverGeneration \\(now 1\\)`));
            }
        });

        it("accepts them together with a serverGeneration bump: a new port and server, checked like a first one", async () => {
            const calls: string[] = [];
            const run = await runStack("dev", { prefix: "dev2", availabilityZone: "az-2", serverGeneration: "2" }, { ...again, onCall: (t) => calls.push(t) });
            assert.deepStrictEqual(await problemsOf(run), []);
            assert.strictEqual(run.one(INSTANCE).name, "server-g2");
            assert.strictEqual(run.one("openstack:networking/port:Port").name, "port-g2");
            assert.ok(calls.some((t) => t.endsWith(":getImageIds")) && calls.some((t) => t.endsWith(":getLimitsV2")));
            // The network exists already: its quota is not checked again.
            assert.ok(!calls.some((t) => t.endsWith(":getQuotaV2")));
        });

        it("leaves an unset availability zone alone (Nova's choice stands)", async () => {
            const run = await runStack(
                "prod",
                { availabilityZone: undefined },
                {
                    previousOutputs: {
                        [DEPLOYED_OUTPUT]: {
                            ...deployed,
                            prefix: "capi-prod",
                            flavor: "SCS-8V-32",
                            availabilityZone: "nova",
                            serverNetwork: { created: true, nodeCidr: "10.10.0.0/24" },
                        },
                    },
                },
            );
            assert.deepStrictEqual(await problemsOf(run), []);
        });
    });

    describe("config changes that would delete workload clusters", () => {
        it("refuses removing gitops from a live stack, naming what to do instead", async () => {
            const problems = await refused("dev", { gitops: undefined }, again);
            assert.ok(
                problems.some((p) =>
                    /^capi-mgmt:gitops: removing it would make Pulumi delete Flux.*flux suspend kustomization --all.*serverGeneration/.test(p),
                ),
                problems.join("\n"),
            );
        });

        it("refuses it on an older stack too when its outputs show Flux (a non-empty deployPublicKey)", async () => {
            const problems = await refused(
                "dev",
                { gitops: undefined },
                { previousOutputs: { floatingIp: "192.0.2.10", deployPublicKey: "ssh-ed25519 AAAA" } },
            );
            assert.ok(
                problems.some((p) => p.startsWith("capi-mgmt:gitops: removing it")),
                problems.join("\n"),
            );
        });

        it("were it applied anyway, removing gitops deletes no Flux object of the program's own: each is retained", async () => {
            // An older stack whose outputs do not tell (no deployPublicKey): nothing is refused.
            const without = await runStack("dev", { gitops: undefined }, { previousOutputs: { floatingIp: "192.0.2.10" } });
            assert.deepStrictEqual(await problemsOf(without), []);
            const kept = new Set(without.resources.map((r) => r.urn));
            const gone = first.resources.filter((r) => r.custom && !kept.has(r.urn));
            assert.deepStrictEqual(gone.map((r) => r.type).sort(), [
                "kubernetes:core/v1:ConfigMap",
                "kubernetes:core/v1:Secret",
                "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization",
                "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository",
                "tls:index/privateKey:PrivateKey",
            ]);
            for (const r of gone.filter((x) => x.type.startsWith("kubernetes:"))) {
                assert.strictEqual(r.options.retainOnDelete, true, `${r.type} ${r.name} would be deleted`);
            }
            // The workload namespace and the credentials stay in the program.
            assert.strictEqual(without.one("kubernetes:core/v1:Namespace").urn, first.one("kubernetes:core/v1:Namespace").urn);
        });

        it("refuses a new workload namespace on a live stack; the Namespace itself is never deleted by Pulumi", async () => {
            const gitops = JSON.stringify({ ...rawGitops(), workloadNamespace: "tenants" });
            const problems = await refused("dev", { gitops }, again);
            assert.ok(
                problems.some((p) => /^capi-mgmt:gitops.workloadNamespace: changing it from "clusters" to "tenants".*prune.*serverGeneration/.test(p)),
                problems.join("\n"),
            );
            // Were it applied (an older stack without the record), the Namespace would be replaced by name;
            // it is retained, so the old namespace and the Clusters in it stay.
            const changed = await runStack("dev", { gitops }, { previousOutputs: { floatingIp: "192.0.2.10" } });
            const ns = changed.one("kubernetes:core/v1:Namespace");
            assert.strictEqual(ns.urn, first.one("kubernetes:core/v1:Namespace").urn);
            assert.deepStrictEqual(reveal(ns.inputs.metadata), { name: "tenants" });
            assert.strictEqual(ns.options.retainOnDelete, true);
        });
    });

    describe("lifecycleProblems (pure)", () => {
        const cfg = (over: Partial<StackConfig> = {}): StackConfig => ({ ...baseConfig(), ...over });
        const state: DeployedState = {
            serverGeneration: 1,
            prefix: "dev",
            availabilityZone: "nova",
            flavor: "SCS-4V-16",
            workloadNamespace: "clusters",
            gitops: true,
        };

        it("refuses nothing on a first up, an older stack, or a new server generation", () => {
            const changed = cfg({ prefix: "other", availabilityZone: "x", gitops: undefined, workloadNamespace: "y" });
            assert.deepStrictEqual(lifecycleProblems({ kind: "none" }, changed), []);
            assert.deepStrictEqual(lifecycleProblems({ kind: "legacy", gitops: false }, changed), []);
            assert.strictEqual(lifecycleProblems({ kind: "legacy", gitops: true }, changed).length, 1);
            assert.deepStrictEqual(lifecycleProblems({ kind: "deployed", state }, { ...changed, serverGeneration: 2 }), []);
            assert.strictEqual(lifecycleProblems({ kind: "deployed", state }, changed).length, 4);
        });
    });
});

/** The dev stack's gitops setting, as written in Pulumi.dev.yaml. */
function rawGitops(): Record<string, unknown> {
    const doc = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
    return doc.config["capi-mgmt:gitops"] as Record<string, unknown>;
}

function baseConfig(): StackConfig {
    return parseTestConfig({ gitops: JSON.stringify(rawGitops()) });
}

// Keep the pure preflight function exercised on its own too: nothing to create, nothing to check.
describe("preflightProblems (pure)", () => {
    it("reports nothing when nothing is looked up", () => {
        assert.deepStrictEqual(
            preflightProblems({ flavor: "f", image: "i", rootVolumeSize: 0, roles: ["member"] }, { server: false, firstUp: false, network: false }, {}),
            [],
        );
    });
});
