/**
 * A plan before `pulumi up`: what an `up` of the current config would do to each resource,
 * compared with a previous render's `resources.json` (render/render.ts resourcesDocument),
 * classified by src/lifecycle/replacementMap.ts (classifyChanges) with the reason for each change.
 *
 * Modelled, not run: both sides are mock-engine renders, the classification is the engine's
 * rules applied to them (see src/lifecycle/replacementMap.ts). `resources.json` holds secrets as
 * `"[secret]"`, so two secret values always compare equal: a change of a secret is reported
 * as "may change", never as a change. Pure: no Pulumi runtime here.
 */
import { isDeepStrictEqual } from "util";
import { REPLACEMENT_FACTS } from "./replacementFacts";
import { classifyChanges, dangersOf, Registration, ResourceChange } from "./replacementMap";

/** What resources.json writes in place of a secret (render/engine.ts REDACTED). */
const REDACTED = "[secret]";

/** One resource as resources.json records it. */
export interface DocumentResource {
    type: string;
    name: string;
    /** The parent as `type::name`, or null. */
    parent: string | null;
    dependsOn: string[];
    /** The lifecycle options render records (render/render.ts lifecycleOptions). */
    options: {
        deleteBeforeReplace?: boolean;
        ignoreChanges?: string[];
        replaceOnChanges?: string[];
        retainOnDelete?: boolean;
        /** The provider as `type::name`. */
        provider?: string;
    };
    /** Inputs, secrets as `"[secret]"`. */
    inputs: Record<string, unknown>;
}

/** The part of resources.json a plan reads. */
export interface ResourcesDocument {
    stack: string;
    /** What the simulated cloud made up for that render (a first `up` or a later one, ...). */
    simulated?: Record<string, string>;
    resources: DocumentResource[];
}

/** Parses resources.json text, naming `where` in every error. */
export function parseResourcesDocument(text: string, where: string): ResourcesDocument {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (e) {
        throw new Error(`${where}: not JSON (${(e as Error).message})`);
    }
    const d = doc as Partial<ResourcesDocument> | null;
    const ok =
        typeof d === "object" &&
        d !== null &&
        typeof d.stack === "string" &&
        Array.isArray(d.resources) &&
        d.resources.every(
            (r) =>
                typeof r === "object" &&
                r !== null &&
                typeof r.type === "string" &&
                typeof r.name === "string" &&
                typeof r.inputs === "object" &&
                typeof r.options === "object",
        );
    if (!ok) {
        throw new Error(
            `${where}: not a resources.json written by \`npm run render\` (expected stack and resources, each with type, name, options and inputs)`,
        );
    }
    return d as ResourcesDocument;
}

/** `type::name` (how resources.json names parents and providers). */
function refOf(r: { type: string; name: string }): string {
    return `${r.type}::${r.name}`;
}

/**
 * The registrations recorded in `doc`, each keyed by its identity as the real engine's URN
 * holds it: the type chain of its ancestors and itself, and its name (`a$b$type::name`;
 * the engine matches old and new resources by URN). It is rebuilt from the parent chain: a
 * parent is the latest resource registered before it with that `type::name`.
 * `dependencies`: per identity, per input, the identities its value came from (only the
 * current render has them; resources.json does not record them).
 */
export function registrationsOf(doc: ResourcesDocument, dependencies: Record<string, Record<string, string[]>> = {}): Registration[] {
    const identities = new Map<string, string>();
    const out: Registration[] = [];
    for (const r of doc.resources) {
        const parent = r.parent ? identities.get(r.parent) : undefined;
        const chain = parent ? `${parent.split("::")[0]}$${r.type}` : r.type;
        const urn = `${chain}::${r.name}`;
        identities.set(refOf(r), urn);
        const provider = r.options.provider ? (identities.get(r.options.provider) ?? r.options.provider) : undefined;
        out.push({
            urn,
            type: r.type,
            name: r.name,
            // resources.json does not say: a type of the program's own is a component, any other is classified.
            custom: !r.type.startsWith("capi-mgmt:"),
            inputs: r.inputs,
            propertyDependencies: dependencies[urn] ?? {},
            options: {
                ignoreChanges: r.options.ignoreChanges ?? [],
                replaceOnChanges: r.options.replaceOnChanges ?? [],
                deleteBeforeReplace: r.options.deleteBeforeReplace === true,
                retainOnDelete: r.options.retainOnDelete === true,
                // classifyChanges reads a provider reference as `urn::id`.
                ...(provider ? { provider: `${provider}::id` } : {}),
            },
        });
    }
    return out;
}

