import "mocha";
import * as assert from "assert";
import { ORC_IMAGE_CRD, FakeCapi, FakeWorkload } from "./fakes/teardownFakes";
import { assertFailure, assertSuccess, makeTempDir, RunResult } from "./fakes/shell";
import { clusterDeletion, is, managementWith, namespaceOf, runTeardown, words } from "./fakes/teardownCalls";

/** The teardown with KEEP_CLUSTER, the self-hosted management cluster's own Cluster (docs/self-hosted.md). */
function runKeeping(fake: FakeCapi, keep: string, timeoutSeconds = 600, perClusterTimeoutSeconds = 300): RunResult {
    return runTeardown(fake, timeoutSeconds, perClusterTimeoutSeconds, {}, { KEEP_CLUSTER: keep });
}

describe("src/host/scripts/teardown.sh with KEEP_CLUSTER: the self-hosted management cluster stays for self-hosted-unpivot.sh", () => {
    let fake: FakeCapi;

    beforeEach(() => {
        fake = new FakeCapi(makeTempDir("teardown-self"));
    });

    it("tears down every workload cluster, but neither deletes nor counts the kept Cluster, and leaves ORC's objects", () => {
        const [alpha, self] = managementWith(fake, "clusters/alpha", "clusters/dev-management");
        fake.installOrcImages(["clusters/dev-management-node-image"]);
        const r = runKeeping(fake, "clusters/dev-management");
        assertSuccess(r);
        assert.strictEqual(r.stdout, "teardown: tore down 1 workload cluster(s) with their load balancers and volumes\n");
        const calls = fake.calls();
        clusterDeletion(calls, alpha);
        assert.ok(
            !calls.some((c) => is(c, "mgmt", "delete", "cluster.cluster.x-k8s.io") && words(c)[2] === self.name && namespaceOf(c) === self.namespace),
            "the self-hosted cluster was deleted",
        );
        assert.ok(!calls.some((c) => c.ctx === `${self.namespace}/${self.name}`), "the self-hosted cluster was contacted as a workload cluster");
        assert.match(r.stderr, /keeping clusters\/dev-management: the self-hosted management cluster itself/);
        assert.deepStrictEqual(fake.live("mgmt", ORC_IMAGE_CRD), ["clusters/dev-management-node-image"]);
        assert.ok(!calls.some((c) => is(c, "mgmt", "delete", ORC_IMAGE_CRD)));
        assert.match(r.stderr, /ORC's objects are kept for the self-hosted cluster clusters\/dev-management/);
    });

    it("keeps only that namespace/name: a workload cluster of the same name in another namespace is torn down", () => {
        const [other] = managementWith(fake, "default/dev-management", "clusters/dev-management");
        const r = runKeeping(fake, "clusters/dev-management");
        assertSuccess(r);
        clusterDeletion(fake.calls(), other as FakeWorkload);
    });

    it("still fails, keeping the server, when a workload cluster is left", () => {
        managementWith(fake, "clusters/dev-management");
        fake.addCluster("default", "stuck", { stuck: true, secret: false });
        const r = runKeeping(fake, "clusters/dev-management", 4, 2);
        assertFailure(r);
        assert.match(r.stderr, /not every workload cluster was torn down/);
    });

    it("refuses a KEEP_CLUSTER that is not namespace/name, touching nothing", () => {
        managementWith(fake, "clusters/alpha");
        const r = runKeeping(fake, "dev-management");
        assertFailure(r);
        assert.match(r.stderr, /KEEP_CLUSTER must be namespace\/name, got 'dev-management'/);
        assert.deepStrictEqual(fake.calls(), []);
    });
});
