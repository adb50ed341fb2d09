/**
 * Reads the GitOps tree (`gitops/`) the way Flux applies it, offline: the environment's
 * directory, then every Flux Kustomization found there, each built like kustomize-controller
 * does: `kubectl kustomize` (the real kustomize) on the Kustomization's path with its
 * `targetNamespace`, then `postBuild` substitution from the program's settings.
 *
 * It also resolves a topology Cluster against its ClusterClass the way Cluster API's webhook
 * and topology controller do for the parts the tree uses: variables defaulted and checked
 * against their OpenAPI schemas (ajv), transition rules between an old and a new Cluster,
 * and the class's inline JSON patches applied to its templates (fast-json-patch), with
 * values from variables or from simple templates (`{{ .variable }}`).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import { applyPatch, deepClone, JsonPatchError, Operation } from "fast-json-patch";
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

/** An object and where it came from: the directory kustomize built (relative to the tree's root). */
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

/** Error in the tree, naming the file or directory. */
export class TreeError extends Error {
    name = "TreeError";
}

/** The kubectl that builds the tree (`kubectl kustomize`); `KUBECTL` overrides. */
export function kubectlPath(): string {
    return process.env.KUBECTL ?? "kubectl";
}

/** Every object of a multi-document YAML text (empty documents skipped); `origin` names it in errors. */
export function parseObjects(text: string, origin: string): TreeDocument[] {
    const out: TreeDocument[] = [];
    for (const doc of parseAllDocuments(text)) {
        if (doc.errors.length > 0) {
            throw new TreeError(`${origin}: ${doc.errors[0].message}`);
        }
        const object = doc.toJS() as TreeObject | null;
        if (object === null || object === undefined) {
            continue;
        }
        if (typeof object.apiVersion !== "string" || typeof object.kind !== "string" || typeof object.metadata?.name !== "string") {
            throw new TreeError(`${origin}: a document without apiVersion, kind or metadata.name`);
        }
        out.push({ file: origin, object });
    }
    return out;
}

/**
 * Builds a directory of the tree with `kubectl kustomize`, as kustomize-controller does for
 * a Kustomization's path: with `namespace` set (its `targetNamespace`), kustomize's namespace
 * transformer puts every namespaced object there. `dir` is relative to `root`, and must hold
 * a kustomization.yaml: Flux would generate one for a directory without, but this tree always
 * writes its own, so that `kubectl kustomize` builds exactly what Flux applies.
 */
