/**
 * What the last successful `pulumi up` deployed, and which config changes the program
 * refuses on a live stack because the real engine would otherwise replace the management
 * server onto a port still in use, or make Flux delete workload clusters.
 *
 * The program exports {@link DeployedState} as the stack output `deployed` and reads it back
 * on the next run through a StackReference to its own stack. Pure: no Pulumi runtime here.
 */
import { CONFIG_NAMESPACE, StackConfig, WorkloadProject } from "../config";
import { DeployedMode, selfHostedProblems } from "./selfHostedGate";

/** Name of the stack output that records what was deployed. */
export const DEPLOYED_OUTPUT = "deployed";

/** What the last successful `up` left running (the stack output `deployed`). */
export interface DeployedState {
    /** The server generation that is running. */
    serverGeneration: number;
    /** The prefix its names were made from. */
    prefix: string;
    /** The availability zone Nova put the server in ("" when unknown). */
    availabilityZone: string;
    /** The flavor setting the server was created or resized with. */
    flavor: string;
    /** Namespace of the workload clusters. */
    workloadNamespace: string;
    /** Whether Flux is installed and owned by the stack. */
    gitops: boolean;
    /**
     * The project of CAPO's and the cloud provider's credentials, as {@link workloadProjectKey}
     * writes it. Absent for the management server's own project: so are states recorded
     * before `workloadProject` existed, which all used that project.
     */
    workloadProject?: string;
    /**
     * The Keystone user both application credentials belong to (see src/lifecycle/credentialOwner.ts,
     * which reads it). Absent in states recorded before it was.
     */
    appCredentialOwner?: { id: string; name: string };
    /**
     * True when the resources were protected (`capi-mgmt:protect`): a bump must then be
     * preceded by an `up` that unprotects the running server (src/lifecycle/rebuild.ts). Absent: not protected.
     */
    protect?: boolean;
    /**
     * ID of the external network the floating IP and the router come from (what
     * `externalNetwork` resolved to). Absent in states recorded before it was (unknown: a
     * change is not refused).
     */
    externalNetworkId?: string;
    /**
     * Where the server's port is. Absent in states recorded before it was (unknown: a change
     * of `existingNetwork` or `nodeCidr` is not refused).
     */
    serverNetwork?: ServerNetwork;
    /** `selfHosted` when the management cluster was self-hosted (src/lifecycle/selfHostedGate.ts); absent for kind. */
    managementClusterMode?: DeployedMode;
    /**
     * True when the `self-hosted-unpivot` recorded in the state knows return-to-kind's marker
     * `returned` (written in selfHosted mode since return-to-kind exists). Absent in kind mode and
     * in states of older versions: their unpivot would delete every ORC object of the workload
     * namespace after a return to kind (src/lifecycle/selfHostedGate.ts refuses that switch).
     */
    unpivotKnowsReturn?: true;
}

/**
 * The network of the server's port: the program's own (with the subnet's CIDR), or an
 * `existingNetwork` by the IDs its names resolved to.
 */
export type ServerNetwork = { created: true; nodeCidr: string } | { created: false; networkId: string; subnetId: string };

/** What this run resolved, for the comparisons with the recorded state. */
export interface ResolvedNetworks {
    /** ID of the external network `externalNetwork` names; undefined when not known. */
    externalNetworkId?: string;
    /** IDs of `existingNetwork`'s network and subnet; undefined when not set or not known. */
    existing?: { networkId: string; subnetId: string };
}

/** The {@link ServerNetwork} of this run, or undefined when an existing network's IDs are not known. */
export function serverNetworkOf(cfg: Pick<StackConfig, "existingNetwork" | "nodeCidr">, resolved: ResolvedNetworks): ServerNetwork | undefined {
    if (cfg.existingNetwork === undefined) {
        return { created: true, nodeCidr: cfg.nodeCidr };
    }
    return resolved.existing ? { created: false, ...resolved.existing } : undefined;
}

