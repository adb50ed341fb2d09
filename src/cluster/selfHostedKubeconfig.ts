/**
 * The refresh of the self-hosted cluster's kubeconfig on the server
 * (`capi-mgmt:managementCluster.mode: selfHosted`, docs/self-hosted.md, "The self-hosted
 * cluster's kubeconfig"): the self-hosted-kubeconfig step installs
 * `src/host/scripts/self-hosted-kubeconfig.sh` and its daily timer
 * (`src/host/systemd/capi-mgmt-self-hosted-kubeconfig.*`) with lib/timer-install.sh, as the
 * backup and the deletion cleanup are installed, and runs it once.
 *
 * And the program's side (the same rule as the kind cluster's, src/cluster/certRenewal.ts): the
 * self-hosted-provider-kubeconfig step prints the server's copy for the Kubernetes provider of the
 * self-hosted cluster, and runs again once per renewal of the client certificate it printed,
 * keyed by {@link selfHostedRefreshKey} on what the last `up` recorded in the stack output
 * {@link SELF_HOSTED_KUBECONFIG_OUTPUT}.
 *
 * Pure rendering and date arithmetic, like src/cluster/selfHostedScripts.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { ACTIVE_KUBECONFIG, HOST_SYSTEMD_DIR, renderHostScript, SERVER_KUBECONFIG } from "../host/hostScripts";
import { SYSTEMD_UNIT_DIR } from "../host/lbCleanupScript";
import { DNS_LABEL } from "../shared/names";
import { SELF_HOSTED_STATE_DIR } from "./selfHostedScripts";
import { KubeconfigRefreshRecord, kubeconfigRefreshKey, kubeconfigRefreshRecord } from "./certRenewal";

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
/**
 * The program reads the server's copy again for its Kubernetes provider from this many days
 * before the client certificate it last read expires: when the refresh would fail for that
 * certificate (so a copy still holding it is refused, and the next `up` tries again), about
 * five months after Cluster API renewed the Secret and the daily refresh copied it.
 */
export const SELF_HOSTED_PROVIDER_REFRESH_DAYS = SELF_HOSTED_KUBECONFIG_WARN_DAYS;
/** Name of the stack output {@link SelfHostedKubeconfigRefreshOutput} (read back by the next run). */
export const SELF_HOSTED_KUBECONFIG_OUTPUT = "selfHostedKubeconfigRefresh";

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

/** Renders `src/host/scripts/self-hosted-provider-kubeconfig.sh`, the self-hosted-provider-kubeconfig step (no parameter of the stack). */
export function renderSelfHostedProviderKubeconfigScript(): string {
    return renderHostScript("self-hosted-provider-kubeconfig.sh", {
        STATE_DIR: SELF_HOSTED_STATE_DIR,
        REFRESH_COMMAND: SELF_HOSTED_KUBECONFIG_SCRIPT_PATH,
        REFRESH_BEFORE_DAYS: String(SELF_HOSTED_PROVIDER_REFRESH_DAYS),
    });
}

/** The stack output `selfHostedKubeconfigRefresh` (selfHosted mode): when the provider's kubeconfig is read again. */
export interface SelfHostedKubeconfigRefreshOutput extends KubeconfigRefreshRecord {
    /** The timer on the server that keeps the copy current (daily). */
    timer: string;
}

/**
 * The key self-hosted-provider-kubeconfig runs again on: the last `up`'s (`previous`, its
 * {@link SELF_HOSTED_KUBECONFIG_OUTPUT} as read back) until {@link SELF_HOSTED_PROVIDER_REFRESH_DAYS}
 * days before the recorded certificate expires, then `renewed-after:<that expiry>`; "" without a
 * record (a first `up`, a stack from before the output: the step is created then anyway).
 */
export function selfHostedRefreshKey(previous: unknown, now: Date): string {
    return kubeconfigRefreshKey(previous, undefined, now, SELF_HOSTED_PROVIDER_REFRESH_DAYS);
}

/** The {@link SELF_HOSTED_KUBECONFIG_OUTPUT} output for the kubeconfig the provider got and the key it was read on. */
export function selfHostedKubeconfigRefreshOutput(kubeconfig: unknown, refreshKey: string): SelfHostedKubeconfigRefreshOutput {
    return { timer: `${SELF_HOSTED_KUBECONFIG_UNIT}.timer`, ...kubeconfigRefreshRecord(kubeconfig, refreshKey, SELF_HOSTED_PROVIDER_REFRESH_DAYS) };
}
