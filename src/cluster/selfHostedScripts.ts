/**
 * Renders the self-hosted mode's host scripts (`capi-mgmt:managementCluster.mode: selfHosted`,
 * docs/self-hosted.md): self-hosted-cluster.sh (build or update the self-hosted cluster),
 * self-hosted-pivot.sh (move every Cluster API object into it, once) and
 * self-hosted-unpivot.sh (on destroy: move them back to kind, which deletes it), and the kind
 * mode's return-to-kind.sh (the same move back and deletion on a running stack that leaves the
 * mode). Where the mode keeps its state on the server, and the pivot script's contract, are here too.
 *
 * Pure and deterministic, like src/host/hostScripts.ts; every input is validated.
 */
import * as fs from "fs";
import * as path from "path";
import { ACTIVE_KUBECONFIG, HOST_SCRIPTS_DIR, HOST_STATE_DIR, renderHostScript, SERVER_KUBECONFIG } from "../host/hostScripts";
import { DNS_LABEL } from "../shared/names";
import { selfHostedOrcNames } from "./selfHostedManifest";

/** The self-hosted mode's state on the server (src/host/scripts/lib/self-hosted-state.sh). */
export const SELF_HOSTED_STATE_DIR = `${HOST_STATE_DIR}/self-hosted`;
/** The self-hosted cluster's admin kubeconfig on the server (0600). */
export const SELF_HOSTED_KUBECONFIG = `${SELF_HOSTED_STATE_DIR}/kubeconfig`;
/**
 * A link to it exactly while the self-hosted cluster holds the Cluster API objects: the active
 * management cluster's kubeconfig of every host tool (src/host/hostScripts.ts
 * ACTIVE_KUBECONFIG), the teardown's included (missing: the kind cluster's).
 */
export const SELF_HOSTED_ACTIVE_KUBECONFIG = ACTIVE_KUBECONFIG;
/** The file a user creates when the kind cluster is lost and the self-hosted cluster's resources were removed by hand. */
export const SELF_HOSTED_GONE_FILE = `${SELF_HOSTED_STATE_DIR}/gone`;
/** Where the pivot script is installed (as the other installed host scripts, e.g. lb-cleanup.sh). */
export const PIVOT_SCRIPT_PATH = "/usr/local/lib/capi-mgmt/pivot.sh";
/** The pivot script in the repository (`clusterctl move` with its preconditions and checks). */
export const PIVOT_SCRIPT_FILE = "pivot.sh";
/** clusterctl as the tools step installs it (src/host/hostBootstrap.ts TOOLS_INSTALL_DIR). */
export const CLUSTERCTL_PATH = "/usr/local/bin/clusterctl";
/** Namespace of Flux on both clusters. */
export const FLUX_NAMESPACE = "flux-system";

const MAX_SECONDS = 24 * 3600;

function checkLabel(what: string, v: string): void {
    if (typeof v !== "string" || v.length > 63 || !DNS_LABEL.test(v)) {
        throw new Error(`${what} must be a DNS label, got ${JSON.stringify(v)}`);
    }
}

function checkSeconds(what: string, n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > MAX_SECONDS) {
        throw new Error(`${what} must be a whole number of seconds from 1 to ${MAX_SECONDS}, got ${n}`);
    }
}

/**
 * The pivot script's text, base64, when `src/host/scripts/pivot.sh` is in the repository
 * (the steps install it at {@link PIVOT_SCRIPT_PATH}); undefined when it is not, and then
 * the pivot step fails on the server naming the missing script, having moved nothing.
 */
export function pivotScriptText(dir: string = HOST_SCRIPTS_DIR): string | undefined {
    const file = path.join(dir, PIVOT_SCRIPT_FILE);
    return fs.existsSync(file) ? fs.readFileSync(file).toString("base64") : undefined;
}

/** Parameters of `src/host/scripts/self-hosted-cluster.sh`. */
export interface SelfHostedClusterParams {
    /** Name of the self-hosted cluster's Cluster. */
    cluster: string;
    /** Its namespace (the workload namespace). */
    namespace: string;
    /** Its objects (src/cluster/selfHostedManifest.ts renderSelfHostedManifest). */
    manifest: string;
    /** The tree's objects the kind cluster builds it from (renderSelfHostedBootstrap). */
    bootstrap: string;
    /** Bound of waiting for the Cluster and its API, seconds. */
    waitTimeoutSeconds: number;
}

