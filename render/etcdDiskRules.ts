/**
 * `npm run validate` rule: etcd's disk. etcd fsyncs every write and stalls (leader elections,
 * "apply request took too long", a cluster that flaps) on storage with network latency. SCS's
 * standard flavors (scs-0103) carry local SSD variants for exactly this, `SCS-2V-4-20s` and
 * `SCS-4V-16-100s` (the disk suffix `s`: local SSD; `p`: local NVMe; `n`: network; none:
 * unspecified). The class boots the control plane from the `rootVolume` (Cinder) unless its
 * flavor has a local SSD/NVMe disk (patch root-volume-control-plane); a control plane on a
 * flavor without one puts etcd on network (or unspecified) storage. That is refused unless the Cluster says it is meant: the annotation
 * `capi-mgmt.io/etcd-storage: network-acknowledged` (gitops/README.md, "etcd's disk").
 * An annotation, not a variable, so acknowledging changes no machine template (no rollout).
 */
import { SCS_FLAVOR, variablesOf } from "./gitopsEnv";
import { TreeObject } from "./gitopsTree";

export const ETCD_STORAGE_ANNOTATION = "capi-mgmt.io/etcd-storage";
export const ETCD_STORAGE_ACKNOWLEDGED = "network-acknowledged";

/** Why a Cluster's etcd is not on a local SSD, or undefined when it is. */
export function etcdOffLocalSsd(vars: Record<string, unknown>): string | undefined {
    const flavor = String(vars.controlPlaneFlavor);
    const disk = SCS_FLAVOR.exec(flavor)?.groups?.disk;
    if (disk !== undefined && /[sp]$/.test(disk)) return undefined;
    if (vars.rootVolume) return `its control plane boots from a Cinder volume (rootVolume; controlPlaneFlavor ${flavor} has no local SSD)`;
    if (disk === undefined) return undefined; // flavorProblems names a flavor without a disk or not of SCS
    return `controlPlaneFlavor ${flavor}'s disk is not a local SSD (suffix s) or NVMe (p)`;
}

export function etcdDiskProblems(all: TreeObject[]): string[] {
    const problems: string[] = [];
    for (const cluster of all.filter((o) => o.kind === "Cluster")) {
        const vars = variablesOf(cluster, all, []);
        if (!vars) continue; // clusterProblems names it
        const why = etcdOffLocalSsd(vars);
        if (why === undefined || cluster.metadata.annotations?.[ETCD_STORAGE_ANNOTATION] === ETCD_STORAGE_ACKNOWLEDGED) continue;
        problems.push(
            `Cluster ${cluster.metadata.name}: etcd would run on network storage: ${why}; SCS expects a local SSD flavor for the control plane (such as SCS-4V-16-100s, without rootVolume). ` +
                `Use one, or annotate the Cluster ${ETCD_STORAGE_ANNOTATION}: ${ETCD_STORAGE_ACKNOWLEDGED} (gitops/README.md, "etcd's disk")`,
        );
    }
    return problems;
}
