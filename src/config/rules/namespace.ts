/**
 * Keys under a misspelling of our namespace, which Pulumi would silently pass by, and the
 * warnings a valid configuration still earns.
 */
import { CONFIG_NAMESPACE, Problems, StackConfig } from "../types";

/** Edit distance of two short strings (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++) {
            cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        prev = cur;
    }
    return prev[b.length];
}

/**
 * True for a namespace that is not ours but looks like a misspelling of it: the same
 * letters with other separators or case (`capi_mgmt`, `CapiMgmt`), or at most two edits away.
 */
export function looksLikeOurNamespace(ns: string): boolean {
    if (ns === CONFIG_NAMESPACE) {
        return false;
    }
    const letters = (x: string) => x.toLowerCase().replace(/[^a-z0-9]/g, "");
    return letters(ns) === letters(CONFIG_NAMESPACE) || editDistance(ns.toLowerCase(), CONFIG_NAMESPACE) <= 2;
}

/** Reports every `ns:key` of `otherKeys` whose namespace looks like a misspelling of ours. */
export function checkMisspelledNamespaces(p: Problems, otherKeys: readonly string[]): void {
    for (const key of otherKeys) {
        const ns = key.slice(0, key.indexOf(":"));
        if (looksLikeOurNamespace(ns)) {
            const rest = key.slice(ns.length + 1);
            p.raw(`${key}: "${ns}" is not "${CONFIG_NAMESPACE}", so the program never reads this key; write it as ${CONFIG_NAMESPACE}:${rest}`);
        }
    }
}

/**
 * What a valid configuration should still be told about (not refused): each line names its
 * key. The program logs them as warnings.
 */
export function configWarnings(
    cfg: Pick<StackConfig, "environment" | "cloud" | "workloadProject"> & Partial<Pick<StackConfig, "serverGeneration" | "rebuildWithClusters" | "backup">>,
): string[] {
    const warnings: string[] = [];
    if (cfg.rebuildWithClusters !== undefined && cfg.serverGeneration !== undefined && cfg.rebuildWithClusters < cfg.serverGeneration) {
        warnings.push(
            `${CONFIG_NAMESPACE}:rebuildWithClusters is ${cfg.rebuildWithClusters}, an acknowledgement of an earlier bump: it covers only ` +
                `generation ${cfg.rebuildWithClusters}, not ${cfg.serverGeneration} nor any later one, so it has no effect; remove it`,
        );
    }
    const wp = cfg.workloadProject;
    if (wp === undefined) {
        if (cfg.environment === "production") {
            warnings.push(
                `${CONFIG_NAMESPACE}:workloadProject is not set: CAPO's identity and the cloud-provider credential copied into every ` +
                    `workload cluster live in the management server's project, so anyone who can read Secrets in a workload ` +
                    `cluster's kube-system can delete the management server. Production should use a separate project (docs/settings.md, ` +
                    `"Separate project for workload clusters")`,
            );
        }
    } else if (wp.cloud === cfg.cloud) {
        warnings.push(
            `${CONFIG_NAMESPACE}:workloadProject.cloud is "${wp.cloud}", the same clouds.yaml entry as openstack:cloud: the workload ` +
                `clusters' credentials are in the management server's project (a clouds.yaml entry names one project, whatever ` +
                `the region), nothing is separated`,
        );
    }
    if (cfg.environment === "production" && cfg.backup?.volumeSize === 0) {
        warnings.push(
            `${CONFIG_NAMESPACE}:backup.volumeSize is 0: the backups of the management cluster stay on the server's root disk, ` +
                `so a lost server or a serverGeneration bump loses them with it. Production should keep them on a Cinder volume ` +
                `(e.g. backup.volumeSize: 10; docs/backup-restore.md)`,
        );
    }
    return warnings;
}
