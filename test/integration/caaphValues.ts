/**
 * The Helm values CAAPH's own HelmChartProxy controller renders from a HelmChartProxy of the
 * tree for one Cluster: its values template executed against the live Cluster and
 * OpenStackCluster. CAAPH runs with the test bed's watch filter, so only a copy of the proxy
 * carrying the filter's label is reconciled; the copy selects the Cluster alone by `selector`
 * (labels the test put on it). The HelmReleaseProxy it makes is not reconciled (no chart is
 * fetched or installed). The copy is deleted afterwards.
 */
import { stringify as toYaml } from "yaml";
import type { TreeObject } from "../../render/gitopsTree";
import { ControlPlane } from "./harness/controlPlane";
import { IDLE_WATCH_FILTER } from "./harness/managementCluster";
import { at } from "./harness/objects";
import { waitFor } from "./harness/processes";

const HELM_CHART_PROXY = "helmchartproxies.v1alpha1.addons.cluster.x-k8s.io";
const HELM_RELEASE_PROXY = "helmreleaseproxies.v1alpha1.addons.cluster.x-k8s.io";

/** The values (YAML text) of the HelmReleaseProxy CAAPH makes for Cluster `cluster` in `namespace` from a copy of `proxy` named `copyName`. */
export async function caaphValues(
    cp: ControlPlane,
    proxy: TreeObject,
    target: { cluster: string; namespace: string; selector: Record<string, string>; copyName: string },
    wait: { timeoutMs: number; intervalMs?: number; watched?: ControlPlane["processes"] },
): Promise<string> {
    const copy = structuredClone(proxy);
    copy.metadata.name = target.copyName.slice(0, 63);
    copy.metadata.namespace = target.namespace;
    copy.metadata.labels = { ...copy.metadata.labels, "cluster.x-k8s.io/watch-filter": IDLE_WATCH_FILTER };
    copy.spec.clusterSelector = { matchLabels: target.selector };
    cp.applyOk(toYaml(copy), { fieldManager: "kustomize-controller" });
    try {
        const release = await waitFor(
            `HelmReleaseProxy of ${copy.metadata.name}`,
            () =>
                cp.list(HELM_RELEASE_PROXY, {
                    namespace: target.namespace,
                    selector: `cluster.x-k8s.io/cluster-name=${target.cluster},helmreleaseproxy.addons.cluster.x-k8s.io/helmchartproxy-name=${copy.metadata.name}`,
                })[0],
            wait,
        );
        return String(at(release, "spec.values") ?? "");
    } finally {
        cp.kubectl(["delete", HELM_CHART_PROXY, copy.metadata.name, "-n", target.namespace, "--wait=false"]);
    }
}