/** One resource's line of the plan. */
export interface PlanEntry {
    change: ResourceChange;
    /** Why, in words. */
    reason: string;
}

/** A plan between two renders. */
export interface Plan {
    /** Every resource not left as it is, in the order create, update, replace, delete. */
    entries: PlanEntry[];
    /** Unchanged resources. */
    unchanged: number;
    /** Secret inputs compared only by redaction: input → resources (`Type name`). */
    mayChange: Record<string, string[]>;
    /** What loses the management cluster or deletes workload clusters (dangersOf). */
    dangers: string[];
}

/** `Type name`, short. */
export function labelOf(c: { type: string; name: string }): string {
    return `${c.type.split(":").pop()} ${c.name}`;
}

function containsSecret(v: unknown): boolean {
    return JSON.stringify(v ?? null).includes(JSON.stringify(REDACTED));
}

/** `old → new` when both are short, differ and hold no secret, else "". */
function valueChange(before: unknown, after: unknown): string {
    const [a, b] = [JSON.stringify(before ?? null), JSON.stringify(after ?? null)];
    if (a === b || a.length > 60 || b.length > 60 || containsSecret(before) || containsSecret(after)) {
        return "";
    }
    return `${before === undefined ? "unset" : a} → ${after === undefined ? "unset" : b}`;
}

/** A change that follows only from an updated step's output, unknown until it has run (replacementMap.ts `onlyIf`). */
const ONLY_IF = (steps: string[]): string =>
    `as the preview shows it: ${steps.join(", ")} is updated and its output is unknown until it has run; \`up\` does this only if that output changes`;

const ORDER: Record<ResourceChange["action"], number> = { create: 0, update: 1, replace: 2, delete: 3, same: 4 };

/**
 * The plan: `before` is the previous render, `after` the current one (with its
 * `dependencies`, see {@link registrationsOf}).
 */
