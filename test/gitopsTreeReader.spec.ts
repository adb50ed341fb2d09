/**
 * render/gitopsTree.ts, the reader of the GitOps tree: `kubectl kustomize` as kustomize-controller
 * builds, the `${NAME}` scan that stands in for Flux's strict substitution (Flux's own substitution:
 * fluxEnvsubst.integration.ts), and the class's variable checks. Shared helpers:
 * gitopsTreeHelpers.ts.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { classOf, clusterVariables, schemaProblems } from "../render/classVariables";
import { kustomizeBuild, readEnvironment, TreeError, variableUses } from "../render/gitopsTree";
import { objectsOf as objects, ofKind } from "../render/gitopsRules";
import { environment } from "./gitopsTreeHelpers";

describe("GitOps tree (gitops/)", () => {
    describe("reader", () => {
        let dir: string;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-tree-"));
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
        const write = (rel: string, text: string) => {
            fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
            fs.writeFileSync(path.join(dir, rel), text);
        };
        const cm = (name: string, extra = "") => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: "1"\n${extra}`;

        it("builds with kubectl kustomize: resources in order, JSON patches with test, targetNamespace", () => {
            write("base/kustomization.yaml", "resources: [one.yaml, two.yaml]\n");
            write("base/one.yaml", cm("one"));
            write("base/two.yaml", cm("two"));
            write(
                "overlay/kustomization.yaml",
                'resources: [../base]\npatches:\n  - target: {kind: ConfigMap, name: two}\n    patch: |-\n      - op: test\n        path: /data/a\n        value: "1"\n      - op: replace\n        path: /data/a\n        value: "2"\n',
            );
            assert.deepStrictEqual(
                kustomizeBuild(dir, "overlay").map((d) => [d.object.metadata.name, d.object.data.a, d.object.metadata.namespace]),
                [
                    ["one", "1", undefined],
                    ["two", "2", undefined],
                ],
            );
            write("ns/kustomization.yaml", "resources: [cm.yaml, namespace.yaml]\n");
            write("ns/cm.yaml", cm("x", "---\n" + cm("y").replace("name: y", "name: y\n  namespace: elsewhere")));
            write("ns/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: keep\n");
            assert.deepStrictEqual(
                kustomizeBuild(dir, "ns", "team-a").map((d) => `${d.object.kind}/${d.object.metadata.name} ${d.object.metadata.namespace}`),
                // kustomize's namespace transformer (and so Flux's targetNamespace) renames a Namespace.
                ["Namespace/team-a undefined", "ConfigMap/x team-a", "ConfigMap/y team-a"],
            );
        });

        it("refuses what it cannot build faithfully, naming the directory", () => {
            write("plain/x.yaml", cm("x"));
            assert.throws(() => kustomizeBuild(dir, "plain"), /plain: no kustomization.yaml/);
            write("m/kustomization.yaml", "resources: [missing.yaml]\n");
            assert.throws(
                () => kustomizeBuild(dir, "m"),
                (e: Error) => e instanceof TreeError && /^m: kubectl kustomize failed: .*missing.yaml/s.test(e.message),
            );
            write(
                "t/kustomization.yaml",
                'resources: [a.yaml]\npatches:\n  - target: {kind: ConfigMap, name: a}\n    patch: |-\n      - {op: test, path: /data/a, value: "9"}\n',
            );
            write("t/a.yaml", cm("a"));
            assert.throws(() => kustomizeBuild(dir, "t"), /^TreeError: t: kubectl kustomize failed: .*test/s);
            assert.throws(() => kustomizeBuild(dir, "nowhere"), /nowhere: no such directory/);
        });

        it("scans ${NAME}s by name: refuses one no setting provides and without a default, naming the file; leaves escapes and defaults alone", () => {
            assert.deepStrictEqual(variableUses("a: ${A}\nb: ${B:=x} ${C:-y} ${D=z} ${E-w}\nc: $${F} $G ${1X}"), [
                { name: "A", hasDefault: false },
                { name: "B", hasDefault: true },
                { name: "C", hasDefault: true },
                { name: "D", hasDefault: true },
                { name: "E", hasDefault: false },
            ]);
            write("clusters/t/kustomization.yaml", "resources: [k.yaml]\n");
            write(
                "clusters/t/k.yaml",
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: k\n  namespace: ${NS}\nspec:\n  path: ./apps\n  postBuild:\n    substitute: {LOCAL: x}\n    substituteFrom: [{kind: ConfigMap, name: capi-mgmt-settings}]\n",
            );
            write("apps/kustomization.yaml", "resources: [cm.yaml]\n");
            write("apps/cm.yaml", cm("c", "  b: ${LOCAL} ${NS} ${OPT:=d} $${ESCAPED}\n"));
            const env = readEnvironment(dir, "clusters/t", { NS: "team-a" });
            assert.strictEqual(env.substituted, false);
            // As written: nothing is replaced.
            assert.strictEqual(env.root[0].object.metadata.namespace, "${NS}");
            assert.strictEqual(env.units[0].documents[0].object.data.b, "${LOCAL} ${NS} ${OPT:=d} $${ESCAPED}");
            assert.throws(
                () => readEnvironment(dir, "clusters/t", { OTHER: "x" }),
                (e: Error) => e instanceof TreeError && /^clusters\/t: \$\{NS\} has no value/.test(e.message),
            );
            write("apps/cm.yaml", cm("c", "  b: ${LOCAL} ${MISSING}\n"));
            assert.throws(() => readEnvironment(dir, "clusters/t", { NS: "team-a" }), /^TreeError: apps: \$\{MISSING\} has no value/);
        });

        it("checks variable values against their schemas, refusing unknown fields", () => {
            const schema = { type: "object" as const, properties: { id: { type: "string" as const, minLength: 1 } }, minProperties: 1 };
            assert.deepStrictEqual(schemaProblems({ id: "abc" }, schema, "v"), []);
            assert.deepStrictEqual(schemaProblems({}, schema, "v"), ["v: must NOT have fewer than 1 properties"]);
            assert.deepStrictEqual(schemaProblems({ name: "x" }, schema, "v"), ["v: unknown field name"]);
            assert.deepStrictEqual(schemaProblems({ name: "x" }, { ...schema, "x-kubernetes-preserve-unknown-fields": true }, "v"), []);
            assert.deepStrictEqual(schemaProblems(["10.0.0.0/8", "x"], { type: "array", items: { type: "string", pattern: "/" } }, "v"), [
                'v.1: must match pattern "/"',
            ]);
            assert.deepStrictEqual(schemaProblems(1500.5, { type: "integer" }, "v"), ["v: must be integer"]);
        });

        it("refuses a Cluster whose variables the class does not accept", () => {
            const env = environment("dev");
            const cluster = structuredClone(ofKind(env, "Cluster")[0]);
            cluster.spec.topology.variables = cluster.spec.topology.variables
                .filter((v: { name: string }) => v.name !== "workerFlavor")
                .concat([
                    { name: "mtu", value: 100 },
                    { name: "flavour", value: "x" },
                ]);
            const problems: string[] = [];
            clusterVariables(cluster, classOf(cluster, objects(env)), problems);
            assert.match(problems.join("\n"), /variable flavour is not declared/);
            assert.match(problems.join("\n"), /required variable workerFlavor is not set/);
            assert.match(problems.join("\n"), /variable mtu: must be >= 1280/);
            cluster.spec.topology.classRef.name = "nope";
            assert.throws(() => classOf(cluster, objects(env)), /ClusterClass \$\{WORKLOAD_NAMESPACE\}\/nope is not in the environment/);
        });
    });
});