/** How {@link DeployedState.workloadProject} records a workload project ("" for none). */
export function workloadProjectKey(project: WorkloadProject | undefined): string {
    if (!project) {
        return "";
    }
    return project.region ? `${project.cloud} (region ${project.region})` : project.cloud;
}

/**
 * What is known about the stack before this run:
 * - `none`: nothing was deployed (a first `up`, or only failed ones);
 * - `legacy`: deployed by a version of the program that did not record `deployed`
 *   (it had a `floatingIp` output): a server exists, details unknown, except whether Flux
 *   was installed (its `deployPublicKey` output was not empty);
 * - `deployed`: the recorded state.
 */
export type PreviousDeployment = { kind: "none" } | { kind: "legacy"; gitops: boolean } | { kind: "deployed"; state: DeployedState };

function isServerNetwork(v: unknown): v is ServerNetwork {
    const o = v as Record<string, unknown>;
    if (typeof v !== "object" || v === null) {
        return false;
    }
    return o.created === true ? typeof o.nodeCidr === "string" : o.created === false && typeof o.networkId === "string" && typeof o.subnetId === "string";
}

/**
 * The optional records (added in later versions) that are well-formed; a malformed one is
 * dropped, i.e. treated as unknown (not refused), rather than making the whole state unreadable.
 */
function optionalRecords(o: Record<string, unknown>): Pick<DeployedState, OptionalRecord> {
    return {
        ...(typeof o.externalNetworkId === "string" && o.externalNetworkId !== "" ? { externalNetworkId: o.externalNetworkId } : {}),
        ...(isServerNetwork(o.serverNetwork) ? { serverNetwork: o.serverNetwork } : {}),
        ...(o.unpivotKnowsReturn === true ? { unpivotKnowsReturn: true as const } : {}),
    };
}

/** The records {@link optionalRecords} reads (anything else under these names is dropped). */
type OptionalRecord = "externalNetworkId" | "serverNetwork" | "unpivotKnowsReturn";

function isDeployedState(v: unknown): v is DeployedState {
    const o = v as Record<string, unknown>;
    return (
        typeof v === "object" &&
        v !== null &&
        typeof o.serverGeneration === "number" &&
        typeof o.prefix === "string" &&
        typeof o.availabilityZone === "string" &&
        typeof o.flavor === "string" &&
        typeof o.workloadNamespace === "string" &&
        typeof o.gitops === "boolean" &&
        (o.workloadProject === undefined || typeof o.workloadProject === "string") &&
        (o.protect === undefined || typeof o.protect === "boolean") &&
        (o.managementClusterMode === undefined || o.managementClusterMode === "selfHosted")
    );
}

/** Reads the previous run's stack outputs (as a StackReference to the own stack returns them). */
export function previousDeployment(outputs: Record<string, unknown> | undefined): PreviousDeployment {
    const o = outputs ?? {};
    const d = o[DEPLOYED_OUTPUT];
    if (isDeployedState(d)) {
        const state: DeployedState = { ...d };
        delete state.externalNetworkId;
        delete state.serverNetwork;
        delete state.unpivotKnowsReturn;
        return { kind: "deployed", state: { ...state, ...optionalRecords(d as unknown as Record<string, unknown>) } };
    }
    if (typeof o.floatingIp === "string" && o.floatingIp !== "") {
        return { kind: "legacy", gitops: typeof o.deployPublicKey === "string" && o.deployPublicKey !== "" };
    }
    return { kind: "none" };
}

/** True when this run creates a management server (first `up`, or a new `serverGeneration`). */
export function createsServer(prev: PreviousDeployment, cfg: Pick<StackConfig, "serverGeneration">): boolean {
    return prev.kind === "none" || (prev.kind === "deployed" && prev.state.serverGeneration !== cfg.serverGeneration);
}

/**
 * True when the server image must be resolved: only a server being created boots from it
 * (`imageId` is ignored after creation). A legacy stack resolves it as it always did.
 */
