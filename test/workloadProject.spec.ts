/**
 * capi-mgmt:workloadProject under the mock engine: a second OpenStack provider for the
 * workload clusters' project creates both application credentials; without the key the
 * stack is exactly what it was.
 */
import "mocha";
import * as assert from "assert";
import { parse as parseYaml } from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { appCredentialName } from "../src/cloud/appCredentials";
import { StackConfig } from "../src/config";
import { DEPLOYED_OUTPUT, DeployedState, lifecycleProblems, workloadProjectKey } from "../src/lifecycle/lifecycle";
import { roleProblems, workloadProjectWarnings } from "../src/cloud/preflightChecks";
import { workloadProviderName } from "../program";
import { isSecretValue, MockCloud, RecordedResource, reveal, valueOf } from "../render/engine";
import { parseTestConfig } from "./fixtures";
import { Run, runStack } from "./harness";

const APP_CRED = "openstack:identity/applicationCredential:ApplicationCredential";
const PROVIDER = "pulumi:providers:openstack";
const AUTH_SCOPE = "openstack:identity/getAuthScope:getAuthScope";
const WORKLOAD = JSON.stringify({ cloud: "openstack-dev-workloads", region: "RegionTwo" });
const WORKLOAD_AUTH_URL = "https://keystone.workloads.example.test:5000/v3";

function input(r: RecordedResource, key: string): unknown {
    return reveal(r.inputs[key]);
}

/** URN of the provider a resource was registered with (the reference is `urn::id`). */
function providerUrn(r: RecordedResource): string {
    assert.ok(r.options.provider, `${r.name} has no explicit provider`);
    return r.options.provider.replace(/::[^:]+$/, "");
}

/**
 * Makes the simulated cloud answer getAuthScope through the workload project's provider
 * with another project, roles and identity endpoint (the shared mock answers every
 * provider alike). Returns the provider references getAuthScope was called with.
 */
function distinguishWorkloadProject(opts: { workloadRoles?: string[]; workloadProjectId?: string }): { calls: string[]; restore: () => void } {
    const original = MockCloud.prototype.call;
    const calls: string[] = [];
    MockCloud.prototype.call = function (args) {
        const result = original.call(this, args);
        if (args.token !== AUTH_SCOPE) {
            return result;
        }
        calls.push(args.provider ?? "");
        if (!(args.provider ?? "").includes("::openstack-workload-")) {
            return result;
        }
        return {
            ...result,
            projectId: opts.workloadProjectId ?? "workload-project-id",
            roles: (opts.workloadRoles ?? ["member", "load-balancer_member"]).map((r) => ({ roleName: r, roleId: `${r}-id` })),
            serviceCatalogs: [
                {
                    id: "identity-id",
                    name: "keystone",
                    type: "identity",
                    endpoints: [
                        {
                            id: "w1",
                            interface: "public",
                            region: "RegionOne",
                            regionId: "RegionOne",
                            url: "https://keystone.wrong-region.example.test:5000/v3",
                        },
                        { id: "w2", interface: "public", region: "RegionTwo", regionId: "RegionTwo", url: `${WORKLOAD_AUTH_URL}/` },
                    ],
                },
            ],
        };
    };
    return { calls, restore: () => (MockCloud.prototype.call = original) };
}

/** Captures pulumi.log.warn while `fn` runs. */
async function warningsOf<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
    const log = pulumi.log as unknown as { warn: (msg: string) => Promise<void> };
    const original = log.warn;
    const warnings: string[] = [];
    log.warn = (msg: string) => {
        warnings.push(msg);
        return Promise.resolve();
    };
    try {
        return { result: await fn(), warnings };
    } finally {
        log.warn = original;
    }
}

function secretNamed(run: Run, name: string): RecordedResource {
    return run.one("kubernetes:core/v1:Secret", name);
}

