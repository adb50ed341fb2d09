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
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { fluxInstallUrl } from "../../src/cluster/clusterObjects";
import { loadStackConfig } from "../../src/config/loadConfig";
import { downloadCache, ReleaseSource } from "../../src/versions/releaseCache";
import { DEFAULT_VERSIONS } from "../../src/versions/versions";
import { program } from "../../program";
import { EngineBed, EngineHome, EngineStack, minimalTestbedComponents, startEngineCluster } from "./engineBed";
import { changes, kubeAccess, mutations, newAgeKey, newDeployKey, skipAfterFailure, skipWith, standInFluxInstall, standInFluxPin } from "./engineHelpers";
import { ControllerStandIns, ReleaseProxy } from "./engineStandIns";
import { ControlPlane } from "./harness/controlPlane";
import { Testbed } from "./harness/testbed";
import { bedRunning, bedScript, clouds } from "./openstackBed";
import {
    BED_VARIANT_OVERRIDES,
    diagnostics,
    lastLines,
    notSame,
    onlyWithTestSecrets,
    predictedEffect,
    PredictedEffect,
    predictedMap,
    realEffect,
    refusalLines,
    selectedMapKeys,
    settingOf,
    withPinned,
} from "./openstackEngineMap";
import { inventory, Inventory, inventoryDiff, purgeProject, TestProject, writeCloudsYaml } from "./openstackEngineBed";
import { installStandIns, kindLikeKubeconfig, PeerWatch } from "./openstackEngineHost";

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

/**
 * Where Flux's install.yaml comes from: as index.ts has it, a download cache on this machine
 * (src/versions/releaseCache.ts), here in the run's directory and through the GitHub stand-in
 * (set in `before`).
 */
let releases: ReleaseSource | undefined;

/** The program as index.ts runs it: the stack's settings read from the engine, every output exported. */
const indexProgram: pulumi.automation.PulumiFn = () => {
    assert.ok(releases, "the release source is set in before()");
    const { outputs } = program(loadStackConfig(), releases);
    return Promise.resolve({ ...outputs });
};

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

/**
 * The default run: dev's first up, empty second up and destroy, proven on whole runs. The rest
 * (prod, every map setting, rotation, bump, refresh by the second user, preflight's refusals)
 * is written but has not yet passed a whole run: CAPI_MGMT_OS_ENGINE_FULL=1 runs it
 * (docs/testbed-openstack-engine.md, "Status").
 */
