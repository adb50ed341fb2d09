/**
 * Add-ons upgraded in place, not reinstalled (issue 21, "copying an add-on's proxy settings
 * re-installs it"). CAAPH v0.6.4 uninstalls and reinstalls a release when a Cluster moves
 * between HelmChartProxies or a proxy's chartName/releaseName/namespace changes (or gets a
 * releaseName after a generated one); values and version changes are upgrades. The tree
 * (built by `kubectl kustomize`) passes `npm run validate`'s rule; the rule refuses a proxy
 * without releaseName or namespace and two proxies installing one release into a Cluster; no
 * add-on's values read the Cluster's proxy or mirror variables; the README says all this.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { addonReleaseProblems } from "../render/addonReleaseRules";
import { readEnvironment, TreeObject } from "../render/gitopsTree";
import { PROJECT_DIR } from "./harness";

const TREE = path.join(PROJECT_DIR, "gitops");
const SETTINGS = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });
let all: TreeObject[] | undefined;
const objects = () => (all ??= readEnvironment(TREE, "./clusters/dev", SETTINGS).units.flatMap((u) => u.documents.map((d) => d.object)));
const proxy = (name: string) => structuredClone(objects().find((o) => o.kind === "HelmChartProxy" && o.metadata.name === name)!);
const without = (name: string) => objects().filter((o) => !(o.kind === "HelmChartProxy" && o.metadata.name === name));

describe("add-ons: upgrade in place, not reinstall", () => {
    it("accepts the tree: every proxy names its release and namespace, one proxy per release and Cluster", () => {
        assert.deepStrictEqual(addonReleaseProblems(objects()), []);
    });

    it("refuses a proxy without releaseName or namespace, naming it", () => {
        const p = proxy("metrics-server");
        delete p.spec.releaseName;
        delete p.spec.namespace;
        const problems = addonReleaseProblems([...without("metrics-server"), p]);
        assert.deepStrictEqual(
            problems.map((x) => x.split(":")[0]),
            ["HelmChartProxy metrics-server sets no releaseName", "HelmChartProxy metrics-server sets no namespace"],
        );
        assert.match(problems[0], /uninstalls and reinstalls/);
    });

    it("refuses a copy of a proxy that selects the same Cluster with the same release, naming both and the Cluster", () => {
        const copy = proxy("openstack-cinder-csi");
        copy.metadata.name = "openstack-cinder-csi-zone";
        const problems = addonReleaseProblems([...objects(), copy]);
        assert.strictEqual(problems.length, 1, problems.join("\n"));
        assert.match(
            problems[0],
            /^Cluster workload-1: HelmChartProxies openstack-cinder-csi and openstack-cinder-csi-zone both install release kube-system\/openstack-cinder-csi/,
        );
    });

    it("feeds no add-on's values from the Cluster's proxy or registry mirror variables (changing them upgrades no add-on)", () => {
        for (const p of objects().filter((o) => o.kind === "HelmChartProxy")) {
            const t = String(p.spec.valuesTemplate ?? "");
            const read = [...t.matchAll(/eq \.name "([^"]+)"/g)].map((m) => m[1]);
            assert.ok(!read.includes("proxy") && !read.includes("registryMirrors"), `${p.metadata.name} reads ${read.join(", ")}`);
            assert.doesNotMatch(
                t,
                /\.Cluster\.spec\.topology\.variables\b(?![^}]*\}\}\{\{ if eq \.name)/,
                `${p.metadata.name} reads the variables otherwise than by name`,
            );
        }
    });

    it("documents when CAAPH reinstalls, and the symptom, in gitops/README.md", () => {
        const readme = fs.readFileSync(path.join(TREE, "README.md"), "utf8");
        assert.match(readme, /\*\*Upgrade or reinstall\.\*\*/);
        const t = readme.split(/^## /m).find((s) => s.startsWith("Troubleshooting"))!;
        assert.match(t, /An add-on was uninstalled and installed again/);
        assert.match(t, /Preparing to\s+uninstall release/);
    });
});
