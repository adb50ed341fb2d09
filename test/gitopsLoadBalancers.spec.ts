/**
 * The tree's load balancers (gitops/): the API load balancer's provider (ClusterClass variable
 * apiLoadBalancer), as far as its OpenAPI schema decides (ajv). Its CEL rule (ovn and the
 * cloud's default need the acknowledgement), its create-only rule, the provider the class's
 * patches give the OpenStackCluster, OCCM's own cloud.conf with its [LoadBalancer] section and
 * --cluster-name, and Cinder CSI's cluster tag (what the deletion cleanup, src/host/scripts/lb-cleanup.sh,
 * relies on) are proven by Cluster API's webhook and topology controller and CAAPH in the test
 * bed: test/integration/stacks.integration.ts.
 */
import "mocha";
import * as assert from "assert";
import * as path from "path";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { classOf, classVariables, schemaProblems } from "../render/classVariables";
import { Environment, readEnvironment, TreeObject } from "../render/gitopsTree";
import { PROJECT_DIR } from "./harness";

const TREE = path.join(PROJECT_DIR, "gitops");
const SETTINGS = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });
const ACK = "acknowledged";

let env: Environment | undefined;
/** The dev environment of the tree, read once. */
function tree(): Environment {
    env ??= readEnvironment(TREE, "./clusters/dev", SETTINGS);
    return env;
}

const objects = () => tree().units.flatMap((u) => u.documents.map((d) => d.object));
const cluster = (): TreeObject => structuredClone(objects().find((o) => o.kind === "Cluster" && o.metadata.name === "workload-1")!);
const clusterClass = () => classOf(cluster(), objects());

describe("API load balancer provider (variable apiLoadBalancer)", () => {
    const schema = () => classVariables(clusterClass()).find((v) => v.name === "apiLoadBalancer")!.schema.openAPIV3Schema;

    it("takes only the one documented acknowledgement and the known providers (the schema, before any CEL rule)", () => {
        for (const bad of [
            { provider: "ovn", allowListNotEnforced: "yes" },
            { provider: "ovn", allowListNotEnforced: true },
            { provider: "OVN" },
            { provider: "" },
            {},
            { provider: "amphora", other: 1 },
        ]) {
            assert.notDeepStrictEqual(schemaProblems(bad, schema(), "v"), [], JSON.stringify(bad));
        }
        for (const good of [
            { provider: "amphora" },
            { provider: "amphorav2" },
            { provider: "ovn", allowListNotEnforced: ACK },
            { provider: "cloud-default", allowListNotEnforced: ACK },
        ]) {
            assert.deepStrictEqual(schemaProblems(good, schema(), "v"), [], JSON.stringify(good));
        }
    });
});
