/**
 * What a later `up` does to each resource when the program's registrations change from
 * `base` to `variant` (two renders under the mock engine): create, delete, update (which
 * inputs) or replace (which input forces it), as the real engine decides it from the
 * provider's diff (src/lifecycle/replacementFacts.ts) and the resource options.
 *
 * Modelled, not run: the mock engine never diffs. What is modelled, after pulumi/pulumi
 * pkg/resource/deploy/step_generator.go:
 * - a URN only in `base` is deleted (kept in the cloud with `retainOnDelete`), one only in
 *   `variant` created: a new logical name or parent is a create plus a delete;
 * - `ignoreChanges` paths are reset to the old value before diffing (processIgnoreChanges);
 * - `replaceOnChanges` paths force a replacement (applyReplaceOnChanges);
 * - a replaced provider replaces every resource it manages; a resource moved to another
 *   provider is replaced when that provider's DiffConfig would replace it (providerChanged),
 *   an input of that provider taken from a resource created or replaced in the run counting
 *   as changed (below);
 * - an input that takes its value from a replaced (or newly created) resource is treated as
 *   changed: its new value is only known once that resource exists (under mocks IDs are
 *   stable names, so this is propagated along the recorded property dependencies);
 * - an updated resource's outputs are unchanged, except where the facts say the provider
 *   reports them unknown after an update in a preview (`outputsUnknownOnUpdate`: a Command's
 *   stdout): an input taken from them is treated as changed, as the preview shows it, and
 *   the change is marked `onlyIf` that resource's output really changes (the `up` decides
 *   with the real value: the step's script).
 * Pure: no Pulumi runtime here.
 */
import { isDeepStrictEqual } from "util";
import { REPLACEMENT_FACTS, ReplacementFacts, needsFacts } from "./replacementFacts";

/** One registration, as the mock engine recorded it (render/engine.ts RecordedResource). */
export interface Registration {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    inputs: Record<string, unknown>;
    propertyDependencies: Record<string, string[]>;
    options: {
        ignoreChanges: string[];
        replaceOnChanges: string[];
        deleteBeforeReplace: boolean;
        retainOnDelete: boolean;
        provider?: string;
    };
}

/** What a later `up` does to one resource. */
export type ResourceChange = {
    urn: string;
    type: string;
    name: string;
    /** No row in the facts table: classified as if no input forced a replacement. */
    noFacts?: boolean;
} & (
    | { action: "same"; ignored: string[] }
    | { action: "create" }
    | { action: "delete"; retained: boolean }
    | { action: "update"; keys: string[]; disruptive: string[]; ignored: string[]; onlyIf?: string[] }
    | {
          action: "replace";
          keys: string[];
          deleteFirst: boolean;
          retained: boolean;
          onlyIf?: string[];
          /** With `onlyIf`: the inputs whose new values are known, updated in place when that output stays the same. */
          elseUpdates?: string[];
      }
);

/**
 * Why an input counts as changed because of another resource: `true` for certain (that
 * resource is replaced or created: a new ID), or the resources (`Type name`) whose output,
 * unknown in a preview after their update, would have to change.
 */
type Cause = true | string[];

/** The causes of one input combined: certain when any is. */
function combine(causes: Cause[]): Cause | undefined {
    if (causes.length === 0) {
        return undefined;
    }
    if (causes.some((c) => c === true)) {
        return true;
    }
    return [...new Set(causes.flatMap((c) => c as string[]))].sort();
}

/** Unwraps Pulumi's secret marker (`{4dabf…: 1b47…, value}`), leaving plain values to compare. */
function plain(v: unknown): unknown {
    if (Array.isArray(v)) {
        return v.map(plain);
    }
    if (typeof v === "object" && v !== null) {
        const o = v as Record<string, unknown>;
        if (o["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270") {
            return plain(o.value);
        }
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
    }
    return v;
}

/** `a.b[*].c` → `["a", "b", "c"]` (array steps are compared as a whole). */
function pathOf(p: string): string[] {
    return p
        .replace(/\[[^\]]*\]/g, "")
        .split(".")
        .filter((s) => s !== "");
}