export function planChanges(
    before: ResourcesDocument,
    after: ResourcesDocument,
    dependencies: Record<string, Record<string, string[]>> = {},
    facts = REPLACEMENT_FACTS,
): Plan {
    const olds = registrationsOf(before);
    const news = registrationsOf(after, dependencies);
    const changes = classifyChanges(olds, news, facts);
    const oldBy = new Map(olds.map((r) => [r.urn, r]));
    const newBy = new Map(news.map((r) => [r.urn, r]));
    const changeBy = new Map(changes.map((c) => [c.urn, c]));
    const created = changes.filter((c) => c.action === "create");
    const deleted = changes.filter((c) => c.action === "delete");
    // A create and a delete of the same type under the same parent: a renamed resource.
    const parentOf = (urn: string) => urn.split("::")[0].split("$").slice(0, -1).join("$");
    const counterpart = (c: ResourceChange, among: ResourceChange[]) => {
        const same = among.filter((o) => o.type === c.type && parentOf(o.urn) === parentOf(c.urn));
        return same.length === 1 ? same[0] : undefined;
    };

    const fromChanged = (r: Registration, key: string): string[] =>
        (r.propertyDependencies[key] ?? [])
            .filter((u) => u !== r.urn && ["replace", "create"].includes(changeBy.get(u)?.action ?? ""))
            .map((u) => `${labelOf(changeBy.get(u)!)} (${changeBy.get(u)!.action === "create" ? "created" : "replaced"})`);

    const inputReason = (r: Registration, old: Registration, key: string): string => {
        const from = fromChanged(r, key);
        const parts = [valueChange(old.inputs[key], r.inputs[key]), from.length > 0 ? `taken from ${from.join(", ")}: known only once it exists` : ""].filter(
            (p) => p,
        );
        if (parts.length === 0 && containsSecret(r.inputs[key])) {
            parts.push("secret");
        }
        return parts.length > 0 ? `${key} (${parts.join("; ")})` : key;
    };

    const reasonOf = (c: ResourceChange): string => {
        const r = newBy.get(c.urn);
        const old = oldBy.get(c.urn);
        switch (c.action) {
            case "create": {
                const was = counterpart(c, deleted);
                return was
                    ? `a new logical name (was ${was.name}): Pulumi creates it and deletes ${was.name}`
                    : "new: the previous render has no such resource";
            }
            case "delete": {
                const now = counterpart(c, created);
                const why = now ? `replaced by ${now.name} (a new logical name)` : "no longer registered by the current config";
                return c.retained ? `${why}; retainOnDelete: Pulumi forgets it, it stays in the cloud or cluster` : why;
            }
            case "update": {
                const parts = [`changed: ${c.keys.map((k) => inputReason(r!, old!, k)).join(", ")}`];
                if (c.disruptive.length > 0) {
                    parts.push(`in place, but ${c.disruptive.join("; ")}`);
                }
                if (c.ignored.length > 0) {
                    parts.push(`ignoreChanges keeps the old ${c.ignored.join(", ")}`);
                }
                if (c.onlyIf) {
                    parts.push(ONLY_IF(c.onlyIf));
                }
                return parts.join("; ");
            }
            case "replace": {
                const f = facts[c.type];
                const by = c.keys.map((k) => {
                    if (k === "provider") {
                        const p = r?.options.provider?.split("::").slice(0, -1).join("::");
                        const pc = p ? changeBy.get(p) : undefined;
                        return `its provider${pc ? ` ${pc.name}` : ""} is replaced (a replaced provider replaces every resource it manages)`;
                    }
                    const rule = r!.options.replaceOnChanges.some((p) => p.split(/[.[]/)[0] === k)
                        ? "the replaceOnChanges option"
                        : f?.replaceOn.includes(k)
                          ? `ForceNew in the provider (${f.source.split(" (")[0]})`
                          : `ForceNew with this provider's settings (${f?.source.split(" (")[0] ?? "facts table"})`;
                    return `${inputReason(r!, old!, k)} forces a replacement: ${rule}`;
                });
                const how = [
                    c.deleteFirst ? "the old one is deleted first (deleteBeforeReplace)" : "",
                    c.retained ? "the old one is kept in the cloud or cluster (retainOnDelete)" : "",
                    c.onlyIf ? ONLY_IF(c.onlyIf) : "",
                ].filter((s) => s);
                return [...by, ...how].join("; ");
            }
            default:
                return `ignoreChanges keeps the old ${c.ignored.join(", ")}: nothing is changed`;
        }
    };

    const entries = changes
        .filter((c) => c.action !== "same")
        .sort((a, b) => ORDER[a.action] - ORDER[b.action])
        .map((change) => ({ change, reason: reasonOf(change) }));
    const mayChange: Record<string, string[]> = {};
    for (const c of changes) {
        const [r, old] = [newBy.get(c.urn), oldBy.get(c.urn)];
        if ((c.action !== "same" && c.action !== "update") || !r || !old) {
            continue;
        }
        // An ignored input does not matter after creation, secret or not.
        const ignored = (x: string) => r.options.ignoreChanges.some((p) => p.split(/[.[]/)[0] === x);
        for (const k of Object.keys(r.inputs).filter((x) => containsSecret(r.inputs[x]) && isDeepStrictEqual(r.inputs[x], old.inputs[x]) && !ignored(x))) {
            (mayChange[k] ??= []).push(labelOf(c));
        }
    }
    return { entries, unchanged: changes.filter((c) => c.action === "same").length, mayChange, dangers: dangersOf(changes) };
}

/** The counts of a plan, by action. */
export function planCounts(plan: Plan): Record<"create" | "update" | "replace" | "delete" | "unchanged", number> {
    const n = (a: ResourceChange["action"]) => plan.entries.filter((e) => e.change.action === a).length;
    return { create: n("create"), update: n("update"), replace: n("replace"), delete: n("delete"), unchanged: plan.unchanged };
}

/** The plan as printed: one line per resource, secrets that may change, dangers, the summary. */
export function planLines(plan: Plan): string[] {
    const counts = planCounts(plan);
    const lines = plan.entries.length === 0 ? ["no changes"] : plan.entries.map((e) => `  ${e.change.action.padEnd(7)} ${labelOf(e.change)}: ${e.reason}`);
    const secret = Object.entries(plan.mayChange);
    if (secret.length > 0) {
        lines.push(
            'may change: secret inputs are compared as "[secret]" only, so a change of a secret value (a rotated key, a new password) is not seen; each would update or replace as its input decides:',
            ...secret.map(([k, rs]) => `  ${k}: ${rs.join(", ")}`),
        );
    }
    lines.push(...plan.dangers.map((d) => `danger: ${d}`));
    lines.push(
        `summary: ${counts.create} to create, ${counts.update} to update, ${counts.replace} to replace, ${counts.delete} to delete, ${counts.unchanged} unchanged`,
    );
    return lines;
}
