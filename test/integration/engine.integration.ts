/**
 * The program's in-cluster components under the real Pulumi engine (issue 13, the part the module
 * proxy lets us build): the CLI v3.274 and the Kubernetes provider built by testbed/pulumi/build.sh,
 * driven by the Automation API with an inline program (test/integration/engineProgram.ts) against
 * the test bed's API server with the real CAPI/CAPO/Flux CRDs and webhooks, for the dev stack's
 * settings (branch) and the prod stack's (semver tags, SOPS).
 *
 * Every test asserts what the engine did (its steps, the preview summary), the state, and the API
 * server. The tests run in order on one stack per environment; each builds on the one before.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { renderCloudConf, renderCloudsYaml } from "../../src/cluster/cloudCredentials";
import { CLOUD_CONFIG_MANIFEST_KEY, fluxInstallUrl } from "../../src/cluster/clusterObjects";
import { StackConfig } from "../../src/config";
import {
    CAPO_CREDENTIALS_SECRET,
    CAPO_IDENTITY_NAME,
    CAPO_NAMESPACE,
    CLOUD_CONFIG_RESOURCE_SET,
    FLUX_NAMESPACE,
    FLUX_ROOT_NAME,
    ORC_CREDENTIALS_SECRET,
} from "../../src/shared/contract";
import { downloadCache } from "../../src/versions/releaseCache";
import { readStackConfigFile } from "../../render/render";
import { EngineBed, EngineHome, EngineStack, nameOf, startEngineCluster } from "./engineBed";
import {
    assertNothingChanges,
    changes,
    engineUnavailable,
    kubeAccess,
    mutations,
    newAgeKey,
    newDeployKey,
    OPERATION_TIMEOUT_MS,
    PROJECT_DIR,
    REPLACING_OPS,
    secretData,
    skipAfterFailure,
    stackConfig as baseStackConfig,
    standInFluxInstall,
    standInFluxPin,
    testbedApi,
} from "./engineHelpers";
import { CLUSTER_STAND_IN_TYPE, engineProgram, EngineProgramInputs } from "./engineProgram";
import { ControllerStandIns, ReleaseProxy } from "./engineStandIns";
import { ControlPlane } from "./harness/controlPlane";
import { Testbed } from "./harness/testbed";
import { createWorkloadCluster, assertSurvives } from "./engineWorkloads";

/** Flux's install.yaml pin for the stand-in's manifest (set in `before`, from the test bed). */
let fluxPin: Record<string, string> = {};