export function needsImage(prev: PreviousDeployment, cfg: Pick<StackConfig, "serverGeneration">): boolean {
    return prev.kind === "legacy" || createsServer(prev, cfg);
}

/**
 * Config changes refused on a running server of the same generation, each naming the
 * setting and the way out. Without a recorded deployment nothing is refused; a record
 * written by an older version lacks the optional fields, and what they would show is not
 * refused either. A change of external network is refused whatever the generation (see
 * {@link externalNetworkProblem}). `resolved` is what this run's look-ups found (empty:
 * the comparisons by ID are skipped).
 */
export function lifecycleProblems(prev: PreviousDeployment, cfg: StackConfig, resolved: ResolvedNetworks = {}): string[] {
    const rebuild =
        `to rebuild the management server on purpose, delete or \`clusterctl move\` the workload clusters, ` +
        `then make this change together with a bump of ${CONFIG_NAMESPACE}:serverGeneration (now ${cfg.serverGeneration})`;
    if (prev.kind === "legacy") {
        // Only what the older outputs tell: whether Flux is installed.
        return prev.gitops && cfg.gitops === undefined ? [gitopsRemoval(rebuild)] : [];
    }
    if (prev.kind !== "deployed") {
        return [];
    }
    const external = externalNetworkProblem(prev.state, cfg, resolved);
    const modes = selfHostedProblems(prev, cfg);
    if (prev.state.serverGeneration !== cfg.serverGeneration) {
        return [...(external ? [external] : []), ...modes];
    }
    const p = prev.state;
    const problems: string[] = external ? [external] : [];
    problems.push(...modes);
    problems.push(...networkProblems(p, cfg, resolved, rebuild));
    if (cfg.prefix !== p.prefix) {
        problems.push(
            `${CONFIG_NAMESPACE}:prefix: changing it from "${p.prefix}" to "${cfg.prefix}" renames the stack's cloud resources and ` +
                `replaces both application credentials under the running management cluster (CAPO, ORC and every workload ` +
                `cluster's cloud provider switch credentials at once). Set it back to "${p.prefix}", or ${rebuild}`,
        );
    }
    if (cfg.availabilityZone !== undefined && p.availabilityZone !== "" && cfg.availabilityZone !== p.availabilityZone) {
        problems.push(
            `${CONFIG_NAMESPACE}:availabilityZone: the running server is in "${p.availabilityZone}"; moving it to ` +
                `"${cfg.availabilityZone}" replaces it on the port the old one still holds (Nova refuses), and all state of the ` +
                `management cluster would go with the old server. Set it back, or ${rebuild}`,
        );
    }
    if (cfg.workloadNamespace !== p.workloadNamespace) {
        problems.push(
            `${CONFIG_NAMESPACE}:gitops.workloadNamespace: changing it from "${p.workloadNamespace}" to "${cfg.workloadNamespace}" on a ` +
                `running management cluster would make Flux re-create every workload cluster in "${cfg.workloadNamespace}" and prune ` +
                `(delete) those in "${p.workloadNamespace}", and the CAPO identity would no longer serve them. Set it back, or ${rebuild}`,
        );
    }
    if (p.gitops && cfg.gitops === undefined) {
        problems.push(gitopsRemoval(rebuild));
    }
    const projectBefore = p.workloadProject ?? "";
    const projectNow = workloadProjectKey(cfg.workloadProject);
    if (projectNow !== projectBefore) {
        const name = (k: string) => (k === "" ? "the management server's own project" : `"${k}"`);
        problems.push(
            `${CONFIG_NAMESPACE}:workloadProject: changing the workload clusters' project from ${name(projectBefore)} to ` +
                `${name(projectNow)} on a running management cluster would replace both application credentials with ones of ` +
                `the new project, while the servers, networks, load balancers and volumes of existing workload clusters stay ` +
                `in the old one: CAPO could no longer manage or delete them, and their cloud controller manager and Cinder CSI ` +
                `(the new cloud.conf is copied into them) would no longer find their own servers and volumes. ` +
                `Set it back, or ${rebuild}`,
        );
    }
    return problems;
}

