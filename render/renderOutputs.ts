/**
 * What `npm run render` adds around the rendered artifacts: the stack outputs as the
 * program exports them (`outputs.json`), a `deployed` output read from a file to try the
 * lifecycle gate offline (`--deployed FILE`), and the replacement map of the stack
 * (`replacement-map.md`, render/settingsMap.ts).
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { DEPLOYED_OUTPUT } from "../src/lifecycle/lifecycle";
import { ProgramOutputs } from "../program";
import { REDACTED, valueOf } from "./engine";
import { effectSummary, SettingEffect, settingsMapMarkdown } from "./settingsMap";

/** What `npm run render -- --help` prints. */
export const RENDER_HELP = `usage: npm run render -- --stack <name> [--out <dir>] [--deployed <file>] [--map] [--topology]

Evaluates the stack's program with its config and a simulated cloud (no Pulumi CLI, no OpenStack),
checks it as \`pulumi up\` would, and writes what it would send anywhere (see docs/render.md):
  --stack <name>     reads Pulumi.<name>.yaml
  --out <dir>        output directory, replaced only on success (default: rendered/<name>)
  --deployed <file>  what \`pulumi stack output --json deployed\` prints: render a later \`up\` of that
                     stack; a change the lifecycle gate refuses fails, as \`pulumi up\` would
  --map              also the replacement map of this stack: every setting changed once, what it
                     updates, replaces or refuses (about 45 more renders; docs/settings-lifecycle.md
                     has both stacks')
  --topology         also gitops/topology/: each workload Cluster as Cluster API's real topology
                     controller expands it, in the test bed (npm run testbed:build; a minute or two)
  --help             this text
Keep the output directory: \`npm run plan -- --stack <name> --against <dir>\` then shows what a
config change would create, update, replace or delete.`;

/**
 * The stack outputs, by the names index.ts exports them, each resolved as the mock engine
 * sees it; a secret output (a Pulumi secret, as `pulumi stack output` would hide it) is
 * written as {@link REDACTED}.
 */
export async function outputsDocument(outputs: ProgramOutputs): Promise<Record<string, unknown>> {
    const doc: Record<string, unknown> = {};
    for (const [name, output] of Object.entries(outputs) as [string, pulumi.Output<unknown>][]) {
        doc[name] = (await pulumi.isSecret(output)) ? REDACTED : await valueOf(output);
    }
    return doc;
}

/**
 * The previous outputs the self-StackReference returns, from a file holding what
 * `pulumi stack output --json deployed` prints (the `deployed` object), or everything
 * `pulumi stack output --json` prints (an object with a `deployed` member).
 */
export function previousOutputsFromFile(file: string): Record<string, unknown> {
    let parsed: unknown;
    try {
        parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new Error(`--deployed ${file}: ${(e as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new Error(`--deployed ${file}: expected the JSON object \`pulumi stack output --json ${DEPLOYED_OUTPUT}\` prints`);
    }
    const o = parsed as Record<string, unknown>;
    if (typeof o.serverGeneration === "number") {
        return { [DEPLOYED_OUTPUT]: o };
    }
    if (typeof o[DEPLOYED_OUTPUT] === "object" && o[DEPLOYED_OUTPUT] !== null) {
        return o;
    }
    throw new Error(`--deployed ${file}: not a \`${DEPLOYED_OUTPUT}\` output (it has no serverGeneration)`);
}

/** The replacement map file and the lines render prints about it. */
export function replacementMapReport(stack: string, effects: readonly SettingEffect[]): { markdown: string; lines: string[] } {
    const refused = effects.filter((e) => e.refusals.length > 0).map((e) => e.key);
    const replacing = effects.filter((e) => e.changes.some((c) => c.action === "replace" || c.action === "delete"));
    return {
        markdown: `# What changing each setting of stack ${stack} does on a live stack (modelled)\n\n${settingsMapMarkdown(stack, effects)}`,
        lines: [
            `replacement map (${effects.length} settings; replacement-map.md has every one):`,
            `  refused by preflight on a running server: ${refused.join(", ") || "none"}`,
            ...replacing.filter((e) => e.refusals.length === 0).map((e) => `  ${e.key}: ${effectSummary(e)}`),
        ],
    };
}
