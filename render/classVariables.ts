/**
 * A ClusterClass's variables as the tree's rules read them: the class a topology Cluster
 * names, the Cluster's values with the class's top-level defaults, and each value checked
 * against its OpenAPI schema with ajv, as Cluster API's webhook does first.
 *
 * The schemas' CEL rules (`x-kubernetes-validations`) are not evaluated here: Cluster API's
 * webhook judges them in the test bed (test/integration/stacks.integration.ts), and the
 * workload cluster's expanded objects come from its real topology controller (render
 * `--topology`, render/topologyBed.ts), not from a reader of its templates.
 */
import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import { isVariableReference, type TreeObject } from "./gitopsTree";
import { TreeError } from "./treeError";

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
 * Problems of `value` against a variable's schema: OpenAPI validation with ajv (unknown
 * object fields refused as Cluster API does). The CEL rules that Cluster API checks after
 * a passing schema are left to it (see the file's header). A value that is a whole
 * `${NAME}` reference (a tree read without Flux's substitution) is not judged.
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
    return (validate.errors ?? [])
        .filter((e) => !isVariableReference(valueAt(value, e.instancePath)))
        .map((e) => `${at}${e.instancePath.replace(/\//g, ".")}: ${describe(e)}`);
}

/**
 * The part of `value` a JSON pointer names. A `${NAME}` there is Flux's to fill (a tree read
 * without Flux's substitution): its schema is judged once substituted, in the integration suite.
 */
function valueAt(value: unknown, pointer: string): unknown {
    return pointer
        .split("/")
        .slice(1)
        .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
        .reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), value);
}

/** A ClusterClass variable definition (v1beta2). */
export interface ClassVariable {
    name: string;
    required: boolean;
    schema: { openAPIV3Schema: VariableSchema };
}

/**
 * The transition rule (CEL, judged by Cluster API's webhook: proven in
 * test/integration/stacks.integration.ts) that makes a variable create-only.
 */
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
