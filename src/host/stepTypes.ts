/**
 * The types of the host step registry (src/host/steps.ts): which component registers a step,
 * what re-runs it, when it runs, and the entry itself.
 */

/** The components that register host steps (their type token is `capi-mgmt:index:<name>`). */
export type HostStepComponent =
    | "HostBootstrap"
    | "ManagementBackup"
    | "ManagementCluster"
    | "DeletionCleanup"
    | "CloudProviderRestart"
    | "WorkloadTeardown"
    | "BackupStorage"
    | "SelfHostedCluster"
    | "SelfHostedPivot"
    | "ReturnToKind";

/**
 * What re-runs a step: a new value replaces the command, which runs its create again.
 * - `server`: the server's ID (a new server runs the step again);
 * - `kind-cluster`: the kind step's stdout, the ID of the kind cluster (a new cluster);
 * - `cert-refresh`: the kind cluster's ID and, when a renewal is due, the refresh key
 *   (src/cluster/certRenewal.ts certRefreshKey);
 * - `self-hosted-refresh`: the kind cluster's ID and, when the provider's copy of the self-hosted
 *   cluster's kubeconfig is due, its refresh key (src/cluster/selfHostedKubeconfig.ts selfHostedRefreshKey);
 * - `credential`: the ID of the cloud-provider application credential (a rotation);
 * - `cluster-versions`: the server's ID and the versions the kind, ORC and Cluster API steps
 *   install (src/backup/backupSteps.ts clusterVersionsKey): a version bump runs it again.
 */
export type HostStepTrigger = "server" | "kind-cluster" | "cert-refresh" | "self-hosted-refresh" | "credential" | "cluster-versions";

/**
 * Which of the command's lifecycle operations run the script (on stdin):
 * - `create-update`: create and update (a changed script or parameter runs it again in place);
 * - `create`: create only (a change of the script alone does nothing until a trigger fires);
 * - `delete`: delete only (`pulumi destroy`); create and update only syntax-check it (`bash -n`).
 */
export type HostStepRun = "create-update" | "create" | "delete";

/** One host step. */
export interface HostStep {
    /** Logical name of the remote command (part of its URN: stable). */
    readonly name: string;
    /** The component that registers it, its parent. */
    readonly component: HostStepComponent;
    /** The script it runs, a file in `src/host/scripts/`. */
    readonly script: string;
    /** Scripts the step installs on the server, rendered into its own as parameters. */
    readonly installs?: readonly string[];
    /** Parameters the script is always rendered with (UPPERCASE variables after its shebang line). */
    readonly params: readonly string[];
    /** Parameters rendered only with some settings (the proxy, registry mirrors, an `apt` proxy). */
    readonly optionalParams?: readonly string[];
    /** True: runs as root (`sudo bash -s`); false: as the login user (`bash -s`). */
    readonly root: boolean;
    /** Which operations run it. */
    readonly run: HostStepRun;
    /** What re-runs it; none: only a change of its inputs (with `create-update`) does. */
    readonly trigger?: HostStepTrigger;
    /**
     * What it waits for: names of earlier steps of the same component, and `given` for what the
     * component is given to wait for (the network path to the server, an earlier component).
     */
    readonly after: readonly string[];
    /**
     * Outputs kept secret in the state (`additionalSecretOutputs`). Every step's connection
     * carries the login private key as a secret besides.
     */
    readonly secretOutputs?: readonly "stdout"[];
    /** The provider's logging of the command's output; default: stdout and stderr. */
    readonly logging?: "stderr";
    /** Delete the old command before creating its replacement (a new server's first run). */
    readonly deleteBeforeReplace?: boolean;
    /**
     * How long the connection keeps dialing: `setup` (default, src/host/sshDial.ts SETUP_DIAL)
     * or `teardown` (TEARDOWN_DIAL, shorter: the delete may find the server gone).
     */
    readonly dial?: "setup" | "teardown";
    /** The setting whose value the component passes as the command's `protect`, if any. */
    readonly protectedBy?: string;
    /** The setting that must be `true` for the step (and its component) to exist; none: every stack has it. */
    readonly enabledBy?: string;
    /**
     * Registered only in this `capi-mgmt:managementCluster.mode` (default: in every mode). Such
     * a step may run the script of another step (the self-hosted cluster's ORC and providers
     * are the kind cluster's scripts with another kubeconfig).
     */
    readonly mode?: "selfHosted" | "kind";
}
