/**
 * Test harness: evaluates the program under the mock engine with a stack's config file,
 * optionally overridden, and offers look-ups over the recorded resources.
 */
import * as assert from "assert";
import * as path from "path";
import { loadStackConfig } from "../src/config/loadConfig";
import { Program, program, ProgramOutputs } from "../program";
import { evaluate, Evaluation, MockCloudOptions, RecordedResource } from "../render/engine";
import { readStackConfigFile } from "../render/render";
import { withOverrides } from "../render/secrets";
import { plannedReleases } from "../src/versions/releaseCache";

/** The repository root. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** A recorded program run. */
export class Run {
    constructor(readonly evaluation: Evaluation<Program>) {}

    get resources(): RecordedResource[] {
        return this.evaluation.resources;
    }

    get outputs(): ProgramOutputs {
        return this.evaluation.result.outputs;
    }

    /** All resources of a type. */
    all(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The one resource of a type (and name, if given); fails the test otherwise. */
    one(type: string, name?: string): RecordedResource {
        const found = this.all(type).filter((r) => name === undefined || r.name === name);
        assert.strictEqual(found.length, 1, `expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}`);
        return found[0];
    }

    /** The resource with a URN. */
    byUrn(urn: string): RecordedResource {
        const r = this.resources.find((x) => x.urn === urn);
        assert.ok(r, `no resource with URN ${urn}`);
        return r;
    }

    /** True when `r` depends on `on`, directly or through other resources. */
    dependsOn(r: RecordedResource, on: RecordedResource): boolean {
        const seen = new Set<string>();
        const visit = (x: RecordedResource): boolean => {
            for (const d of x.dependsOn) {
                if (d === on.urn) {
                    return true;
                }
                if (!seen.has(d)) {
                    seen.add(d);
                    const next = this.resources.find((y) => y.urn === d);
                    if (next && visit(next)) {
                        return true;
                    }
                }
            }
            return false;
        };
        return visit(r);
    }
}

/**
 * Evaluates the program for `stack` with its Pulumi.<stack>.yaml, config values replaced
 * or removed (undefined) by `overrides` (keys without namespace are `capi-mgmt:` keys).
 */
export async function runStack(stack: string, overrides: Record<string, string | undefined> = {}, cloud?: MockCloudOptions): Promise<Run> {
    const file = readStackConfigFile(PROJECT_DIR, stack);
    const { config, secretKeys } = withOverrides(file, overrides);
    const evaluation = await evaluate({ stack, config, secretKeys, cloud }, () => program(loadStackConfig(), plannedReleases()));
    return new Run(evaluation);
}
