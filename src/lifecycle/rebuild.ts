/**
 * A `serverGeneration` bump on a live stack: what must hold before the new generation's port
 * and server are created. Pure: no Pulumi runtime here.
 *
 * - The running management cluster must hold no `Cluster` objects, checked live by
 *   `src/host/scripts/rebuild-check.sh` over SSH (src/lifecycle/rebuildCheck.ts), unless the user
 *   acknowledged this very generation with `capi-mgmt:rebuildWithClusters`: the new management
 *   cluster's Flux would apply the same Clusters at once, while the old server's CAPO still
 *   reconciles them until the old server is deleted at the end of the `up`.
 * - The running server must not be protected (`capi-mgmt:protect`): it is not registered by
 *   the bump's run, so the engine deletes it at the end of the `up`, and refuses that delete
 *   ({@link rebuildProblems}); the bump is refused up front instead, with the way out.
 */
import { CONFIG_NAMESPACE, StackConfig } from "../config";
import { renderHostScript, SERVER_KUBECONFIG } from "../host/hostScripts";
import { createsServer, PreviousDeployment } from "./lifecycle";
import { BACKUP_PROCEED_FILE, renderBackupBeforeScript } from "../backup/backupSteps";

/** Seconds ssh waits for the TCP connection and the SSH banner, per attempt. */
export const REBUILD_CHECK_CONNECT_TIMEOUT_SECONDS = 10;
/** TCP connection attempts of ssh (one second apart). */
export const REBUILD_CHECK_CONNECTION_ATTEMPTS = 3;
/** Bound of each kubectl request on the server. */
export const REBUILD_CHECK_REQUEST_TIMEOUT_SECONDS = 20;

/** Environment variable that hands the login private key to the check (never its command line). */
export const REBUILD_CHECK_KEY_ENV = "CAPI_MGMT_LOGIN_KEY";

/**
 * What the check of this run does:
 * - `none`: not a bump over a recorded deployment (a first `up`, the same generation, a
 *   legacy state): the script exits at once, nothing is contacted;
 * - `acknowledged`: a bump the user acknowledged for this generation: the Clusters are not
 *   checked; the running server at `host` is only asked for a backup (a server that does not
 *   answer is taken to be gone: the acknowledgement covers that);
 * - `check`: a bump: the running server at `host` is asked for its Clusters, then for a backup.
 * Either backup lands in the backup directory, on the backup volume that the bump moves to the
 * new server (docs/backup-restore.md), which the old server unmounts after it.
 */
export type RebuildCheckPlan =
    | { mode: "none" }
    | { mode: "acknowledged"; previousGeneration: number; targetGeneration: number; host: string }
    | { mode: "check"; previousGeneration: number; targetGeneration: number; host: string };

/**
 * The plan of this run, from what the last `up` deployed and the floating IP it exported (the
 * address the running server answers at until this run moves the association).
 */
export function rebuildCheckPlan(
    prev: PreviousDeployment,
    cfg: Pick<StackConfig, "serverGeneration" | "rebuildWithClusters">,
    previousFloatingIp: string,
): RebuildCheckPlan {
    if (prev.kind !== "deployed" || !createsServer(prev, cfg)) {
        return { mode: "none" };
    }
    const generations = { previousGeneration: prev.state.serverGeneration, targetGeneration: cfg.serverGeneration };
    if (cfg.rebuildWithClusters === cfg.serverGeneration) {
        return { mode: "acknowledged", ...generations, host: previousFloatingIp };
    }
    return { mode: "check", ...generations, host: previousFloatingIp };
}

/** `src/host/scripts/rebuild-check.sh` with its parameters, for the machine running Pulumi. */
export function renderRebuildCheckScript(plan: RebuildCheckPlan, hostPublicKey: string, loginUser: string): string {
    return renderHostScript(
        "rebuild-check.sh",
        {
            MODE: plan.mode,
            PREVIOUS_GENERATION: plan.mode === "none" ? "" : String(plan.previousGeneration),
            TARGET_GENERATION: plan.mode === "none" ? "" : String(plan.targetGeneration),
            HOST: plan.mode === "none" ? "" : plan.host,
            HOST_PUBLIC_KEY: hostPublicKey.trim(),
            LOGIN_USER: loginUser,
            SERVER_KUBECONFIG_PATH: SERVER_KUBECONFIG,
            CONNECT_TIMEOUT_SECONDS: String(REBUILD_CHECK_CONNECT_TIMEOUT_SECONDS),
            CONNECTION_ATTEMPTS: String(REBUILD_CHECK_CONNECTION_ATTEMPTS),
            REQUEST_TIMEOUT_SECONDS: String(REBUILD_CHECK_REQUEST_TIMEOUT_SECONDS),
            BACKUP_BEFORE_SCRIPT: renderBackupBeforeScript({
                reason: "before-rebuild",
                what: `serverGeneration ${plan.mode === "none" ? "" : plan.targetGeneration} replaces this server`,
                releaseVolume: true,
            }),
            PROCEED_FILE: BACKUP_PROCEED_FILE,
        },
        { multiLine: ["BACKUP_BEFORE_SCRIPT"] },
    );
}

/**
 * Bumps refused before anything is created: a bump over a server the last `up` protected.
 *
 * Why not let the bump run: the old generation's server is not registered by this run, so
 * the engine deletes it at the end of the `up`, and a protected resource's delete fails when
 * its step is applied (pulumi/pulumi pkg/resource/deploy/step.go, DeleteStep.Apply, checked
 * before the preview/update branch). A preview therefore fails with the engine's bare
 * "cannot be deleted because it is protected"; with `--skip-preview` the update builds the
 * new port, server and management cluster first and fails only then, leaving both servers
 * (two CAPOs on the same Clusters). The recorded `protect` is what the last `up` set
 * (`pulumi state unprotect` by hand does not change it), so the way out is an `up` that
 * unprotects. Modelled from the engine's source, not run on the real engine.
 */
export function rebuildProblems(prev: PreviousDeployment, cfg: Pick<StackConfig, "serverGeneration">): string[] {
    if (prev.kind !== "deployed" || !createsServer(prev, cfg) || prev.state.protect !== true) {
        return [];
    }
    const from = prev.state.serverGeneration;
    return [
        `${CONFIG_NAMESPACE}:serverGeneration: generation ${from}'s server is protected (${CONFIG_NAMESPACE}:protect, on by default in ` +
            `production), so this \`up\` could build generation ${cfg.serverGeneration} but then not delete the old server. First run ` +
            `\`pulumi up\` with ${CONFIG_NAMESPACE}:serverGeneration still ${from} and ${CONFIG_NAMESPACE}:protect: false (it only ` +
            `unprotects, nothing else changes), then bump; set protect back in the bump itself to protect the new server`,
    ];
}
