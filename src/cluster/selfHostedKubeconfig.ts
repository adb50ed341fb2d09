/**
 * The refresh of the self-hosted cluster's kubeconfig on the server
 * (`capi-mgmt:managementCluster.mode: selfHosted`, docs/self-hosted.md, "The self-hosted
 * cluster's kubeconfig"): the self-hosted-kubeconfig step installs
 * `src/host/scripts/self-hosted-kubeconfig.sh` and its daily timer
 * (`src/host/systemd/capi-mgmt-self-hosted-kubeconfig.*`) with lib/timer-install.sh, as the
 * backup and the deletion cleanup are installed, and runs it once.
 *
 * Pure rendering, like src/cluster/selfHostedScripts.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { ACTIVE_KUBECONFIG, HOST_SYSTEMD_DIR, renderHostScript, SERVER_KUBECONFIG } from "../host/hostScripts";
import { SYSTEMD_UNIT_DIR } from "../host/lbCleanupScript";
import { SELF_HOSTED_STATE_DIR } from "./selfHostedScripts";

/** Where the refresh is installed on the server (the service's ExecStart). */
export const SELF_HOSTED_KUBECONFIG_SCRIPT_PATH = "/usr/local/lib/capi-mgmt/self-hosted-kubeconfig.sh";
/** Name of its systemd service and timer (files of `src/host/systemd/`). */
export const SELF_HOSTED_KUBECONFIG_UNIT = "capi-mgmt-self-hosted-kubeconfig";
/**
 * The refresh fails (its unit `failed`, the step's `up` too) when the server's copy expires
 * within this many days and could not be refreshed. Cluster API renews the Secret's
 * certificate at half its life (about six months before it expires), so a refresh that works
 * never comes near; a month leaves time to repair one that does not.
 */
export const SELF_HOSTED_KUBECONFIG_WARN_DAYS = 30;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function unit(ext: "service" | "timer"): string {
    const text = fs.readFileSync(path.join(HOST_SYSTEMD_DIR, `${SELF_HOSTED_KUBECONFIG_UNIT}.${ext}`), "utf8");
    if (ext === "service" && !text.includes(`\nExecStart=${SELF_HOSTED_KUBECONFIG_SCRIPT_PATH}\n`)) {
        throw new Error(`src/host/systemd/${SELF_HOSTED_KUBECONFIG_UNIT}.service must run ExecStart=${SELF_HOSTED_KUBECONFIG_SCRIPT_PATH}`);
    }
    return text;
}

/** The self-hosted cluster: its Cluster's name and namespace. */
export interface SelfHostedKubeconfigParams {
    /** Name of the self-hosted cluster's Cluster. */
    cluster: string;
    /** Its namespace (the workload namespace). */
    namespace: string;
}

/** Renders `src/host/scripts/self-hosted-kubeconfig.sh` (what the timer runs). */
export function renderSelfHostedKubeconfigScript(p: SelfHostedKubeconfigParams): string {
    for (const [what, v] of [
        ["cluster", p.cluster],
        ["namespace", p.namespace],
    ] as const) {
        if (typeof v !== "string" || v.length > 63 || !DNS_LABEL.test(v)) {
            throw new Error(`${what} must be a DNS label, got ${JSON.stringify(v)}`);
        }
    }
    return renderHostScript("self-hosted-kubeconfig.sh", {
        CLUSTER: p.cluster,
        NAMESPACE: p.namespace,
        KIND_KUBECONFIG: SERVER_KUBECONFIG,
        ACTIVE_KUBECONFIG,
        STATE_DIR: SELF_HOSTED_STATE_DIR,
        WARN_DAYS: String(SELF_HOSTED_KUBECONFIG_WARN_DAYS),
    });
}

/** The service unit (one refresh, a oneshot). */
export function renderSelfHostedKubeconfigService(): string {
    return unit("service");
}

/** The timer unit (daily). */
export function renderSelfHostedKubeconfigTimer(): string {
    return unit("timer");
}

/** Renders `src/host/scripts/self-hosted-kubeconfig-install.sh`, the self-hosted-kubeconfig step. */
export function renderSelfHostedKubeconfigInstallScript(p: SelfHostedKubeconfigParams): string {
    return renderHostScript(
        "self-hosted-kubeconfig-install.sh",
        {
            SCRIPT_PATH: SELF_HOSTED_KUBECONFIG_SCRIPT_PATH,
            SCRIPT: renderSelfHostedKubeconfigScript(p),
            UNIT_DIR: SYSTEMD_UNIT_DIR,
            UNIT: SELF_HOSTED_KUBECONFIG_UNIT,
            SERVICE: renderSelfHostedKubeconfigService(),
            TIMER: renderSelfHostedKubeconfigTimer(),
        },
        { multiLine: ["SCRIPT", "SERVICE", "TIMER"] },
    );
}
