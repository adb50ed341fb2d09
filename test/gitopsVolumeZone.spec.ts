/**
 * Cinder CSI's availability zone when the cloud's volume zones differ from its compute zones
 * (issue 21, smaller defects). cinder-csi-plugin v1.35 with topology (the chart's default)
 * creates each volume in the compute zone of the node its Pod goes to, which Cinder refuses
 * (or falls back from, leaving the PV pinned to a zone it is not in) where Cinder's zones
 * are others. The Cluster's label capi-mgmt.io/volume-availability-zone switches topology off
 * in the node and controller plugins and the provisioner and puts the zone into both
 * StorageClasses' `availability` parameter (the plugin's troubleshooting.md, first way), per
 * cluster, without changing the shared cloud.conf. Here: the variable's schema and the docs;
 * the HelmChartProxy's values as CAAPH's own controller renders them, with and without the
 * variable, are checked on the test bed (test/integration/classInfrastructure.integration.ts).
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { classOf, classVariables, schemaProblems } from "../render/classVariables";
import { readEnvironment, TreeObject } from "../render/gitopsTree";
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
describe("Cinder CSI's availability zone", () => {
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
