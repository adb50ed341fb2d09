/**
 * `npm run validate` rules about whether a Cluster fits what the cloud and the add-ons can
 * do (render/validate.ts runs them with the rules of render/gitopsRules.ts): the ingress
 * mode against the cluster's Octavia provider, pools against Nova's server-group quota.
 * Each problem names its Cluster (and pool).
 */
import { classOf, clusterVariables } from "./classVariables";
import type { TreeObject } from "./gitopsTree";

/** The label of the ingress-nginx add-on, and its value that needs OVN load balancers. */
export const INGRESS_LABEL = "capi-mgmt.io/addon-ingress-nginx";
export const INGRESS_OVN = "ovn";

/**
 * Nova's default `server_group_members` quota: servers one server group may hold. A pool
 * in a group needs its replicas plus the surge machine of a rollout (MachineDeployment's
 * default maxSurge 1, KubeadmControlPlane's one extra machine).
 */
export const NOVA_SERVER_GROUP_MEMBERS = 10;
export const ROLLOUT_SURGE = 1;

/** A Cluster's variables with the class's defaults; undefined when the class is missing (clusterProblems says so). */
function variables(cluster: TreeObject, all: TreeObject[]): Record<string, unknown> | undefined {
    try {
        return clusterVariables(cluster, classOf(cluster, all), []);
    } catch {
        return undefined;
    }
}

/**
 * ingress-nginx's `ovn` mode needs OVN load balancers, and OCCM (v1.35) takes the provider
 * from its cloud.conf only (no per-Service annotation), which the tree writes from the
 * Cluster's `apiLoadBalancer`: the mode works only on a Cluster whose provider is ovn.
 */
export function ingressProblems(all: TreeObject[]): string[] {
    const problems: string[] = [];
    for (const cluster of all.filter((o) => o.kind === "Cluster" && o.metadata.labels?.[INGRESS_LABEL] === INGRESS_OVN)) {
        const provider = (variables(cluster, all)?.apiLoadBalancer as { provider?: string } | undefined)?.provider;
        if (provider !== undefined && provider !== "ovn") {
            problems.push(
                `Cluster ${cluster.metadata.name}: label ${INGRESS_LABEL}=ovn needs OVN load balancers, but its cloud controller manager uses the provider of apiLoadBalancer (${provider}): ` +
                    `use ${INGRESS_LABEL}: octavia, or create the cluster with apiLoadBalancer {provider: ovn, allowListNotEnforced: acknowledged} (gitops/README.md, "ingress-nginx and the load balancer")`,
            );
        }
    }
    return problems;
}

/**
 * Every pool in a Nova server group fits Nova's default `server_group_members` (10) with
 * its rollout's surge machine: an 11th server is refused ("Quota exceeded, too many servers
 * in group"), so a 10-worker pool could not roll.
 */
export function serverGroupSizeProblems(all: TreeObject[], limit = NOVA_SERVER_GROUP_MEMBERS): string[] {
    const problems: string[] = [];
    for (const cluster of all.filter((o) => o.kind === "Cluster")) {
        const vars = variables(cluster, all) ?? {};
        const topology = cluster.spec?.topology ?? {};
        const pools: [string, number, unknown][] = [
            ["control plane", topology.controlPlane?.replicas ?? 1, vars.controlPlaneServerGroup],
            ...((topology.workers?.machineDeployments ?? []) as { name: string; replicas?: number }[]).map((md): [string, number, unknown] => [
                `pool ${md.name}`,
                md.replicas ?? 1,
                vars.workerServerGroup,
            ]),
        ];
        // Pools of one Cluster share the worker group: their sum counts.
        const byGroup = new Map<string, { what: string[]; servers: number }>();
        for (const [what, replicas, group] of pools) {
            if (typeof group !== "string" || group === "") continue;
            const g = byGroup.get(group) ?? { what: [], servers: 0 };
            g.what.push(`${what} (${replicas})`);
            g.servers += replicas;
            byGroup.set(group, g);
        }
        for (const [group, g] of byGroup) {
            if (g.servers + ROLLOUT_SURGE > limit) {
                problems.push(
                    `Cluster ${cluster.metadata.name}: ${g.what.join(" + ")} in server group ${group} need ${g.servers + ROLLOUT_SURGE} members during a rollout, ` +
                        `more than Nova's default server_group_members quota of ${limit}: the surge server would be refused and the pool could not roll; ` +
                        `leave workerServerGroup unset for this cluster (its workers then join no group), or ask for a higher quota (gitops/README.md, "Troubleshooting")`,
                );
            }
        }
    }
    return problems;
}

/** Nova's default `server_groups` quota: server groups per project. */
export const NOVA_SERVER_GROUPS = 10;

/**
 * The environment's ORC ServerGroups fit Nova's default `server_groups` quota of 10 per
 * project (two per example cluster: about five clusters). Nova refuses the 11th group with
 * 403 "Quota exceeded, too many server groups.", which ORC retries for ever.
 */
export function serverGroupCountProblems(all: TreeObject[], limit = NOVA_SERVER_GROUPS): string[] {
    const groups = all.filter((o) => o.kind === "ServerGroup" && o.spec?.managementPolicy !== "unmanaged");
    if (groups.length <= limit) return [];
    return [
        `${groups.length} ORC ServerGroups (${groups.map((g) => g.metadata.name).join(", ")}) are more than Nova's default server_groups quota of ${limit} per project: ` +
            `the last would never be created; ask for a higher quota, put clusters in another project, or leave a cluster's workerServerGroup unset (gitops/README.md, "Troubleshooting")`,
    ];
}

/**
 * Whether a Cluster's worker pools (together, with the rollout's surge server) fit one Nova
 * server group: where they do not, the workers go without one (placementProblems accepts
 * an unset workerServerGroup then), since soft anti-affinity is only a preference.
 */
export function workersFitServerGroup(cluster: TreeObject, limit = NOVA_SERVER_GROUP_MEMBERS): boolean {
    const pools = (cluster.spec?.topology?.workers?.machineDeployments ?? []) as { replicas?: number }[];
    return pools.reduce((n, md) => n + (md.replicas ?? 1), 0) + ROLLOUT_SURGE <= limit;
}
