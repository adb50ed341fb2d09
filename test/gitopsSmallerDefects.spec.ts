/**
 * Smaller defects of the tree (gitops/), each refused with a message naming what to fix:
 * cloud-provider-openstack charts of another Kubernetes minor than a Cluster's
 * (`npm run validate`), IPv6 entries of apiAllowedCidrs (which CAPO drops; the class's
 * schema), and the README's troubleshooting for them.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { addonVersionProblems } from "../render/addonVersionRules";
import { classOf, classVariables, schemaProblems } from "../render/classVariables";
import { Environment, readEnvironment, TreeObject } from "../render/gitopsTree";
import { PROJECT_DIR } from "./harness";

const TREE = path.join(PROJECT_DIR, "gitops");
const SETTINGS = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });

let env: Environment | undefined;
const objects = (): TreeObject[] => {
    env ??= readEnvironment(TREE, "./clusters/dev", SETTINGS);
    return env.units.flatMap((u) => u.documents.map((d) => d.object));
};
const cluster = (): TreeObject => structuredClone(objects().find((o) => o.kind === "Cluster" && o.metadata.name === "workload-1")!);
const others = () => objects().filter((o) => o.kind !== "Cluster");
const readme = () => fs.readFileSync(path.join(TREE, "README.md"), "utf8");
const troubleshooting = () =>
    readme()
        .split(/^## /m)
        .find((s) => s.startsWith("Troubleshooting"))!;

describe("smaller defects", () => {
    describe("OCCM and Cinder CSI follow the Cluster's Kubernetes minor", () => {
        it("accepts the tree", () => {
            assert.deepStrictEqual(addonVersionProblems(objects()), []);
        });

        it("refuses a Cluster upgraded without its cloud provider charts, naming the Cluster and each chart", () => {
            const upgraded = cluster();
            upgraded.spec.topology.version = "v1.36.1";
            const problems = addonVersionProblems([...others(), upgraded]);
            assert.strictEqual(problems.length, 2, problems.join("\n"));
            assert.match(
                problems.join("\n"),
                /^Cluster workload-1: HelmChartProxy openstack-cloud-controller-manager installs openstack-cloud-controller-manager 2\.35\.0, not 2\.36\.x for its Kubernetes v1\.36\.1/m,
            );
            assert.match(problems.join("\n"), /^Cluster workload-1: HelmChartProxy openstack-cinder-csi installs openstack-cinder-csi 2\.35\.0, not 2\.36\.x/m);
        });

        it("leaves a Cluster alone that the charts do not select", () => {
            const unlabelled = cluster();
            unlabelled.spec.topology.version = "v1.34.2";
            unlabelled.metadata.labels = {};
            assert.deepStrictEqual(addonVersionProblems([...others(), unlabelled]), []);
        });
    });

    describe("apiAllowedCidrs", () => {
        const schema = () => classVariables(classOf(cluster(), objects())).find((v) => v.name === "apiAllowedCidrs")!.schema.openAPIV3Schema;

        it("refuses an IPv6 CIDR, which CAPO v0.14.7 would drop from allowed_cidrs with only a warning Event", () => {
            assert.notDeepStrictEqual(schemaProblems(["192.0.2.10/32", "2001:db8::/32"], schema(), "apiAllowedCidrs"), []);
            assert.notDeepStrictEqual(schemaProblems(["::/0"], schema(), "apiAllowedCidrs"), []);
        });

        it("accepts IPv4 CIDRs", () => {
            assert.deepStrictEqual(schemaProblems(["192.0.2.10/32", "203.0.113.0/24", "10.0.0.0/8"], schema(), "apiAllowedCidrs"), []);
        });
    });

    it("names the symptoms and fixes in gitops/README.md's troubleshooting", () => {
        const t = troubleshooting();
        assert.match(t, /not\s+2\.<minor>\.x for its Kubernetes/);
        assert.match(t, /IPv6/);
        assert.match(t, /apiAllowedCidrs/);
    });
});

describe("smaller defects: immutable templates, dev and prod in one project", () => {
    it("names every template of the class -v<N>, so that a change is a copy under the next name, and documents the webhook's refusal", () => {
        const kinds = ["KubeadmControlPlaneTemplate", "KubeadmConfigTemplate", "OpenStackMachineTemplate", "OpenStackClusterTemplate"];
        const templates = objects().filter((o) => kinds.includes(o.kind));
        assert.deepStrictEqual([...new Set(templates.map((t) => t.kind))].sort(), [...kinds].sort());
        for (const t of templates) assert.match(t.metadata.name, /-v\d+$/, `${t.kind} ${t.metadata.name}`);
        assert.match(troubleshooting(), /KubeadmControlPlaneTemplate spec\.template\.spec field is\s+immutable/);
        const change = readme()
            .split(/^## /m)
            .find((s) => s.startsWith("Change the ClusterClass"))!;
        assert.match(change, /KubeadmControlPlaneTemplate/);
    });

    it("documents what dev and prod in one project collide on, and the way out", () => {
        const t = troubleshooting();
        assert.match(t, /dev and prod in one OpenStack project/);
        assert.match(t, /k8s-clusterapi-cluster-<namespace>-<cluster>/);
        assert.match(t, /gitops\.workloadNamespace/);
    });
});
