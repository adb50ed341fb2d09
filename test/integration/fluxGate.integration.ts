/**
 * kustomize-controller's feature gate under the real Pulumi engine (the CLI and Kubernetes provider
 * testbed/pulumi/build.sh built): the `flux-install` ConfigFile with the program's transform
 * (lib/clusterObjects.ts `fluxInstallTransform`), its objects rendered by the provider's
 * `renderYamlToDirectory` (no API server, no test-bed process: the provider writes each object it
 * would apply to a file, and deletes the file when it would delete the object).
 *
 * What it shows: the engine hands a packaged (remote) component's children to the program's
 * transform; a stack installed without the gate gets it as an in-place `update` of the one
 * Deployment (no replacement, nothing else touched); the next preview has no changes; the
 * transform keeps `retainOnDelete`, so `destroy` leaves the Deployment.
 *
 * The manifest stands for Flux's install.yaml: a Namespace and two controller Deployments shaped
 * like the release's (the test bed serves no Flux release; the engine tests fetch a stand-in too).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { fluxInstallTransform } from "../../lib/clusterObjects";
import { FLUX_CONTROLLER_ARGS, fluxControllerDeployment as controller } from "../fixtures";
import { EngineBed, EngineHome, EngineStack, nameOf } from "./engineBed";

const FLUX_ARGS = FLUX_CONTROLLER_ARGS;
const GATE = "--feature-gates=CancelHealthCheckOnNewRevision=true";

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

describe("Flux's kustomize-controller feature gate under the real Pulumi engine (rendered, no cluster)", function () {
    this.timeout(600_000);
    let home: EngineHome | undefined;
    let stack: EngineStack;
    let renderDir: string;
    let gated = false;

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
            [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "flux-system" } }, controller("source-controller"), controller("kustomize-controller")]
                .map((o) => toYaml(o))
                .join("---\n"),
        );
        stack = await home.stack("fluxgate", async () => {
            const provider = new k8s.Provider("render", { renderYamlToDirectory: renderDir });
            // The program's options for flux-install (components/fluxSync.ts), the transform only once `gated`.
            new k8s.yaml.v2.ConfigFile(
                "flux-install",
                { file: manifest },
                { provider, retainOnDelete: true, transforms: gated ? [fluxInstallTransform("v2.9.4")] : [] },
            );
        });
    });

    after(() => home?.dispose());

    it("a stack installed without the gate: kustomize-controller as released", async () => {
        await stack.up();
        const objs = rendered(renderDir);
        assert.deepStrictEqual(argsOf(objs.get("Deployment/kustomize-controller")), FLUX_ARGS);
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

    it("destroy leaves the gated Deployment (retainOnDelete survives the transform)", async () => {
        await stack.destroy();
        assert.deepStrictEqual(await stack.resources(), []);
        assert.deepStrictEqual(argsOf(rendered(renderDir).get("Deployment/kustomize-controller")), [...FLUX_ARGS, GATE]);
    });
});
