/**
 * Flux's own postBuild substitution for render, when the test bed has built it: the
 * `flux-envsubst` helper (testbed/flux/kustomize-controller/envsubst) runs
 * github.com/fluxcd/pkg/kustomize's SubstituteVariables at the version kustomize-controller
 * uses, in strict mode (StrictPostBuildSubstitutions: a variable with no value is an error).
 * Without it, render shows the objects as the tree writes them (`${NAME}` unsubstituted) and
 * says so: the project holds no substitution of its own.
 */
import { execFileSync } from "child_process";
import { stringify } from "yaml";
import { Testbed } from "../test/integration/harness/testbed";
import { parseObjects, Substituter } from "./gitopsTree";
import { TreeError } from "./treeError";

/** The test bed's helper, or why there is none. */
export function fluxEnvsubstPath(): { path?: string; missing?: string } {
    try {
        const testbed = Testbed.load();
        const missing = testbed.missing(["flux-envsubst"]);
        return missing ? { missing } : { path: testbed.path("flux-envsubst") };
    } catch (e) {
        return { missing: (e as Error).message };
    }
}

/** Flux's code through the test bed's helper; a TreeError naming what is missing when it is not built. */
export function testbedFluxSubstituter(): Substituter {
    const helper = fluxEnvsubstPath();
    if (helper.path === undefined) {
        throw new TreeError(`Flux's postBuild substitution needs the test bed's flux-envsubst (npm run testbed:build): ${helper.missing}`);
    }
    return fluxSubstituter(helper.path);
}

/** A {@link Substituter} running Flux's code through the helper at `helper`. */
export function fluxSubstituter(helper: string): Substituter {
    return (docs, vars) => {
        if (docs.length === 0) return docs;
        const file = docs[0].file;
        const yaml = docs.map((d) => stringify(d.object, { lineWidth: 0 })).join("---\n");
        let out: string;
        try {
            out = execFileSync(helper, {
                input: JSON.stringify({ substitute: vars, yaml, strict: true }),
                encoding: "utf8",
                stdio: ["pipe", "pipe", "pipe"],
                maxBuffer: 256 * 1024 * 1024,
            });
        } catch (e) {
            const err = e as { stderr?: string; message: string };
            throw new TreeError(
                `${file}: Flux's substitution failed: ${String(err.stderr ?? err.message)
                    .trim()
                    .replace(/^flux-envsubst: /, "")}`,
            );
        }
        return parseObjects(out, file);
    };
}
