/**
 * kustomize-controller's feature gate and the controllers' proxy under the real Pulumi engine (the
 * CLI and Kubernetes provider testbed/pulumi/build.sh built): the `flux-install` ConfigFile with
 * the program's transforms (src/cluster/clusterObjects.ts `fluxInstallTransform` and
 * `fluxProxyTransform`), its objects rendered by the provider's `renderYamlToDirectory` (no API
 * server, no test-bed process: the provider writes each object it would apply to a file, and
 * deletes the file when it would delete the object).
 *
 * What it shows: the engine hands a packaged (remote) component's children to the program's
 * transforms; a stack installed without the gate gets it as an in-place `update` of the one
 * Deployment (no replacement, nothing else touched); the next preview has no changes. Adding
 * the proxy (its values Outputs, as src/capiManagement.ts passes them) puts the variables,
 * upper and lower case, on every container of every controller Deployment as an in-place update
 * of those Deployments only (the gate stays); removing it is the same update back to the
 * released environment. The transforms keep `retainOnDelete`, so `destroy` leaves the Deployment.
 *
 * The manifest stands for Flux's install.yaml: a Namespace and the four controller Deployments
 * of the default install, shaped like the release's (the test bed serves no Flux release; the
 * engine tests fetch a stand-in too).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { fluxInstallTransform, fluxProxyTransform } from "../../src/cluster/clusterObjects";
import { EnvVar, ProxyEnv, proxyEnvVars, proxyVarNames } from "../../src/host/proxy";
import { FLUX_CONTROLLER_ARGS, fluxControllerDeployment as controller } from "../fixtures";
import { EngineBed, EngineHome, EngineStack, nameOf, Operation } from "./engineBed";

const FLUX_ARGS = FLUX_CONTROLLER_ARGS;
const GATE = "--feature-gates=CancelHealthCheckOnNewRevision=true";
/** The controllers of Flux's default install (install.yaml), each a Deployment. */
const CONTROLLERS = ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"];
/** The environment every controller has as released. */
const RELEASED_ENV = [{ name: "RUNTIME_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }];
const PROXY: ProxyEnv = {
    http: "http://proxy.example:3128",
    https: "http://proxy.example:3129",
    noProxy: "localhost,127.0.0.1,.svc,.cluster.local,10.96.0.0/16",
};

/**
 * The proxy variables as src/capiManagement.ts hands them to FluxSync: the names from
 * the config, each value an Output of the effective proxy.
 */
function proxyVars(env: ProxyEnv): EnvVar<pulumi.Input<string>>[] {
    const resolved = pulumi.output(env);
    return proxyVarNames({ http: env.http, https: env.https, noProxy: [] }).map((name) => ({
        name,
        value: resolved.apply((e) => Object.fromEntries(proxyEnvVars(e))[name] ?? ""),
    }));
}

function engineUnavailable(): string | undefined {
    const bed = EngineBed.load();
    return typeof bed === "string" ? bed : bed.missing(["pulumi", "pulumi-resource-kubernetes"]);
}

/** Every rendered object below `dir`, by `kind/name`. */
function rendered(dir: string): Map<string, Record<string, unknown>> {
    const found = new Map<string, Record<string, unknown>>();
    const walk = (d: string) => {
        for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) {
                walk(p);
            } else if (p.endsWith(".yaml")) {
                const o = parseYaml(fs.readFileSync(p, "utf8")) as { kind: string; metadata: { name: string } };
                found.set(`${o.kind}/${o.metadata.name}`, o as unknown as Record<string, unknown>);
            }
        }
    };
    walk(dir);
    return found;
}

function argsOf(o: Record<string, unknown> | undefined): unknown {
    assert.ok(o, "not rendered");
    return (o.spec as { template: { spec: { containers: { args: unknown }[] } } }).template.spec.containers[0].args;
}

/** What an operation changed: `[op, type, name]` of each step other than `same`, sorted. */
function changedSteps(op: Operation): string[][] {
    return op.steps
        .filter((s) => s.op !== "same")
        .map((s) => [s.op, s.type, nameOf(s.urn)])
        .sort();
}

/** `changedSteps` of an operation that updates each controller Deployment in place and nothing else. */
const CONTROLLER_UPDATES = CONTROLLERS.map((c) => ["update", "kubernetes:apps/v1:Deployment", `flux-install:flux-system/${c}`]).sort();

/** The `env` of every container of a rendered Deployment. */
function envsOf(o: Record<string, unknown> | undefined): unknown[] {
    assert.ok(o, "not rendered");
    const containers = (o.spec as { template: { spec: { containers: { env?: unknown }[] } } }).template.spec.containers;
    assert.ok(containers.length > 0);
    return containers.map((c) => c.env);
}