function at(v: unknown, path: string[]): unknown {
    return path.reduce<unknown>((o, k) => (typeof o === "object" && o !== null ? (o as Record<string, unknown>)[k] : undefined), v);
}

/** A deep copy of `inputs` with `path` set to its value in `old` (processIgnoreChanges). */
function resetPath(inputs: Record<string, unknown>, old: Record<string, unknown>, path: string[]): Record<string, unknown> {
    const copy = structuredClone(inputs);
    let target: Record<string, unknown> = copy;
    for (const k of path.slice(0, -1)) {
        if (typeof target[k] !== "object" || target[k] === null) {
            return copy;
        }
        target = target[k] as Record<string, unknown>;
    }
    const last = path[path.length - 1];
    const value = at(old, path);
    if (value === undefined) {
        delete target[last];
    } else {
        target[last] = structuredClone(value);
    }
    return copy;
}

/** The provider URN of a provider reference (`urn::id`). */
function providerUrn(ref: string | undefined): string | undefined {
    return ref ? ref.split("::").slice(0, -1).join("::") : undefined;
}

/** The replace-forcing input paths of a resource: the provider's and `replaceOnChanges`. */
function forcing(r: Registration, facts: ReplacementFacts | undefined, providerInputs: Record<string, unknown>): string[][] {
    return [...(facts?.replaceOn ?? []), ...(facts?.replaceOnWithProvider?.(providerInputs) ?? []), ...r.options.replaceOnChanges].map(pathOf);
}

