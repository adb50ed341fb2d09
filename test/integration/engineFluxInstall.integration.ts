/**
 * Flux's install.yaml verified by its pinned SHA-256 (issue 20), under the real Pulumi engine (the
 * CLI and the Kubernetes provider of testbed/pulumi/build.sh, the test bed's API server; see
 * engine.integration.ts and engineBed.ts):
 *
 * - a stack deployed by the OLD program (test/integration/fluxSyncBefore.ts: the provider fetches
 *   the release URL) is `up`ped with the current one: no step deletes or replaces anything, and
 *   Flux's Namespace, CRDs, GitRepository, Kustomization and Secrets keep their uid;
 * - previews and `up`s of the unchanged stack make no request to the release URL (the ReleaseProxy
 *   stand-in for GitHub records every request);
 * - a manifest whose SHA-256 is not the pinned one (a new machine, a re-published release) is
 *   refused with a message naming the version and both digests, before anything is applied.
 *
 * The tests run in order on one stack (dev settings); each builds on the one before.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { fluxInstallUrl } from "../../src/cluster/clusterObjects";
import { CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE, FLUX_NAMESPACE, FLUX_ROOT_NAME } from "../../src/shared/contract";
import { downloadCache } from "../../src/versions/releaseCache";
import { readStackConfigFile } from "../../render/render";
import { EngineBed, EngineHome, EngineStack, nameOf, Operation, startEngineCluster } from "./engineBed";
import {
    assertNothingChanges,
    changes,
    engineUnavailable,
    kubeAccess,
    mutations,
    newDeployKey,
    OPERATION_TIMEOUT_MS,
    PROJECT_DIR,
    REPLACING_OPS,
    secretData,
    sha256Hex,
    skipAfterFailure,
    stackConfig,
    standInFluxInstall,
    standInFluxPin,
    testbedApi,
} from "./engineHelpers";
import { engineProgram, EngineProgramInputs } from "./engineProgram";
import { ControllerStandIns, ReleaseProxy } from "./engineStandIns";
import { ControlPlane } from "./harness/controlPlane";
import { Testbed } from "./harness/testbed";

/** Flux's objects whose identity must survive the upgrade: kind (as ControlPlane.get takes it), name, namespace. */
const FLUX_OBJECTS: ReadonlyArray<readonly [string, string, string | undefined]> = [
    ["namespace", FLUX_NAMESPACE, undefined],
    ["customresourcedefinition", "gitrepositories.source.toolkit.fluxcd.io", undefined],
    ["customresourcedefinition", "kustomizations.kustomize.toolkit.fluxcd.io", undefined],
    ["gitrepositories.v1.source.toolkit.fluxcd.io", FLUX_ROOT_NAME, FLUX_NAMESPACE],
    ["kustomizations.v1.kustomize.toolkit.fluxcd.io", FLUX_ROOT_NAME, FLUX_NAMESPACE],
    ["secret", FLUX_ROOT_NAME, FLUX_NAMESPACE],
];

/** uid of each of {@link FLUX_OBJECTS}, failing when one is missing or being deleted. */
function fluxUids(cp: ControlPlane): Record<string, string> {
    return Object.fromEntries(
        FLUX_OBJECTS.map(([kind, name, ns]) => {
            const o = cp.get(kind, name, ns);
            assert.ok(o, `${kind} ${name} is missing`);
            const meta = o.metadata as unknown as { uid: string; deletionTimestamp?: string };
            assert.strictEqual(meta.deletionTimestamp, undefined, `${kind} ${name} is being deleted`);
            return [`${kind}/${name}`, meta.uid];
        }),
    );
}

/** Steps that delete or replace one of Flux's objects (the install's children or the sync objects). */
function fluxDeletes(op: Operation): string[] {
    return op.steps
        .filter((s) => s.op === "delete" || REPLACING_OPS.includes(s.op))
        .filter((s) => s.urn.includes("FluxSync") || s.urn.includes("flux-install"))
        .map((s) => `${s.op} ${s.type} ${nameOf(s.urn)}`);
}

