/**
 * `npm run validate` rule: cloud-provider-openstack's charts (the cloud controller manager
 * and Cinder CSI) follow the Kubernetes minor of every Cluster they select. Chart 2.<minor>.x
 * is cloud-provider-openstack v1.<minor>, built and tested for Kubernetes 1.<minor>; an
 * upgrade that raises the Cluster's version without the charts leaves them a minor behind.
 */
import * as semver from "semver";
import { selects } from "./gitopsRules";
import { TreeObject } from "./gitopsTree";

/** The charts that follow the Kubernetes minor (repository https://kubernetes.github.io/cloud-provider-openstack). */
export const CLOUD_PROVIDER_CHARTS = ["openstack-cloud-controller-manager", "openstack-cinder-csi"];

export function addonVersionProblems(all: TreeObject[]): string[] {
    const problems: string[] = [];
    const proxies = all.filter((o) => o.kind === "HelmChartProxy" && CLOUD_PROVIDER_CHARTS.includes(o.spec?.chartName));
    for (const cluster of all.filter((o) => o.kind === "Cluster")) {
        const version = semver.valid(cluster.spec?.topology?.version);
        if (version === null) continue; // clusterProblems names it
        for (const p of proxies.filter((x) => selects(x.spec.clusterSelector ?? {}, cluster))) {
            const chart = semver.valid(p.spec.version);
            if (chart === null || semver.major(chart) !== 2 || semver.minor(chart) !== semver.minor(version)) {
                problems.push(
                    `Cluster ${cluster.metadata.name}: HelmChartProxy ${p.metadata.name} installs ${p.spec.chartName} ${p.spec.version}, not 2.${semver.minor(version)}.x for its Kubernetes ${cluster.spec.topology.version}: ` +
                        `raise the chart's version in the commit that changes the Cluster's (gitops/README.md, "Upgrade Kubernetes")`,
                );
            }
        }
    }
    return problems;
}
