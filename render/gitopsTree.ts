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
import { FLUX_SETTINGS_CONFIGMAP } from "../src/shared/contract";
import { celProblems } from "./variableCel";
import { TreeError } from "./treeError";

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

export { TreeError } from "./treeError";

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

// strictRequired off: Kubernetes' structural schemas put `required` in anyOf branches
// (e.g. "http or https") without repeating the properties there.
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
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
 * Problems of `value` against a variable's schema, in Cluster API's order: OpenAPI
 * validation with ajv (unknown object fields refused as Cluster API does), then, only if
 * that passes (Cluster API skips CEL after a schema error), the CEL rules the tree reader
 * understands ({@link celProblems}; transition rules: {@link transitionProblems}).
 */
export function schemaProblems(value: unknown, schema: VariableSchema, at: string): string[] {
    let validate = compiled.get(schema);
    if (validate === undefined) {
        validate = ajv.compile(closed(schema));
        compiled.set(schema, validate);
    }
    if (validate(value)) {
        return celProblems(value, schema, at);
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

/** The other transition rule it understands: create-only, except a change to `field == 'value'`. */
const ESCAPE_RULE = /^self == oldSelf \|\| self\.([A-Za-z_]\w*) == '([^'\\]*)'$/;

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
 * into the Cluster). Only the rule {@link CREATE_ONLY_RULE} on a variable's top level, alone or
 * as `self == oldSelf || self.<field> == '<value>'` (a change to that value passes), is
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
            // Create-only, or create-only but for a change to one value of a field (an escape hatch).
            const escape = ESCAPE_RULE.exec(rule.rule);
            if (rule.rule !== CREATE_ONLY_RULE && !escape) {
                throw new TreeError(`ClusterClass ${clusterClass.metadata.name}: variable ${d.name}: transition rule ${JSON.stringify(rule.rule)} is not understood by the tree reader`);
            }
            const escaped = escape !== null && (after[d.name] as Record<string, unknown> | undefined)?.[escape[1]] === escape[2];
            if (d.name in before && d.name in after && !escaped && JSON.stringify(before[d.name]) !== JSON.stringify(after[d.name])) {
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

/** A parsed node of a Go template (the subset {@link executeGoTemplate} understands). */
type TemplateNode =
    | { kind: "text"; text: string }
    | { kind: "print"; expr: TemplateExpr; source: string }
    | { kind: "if" | "with" | "range"; expr: TemplateExpr; body: TemplateNode[]; otherwise: TemplateNode[] };

/** An expression of a template action: a field chain, a literal, or a function call. */
type TemplateExpr =
    | { kind: "field"; from: "dot" | "root"; path: string[]; source: string }
    | { kind: "literal"; value: string | number }
    | { kind: "call"; fn: string; args: TemplateExpr[]; path: string[] };

/** Functions of Go's text/template and sprig that the tree's templates use. */
const TEMPLATE_FUNCTIONS = new Set(["and", "or", "not", "eq", "ne", "gt", "lt", "len", "index", "regexMatch"]);

/** Go's truthiness: false, 0, nil, "" and empty lists and maps are false. */
function goTruth(v: unknown): boolean {
    if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
    if (Array.isArray(v)) return v.length > 0;
    if (typeof v === "object") return Object.keys(v as object).length > 0;
    return true;
}

/** Splits an action's text into words: strings, numbers, parenthesised groups (with a field chain after them), names. */
function actionWords(text: string, fail: (msg: string) => never): string[] {
    const words: string[] = [];
    let i = 0;
    while (i < text.length) {
        const ch = text[i];
        if (/\s/.test(ch)) {
            i++;
        } else if (ch === '"') {
            let j = i + 1;
            while (j < text.length && text[j] !== '"') {
                if (text[j] === "\\") fail(`escapes in string literals: ${text}`);
                j++;
            }
            if (j >= text.length) fail(`unterminated string: ${text}`);
            words.push(text.slice(i, j + 1));
            i = j + 1;
        } else if (ch === "(") {
            let depth = 0;
            let j = i;
            for (; j < text.length; j++) {
                if (text[j] === '"') {
                    j = text.indexOf('"', j + 1);
                    if (j < 0) fail(`unterminated string: ${text}`);
                } else if (text[j] === "(") depth++;
                else if (text[j] === ")" && --depth === 0) break;
            }
            if (depth !== 0) fail(`unbalanced parentheses: ${text}`);
            let k = j + 1;
            while (k < text.length && /[A-Za-z0-9_.]/.test(text[k])) k++;
            words.push(text.slice(i, k));
            i = k;
        } else {
            let j = i;
            while (j < text.length && !/[\s()"]/.test(text[j])) j++;
            words.push(text.slice(i, j));
            i = j;
        }
    }
    return words;
}

function parseOperand(word: string, fail: (msg: string) => never): TemplateExpr {
    if (word.startsWith('"')) return { kind: "literal", value: word.slice(1, -1) };
    if (/^-?\d+$/.test(word)) return { kind: "literal", value: Number(word) };
    if (word === ".") return { kind: "field", from: "dot", path: [], source: word };
    if (word === "$") return { kind: "field", from: "root", path: [], source: word };
    const field = /^(\$)?((?:\.[A-Za-z_][A-Za-z0-9_]*)+)$/.exec(word);
    if (field) return { kind: "field", from: field[1] ? "root" : "dot", path: field[2].slice(1).split("."), source: word };
    const group = /^\((.*)\)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)$/s.exec(word);
    if (group) {
        const inner = parseExpression(group[1], fail);
        if (inner.kind !== "call") fail(`a parenthesised operand that is not a call: ${word}`);
        return { ...inner, path: group[2] ? group[2].slice(1).split(".") : [] };
    }
    return fail(`operand ${word}`);
}

function parseExpression(text: string, fail: (msg: string) => never): TemplateExpr {
    if (/\|/.test(text.replace(/"[^"]*"/g, ""))) fail(`pipelines: ${text}`);
    if (/:=|=/.test(text.replace(/"[^"]*"/g, ""))) fail(`template variables: ${text}`);
    const words = actionWords(text, fail);
    if (words.length === 0) fail("an empty action");
    if (/^[A-Za-z]\w*$/.test(words[0])) {
        if (!TEMPLATE_FUNCTIONS.has(words[0])) fail(`function ${words[0]}`);
        return { kind: "call", fn: words[0], args: words.slice(1).map((w) => parseOperand(w, fail)), path: [] };
    }
    if (words.length !== 1) fail(`arguments to a non-function: ${text}`);
    return parseOperand(words[0], fail);
}

/** Parses a Go template into nodes; `fail` reports what is not understood. */
function parseGoTemplate(template: string, fail: (msg: string) => never): TemplateNode[] {
    const root: TemplateNode[] = [];
    const stack: { node: Extract<TemplateNode, { body: TemplateNode[] }>; inElse: boolean }[] = [];
    const out = () => (stack.length === 0 ? root : stack[stack.length - 1].inElse ? stack[stack.length - 1].node.otherwise : stack[stack.length - 1].node.body);
    const re = /\{\{(-\s)?\s*(.*?)\s*(\s-)?\}\}/gs;
    let last = 0;
    let trimNext = false;
    for (let m = re.exec(template); m !== null; m = re.exec(template)) {
        let text = template.slice(last, m.index);
        if (trimNext) text = text.replace(/^\s+/, "");
        if (m[1]) text = text.replace(/\s+$/, "");
        if (text) out().push({ kind: "text", text });
        trimNext = m[3] !== undefined;
        last = m.index + m[0].length;
        const action = m[2];
        const block = /^(if|with|range)\s+(.*)$/s.exec(action);
        if (block) {
            const node = { kind: block[1] as "if" | "with" | "range", expr: parseExpression(block[2], fail), body: [], otherwise: [] };
            out().push(node);
            stack.push({ node, inElse: false });
        } else if (action === "else") {
            const top = stack[stack.length - 1];
            if (!top || top.inElse) fail("else without if");
            top.inElse = true;
        } else if (action === "end") {
            if (!stack.pop()) fail("end without if");
        } else if (/^(else\s|define|template|block|break|continue|\/\*)/.test(action)) {
            fail(`action {{ ${action} }}`);
        } else {
            out().push({ kind: "print", expr: parseExpression(action, fail), source: action });
        }
    }
    let tail = template.slice(last);
    if (trimNext) tail = tail.replace(/^\s+/, "");
    if (tail) out().push({ kind: "text", text: tail });
    if (stack.length > 0) fail(`${stack[stack.length - 1].node.kind} without end`);
    return root;
}

/**
 * Executes a Go template (text/template with sprig's functions, as Cluster API renders a
 * patch's `valueFrom.template` and `enabledIf`) over `data`, for the subset the tree uses:
 * field chains (`.a.b`, `$.a`, `.`), `if`/`with`/`range` with `else`, trim markers, string and
 * integer literals, and the functions and, or, not, eq, ne, gt, lt, len, index, regexMatch.
 * As in Go: a missing map key is nil (false in `if`, no iteration in `range`), a field of nil
 * is an error. Printing nil, a list or a map is refused (Go would print `<no value>` or
 * `map[...]`, never what a patch wants). Anything else is refused rather than misread.
 */
export function executeGoTemplate(template: string, data: Record<string, unknown>, where: string): string {
    const fail = (msg: string): never => {
        throw new TreeError(`${where}: template ${msg} is not understood by the tree reader`);
    };
    const error = (msg: string): never => {
        throw new TreeError(`${where}: template: ${msg}`);
    };
    const nodes = parseGoTemplate(template, fail);
    const follow = (value: unknown, path: string[], source: string): unknown => {
        let v = value;
        for (const [i, key] of path.entries()) {
            if (v === undefined || v === null) error(`nil pointer evaluating ${source} (at .${path.slice(0, i + 1).join(".")})`);
            if (typeof v !== "object" || Array.isArray(v)) error(`can't evaluate field ${key} in ${source}`);
            v = (v as Record<string, unknown>)[key];
        }
        return v;
    };
    const evaluate = (e: TemplateExpr, dot: unknown): unknown => {
        if (e.kind === "literal") return e.value;
        if (e.kind === "field") return follow(e.from === "root" ? data : dot, e.path, e.source);
        const args = () => e.args.map((a) => evaluate(a, dot));
        let result: unknown;
        switch (e.fn) {
            case "and":
            case "or": {
                if (e.args.length < 1) error(`${e.fn} needs arguments`);
                for (const a of e.args) {
                    result = evaluate(a, dot);
                    if (goTruth(result) === (e.fn === "or")) break;
                }
                break;
            }
            case "not":
                if (e.args.length !== 1) error("not takes one argument");
                result = !goTruth(evaluate(e.args[0], dot));
                break;
            case "eq":
            case "ne":
            case "gt":
            case "lt": {
                const [a, b] = args();
                if (e.args.length !== 2 || typeof a !== typeof b || !["string", "number", "boolean"].includes(typeof a)) {
                    error(`${e.fn} of incompatible values ${JSON.stringify(a)} and ${JSON.stringify(b)}`);
                }
                result = e.fn === "eq" ? a === b : e.fn === "ne" ? a !== b : e.fn === "gt" ? (a as number) > (b as number) : (a as number) < (b as number);
                break;
            }
            case "len": {
                const [a] = args();
                if (typeof a === "string" || Array.isArray(a)) result = a.length;
                else if (a !== null && typeof a === "object") result = Object.keys(a).length;
                else error(`len of ${a === undefined ? "nil" : typeof a}`);
                break;
            }
            case "index": {
                const [list, i] = args();
                if (!Array.isArray(list) || typeof i !== "number") error("index of a non-list or with a non-integer");
                if ((i as number) < 0 || (i as number) >= (list as unknown[]).length) error(`index out of range: ${i}`);
                result = (list as unknown[])[i as number];
                break;
            }
            case "regexMatch": {
                const [re, str] = args();
                if (typeof re !== "string" || typeof str !== "string") error("regexMatch of non-strings");
                result = new RegExp(re as string).test(str as string);
                break;
            }
            default:
                fail(`function ${e.fn}`);
        }
        return follow(result, e.path, `(${e.fn} ...)`);
    };
    const run = (list: TemplateNode[], dot: unknown): string =>
        list
            .map((n) => {
                if (n.kind === "text") return n.text;
                if (n.kind === "print") {
                    const v = evaluate(n.expr, dot);
                    if (v === undefined || v === null) {
                        const top = n.expr.kind === "field" && n.expr.from === "dot" && dot === data && n.expr.path.length === 1;
                        return error(top ? `template uses variable ${n.expr.kind === "field" ? n.expr.path[0] : ""}, which has no value` : `{{ ${n.source} }} has no value`);
                    }
                    if (typeof v === "object") {
                        const top = n.expr.kind === "field" && n.expr.from === "dot" && dot === data && n.expr.path.length === 1;
                        return error(`${top ? `template uses variable ${n.expr.kind === "field" ? n.expr.path[0] : ""}, which has` : `{{ ${n.source} }} has`} no scalar value`);
                    }
                    return String(v);
                }
                const v = evaluate(n.expr, dot);
                if (n.kind === "if") return run(goTruth(v) ? n.body : n.otherwise, dot);
                if (n.kind === "with") return goTruth(v) ? run(n.body, v) : run(n.otherwise, dot);
                if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return run(n.otherwise, dot);
                if (!Array.isArray(v)) return error(`range over a non-list (${typeof v})`);
                return v.map((item) => run(n.body, item)).join("");
            })
            .join("");
    return run(nodes, data);
}

/**
 * What Cluster API's patch templates see: the Cluster's variables and the builtins the tree
 * uses, `builtin.cluster` (name, namespace, topology version and class, network: pods and
 * services CIDR blocks, service domain), as Cluster API v1.14 computes them.
 */
export function templateData(variables: Record<string, unknown>, cluster: TreeObject): Record<string, unknown> {
    const net = cluster.spec?.clusterNetwork as { pods?: { cidrBlocks?: string[] }; services?: { cidrBlocks?: string[] }; serviceDomain?: string } | undefined;
    const network =
        net === undefined
            ? undefined
            : Object.fromEntries(
                  Object.entries({ pods: net.pods?.cidrBlocks, services: net.services?.cidrBlocks, serviceDomain: net.serviceDomain }).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)),
              );
    const topology = cluster.spec?.topology;
    return {
        ...structuredClone(variables),
        builtin: {
            cluster: {
                name: cluster.metadata.name,
                ...(cluster.metadata.namespace !== undefined ? { namespace: cluster.metadata.namespace } : {}),
                ...(topology !== undefined ? { topology: { version: topology.version, classRef: { name: topology.classRef?.name, namespace: topology.classRef?.namespace ?? cluster.metadata.namespace } } } : {}),
                ...(network !== undefined ? { network } : {}),
            },
        },
    };
}

/** Whether a patch is on: its `enabledIf` rendered over the variables reads as YAML `true` (Cluster API's rule). */
export function patchEnabled(enabledIf: string | undefined, variables: Record<string, unknown>, cluster: TreeObject, where: string): boolean {
    if (enabledIf === undefined || enabledIf === "") {
        return true;
    }
    const text = executeGoTemplate(enabledIf, templateData(variables, cluster), `${where} enabledIf`);
    const docs = parseAllDocuments(text);
    return docs.length === 1 && docs[0].errors.length === 0 && docs[0].toJS() === true;
}

/**
 * A patch's `valueFrom.template` as Cluster API renders it: executed as a Go template
 * ({@link executeGoTemplate}) over the variables and builtins ({@link templateData}), the
 * output read as YAML, as Cluster API does.
 */
export function renderPatchTemplate(template: string, variables: Record<string, unknown>, cluster: TreeObject, where: string): unknown {
    const text = executeGoTemplate(template, templateData(variables, cluster), where);
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
        if (!patchEnabled(patch.enabledIf, variables, cluster, `${name}: patch ${patch.name}`)) {
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
                if (variable === undefined) {
                    return { op: p.op, path: p.path, value: p.value } as PatchOp;
                }
                // A field of an object variable by its dotted path (`apiLoadBalancer.provider`), as
                // Cluster API's GetVariableValue reads it.
                const [top, ...fields] = variable.split(".");
                let value: unknown = top in variables ? variables[top] : undefined;
                for (const f of fields) {
                    value = value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>)[f] : undefined;
                }
                if (value === undefined) {
                    throw new TreeError(`${name}: patch ${patch.name} uses variable ${variable}, which has no value`);
                }
                return { op: p.op, path: p.path, value } as PatchOp;
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