describe("Flux's kustomize-controller feature gate under the real Pulumi engine (rendered, no cluster)", function () {
    this.timeout(600_000);
    let home: EngineHome | undefined;
    let stack: EngineStack;
    let renderDir: string;
    let gated = false;
    let proxy: ProxyEnv | undefined;

    before(function () {
        const why = engineUnavailable();
        if (why) {
            console.log(`      skipped: ${why}`);
            this.skip();
        }
    });

    before(async function () {
        home = EngineHome.create(EngineBed.load() as EngineBed);
        renderDir = path.join(home.dir, "rendered");
        const manifest = path.join(home.dir, "install.yaml");
        fs.writeFileSync(
            manifest,
            [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "flux-system" } }, ...CONTROLLERS.map((c) => controller(c))]
                .map((o) => toYaml(o))
                .join("---\n"),
        );
        stack = await home.stack("fluxgate", async () => {
            const provider = new k8s.Provider("render", { renderYamlToDirectory: renderDir });
            // The program's options for flux-install (src/gitops/fluxSync.ts): the gate's transform once
            // `gated`, the proxy's while `proxy` is set.
            const proxyTransform = fluxProxyTransform(proxy ? proxyVars(proxy) : undefined);
            new k8s.yaml.v2.ConfigFile(
                "flux-install",
                { file: manifest },
                {
                    provider,
                    retainOnDelete: true,
                    transforms: [...(gated ? [fluxInstallTransform("v2.9.4")] : []), ...(proxyTransform ? [proxyTransform] : [])],
                },
            );
        });
    });

    after(() => home?.dispose());

    it("a stack installed without the gate: kustomize-controller as released", async () => {
        await stack.up();
        const objs = rendered(renderDir);
        assert.deepStrictEqual(argsOf(objs.get("Deployment/kustomize-controller")), FLUX_ARGS);
        for (const c of CONTROLLERS) {
            assert.deepStrictEqual(envsOf(objs.get(`Deployment/${c}`)), [RELEASED_ENV], c);
        }
    });

    it("the program with the transform: one in-place update of kustomize-controller's Deployment, nothing else changes", async () => {
        gated = true;
        const up = await stack.up();
        const changed = up.steps.filter((s) => s.op !== "same");
        assert.deepStrictEqual(
            changed.map((s) => [s.op, s.type, nameOf(s.urn)]),
            [["update", "kubernetes:apps/v1:Deployment", "flux-install:flux-system/kustomize-controller"]],
            up.output,
        );
        const objs = rendered(renderDir);
        assert.deepStrictEqual(argsOf(objs.get("Deployment/kustomize-controller")), [...FLUX_ARGS, GATE]);
        assert.deepStrictEqual(argsOf(objs.get("Deployment/source-controller")), FLUX_ARGS);
    });

    it("the next preview has no changes, and the Deployment is still retained on delete", async () => {
        const preview = await stack.preview();
        const changes = Object.entries(preview.result.changeSummary).filter(([op]) => op !== "same");
        assert.deepStrictEqual(changes, [], preview.output);
        const deployment = (await stack.resources()).find((r) => r.urn.endsWith("flux-install:flux-system/kustomize-controller"));
        assert.ok(deployment);
        assert.strictEqual(deployment.retainOnDelete, true);
    });

    it("adding the proxy: an in-place update of each controller Deployment only, the variables on every container", async () => {
        proxy = PROXY;
        const up = await stack.up();
        assert.deepStrictEqual(changedSteps(up), CONTROLLER_UPDATES, up.output);
        const objs = rendered(renderDir);
        const expected = [...RELEASED_ENV, ...proxyEnvVars(PROXY).map(([name, value]) => ({ name, value }))];
        assert.strictEqual(expected.length, 7);
        for (const c of CONTROLLERS) {
            assert.deepStrictEqual(envsOf(objs.get(`Deployment/${c}`)), [expected], c);
        }
        assert.deepStrictEqual(argsOf(objs.get("Deployment/kustomize-controller")), [...FLUX_ARGS, GATE]);
        assert.ok(objs.has("Namespace/flux-system"));
    });

    it("with the proxy, the next preview has no changes", async () => {
        const preview = await stack.preview();
        const changes = Object.entries(preview.result.changeSummary).filter(([op]) => op !== "same");
        assert.deepStrictEqual(changes, [], preview.output);
    });

    it("removing the proxy: the same in-place updates, back to the released environment", async () => {
        proxy = undefined;
        const up = await stack.up();
        assert.deepStrictEqual(changedSteps(up), CONTROLLER_UPDATES, up.output);
        const objs = rendered(renderDir);
        for (const c of CONTROLLERS) {
            assert.deepStrictEqual(envsOf(objs.get(`Deployment/${c}`)), [RELEASED_ENV], c);
        }
        assert.deepStrictEqual(argsOf(objs.get("Deployment/kustomize-controller")), [...FLUX_ARGS, GATE]);
    });

    it("destroy leaves the gated Deployment (retainOnDelete survives the transform)", async () => {
        await stack.destroy();
        assert.deepStrictEqual(await stack.resources(), []);
        assert.deepStrictEqual(argsOf(rendered(renderDir).get("Deployment/kustomize-controller")), [...FLUX_ARGS, GATE]);
    });
});
