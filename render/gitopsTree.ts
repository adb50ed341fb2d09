/**
 * Reads the GitOps tree (`gitops/`) the way Flux applies it, offline: the environment's
 * directory, then every Flux Kustomization found there, each built like kustomize-controller
 * does (kustomization.yaml or a generated one, `targetNamespace`, JSON 6902 patches,
 * `postBuild` substitution from the program's settings).
 *
 * It implements the subset of kustomize the tree uses and refuses anything else loudly, so
 * a tree change that needs more fails the structure test instead of being misread.
 */
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments, stringify } from "yaml";
import { FLUX_SETTINGS_CONFIGMAP } from "../lib/contract";

/** A Kubernetes object as read from the tree. */
export interface TreeObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    [field: string]: any;
}

/** An object and the file it came from (relative to the tree's root). */
export interface TreeDocument {
    file: string;
    object: TreeObject;
}

/** One Flux Kustomization of an environment and what it applies. */
export interface FluxUnit {
    /** The Kustomization object itself (after the root's substitution). */
    kustomization: TreeDocument;
    /** The objects it applies, built and substituted. */
    documents: TreeDocument[];
}

/** An environment as Flux sees it. */
export interface Environment {
    /** Objects the root Kustomization applies (the environment's directory). */
    root: TreeDocument[];
    /** Every Flux Kustomization among them, with what it applies. */
    units: FluxUnit[];
}

