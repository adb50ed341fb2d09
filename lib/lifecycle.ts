/**
 * What the last successful `pulumi up` deployed, and which config changes the program
 * refuses on a live stack because the real engine would otherwise replace the management
 * server onto a port still in use, or make Flux delete workload clusters.
 *
 * The program exports {@link DeployedState} as the stack output `deployed` and reads it back
 * on the next run through a StackReference to its own stack. Pure: no Pulumi runtime here.
 */
import { CONFIG_NAMESPACE, StackConfig, WorkloadProject } from "./config";

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
     * The Keystone user both application credentials belong to (see lib/credentialOwner.ts,
     * which reads it). Absent in states recorded before it was.
     */
    appCredentialOwner?: { id: string; name: string };
    /**
     * True when the resources were protected (`capi-mgmt:protect`): a bump must then be
     * preceded by an `up` that unprotects the running server (lib/rebuild.ts). Absent: not protected.
     */
    protect?: boolean;
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
        (o.protect === undefined || typeof o.protect === "boolean")
    );
}

/** Reads the previous run's stack outputs (as a StackReference to the own stack returns them). */
export function previousDeployment(outputs: Record<string, unknown> | undefined): PreviousDeployment {
    const o = outputs ?? {};
    if (isDeployedState(o[DEPLOYED_OUTPUT])) {
        return { kind: "deployed", state: o[DEPLOYED_OUTPUT] };
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
 * setting and the way out. Without a recorded deployment nothing is refused.
 */
export function lifecycleProblems(prev: PreviousDeployment, cfg: StackConfig): string[] {
    const rebuild =
        `to rebuild the management server on purpose, delete or \`clusterctl move\` the workload clusters, ` +
        `then make this change together with a bump of ${CONFIG_NAMESPACE}:serverGeneration (now ${cfg.serverGeneration})`;
    if (prev.kind === "legacy") {
        // Only what the older outputs tell: whether Flux is installed.
        return prev.gitops && cfg.gitops === undefined ? [gitopsRemoval(rebuild)] : [];
    }
    if (prev.kind !== "deployed" || prev.state.serverGeneration !== cfg.serverGeneration) {
        return [];
    }
    const p = prev.state;
    const problems: string[] = [];
    if (cfg.prefix !== p.prefix) {
        problems.push(
            `${CONFIG_NAMESPACE}:prefix: changing it from "${p.prefix}" to "${cfg.prefix}" renames the login keypair, which replaces ` +
                `the running server: the new one would be created on the port the old one still holds (Nova refuses), and all ` +
                `state of the management cluster would go with the old server. Set it back to "${p.prefix}", or ${rebuild}`,
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
