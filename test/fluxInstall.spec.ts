import "mocha";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import {
    fluxInstallObject,
    fluxInstallTransform,
    KUSTOMIZE_CONTROLLER_FEATURE_GATES,
    kustomizeControllerFeatureGates,
    withFeatureGates,
} from "../src/cluster/clusterObjects";
import { loadStackConfig } from "../src/config/loadConfig";
import { program } from "../program";
import { evaluate } from "../render/engine";
import { readStackConfigFile } from "../render/render";
import { FLUX_CONTROLLER_ARGS, fluxControllerDeployment } from "./fixtures";
import { PROJECT_DIR } from "./harness";
import { plannedReleases } from "../src/versions/releaseCache";

const GATE = "--feature-gates=CancelHealthCheckOnNewRevision=true";

const FLUX_ARGS = FLUX_CONTROLLER_ARGS;
const controller = fluxControllerDeployment;

function containerArgs(d: Record<string, unknown> | undefined): unknown {
    assert.ok(d, "the object was left unchanged");
    const spec = d.spec as { template: { spec: { containers: { args?: unknown }[] } } };
    return spec.template.spec.containers[0].args;
}

describe("Flux install: kustomize-controller's feature gates", () => {
    describe("withFeatureGates", () => {
        const gates = { CancelHealthCheckOnNewRevision: true };

        it("appends the flag after the install manifest's arguments, keeping each in its place", () => {
            assert.deepStrictEqual(withFeatureGates(FLUX_ARGS, gates), [...FLUX_ARGS, GATE]);
        });

        it("merges into an existing flag at its place, keeping its other gates", () => {
            assert.deepStrictEqual(withFeatureGates(["--a", "--feature-gates=GroupChangeLog=true,DisableFailFastBehavior=false", "--b"], gates), [
                "--a",
                "--feature-gates=GroupChangeLog=true,DisableFailFastBehavior=false,CancelHealthCheckOnNewRevision=true",
                "--b",
            ]);
        });

        it("turns on a gate the flag turned off, in its place", () => {
            assert.deepStrictEqual(withFeatureGates(["--feature-gates=CancelHealthCheckOnNewRevision=false,GroupChangeLog=true"], gates), [
                "--feature-gates=CancelHealthCheckOnNewRevision=true,GroupChangeLog=true",
            ]);
        });

        it("folds repeated flags and the two-argument form into one, later values winning as in the controller", () => {
            assert.deepStrictEqual(withFeatureGates(["--feature-gates", "A=true,B=true", "--x", "--feature-gates=B=false,C=true"], gates), [
                "--feature-gates=A=true,B=false,C=true,CancelHealthCheckOnNewRevision=true",
                "--x",
            ]);
        });

        it("is idempotent: the result, gated again, is the same", () => {
            const once = withFeatureGates(FLUX_ARGS, gates);
            assert.deepStrictEqual(withFeatureGates(once, gates), once);
        });

        it("changes nothing without gates, and does not touch its input", () => {
            const args = [...FLUX_ARGS];
            assert.deepStrictEqual(withFeatureGates(args, {}), FLUX_ARGS);
            withFeatureGates(args, gates);
            assert.deepStrictEqual(args, FLUX_ARGS);
        });

        it("refuses a flag it cannot read rather than dropping it", () => {
            assert.throws(() => withFeatureGates(["--feature-gates=GroupChangeLog"], gates), /'GroupChangeLog' is not a key=value pair/);
            assert.throws(() => withFeatureGates(["--feature-gates"], gates), /has no value/);
        });
    });

    describe("kustomizeControllerFeatureGates", () => {
        it("turns the gate on from Flux v2.7.0 (kustomize-controller v1.7.0) on, never before", () => {
            assert.deepStrictEqual(kustomizeControllerFeatureGates("v2.9.4"), { CancelHealthCheckOnNewRevision: true });
            assert.deepStrictEqual(kustomizeControllerFeatureGates("v2.7.0"), { CancelHealthCheckOnNewRevision: true });
            assert.deepStrictEqual(kustomizeControllerFeatureGates("v2.6.4"), {});
            assert.deepStrictEqual(kustomizeControllerFeatureGates("v2.7.0-rc.1"), {});
        });
    });

    describe("fluxInstallObject", () => {
        it("gives kustomize-controller's Deployment the gate and leaves the rest of it, and its input, as they were", () => {
            const before = controller("kustomize-controller");
            const copy = JSON.parse(JSON.stringify(before)) as Record<string, unknown>;
            const after = fluxInstallObject(before, "v2.9.4");
            assert.deepStrictEqual(containerArgs(after), [...FLUX_ARGS, GATE]);
            assert.deepStrictEqual(before, copy, "the input object was modified");
            // Everything but the arguments is the input's.
            const stripped = JSON.parse(JSON.stringify(after)) as Record<string, unknown>;
            (stripped.spec as { template: { spec: { containers: { args: unknown }[] } } }).template.spec.containers[0].args = FLUX_ARGS;
            assert.deepStrictEqual(stripped, copy);
        });

        it("starts the arguments when the container has none", () => {
            const d = controller("kustomize-controller");
            delete (d.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0].args;
            assert.deepStrictEqual(containerArgs(fluxInstallObject(d, "v2.9.4")), [GATE]);
        });

        it("leaves the other controllers, other kinds and older Flux releases alone", () => {
            assert.strictEqual(fluxInstallObject(controller("source-controller"), "v2.9.4"), undefined);
            assert.strictEqual(fluxInstallObject(controller("helm-controller"), "v2.9.4"), undefined);
            assert.strictEqual(fluxInstallObject({ ...controller("kustomize-controller"), kind: "Service" }, "v2.9.4"), undefined);
            const elsewhere = controller("kustomize-controller");
            (elsewhere.metadata as { namespace: string }).namespace = "other";
            assert.strictEqual(fluxInstallObject(elsewhere, "v2.9.4"), undefined);
            assert.strictEqual(fluxInstallObject(controller("kustomize-controller"), "v2.6.4"), undefined);
        });

        it("refuses a kustomize-controller it cannot gate instead of installing it without the gate", () => {
            assert.throws(() => fluxInstallObject(controller("kustomize-controller", FLUX_ARGS, "controller"), "v2.9.4"), /no container 'manager'/);
            assert.throws(() => fluxInstallObject(controller("kustomize-controller", "--log-level=info"), "v2.9.4"), /not a list of strings/);
        });
    });

    describe("fluxInstallTransform", () => {
        const opts = { retainOnDelete: true };

        it("changes only Deployments, keeping the options", async () => {
            const t = fluxInstallTransform("v2.9.4");
            const result = await t({
                custom: true,
                type: "kubernetes:apps/v1:Deployment",
                name: "flux-install:flux-system/kustomize-controller",
                props: controller("kustomize-controller"),
                opts,
            });
            assert.ok(result);
            assert.deepStrictEqual(containerArgs(result.props as Record<string, unknown>), [...FLUX_ARGS, GATE]);
            assert.strictEqual(result.opts, opts);
            const other = await t({ custom: true, type: "kubernetes:core/v1:Service", name: "x", props: controller("kustomize-controller"), opts });
            assert.strictEqual(other, undefined);
        });
    });

    describe("the program's flux-install ConfigFile (mock engine: the transforms its options hand the engine)", () => {
        /**
         * Runs the dev stack (with config overrides) and returns the transforms the flux-install
         * ConfigFile declares, as the mock engine receives them with its registration, and a
         * function that hands an object to them in turn the way the engine does (an object a
         * transform leaves alone goes on unchanged) and returns what each gave back.
         */
        async function installTransforms(overrides: Record<string, string> = {}) {
            const file = readStackConfigFile(PROJECT_DIR, "dev");
            const config = { ...file.config, ...overrides };
            const transforms: pulumi.ResourceTransform[] = [];
            const onResource = (args: pulumi.runtime.MockResourceArgs) => {
                if (args.type === "kubernetes:yaml/v2:ConfigFile" && args.name === "flux-install") {
                    transforms.push(...(args.transforms ?? []));
                }
            };
            await evaluate({ stack: "dev", config, secretKeys: file.secretKeys, cloud: { onResource } }, () => program(loadStackConfig(), plannedReleases()));
            return {
                count: transforms.length,
                async apply(type: string, obj: Record<string, unknown>, opts: pulumi.CustomResourceOptions) {
                    const out: { props: Record<string, unknown>; opts: pulumi.ResourceOptions }[] = [];
                    for (const t of transforms) {
                        const name = `flux-install:flux-system/${(obj.metadata as { name: string }).name}`;
                        const r = await t({ custom: true, type, name, props: obj, opts });
                        out.push(r ? { props: r.props as Record<string, unknown>, opts: r.opts } : { props: obj, opts });
                        obj = out[out.length - 1].props;
                    }
                    return out;
                },
            };
        }

        function retainedOptions(): pulumi.CustomResourceOptions {
            return { retainOnDelete: true, ignoreChanges: ["metadata.annotations"], deleteBeforeReplace: true };
        }

        it("registers one transform that turns the gate on in kustomize-controller, keeps the options, and leaves the rest alone", async function () {
            const t = await installTransforms();
            assert.strictEqual(t.count, 1, "the ConfigFile has exactly one transform");

            const [k] = await t.apply("kubernetes:apps/v1:Deployment", controller("kustomize-controller"), retainedOptions());
            assert.deepStrictEqual(containerArgs(k.props), [...FLUX_ARGS, GATE]);
            assert.deepStrictEqual(k.opts, retainedOptions(), "the options (retainOnDelete first of all) survive the transform");

            const [s] = await t.apply("kubernetes:apps/v1:Deployment", controller("source-controller"), retainedOptions());
            assert.deepStrictEqual(containerArgs(s.props), FLUX_ARGS);
            const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: "flux-system" } };
            const [n] = await t.apply("kubernetes:core/v1:Namespace", ns, retainedOptions());
            assert.deepStrictEqual(n.props, ns);
        });

        it("agrees with the test bed: the same gates as KUSTOMIZE_CONTROLLER_FEATURE_GATES", async () => {
            const t = await installTransforms();
            const [k] = await t.apply("kubernetes:apps/v1:Deployment", controller("kustomize-controller"), retainedOptions());
            const flags = (containerArgs(k.props) as string[]).filter((a) => a.startsWith("--feature-gates="));
            assert.deepStrictEqual(flags, withFeatureGates([], KUSTOMIZE_CONTROLLER_FEATURE_GATES));
        });

        it("with a Flux release older than the gate, installs kustomize-controller as released and says why", async () => {
            const warnings: string[] = [];
            const log = pulumi.log as unknown as { warn: (msg: string) => Promise<void> };
            const warn = log.warn;
            log.warn = (msg: string) => {
                warnings.push(msg);
                return Promise.resolve();
            };
            try {
                const t = await installTransforms({
                    "capi-mgmt:versions": JSON.stringify({ flux: { version: "v2.6.4", sha256: "e".repeat(64), manifestSha256: "d".repeat(64) } }),
                });
                const [k] = await t.apply("kubernetes:apps/v1:Deployment", controller("kustomize-controller"), retainedOptions());
                assert.deepStrictEqual(containerArgs(k.props), FLUX_ARGS);
            } finally {
                log.warn = warn;
            }
            assert.ok(
                warnings.some((w) => /Flux v2\.6\.4 predates kustomize-controller's CancelHealthCheckOnNewRevision/.test(w)),
                warnings.join("\n"),
            );
        });
    });
});