/** Classifies every resource of `base` and `variant` (custom resources and remote components). */
export function classifyChanges(base: readonly Registration[], variant: readonly Registration[], facts = REPLACEMENT_FACTS): ResourceChange[] {
    const olds = new Map(base.map((r) => [r.urn, r]));
    const news = new Map(variant.map((r) => [r.urn, r]));
    const memo = new Map<string, ResourceChange>();

    const classify = (r: Registration): ResourceChange => {
        const known = memo.get(r.urn);
        if (known) {
            return known;
        }
        const head = { urn: r.urn, type: r.type, name: r.name, ...(facts[r.type] || !needsFacts(r.type, r.custom) ? {} : { noFacts: true }) };
        const old = olds.get(r.urn);
        if (!old) {
            const created: ResourceChange = { ...head, action: "create" };
            memo.set(r.urn, created);
            return created;
        }
        const f = facts[r.type];
        /** Whether `urn` changes what this resource takes from it (see {@link Cause}). */
        const causeOf = (urn: string | undefined): Cause | undefined => {
            const dep = urn ? news.get(urn) : undefined;
            const c = dep ? classify(dep) : undefined;
            if (c === undefined || c.action === "same" || c.action === "delete") {
                return undefined;
            }
            if (c.action === "create") {
                return true;
            }
            if (c.action === "replace") {
                return c.onlyIf ?? true;
            }
            return facts[c.type]?.outputsUnknownOnUpdate ? (c.onlyIf ?? [`${c.type.split(":").pop()} ${c.name}`]) : undefined;
        };
        const replace = (keys: string[], onlyIf?: string[], elseUpdates?: string[]): ResourceChange => ({
            ...head,
            action: "replace",
            keys,
            deleteFirst: r.options.deleteBeforeReplace,
            retained: r.options.retainOnDelete,
            ...(onlyIf ? { onlyIf } : {}),
            ...(onlyIf && elseUpdates && elseUpdates.length > 0 ? { elseUpdates } : {}),
        });

        // The provider: replaced, or another one whose settings would replace it.
        const provNew = providerUrn(r.options.provider);
        const provOld = providerUrn(old.options.provider);
        let result: ResourceChange | undefined;
        const providerCause = provNew === provOld ? causeOf(provNew) : undefined;
        if (providerCause !== undefined) {
            result = replace(["provider"], providerCause === true ? undefined : providerCause);
        } else if (provNew !== provOld && provNew && provOld) {
            const [pOld, pNew] = [olds.get(provOld), news.get(provNew)];
            // As for any input: one taken from a resource created or replaced in this run is not
            // known before it exists (the preview's DiffConfig sees it unknown), so it is changed.
            const fromNew = pNew
                ? Object.keys(pNew.propertyDependencies).filter((k) => pNew.propertyDependencies[k].some((u) => u !== pNew.urn && causeOf(u) !== undefined))
                : [];
            // An input taken from another resource than the old provider's (another cluster's kubeconfig) is changed too.
            const sources = (p: Registration, k: string) => JSON.stringify([...(p.propertyDependencies[k] ?? [])].sort());
            const fromOther = pOld && pNew ? Object.keys(pNew.propertyDependencies).filter((k) => sources(pNew, k) !== sources(pOld, k)) : [];
            const diff = pOld && pNew ? [...changedKeys(pOld.inputs, pNew.inputs), ...fromNew, ...fromOther] : ["(unknown provider)"];
            const pForce = pNew ? forcing(pNew, facts[pNew.type], {}) : [];
            if (diff.some((k) => pForce.some((p) => p[0] === k))) {
                result = replace(["provider"]);
            }
        }
        if (!result) {
            const providerInputs = (provNew ? news.get(provNew)?.inputs : undefined) ?? {};
            result = diffInputs(
                r,
                old,
                f,
                providerInputs,
                head,
                (k) =>
                    combine(
                        (r.propertyDependencies[k] ?? [])
                            .filter((u) => u !== r.urn)
                            .map(causeOf)
                            .filter((c): c is Cause => c !== undefined),
                    ),
                replace,
            );
        }
        memo.set(r.urn, result);
        return result;
    };

    const out: ResourceChange[] = [];
    for (const r of variant) {
        if (needsFacts(r.type, r.custom)) {
            out.push(classify(r));
        }
    }
    for (const r of base) {
        if (!news.has(r.urn) && needsFacts(r.type, r.custom)) {
            out.push({ urn: r.urn, type: r.type, name: r.name, action: "delete", retained: r.options.retainOnDelete });
        }
    }
    return out;
}

/** Top-level input keys whose plain values differ. */
function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !isDeepStrictEqual(plain(a[k]), plain(b[k]))).sort();
}

function diffInputs(
    r: Registration,
    old: Registration,
    f: ReplacementFacts | undefined,
    providerInputs: Record<string, unknown>,
    head: Pick<ResourceChange, "urn" | "type" | "name" | "noFacts">,
    fromChanged: (key: string) => Cause | undefined,
    replace: (keys: string[], onlyIf?: string[], elseUpdates?: string[]) => ResourceChange,
): ResourceChange {
    // ignoreChanges: the old value stands in for the new one, also for a value not yet known.
    const ignorePaths = r.options.ignoreChanges.map(pathOf);
    let inputs = r.inputs;
    for (const p of ignorePaths) {
        inputs = resetPath(inputs, old.inputs, p);
    }
    const ignored = changedKeys(old.inputs, r.inputs).filter((k) => ignorePaths.some((p) => p[0] === k));
    const causes = new Map(
        Object.keys(r.propertyDependencies)
            .filter((k) => !ignorePaths.some((p) => p.length === 1 && p[0] === k))
            .flatMap((k) => {
                const c = fromChanged(k);
                return c === undefined ? [] : [[k, c] as const];
            }),
    );
    const unknown = [...causes.keys()];
    const valueChanged = changedKeys(old.inputs, inputs);
    const keys = [...new Set([...valueChanged, ...unknown])].sort();
    /** Certain when a key really changed or comes from a replaced resource; else the outputs that would have to change. */
    const onlyIf = (ks: string[]): string[] | undefined => {
        const c = combine(ks.map((k) => (valueChanged.includes(k) ? true : (causes.get(k) ?? true))));
        return c === true || c === undefined ? undefined : c;
    };
    if (keys.length === 0) {
        return { ...head, action: "same", ignored };
    }
    const force = forcing(r, f, providerInputs);
    const forcedBy = keys.filter((k) =>
        force.some((p) => p[0] === k && (p.length === 1 || unknown.includes(k) || !isDeepStrictEqual(plain(at(old.inputs, p)), plain(at(inputs, p))))),
    );
    if (forcedBy.length > 0) {
        return replace(forcedBy, onlyIf(forcedBy), valueChanged);
    }
    const disruptive = keys.filter((k) => f?.disruptive?.[k] !== undefined).map((k) => `${k}: ${f!.disruptive![k]}`);
    const conditional = onlyIf(keys);
    return { ...head, action: "update", keys, disruptive, ignored, ...(conditional ? { onlyIf: conditional } : {}) };
}

