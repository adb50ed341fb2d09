/**
 * What the stack suites of openstackEngine.integration.ts share (it registers the tests of
 * openstackEngineLifecycle.ts and openstackEngineMapTests.ts in each stack's describe, on one
 * {@link EngineSuite}): whether the suite can run here, the run mode, the measured times, and the
 * suite's state (the stack's own OpenStack project, API server, engine home and stack) with its
 * set-up, tear-down and the operations its tests share (settings overrides, refused runs).
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
import { kubeAccess, mutations, newAgeKey, newDeployKey, skipWith, standInFluxInstall, standInFluxPin } from "./engineHelpers";
import { ControllerStandIns, ReleaseProxy } from "./engineStandIns";
import { ControlPlane } from "./harness/controlPlane";
import { Testbed } from "./harness/testbed";
import { clouds } from "./openstackBed";
import { notSame, PredictedEffect, refusalLines, withPinned } from "./openstackEngineMap";
import { inventory, Inventory, inventoryDiff, purgeProject, TestProject, writeCloudsYaml } from "./openstackEngineBed";
import { installStandIns, kindLikeKubeconfig } from "./openstackEngineHost";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** Bound of one engine operation on a loaded 2-core machine. */
export const OPERATION_TIMEOUT_MS = 900_000;

/**
 * The default run is the full one: both stacks, every test (the first and second up, the
 * replacement map, rotation, the refused and the real bump, refresh by the second user,
 * destroy, preflight's refusals), which passed whole on 7 December 2026 (about 8 minutes a stack
 * on an unloaded 2-core machine; docs/testbed-openstack-engine.md, "Status").
 * CAPI_MGMT_OS_ENGINE_QUICK=1 runs only dev's first up, second up and destroy, e.g. while
 * working on something else.
 */
export const FULL = process.env.CAPI_MGMT_OS_ENGINE_QUICK !== "1";
export const NOT_YET = "skipped: CAPI_MGMT_OS_ENGINE_QUICK=1 runs only the first up, the second up and destroy (docs/testbed-openstack-engine.md)";

/** Skips the calling test outside the full mode (see {@link FULL}). */
export function fullModeOnly(ctx: Mocha.Context): void {
    if (!FULL) {
        skipWith(ctx, NOT_YET);
    }
}

/** Why these tests cannot run here, or undefined. */
export function unavailableReason(): string | undefined {
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

/** Measured wall-clock times (reported, never asserted). */
export const times: Record<string, number> = {};
export async function timed<T>(what: string, f: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
        return await f();
    } finally {
        times[what] = Math.round((Date.now() - t0) / 100) / 10;
    }
}

/** One call a stand-in plugin got (create, update, delete, read, diff). */
export interface StandInCall {
    provider: string;
    op: string;
    urn: string;
}

/** One stack's suite: set up in `before`, torn down in `after`; its tests run in order and build on each other. */
export class EngineSuite {
    project?: TestProject;
    cp?: ControlPlane;
    home?: EngineHome;
    proxy?: ReleaseProxy;
    ready?: ControllerStandIns;
    /** The kind cluster of the bumped server (test 5): a second API server, as a new server has a new cluster. */
    cp2?: ControlPlane;
    ready2?: ControllerStandIns;
    kubeconfigFile = "";
    stack!: EngineStack;
    baseline: Inventory = {};
    inventoryAfterUp: Inventory = {};
    cloudName = "";
    standInLog = "";
    cloudsFile = "";
    workFile = "";
    predicted: PredictedEffect[] = [];
    /** `capi-mgmt:versions` as set before the first up (the Flux stand-in's pin), to keep in a versions variant. */
    fluxPin?: string;
    /** The gitops secrets set before the first up (prod), to put back after a gitops variant. */
    secrets?: Record<string, string>;
    /** Providers a refused `up` left in the state (see refusedUp), for {@link removeStateOnlyProviders}. */
    readonly stateOnlyProviders: string[] = [];
    /**
     * Where Flux's install.yaml comes from: as index.ts has it, a download cache on this machine
     * (src/versions/releaseCache.ts), here in the run's directory and through the GitHub stand-in.
     */
    private releases?: ReleaseSource;

    constructor(readonly stackName: string) {}

    /** The stack's project (fails when the set-up did not make it). */
    p(): TestProject {
        assert.ok(this.project, "the stack's project is made in before()");
        return this.project;
    }

