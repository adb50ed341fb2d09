/**
 * Changes of `capi-mgmt:managementCluster.mode` on a running stack (docs/self-hosted.md,
 * "Migration"). What the last `up` deployed says where the Cluster API objects live:
 * - `kind` → `selfHosted`: allowed, it is the migration `up` performs (the kind cluster builds
 *   the self-hosted cluster and pivots every object into it);
 * - `selfHosted` → `kind`: allowed, it is the way back `up` performs: the kind mode's
 *   return-to-kind step (src/cluster/selfHosted.ts ReturnToKind), which the kind cluster's Flux
 *   waits for, moves every Cluster API object back to the kind cluster and lets it delete the
 *   self-hosted cluster; the removed self-hosted steps' delete at the end of the same `up` then
 *   does nothing (docs/self-hosted.md, "selfHosted → kind"). Refused when the last `up` was
 *   an older version's (no `unpivotKnowsReturn` recorded): the self-hosted-unpivot in its state,
 *   which the engine runs as recorded, knows no `returned` marker and would delete every ORC
 *   object of the workload namespace; one selfHosted `up` with this version updates it first;
 * - a `serverGeneration` bump in `selfHosted` mode: refused. The new server's empty kind
 *   cluster knows nothing of the pivot (its markers are on the old server's disk), would build
 *   a second cluster of the same name on the same OpenStack network names, and could no
 *   longer take the self-hosted cluster back on `destroy`.
 * Pure: no Pulumi runtime here.
 */
import { CONFIG_NAMESPACE, StackConfig } from "../config";
import { PreviousDeployment } from "./lifecycle";

/** What the `deployed` output records about the mode: absent for `kind` (as every state from before the mode existed). */
export type DeployedMode = "selfHosted" | undefined;

/** The recorded mode of a configuration: only `selfHosted` is recorded. */
export function deployedModeOf(cfg: Pick<StackConfig, "managementCluster">): DeployedMode {
    return cfg.managementCluster.mode === "selfHosted" ? "selfHosted" : undefined;
}

/** Where the way back is described. */
const WAY_BACK = 'docs/self-hosted.md, "selfHosted → kind"';

/** The refusals of mode changes on a running stack (empty: allowed), each naming the setting and the way out. */
export function selfHostedProblems(prev: PreviousDeployment, cfg: Pick<StackConfig, "managementCluster" | "serverGeneration">): string[] {
    if (prev.kind !== "deployed" || prev.state.managementClusterMode !== "selfHosted") {
        return [];
    }
    const problems: string[] = [];
    if (cfg.managementCluster.mode === "kind" && prev.state.unpivotKnowsReturn !== true) {
        problems.push(
            `${CONFIG_NAMESPACE}:managementCluster.mode: the stack was last deployed in selfHosted mode by an older capi-mgmt, ` +
                `whose self-hosted-unpivot (recorded in the state; the engine runs its delete at the end of this \`up\`, after ` +
                `return-to-kind) knows nothing of the way back and would delete every ORC object (Images, ServerGroups) of the ` +
                `workload namespace "${prev.state.workloadNamespace}", the workload clusters' included. Set it back to ` +
                `selfHosted and run \`pulumi up\` once with this version (it updates the recorded step), then set it to kind ` +
                `(${WAY_BACK})`,
        );
    }
    if (prev.state.serverGeneration !== cfg.serverGeneration) {
        problems.push(
            `${CONFIG_NAMESPACE}:serverGeneration: the management cluster is self-hosted; a new server's empty kind cluster would ` +
                `not know it (the pivot's markers are on the old server) and would build a second cluster of the same name on the ` +
                `same OpenStack networks, and the self-hosted cluster could no longer be moved back on \`pulumi destroy\`. Set it back ` +
                `to ${prev.state.serverGeneration}; to rebuild the server, leave the mode first (an \`up\` with mode kind, ${WAY_BACK})`,
        );
    }
    return problems;
}
