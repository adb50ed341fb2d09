/**
 * Prints the replacement map of a stack (render/settingsMap.ts, what `npm run plan` and
 * docs/settings-lifecycle.md show) as JSON: run in its own process, because the mock engine it
 * renders with is process-global and the engine tests run inline programs in theirs.
 *
 * Usage: ts-node predictedMap.ts STACK OUT.json [KEY...], with the settings the stack holds besides
 * its file (render/settingsMap.ts `held`, e.g. prod's gitops secrets) as JSON in
 * CAPI_MGMT_MAP_HELD (not on the command line: they are secrets, if only the test's own).
 */
import * as fs from "fs";
import { settingVariants } from "../../render/settingVariants";
import { readStackConfigFile } from "../../render/render";
import { settingsMap } from "../../render/settingsMap";
import * as path from "path";

void (async () => {
    const [stack, out, ...keys] = process.argv.slice(2);
    const projectDir = path.resolve(__dirname, "..", "..");
    const held = JSON.parse(process.env.CAPI_MGMT_MAP_HELD ?? "{}") as Record<string, string>;
    const effects = await settingsMap(stack, { projectDir, keys: keys.length ? keys : undefined, held });
    const variants = settingVariants(stack, readStackConfigFile(projectDir, stack, {}).config);
    const rows = effects.map((e) => ({ ...e, variant: variants.find((v) => v.key === e.key) }));
    // A removed key (undefined) is written as null: JSON would drop it.
    fs.writeFileSync(
        out,
        JSON.stringify(rows, (_k, v: unknown) => (v === undefined ? null : v), 1),
    );
})().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
});