    /** The program as index.ts runs it: the stack's settings read from the engine, every output exported. */
    readonly indexProgram: pulumi.automation.PulumiFn = () => {
        assert.ok(this.releases, "the release source is set in before()");
        const { outputs } = program(loadStackConfig(), this.releases);
        return Promise.resolve({ ...outputs });
    };

    /** clouds.yaml: the stack's entry and those the map's variants name, all the project's owner. */
    cloudEntries() {
        const n = this.cloudName;
        return Object.fromEntries([n, `${n}-2`, `${n}-workloads`, `${n}-workloads-2`].map((e) => [e, this.p().owner.cloud]));
    }

    /** A full inventory of the project, as both of its users see it. */
    inv(): Promise<Inventory> {
        const p = this.p();
        return inventory(p.projectId, p.owner.session, { owner: p.owner.session, peer: p.peer.session });
    }

    /** Asserts that the project holds what it held after the last `up` that changed it. */
    async assertUnchangedSinceUp(): Promise<void> {
        assert.deepStrictEqual(inventoryDiff(this.inventoryAfterUp, await this.inv()), { added: {}, removed: {} });
    }

    /** Calls the stand-ins got (create, update, delete, read, diff), one per line, since `from`. */
    standInCalls(from = 0): StandInCall[] {
        return fs.existsSync(this.standInLog)
            ? fs
                  .readFileSync(this.standInLog, "utf8")
                  .split("\n")
                  .filter((l) => l)
                  .slice(from)
                  .map((l) => JSON.parse(l) as StandInCall)
            : [];
    }