export function kustomizeBuild(root: string, dir: string, namespace?: string): TreeDocument[] {
    const rel = path.normalize(dir);
    const abs = path.resolve(root, rel);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
        throw new TreeError(`${rel}: no such directory`);
    }
    if (!fs.existsSync(path.join(abs, "kustomization.yaml"))) {
        throw new TreeError(`${rel}: no kustomization.yaml (every path Flux builds in this tree has one)`);
    }
    let target = abs;
    let wrapper: string | undefined;
    if (namespace !== undefined) {
        // What kustomize-controller does for targetNamespace: a kustomization that sets it.
        wrapper = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-kustomize-"));
        fs.writeFileSync(
            path.join(wrapper, "kustomization.yaml"),
            stringify({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", namespace, resources: [path.relative(wrapper, abs)] }),
        );
        target = wrapper;
    }
    try {
        // A built tree can exceed execFileSync's 1 MiB default output.
        const text = execFileSync(kubectlPath(), ["kustomize", target], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
        return parseObjects(text, rel);
    } catch (e) {
        if (e instanceof TreeError) {
            throw e;
        }
        const err = e as NodeJS.ErrnoException & { stderr?: string };
        if (err.code === "ENOENT") {
            throw new TreeError(`${kubectlPath()} not found: the tree is built with \`kubectl kustomize\``);
        }
        throw new TreeError(`${rel}: kubectl kustomize failed: ${String(err.stderr ?? err.message).trim()}`);
    } finally {
        if (wrapper !== undefined) {
            fs.rmSync(wrapper, { recursive: true, force: true });
        }
    }
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

/** True for a Flux Kustomization (not a kustomize one). */
export function isFluxKustomization(o: TreeObject): boolean {
    return o.kind === "Kustomization" && o.apiVersion.startsWith("kustomize.toolkit.fluxcd.io/");
}

/**
 * The environment Flux reconciles at `envPath` (relative to the tree's root, e.g.
 * `./clusters/dev`), with the values the program's settings ConfigMap provides.
 */
export function readEnvironment(root: string, envPath: string, settings: Record<string, string>): Environment {
    const rootDocs = kustomizeBuild(root, envPath).map((d) => substitute(d, settings));
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
            let documents = kustomizeBuild(root, spec.path, spec.targetNamespace);
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

/** One JSON patch (RFC 6902) operation. */
export type PatchOp = Operation;

/**
 * Applies JSON patch operations (RFC 6902, with fast-json-patch) to a copy of `doc`:
 * `replace`, `remove` and `test` need the path to exist, `add` needs its parent.
 */
export function applyJsonPatch<T>(doc: T, ops: PatchOp[]): T {
    try {
        return applyPatch(deepClone(doc), deepClone(ops) as Operation[], true, true).newDocument as T;
    } catch (e) {
        if (e instanceof JsonPatchError) {
            const op = e.operation as Operation | undefined;
            throw new TreeError(`${op ? `${op.op} ${op.path}` : "patch"}: ${e.name}${e.name === "TEST_OPERATION_FAILED" && op && "value" in op ? ` (expected ${JSON.stringify(op.value)})` : ""}`);
        }
        throw e;
    }
}

/** An OpenAPI v3 schema as ClusterClass variables use it (`spec.variables[].schema.openAPIV3Schema`). */
export interface VariableSchema {
    type?: "string" | "integer" | "number" | "boolean" | "array" | "object";
    default?: unknown;
    items?: VariableSchema;
    properties?: Record<string, VariableSchema>;
    "x-kubernetes-preserve-unknown-fields"?: boolean;
    "x-kubernetes-validations"?: { rule: string; message?: string }[];
    [keyword: string]: unknown;
}

/** Keywords of Cluster API's variable schemas (Kubernetes extensions) that JSON Schema does not have. */
const KUBERNETES_KEYWORDS = ["x-kubernetes-validations", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-metadata", "example"];

const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
for (const keyword of KUBERNETES_KEYWORDS) {
    ajv.addKeyword(keyword);
}
const compiled = new WeakMap<VariableSchema, ValidateFunction>();

/**
 * A variable schema as Cluster API applies it: an object with properties refuses fields it
 * does not list (CAPI reports what pruning would drop), unless it keeps unknown fields.
 */
function closed(schema: VariableSchema): VariableSchema {
    const out: VariableSchema = { ...schema };
    if (schema.items) out.items = closed(schema.items);
    if (schema.properties) {
        out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, closed(v)]));
        if (schema.additionalProperties === undefined && schema["x-kubernetes-preserve-unknown-fields"] !== true) {
            out.additionalProperties = false;
        }
    }
    return out;
}

function describe(e: ErrorObject): string {
    if (e.keyword === "additionalProperties") {
        return `unknown field ${(e.params as { additionalProperty: string }).additionalProperty}`;
    }
    return e.message ?? e.keyword;
}

/**
 * Problems of `value` against a variable's schema (OpenAPI validation with ajv; unknown
 * object fields refused as Cluster API does). CEL rules (`x-kubernetes-validations`) are
 * not evaluated here: see {@link transitionProblems} for the one form the tree uses.
 */
export function schemaProblems(value: unknown, schema: VariableSchema, at: string): string[] {
    let validate = compiled.get(schema);
    if (validate === undefined) {
        validate = ajv.compile(closed(schema));
        compiled.set(schema, validate);
    }
    if (validate(value)) {
        return [];
    }
    return (validate.errors ?? []).map((e) => `${at}${e.instancePath.replace(/\//g, ".")}: ${describe(e)}`);
}

/** A ClusterClass variable definition (v1beta2). */
export interface ClassVariable {
    name: string;
    required: boolean;
    schema: { openAPIV3Schema: VariableSchema };
}

/** The one transition rule the tree reader understands: the value may never change. */
export const CREATE_ONLY_RULE = "self == oldSelf";

/** The variables of a ClusterClass. */
export function classVariables(clusterClass: TreeObject): ClassVariable[] {
    return (clusterClass.spec?.variables ?? []) as ClassVariable[];
}

/**
 * A Cluster's variable values as Cluster API's webhook leaves them: given values, then the
 * top-level defaults of the class for those not given. Problems (undeclared, missing
 * required, schema) are added to `problems`.
 */
export function clusterVariables(cluster: TreeObject, clusterClass: TreeObject, problems: string[] = []): Record<string, unknown> {
    const name = `Cluster ${cluster.metadata.name}`;
    const declared = classVariables(clusterClass);
    const given = new Map<string, unknown>(((cluster.spec?.topology?.variables ?? []) as { name: string; value: unknown }[]).map((v) => [v.name, v.value]));
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
    return variables;
}

/**
 * What Cluster API's webhook refuses when `updated` replaces `old` (both already accepted
 * on their own): the variables' transition rules, evaluated with the old value as `oldSelf`
 * where the old Cluster had one (as CAPI does; defaults count, since its webhook writes them
 * into the Cluster). Only the rule {@link CREATE_ONLY_RULE} on a variable's top level is
 * understood; any other rule that uses `oldSelf` is refused loudly rather than misread.
 */
export function transitionProblems(old: TreeObject, updated: TreeObject, clusterClass: TreeObject): string[] {
    const before = clusterVariables(old, clusterClass);
    const after = clusterVariables(updated, clusterClass);
    const problems: string[] = [];
    for (const d of classVariables(clusterClass)) {
        for (const rule of d.schema.openAPIV3Schema["x-kubernetes-validations"] ?? []) {
            if (!/\boldSelf\b/.test(rule.rule)) {
                continue;
            }
            if (rule.rule !== CREATE_ONLY_RULE) {
                throw new TreeError(`ClusterClass ${clusterClass.metadata.name}: variable ${d.name}: transition rule ${JSON.stringify(rule.rule)} is not understood by the tree reader`);
            }
            if (d.name in before && d.name in after && JSON.stringify(before[d.name]) !== JSON.stringify(after[d.name])) {
                problems.push(`Cluster ${updated.metadata.name}: variable ${d.name}: ${rule.message ?? "Invalid value"}`);
            }
        }
    }
    return problems;
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

/** Evaluates an `enabledIf` of the one form the tree uses: `{{ if .variable }}true{{ end }}` (Go's truthiness). */
function enabled(enabledIf: string | undefined, variables: Record<string, unknown>): boolean {
    if (enabledIf === undefined) {
        return true;
    }
    const m = /^\{\{ if \.([A-Za-z0-9_]+) \}\}true\{\{ end \}\}$/.exec(enabledIf);
    if (!m) {
        throw new TreeError(`enabledIf ${JSON.stringify(enabledIf)} is not of the form {{ if .variable }}true{{ end }}`);
    }
    const v = variables[m[1]];
    if (Array.isArray(v)) return v.length > 0;
    if (v !== null && typeof v === "object") return Object.keys(v).length > 0;
    return v !== undefined && v !== null && v !== false && v !== 0 && v !== "";
}

/**
 * A patch's `valueFrom.template` as Cluster API renders it, for the one action the tree
 * uses: `{{ .variable }}` (a variable with a string, number or boolean value) and
 * `{{ .builtin.cluster.name }}` / `{{ .builtin.cluster.namespace }}`. The output is read as
 * YAML, as Cluster API does. Any other action is refused rather than misread.
 */
export function renderPatchTemplate(template: string, variables: Record<string, unknown>, cluster: TreeObject, where: string): unknown {
    const text = template.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_whole, action: string) => {
        const builtin = /^\.builtin\.cluster\.(name|namespace)$/.exec(action);
        if (builtin) {
            const value = cluster.metadata[builtin[1] as "name" | "namespace"];
            if (value === undefined) {
                throw new TreeError(`${where}: the Cluster has no ${builtin[1]}`);
            }
            return value;
        }
        const m = /^\.([A-Za-z][A-Za-z0-9_]*)$/.exec(action);
        if (!m) {
            throw new TreeError(`${where}: template action {{ ${action} }} is not understood by the tree reader`);
        }
        const value = variables[m[1]];
        if (!["string", "number", "boolean"].includes(typeof value)) {
            throw new TreeError(`${where}: template uses variable ${m[1]}, which has no ${value === undefined ? "value" : "scalar value"}`);
        }
        return String(value);
    });
    const docs = parseAllDocuments(text);
    if (docs.length !== 1 || docs[0].errors.length > 0) {
        throw new TreeError(`${where}: the rendered template is not one YAML document${docs[0]?.errors.length ? `: ${docs[0].errors[0].message}` : ""}`);
    }
    return docs[0].toJS();
}

/** The ClusterClass a topology Cluster names, among `objects`. */
export function classOf(cluster: TreeObject, objects: TreeObject[]): TreeObject {
    const topology = cluster.spec?.topology;
    if (topology === undefined) {
        throw new TreeError(`Cluster ${cluster.metadata.name} has no topology`);
    }
    const classNs = topology.classRef?.namespace ?? cluster.metadata.namespace;
    const clusterClass = objects.find((o) => o.kind === "ClusterClass" && o.metadata.name === topology.classRef?.name && o.metadata.namespace === classNs);
    if (clusterClass === undefined) {
        throw new TreeError(`Cluster ${cluster.metadata.name}: ClusterClass ${classNs}/${topology.classRef?.name} is not in the environment`);
    }
    return clusterClass;
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
    const topology = cluster.spec?.topology;
    const clusterClass = classOf(cluster, objects);
    const variables = clusterVariables(cluster, clusterClass, problems);

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
            jsonPatches: { op: "add" | "replace" | "remove"; path: string; value?: unknown; valueFrom?: { variable?: string; template?: string } }[];
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
                    return { op: p.op, path: p.path, value: renderPatchTemplate(p.valueFrom.template, variables, cluster, `${name}: patch ${patch.name}`) } as PatchOp;
                }
                const variable = p.valueFrom?.variable;
                if (variable !== undefined && !(variable in variables)) {
                    throw new TreeError(`${name}: patch ${patch.name} uses variable ${variable}, which has no value`);
                }
                return { op: p.op, path: p.path, value: variable !== undefined ? variables[variable] : p.value } as PatchOp;
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