/** The stack's config as the engine hands it to the program, Flux's manifest pinned to the stand-in's. */
function stackConfig(stack: string, gitops: Record<string, unknown> | undefined, extra: Record<string, string> = {}): StackConfig {
    return baseStackConfig(stack, gitops, { ...fluxPin, ...extra });
}
for (const stackName of ["dev", "prod"]) {
    describe(`real Pulumi engine, ${stackName} stack: in-cluster components against the test-bed API server`, function () {
        this.timeout(OPERATION_TIMEOUT_MS);
        let cp: ControlPlane | undefined;
        let cpStopped = false;
        let home: EngineHome | undefined;
        let proxy: ReleaseProxy | undefined;
        let ready: ControllerStandIns | undefined;
        let stack: EngineStack;
        let inputs: EngineProgramInputs;
        let gitops: Record<string, unknown>;
        let unavailable: string | undefined;
        /** Secret values that must never appear in clear. */
        const secrets: { what: string; value: string }[] = [];
        const tag = `${stackName}-${process.pid}`;

        before(async function () {
            this.timeout(OPERATION_TIMEOUT_MS);
            unavailable = engineUnavailable();
            if (unavailable) {
                return;
            }
            const bed = EngineBed.load() as EngineBed;
            const testbed = Testbed.load();
            const started = await startEngineCluster(testbed, `engine-${stackName}`);
            cp = started.cp;
            if (started.limits) {
                console.log(`      test bed: ${started.limits}`);
            }
            const file = readStackConfigFile(PROJECT_DIR, stackName);
            const deployKey = newDeployKey(cp.dir);
            gitops = { ...(JSON.parse(file.config["capi-mgmt:gitops"]) as Record<string, unknown>), deployKey };
            if (stackName === "prod") {
                gitops.sopsAgeKey = newAgeKey();
            }
            const manifest = standInFluxInstall(testbed);
            fluxPin = standInFluxPin(manifest);
            const config = stackConfig(stackName, gitops);
            proxy = await ReleaseProxy.start(path.join(cp.dir, "release-proxy"), { [fluxInstallUrl(config.versions.flux.version)]: manifest });
            home = EngineHome.create(bed, proxy.env());
            // The program downloads Flux's manifest (in this process: the program is inline)
            // through the stand-in, into a cache of this test's own.
            const releases = downloadCache({ dir: path.join(cp.dir, "download-cache"), proxyEnv: proxy.env(), ca: fs.readFileSync(proxy.caFile) });
            ready = new ControllerStandIns(kubeAccess(cp));
            ready.start();
            inputs = {
                config,
                ...testbedApi(cp),
                capi: { id: `capi-id-${tag}`, secret: `capi-secret-${tag}-1` },
                cloudProvider: { id: `cp-id-${tag}`, secret: `cloud-provider-secret-${tag}-1` },
                managementAddress: "192.0.2.10",
                releases,
            };
            secrets.push(
                { what: "deploy key", value: deployKey.split("\n")[3] },
                { what: "CAPI credential secret", value: inputs.capi.secret },
                { what: "cloud-provider credential secret", value: inputs.cloudProvider.secret },
                { what: "kubeconfig client key (base64)", value: fs.readFileSync(cp.pki.adminKey).toString("base64").slice(80, 140) },
                { what: "kubeconfig client key (PEM)", value: fs.readFileSync(cp.pki.adminKey, "utf8").split("\n")[1] },
            );
            if (typeof gitops.sopsAgeKey === "string") {
                secrets.push({ what: "SOPS age key", value: gitops.sopsAgeKey });
            }
            stack = await home.stack(
                `engine-${stackName}`,
                engineProgram(() => inputs),
            );
        });

        /** The tests build on each other: after a failure the rest would only repeat it. */
        skipAfterFailure(() => unavailable);

        after(async function () {
            ready?.stop();
            try {
                if (cp && !cpStopped) {
                    await cp.stop();
                }
            } finally {
                home?.dispose();
                await Promise.race([proxy?.stop(), new Promise((resolve) => setTimeout(resolve, 5000))]);
            }
        });

        it("first up creates the in-cluster objects: credentials, identity, ClusterResourceSet, Flux sync", async function () {
            const up = await stack.up();
            const ops = new Set(mutations(up).map((s) => s.op));
            assert.deepStrictEqual([...ops].sort(), ["create"], `first up: ${changes(up).join("; ")}`);

            const c = cp as ControlPlane;
            const ns = inputs.config.workloadNamespace;
            assert.ok(c.get("namespace", ns), `no workload Namespace ${ns}`);
            const capo = secretData(c.get("secret", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE));
            assert.strictEqual(
                capo["clouds.yaml"],
                renderCloudsYaml({ authUrl: inputs.authUrl, region: inputs.config.region, id: inputs.capi.id, secret: inputs.capi.secret }),
            );
            assert.deepStrictEqual(secretData(c.get("secret", ORC_CREDENTIALS_SECRET, ns)), capo);
            const crsSecret = c.get("secret", CLOUD_CONFIG_RESOURCE_SET, ns);
            assert.strictEqual((crsSecret as unknown as { type: string }).type, "addons.cluster.x-k8s.io/resource-set");
            const workloadSecret = parseYaml(secretData(crsSecret)[CLOUD_CONFIG_MANIFEST_KEY]) as { stringData: Record<string, string> };
            assert.strictEqual(
                workloadSecret.stringData["cloud.conf"],
                renderCloudConf({ authUrl: inputs.authUrl, region: inputs.config.region, id: inputs.cloudProvider.id, secret: inputs.cloudProvider.secret }),
            );
            assert.ok(c.get("clusterresourcesets.v1beta2.addons.cluster.x-k8s.io", CLOUD_CONFIG_RESOURCE_SET, ns), "no ClusterResourceSet");
            assert.ok(c.get("openstackclusteridentities.v1alpha1.infrastructure.cluster.x-k8s.io", CAPO_IDENTITY_NAME), "no OpenStackClusterIdentity");

            const repo = c.get("gitrepositories.v1.source.toolkit.fluxcd.io", FLUX_ROOT_NAME, FLUX_NAMESPACE);
            assert.ok(repo, "no GitRepository");
            const wantRef = stackName === "prod" ? { semver: ">=1.0.0" } : { branch: "main" };
            assert.deepStrictEqual((repo.spec as { ref: unknown }).ref, wantRef);
            const ks = c.get("kustomizations.v1.kustomize.toolkit.fluxcd.io", FLUX_ROOT_NAME, FLUX_NAMESPACE);
            assert.ok(ks, "no Kustomization");
            assert.strictEqual((ks.spec as { decryption?: { provider: string } }).decryption?.provider, stackName === "prod" ? "sops" : undefined);
            const git = secretData(c.get("secret", FLUX_ROOT_NAME, FLUX_NAMESPACE));
            assert.strictEqual(git.identity, gitops.deployKey);
            // The release URL was fetched once, by the program's verified download through the
            // stand-in (not by the provider), and nothing else.
            assert.deepStrictEqual(
                (proxy as ReleaseProxy).requests.map((r) => `${r.method} ${r.url} ${r.status}`),
                [`GET ${fluxInstallUrl(inputs.config.versions.flux.version)} 200`],
            );
        });

        it("second up changes nothing: preview reports no changes and up takes only `same` steps; neither asks GitHub for anything", async function () {
            const requests = (proxy as ReleaseProxy).requests.length;
            await assertNothingChanges(stack);
            assert.deepStrictEqual((proxy as ReleaseProxy).requests.slice(requests), [], "the preview or the up made a request to the release stand-in");
        });

        it("credential rotation updates the credential Secrets and the ClusterResourceSet's Secret in place", async function () {
            const c = cp as ControlPlane;
            const ns = inputs.config.workloadNamespace;
            const uid = (kind: string, name: string, n?: string) => (c.get(kind, name, n)?.metadata as { uid?: string } | undefined)?.uid;
            const before = {
                capo: uid("secret", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE),
                orc: uid("secret", ORC_CREDENTIALS_SECRET, ns),
                crs: uid("secret", CLOUD_CONFIG_RESOURCE_SET, ns),
            };
            inputs = {
                ...inputs,
                capi: { id: `capi-id-${tag}-2`, secret: `capi-secret-${tag}-2` },
                cloudProvider: { id: `cp-id-${tag}-2`, secret: `cloud-provider-secret-${tag}-2` },
            };
            secrets.push(
                { what: "rotated CAPI secret", value: inputs.capi.secret },
                { what: "rotated cloud-provider secret", value: inputs.cloudProvider.secret },
            );

            const up = await stack.up();
            assert.deepStrictEqual(
                up.steps.filter((s) => REPLACING_OPS.includes(s.op) || s.op === "delete" || s.op === "create"),
                [],
                changes(up).join("; "),
            );
            assert.deepStrictEqual(changes(up).sort(), [
                "update kubernetes:core/v1:Secret capo-credentials",
                "update kubernetes:core/v1:Secret cloud-config",
                "update kubernetes:core/v1:Secret orc-credentials",
            ]);
            assert.deepStrictEqual(
                {
                    capo: uid("secret", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE),
                    orc: uid("secret", ORC_CREDENTIALS_SECRET, ns),
                    crs: uid("secret", CLOUD_CONFIG_RESOURCE_SET, ns),
                },
                before,
                "the Secrets were recreated, not updated",
            );
            const capo = secretData(c.get("secret", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE));
            assert.match(capo["clouds.yaml"], new RegExp(`application_credential_id: ${inputs.capi.id}\\b`));
            const workload = parseYaml(secretData(c.get("secret", CLOUD_CONFIG_RESOURCE_SET, ns))[CLOUD_CONFIG_MANIFEST_KEY]) as {
                stringData: Record<string, string>;
            };
            assert.ok(workload.stringData["cloud.conf"].includes(inputs.cloudProvider.secret), "the ClusterResourceSet's Secret still has the old cloud.conf");
        });

        it("changing the workload namespace on the live stack is refused before anything changes", async function () {
            const c = cp as ControlPlane;
            const ns = inputs.config.workloadNamespace;
            createWorkloadCluster(c, ns, "workload-a");
            const keep = inputs;
            inputs = { ...inputs, config: stackConfig(stackName, { ...gitops, workloadNamespace: `${ns}-moved` }) };
            const failed = await stack.upFailing();
            assert.match(failed.error.message, new RegExp(`gitops\\.workloadNamespace: changing it from "${ns}" to "${ns}-moved"`));
            assert.deepStrictEqual(
                mutations(failed).map((st) => `${st.op} ${nameOf(st.urn)}`),
                [],
            );
            assert.strictEqual(c.get("namespace", `${ns}-moved`), undefined, "the new namespace was created");
            assertSurvives(c, ns, "workload-a");
            inputs = keep;
            const preview = await stack.preview();
            assert.deepStrictEqual(changes(preview), [], "the refused run changed the state");
        });

        it("removing gitops on the live stack is refused before anything changes", async function () {
            const c = cp as ControlPlane;
            const keep = inputs;
            inputs = { ...inputs, config: stackConfig(stackName, undefined) };
            const failed = await stack.upFailing();
            assert.match(failed.error.message, /capi-mgmt:gitops: removing it would make Pulumi delete Flux/);
            assert.deepStrictEqual(
                mutations(failed).map((st) => `${st.op} ${nameOf(st.urn)}`),
                [],
            );
            assert.ok(c.get("kustomizations.v1.kustomize.toolkit.fluxcd.io", FLUX_ROOT_NAME, FLUX_NAMESPACE), "the Kustomization is gone");
            inputs = keep;
        });

        /** Flux's objects that must outlive any change of the stack: its Namespace, CRDs and sync objects. */
        const assertFluxSurvives = (c: ControlPlane) => {
            for (const [kind, name, n] of [
                ["namespace", FLUX_NAMESPACE, undefined],
                ["customresourcedefinition", "kustomizations.kustomize.toolkit.fluxcd.io", undefined],
                ["customresourcedefinition", "gitrepositories.source.toolkit.fluxcd.io", undefined],
                ["gitrepositories.v1.source.toolkit.fluxcd.io", FLUX_ROOT_NAME, FLUX_NAMESPACE],
                ["kustomizations.v1.kustomize.toolkit.fluxcd.io", FLUX_ROOT_NAME, FLUX_NAMESPACE],
            ] as const) {
                const o = c.get(kind, name, n);
                assert.ok(o, `${kind} ${name} was deleted`);
                assert.strictEqual((o.metadata as { deletionTimestamp?: string }).deletionTimestamp, undefined, `${kind} ${name} is being deleted`);
            }
        };

        it("with a serverGeneration bump the namespace change goes through; the old Namespace and its Cluster stay", async function () {
            const c = cp as ControlPlane;
            const ns = inputs.config.workloadNamespace;
            gitops = { ...gitops, workloadNamespace: `${ns}-moved` };
            inputs = { ...inputs, config: stackConfig(stackName, gitops, { serverGeneration: "2" }) };
            const up = await stack.up();
            console.log(`      engine steps: ${changes(up).join("; ")}`);
            assert.ok(c.get("namespace", `${ns}-moved`), "the new workload Namespace was not created");
            assertSurvives(c, ns, "workload-a");
            assertFluxSurvives(c);
        });

        it("with a further serverGeneration bump gitops can be removed; Flux, its CRDs and the Clusters stay", async function () {
            const c = cp as ControlPlane;
            const ns = inputs.config.workloadNamespace;
            createWorkloadCluster(c, ns, "workload-b");
            inputs = { ...inputs, config: stackConfig(stackName, undefined, { serverGeneration: "3" }) };
            const up = await stack.up();
            console.log(`      engine steps: ${changes(up).join("; ")}`);
            assertFluxSurvives(c);
            assertSurvives(c, ns, "workload-b");
            assertSurvives(c, inputs.config.workloadNamespace, "workload-a");
        });

        it("no secret in clear in the state file, the CLI's output, or the engine's events above debug level", function () {
            const h = home as EngineHome;
            const check = (what: string, text: string) => {
                for (const s of secrets) {
                    assert.ok(s.value.length >= 20, `test secret ${s.what} too short to search for`);
                    assert.ok(!text.includes(s.value), `${s.what} in clear in ${what}`);
                }
            };
            const state = fs.readFileSync(h.stateFile(`engine-${stackName}`), "utf8");
            check("the state file", state);
            // The secrets are in the state, encrypted: it holds ciphertexts.
            assert.match(state, /"ciphertext"/);
            check("the CLI's output", fs.readFileSync(h.outputLog, "utf8"));

            // Engine events: none may carry a secret, except the Node.js SDK's own debug
            // diagnostics ("RegisterResource RPC finished: ... resp: ..."), which print the
            // engine's answer with secret values unwrapped. That is upstream's (@pulumi/pulumi
            // 3.270); the CLI shows debug messages only with -v/--debug, but an --event-log
            // file records them. Anything else carrying a secret fails here.
            const leaks = new Map<string, number>();
            for (const line of fs
                .readFileSync(h.eventLog, "utf8")
                .split("\n")
                .filter((l) => l !== "")) {
                const e = JSON.parse(line) as { diagnosticEvent?: { severity: string; message: string } };
                const debug = e.diagnosticEvent?.severity === "debug" ? e.diagnosticEvent.message : undefined;
                if (debug !== undefined && /^(RegisterResource|Invoke|Call|ReadResource|getResource Invoke) RPC finished/.test(debug)) {
                    for (const sec of secrets.filter((x) => debug.includes(x.value))) {
                        leaks.set(sec.what, (leaks.get(sec.what) ?? 0) + 1);
                    }
                    continue;
                }
                check("an engine event", line);
            }
            if (leaks.size > 0) {
                console.log(`      upstream SDK debug diagnostics carry secrets in clear: ${[...leaks].map(([w, n]) => `${w} (${n}x)`).join(", ")}`);
            }
        });

        it("destroy with the API server stopped completes and leaves an empty state", async function () {
            ready?.stop();
            await (cp as ControlPlane).stop();
            cpStopped = true;
            const destroy = await stack.destroy();
            // Read-only resources (the StackReference) are discarded, everything else deleted.
            assert.ok(
                destroy.steps.every((s) => s.op === "delete" || (s.op === "discard" && s.type === "pulumi:pulumi:StackReference")),
                changes(destroy).join("; "),
            );
            assert.ok(
                destroy.steps.some((s) => s.type === "kubernetes:core/v1:Secret" && nameOf(s.urn) === "capo-credentials"),
                "no delete step for the credentials",
            );
            const left = (await stack.resources()).filter((r) => r.type !== "pulumi:pulumi:Stack");
            assert.deepStrictEqual(
                left.map((r) => r.urn),
                [],
            );
            assert.ok(
                destroy.steps.some((s) => s.type === CLUSTER_STAND_IN_TYPE),
                "the management cluster stand-in was not deleted",
            );
        });
    });
}