const FULL = process.env.CAPI_MGMT_OS_ENGINE_FULL === "1";
const NOT_YET = "not in the default run until it passes a whole run: CAPI_MGMT_OS_ENGINE_FULL=1 runs it (docs/testbed-openstack-engine.md)";

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
            let project: TestProject | undefined;
            let cp: ControlPlane | undefined;
            let home: EngineHome | undefined;
            let proxy: ReleaseProxy | undefined;
            let ready: ControllerStandIns | undefined;
            /** The kind cluster of the bumped server (test 5): a second API server, as a new server has a new cluster. */
            let cp2: ControlPlane | undefined;
            let ready2: ControllerStandIns | undefined;
            let kubeconfigFile: string;
            let stack: EngineStack;
            let baseline: Inventory;
            let inventoryAfterUp: Inventory;
            let cloudName: string;
            let standInLog: string;
            let cloudsFile: string;
            let workFile: string;
            let predicted: PredictedEffect[] = [];
            /** `capi-mgmt:versions` as set before the first up (the Flux stand-in's pin), to keep in a versions variant. */
            let fluxPin: string | undefined;
            /** The gitops secrets set before the first up (prod), to put back after a gitops variant. */
            let secrets: Record<string, string> | undefined;
            /** clouds.yaml: the stack's entry and those the map's variants name, all the project's owner. */
            const cloudEntries = () =>
                Object.fromEntries(
                    [cloudName, `${cloudName}-2`, `${cloudName}-workloads`, `${cloudName}-workloads-2`].map((n) => [n, (project as TestProject).owner.cloud]),
                );
            const inv = () =>
                inventory((project as TestProject).projectId, (project as TestProject).owner.session, {
                    owner: (project as TestProject).owner.session,
                    peer: (project as TestProject).peer.session,
                });

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
                if (unavailable) {
                    return;
                }
                const all = clouds();
                project = await TestProject.create(all.admin, `capi-engine-${stackName}-${process.pid}`);
                // Neutron makes a project's default security group on its first listing: before the baseline.
                await project.owner.session.call("network", "GET", "/v2.0/security-groups");
                baseline = await inv();

                const testbed = Testbed.load();
                // The API server and the providers' CRDs: no controller acts on the program's objects here.
                const started = await startEngineCluster(testbed, `os-engine-${stackName}`, true);
                cp = started.cp;
                kubeconfigFile = path.join(cp.dir, "standin-kubeconfig.yaml");
                fs.writeFileSync(kubeconfigFile, kindLikeKubeconfig(cp), { mode: 0o600 });
                standInLog = path.join(cp.dir, "standin-calls.jsonl");

                const stackFile = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stackName}.yaml`), "utf8")) as { config: Record<string, unknown> };
                cloudName = String(stackFile.config["openstack:cloud"]);
                cloudsFile = path.join(cp.dir, "clouds.yaml");
                writeCloudsYaml(cloudsFile, cloudEntries());

                const gitops = stackFile.config["capi-mgmt:gitops"] as { semver?: string };
                const manifest = standInFluxInstall(testbed);
                proxy = await ReleaseProxy.start(path.join(cp.dir, "release-proxy"), { [fluxInstallUrl(DEFAULT_VERSIONS.flux.version)]: manifest });
                releases = downloadCache({ dir: path.join(cp.dir, "download-cache"), proxyEnv: proxy.env(), ca: fs.readFileSync(proxy.caFile) });
                // The stand-in is not Flux's release file: its digest pinned as a user pins a manifest (capi-mgmt:versions.flux.manifestSha256).
                Object.assign(
                    stackFile.config,
                    Object.fromEntries(Object.entries(standInFluxPin(manifest)).map(([k, v]) => [`capi-mgmt:${k}`, JSON.parse(v) as unknown])),
                );
                fluxPin = standInFluxPin(manifest).versions;
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
                workFile = path.join(home.workDir, `Pulumi.${stackName}.yaml`);
                const initialised = (fs.existsSync(workFile) ? parseYaml(fs.readFileSync(workFile, "utf8")) : {}) as Record<string, unknown>;
                fs.writeFileSync(workFile, toYaml({ ...initialised, config: stackFile.config }));
                if (gitops.semver !== undefined) {
                    // What Pulumi.prod.yaml says to set as secrets before the first `up`.
                    secrets = { deployKey: newDeployKey(cp.dir), sopsAgeKey: newAgeKey() };
                    for (const [k, v] of Object.entries(secrets)) {
                        await stack.stack.setConfig(`capi-mgmt:gitops.${k}`, { value: v, secret: true }, true);
                    }
                }
            });

            after(async function () {
                ready?.stop();
                ready2?.stop();
                try {
                    if (project && process.env.TESTBED_KEEP !== "1") {
                        // After a failure before `destroy`: what the stack still has, then anything left.
                        if (stack && (await stack.resources()).length > 0) {
                            await stack.destroy().catch((e: Error) => console.log(`      destroy after a failure: ${e.message.split("\n")[0]}`));
                        }
                        await purgeProject(clouds().admin, project.name);
                    }
                    await cp2?.stop();
                    await cp?.stop();
                } finally {
                    home?.dispose();
                    await Promise.race([proxy?.stop(), new Promise((resolve) => setTimeout(resolve, 5000))]);
                }
            });

            /** Calls the stand-ins got (create, update, delete, read, diff), one per line, since `from`. */
            const standInCalls = (from = 0): { provider: string; op: string; urn: string }[] =>
                fs.existsSync(standInLog)
                    ? fs
                          .readFileSync(standInLog, "utf8")
                          .split("\n")
                          .filter((l) => l)
                          .slice(from)
                          .map((l) => JSON.parse(l) as { provider: string; op: string; urn: string })
                    : [];

            it("first up creates the whole stack in its own project", async function () {
                const up = await timed(`${stackName}: first up`, () => stack.up());
                assert.deepStrictEqual([...new Set(mutations(up).map((s) => s.op))], ["create"], changes(up).join("; "));
                // FINDING (docs/testbed-openstack-engine.md): the compute limits data source always sends
                // `tenant_id`, which Nova's default policy (os_compute_api:limits:other_project) refuses to a
                // project member, so preflight never checks the instances, cores and RAM quotas; it says so.
                // (In the diagnostics: the progress output cuts a long warning to one line.)
                // The fact itself, asked as the owner: Nova answers 403 to `GET /limits?tenant_id=<own project>`.
                const limits = await (project as TestProject).owner.session.statusOf(
                    "compute",
                    "GET",
                    `/limits?tenant_id=${(project as TestProject).projectId}`,
                );
                assert.strictEqual(limits.status, 403, `Nova refuses a member the limits with tenant_id: ${limits.message}`);
                // EXCEPTION (docs/testbed-openstack-engine.md, "The set-up"): only an operation whose program's
                // log messages reach the engine can show the warning. With several inline-program runs in one
                // process, @pulumi/pulumi 3.270.0 sends some of them (those logged from an invoke's callback)
                // to an earlier run's engine ("failed to deliver log message"), so from the second stack on
                // they are missing from the events. Asserted whenever preflight's messages arrived at all.
                const preflightSaid = diagnostics(up).filter((m) => m.includes("preflight:"));
                if (preflightSaid.length > 0) {
                    assert.ok(
                        preflightSaid.some((m) => m.includes("preflight: cannot read Nova's limits")),
                        preflightSaid.join("\n"),
                    );
                } else {
                    console.log(`      ${stackName}: preflight's log messages did not reach this operation's events (see the comment)`);
                }
                inventoryAfterUp = await inv();
                const { added, removed } = inventoryDiff(baseline, inventoryAfterUp);
                assert.deepStrictEqual(removed, {});
                const count = (k: string) => (added[k] ?? []).length;
                assert.deepStrictEqual(
                    Object.fromEntries(
                        [
                            "servers",
                            "volumes",
                            "networks",
                            "subnets",
                            "routers",
                            "floatingIps",
                            "securityGroups",
                            "keypairs(owner)",
                            "applicationCredentials(owner)",
                            "keypairs(peer)",
                            "applicationCredentials(peer)",
                            "serverGroups",
                            "loadBalancers",
                        ].map((k) => [k, count(k)]),
                    ),
                    {
                        servers: 1,
                        volumes: 1,
                        networks: 1,
                        subnets: 1,
                        routers: 1,
                        floatingIps: 1,
                        securityGroups: 1,
                        "keypairs(owner)": 0, // no Nova keypair: the login key is in the user-data (src/cloud/sshKeys.ts)
                        "applicationCredentials(owner)": 2,
                        "keypairs(peer)": 0,
                        "applicationCredentials(peer)": 0,
                        serverGroups: 0,
                        loadBalancers: 0,
                    },
                    JSON.stringify(added, null, 1),
                );
                const outputs = await stack.stack.outputs();
                const fip = String(outputs.floatingIp.value);
                assert.match(fip, /^127\.100\./);
                assert.ok(added.floatingIps[0].endsWith(` ${fip}`), `the floatingIp output ${fip} is the project's floating IP (${added.floatingIps[0]})`);
                const ids = [outputs.capiAppCredentialId.value, outputs.cloudProviderAppCredentialId.value].map(String);
                assert.deepStrictEqual(
                    ids.map((id) => added["applicationCredentials(owner)"].some((l) => l.endsWith(` ${id}`))),
                    [true, true],
                );
            });

            it("a second up changes nothing: the preview is empty and up takes only `same` steps", async function () {
                const preview = await timed(`${stackName}: preview (no change)`, () => stack.preview());
                const summary = preview.result.changeSummary;
                assert.deepStrictEqual(
                    Object.keys(summary).filter((k) => k !== "same" && k !== "read"),
                    [],
                    `preview: ${JSON.stringify(summary)}; ${notSame(preview).join("; ")}`,
                );
                const calls = standInCalls().length;
                const up = await timed(`${stackName}: second up`, () => stack.up());
                assert.deepStrictEqual(notSame(up), []);
                assert.deepStrictEqual(
                    standInCalls(calls).filter((c) => c.op !== "diff"),
                    [],
                    "no step of the stand-ins ran",
                );
                assert.deepStrictEqual(inventoryDiff(inventoryAfterUp, await inv()), { added: {}, removed: {} });
            });

            /** Sets each override on the stack (`key` in capi-mgmt, `ns:key` as is; null or undefined removes it). */
            async function applyOverrides(overrides: Record<string, string | null | undefined>): Promise<void> {
                for (const [k, v] of Object.entries(overrides)) {
                    const key = k.includes(":") ? k : `capi-mgmt:${k}`;
                    if (secrets && k === "gitops" && typeof v === "string") {
                        // Field by field, so that the secrets below can be set inside the same object.
                        await stack.stack.removeConfig(key);
                        for (const [field, value] of Object.entries(JSON.parse(v) as Record<string, string>)) {
                            await stack.stack.setConfig(`${key}.${field}`, { value }, true);
                        }
                        continue;
                    }
                    if (k === "versions" && typeof v === "string") {
                        // The Flux stand-in's pin stays (the map's variants are the file's object, without it).
                        await stack.stack.setConfig(key, { value: withPinned(v, fluxPin) });
                        continue;
                    }
                    if (v === undefined || v === null) {
                        await stack.stack.removeConfig(key);
                    } else {
                        await stack.stack.setConfig(key, { value: v });
                    }
                }
                if (secrets && typeof overrides.gitops === "string") {
                    // The map's gitops variants are the file's object: the secrets set before the first up go back in.
                    for (const [k, v] of Object.entries(secrets)) {
                        await stack.stack.setConfig(`capi-mgmt:gitops.${k}`, { value: v, secret: true }, true);
                    }
                }
            }

            /** Runs `f` with the stack's settings file restored afterwards. */
            async function withSettings<T>(f: () => Promise<T>): Promise<T> {
                const saved = fs.readFileSync(workFile, "utf8");
                try {
                    return await f();
                } finally {
                    fs.writeFileSync(workFile, saved);
                }
            }

            /** Providers a refused `up` left in the state (see refusedUp), for {@link removeStateOnlyProviders}. */
            const stateOnlyProviders: string[] = [];

            /**
             * After a refused run that left a provider in the state (with the stack's own settings
             * back): an `up` deletes exactly those providers and changes nothing else, so the next
             * variant starts from the stack as it was. Returns the row to print, or undefined.
             */
            async function removeStateOnlyProviders(): Promise<string | undefined> {
                if (stateOnlyProviders.length === 0) {
                    return undefined;
                }
                const left = stateOnlyProviders.splice(0).map((u) => `delete ${u.split("::").slice(-2).join("::")}`);
                const up = await timed(`${stackName}: up deleting the refused run's provider`, () => stack.up());
                assert.deepStrictEqual(notSame(up), left, "the next up deletes the refused run's provider and nothing else");
                return `  (the refused run left ${left.map((l) => l.replace(/^delete /, "")).join(", ")} in the state; the next up deleted it, nothing else)`;
            }

            /** An `up` preflight must refuse: the settings it names, and that nothing ran. */
            async function refusedUp(): Promise<string[]> {
                const calls = standInCalls().length;
                const op = await stack.upFailing();
                const text = [op.output, op.error.message, ...op.events.map((e) => e.diagnosticEvent?.message ?? "")].join("\n");
                const lines = refusalLines(text);
                const at = text.indexOf("preflight refused");
                assert.ok(lines.length > 0, `not refused by preflight: ${at >= 0 ? JSON.stringify(text.slice(at, at + 600)) : text.slice(-1500)}`);
                // FINDING (docs/testbed-openstack-engine.md): a provider the program registers outside the gate
                // (workloadProject's, which preflight's own look-up in that project needs) is created in the
                // state before the refusal; nothing reaches the cloud. Allowed here as a `create` only, and
                // recorded: the caller checks that the next `up` deletes exactly that (stateOnlyProviders).
                const providers = mutations(op).filter((s) => s.urn.includes("::pulumi:providers:"));
                // On a stack with nothing deployed (test 8, after destroy) the engine also records the Stack
                // and the program's components, registered before the gate: state only, no provider is called.
                const stateOnly = (urn: string) => {
                    const type = (urn.split("::")[2] ?? "").split("$").pop() ?? "";
                    return type === "pulumi:pulumi:Stack" || type.startsWith("capi-mgmt:index:");
                };
                assert.deepStrictEqual(
                    mutations(op)
                        .filter((s) => !(s.op === "create" && (providers.includes(s) || stateOnly(s.urn))))
                        .map((s) => `${s.op} ${s.urn}`),
                    [],
                    "a step ran before the refusal",
                );
                stateOnlyProviders.push(...providers.map((s) => s.urn));
                assert.deepStrictEqual(
                    standInCalls(calls).filter((c) => c.op !== "diff"),
                    [],
                    "a stand-in step ran before the refusal",
                );
                return lines;
            }

            /**
             * `externalNetwork` set by ID (issue 20, defect 2): the ID of the network the stack uses
             * changes nothing (the floating IP keeps its pool); another external network's ID is
             * refused before any step, naming the setting. Returns the rows to print.
             */
            async function externalNetworkById(otherId: string): Promise<string[]> {
                const o = (project as TestProject).owner.session;
                const current = String(parseYaml(fs.readFileSync(workFile, "utf8")).config?.["capi-mgmt:externalNetwork"] ?? "public");
                const nets = (await o.call<{ networks: { id: string }[] }>("network", "GET", `/v2.0/networks?name=${encodeURIComponent(current)}`)).networks;
                assert.strictEqual(nets.length, 1, `the external network ${current}`);
                await applyOverrides({ externalNetwork: nets[0].id });
                const same = notSame(await timed(`${stackName}: preview externalNetwork by ID`, () => stack.preview()));
                assert.deepStrictEqual(same, [], "the same external network by its ID changes nothing");
                await applyOverrides({ externalNetwork: otherId });
                const lines = await timed(`${stackName}: refused externalNetwork by ID`, () => refusedUp());
                assert.deepStrictEqual([...new Set(lines.map(settingOf))], ["capi-mgmt:externalNetwork"], lines.join(" | "));
                return ["externalNetwork (the same network by ID): no change", "externalNetwork (another network by ID): refused (capi-mgmt:externalNetwork)"];
            }

            it("each setting of the replacement map changed on the live stack: the real preview does what the map predicts; the gate refuses before any step", async function () {
                if (!FULL) {
                    skipWith(this, NOT_YET);
                }
                this.timeout(7_200_000);
                const env = process.env.CAPI_MGMT_OS_ENGINE_MAP;
                predicted = await timed(`${stackName}: replacement map (mock engine)`, async () =>
                    predictedMap(
                        stackName,
                        path.join((home as EngineHome).dir, "map.json"),
                        env === "all" ? [] : [...selectedMapKeys([], env), "appCredential.expiresAt", "serverGeneration"],
                    ),
                );
                const keys = selectedMapKeys(predicted, env);
                const rows: string[] = [];
                const mismatches: string[] = [];
                for (const e of predicted.filter((x) => keys.includes(x.key))) {
                    if (e.invalid) {
                        rows.push(`${e.key}: the variant is refused by config validation (not run)`);
                        continue;
                    }
                    let shared: { network: string } | undefined;
                    let external: { id: string; delete: () => Promise<void> } | undefined;
                    const mismatchesBefore = mismatches.length;
                    const rowsBefore = rows.length;
                    await withSettings(async () => {
                        if (e.key === "externalNetwork") {
                            // The variant names "public-2": an external network of this test's project, for
                            // the length of this variant only (every project sees an external network).
                            external = await (project as TestProject).createExternalNetwork("public-2");
                            rows.push(...(await externalNetworkById(external.id)));
                        }
                        if (e.key === "existingNetwork") {
                            // What the variant names must exist for its look-up to get to the gate.
                            const o = (project as TestProject).owner.session;
                            const net = (await o.call<{ network: { id: string } }>("network", "POST", "/v2.0/networks", { network: { name: "shared" } }))
                                .network;
                            shared = { network: net.id };
                            await o.call("network", "POST", "/v2.0/subnets", {
                                subnet: { name: "shared-v4", network_id: net.id, ip_version: 4, cidr: "10.77.0.0/24" },
                            });
                        }
                        await applyOverrides({ ...e.variant.variant, ...BED_VARIANT_OVERRIDES[stackName]?.[e.key] });
                        if (e.refusals.length > 0) {
                            const lines = await timed(`${stackName}: refused ${e.key}`, () => refusedUp());
                            const real = [...new Set(lines.map(settingOf))].sort();
                            const map = [...new Set(e.refusals.map(settingOf))].sort();
                            rows.push(`${e.key}: refused (${real.join(", ")})`);
                            if (JSON.stringify(real) !== JSON.stringify(map)) {
                                mismatches.push(`${e.key}: the gate refused naming ${real.join(", ")}; the map says ${map.join(", ")}`);
                            }
                        } else {
                            const op = await timed(`${stackName}: preview ${e.key}`, () => stack.preview());
                            const real = realEffect(op);
                            const map = predictedEffect(e);
                            rows.push(
                                `${e.key}: ${
                                    Object.entries(real)
                                        .map(([k, a]) => `${a} ${k.split("$").pop()}`)
                                        .join(", ") || "no change"
                                }`,
                            );
                            for (const k of new Set([...Object.keys(real), ...Object.keys(map)])) {
                                if (secrets && onlyWithTestSecrets(k) && map[k] === undefined) {
                                    // EXCEPTION: not in the map's render (see onlyWithTestSecrets).
                                    rows.push(`  (${k}: ${real[k]}; not in the map's render, which has no gitops.sopsAgeKey)`);
                                    continue;
                                }
                                if (real[k] !== map[k]) {
                                    mismatches.push(`${e.key}: ${k.split("$").pop()}: real ${real[k] ?? "same"}, map ${map[k] ?? "same"}`);
                                }
                            }
                        }
                    }).catch((err: Error) => {
                        // Recorded, so that one run shows every variant's outcome.
                        rows.push(`${e.key}: FAILED`);
                        mismatches.push(`${e.key}: ${lastLines(err.message)}`);
                    });
                    await removeStateOnlyProviders()
                        .then((row) => row && rows.push(row))
                        .catch((err: Error) => mismatches.push(`${e.key}: ${lastLines(err.message)}`));
                    if (mismatches.length > mismatchesBefore) {
                        console.log(`      ${stackName}: ${mismatches.slice(mismatchesBefore).join("\n        ")}`);
                    }
                    if (shared) {
                        await (project as TestProject).owner.session.call("network", "DELETE", `/v2.0/networks/${shared.network}`);
                    }
                    await external?.delete();
                    console.log(`      ${stackName}: ${rows.slice(rowsBefore).join(`\n      ${stackName}: `)}`);
                }
                assert.deepStrictEqual(mismatches, []);
                assert.deepStrictEqual(inventoryDiff(inventoryAfterUp, await inv()), { added: {}, removed: {} });
            });

            it("rotation: a new expiresAt replaces both credentials as the map predicts; another order of the roles changes nothing", async function () {
                if (!FULL) {
                    skipWith(this, NOT_YET);
                }
                const e = predicted.find((x) => x.key === "appCredential.expiresAt") as PredictedEffect;
                const before = inventoryAfterUp["applicationCredentials(owner)"];
                await applyOverrides(e.variant.variant);
                const up = await timed(`${stackName}: rotation up`, () => stack.up());
                assert.deepStrictEqual(realEffect(up), predictedEffect(e));
                const after = (await inv())["applicationCredentials(owner)"];
                assert.strictEqual(after.length, 2);
                assert.deepStrictEqual(
                    after.filter((c) => before.includes(c)),
                    [],
                    "the old credentials are deleted",
                );
                const set = JSON.parse(e.variant.variant.appCredential as string) as { roles: string[] };
                await applyOverrides({ appCredential: JSON.stringify({ ...set, roles: [...set.roles].reverse() }) });
                const preview = await stack.preview();
                assert.deepStrictEqual(notSame(preview), []);
            });

            it("serverGeneration bump: a new port and server, the old ones deleted, as the map predicts", async function () {
                if (!FULL) {
                    skipWith(this, NOT_YET);
                }
                const e = predicted.find((x) => x.key === "serverGeneration") as PredictedEffect;
                if (stackName === "prod") {
                    // protect (on in production) refuses deleting the old server: turned off first, as docs/settings.md says.
                    await applyOverrides({ protect: "false" });
                    await timed(`${stackName}: protect off up`, () => stack.up());
                }
                // The new server gets a new kind cluster: the kind step's stand-in reports a new cluster id
                // on its create, and from now on the kubeconfig step's stand-in reads a second, empty API
                // server (the old objects stay on the first one, as on the old server). With one API server
                // for both, the new provider's server-side apply of a retained object (the Kustomization,
                // left by the old provider's retained delete) conflicts with the old provider's field
                // manager: that models no real bump, where the new cluster is empty.
                const started = await startEngineCluster(Testbed.load(), `os-engine-${stackName}-g2`, true);
                cp2 = started.cp;
                fs.writeFileSync(kubeconfigFile, kindLikeKubeconfig(cp2), { mode: 0o600 });
                ready2 = new ControllerStandIns(kubeAccess(cp2));
                ready2.start();
                const before = await inv();
                await applyOverrides(e.variant.variant);
                const up = await timed(`${stackName}: serverGeneration bump up`, () => stack.up());
                assert.deepStrictEqual(realEffect(up), predictedEffect(e));
                const { added, removed } = inventoryDiff(before, await inv());
                assert.deepStrictEqual([added.servers?.length, removed.servers?.length], [1, 1], JSON.stringify({ added, removed }));
                inventoryAfterUp = await inv();
            });

            it("refresh by the project's second user changes nothing", async function () {
                if (!FULL) {
                    skipWith(this, NOT_YET);
                }
                const before = (await stack.resources()).map((r) => `${r.urn} ${r.id ?? ""}`).sort();
                writeCloudsYaml(cloudsFile, { ...cloudEntries(), [cloudName]: (project as TestProject).peer.cloud });
                let outcome = "succeeded";
                try {
                    await timed(`${stackName}: refresh by the second user`, () => stack.stack.refresh());
                } catch (err) {
                    outcome = `failed: ${((err as Error).message.match(/error: .*/g) ?? ["?"]).slice(0, 3).join(" | ")}`;
                } finally {
                    writeCloudsYaml(cloudsFile, cloudEntries());
                }
                console.log(`      ${stackName}: refresh by the second user ${outcome}`);
                assert.deepStrictEqual((await stack.resources()).map((r) => `${r.urn} ${r.id ?? ""}`).sort(), before);
                assert.deepStrictEqual(notSame(await stack.preview()), []);
            });

            it("destroy leaves the project as it was before the first up", async function () {
                await timed(`${stackName}: destroy`, () => stack.destroy());
                assert.deepStrictEqual(await stack.resources(), []);
                assert.deepStrictEqual(inventoryDiff(baseline, await inv()), { added: {}, removed: {} });
            });

            it("preflight against the real APIs refuses a missing flavor, a diskless flavor without a root volume, an exhausted quota and a missing image, before anything is created", async function () {
                if (!FULL) {
                    skipWith(this, NOT_YET);
                }
                const cases: { what: string; overrides: Record<string, string>; quota?: Record<string, number>; setting: string }[] = [
                    { what: "missing flavor", overrides: { flavor: "SCS-missing" }, setting: "capi-mgmt:flavor" },
                    { what: "diskless flavor, no root volume", overrides: { flavor: "SCS-4V-16", rootVolumeSize: "0" }, setting: "capi-mgmt:rootVolumeSize" },
                    { what: "missing image", overrides: { image: "Ubuntu 99.04" }, setting: "capi-mgmt:image" },
                    // Neutron's: Nova's limits are unreadable to a member (the FINDING in the first test).
                    { what: "floating IP quota exhausted", overrides: {}, quota: { floatingip: 0 }, setting: "OpenStack quota floatingip" },
                ];
                for (const c of cases) {
                    await withSettings(async () => {
                        await applyOverrides(c.overrides);
                        if (c.quota) {
                            await (project as TestProject).setQuota("network", c.quota);
                        }
                        try {
                            const lines = await timed(`${stackName}: preflight ${c.what}`, () => refusedUp());
                            assert.deepStrictEqual(lines.map(settingOf), [c.setting], `${c.what}: ${lines.join(" | ")}`);
                        } finally {
                            if (c.quota) {
                                await (project as TestProject).setQuota("network", { floatingip: 50 });
                            }
                        }
                    });
                    assert.deepStrictEqual(inventoryDiff(baseline, await inv()), { added: {}, removed: {} }, `${c.what}: something was created`);
                }
            });
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
