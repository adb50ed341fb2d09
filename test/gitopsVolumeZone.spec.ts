/**
 * Cinder CSI's availability zone when the cloud's volume zones differ from its compute zones
 * (issue 21, smaller defects). cinder-csi-plugin v1.35 with topology (the chart's default)
 * creates each volume in the compute zone of the node its Pod goes to, which Cinder refuses
 * (or falls back from, leaving the PV pinned to a zone it is not in) where Cinder's zones
 * are others. The Cluster's label capi-mgmt.io/volume-availability-zone switches topology off
 * in the node and controller plugins and the provisioner and puts the zone into both
 * StorageClasses' `availability` parameter (the plugin's troubleshooting.md, first way), per
 * cluster, without changing the shared cloud.conf. The HelmChartProxy's values template is
 * rendered from the tree (`kubectl kustomize`) as CAAPH renders it, for a Cluster with and
 * without the variable.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse, parseAllDocuments } from "yaml";
import { fluxSettingsData } from "../lib/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../lib/contract";
import { classOf, classVariables, executeGoTemplate, readEnvironment, schemaProblems, TreeObject } from "../render/gitopsTree";
import { PROJECT_DIR } from "./harness";

const TREE = path.join(PROJECT_DIR, "gitops");
const SETTINGS = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });
const VARIABLE = "volumeAvailabilityZone";
let all: TreeObject[] | undefined;
const objects = () => (all ??= readEnvironment(TREE, "./clusters/prod", SETTINGS).units.flatMap((u) => u.documents.map((d) => d.object)));
const cluster = (zone?: string) => {
    const c = structuredClone(objects().find((o) => o.kind === "Cluster")!);
    c.metadata = { ...c.metadata, uid: "5d2c7b8e-1f0a-4c3d-9e8f-0a1b2c3d4e5f" } as TreeObject["metadata"];
    if (zone !== undefined) c.spec.topology.variables.push({ name: VARIABLE, value: zone });
    return c;
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const values = (c: TreeObject): Record<string, any> => {
    const proxy = objects().find((o) => o.kind === "HelmChartProxy" && o.spec.chartName === "openstack-cinder-csi")!;
    return parse(executeGoTemplate(String(proxy.spec.valuesTemplate), { Cluster: c }, "openstack-cinder-csi")) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
};

describe("Cinder CSI's availability zone", () => {
    it("keeps the chart's topology and its two StorageClasses (Delete the default) without the variable", () => {
        const v = values(cluster());
        assert.strictEqual(v.csi, undefined);
        // The chart's own two classes as chart 2.35.0 renders them from storageClass.delete/.retain.
        assert.strictEqual(v.storageClass.enabled, false);
        assert.deepStrictEqual(parseAllDocuments(v.storageClass.custom).map((d) => d.toJS()), [
            { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "csi-cinder-sc-delete", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } }, provisioner: "cinder.csi.openstack.org", reclaimPolicy: "Delete", allowVolumeExpansion: true },
            { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "csi-cinder-sc-retain" }, provisioner: "cinder.csi.openstack.org", reclaimPolicy: "Retain", allowVolumeExpansion: true },
        ]);
    });

    it("with the variable: no topology in the plugin and the provisioner, and both StorageClasses create volumes in that Cinder zone", () => {
        const v = values(cluster("storage-az1"));
        assert.strictEqual(v.csi.provisioner.topology, "false");
        // The chart (2.35.0) appends csi.plugin.extraArgs, a YAML list, to the args of the node and the controller plugin.
        assert.deepStrictEqual(parse(v.csi.plugin.extraArgs), ["--with-topology=false"]);
        assert.strictEqual(v.storageClass.enabled, false);
        const classes = parseAllDocuments(v.storageClass.custom).map((d) => d.toJS());
        assert.deepStrictEqual(
            classes.map((c) => [c.kind, c.metadata.name, c.provisioner, c.reclaimPolicy, c.allowVolumeExpansion, c.parameters, c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"]]),
            [
                ["StorageClass", "csi-cinder-sc-delete", "cinder.csi.openstack.org", "Delete", true, { availability: "storage-az1" }, "true"],
                ["StorageClass", "csi-cinder-sc-retain", "cinder.csi.openstack.org", "Retain", true, { availability: "storage-az1" }, undefined],
            ],
        );
        // The rest of the values stay: the cloud-config Secret and the cluster's tag.
        assert.deepStrictEqual(v.secret, values(cluster()).secret);
        assert.strictEqual(v.clusterID, values(cluster()).clusterID);
    });

    it("accepts a zone name and refuses an empty or odd one, naming the variable (the class's schema, with ajv)", () => {
        const schema = classVariables(classOf(cluster(), objects())).find((v) => v.name === VARIABLE)!.schema.openAPIV3Schema;
        assert.deepStrictEqual(schemaProblems("storage-az1", schema, VARIABLE), []);
        for (const bad of ["", "az 1", "az1\nparameters:"]) assert.notDeepStrictEqual(schemaProblems(bad, schema, VARIABLE), [], bad);
    });

    it("names the symptom and the fix in gitops/README.md", () => {
        const readme = fs.readFileSync(path.join(TREE, "README.md"), "utf8");
        const t = readme.split(/^## /m).find((s) => s.startsWith("Troubleshooting"))!;
        assert.match(t, /Availability zone\s+'<zone>' is invalid/);
        assert.match(t, new RegExp(VARIABLE));
        assert.match(readme, /^### Volumes and availability zones$/m);
    });
});
