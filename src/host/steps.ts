/**
 * The host steps: every remote command the program runs on the management server, as data.
 *
 * One entry per step says what the step is (its logical name, the component that registers
 * it, the script in `src/host/scripts/` it runs, the parameters that script is rendered with),
 * how it runs (as root or not, on which of create/update/delete), what re-runs it (its
 * trigger), what it waits for (earlier steps of the same component, or what the component is
 * given), and what of it is secret. The components (HostBootstrap, ManagementCluster,
 * DeletionCleanup, CloudProviderRestart, WorkloadTeardown, ManagementBackup, BackupStorage,
 * SelfHostedCluster, SelfHostedPivot, ReturnToKind; ./stepTypes.ts) build their commands from here
 * through {@link HostSteps} (./hostStep.ts); they only render each step's script. Adding a
 * step is one entry here, one script in `src/host/scripts/` and its renderer's call in the
 * component; test/hostSteps.spec.ts checks the registry against the scripts and the graph.
 *
 * Names and components are part of every step's URN: renaming a step or moving it to another
 * component replaces it on the next `up` (for `workload-teardown` a replacement runs the
 * teardown), so a rename needs an `alias`.
 */

import { HostStep } from "./stepTypes";
export type { HostStep, HostStepComponent, HostStepRun, HostStepTrigger } from "./stepTypes";

/** What every step that downloads takes for the proxy (src/host/hostScripts.ts proxyParams). */
const PROXY = ["PROXY_HTTP", "PROXY_HTTPS", "PROXY_NO_PROXY"] as const;

/** The parameters of orc.sh, for the kind cluster's step and the self-hosted cluster's. */
const ORC_PARAMS = ["ORC_VERSION", "ORC_MANIFEST_SHA256", "KUBECONFIG_PATH", "WAIT_TIMEOUT_SECONDS", "STATE_DIR"] as const;

/** The parameters of capi-providers.sh, for the kind cluster's step and the self-hosted cluster's. */
const CAPI_PROVIDERS_PARAMS = [
    "CLUSTER_API_VERSION",
    "CAPO_VERSION",
    "CAAPH_VERSION",
    "CERT_MANAGER_VERSION",
    "STATE_DIR",
    "KUBECONFIG_PATH",
    "WAIT_TIMEOUT_SECONDS",
    "RELEASE_FILES",
] as const;

/** orc.sh as a step, for the kind cluster and the self-hosted cluster (their names, components and order differ). */
const ORC_STEP = { script: "orc.sh", params: ORC_PARAMS, optionalParams: PROXY, root: true, run: "create-update", trigger: "kind-cluster" } as const;

/** capi-providers.sh as a step, for the kind cluster and the self-hosted cluster. */
const CAPI_PROVIDERS_STEP = { ...ORC_STEP, script: "capi-providers.sh", params: CAPI_PROVIDERS_PARAMS } as const;

