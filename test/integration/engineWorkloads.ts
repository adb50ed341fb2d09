/**
 * Workload clusters for the engine suites (test/integration/engine*.integration.ts): a CAPI Cluster
 * made in a namespace of the test bed's API server, and the check that a destroy left it alone.
 */
import * as assert from "assert";
import { stringify as toYaml } from "yaml";
import { ControlPlane } from "./harness/controlPlane";

/** A workload cluster in `ns`: a CAPI Cluster (the CRD and webhook are the test bed's). */
export function createWorkloadCluster(cp: ControlPlane, ns: string, name: string): void {
    cp.applyOk(toYaml({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }));
    cp.applyOk(
        toYaml({
            apiVersion: "cluster.x-k8s.io/v1beta2",
            kind: "Cluster",
            metadata: { name, namespace: ns, labels: { "capi-mgmt.test/stand-in": "workload" } },
            // The webhook wants a reference; the OpenStackCluster need not exist (CAPO is idle here).
            spec: {
                clusterNetwork: { pods: { cidrBlocks: ["192.168.0.0/16"] } },
                infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackCluster", name },
            },
        }),
    );
}

/** Asserts the Namespace and the Cluster in it exist and are not being deleted. */
export function assertSurvives(cp: ControlPlane, ns: string, cluster: string): void {
    const n = cp.get("namespace", ns);
    assert.ok(n, `Namespace ${ns} was deleted`);
    assert.strictEqual((n.metadata as { deletionTimestamp?: string }).deletionTimestamp, undefined, `Namespace ${ns} is being deleted`);
    const c = cp.get("clusters.v1beta2.cluster.x-k8s.io", cluster, ns);
    assert.ok(c, `Cluster ${ns}/${cluster} was deleted`);
    assert.strictEqual((c.metadata as { deletionTimestamp?: string }).deletionTimestamp, undefined, `Cluster ${ns}/${cluster} is being deleted`);
}
