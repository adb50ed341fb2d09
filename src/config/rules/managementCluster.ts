/**
 * `capi-mgmt:managementCluster`: defaults filled in, and what JSON Schema cannot say. The
 * self-hosted cluster is built from the ClusterClass the GitOps tree's Flux keeps current on
 * it, and its own Flux is what keeps its workload clusters: `selfHosted` needs `gitops`.
 */
import { DEFAULT_SELF_HOSTED_IMAGE, DEFAULT_SELF_HOSTED_KUBERNETES_VERSION } from "../schemaManagementCluster";
import { ManagementClusterSetting } from "../schema";
import { ManagementClusterSettings, Problems } from "../types";

/** The settings of `managementCluster` (only its usable keys), with defaults; problems recorded in `p`. */
export function managementClusterOf(
    p: Problems,
    raw: Partial<ManagementClusterSetting> | undefined,
    ctx: { flavor: string; gitops: boolean },
): ManagementClusterSettings {
    const mode = raw?.mode ?? "kind";
    if (mode === "selfHosted" && !ctx.gitops) {
        p.fail(
            "managementCluster.mode",
            "selfHosted needs capi-mgmt:gitops: the self-hosted cluster's Flux syncs the ClusterClass it is built from and the workload clusters it manages. " +
                "Set gitops, or leave managementCluster.mode at kind",
        );
    }
    return {
        mode,
        flavor: raw?.flavor?.trim() || ctx.flavor,
        kubernetesVersion: raw?.kubernetesVersion ?? DEFAULT_SELF_HOSTED_KUBERNETES_VERSION,
        image: raw?.image?.trim() ?? DEFAULT_SELF_HOSTED_IMAGE,
    };
}