/** Every host step, in the order the components register them. */
export const HOST_STEPS: readonly HostStep[] = [
    {
        name: "wait-ready",
        component: "HostBootstrap",
        script: "wait-ready.sh",
        params: ["MARKER", "TIMEOUT_SECONDS"],
        root: false,
        run: "create-update",
        trigger: "server",
        after: ["given"],
    },
    {
        name: "metadata-block",
        component: "HostBootstrap",
        script: "metadata-block-install.sh",
        installs: ["metadata-block.sh"],
        params: ["SCRIPT_PATH", "SCRIPT", "UNIT_PATH", "UNIT", "UNIT_NAME"],
        root: true,
        run: "create-update",
        trigger: "server",
        after: ["wait-ready"],
    },
    {
        name: "host-proxy",
        component: "HostBootstrap",
        script: "host-proxy.sh",
        params: ["APT_PROXY_PATH", "DOCKER_DAEMON_JSON_PATH", "DOCKER_DAEMON_JSON", "STATE_DIR", "RESTART_PENDING_FILE"],
        optionalParams: ["APT_PROXY_CONF"],
        root: true,
        run: "create-update",
        trigger: "server",
        after: ["metadata-block"],
    },
    {
        name: "install-tools",
        component: "HostBootstrap",
        script: "install-tools.sh",
        params: ["INSTALL_DIR", "STATE_DIR", "RETRIES", "TOOLS"],
        optionalParams: PROXY,
        root: true,
        run: "create-update",
        trigger: "server",
        after: ["host-proxy"],
    },
    {
        name: "backup-volume",
        component: "ManagementBackup",
        script: "backup-volume.sh",
        params: ["VOLUME_ID", "VOLUME_SIZE_GIB", "MOUNT_DIR", "FS_LABEL", "FSTAB", "DEVICE_DIR", "WAIT_SECONDS"],
        root: true,
        run: "create-update",
        trigger: "server",
        after: ["given"],
    },
    {
        name: "backup",
        component: "ManagementBackup",
        script: "backup-install.sh",
        installs: ["backup.sh"],
        params: ["SCRIPT_PATH", "SCRIPT", "UNIT_DIR", "UNIT", "SERVICE", "TIMER"],
        root: true,
        run: "create-update",
        trigger: "server",
        after: ["backup-volume"],
    },
    {
        name: "backup-before-upgrade",
        component: "ManagementBackup",
        script: "backup-before.sh",
        params: ["REASON", "WHAT", "BACKUP_COMMAND", "MGMT_KUBECONFIG", "ACTIVE_KUBECONFIG", "PROCEED_FILE", "RELEASE_DIR"],
        root: true,
        run: "create",
        trigger: "cluster-versions",
        after: ["backup"],
    },
    {
        name: "kind-cluster",
        component: "ManagementCluster",
        script: "kind-cluster.sh",
        params: [
            "CLUSTER_NAME",
            "NODE_IMAGE",
            "KIND_CONFIG",
            "STATE_DIR",
            "KUBECONFIG_PATH",
            "CONTAINERD_PROXY_DROP_IN",
            "CONTAINERD_PROXY_DROP_IN_PATH",
            "REGISTRY_HOSTS_DIR",
            "RESTART_PENDING_FILE",
        ],
        optionalParams: [...PROXY, "REGISTRY_HOSTS", "NODE_REGISTRY_CONFIG"],
        root: true,
        run: "create-update",
        trigger: "server",
        after: ["given"],
        deleteBeforeReplace: true,
    },
    {
        name: "cert-renewal",
        component: "ManagementCluster",
        script: "cert-renewal.sh",
        installs: ["cert-renew.sh"],
        params: ["RENEW_SCRIPT_BASE64", "RENEW_COMMAND", "UNIT_DIR", "SERVICE_NAME", "SERVICE_UNIT", "TIMER_NAME", "TIMER_UNIT"],
        root: true,
        run: "create-update",
        trigger: "cert-refresh",
        after: ["kind-cluster"],
    },
    {
        name: "kubeconfig",
        component: "ManagementCluster",
        script: "kubeconfig.sh",
        params: ["CLUSTER_NAME", "API_ENDPOINT"],
        root: true,
        run: "create",
        trigger: "cert-refresh",
        after: ["kind-cluster", "cert-renewal"],
        secretOutputs: ["stdout"],
        logging: "stderr",
    },
    {
        name: "api-cert-expiry",
        component: "ManagementCluster",
        script: "api-cert-expiry.sh",
        params: ["CLUSTER_NAME"],
        root: true,
        run: "create",
        trigger: "cert-refresh",
        after: ["kind-cluster", "cert-renewal"],
    },
    {
        name: "orc",
        component: "ManagementCluster",
        ...ORC_STEP,
        after: ["kind-cluster"],
    },
    {
        name: "capi-providers",
        component: "ManagementCluster",
        ...CAPI_PROVIDERS_STEP,
        after: ["orc"],
    },
    {
        name: "lb-cleanup",
        component: "DeletionCleanup",
        script: "lb-cleanup-install.sh",
        installs: ["lb-cleanup.sh"],
        params: ["SCRIPT_PATH", "SCRIPT", "UNIT_DIR", "UNIT", "SERVICE", "TIMER"],
        root: true,
        run: "create-update",
        trigger: "server",
        after: ["given"],
    },
    {
        name: "backup-object-storage",
        component: "BackupStorage",
        script: "backup-object-storage.sh",
        installs: ["backup-upload.sh"],
        params: ["SCRIPT_PATH", "SCRIPT", "CONFIG_PATH", "CONFIG"],
        root: true,
        run: "create-update",
        trigger: "server",
        after: ["given"],
        enabledBy: "capi-mgmt:backupObjectStorage.enabled",
    },
    {
        name: "cloud-provider-restart",
        component: "CloudProviderRestart",
        script: "cloud-provider-restart.sh",
        params: [
            "KUBECONFIG_PATH",
            "ACTIVE_KUBECONFIG",
            "WORKLOAD_NAMESPACE",
            "CLUSTER_SELECTOR",
            "CREDENTIAL_ID",
            "CLOUD_CONFIG_SECRET",
            "WORKLOADS",
            "WAIT_SECONDS",
        ],
        root: true,
        run: "create",
        trigger: "credential",
        after: ["given"],
    },
    {
        name: "workload-teardown",
        component: "WorkloadTeardown",
        script: "teardown.sh",
        params: [
            "CLUSTER_NAME",
            "KUBECONFIG_PATH",
            "TIMEOUT_SECONDS",
            "PER_CLUSTER_TIMEOUT_SECONDS",
            "CLUSTERS_GONE_FILE",
            "FLUX_RESUME_SCRIPT",
            "BACKUP_COMMAND",
        ],
        optionalParams: ["KEEP_CLUSTER"],
        root: true,
        run: "delete",
        after: ["given"],
        dial: "teardown",
        protectedBy: "capi-mgmt:protect",
    },
    // capi-mgmt:managementCluster.mode selfHosted only (src/cluster/selfHosted.ts, docs/self-hosted.md).
    {
        name: "self-hosted-unpivot",
        mode: "selfHosted",
        component: "SelfHostedCluster",
        script: "self-hosted-unpivot.sh",
        params: ["CLUSTER", "NAMESPACE", "KIND_KUBECONFIG", "STATE_DIR", "CLUSTERCTL", "PIVOT_SCRIPT", "FLUX_NAMESPACE", "TIMEOUT_SECONDS", "GONE_FILE"],
        root: true,
        run: "delete",
        after: ["given"],
        dial: "teardown",
        protectedBy: "capi-mgmt:protect",
    },
    {
        name: "self-hosted-cluster",
        mode: "selfHosted",
        component: "SelfHostedCluster",
        script: "self-hosted-cluster.sh",
        params: ["CLUSTER", "NAMESPACE", "MANIFEST", "BOOTSTRAP", "KIND_KUBECONFIG", "STATE_DIR", "WAIT_TIMEOUT_SECONDS"],
        root: true,
        run: "create-update",
        trigger: "kind-cluster",
        after: ["given"],
        secretOutputs: ["stdout"],
        logging: "stderr",
    },
    {
        name: "self-hosted-provider-kubeconfig",
        mode: "selfHosted",
        component: "SelfHostedCluster",
        script: "self-hosted-provider-kubeconfig.sh",
        params: ["STATE_DIR", "REFRESH_COMMAND", "REFRESH_BEFORE_DAYS"],
        root: true,
        run: "create",
        trigger: "self-hosted-refresh",
        after: ["self-hosted-cluster"],
        secretOutputs: ["stdout"],
        logging: "stderr",
    },
    {
        name: "self-hosted-orc",
        mode: "selfHosted",
        component: "SelfHostedCluster",
        ...ORC_STEP,
        after: ["self-hosted-cluster"],
    },
    {
        name: "self-hosted-providers",
        mode: "selfHosted",
        component: "SelfHostedCluster",
        ...CAPI_PROVIDERS_STEP,
        after: ["self-hosted-orc"],
    },
    {
        name: "self-hosted-pivot",
        mode: "selfHosted",
        component: "SelfHostedPivot",
        script: "self-hosted-pivot.sh",
        params: ["NAMESPACE", "KIND_KUBECONFIG", "STATE_DIR", "CLUSTERCTL", "PIVOT_SCRIPT", "FLUX_NAMESPACE", "PIVOT_SCRIPT_TEXT"],
        root: true,
        run: "create-update",
        trigger: "kind-cluster",
        after: ["given"],
    },
    {
        name: "self-hosted-kubeconfig",
        mode: "selfHosted",
        component: "SelfHostedPivot",
        script: "self-hosted-kubeconfig-install.sh",
        installs: ["self-hosted-kubeconfig.sh"],
        params: ["SCRIPT_PATH", "SCRIPT", "UNIT_DIR", "UNIT", "SERVICE", "TIMER"],
        root: true,
        run: "create-update",
        trigger: "kind-cluster",
        after: ["self-hosted-pivot"],
    },
    // capi-mgmt:managementCluster.mode kind only: the way back from selfHosted on a running stack
    // (src/cluster/selfHosted.ts ReturnToKind, docs/self-hosted.md); nothing when never pivoted.
    {
        name: "return-to-kind",
        mode: "kind",
        component: "ReturnToKind",
        script: "return-to-kind.sh",
        params: ["CLUSTER", "NAMESPACE", "KIND_KUBECONFIG", "STATE_DIR", "CLUSTERCTL", "PIVOT_SCRIPT", "FLUX_NAMESPACE", "TIMEOUT_SECONDS", "ORC_OBJECTS"],
        root: true,
        run: "create",
        trigger: "kind-cluster",
        after: ["given"],
    },
];

