/**
 * The mock-engine graph of a stack as a comparable snapshot: per resource its URN, type,
 * parent, custom flag, dependencies, safety options and a digest of each input (secrets
 * digested apart from plain values, so a secret turning plain or plain turning secret
 * shows). test/graphIdentity.spec.ts compares it with the snapshot checked in under
 * test/fixtures/graph/ to prove that moving code changed no URN and no input.
 */
import { createHash } from "crypto";
import { isSecretValue, RecordedResource } from "../render/engine";
import { runStack } from "./harness";

/** One resource of the snapshot. */
export interface GraphNode {
    urn: string;
    type: string;
    custom: boolean;
    parent: string | null;
    dependsOn: string[];
    propertyDependencies: Record<string, string[]>;
    options: Record<string, unknown>;
    /** Per input key, the SHA-256 of its canonical JSON (secrets as `{secret: <digest>}`). */
    inputs: Record<string, string>;
}

/** The snapshot of one stack. */
export interface GraphSnapshot {
    stack: string;
    resources: GraphNode[];
}

/** Canonical form: sorted keys, secrets replaced by the digest of their canonical value. */
function canonical(v: unknown): unknown {
    if (isSecretValue(v)) {
        return { secret: digest(canonical(v.value)) };
    }
    if (Array.isArray(v)) {
        return v.map(canonical);
    }
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(
            Object.keys(v)
                .sort()
                .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
        );
    }
    return v;
}

function digest(v: unknown): string {
    return createHash("sha256")
        .update(JSON.stringify(v ?? null))
        .digest("hex");
}

/** The snapshot node of a recorded resource. */
export function graphNode(r: RecordedResource): GraphNode {
    const sortedValues = (m: Record<string, string[]>) =>
        Object.fromEntries(
            Object.keys(m)
                .sort()
                .map((k) => [k, [...m[k]].sort()]),
        );
    return {
        urn: r.urn,
        type: r.type,
        custom: r.custom,
        parent: r.parent ?? null,
        dependsOn: [...r.dependsOn].sort(),
        propertyDependencies: sortedValues(r.propertyDependencies),
        options: canonical(r.options) as Record<string, unknown>,
        inputs: Object.fromEntries(
            Object.keys(r.inputs)
                .sort()
                .map((k) => [k, digest(canonical(r.inputs[k]))]),
        ),
    };
}

/** Evaluates a stack (its Pulumi.<stack>.yaml, the default simulated cloud) and snapshots its graph, sorted by URN. */
export async function graphSnapshot(stack: string): Promise<GraphSnapshot> {
    const run = await runStack(stack);
    const resources = run.resources.map(graphNode).sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
    return { stack, resources };
}
