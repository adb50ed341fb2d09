/**
 * Flux's postBuild substitution of the GitOps tree, by Flux's own code (the test bed's
 * `flux-envsubst`: github.com/fluxcd/pkg/kustomize, strict mode, the version kustomize-controller
 * uses; render/fluxEnvsubst.ts). The project holds no substitution of its own: the unit suite
 * reads the tree as written and scans the `${NAME}`s by name only (render/gitopsTree.ts
 * `variableUses`); here Flux substitutes both environments with the program's settings, and a
 * table of the forms a tree may hold shows what Flux makes of each, and that the unit suite's
 * name scan refuses exactly what Flux's strict mode refuses.
 */
import * as assert from "assert";
import * as path from "path";
import { stringify } from "yaml";
import { fluxSettingsData } from "../../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../../src/shared/contract";
import { fluxSubstituter } from "../../render/fluxEnvsubst";
import { Environment, missingVariables, readEnvironment, TreeDocument, TreeObject, variableUses } from "../../render/gitopsTree";
import { Testbed } from "./harness/testbed";

const TREE = path.resolve(__dirname, "../../gitops");

/** Every object an environment applies, the root's and its Kustomizations'. */
const objectsOf = (env: Environment): TreeObject[] => [...env.root, ...env.units.flatMap((u) => u.documents)].map((d) => d.object);

describe("Flux's postBuild substitution of the tree (Flux's own code)", () => {
    let flux: ReturnType<typeof fluxSubstituter>;
    before(function () {
        const testbed = Testbed.load();
        const missing = testbed.missing(["flux-envsubst"]);
        if (missing) {
            console.log(`      SKIPPED: ${missing}`);
            this.skip();
        }
        flux = fluxSubstituter(testbed.path("flux-envsubst"));
    });

    for (const stack of ["dev", "prod"]) {
        it(`gives the ${stack} environment the workload namespace and the management address, and the same objects as the tree writes`, () => {
            const settings = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });
            const theirs = readEnvironment(TREE, `./clusters/${stack}`, settings, flux);
            const asWritten = readEnvironment(TREE, `./clusters/${stack}`, settings);
            assert.strictEqual(theirs.substituted, true);
            const ids = (env: Environment) => objectsOf(env).map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`);
            assert.deepStrictEqual(ids(theirs), ids(asWritten));
            for (const u of theirs.units) {
                assert.strictEqual(u.kustomization.object.spec.targetNamespace, DEFAULT_WORKLOAD_NAMESPACE, u.kustomization.object.metadata.name);
                for (const d of u.documents) {
                    assert.strictEqual(d.object.metadata.namespace, DEFAULT_WORKLOAD_NAMESPACE, `${d.file}: ${d.object.kind} ${d.object.metadata.name}`);
                }
                if (u.kustomization.object.spec.postBuild !== undefined) {
                    // Nothing of the program's settings is left to substitute.
                    assert.deepStrictEqual(variableUses(stringify(u.documents.map((d) => d.object))), [], u.kustomization.object.metadata.name);
                }
            }
            const clusters = objectsOf(theirs).filter((o) => o.kind === "Cluster");
            assert.ok(clusters.length > 0);
            for (const c of clusters) {
                const allowed = (c.spec.topology.variables as { name: string; value: unknown }[]).find((v) => v.name === "apiAllowedCidrs")?.value as string[];
                assert.ok(allowed.includes("192.0.2.10/32"), `Cluster ${c.metadata.name}: ${allowed}`);
            }
        });
    }

    // Moved from the unit suite (gitopsTree.spec.ts), which no longer substitutes.
    it("follows the workload namespace the program is configured with", () => {
        const env = readEnvironment(TREE, "./clusters/dev", fluxSettingsData({ workloadNamespace: "team-a", managementAddress: "192.0.2.10" }), flux);
        for (const o of env.units.flatMap((u) => u.documents.map((d) => d.object))) {
            assert.strictEqual(o.metadata.namespace, "team-a", `${o.kind} ${o.metadata.name}`);
        }
    });

    /** [what, a ConfigMap's data, the variables, what Flux gives (undefined: it refuses)]. */
    const cases: [string, Record<string, string>, Record<string, string>, Record<string, unknown> | undefined][] = [
        // A value that reads as a number in YAML becomes one.
        ["a variable", { a: "${A}", b: "x-${A}-y" }, { A: "1" }, { a: 1, b: "x-1-y" }],
        ["a default for a variable with no value", { a: "${B:=dflt}" }, { A: "1" }, { a: "dflt" }],
        ["a default for a variable with a value", { a: "${A:=dflt}" }, { A: "x" }, { a: "x" }],
        ["the :- default", { a: "${B:-dflt}" }, { A: "1" }, { a: "dflt" }],
        ["the = default", { a: "${B=dflt}" }, { A: "1" }, { a: "dflt" }],
        ["a bare - (refused: Flux cannot parse it)", { a: "${B-dflt}" }, { A: "1" }, undefined],
        // With no variable at all, Flux substitutes nothing (kustomize-controller skips the step).
        ["no variables", { a: "${B:-dflt}", b: "${NOT_SET}" }, {}, { a: "${B:-dflt}", b: "${NOT_SET}" }],
        ["the escape", { a: "$${A}", b: "$${NOT_SET}" }, { A: "1" }, { a: "${A}", b: "${NOT_SET}" }],
        ["a bare $NAME (left alone)", { a: "$A and $" }, { A: "1" }, { a: "$A and $" }],
        ["a variable with no value (strict: refused)", { a: "${NOT_SET}" }, { A: "1" }, undefined],
        ["an address with a prefix", { a: "${ADDR}/32" }, { ADDR: "192.0.2.10" }, { a: "192.0.2.10/32" }],
    ];
    for (const [what, data, vars, expected] of cases) {
        it(`substitutes ${what}, and the unit suite's name scan agrees on refusing`, () => {
            const doc: TreeDocument = { file: "t.yaml", object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data } };
            let got: unknown;
            let refused: string | undefined;
            try {
                got = flux([doc], vars)[0].object.data;
            } catch (e) {
                refused = (e as Error).message;
            }
            assert.deepStrictEqual(
                refused === undefined ? got : undefined,
                expected,
                refused ? `Flux refuses: ${refused}` : `Flux gives ${JSON.stringify(got)}`,
            );
            if (refused !== undefined) {
                assert.match(refused, /^t\.yaml: Flux's substitution failed: /);
            }
            const missing = missingVariables(stringify(data), Object.keys(vars));
            assert.strictEqual(missing.length > 0, expected === undefined, `the name scan finds ${JSON.stringify(missing)} missing`);
        });
    }
});