describe("real Pulumi engine: Flux's install.yaml verified by its pin, on a stack deployed by the old program", function () {
    this.timeout(OPERATION_TIMEOUT_MS);
    let cp: ControlPlane | undefined;
    let home: EngineHome | undefined;
    let proxy: ReleaseProxy | undefined;
    let ready: ControllerStandIns | undefined;
    let stack: EngineStack;
    let inputs: EngineProgramInputs;
    let manifest: string;
    let url: string;
    let uids: Record<string, string>;
    let unavailable: string | undefined;
    const stackName = "dev";

    /** A download cache of its own in `name` (a machine's), through the stand-in. */
    const cache = (name: string) =>
        downloadCache({
            dir: path.join((cp as ControlPlane).dir, name),
            proxyEnv: (proxy as ReleaseProxy).env(),
            ca: fs.readFileSync((proxy as ReleaseProxy).caFile),
        });
    const requestsSince = (n: number) => (proxy as ReleaseProxy).requests.slice(n).map((r) => `${r.method} ${r.url} ${r.status}`);

    before(async function () {
        unavailable = engineUnavailable();
        if (unavailable) {
            return;
        }
        const bed = EngineBed.load() as EngineBed;
        const testbed = Testbed.load();
        const started = await startEngineCluster(testbed, "engine-flux-install");
        cp = started.cp;
        if (started.limits) {
            console.log(`      test bed: ${started.limits}`);
        }
        const file = readStackConfigFile(PROJECT_DIR, stackName);
        const gitops = { ...(JSON.parse(file.config["capi-mgmt:gitops"]) as Record<string, unknown>), deployKey: newDeployKey(cp.dir) };
        manifest = standInFluxInstall(testbed);
        const config = stackConfig(stackName, gitops, standInFluxPin(manifest));
        url = fluxInstallUrl(config.versions.flux.version);
        proxy = await ReleaseProxy.start(path.join(cp.dir, "release-proxy"), { [url]: manifest });
        home = EngineHome.create(bed, proxy.env());
        ready = new ControllerStandIns(kubeAccess(cp));
        ready.start();
        inputs = {
            config,
            ...testbedApi(cp),
            capi: { id: "capi-id-flux-install", secret: "capi-secret-flux-install-1" },
            cloudProvider: { id: "cp-id-flux-install", secret: "cloud-provider-secret-flux-install-1" },
            managementAddress: "192.0.2.10",
            releases: cache("cache-operator-a"),
            fluxBefore: true,
        };
        stack = await home.stack(
            `engine-flux-install`,
            engineProgram(() => inputs),
        );
    });

    /** The tests build on each other: after a failure the rest would only repeat it. */
    skipAfterFailure(() => unavailable);
    after(async function () {
        ready?.stop();
        try {
            await cp?.stop();
        } finally {
            home?.dispose();
            await Promise.race([proxy?.stop(), new Promise((resolve) => setTimeout(resolve, 5000))]);
        }
    });

    it("the old program deploys Flux; the provider fetches the release URL on the preview and again on the up", async function () {
        await stack.preview();
        assert.deepStrictEqual(requestsSince(0), [`GET ${url} 200`], "the old program's preview");
        const up = await stack.up();
        assert.deepStrictEqual([...new Set(mutations(up).map((s) => s.op))], ["create"], changes(up).join("; "));
        assert.deepStrictEqual(requestsSince(1), [`GET ${url} 200`], "the old program's up fetches again");
        uids = fluxUids(cp as ControlPlane);
        // What the rest proves rests on this: the old program put the install's objects in the state.
        const install = (await stack.resources()).filter((r) => r.urn.includes("flux-install"));
        assert.ok(
            install.some((r) => r.type === "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"),
            "no CRD of the install in the state",
        );
    });

    it("the current program on that stack: the preview downloads the manifest once and verifies it; the up deletes and replaces nothing and Flux's objects keep their uid", async function () {
        const resourcesBefore = (await stack.resources()).map((r) => r.urn).sort();
        inputs = { ...inputs, fluxBefore: false };
        const n = (proxy as ReleaseProxy).requests.length;
        const preview = await stack.preview();
        assert.deepStrictEqual(fluxDeletes(preview), [], "the preview plans to delete or replace Flux's objects");
        assert.deepStrictEqual(requestsSince(n), [`GET ${url} 200`], "the program's one download on this machine");

        const up = await stack.up();
        console.log(`      engine steps of the upgrade: ${changes(up).join("; ") || "none but same"}`);
        assert.deepStrictEqual(fluxDeletes(up), []);
        assert.deepStrictEqual(
            up.steps.filter((s) => ["delete", "create", ...REPLACING_OPS].includes(s.op)).map((s) => `${s.op} ${nameOf(s.urn)}`),
            [],
            "the upgrade created, deleted or replaced something",
        );
        // Every child of the install is still the same resource in the state (same URNs).
        assert.deepStrictEqual((await stack.resources()).map((r) => r.urn).sort(), resourcesBefore);
        assert.deepStrictEqual(requestsSince(n + 1), [], "the up downloaded again");
        assert.deepStrictEqual(fluxUids(cp as ControlPlane), uids, "Flux's objects were recreated");
        assert.strictEqual(inputs.config.versions.fluxManifestSha256, sha256Hex(manifest), "the test's pin is not the stand-in manifest's SHA-256");
    });

    it("the unchanged stack: preview and up make no request to the release URL and change nothing", async function () {
        const n = (proxy as ReleaseProxy).requests.length;
        await assertNothingChanges(stack);
        assert.deepStrictEqual(requestsSince(n), []);
    });

    it("a manifest whose SHA-256 differs (another machine, a re-published release) is refused, naming the version and both digests, before anything is applied", async function () {
        const c = cp as ControlPlane;
        // The release now serves other content: one more object, as a tampered manifest would.
        const tampered = `${manifest}---\n${toYaml({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "tampered", namespace: FLUX_NAMESPACE }, data: { note: "not in the release" } })}`;
        (proxy as ReleaseProxy).serve(url, tampered);
        // A machine without the file in its cache, and a change that would otherwise update a Secret.
        const keep = inputs;
        inputs = { ...inputs, releases: cache("cache-operator-b"), capi: { id: "capi-id-flux-install-2", secret: "capi-secret-flux-install-2" } };
        const capoBefore = secretData(c.get("secret", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE));
        const n = (proxy as ReleaseProxy).requests.length;

        const failed = await stack.upFailing();
        const expected = inputs.config.versions.fluxManifestSha256;
        const message = `capi-mgmt:versions.flux: Flux ${inputs.config.versions.flux.version} install.yaml (${url}) has SHA-256 ${sha256Hex(tampered)}, expected ${expected}`;
        assert.ok(failed.error.message.includes(message), `no "${message}" in:\n${failed.error.message}`);
        assert.deepStrictEqual(
            mutations(failed).map((s) => `${s.op} ${nameOf(s.urn)}`),
            [],
            "something changed before the refusal",
        );
        assert.deepStrictEqual(requestsSince(n), [`GET ${url} 200`]);
        assert.strictEqual(c.get("configmap", "tampered", FLUX_NAMESPACE), undefined, "the tampered manifest was applied");
        assert.deepStrictEqual(secretData(c.get("secret", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE)), capoBefore, "the credentials changed");
        const cached = path.join(c.dir, "cache-operator-b", "sha256");
        assert.deepStrictEqual(fs.existsSync(cached) ? fs.readdirSync(cached) : [], [], "the refused file was cached");
        assert.deepStrictEqual(fluxUids(c), uids);

        // The release back as pinned: the other machine downloads it once and the stack is as before.
        (proxy as ReleaseProxy).serve(url, manifest);
        inputs = { ...keep, releases: cache("cache-operator-b") };
        const preview = await stack.preview();
        assert.deepStrictEqual(changes(preview), []);
        assert.deepStrictEqual(requestsSince(n + 1), [`GET ${url} 200`]);
    });
});