/**
 * Scripts in `src/host/scripts/` that are no host step of their own: run on the machine
 * running Pulumi (rebuild-check.sh, by RebuildCheck; backup-status.sh, by the `lastBackup`
 * output), or over SSH by `npm run check` (conformance.sh), `npm run backup` and
 * `npm run restore` (src/backup/), or by the self-hosted mode (pivot.sh). With the steps'
 * scripts and what they install, they are every file there.
 */
export const OTHER_HOST_SCRIPTS: Readonly<Record<string, string>> = {
    "rebuild-check.sh": "a local command of RebuildCheck (src/lifecycle/rebuildCheck.ts) on the machine running Pulumi",
    "conformance.sh": "run over SSH by `npm run check` (render/check.ts), no resource",
    "backup-status.sh":
        "run on the machine running Pulumi by the `lastBackup` output's invoke (src/backup/backupStatus.ts): reads the server's last backup over SSH",
    "backup-download.sh": "run over SSH by `npm run backup -- --to <dir>` (render/backup.ts): streams the latest backup",
    "restore.sh": "run over SSH by `npm run restore` (render/restore.ts), no resource",
    "pivot.sh":
        'the self-hosted mode\'s `clusterctl move` between two management clusters (docs/self-hosted.md, "The move (pivot.sh)"), run by its orchestration',
};

/** The step named `name`; throws when there is none. */
export function hostStep(name: string): HostStep {
    const step = HOST_STEPS.find((s) => s.name === name);
    if (!step) {
        throw new Error(`no host step named ${JSON.stringify(name)} in src/host/steps.ts`);
    }
    return step;
}
