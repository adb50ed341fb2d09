/**
 * The `deployed` stack output (src/lifecycle/lifecycle.ts DeployedState) of a run, from its
 * settings and what it looked up. Pure: src/capiManagement.ts calls it once every value is known.
 */
import { StackConfig } from "../config";
import { DeployedState, ResolvedNetworks, serverNetworkOf, workloadProjectKey } from "./lifecycle";
import { deployedModeOf } from "./selfHostedGate";

/** What a run knows only once its resources exist. */
export interface DeployedFacts {
    /** The availability zone Nova put the server in, if it said. */
    availabilityZone: string | undefined;
    /** The workload namespace as created. */
    workloadNamespace: string;
    /** The Keystone user the application credentials belong to. */
    owner: { id: string; name: string };
    /** What the look-ups resolved. */
    resolved: ResolvedNetworks;
}

/** The `deployed` record of a run with settings `cfg`; optional records only when they say something, as states written before them. */
export function deployedStateOf(cfg: StackConfig, f: DeployedFacts): DeployedState {
    const serverNetwork = serverNetworkOf(cfg, f.resolved);
    const mode = deployedModeOf(cfg);
    return {
        serverGeneration: cfg.serverGeneration,
        prefix: cfg.prefix,
        availabilityZone: f.availabilityZone ?? cfg.availabilityZone ?? "",
        flavor: cfg.flavor,
        workloadNamespace: f.workloadNamespace,
        gitops: cfg.gitops !== undefined,
        // Only when set: the management server's own project records nothing, as before.
        ...(cfg.workloadProject ? { workloadProject: workloadProjectKey(cfg.workloadProject) } : {}),
        // Preflight let only the owner (or a hand-over to this user) through: the credentials are this user's.
        appCredentialOwner: f.owner,
        // Only when on: an unprotected stack records nothing, as before.
        ...(cfg.protect ? { protect: true } : {}),
        // Only in selfHosted mode: a kind stack records nothing, as before. This version's
        // self-hosted-unpivot knows return-to-kind's marker (src/lifecycle/selfHostedGate.ts).
        ...(mode ? { managementClusterMode: mode, unpivotKnowsReturn: true as const } : {}),
        // Optional in DeployedState: states written before these were recorded lack them.
        ...(f.resolved.externalNetworkId ? { externalNetworkId: f.resolved.externalNetworkId } : {}),
        ...(serverNetwork ? { serverNetwork } : {}),
    };
}
