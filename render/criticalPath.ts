/**
 * The critical path of a first `pulumi up`: the longest chain of dependent slow steps in the
 * resource graph, each weighted with its typical duration (the figures README.md gives for
 * "What `pulumi up` does"). Everything else (API calls that take seconds) weighs nothing but
 * still carries dependencies through. Pure: give it the recorded resources.
 */

/** The part of a recorded resource the computation needs. */
export interface GraphNode {
    /** Identity. */
    urn: string;
    /** Type token. */
    type: string;
    /** Logical name. */
    name: string;
    /** URNs it waits for. */
    dependsOn: string[];
}

/** A slow step and its typical duration. */
export interface TimedStep {
    /** What it is called in README.md. */
    label: string;
    /** Typical seconds (the middle of the documented range). */
    seconds: number;
}

/**
 * Typical durations of the slow steps, by `type` or `type::name`. Sources: docs/operations.md "What
 * `pulumi up` does" (tools under a minute, kind 2–5 min, ORC 1–2 min, Cluster API 3–10 min)
 * and what the cloud does (a server boots and cloud-init installs Docker in a few minutes).
 */
export const TYPICAL_STEPS: Readonly<Record<string, TimedStep>> = {
    "openstack:compute/instance:Instance": { label: "server boots (Nova)", seconds: 60 },
    "command:remote:Command::wait-ready": { label: "cloud-init finishes (Docker installed)", seconds: 180 },
    "command:remote:Command::install-tools": { label: "tools installed", seconds: 45 },
    "command:remote:Command::kind-cluster": { label: "kind cluster created", seconds: 210 },
    "command:remote:Command::cert-renewal": { label: "certificate renewal timer installed and checked", seconds: 10 },
    "command:remote:Command::kubeconfig": { label: "kubeconfig read", seconds: 5 },
    "command:remote:Command::api-cert-expiry": { label: "certificate expiry read", seconds: 5 },
    "command:remote:Command::workload-teardown": { label: "teardown script checked", seconds: 5 },
    "command:remote:Command::orc": { label: "ORC installed", seconds: 90 },
    "command:remote:Command::capi-providers": { label: "clusterctl init (Cluster API, CAPO, CAAPH, cert-manager)", seconds: 390 },
    "kubernetes:yaml/v2:ConfigFile::flux-install": { label: "Flux installed", seconds: 60 },
    "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository": { label: "GitRepository created", seconds: 5 },
    "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization": { label: "root Kustomization created", seconds: 5 },
};

/** The duration of a resource, if it is a slow step. */
export function typicalStep(r: GraphNode): TimedStep | undefined {
    return TYPICAL_STEPS[`${r.type}::${r.name}`] ?? TYPICAL_STEPS[r.type];
}

/** The longest chain: its steps in run order and their total. */
export interface CriticalPath {
    /** The slow steps of the chain, first to last, with their resource names. */
    steps: (TimedStep & { name: string })[];
    /** Their typical total, seconds. */
    totalSeconds: number;
}

/**
 * The longest chain of dependencies by total duration. Resources that are not slow steps
 * weigh zero but pass their dependencies on. Throws on a dependency cycle.
 */
export function criticalPath(nodes: GraphNode[], weigh: (r: GraphNode) => TimedStep | undefined = typicalStep): CriticalPath {
    const byUrn = new Map(nodes.map((n) => [n.urn, n]));
    const best = new Map<string, { total: number; prev?: string }>();
    const visiting = new Set<string>();
    const visit = (n: GraphNode): { total: number; prev?: string } => {
        const known = best.get(n.urn);
        if (known) {
            return known;
        }
        if (visiting.has(n.urn)) {
            throw new Error(`dependency cycle through ${n.type}::${n.name}`);
        }
        visiting.add(n.urn);
        let longest: { total: number; prev?: string } = { total: 0 };
        for (const d of n.dependsOn) {
            const dep = byUrn.get(d);
            if (dep) {
                const t = visit(dep).total;
                if (longest.prev === undefined || t > longest.total) {
                    longest = { total: t, prev: d };
                }
            }
        }
        visiting.delete(n.urn);
        const result = { total: longest.total + (weigh(n)?.seconds ?? 0), prev: longest.prev };
        best.set(n.urn, result);
        return result;
    };
    let end: GraphNode | undefined;
    for (const n of nodes) {
        if (!end || visit(n).total > visit(end).total) {
            end = n;
        }
    }
    const steps: (TimedStep & { name: string })[] = [];
    for (let cur = end; cur; cur = best.get(cur.urn)?.prev ? byUrn.get(best.get(cur.urn)!.prev!) : undefined) {
        const step = weigh(cur);
        if (step) {
            steps.unshift({ name: cur.name, ...step });
        }
    }
    return { steps, totalSeconds: end ? visit(end).total : 0 };
}

/** The critical path as text, for `npm run bench`. */
export function criticalPathReport(stack: string, path: CriticalPath): string {
    const minutes = (s: number) => `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
    return [
        `critical path of a first up of ${stack} (typical durations, total ${minutes(path.totalSeconds)}):`,
        ...path.steps.map((s) => `  ${minutes(s.seconds).padStart(6)}  ${s.name}: ${s.label}`),
    ].join("\n");
}
