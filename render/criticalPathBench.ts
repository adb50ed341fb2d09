/**
 * `npm run bench`'s critical-path report: evaluates each stack under the mock engine (a first
 * `up`) and prints the longest chain of slow steps with their typical durations.
 */
import * as path from "path";
import { loadStackConfig } from "../src/config/loadConfig";
import { program } from "../program";
import { criticalPath, criticalPathReport } from "./criticalPath";
import { evaluate } from "./engine";
import { readStackConfigFile } from "./render";
import { plannedReleases } from "../src/versions/releaseCache";

/** Prints the critical path of each stack; a failing stack is named, not fatal. */
export async function reportCriticalPaths(stacks: string[], projectDir = path.resolve(__dirname, "..")): Promise<void> {
    for (const stack of stacks) {
        try {
            const file = readStackConfigFile(projectDir, stack);
            const { resources } = await evaluate({ stack, config: file.config, secretKeys: file.secretKeys }, () =>
                program(loadStackConfig(), plannedReleases()),
            );
            console.log(criticalPathReport(stack, criticalPath(resources)));
        } catch (e) {
            console.log(`critical path of ${stack}: cannot evaluate the stack: ${(e as Error).message}`);
        }
    }
}
