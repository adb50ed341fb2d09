/**
 * The tree's node images (gitops/infrastructure/node-images): the Glance names follow the
 * current SCS scheme (`ubuntu-capi-image-v<version>`), each environment overrides them in
 * exactly one place, and an import that finds nothing fails the `node-images`
 * Kustomization's health check with ORC v2.6.0's condition instead of waiting out its timeout.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { Environment, readEnvironment, TreeObject } from "../render/gitopsTree";
import { celExpression, orcStatus } from "./fluxHealth";
import { PROJECT_DIR } from "./harness";

const TREE = path.join(PROJECT_DIR, "gitops");
const SETTINGS = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });
const STACKS = ["dev", "prod"];
const VERSION_LABEL = "capi-mgmt.io/kubernetes-version";

const envs = new Map<string, Environment>();
function tree(stack: string): Environment {
    if (!envs.has(stack)) envs.set(stack, readEnvironment(TREE, `./clusters/${stack}`, SETTINGS));
    return envs.get(stack)!;
}
const unit = (stack: string, name: string) => tree(stack).units.find((u) => u.kustomization.object.metadata.name === name)!;
const images = (stack: string): TreeObject[] =>
    unit(stack, "node-images")
        .documents.map((d) => d.object)
        .filter((o) => o.kind === "Image");

describe("node images (gitops/infrastructure/node-images)", () => {
    for (const stack of STACKS) {
        it(`imports the current SCS names, ubuntu-capi-image-v<version>, in ${stack}`, () => {
            const imported = images(stack).filter((i) => i.spec.managementPolicy === "unmanaged");
            assert.ok(imported.length > 0);
            for (const image of imported) {
                const version = image.metadata.labels![VERSION_LABEL];
                assert.strictEqual(image.spec.import.filter.name, `ubuntu-capi-image-${version}`, image.metadata.name);
                assert.doesNotMatch(image.spec.import.filter.name, /\s/, "the deprecated SCS name (with a space)");
            }
        });

        it(`sets each imported Glance name exactly once in ${stack}'s overlay, the documented override`, () => {
            const base = parse(fs.readFileSync(path.join(TREE, "infrastructure/node-images/base/kustomization.yaml"), "utf8"));
            const overlay = parse(fs.readFileSync(path.join(TREE, `infrastructure/node-images/${stack}/kustomization.yaml`), "utf8"));
            assert.ok((overlay.resources as string[]).includes("../base"));
            for (const file of base.resources as string[]) {
                const image = parse(fs.readFileSync(path.join(TREE, "infrastructure/node-images/base", file), "utf8"));
                if (image.spec.managementPolicy !== "unmanaged") continue;
                const patches = (overlay.patches ?? []).filter(
                    (p: { target: { kind: string; name: string } }) => p.target.kind === "Image" && p.target.name === image.metadata.name,
                );
                assert.strictEqual(patches.length, 1, `${stack}: ${image.metadata.name} needs exactly one patch`);
                const ops = parse(patches[0].patch);
                assert.deepStrictEqual(
                    ops.map((o: { op: string; path: string }) => [o.op, o.path]),
                    [["replace", "/spec/import/filter/name"]],
                );
            }
        });
    }

    describe("the node-images health check", () => {
        const expressions = () => {
            const k = unit("dev", "node-images").kustomization.object;
            const e = (k.spec.healthCheckExprs as Record<string, string>[]).find((x) => x.kind === "Image")!;
            assert.ok(e.failed, "no failed expression: an import that finds nothing waits out the timeout");
            return { current: celExpression(e.current), failed: celExpression(e.failed) };
        };

        it("fails, naming ORC's condition, when the import finds no Glance image", () => {
            const { current, failed } = expressions();
            const missing = orcStatus({ status: "True", reason: "Progressing", message: "Waiting for OpenStack resource to be created externally" });
            assert.strictEqual(failed(missing), true);
            assert.strictEqual(current(missing), false);
        });

        it("fails on ORC's terminal errors (several images of that name, an image deleted from Glance)", () => {
            const { failed } = expressions();
            assert.strictEqual(
                failed(
                    orcStatus({ status: "False", reason: "InvalidConfiguration", message: "found more than one matching OpenStack resource during import" }),
                ),
                true,
            );
            assert.strictEqual(failed(orcStatus({ status: "False", reason: "UnrecoverableError", message: "resource has been deleted from OpenStack" })), true);
        });

        it("is healthy once imported, and keeps waiting (not failed) before the first status, during an upload and on a transient error", () => {
            const { current, failed } = expressions();
            assert.strictEqual(current(orcStatus("available")), true);
            assert.strictEqual(failed(orcStatus("available")), false);
            assert.strictEqual(failed({}), false);
            assert.strictEqual(failed(orcStatus({ status: "True", reason: "Progressing", message: "Waiting for OpenStack resource to be ready" })), false);
            assert.strictEqual(failed(orcStatus({ status: "True", reason: "TransientError", message: "Service Unavailable" })), false);
        });

        it("reads expressions only of the form it understands", () => {
            assert.throws(() => celExpression("status.?conditions.orValue([]).all(c, c.status == 'True')"), /not the form/);
            assert.throws(() => celExpression("status.?conditions.orValue([]).exists(c, c.status != 'True')"), /unsupported CEL/);
        });
    });

    it("names the symptom and the fix in gitops/README.md's troubleshooting", () => {
        const readme = fs.readFileSync(path.join(TREE, "README.md"), "utf8");
        const section = readme.split(/^## /m).find((s) => s.startsWith("Troubleshooting"));
        assert.ok(section, "no Troubleshooting section");
        assert.match(section, /Waiting for OpenStack resource to be created externally/);
        assert.match(section, /infrastructure\/node-images\/<env>\/kustomization\.yaml/);
    });
});
