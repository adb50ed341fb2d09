/**
 * What the GitOps tree's rules read: the labels and names they rely on, and the objects of an
 * environment (render/gitopsTree.ts builds it as Flux does) by kind, unit and label selector.
 */
import { classOf, clusterVariables } from "./classVariables";
import { Environment, TreeError, TreeObject } from "./gitopsTree";

/** Label `clusterctl move` looks for on an object to take it along (clusterctl v1.14 objectgraph.go). */
export const MOVE_LABEL = "clusterctl.cluster.x-k8s.io/move";
/** Label of an ORC Image: the Kubernetes version it holds. */
export const VERSION_LABEL = "capi-mgmt.io/kubernetes-version";
/** Prefix of the add-on catalog's opt-in labels. */
export const ADDON_LABEL_PREFIX = "capi-mgmt.io/addon-";
/** An SCS standard flavor name (scs-0100): cpus, RAM, and optionally a local disk. */
export const SCS_FLAVOR = /^SCS-\d+[LVTC]i?-\d+(\.\d+)?[uo]*(?<disk>-(\d+x)?\d+[nhsp]?)?(_.*)?$/;
/** Control plane sizes etcd keeps a quorum with (an even count adds a node and no failure tolerance). */
export const CONTROL_PLANE_REPLICAS = [1, 3, 5];
/** Kinds kstatus cannot read the health of: each needs a health-check expression. */
export const NEEDS_HEALTH_EXPRESSION = ["ClusterClass", "Image", "HelmChartProxy", "Cluster", "ServerGroup"];

/** Every object an environment applies. */
export function objectsOf(env: Environment): TreeObject[] {
    return env.units.flatMap((u) => u.documents.map((d) => d.object));
}

/** The objects of one kind. */
export function ofKind(env: Environment, kind: string): TreeObject[] {
    return objectsOf(env).filter((o) => o.kind === kind);
}

/** Names of the Flux Kustomizations a unit waits for, directly or not. */
export function dependencies(env: Environment, name: string, seen = new Set<string>()): Set<string> {
    const unit = env.units.find((u) => u.kustomization.object.metadata.name === name);
    for (const d of (unit?.kustomization.object.spec.dependsOn ?? []) as { name: string }[]) {
        if (!seen.has(d.name)) {
            seen.add(d.name);
            dependencies(env, d.name, seen);
        }
    }
    return seen;
}

/** The Flux Kustomization that applies an object (undefined: none does). */
export function unitOf(env: Environment, o: TreeObject): string | undefined {
    return env.units.find((u) => u.documents.some((d) => d.object === o))?.kustomization.object.metadata.name;
}

/** A Kubernetes label selector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist), ANDed. */
export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

/** Whether a label selector selects an object, as apimachinery's LabelSelectorAsSelector does. */
export function selects(selector: LabelSelector, o: TreeObject): boolean {
    const labels = o.metadata.labels ?? {};
    const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
    return (
        byLabels &&
        (selector.matchExpressions ?? []).every((e) => {
            switch (e.operator) {
                case "In":
                    return e.key in labels && (e.values ?? []).includes(labels[e.key]);
                case "NotIn":
                    return !(e.key in labels) || !(e.values ?? []).includes(labels[e.key]);
                case "Exists":
                    return e.key in labels;
                case "DoesNotExist":
                    return !(e.key in labels);
                default:
                    throw new TreeError(`unknown selector operator ${String((e as { operator: string }).operator)}`);
            }
        })
    );
}

/** The label keys a selector reads. */
export function selectorKeys(selector: LabelSelector): string[] {
    return [...new Set([...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((e) => e.key)])].sort();
}

/** The Cluster's variables with the class's defaults, or undefined when its class is missing. */
export function variablesOf(cluster: TreeObject, all: TreeObject[], problems: string[]): Record<string, unknown> | undefined {
    try {
        return clusterVariables(cluster, classOf(cluster, all), problems);
    } catch (e) {
        problems.push(`Cluster ${cluster.metadata.name}: ${(e as Error).message}`);
        return undefined;
    }
}