describe("workloadProject: a separate project for workload clusters (mock engine)", function () {
    this.timeout(60000);
    let without: Run;
    let withKey: Run;
    let scopeCalls: string[];

    before(async () => {
        without = await runStack("dev");
        const patch = distinguishWorkloadProject({});
        try {
            withKey = await runStack("dev", { workloadProject: WORKLOAD });
            await valueOf(withKey.evaluation.result.preflight);
        } finally {
            patch.restore();
        }
        scopeCalls = patch.calls;
    });

    describe("without the key", () => {
        it("keeps the one provider, and the credentials' URNs, names and provider of earlier versions", () => {
            assert.deepStrictEqual(
                without.all(PROVIDER).map((p) => p.urn),
                ["urn:pulumi:dev::capi-mgmt::pulumi:providers:openstack::openstack"],
            );
            const creds = without.all(APP_CRED);
            assert.deepStrictEqual(
                creds.map((c) => [c.urn, input(c, "name"), providerUrn(c)]),
                [
                    [
                        "urn:pulumi:dev::capi-mgmt::capi-mgmt:index:AppCredentials$openstack:identity/applicationCredential:ApplicationCredential::capi",
                        "dev-capi-a77883b0",
                        "urn:pulumi:dev::capi-mgmt::pulumi:providers:openstack::openstack",
                    ],
                    [
                        "urn:pulumi:dev::capi-mgmt::capi-mgmt:index:AppCredentials$openstack:identity/applicationCredential:ApplicationCredential::cloud-provider",
                        "dev-cloud-provider-a0751b50",
                        "urn:pulumi:dev::capi-mgmt::pulumi:providers:openstack::openstack",
                    ],
                ],
            );
            const capo = reveal(secretNamed(without, "capo-credentials").inputs.stringData) as Record<string, string>;
            assert.match(capo["clouds.yaml"], /auth_url: https:\/\/keystone\.example\.test:5000\/v3\n/);
        });

        it("records no workload project in `deployed`", async () => {
            assert.ok(!("workloadProject" in (await valueOf(without.outputs.deployed))));
        });
    });

    describe("with the key", () => {
        it("adds exactly one resource, the workload project's provider; every other URN is unchanged", () => {
            const before = without.resources.map((r) => r.urn);
            const after = withKey.resources.map((r) => r.urn);
            const added = after.filter((u) => !before.includes(u));
            assert.deepStrictEqual(
                before.filter((u) => !after.includes(u)),
                [],
            );
            const name = workloadProviderName({ cloud: "openstack-dev-workloads", region: "RegionTwo" });
            assert.deepStrictEqual(added, [`urn:pulumi:dev::capi-mgmt::pulumi:providers:openstack::${name}`]);
            const provider = withKey.one(PROVIDER, name);
            assert.strictEqual(input(provider, "cloud"), "openstack-dev-workloads");
            assert.strictEqual(input(provider, "region"), "RegionTwo");
        });

        it("creates both credentials through the workload provider, everything else through the management one", () => {
            const workload = withKey.all(PROVIDER).find((p) => p.name.startsWith("openstack-workload-"))!;
            const management = withKey.one(PROVIDER, "openstack");
            const creds = withKey.all(APP_CRED);
            assert.deepStrictEqual(
                creds.map((c) => c.name),
                ["capi", "cloud-provider"],
            );
            for (const c of creds) {
                assert.strictEqual(providerUrn(c), workload.urn, c.name);
                assert.strictEqual(input(c, "unrestricted"), false);
                assert.ok(c.options.additionalSecretOutputs.includes("secret"));
            }
            for (const r of withKey.resources.filter((x) => x.custom && x.type.startsWith("openstack:") && x.type !== APP_CRED)) {
                assert.strictEqual(providerUrn(r), management.urn, `${r.type} ${r.name}`);
            }
        });

        it("renames (so replaces) both credentials, and only through a new provider when the project changes", () => {
            const settings = { roles: ["member", "load-balancer_member"] };
            const a = { cloud: "workloads-a" };
            const b = { cloud: "workloads-b" };
            for (const purpose of ["capi", "cloud-provider"] as const) {
                const names = [undefined, a, b, { cloud: "workloads-a", region: "RegionTwo" }].map((p) => appCredentialName("dev", purpose, settings, p));
                assert.strictEqual(new Set(names).size, 4, names.join(" "));
                assert.strictEqual(appCredentialName("dev", purpose, settings, { cloud: "workloads-a" }), names[1]);
            }
            assert.strictEqual(
                input(withKey.one(APP_CRED, "capi"), "name"),
                appCredentialName("dev", "capi", settings, { cloud: "openstack-dev-workloads", region: "RegionTwo" }),
            );
            assert.notStrictEqual(workloadProviderName(a), workloadProviderName(b));
            assert.notStrictEqual(workloadProviderName(a), workloadProviderName({ cloud: "workloads-a", region: "RegionTwo" }));
        });

        it("asks the workload project for its scope, and writes its auth URL and region into clouds.yaml and cloud.conf", () => {
            assert.ok(
                scopeCalls.some((p) => p.includes("::openstack-workload-")),
                scopeCalls.join("\n"),
            );
            assert.ok(
                scopeCalls.some((p) => p.includes("::openstack::")),
                scopeCalls.join("\n"),
            );
            const capo = reveal(secretNamed(withKey, "capo-credentials").inputs.stringData) as Record<string, string>;
            const cloud = (parseYaml(capo["clouds.yaml"]) as { clouds: Record<string, Record<string, unknown>> }).clouds;
            const entry = Object.values(cloud)[0];
            assert.strictEqual((entry.auth as Record<string, string>).auth_url, WORKLOAD_AUTH_URL);
            assert.strictEqual((entry.auth as Record<string, string>).application_credential_secret, "mock-app-credential-secret-capi");
            assert.strictEqual(entry.region_name, "RegionTwo");
            assert.deepStrictEqual(reveal(secretNamed(withKey, "orc-credentials").inputs.stringData), capo);
            const resourceSet = reveal(secretNamed(withKey, "cloud-config").inputs.stringData) as Record<string, string>;
            const conf = (parseYaml(resourceSet["cloud-config.yaml"]) as { stringData: Record<string, string> }).stringData["cloud.conf"];
            assert.match(conf, new RegExp(`^auth-url=${WORKLOAD_AUTH_URL.replace(/[.]/g, "\\.")}$`, "m"));
            assert.match(conf, /^region=RegionTwo$/m);
            assert.match(conf, /application-credential-secret=mock-app-credential-secret-cloud-provider/);
        });

        it("keeps every credential-bearing Secret secret", () => {
            for (const name of ["capo-credentials", "orc-credentials", "cloud-config"]) {
                assert.ok(isSecretValue(secretNamed(withKey, name).inputs.stringData), `${name} is not secret`);
            }
        });

        it("records the project in `deployed`", async () => {
            const deployed = await valueOf(withKey.outputs.deployed);
            assert.strictEqual(deployed.workloadProject, "openstack-dev-workloads (region RegionTwo)");
        });
    });

    describe("preflight", () => {
        it("checks the roles in the workload project, where the credentials are created", async () => {
            const patch = distinguishWorkloadProject({ workloadRoles: ["member"] });
            try {
                const run = await runStack("dev", { workloadProject: WORKLOAD });
                const { problems } = await valueOf(run.evaluation.result.preflight);
                assert.deepStrictEqual(problems.length, 1, problems.join("\n"));
                assert.match(
                    problems[0],
                    /^capi-mgmt:appCredential.roles: load-balancer_member is not a role you hold on the workload project \(capi-mgmt:workloadProject.cloud "openstack-dev-workloads"\)/,
                );
                assert.deepStrictEqual(run.all(APP_CRED), []);
            } finally {
                patch.restore();
            }
            // The management project's roles no longer matter for the credentials.
            const patch2 = distinguishWorkloadProject({});
            try {
                const run = await runStack("dev", { workloadProject: WORKLOAD }, { rolesHeld: ["member"] });
                assert.deepStrictEqual((await valueOf(run.evaluation.result.preflight)).problems, []);
            } finally {
                patch2.restore();
            }
            assert.match(roleProblems(["member", "x"], ["member"]).join(""), /is not a role you hold on this project/);
        });

        it("warns when both entries authenticate to the same project", async () => {
            const patch = distinguishWorkloadProject({ workloadProjectId: "mock-project-id" });
            try {
                const { warnings } = await warningsOf(async () => {
                    const run = await runStack("dev", { workloadProject: WORKLOAD });
                    return valueOf(run.evaluation.result.preflight);
                });
                assert.ok(
                    warnings.some((w) =>
                        /^preflight: capi-mgmt:workloadProject.cloud "openstack-dev-workloads" authenticates to the management server's own project/.test(w),
                    ),
                    warnings.join("\n"),
                );
            } finally {
                patch.restore();
            }
            assert.deepStrictEqual(workloadProjectWarnings("a", "b", "w"), []);
        });
    });

    describe("config through the program", () => {
        it("logs the production warning without the key, and none with a separate entry", async () => {
            const prodWithout = await warningsOf(() => runStack("prod", { workloadProject: undefined }));
            assert.ok(
                prodWithout.warnings.some((w) => /^capi-mgmt:workloadProject is not set/.test(w)),
                prodWithout.warnings.join("\n"),
            );
            const patch = distinguishWorkloadProject({});
            try {
                const prodWith = await warningsOf(async () => {
                    const run = await runStack("prod", { workloadProject: JSON.stringify({ cloud: "openstack-prod-workloads" }) });
                    return valueOf(run.evaluation.result.preflight);
                });
                assert.deepStrictEqual(
                    prodWith.warnings.filter((w) => /workloadProject/.test(w)),
                    [],
                );
            } finally {
                patch.restore();
            }
            const same = await warningsOf(() => runStack("dev", { workloadProject: JSON.stringify({ cloud: "openstack-dev" }) }));
            assert.ok(
                same.warnings.some((w) => /^capi-mgmt:workloadProject.cloud is "openstack-dev", the same clouds.yaml entry/.test(w)),
                same.warnings.join("\n"),
            );
        });

        it("stops before any resource when the key is bad or openstack:cloud is missing, naming the key", async () => {
            await assert.rejects(
                runStack("dev", { workloadProject: JSON.stringify({ cloud: "", zone: "x" }) }),
                (e: Error) =>
                    e instanceof pulumi.RunError &&
                    /capi-mgmt:workloadProject.cloud: is required/.test(e.message) &&
                    /capi-mgmt:workloadProject.zone: is not a known setting/.test(e.message),
            );
            await assert.rejects(
                runStack("dev", { workloadProject: WORKLOAD, "openstack:cloud": undefined }),
                (e: Error) => e instanceof pulumi.RunError && /capi-mgmt:workloadProject: needs openstack:cloud set as well/.test(e.message),
            );
        });
    });

    describe("lifecycle gate", () => {
        let recordedWithout: DeployedState;
        let recordedWith: DeployedState;
        before(async () => {
            recordedWithout = await valueOf(without.outputs.deployed);
            recordedWith = await valueOf(withKey.outputs.deployed);
        });

        it("refuses moving a running management cluster's credentials to another project, either way", async () => {
            const adopt = await runStack(
                "dev",
                { workloadProject: WORKLOAD },
                { previousOutputs: { [DEPLOYED_OUTPUT]: recordedWithout, floatingIp: "192.0.2.10" } },
            );
            const problems = (await valueOf(adopt.evaluation.result.preflight)).problems;
            assert.strictEqual(problems.length, 1, problems.join("\n"));
            assert.match(
                problems[0],
                /^capi-mgmt:workloadProject: changing the workload clusters' project from the management server's own project to "openstack-dev-workloads \(region RegionTwo\)"/,
            );
            assert.match(problems[0], /serverGeneration \(now 1\)/);
            assert.deepStrictEqual(adopt.all(APP_CRED), []);

            const drop = await runStack("dev", {}, { previousOutputs: { [DEPLOYED_OUTPUT]: recordedWith, floatingIp: "192.0.2.10" } });
            assert.match(
                (await valueOf(drop.evaluation.result.preflight)).problems.join("\n"),
                /^capi-mgmt:workloadProject: changing .* from "openstack-dev-workloads \(region RegionTwo\)" to the management server's own project/,
            );
        });

        it("lets the same project, a first up, and a new server generation through", async () => {
            const patch = distinguishWorkloadProject({});
            try {
                const same = await runStack(
                    "dev",
                    { workloadProject: WORKLOAD },
                    { previousOutputs: { [DEPLOYED_OUTPUT]: recordedWith, floatingIp: "192.0.2.10" } },
                );
                assert.deepStrictEqual((await valueOf(same.evaluation.result.preflight)).problems, []);
            } finally {
                patch.restore();
            }
            const adopting = configOf({ workloadProject: WORKLOAD });
            const state = { ...recordedWithout, gitops: false };
            assert.deepStrictEqual(lifecycleProblems({ kind: "deployed", state }, { ...adopting, workloadProject: undefined }), []);
            assert.strictEqual(lifecycleProblems({ kind: "deployed", state }, adopting).length, 1);
            assert.deepStrictEqual(lifecycleProblems({ kind: "deployed", state }, { ...adopting, serverGeneration: 2 }), []);
            assert.deepStrictEqual(lifecycleProblems({ kind: "none" }, adopting), []);
            assert.strictEqual(workloadProjectKey(undefined), "");
            assert.strictEqual(workloadProjectKey({ cloud: "w" }), "w");
        });
    });
});

/** A parsed config like the dev stack's, with overrides. */
function configOf(overrides: Record<string, string>): StackConfig {
    return parseTestConfig(overrides, { openstack: { cloud: "openstack-dev" } });
}
