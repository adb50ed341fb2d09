/**
 * Renders `src/host/scripts/teardown.sh`, the script that runs on the management server (as root) when
 * the stack is destroyed: it removes every workload cluster, and first the load balancers
 * and Cinder volumes their in-cluster controllers made, then ORC's objects (node images),
 * before the server goes.
 *
 * Rendering is pure and deterministic: the same parameters always give the same text.
 */
import { HOST_STATE_DIR, renderHostScript, SERVER_KUBECONFIG } from "../host/hostScripts";
import { BACKUP_SCRIPT_PATH } from "../backup/backup";
import { DNS_LABEL } from "../shared/names";

/**
 * The file a user creates on the server (`sudo touch …`) to say that the workload clusters
 * are gone when the management cluster is: the teardown then lets `pulumi destroy` go on.
 */
export const CLUSTERS_GONE_FILE = `${HOST_STATE_DIR}/workload-clusters-gone`;

/** The script the teardown writes to resume the Flux objects it suspended (`sudo bash …`). */
export const FLUX_RESUME_SCRIPT = `${HOST_STATE_DIR}/resume-flux.sh`;

/** Largest accepted bound, seconds (one day). */
const MAX_TIMEOUT_SECONDS = 24 * 3600;

/** Parameters of `src/host/scripts/teardown.sh`. */
export interface TeardownParams {
    /** Name of the kind management cluster. */
    clusterName: string;
    /** Overall bound of the teardown, seconds (the final report may take up to a minute more). */
    timeoutSeconds: number;
    /** Bound of each workload cluster's teardown (they run in parallel), seconds; at most `timeoutSeconds`. */
    perClusterTimeoutSeconds: number;
    /**
     * selfHosted mode (docs/self-hosted.md): the kubeconfig of the cluster holding the workload
     * clusters (src/cluster/selfHostedScripts.ts SELF_HOSTED_ACTIVE_KUBECONFIG; missing on the
     * server: the kind cluster's) and the self-hosted cluster's own Cluster, `namespace/name`,
     * which the teardown keeps. Undefined: kind mode, the script as before.
     */
    selfHosted?: { kubeconfigPath: string; keepCluster: string };
}

/** Throws unless `n` is a whole number of seconds in [1, MAX_TIMEOUT_SECONDS]. */
function checkSeconds(what: string, n: number): void {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_TIMEOUT_SECONDS) {
        throw new Error(`${what} must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}, got ${n}`);
    }
}

/**
 * Renders `src/host/scripts/teardown.sh` with its parameters (`KUBECONFIG_PATH` is
 * {@link SERVER_KUBECONFIG}, then {@link CLUSTERS_GONE_FILE}, {@link FLUX_RESUME_SCRIPT} and the installed backup script, which runs first). Throws when the cluster name is not a lowercase DNS label of
 * at most 63 characters, when a timeout is not a positive whole number of seconds (at most
 * a day), or when `perClusterTimeoutSeconds` exceeds `timeoutSeconds`.
 */
export function renderTeardownScript(p: TeardownParams): string {
    if (typeof p.clusterName !== "string" || p.clusterName.length > 63 || !DNS_LABEL.test(p.clusterName)) {
        throw new Error(`clusterName must be a lowercase DNS label of at most 63 characters, got ${JSON.stringify(p.clusterName)}`);
    }
    checkSeconds("timeoutSeconds", p.timeoutSeconds);
    checkSeconds("perClusterTimeoutSeconds", p.perClusterTimeoutSeconds);
    if (p.perClusterTimeoutSeconds > p.timeoutSeconds) {
        throw new Error(`perClusterTimeoutSeconds (${p.perClusterTimeoutSeconds}) must not exceed timeoutSeconds (${p.timeoutSeconds})`);
    }
    return renderHostScript("teardown.sh", {
        CLUSTER_NAME: p.clusterName,
        KUBECONFIG_PATH: p.selfHosted?.kubeconfigPath ?? SERVER_KUBECONFIG,
        TIMEOUT_SECONDS: String(p.timeoutSeconds),
        PER_CLUSTER_TIMEOUT_SECONDS: String(p.perClusterTimeoutSeconds),
        CLUSTERS_GONE_FILE,
        FLUX_RESUME_SCRIPT,
        BACKUP_COMMAND: BACKUP_SCRIPT_PATH,
        ...(p.selfHosted ? { KEEP_CLUSTER: p.selfHosted.keepCluster } : {}),
    });
}