/** Kinds the tree may use that are not namespaced. */
const CLUSTER_SCOPED = new Set(["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "OpenStackClusterIdentity"]);

/** Keys of kustomization.yaml this reader understands. */
const SUPPORTED_KUSTOMIZATION_KEYS = new Set(["apiVersion", "kind", "resources", "patches"]);

/** Error in the tree, naming the file. */
export class TreeError extends Error {}

function isYaml(file: string): boolean {
    return /\.ya?ml$/.test(file);
}

/** Every object in a YAML file (empty documents skipped). */
export function readDocuments(root: string, file: string): TreeDocument[] {
    const text = fs.readFileSync(path.join(root, file), "utf8");
    const docs = parseAllDocuments(text);
    const out: TreeDocument[] = [];
    for (const doc of docs) {
        if (doc.errors.length > 0) {
            throw new TreeError(`${file}: ${doc.errors[0].message}`);
        }
        const object = doc.toJS() as TreeObject | null;
        if (object === null || object === undefined) {
            continue;
        }
        if (typeof object.apiVersion !== "string" || typeof object.kind !== "string" || typeof object.metadata?.name !== "string") {
            throw new TreeError(`${file}: a document without apiVersion, kind or metadata.name`);
        }
        out.push({ file, object });
    }
    return out;
}

/** Splits a JSON pointer (RFC 6901) into its tokens. */
function pointer(p: string): string[] {
    if (p === "") {
        return [];
    }
    if (!p.startsWith("/")) {
        throw new TreeError(`JSON pointer "${p}" does not start with /`);
    }
    return p
        .slice(1)
        .split("/")
        .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** One JSON patch (RFC 6902) operation of the kinds the tree and ClusterClass patches use. */
export interface PatchOp {
    op: "add" | "replace" | "remove" | "test";
    path: string;
    value?: unknown;
}

/**
 * Applies JSON patch operations to a copy of `doc`. `replace`, `remove` and `test` need the
 * path to exist, as RFC 6902 says; `add` needs its parent.
 */
export function applyJsonPatch<T>(doc: T, ops: PatchOp[]): T {
    const out = structuredClone(doc) as unknown;
    for (const op of ops) {
        const tokens = pointer(op.path);
        if (tokens.length === 0) {
            throw new TreeError(`${op.op} ${op.path}: patching the whole document is not supported`);
        }
        let parent = out as Record<string, unknown> | unknown[];
        for (const t of tokens.slice(0, -1)) {
            const next = Array.isArray(parent) ? parent[Number(t)] : (parent as Record<string, unknown>)[t];
            if (next === null || typeof next !== "object") {
                throw new TreeError(`${op.op} ${op.path}: ${t} does not exist`);
            }
            parent = next as Record<string, unknown> | unknown[];
        }
        const last = tokens[tokens.length - 1];
        const exists = Array.isArray(parent) ? Number(last) < parent.length : Object.prototype.hasOwnProperty.call(parent, last);
        if (op.op !== "add" && !exists) {
            throw new TreeError(`${op.op} ${op.path}: the path does not exist`);
        }
        switch (op.op) {
            case "test":
                if (JSON.stringify(Array.isArray(parent) ? parent[Number(last)] : parent[last]) !== JSON.stringify(op.value)) {
                    throw new TreeError(`test ${op.path}: expected ${JSON.stringify(op.value)}`);
                }
                break;
            case "remove":
                if (Array.isArray(parent)) {
                    parent.splice(Number(last), 1);
                } else {
                    delete parent[last];
                }
                break;
            case "add":
                if (Array.isArray(parent)) {
                    parent.splice(last === "-" ? parent.length : Number(last), 0, structuredClone(op.value));
                } else {
                    parent[last] = structuredClone(op.value);
                }
                break;
            case "replace":
                if (Array.isArray(parent)) {
                    parent[Number(last)] = structuredClone(op.value);
                } else {
                    parent[last] = structuredClone(op.value);
                }
                break;
            default:
                throw new TreeError(`unsupported JSON patch operation ${JSON.stringify(op)}`);
        }
    }
    return out as T;
}

/** A `patches` entry of kustomization.yaml. */
interface KustomizePatch {
    target?: { group?: string; version?: string; kind?: string; name?: string; namespace?: string };
    patch?: string;
    path?: string;
}

function matches(target: NonNullable<KustomizePatch["target"]>, o: TreeObject): boolean {
    const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
    return (
        (target.group === undefined || target.group === group) &&
        (target.version === undefined || target.version === version) &&
        (target.kind === undefined || target.kind === o.kind) &&
        (target.name === undefined || target.name === o.metadata.name) &&
        (target.namespace === undefined || target.namespace === o.metadata.namespace)
    );
}

/** Files and directories a directory without kustomization.yaml contributes (as Flux generates it). */
function generatedResources(root: string, dir: string): string[] {
    const out: string[] = [];
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const rel = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            out.push(...(fs.existsSync(path.join(root, rel, "kustomization.yaml")) ? [rel] : generatedResources(root, rel)));
        } else if (isYaml(entry.name)) {
            out.push(rel);
        }
    }
    return out;
}

/**
 * Builds a directory of the tree as `kustomize build` (or Flux, when it has no
 * kustomization.yaml) would. `dir` is relative to `root`.
 */
export function kustomizeBuild(root: string, dir: string): TreeDocument[] {
    const abs = path.join(root, dir);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
        throw new TreeError(`${dir}: no such directory`);
    }
    const kfile = path.join(dir, "kustomization.yaml");
    if (!fs.existsSync(path.join(root, kfile))) {
        return generatedResources(root, dir).flatMap((r) => (isYaml(r) ? readDocuments(root, r) : kustomizeBuild(root, r)));
    }
    const k = (parseAllDocuments(fs.readFileSync(path.join(root, kfile), "utf8"))[0]?.toJS() ?? {}) as Record<string, unknown>;
    const unknown = Object.keys(k).filter((key) => !SUPPORTED_KUSTOMIZATION_KEYS.has(key));
    if (unknown.length > 0) {
        throw new TreeError(`${kfile}: ${unknown.join(", ")} not supported by the tree reader (render/gitopsTree.ts)`);
    }
    let docs: TreeDocument[] = [];
    for (const r of (k.resources ?? []) as string[]) {
        const rel = path.normalize(path.join(dir, r));
        if (!fs.existsSync(path.join(root, rel))) {
            throw new TreeError(`${kfile}: resource ${r} does not exist`);
        }
        docs.push(...(fs.statSync(path.join(root, rel)).isDirectory() ? kustomizeBuild(root, rel) : readDocuments(root, rel)));
    }
    for (const p of (k.patches ?? []) as KustomizePatch[]) {
        if (p.path !== undefined || p.patch === undefined || p.target === undefined) {
            throw new TreeError(`${kfile}: only inline JSON 6902 patches with a target are supported`);
        }
        const ops = parseAllDocuments(p.patch)[0]?.toJS() as PatchOp[];
        if (!Array.isArray(ops)) {
            throw new TreeError(`${kfile}: patch for ${JSON.stringify(p.target)} is not a JSON 6902 list of operations`);
        }
        const target = p.target;
        let hit = false;
        docs = docs.map((d) => {
            if (!matches(target, d.object)) {
                return d;
            }
            hit = true;
            try {
                return { file: d.file, object: applyJsonPatch(d.object, ops) };
            } catch (e) {
                throw new TreeError(`${kfile}: patch for ${JSON.stringify(target)}: ${(e as Error).message}`);
            }
        });
        if (!hit) {
            throw new TreeError(`${kfile}: patch target ${JSON.stringify(target)} matches nothing`);
        }
    }
    return docs;
}