    /** The stack's own project, API server, release stand-in and engine home; the stack with its committed settings. */
    async setUp(): Promise<void> {
        const stackName = this.stackName;
        const all = clouds();
        this.project = await TestProject.create(all.admin, `capi-engine-${stackName}-${process.pid}`);
        // Neutron makes a project's default security group on its first listing: before the baseline.
        await this.project.owner.session.call("network", "GET", "/v2.0/security-groups");
        this.baseline = await this.inv();

        const testbed = Testbed.load();
        // The API server and the providers' CRDs: no controller acts on the program's objects here.
        const cp = (await startEngineCluster(testbed, `os-engine-${stackName}`, true)).cp;
        this.cp = cp;
        this.kubeconfigFile = path.join(cp.dir, "standin-kubeconfig.yaml");
        fs.writeFileSync(this.kubeconfigFile, kindLikeKubeconfig(cp), { mode: 0o600 });
        this.standInLog = path.join(cp.dir, "standin-calls.jsonl");

        const stackFile = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stackName}.yaml`), "utf8")) as { config: Record<string, unknown> };
        this.cloudName = String(stackFile.config["openstack:cloud"]);
        this.cloudsFile = path.join(cp.dir, "clouds.yaml");
        writeCloudsYaml(this.cloudsFile, this.cloudEntries());

        const gitops = stackFile.config["capi-mgmt:gitops"] as { semver?: string };
        const manifest = standInFluxInstall(testbed);
        const proxy = await ReleaseProxy.start(path.join(cp.dir, "release-proxy"), { [fluxInstallUrl(DEFAULT_VERSIONS.flux.version)]: manifest });
        this.proxy = proxy;
        this.releases = downloadCache({ dir: path.join(cp.dir, "download-cache"), proxyEnv: proxy.env(), ca: fs.readFileSync(proxy.caFile) });
        // The stand-in is not Flux's release file: its digest pinned as a user pins a manifest (capi-mgmt:versions.flux.manifestSha256).
        Object.assign(
            stackFile.config,
            Object.fromEntries(Object.entries(standInFluxPin(manifest)).map(([k, v]) => [`capi-mgmt:${k}`, JSON.parse(v) as unknown])),
        );
        this.fluxPin = standInFluxPin(manifest).versions;
        const home = EngineHome.create(
            EngineBed.load() as EngineBed,
            {
                ...proxy.env(),
                OS_CLIENT_CONFIG_FILE: this.cloudsFile,
                CAPI_MGMT_STANDIN_KUBECONFIG: this.kubeconfigFile,
                CAPI_MGMT_STANDIN_LOG: this.standInLog,
            },
            ["kubernetes", "openstack"],
        );
        this.home = home;
        installStandIns(home);
        this.ready = new ControllerStandIns(kubeAccess(cp));
        this.ready.start();

        this.stack = await home.stack(stackName, this.indexProgram);
        // The stack's settings file as committed, in the workspace next to the salt `stack init` wrote.
        this.workFile = path.join(home.workDir, `Pulumi.${stackName}.yaml`);
        const initialised = (fs.existsSync(this.workFile) ? parseYaml(fs.readFileSync(this.workFile, "utf8")) : {}) as Record<string, unknown>;
        fs.writeFileSync(this.workFile, toYaml({ ...initialised, config: stackFile.config }));
        if (gitops.semver !== undefined) {
            // What Pulumi.prod.yaml says to set as secrets before the first `up`.
            this.secrets = { deployKey: newDeployKey(cp.dir), sopsAgeKey: newAgeKey() };
            for (const [k, v] of Object.entries(this.secrets)) {
                await this.stack.stack.setConfig(`capi-mgmt:gitops.${k}`, { value: v, secret: true }, true);
            }
        }
    }

    /** After a failure before `destroy`: what the stack still has, then anything left in the project; then the local parts. */
    async tearDown(): Promise<void> {
        this.ready?.stop();
        this.ready2?.stop();
        try {
            if (this.project && process.env.TESTBED_KEEP !== "1") {
                if (this.stack && (await this.stack.resources()).length > 0) {
                    await this.stack.destroy().catch((e: Error) => console.log(`      destroy after a failure: ${e.message.split("\n")[0]}`));
                }
                await purgeProject(clouds().admin, this.project.name);
            }
            await this.cp2?.stop();
            await this.cp?.stop();
        } finally {
            this.home?.dispose();
            await Promise.race([this.proxy?.stop(), new Promise((resolve) => setTimeout(resolve, 5000))]);
        }
    }

    /** Sets each override on the stack (`key` in capi-mgmt, `ns:key` as is; null or undefined removes it). */
    async applyOverrides(overrides: Record<string, string | null | undefined>): Promise<void> {
        const stack = this.stack.stack;
        for (const [k, v] of Object.entries(overrides)) {
            const key = k.includes(":") ? k : `capi-mgmt:${k}`;
            if (this.secrets && k === "gitops" && typeof v === "string") {
                // Field by field, so that the secrets below can be set inside the same object.
                await stack.removeConfig(key);
                for (const [field, value] of Object.entries(JSON.parse(v) as Record<string, string>)) {
                    await stack.setConfig(`${key}.${field}`, { value }, true);
                }
                continue;
            }
            if (k === "versions" && typeof v === "string") {
                // The Flux stand-in's pin stays (the map's variants are the file's object, without it).
                await stack.setConfig(key, { value: withPinned(v, this.fluxPin) });
                continue;
            }
            if (v === undefined || v === null) {
                await stack.removeConfig(key);
            } else {
                await stack.setConfig(key, { value: v });
            }
        }
        if (this.secrets && typeof overrides.gitops === "string") {
            // The map's gitops variants are the file's object: the secrets set before the first up go back in.
            for (const [k, v] of Object.entries(this.secrets)) {
                await stack.setConfig(`capi-mgmt:gitops.${k}`, { value: v, secret: true }, true);
            }
        }
    }

    /** Runs `f` with the stack's settings file restored afterwards. */
    async withSettings<T>(f: () => Promise<T>): Promise<T> {
        const saved = fs.readFileSync(this.workFile, "utf8");
        try {
            return await f();
        } finally {
            fs.writeFileSync(this.workFile, saved);
        }
    }

    /**
     * After a refused run that left a provider in the state (with the stack's own settings
     * back): an `up` deletes exactly those providers and changes nothing else, so the next
     * variant starts from the stack as it was. Returns the row to print, or undefined.
     */
    async removeStateOnlyProviders(): Promise<string | undefined> {
        if (this.stateOnlyProviders.length === 0) {
            return undefined;
        }
        const left = this.stateOnlyProviders.splice(0).map((u) => `delete ${u.split("::").slice(-2).join("::")}`);
        const up = await timed(`${this.stackName}: up deleting the refused run's provider`, () => this.stack.up());
        assert.deepStrictEqual(notSame(up), left, "the next up deletes the refused run's provider and nothing else");
        return `  (the refused run left ${left.map((l) => l.replace(/^delete /, "")).join(", ")} in the state; the next up deleted it, nothing else)`;
    }

    /** An `up` preflight must refuse: the settings it names, and that nothing ran. */
    async refusedUp(): Promise<string[]> {
        const calls = this.standInCalls().length;
        const op = await this.stack.upFailing();
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
        this.stateOnlyProviders.push(...providers.map((s) => s.urn));
        assert.deepStrictEqual(
            this.standInCalls(calls).filter((c) => c.op !== "diff"),
            [],
            "a stand-in step ran before the refusal",
        );
        return lines;
    }
}
