/**
 * The unit suite reads the GitOps tree with render/gitopsTree.ts's `substitute` (it needs no Go);
 * render uses Flux's own postBuild substitution when the test bed has built it
 * (render/fluxEnvsubst.ts). Here Flux's code (github.com/fluxcd/pkg/kustomize, strict mode, the
 * version kustomize-controller uses) judges ours: on both environments of the tree, and on a
 * table of the forms a tree may hold.
 */
import * as assert from "assert";
import * as path from "path";
import { fluxSettingsData } from "../../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../../src/shared/contract";
import { fluxSubstituter } from "../../render/fluxEnvsubst";
import { ownSubstitution, readEnvironment, TreeDocument } from "../../render/gitopsTree";
import { Testbed } from "./harness/testbed";

const TREE = path.resolve(__dirname, "../../gitops");

describe("Flux's postBuild substitution against render's own", () => {
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
        it(`gives the same ${stack} environment, namespace and management address substituted`, () => {
            const settings = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });
            const ours = readEnvironment(TREE, `./clusters/${stack}`, settings, ownSubstitution);
            const theirs = readEnvironment(TREE, `./clusters/${stack}`, settings, flux);
            assert.deepStrictEqual(theirs, ours);
            assert.match(JSON.stringify(theirs), /192\.0\.2\.10\/32/);
        });
    }

    /** [what, a ConfigMap's data, the variables]: both agree on the result, or both refuse. */
    const cases: [string, Record<string, string>, Record<string, string>][] = [
        ["a variable", { a: "${A}", b: "x-${A}-y" }, { A: "1" }],
        ["a default for a variable with no value", { a: "${B:=dflt}" }, { A: "1" }],
        ["a default for a variable with a value", { a: "${A:=dflt}" }, { A: "1" }],
        ["the escape", { a: "$${A}", b: "$${NOT_SET}" }, { A: "1" }],
        ["a bare $NAME (left alone by both)", { a: "$A and $" }, { A: "1" }],
        ["a variable with no value (strict: refused)", { a: "${NOT_SET}" }, { A: "1" }],
        ["an address with a prefix", { a: "${ADDR}/32" }, { ADDR: "192.0.2.10" }],
    ];
    for (const [what, data, vars] of cases) {
        it(`agrees on ${what}`, () => {
            const doc: TreeDocument = { file: "t.yaml", object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data } };
            const run = (f: typeof flux) => {
                try {
                    return { ok: f([doc], vars)[0].object.data as unknown };
                } catch (e) {
                    return { refused: (e as Error).message };
                }
            };
            const ours = run(ownSubstitution);
            const theirs = run(flux);
            assert.strictEqual(
                "refused" in ours,
                "refused" in theirs,
                `Flux ${"refused" in theirs ? `refuses (${theirs.refused})` : `gives ${JSON.stringify(theirs.ok)}`}, ours ${"refused" in ours ? `refuses (${ours.refused})` : `gives ${JSON.stringify(ours.ok)}`}`,
            );
            assert.deepStrictEqual(ours.ok, theirs.ok);
        });
    }
});