/**
 * Flux's `postBuild` substitution: `${NAME}` and `${NAME:=default}` from `vars`; `$${`
 * escapes. Unlike Flux's default, a variable with no value and no default is an error.
 */
export function substitute(doc: TreeDocument, vars: Record<string, string>): TreeDocument {
    const text = stringify(doc.object, { lineWidth: 0 });
    const missing: string[] = [];
    const replaced = text.replace(/\$?\$\{([_a-zA-Z][_a-zA-Z0-9]*)(?::=([^}]*))?\}/g, (whole, name: string, fallback?: string) => {
        if (whole.startsWith("$$")) {
            return whole.slice(1);
        }
        const value = vars[name] ?? fallback;
        if (value === undefined) {
            missing.push(name);
            return whole;
        }
        return value;
    });
    if (missing.length > 0) {
        throw new TreeError(`${doc.file}: \${${missing.join("}, ${")}} has no value`);
    }
    return { file: doc.file, object: parseAllDocuments(replaced)[0].toJS() as TreeObject };
}

/** Sets the namespace of namespaced objects, as `targetNamespace` does. */
function inNamespace(doc: TreeDocument, namespace: string): TreeDocument {
    if (CLUSTER_SCOPED.has(doc.object.kind)) {
        return doc;
    }
    return { file: doc.file, object: { ...doc.object, metadata: { ...doc.object.metadata, namespace } } };
}

/** True for a Flux Kustomization (not a kustomize one). */
export function isFluxKustomization(o: TreeObject): boolean {
    return o.kind === "Kustomization" && o.apiVersion.startsWith("kustomize.toolkit.fluxcd.io/");
}

/**
 * The environment Flux reconciles at `envPath` (relative to the tree's root, e.g.
 * `./clusters/dev`), with the values the program's settings ConfigMap provides.
 */
export function readEnvironment(root: string, envPath: string, settings: Record<string, string>): Environment {
    const rootDocs = kustomizeBuild(root, path.normalize(envPath)).map((d) => substitute(d, settings));
    const units = rootDocs
        .filter((d) => isFluxKustomization(d.object))
        .map((k) => {
            const spec = k.object.spec as {
                path?: string;
                targetNamespace?: string;
                postBuild?: { substitute?: Record<string, string>; substituteFrom?: { kind: string; name: string }[] };
            };
            if (spec.path === undefined) {
                throw new TreeError(`${k.file}: Kustomization ${k.object.metadata.name} has no path`);
            }
            let documents = kustomizeBuild(root, path.normalize(spec.path));
            if (spec.targetNamespace !== undefined) {
                documents = documents.map((d) => inNamespace(d, spec.targetNamespace!));
            }
            if (spec.postBuild !== undefined) {
                let vars: Record<string, string> = {};
                for (const from of spec.postBuild.substituteFrom ?? []) {
                    if (from.kind !== "ConfigMap" || from.name !== FLUX_SETTINGS_CONFIGMAP) {
                        throw new TreeError(`${k.file}: substituteFrom ${from.kind}/${from.name} is not the program's settings (${FLUX_SETTINGS_CONFIGMAP})`);
                    }
                    vars = { ...vars, ...settings };
                }
                vars = { ...vars, ...(spec.postBuild.substitute ?? {}) };
                documents = documents.map((d) => substitute(d, vars));
            }
            return { kustomization: k, documents };
        });
    return { root: rootDocs, units };
}

/** An OpenAPI v3 schema as ClusterClass variables use it (the subset checked here). */
export interface VariableSchema {
    type?: "string" | "integer" | "number" | "boolean" | "array" | "object";
    default?: unknown;
    enum?: unknown[];
    pattern?: string;
    minLength?: number;
    maxLength?: number;
    minimum?: number;
    maximum?: number;
    minItems?: number;
    maxItems?: number;
    items?: VariableSchema;
    properties?: Record<string, VariableSchema>;
    required?: string[];
    minProperties?: number;
    maxProperties?: number;
}

/**
 * Problems of `value` against a variable's schema, as Cluster API's webhook would report
 * them (the subset of OpenAPI the tree's variables use; unknown object fields are refused).
 */
