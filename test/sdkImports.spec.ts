/**
 * The Pulumi SDK is used through its public entry point (`@pulumi/pulumi`, whose `runtime`
 * and `automation` namespaces are part of it), never through one of its private modules
 * (`@pulumi/pulumi/runtime/settings`, `.../rpc`, ...): a private module changes without notice
 * between SDK releases. There is no exception: the integration suite reaches a provider through
 * the CLI and the Automation API (test/integration/openstackPreview.ts).
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "./harness";

/** Every TypeScript file of the project, relative to its root (no node_modules, no rendered output). */
function sources(dir = PROJECT_DIR): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        if (e.name === "node_modules" || e.name.startsWith(".") || e.name === "rendered") {
            return [];
        }
        const p = path.join(dir, e.name);
        return e.isDirectory() ? sources(p) : e.name.endsWith(".ts") ? [path.relative(PROJECT_DIR, p)] : [];
    });
}

/** The module specifiers below `@pulumi/pulumi/` a source imports or requires. */
export function deepSdkImports(text: string): string[] {
    return [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)["'](@pulumi\/pulumi\/[^"']+)["']/g)].map((m) => m[1]);
}

describe("the Pulumi SDK through its public entry point only", () => {
    it("finds a deep import however it is written", () => {
        const sdk = "@pulumi/pulumi"; // joined here, so that this file's own samples are no imports
        const text = [
            `import * as s from "${sdk}/runtime/settings";`,
            `const rpc = require("${sdk}/runtime/rpc");`,
            `import { PulumiFn } from '${sdk}/automation';`,
            `import * as pulumi from "${sdk}";`,
        ].join("\n");
        assert.deepStrictEqual(deepSdkImports(text), ["@pulumi/pulumi/runtime/settings", "@pulumi/pulumi/runtime/rpc", "@pulumi/pulumi/automation"]);
    });

    it("no source imports a private SDK module", () => {
        const files = sources();
        assert.ok(files.includes(path.join("render", "engine.ts")) && files.includes(path.join("test", "harness.ts")), "the walk missed the sources");
        const found = files.flatMap((f) => deepSdkImports(fs.readFileSync(path.join(PROJECT_DIR, f), "utf8")).map((m) => `${f}: ${m}`));
        assert.deepStrictEqual(found, []);
    });
});
