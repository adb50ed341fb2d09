/**
 * The program's in-cluster objects for a stack, exactly as the program defines them: the stack's
 * Pulumi.<stack>.yaml evaluated under the mock engine (as `npm run render` does), with the
 * `gitops` settings pointed at the test's Git server, and the recorded Kubernetes resources taken
 * with their real (secret) values. Plus the Flux and Cluster API helpers the Flux tests share.
 */
import { parse as parseYaml } from "yaml";
import { reveal } from "../../render/engine";
import { readStackConfigFile } from "../../render/render";
import { PROJECT_DIR, runStack } from "../harness";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { ManagedProcess, waitFor } from "./harness/processes";

/** Type token of the component that owns Flux's sync objects. */
const FLUX_SYNC_TYPE = "capi-mgmt:index:FluxSync";

/** What the test changes in the stack's `capi-mgmt:gitops`. */
export interface GitOpsOverrides {
    url: string;
    knownHosts: string;
    deployKey: string;
    /** age identity; undefined leaves SOPS off (no `sops-age` Secret, no decryption). */
    sopsAgeKey?: string;
    /** Reconcile interval of the GitRepository and the root Kustomization. */
    interval: string;
}

/** One object the program creates, with how Pulumi treats it. */
export interface ProgramObject {
    /** Pulumi resource name (e.g. `kustomization`). */
    resource: string;
    /** The object with secret values revealed. */
    object: KubeObject;
    /** Pulumi keeps it on delete (`retainOnDelete`), when the program says so. */
    retainOnDelete: boolean;
    /** Pulumi resource names it depends on (directly). */
    dependsOn: string[];
}

/** The program's objects for one stack. */
export interface ProgramObjects {
    /** The stack's `capi-mgmt:gitops` after the overrides. */
    gitops: Record<string, unknown>;
    /** The workload namespace the program creates. */
    namespace: ProgramObject;
    /** FluxSync's objects in the order the program registers them (Secrets, settings, source, sync). */
    flux: ProgramObject[];
}

/** Evaluates the program for `stack` with its gitops settings replaced by `o`. */
export async function programObjects(stack: string, o: GitOpsOverrides): Promise<ProgramObjects> {
    const file = readStackConfigFile(PROJECT_DIR, stack);
    const raw = file.config["capi-mgmt:gitops"];
    const current = (typeof raw === "string" ? parseYaml(raw) : raw) as Record<string, unknown>;
    const gitops: Record<string, unknown> = { ...current, url: o.url, knownHosts: o.knownHosts, deployKey: o.deployKey, interval: o.interval };
    if (o.sopsAgeKey !== undefined) {
        gitops.sopsAgeKey = o.sopsAgeKey;
    }
    const run = await runStack(stack, { gitops: JSON.stringify(gitops) });
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const toObject = (r: (typeof run.resources)[number]): ProgramObject => ({
        resource: r.name,
        object: reveal(r.inputs) as KubeObject,
        retainOnDelete: Boolean((r.options as Record<string, unknown>).retainOnDelete),
        dependsOn: r.dependsOn.map((u) => byUrn.get(u)?.name ?? u),
    });
    const sync = run.all(FLUX_SYNC_TYPE);
    if (sync.length !== 1) {
        throw new Error(`expected one ${FLUX_SYNC_TYPE} in stack ${stack}, found ${sync.length}`);
    }
    const flux = run.resources.filter((r) => r.custom && r.parent === sync[0].urn && typeof r.inputs.kind === "string").map(toObject);
    const ns = run.resources.filter((r) => r.custom && r.inputs.kind === "Namespace");
    if (ns.length !== 1) {
        throw new Error(`expected the program to create one Namespace, found ${ns.length}`);
    }
    return { gitops, namespace: toObject(ns[0]), flux };
}

/** The object of kind `kind` among `objs`. */
export function objectOf(objs: ProgramObject[], kind: string): KubeObject {
    const found = objs.filter((o) => o.object.kind === kind);
    if (found.length !== 1) {
        throw new Error(`expected one ${kind} among the program's Flux objects, found ${found.length}`);
    }
    return found[0].object;
}

