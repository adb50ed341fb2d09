/**
 * The deletion cleanup on the management server (design: docs/cluster-deletion.md): a
 * systemd timer runs `src/host/scripts/lb-cleanup.sh` every minute, which deletes the Octavia load
 * balancers (and their floating IPs) that a deleting workload cluster's cloud controller
 * manager left on its network, so that CAPO can delete the network. Pure rendering: the
 * script with its parameters, the two units, and `src/host/scripts/lb-cleanup-install.sh` that puts
 * them in place.
 */
import { HOST_STATE_DIR, proxyParams, renderHostScript, mgmtKubeconfigParams } from "./hostScripts";
import { ProxyEnv } from "./proxy";

/** Label a workload Cluster opts in to the deletion of its Cinder volumes with (value `"true"`). */
export const DELETE_VOLUMES_LABEL = "capi-mgmt.io/delete-volumes-on-deletion";

/** Where the rendered cleanup script is installed on the server. */
export const LB_CLEANUP_SCRIPT_PATH = "/usr/local/lib/capi-mgmt/lb-cleanup.sh";

/** Name of the systemd service and timer (`<name>.service`, `<name>.timer`). */
export const LB_CLEANUP_UNIT = "capi-mgmt-lb-cleanup";

/** Directory of the units on the server. */
export const SYSTEMD_UNIT_DIR = "/etc/systemd/system";

/** Root-only directory of the cleanup's lock and its last reports. */
export const LB_CLEANUP_STATE_DIR = `${HOST_STATE_DIR}/lb-cleanup`;

/** Bound of each kubectl and HTTP call of the cleanup, seconds. */
export const LB_CLEANUP_CALL_TIMEOUT_SECONDS = 60;

/** Parameters of the cleanup. */
export interface LbCleanupParams {
    /** Namespace of the workload Clusters. */
    namespace: string;
    /** The proxy to the OpenStack APIs (the cluster's proxy); undefined: none. */
    proxy?: ProxyEnv;
}

const NAMESPACE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Renders `src/host/scripts/lb-cleanup.sh` with its parameters (installed by the install script, run by the timer). */
export function renderLbCleanupScript(p: LbCleanupParams): string {
    if (!NAMESPACE.test(p.namespace)) {
        throw new Error(`lb-cleanup: namespace must be a namespace name, got ${JSON.stringify(p.namespace)}`);
    }
    return renderHostScript("lb-cleanup.sh", {
        ...mgmtKubeconfigParams(),
        NAMESPACE: p.namespace,
        STATE_DIR: LB_CLEANUP_STATE_DIR,
        DELETE_VOLUMES_LABEL,
        CALL_TIMEOUT_SECONDS: String(LB_CLEANUP_CALL_TIMEOUT_SECONDS),
        ...proxyParams(p.proxy),
    });
}

/** The service: one pass of the cleanup (a oneshot; a failed pass is retried by the next tick). */
export function renderLbCleanupService(scriptPath: string = LB_CLEANUP_SCRIPT_PATH): string {
    return [
        "[Unit]",
        "Description=capi-mgmt: delete the load balancers that keep deleting workload clusters' networks",
        "Documentation=https://github.com/kubernetes-sigs/cluster-api-provider-openstack/issues/842",
        "After=docker.service network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=${scriptPath}`,
        // Each call is bounded; this bounds a pass over many clusters.
        "TimeoutStartSec=30min",
        "Nice=10",
        "",
    ].join("\n");
}

/** The timer: two minutes after boot, then a minute after each pass ends. */
export function renderLbCleanupTimer(): string {
    return [
        "[Unit]",
        "Description=capi-mgmt: clean up after deleting workload clusters, every minute",
        "",
        "[Timer]",
        "OnBootSec=2min",
        "OnUnitInactiveSec=1min",
        "AccuracySec=10s",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
}

/** Renders `src/host/scripts/lb-cleanup-install.sh`: installs (or updates) the script and the units, and starts the timer. */
export function renderLbCleanupInstallScript(p: LbCleanupParams): string {
    return renderHostScript(
        "lb-cleanup-install.sh",
        {
            SCRIPT_PATH: LB_CLEANUP_SCRIPT_PATH,
            SCRIPT: renderLbCleanupScript(p),
            UNIT_DIR: SYSTEMD_UNIT_DIR,
            UNIT: LB_CLEANUP_UNIT,
            SERVICE: renderLbCleanupService(),
            TIMER: renderLbCleanupTimer(),
        },
        { multiLine: ["SCRIPT", "SERVICE", "TIMER"] },
    );
}
