/**
 * The replacement map of a stack: for every setting (render/settingVariants.ts), what a
 * realistic change of it does on a live stack, computed by rendering the stack with and
 * without the change under the mock engine and classifying each resource
 * (src/lifecycle/replacementMap.ts), and whether the lifecycle gate refuses it.
 *
 * Both renders are first-`up` renders (no previous deployment), so the variant registers
 * its resources even when the gate would refuse it; the gate is then asked directly, with
 * the base render's `deployed` as the live stack (Nova's availability zone filled in as
 * `nova` where the mock leaves it empty) and the variant's own look-ups. Modelled: the map
 * is what the engine's rules say, not what a real `up` was seen to do.
 */
import * as path from "path";
import { CONFIG_NAMESPACE, StackConfig } from "../src/config";
import { DEPLOYED_OUTPUT, DeployedState, lifecycleProblems, previousDeployment, ResolvedNetworks } from "../src/lifecycle/lifecycle";
import { loadStackConfig } from "../src/config/loadConfig";
import { classifyChanges, dangersOf, ResourceChange } from "../src/lifecycle/replacementMap";
import { program } from "../program";
import { evaluate, RecordedResource, valueOf } from "./engine";
import { readStackConfigFile } from "./render";
import { Overrides, settingVariants, SettingVariant } from "./settingVariants";
import { withOverrides } from "./secrets";
import { plannedReleases } from "../src/versions/releaseCache";

/** What changing one setting does. */
export interface SettingEffect {
    /** The setting. */
    key: string;
    /** The change made. */
    change: string;
    /** Every resource that is not left as it is. */
    changes: ResourceChange[];
    /** What loses the management cluster or deletes workload clusters (src/lifecycle/replacementMap.ts dangersOf). */
    dangers: string[];
    /** What the lifecycle gate says on a live stack of the same generation (empty: it lets the change through). */
    refusals: string[];
    /** The variant's config is refused outright (nothing rendered). */
    invalid?: string;
}

/** One render: its registrations, `deployed` and the parsed config. */
interface Rendered {
    resources: RecordedResource[];
    deployed: DeployedState;
    config: StackConfig;
}

/**
 * `overrides` with the settings the stack holds besides its file (`gitops.sopsAgeKey`: a field of a
 * top-level object) put into that object as the overrides or the file have it; left out where the
 * object is absent (a variant that removes `gitops` removes its secrets too).
 */
export function withHeld(file: Record<string, string>, overrides: Overrides, held: Record<string, string>): Overrides {
    const out = { ...overrides };
    for (const [p, value] of Object.entries(held)) {
        const [top, field] = p.split(".");
        const key = `${CONFIG_NAMESPACE}:${top}`;
        const current = top in out ? out[top] : key in out ? out[key] : file[key];
        if (current !== undefined) {
            delete out[key];
            out[top] = JSON.stringify({ ...(JSON.parse(current) as Record<string, unknown>), [field]: value });
        }
    }
    return out;
}

/** Renders `stack` with `overrides` (and the settings held besides its file) as a first `up`. */
async function renderWith(projectDir: string, stack: string, overrides: Overrides, held: Record<string, string> = {}): Promise<Rendered> {
    const file = readStackConfigFile(projectDir, stack, {});
    const { config, secretKeys } = withOverrides(file, withHeld(file.config, overrides, held));
    let parsed: StackConfig | undefined;
    const { resources, result } = await evaluate({ stack, config, secretKeys }, () => {
        parsed = loadStackConfig();
        return program(parsed, plannedReleases());
    });
    return { resources, deployed: await valueOf(result.outputs.deployed), config: parsed! };
}

/** The look-ups a run made, as its `deployed` recorded them. */
export function resolvedOf(d: DeployedState): ResolvedNetworks {
    const n = d.serverNetwork;
    return { externalNetworkId: d.externalNetworkId, ...(n && !n.created ? { existing: { networkId: n.networkId, subnetId: n.subnetId } } : {}) };
}

/** Options of {@link settingsMap}. */
export interface SettingsMapOptions {
    /** Project directory (default: the repository root). */
    projectDir?: string;
    /** Only these settings (default: all). */
    keys?: string[];
    /**
     * Settings the stack holds besides its file, by path (`gitops.sopsAgeKey`), as
     * `pulumi config set --secret --path` sets them: in every render, base and variant (a
     * variant's object keeps them; one that removes the object drops them).
     */
    held?: Record<string, string>;
}

