/**
 * Small helpers over Kubernetes objects for the integration assertions.
 */
import { stringify as toYaml } from "yaml";
import { KubeObject } from "./controlPlane";

/** Deep copy. */
export function clone<T>(v: T): T {
    return JSON.parse(JSON.stringify(v)) as T;
}

/** Objects as one YAML stream. */
export function yamlStream(objs: KubeObject[]): string {
    return objs.map((o) => toYaml(o)).join("---\n");
}

/** Value at a dotted path ("spec.template.spec.flavor"; numeric segments index arrays). */
export function at(obj: unknown, dotted: string): unknown {
    let cur: unknown = obj;
    for (const seg of dotted.split(".")) {
        if (cur === null || cur === undefined || typeof cur !== "object") {
            return undefined;
        }
        cur = (cur as Record<string, unknown>)[seg];
    }
    return cur;
}

/**
 * Where `actual` does not contain `expected`: every leaf of `expected` must be equal in `actual`
 * (objects compared key by key, arrays element by element with equal length). Extra fields in
 * `actual` (server defaults) are fine. Returns one line per difference.
 */
export function subsetDiff(actual: unknown, expected: unknown, where = ""): string[] {
    if (expected === null || typeof expected !== "object") {
        return actual === expected ? [] : [`${where || "."}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
    }
    if (Array.isArray(expected)) {
        if (!Array.isArray(actual) || actual.length !== expected.length) {
            return [`${where}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
        }
        return expected.flatMap((e, i) => subsetDiff(actual[i], e, `${where}[${i}]`));
    }
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) {
        return [`${where}: expected an object, got ${JSON.stringify(actual)}`];
    }
    return Object.entries(expected as Record<string, unknown>).flatMap(([k, v]) => subsetDiff((actual as Record<string, unknown>)[k], v, `${where}.${k}`));
}

/** A Cluster's topology variables as name → value. */
export function clusterVariables(cluster: KubeObject): Record<string, unknown> {
    const vars = (at(cluster, "spec.topology.variables") as { name: string; value: unknown }[] | undefined) ?? [];
    return Object.fromEntries(vars.map((v) => [v.name, v.value]));
}

/** `name=value` pairs of a kubeadm v1beta2 extra-args list (or a v1beta1 map). */
export function argMap(args: unknown): Record<string, string> {
    if (Array.isArray(args)) {
        return Object.fromEntries((args as { name: string; value: string }[]).map((a) => [a.name, a.value]));
    }
    return (args as Record<string, string> | undefined) ?? {};
}

/** True when a condition of `type` has status True. */
export function conditionTrue(obj: KubeObject | undefined, type: string): boolean {
    const conds = (at(obj, "status.conditions") as { type: string; status: string }[] | undefined) ?? [];
    return conds.some((c) => c.type === type && c.status === "True");
}

/** One condition, for messages. */
export function condition(obj: KubeObject | undefined, type: string): unknown {
    const conds = (at(obj, "status.conditions") as { type: string }[] | undefined) ?? [];
    return conds.find((c) => c.type === type);
}
