/**
 * `npm run validate` rule: what makes CAAPH (v0.6.4) uninstall and reinstall an add-on
 * instead of upgrading it. A change of a HelmChartProxy's values or version is a `helm
 * upgrade` of the release in place. A reinstall (`helm uninstall`, then `install`: the
 * add-on's objects deleted, an ingress-nginx LoadBalancer Service's Octavia load balancer and
 * floating IP with them, Cilium's pod network down meanwhile) happens when
 * - a proxy changes its chartName, releaseName or namespace, or gets a releaseName where it
 *   had a generated one (shouldReinstallHelmRelease);
 * - a Cluster moves from one proxy to another (a copy under a new label value): the old
 *   proxy's HelmReleaseProxy is deleted and its finalizer uninstalls the release, the new
 *   one installs it.
 * The tree can rule out the first kind's surprise (every proxy names its release and
 * namespace) and two proxies installing one release into the same Cluster (which would
 * fight, each upgrading it to its own values); the second kind is documented
 * (gitops/README.md, "Opt a cluster in or out").
 */
import { selects } from "./gitopsRules";
import { TreeObject } from "./gitopsTree";

export function addonReleaseProblems(all: TreeObject[]): string[] {
    const problems: string[] = [];
    const proxies = all.filter((o) => o.kind === "HelmChartProxy");
    for (const p of proxies) {
        for (const field of ["releaseName", "namespace"]) {
            if (typeof p.spec?.[field] !== "string" || p.spec[field] === "") {
                problems.push(
                    `HelmChartProxy ${p.metadata.name} sets no ${field}: CAAPH generates one, and setting it later uninstalls and reinstalls the add-on on every cluster`,
                );
            }
        }
    }
    for (const cluster of all.filter((o) => o.kind === "Cluster")) {
        const seen = new Map<string, string>();
        for (const p of proxies.filter((x) => selects(x.spec?.clusterSelector ?? {}, cluster))) {
            const release = `${p.spec?.namespace}/${p.spec?.releaseName}`;
            const other = seen.get(release);
            if (other !== undefined) {
                problems.push(
                    `Cluster ${cluster.metadata.name}: HelmChartProxies ${other} and ${p.metadata.name} both install release ${release}: give the copy a selector the other does not match (gitops/README.md, "Opt a cluster in or out")`,
                );
            }
            seen.set(release, p.metadata.name);
        }
    }
    return problems;
}