export function schemaProblems(value: unknown, schema: VariableSchema, at: string): string[] {
    const problems: string[] = [];
    const fail = (msg: string) => problems.push(`${at}: ${msg}`);
    const isObject = value !== null && typeof value === "object" && !Array.isArray(value);
    const typeOk: Record<string, boolean> = {
        string: typeof value === "string",
        integer: Number.isInteger(value),
        number: typeof value === "number",
        boolean: typeof value === "boolean",
        array: Array.isArray(value),
        object: isObject,
    };
    if (schema.type !== undefined && !typeOk[schema.type]) {
        fail(`${JSON.stringify(value)} is not of type ${schema.type}`);
        return problems;
    }
    if (schema.enum !== undefined && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
        fail(`${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
    }
    if (typeof value === "string") {
        if (schema.minLength !== undefined && value.length < schema.minLength) fail(`shorter than ${schema.minLength}`);
        if (schema.maxLength !== undefined && value.length > schema.maxLength) fail(`longer than ${schema.maxLength}`);
        if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) fail(`${JSON.stringify(value)} does not match ${schema.pattern}`);
    }
    if (typeof value === "number") {
        if (schema.minimum !== undefined && value < schema.minimum) fail(`${value} is below ${schema.minimum}`);
        if (schema.maximum !== undefined && value > schema.maximum) fail(`${value} is above ${schema.maximum}`);
    }
    if (Array.isArray(value)) {
        if (schema.minItems !== undefined && value.length < schema.minItems) fail(`fewer than ${schema.minItems} items`);
        if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(`more than ${schema.maxItems} items`);
        value.forEach((v, i) => problems.push(...(schema.items ? schemaProblems(v, schema.items, `${at}[${i}]`) : [])));
    }
    if (isObject) {
        const o = value as Record<string, unknown>;
        const keys = Object.keys(o);
        if (schema.minProperties !== undefined && keys.length < schema.minProperties) fail(`fewer than ${schema.minProperties} fields`);
        if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) fail(`more than ${schema.maxProperties} fields`);
        for (const r of schema.required ?? []) {
            if (!(r in o)) fail(`${r} is required`);
        }
        for (const k of keys) {
            const sub = schema.properties?.[k];
            if (sub === undefined) {
                fail(`unknown field ${k}`);
            } else {
                problems.push(...schemaProblems(o[k], sub, `${at}.${k}`));
            }
        }
    }
    return problems;
}

/** A ClusterClass variable definition (v1beta2). */
interface ClassVariable {
    name: string;
    required: boolean;
    schema: { openAPIV3Schema: VariableSchema };
}

/** A template of a Cluster's topology, with the part of the topology it serves. */
export interface TopologyTemplate {
    /** `infrastructureCluster`, `controlPlane`, or `machineDeployment:<class>`. */
    role: string;
    /** The template after the ClusterClass's patches, as Cluster API would clone it. */
    object: TreeObject;
}

/** What Cluster API would make of a topology Cluster: its class, variables and patched templates. */
export interface ResolvedTopology {
    clusterClass: TreeObject;
    variables: Record<string, unknown>;
    templates: TopologyTemplate[];
}

/** Evaluates an `enabledIf` of the one form the tree uses: `{{ if .variable }}true{{ end }}`. */
function enabled(enabledIf: string | undefined, variables: Record<string, unknown>): boolean {
    if (enabledIf === undefined) {
        return true;
    }
    const m = /^\{\{ if \.([A-Za-z0-9_]+) \}\}true\{\{ end \}\}$/.exec(enabledIf);
    if (!m) {
        throw new TreeError(`enabledIf ${JSON.stringify(enabledIf)} is not of the form {{ if .variable }}true{{ end }}`);
    }
    const v = variables[m[1]];
    return v !== undefined && v !== null && v !== false && v !== 0 && v !== "";
}

/**
 * Resolves a topology Cluster against the objects of its environment the way Cluster API's
 * topology controller does: finds its ClusterClass and every template it references,
 * checks and defaults its variables, and applies the class's inline JSON patches to the
 * templates. Throws a TreeError listing every problem found.
 */
export function resolveTopology(cluster: TreeObject, objects: TreeObject[]): ResolvedTopology {
    const problems: string[] = [];
    const name = `Cluster ${cluster.metadata.name}`;
    const ns = cluster.metadata.namespace;
    const topology = cluster.spec?.topology;
    if (topology === undefined) {
        throw new TreeError(`${name} has no topology`);
    }
    const classNs = topology.classRef?.namespace ?? ns;
    const clusterClass = objects.find(
        (o) => o.kind === "ClusterClass" && o.metadata.name === topology.classRef?.name && o.metadata.namespace === classNs,
    );
    if (clusterClass === undefined) {
        throw new TreeError(`${name}: ClusterClass ${classNs}/${topology.classRef?.name} is not in the environment`);
    }

    const declared = (clusterClass.spec.variables ?? []) as ClassVariable[];
    const given = new Map<string, unknown>(((topology.variables ?? []) as { name: string; value: unknown }[]).map((v) => [v.name, v.value]));
    const variables: Record<string, unknown> = {};
    for (const g of given.keys()) {
        if (!declared.some((d) => d.name === g)) {
            problems.push(`${name}: variable ${g} is not declared by ClusterClass ${clusterClass.metadata.name}`);
        }
    }
    for (const d of declared) {
        const value = given.has(d.name) ? given.get(d.name) : d.schema.openAPIV3Schema.default;
        if (value === undefined) {
            if (d.required) {
                problems.push(`${name}: required variable ${d.name} is not set`);
            }
            continue;
        }
        problems.push(...schemaProblems(value, d.schema.openAPIV3Schema, `${name}: variable ${d.name}`));
        variables[d.name] = value;
    }

    const templates: TopologyTemplate[] = [];
    const resolve = (role: string, ref: { apiVersion: string; kind: string; name: string } | undefined, what: string) => {
        const found = ref && objects.find((o) => o.apiVersion === ref.apiVersion && o.kind === ref.kind && o.metadata.name === ref.name && o.metadata.namespace === clusterClass.metadata.namespace);
        if (!found) {
            problems.push(`ClusterClass ${clusterClass.metadata.name}: ${what} ${JSON.stringify(ref)} is not in the environment`);
        } else {
            templates.push({ role, object: found });
        }
    };
    const spec = clusterClass.spec;
    resolve("infrastructureCluster", spec.infrastructure?.templateRef, "infrastructure.templateRef");
    resolve("controlPlane", spec.controlPlane?.templateRef, "controlPlane.templateRef");
    resolve("controlPlane", spec.controlPlane?.machineInfrastructure?.templateRef, "controlPlane.machineInfrastructure.templateRef");
    for (const md of (topology.workers?.machineDeployments ?? []) as { class: string; name: string }[]) {
        const mdClass = (spec.workers?.machineDeployments ?? []).find((c: { class: string }) => c.class === md.class);
        if (mdClass === undefined) {
            problems.push(`${name}: machine deployment ${md.name} uses class ${md.class}, which ClusterClass ${clusterClass.metadata.name} does not define`);
            continue;
        }
        if (!templates.some((t) => t.role === `machineDeployment:${md.class}`)) {
            resolve(`machineDeployment:${md.class}`, mdClass.bootstrap?.templateRef, `workers ${md.class} bootstrap.templateRef`);
            resolve(`machineDeployment:${md.class}`, mdClass.infrastructure?.templateRef, `workers ${md.class} infrastructure.templateRef`);
        }
    }
    if (problems.length > 0) {
        throw new TreeError(problems.join("\n"));
    }

    for (const patch of (spec.patches ?? []) as { name: string; enabledIf?: string; definitions?: unknown[] }[]) {
        if (!enabled(patch.enabledIf, variables)) {
            continue;
        }
        for (const def of (patch.definitions ?? []) as {
            selector: { apiVersion: string; kind: string; matchResources: { controlPlane?: boolean; infrastructureCluster?: boolean; machineDeploymentClass?: { names: string[] } } };
            jsonPatches: { op: PatchOp["op"]; path: string; value?: unknown; valueFrom?: { variable?: string; template?: string } }[];
        }[]) {
            const m = def.selector.matchResources;
            const selected = (t: TopologyTemplate) =>
                t.object.apiVersion === def.selector.apiVersion &&
                t.object.kind === def.selector.kind &&
                ((m.controlPlane === true && t.role === "controlPlane") ||
                    (m.infrastructureCluster === true && t.role === "infrastructureCluster") ||
                    (m.machineDeploymentClass?.names ?? []).some((n) => t.role === `machineDeployment:${n}`));
            const ops: PatchOp[] = def.jsonPatches.map((p) => {
                if (p.valueFrom?.template !== undefined) {
                    throw new TreeError(`patch ${patch.name}: valueFrom.template is not supported by the tree reader`);
                }
                const variable = p.valueFrom?.variable;
                if (variable !== undefined && !(variable in variables)) {
                    throw new TreeError(`${name}: patch ${patch.name} uses variable ${variable}, which has no value`);
                }
                return { op: p.op, path: p.path, value: variable !== undefined ? variables[variable] : p.value };
            });
            for (const t of templates.filter(selected)) {
                try {
                    t.object = applyJsonPatch(t.object, ops);
                } catch (e) {
                    throw new TreeError(`${name}: patch ${patch.name} on ${t.object.kind} ${t.object.metadata.name}: ${(e as Error).message}`);
                }
            }
        }
    }
    return { clusterClass, variables, templates };
}