/** Resources whose replacement or deletion loses the management cluster, its reachability or its backups. */
const VITAL_TYPES: Readonly<Record<string, string>> = {
    "openstack:compute/instance:Instance": "the management server (and its boot volume)",
    "openstack:networking/port:Port": "the server's port",
    "openstack:networking/floatingIp:FloatingIp": "the floating IP",
    "openstack:networking/floatingIpAssociate:FloatingIpAssociate": "the floating IP's association",
    "openstack:blockstorage/volume:Volume": "the backup volume, with the backups on it",
};
/** The router: moving its gateway strands the floating IP (a resize of the server is a deliberate update). */
const ROUTER = "openstack:networking/router:Router";
/** Logical name of the kind cluster step (src/cluster/managementCluster.ts). */
export const KIND_STEP_NAME = "kind-cluster";

/** True for Flux objects the program owns, and Namespaces: deleting them deletes workload clusters. */
function prunesWorkloads(c: Pick<ResourceChange, "type" | "urn">): boolean {
    return (
        c.type === "kubernetes:core/v1:Namespace" ||
        (c.type.startsWith("kubernetes:") && (c.type.includes("fluxcd.io") || c.urn.includes("capi-mgmt:index:FluxSync")))
    );
}

/**
 * What in `changes` loses the management cluster or deletes workload clusters: the server,
 * its port (or its address moved in place), its boot volume (a rebuild), the floating IP
 * or its association, or the kind cluster step replaced or deleted; a Namespace or Flux
 * object deleted (not retained). One line per finding.
 */
export function dangersOf(changes: readonly ResourceChange[]): string[] {
    const out: string[] = [];
    for (const c of changes) {
        const vital = VITAL_TYPES[c.type] ?? (c.type === "command:remote:Command" && c.name === KIND_STEP_NAME ? "the kind cluster step" : undefined);
        if (vital && c.action === "replace") {
            out.push(`${vital} (${c.name}) is replaced (forced by ${c.keys.join(", ")}${c.onlyIf ? `, if ${c.onlyIf.join(", ")} prints something else` : ""})`);
        } else if (vital && c.action === "delete") {
            out.push(`${vital} (${c.name}) is deleted`);
        } else if (
            (vital || c.type === ROUTER) &&
            c.action === "update" &&
            c.disruptive.length > 0 &&
            c.type !== "command:remote:Command" &&
            !c.disruptive.every((d) => /^flavor/.test(d))
        ) {
            out.push(`${vital ?? "the router to the floating IP's network"} (${c.name}) is changed in place: ${c.disruptive.join("; ")}`);
        }
        if (prunesWorkloads(c) && ((c.action === "delete" && !c.retained) || (c.action === "replace" && !c.retained))) {
            out.push(`${c.type.split(":").pop()} ${c.name} is deleted${c.action === "replace" ? " (replaced)" : ""}, and with it what it holds or applied`);
        }
    }
    return out;
}