/** A condition as Flux and Cluster API write it. */
export interface Condition {
    type: string;
    status: string;
    reason?: string;
    message?: string;
    lastTransitionTime?: string;
}

/** The condition `type` of an object. */
export function cond(obj: KubeObject | undefined, type: string): Condition | undefined {
    return ((obj?.status?.conditions as Condition[] | undefined) ?? []).find((c) => c.type === type);
}

/** One line describing an object's Ready condition, for messages. */
export function describeReady(obj: KubeObject | undefined): string {
    if (!obj) {
        return "(absent)";
    }
    const c = cond(obj, "Ready");
    return c ? `Ready=${c.status} ${c.reason ?? ""}: ${c.message ?? ""}` : "(no Ready condition yet)";
}

/** Flux's view of the sync, for failure messages. */
export function fluxState(cp: ControlPlane): string {
    const lines: string[] = [];
    for (const kind of ["gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io"]) {
        const r = cp.kubectl(["get", kind, "-A", "-o", "json"]);
        if (r.status !== 0) {
            lines.push(`${kind}: ${r.stderr.trim()}`);
            continue;
        }
        for (const o of (JSON.parse(r.stdout) as { items: KubeObject[] }).items) {
            const rev = (o.status?.artifact as { revision?: string } | undefined)?.revision ?? o.status?.lastAppliedRevision ?? "";
            lines.push(`${o.kind} ${o.metadata.namespace}/${o.metadata.name} ${rev}: ${describeReady(o)}`);
        }
    }
    return lines.join("\n");
}

/** Polls until `probe` gives a value; failures carry Flux's state and the controllers' logs. */
export async function until<T>(cp: ControlPlane, watched: ManagedProcess[], what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
    try {
        return await waitFor(what, async () => probe(), { timeoutMs, intervalMs: 1000, watched });
    } catch (err) {
        throw new Error(`${(err as Error).message}\nFlux objects:\n${fluxState(cp)}`);
    }
}

/** Flux's resource names. */
export const GIT_REPOSITORY = "gitrepositories.source.toolkit.fluxcd.io";
export const KUSTOMIZATION = "kustomizations.kustomize.toolkit.fluxcd.io";

/** The GitRepository's artifact revision (`main@sha1:<sha>`, `v1.1.0@sha1:<sha>`). */
export function artifactRevision(obj: KubeObject | undefined): string | undefined {
    return (obj?.status?.artifact as { revision?: string } | undefined)?.revision;
}

/** Ids of a Kustomization's inventory (`<ns>_<name>_<group>_<Kind>`). */
export function inventory(obj: KubeObject | undefined): string[] {
    return ((obj?.status?.inventory as { entries?: { id: string }[] } | undefined)?.entries ?? []).map((e) => e.id);
}

/**
 * Stands in for what needs OpenStack or a workload cluster: ORC reporting each node Image
 * Available (it would have imported or uploaded it to Glance) and CAAPH reporting each
 * HelmChartProxy's specs up to date (it would have matched the Clusters). Writes only the
 * status subresource, as those controllers do; returns the names it marked.
 */
export function simulateOrcAndCaaph(cp: ControlPlane, namespace: string): string[] {
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const marked: string[] = [];
    const mark = (resource: string, type: string) => {
        for (const o of cp.list(resource, { namespace })) {
            if (cond(o, type)?.status === "True") {
                continue;
            }
            const status = {
                conditions: [
                    {
                        type,
                        status: "True",
                        reason: "TestBedStandIn",
                        message: "set by the test bed in place of a controller that needs OpenStack",
                        lastTransitionTime: now,
                    },
                ],
                ...(resource.startsWith("helmchartproxies") ? { observedGeneration: o.metadata.generation } : {}),
            };
            cp.kubectlOk(["patch", resource, o.metadata.name, "-n", namespace, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
            marked.push(`${o.kind}/${o.metadata.name}`);
        }
    };
    mark("images.openstack.k-orc.cloud", "Available");
    mark("helmchartproxies.addons.cluster.x-k8s.io", "HelmReleaseProxySpecsUpToDate");
    return marked;
}