/** Renders `src/host/scripts/self-hosted-cluster.sh`; its stdout is the self-hosted cluster's kubeconfig (a secret). */
export function renderSelfHostedClusterScript(p: SelfHostedClusterParams): string {
    checkLabel("cluster", p.cluster);
    checkLabel("namespace", p.namespace);
    checkSeconds("waitTimeoutSeconds", p.waitTimeoutSeconds);
    for (const [what, text] of [
        ["manifest", p.manifest],
        ["bootstrap", p.bootstrap],
    ] as const) {
        if (typeof text !== "string" || text.trim() === "") {
            throw new Error(`${what} must be a non-empty YAML document stream`);
        }
    }
    return renderHostScript(
        "self-hosted-cluster.sh",
        {
            CLUSTER: p.cluster,
            NAMESPACE: p.namespace,
            MANIFEST: p.manifest,
            BOOTSTRAP: p.bootstrap,
            KIND_KUBECONFIG: SERVER_KUBECONFIG,
            STATE_DIR: SELF_HOSTED_STATE_DIR,
            WAIT_TIMEOUT_SECONDS: String(p.waitTimeoutSeconds),
        },
        { multiLine: ["MANIFEST", "BOOTSTRAP"] },
    );
}

/** The parameters of the pivot step and the unpivot step alike: the clusters, the state, the move's tools. */
const MOVE_PARAMS = {
    KIND_KUBECONFIG: SERVER_KUBECONFIG,
    STATE_DIR: SELF_HOSTED_STATE_DIR,
    CLUSTERCTL: CLUSTERCTL_PATH,
    PIVOT_SCRIPT: PIVOT_SCRIPT_PATH,
    FLUX_NAMESPACE,
} as const;

/**
 * Renders `src/host/scripts/self-hosted-pivot.sh` for the workload namespace `namespace`;
 * `pivotScript` (base64, {@link pivotScriptText}) is installed at {@link PIVOT_SCRIPT_PATH} first
 * (empty or undefined: the one installed there is used, and none there fails the step).
 */
export function renderSelfHostedPivotScript(p: { namespace: string; pivotScript?: string }): string {
    checkLabel("namespace", p.namespace);
    return renderHostScript("self-hosted-pivot.sh", {
        NAMESPACE: p.namespace,
        ...MOVE_PARAMS,
        PIVOT_SCRIPT_TEXT: p.pivotScript ?? "",
    });
}

/** What the self-hosted cluster's move back and deletion need (src/host/scripts/lib/self-hosted-move-back.sh). */
export interface MoveBackParams {
    /** Name of the self-hosted cluster's Cluster. */
    cluster: string;
    /** Its namespace (the workload namespace). */
    namespace: string;
    /** Bound of waiting for its deletion, seconds. */
    timeoutSeconds: number;
}

/** The parameters self-hosted-unpivot.sh and return-to-kind.sh share, checked. */
function moveBackParams(p: MoveBackParams): Record<string, string> {
    checkLabel("cluster", p.cluster);
    checkLabel("namespace", p.namespace);
    checkSeconds("timeoutSeconds", p.timeoutSeconds);
    return {
        CLUSTER: p.cluster,
        NAMESPACE: p.namespace,
        ...MOVE_PARAMS,
        TIMEOUT_SECONDS: String(p.timeoutSeconds),
    };
}

/** Renders `src/host/scripts/self-hosted-unpivot.sh` (the delete of the self-hosted-unpivot step). */
export function renderSelfHostedUnpivotScript(p: MoveBackParams): string {
    return renderHostScript("self-hosted-unpivot.sh", { ...moveBackParams(p), GONE_FILE: SELF_HOSTED_GONE_FILE });
}

/**
 * Renders `src/host/scripts/return-to-kind.sh` (kind mode: moves the objects back from a
 * self-hosted cluster this server pivoted into, and deletes it; nothing when it never did).
 */
export function renderReturnToKindScript(p: MoveBackParams): string {
    const orc = selfHostedOrcNames(p.cluster);
    return renderHostScript("return-to-kind.sh", {
        ...moveBackParams(p),
        ORC_OBJECTS: `servergroups.openstack.k-orc.cloud/${orc.serverGroup} images.openstack.k-orc.cloud/${orc.image}`,
    });
}