/** The replacement map of `stack`: one entry per setting variant, in the variants' order. */
export async function settingsMap(stack: string, opts: SettingsMapOptions = {}): Promise<SettingEffect[]> {
    const projectDir = opts.projectDir ?? path.resolve(__dirname, "..");
    const file = readStackConfigFile(projectDir, stack, {});
    const bases = new Map<string, Promise<Rendered>>();
    const baseOf = (v: SettingVariant) => {
        const k = JSON.stringify(v.base ?? {});
        if (!bases.has(k)) {
            bases.set(k, renderWith(projectDir, stack, v.base ?? {}, opts.held));
        }
        return bases.get(k)!;
    };
    const out: SettingEffect[] = [];
    // One after the other: the mock engine is process-global.
    for (const v of settingVariants(stack, file.config).filter((x) => !opts.keys || opts.keys.includes(x.key))) {
        const base = await baseOf(v);
        let variant: Rendered;
        try {
            variant = await renderWith(projectDir, stack, { ...v.base, ...v.variant }, opts.held);
        } catch (e) {
            out.push({ key: v.key, change: v.change, changes: [], dangers: [], refusals: [], invalid: e instanceof Error ? e.message : String(e) });
            continue;
        }
        const changes = classifyChanges(base.resources, variant.resources).filter((c) => c.action !== "same" || c.ignored.length > 0);
        const live: DeployedState = { ...base.deployed, availabilityZone: base.deployed.availabilityZone || "nova" };
        const refusals = lifecycleProblems(previousDeployment({ [DEPLOYED_OUTPUT]: live }), variant.config, resolvedOf(variant.deployed));
        out.push({ key: v.key, change: v.change, changes, dangers: dangersOf(changes), refusals });
    }
    return out;
}

/** `Type name` of a change, short. */
function label(c: ResourceChange): string {
    return `${c.type.split(":").pop()} ${c.name}`;
}

/** One line per setting: what a change does on a live stack. */
export function effectSummary(e: SettingEffect): string {
    if (e.invalid) {
        return `refused by config validation: ${e.invalid.split("\n").slice(1).join(" ").trim()}`;
    }
    const refused = e.refusals.find(
        (r) => r.startsWith(`capi-mgmt:${e.key.split(/[.[]/)[0]}`) || r.startsWith(`${e.key}`) || r.startsWith(`capi-mgmt:${e.key}`),
    );
    const onlyIf = (c: ResourceChange) => (c.action === "replace" || c.action === "update" ? c.onlyIf : undefined);
    // A conditional replacement whose other inputs changed for certain is at least an update.
    const certain = e.changes.flatMap((c): ResourceChange[] =>
        !onlyIf(c) ? [c] : c.action === "replace" && c.elseUpdates ? [{ ...c, action: "update", keys: c.elseUpdates, disruptive: [], ignored: [] }] : [],
    );
    const parts = changeParts(certain);
    // What a preview shows because an updated step's output is unknown until it has run
    // (src/lifecycle/replacementMap.ts `onlyIf`), grouped by that step.
    const conditions = [...new Set(e.changes.flatMap((c) => (onlyIf(c) ? [onlyIf(c)!.join(", ")] : [])))];
    for (const cond of conditions) {
        const these = changeParts(e.changes.filter((c) => onlyIf(c)?.join(", ") === cond));
        parts.push(`a preview also shows (on \`up\` only if ${cond} prints something else): ${these.join("; ")}`);
    }
    if (parts.length === 0) parts.push("no resource changes");
    const effect = parts.join("; ");
    return refused ? `**refused by preflight** on a running server (${refused.split(":").slice(0, 2).join(":")}); were it applied, it ${effect}` : effect;
}

/** `replaces …`, `creates …`, `deletes …`, `updates …`, `ignored …` of some changes. */
function changeParts(changes: readonly ResourceChange[]): string[] {
    const parts: string[] = [];
    const by = (action: ResourceChange["action"]) => changes.filter((c) => c.action === action);
    const replaced = by("replace").map((c) =>
        c.action === "replace" ? `${label(c)} (${c.keys.join(", ")}${c.retained ? "; old one kept" : ""}${c.deleteFirst ? "; deleted first" : ""})` : "",
    );
    const updated = by("update").map((c) => (c.action === "update" ? `${label(c)} (${c.keys.join(", ")})` : ""));
    const ignored = changes.flatMap((c) =>
        (c.action === "same" || c.action === "update") && c.ignored.length > 0 ? [`${label(c)} (${c.ignored.join(", ")})`] : [],
    );
    const created = by("create").map(label);
    const kept = (c: ResourceChange) => (c.type.startsWith("kubernetes:") ? "kept in the cluster" : "kept in the cloud");
    const deleted = by("delete").map((c) => (c.action === "delete" && c.retained ? `${label(c)} (${kept(c)})` : label(c)));
    if (replaced.length) parts.push(`replaces ${replaced.join(", ")}`);
    if (created.length) parts.push(`creates ${created.join(", ")}`);
    if (deleted.length) parts.push(`deletes ${deleted.join(", ")}`);
    if (updated.length) parts.push(`updates ${updated.join(", ")}`);
    if (ignored.length) parts.push(`ignored (no effect after creation): ${ignored.join(", ")}`);
    return parts;
}

/** The map as Markdown: one table row per setting. */
export function settingsMapMarkdown(stack: string, effects: readonly SettingEffect[]): string {
    const rows = effects.map((e) => `| \`${e.key}\` | ${e.change} | ${effectSummary(e).replace(/\|/g, "\\|")} |`);
    return [`| setting (stack ${stack}) | change | what a later \`up\` does (modelled) |`, "|---|---|---|", ...rows].join("\n") + "\n";
}