function gitopsRemoval(rebuild: string): string {
    return (
        `${CONFIG_NAMESPACE}:gitops: removing it would make Pulumi delete Flux, its CRDs and with them every Kustomization, whose ` +
        `pruning deletes what it applied, workload clusters included. Keep it (suspend syncing with ` +
        `\`flux suspend kustomization --all -n flux-system\`), or ${rebuild}`
    );
}

/**
 * A new external network replaces the floating IP (its `pool` forces replacement; the
 * program ignores changes of `pool` so that a mere rename of the network does not, see
 * src/cloud/server.ts): the address in the kind API server's certificate, in clients'
 * kubeconfigs and in every workload cluster's API load-balancer allow-list would be gone,
 * and with the pool ignored the router would move while the floating IP stayed behind
 * (Neutron refuses to move a gateway its floating IPs use). Refused whatever the generation.
 */
function externalNetworkProblem(p: DeployedState, cfg: StackConfig, resolved: ResolvedNetworks): string | undefined {
    if (p.externalNetworkId === undefined || resolved.externalNetworkId === undefined || p.externalNetworkId === resolved.externalNetworkId) {
        return undefined;
    }
    return (
        `${CONFIG_NAMESPACE}:externalNetwork: "${cfg.externalNetwork}" is network ${resolved.externalNetworkId}, but the management ` +
        `server's floating IP and router are on ${p.externalNetworkId}: moving them would give the server a new public address, ` +
        `which the kind API server's certificate, every kubeconfig and every workload cluster's API allow-list do not know ` +
        `(a bump of ${CONFIG_NAMESPACE}:serverGeneration does not move the floating IP either). Set it back to the network with ID ` +
        `${p.externalNetworkId} (a renamed network is fine: set its new name or its ID). To move to another external network, ` +
        `delete or \`clusterctl move\` the workload clusters, \`pulumi destroy\` the stack and \`pulumi up\` it again`
    );
}

/** `existingNetwork` and `nodeCidr` changes under a running server of the same generation. */
function networkProblems(p: DeployedState, cfg: StackConfig, resolved: ResolvedNetworks, rebuild: string): string[] {
    const before = p.serverNetwork;
    if (before === undefined) {
        return [];
    }
    if (before.created && cfg.existingNetwork === undefined) {
        if (before.nodeCidr === cfg.nodeCidr) {
            return [];
        }
        return [
            `${CONFIG_NAMESPACE}:nodeCidr: changing it from "${before.nodeCidr}" to "${cfg.nodeCidr}" replaces the management subnet ` +
                `(the new one is created before the old one is deleted, so overlapping ranges fail), moves the running server's ` +
                `address in place under it, and replaces the router interface: the kind cluster's node address and every ` +
                `connection to it break. Set it back to "${before.nodeCidr}", or ${rebuild}`,
        ];
    }
    const describe = (n: ServerNetwork) => (n.created ? "the network the program created" : `network ${n.networkId}, subnet ${n.subnetId}`);
    const now = serverNetworkOf(cfg, resolved);
    if (now === undefined && !before.created) {
        return []; // the existing network's IDs are not known in this run: not compared
    }
    if (now !== undefined && !now.created && !before.created && now.networkId === before.networkId && now.subnetId === before.subnetId) {
        return [];
    }
    const what = before.created ? "adding it" : cfg.existingNetwork === undefined ? "removing it" : "pointing it elsewhere";
    return [
        `${CONFIG_NAMESPACE}:existingNetwork: the running server's port is on ${describe(before)}; ${what} changes the port's ` +
            `network or subnet, which replaces the port and with it the server: a new, empty server would be created and the old ` +
            `one, with all state of the management cluster, deleted at the end of the run. Set it back, or ${rebuild}`,
    ];
}
