import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { assertFailure, assertSuccess, RunResult } from "./fakes/shell";
import { clusterDeletion, KIND_CLUSTER, TeardownSuite } from "./fakes/teardownCalls";
import { CLUSTER_CRD } from "./fakes/teardownFakes";

describe("src/host/scripts/teardown.sh: the management cluster is gone", () => {
    const suite = new TeardownSuite();
    const { run, managementWith } = suite;

    /** Asserts that `r` failed because the management cluster is gone, listing what to clean up and the way on. */
    function assertGoneFailure(r: RunResult, why: RegExp): void {
        assertFailure(r);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, why);
        assert.match(
            r.stderr,
            /cannot be torn down, and deleting the server\nteardown: ERROR: would leave them running in OpenStack, orphaned\. The server \(VM\) was KEPT/,
        );
        for (const what of [
            "openstack server list --name '^<name>-'",
            "k8s-clusterapi-cluster-<namespace>-<name>-kubeapi",
            "kube_service_<name>_",
            "cinder.csi.openstack.org/cluster=<name>",
            "k8s-cluster-<namespace>-<name>-secgroup-",
            "openstack image list",
        ]) {
            assert.ok(r.stderr.includes(what), `the list lacks ${what}:\n${r.stderr}`);
        }
        assert.ok(r.stderr.includes(`re-run 'pulumi destroy': sudo touch ${suite.fake.goneFile}\n`), r.stderr);
        assert.ok(
            r.stderr.split("\n").every((l) => l === "" || l.startsWith("teardown: ")),
            r.stderr,
        );
        assert.deepStrictEqual(fs.readdirSync(suite.fake.tmp), [], "temporary files removed");
    }

    it("fails loudly, keeping the server, when the kind cluster does not exist, listing what to clean up", () => {
        suite.fake.setKindClusters(["other"]);
        const r = run();
        assertGoneFailure(r, /teardown: ERROR: there is no kind cluster named capi-dev on the server\.\n/);
        assert.deepStrictEqual(suite.fake.kindCalls(), ["get clusters"]);
        assert.deepStrictEqual(suite.fake.calls(), [], "no kubectl call at all");
    });

    it("fails loudly when there is no kind cluster at all, or no kind", () => {
        assertGoneFailure(run(), /there is no kind cluster named capi-dev/);
        fs.rmSync(path.join(suite.fake.bin, "kind"));
        assertGoneFailure(run(), /teardown: ERROR: kind is not installed on the server, so there is no management cluster capi-dev\.\n/);
        assert.deepStrictEqual(suite.fake.calls(), []);
    });

    it("lets destroy go on when the user has said the workload clusters are gone", () => {
        suite.fake.setKindClusters(["other"]);
        fs.writeFileSync(suite.fake.goneFile, "");
        const r = run();
        assertSuccess(r);
        assert.strictEqual(
            r.stdout,
            `teardown: nothing to tear down: the management cluster is gone and ${suite.fake.goneFile} says its workload clusters are too\n`,
        );
        assert.match(
            r.stderr,
            /WARNING: there is no kind cluster named capi-dev on the server\. .* exists, so you said the workload clusters are already gone/,
        );
        assert.deepStrictEqual(suite.fake.calls(), []);
    });

    it("tears down as usual with the kubeconfig kind exports when the management cluster's kubeconfig is missing", () => {
        const [alpha] = managementWith("default/alpha");
        fs.rmSync(suite.fake.mgmtKubeconfig);
        fs.writeFileSync(suite.fake.goneFile, "");
        const r = run();
        assertSuccess(r);
        assert.ok(r.stderr.includes(`WARNING: the kubeconfig ${suite.fake.mgmtKubeconfig} is missing: using the one kind exports for capi-dev`), r.stderr);
        assert.deepStrictEqual(suite.fake.kindCalls(), ["get clusters", "get kubeconfig --name capi-dev"]);
        assert.deepStrictEqual(suite.fake.live("mgmt", CLUSTER_CRD), [], "the Cluster was torn down all the same");
        clusterDeletion(suite.fake.calls(), alpha);
        assert.deepStrictEqual(fs.readdirSync(suite.fake.tmp), [], "the exported kubeconfig was removed");
    });

    it("fails loudly when the kubeconfig is missing and kind cannot export it", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        fs.rmSync(suite.fake.mgmtKubeconfig);
        fs.writeFileSync(path.join(suite.fake.state, "_kind_no_kubeconfig"), "");
        const r = run();
        assertGoneFailure(r, /ERROR: the kind cluster capi-dev exists but its kubeconfig .* does not, and kind cannot export it\.\n/);
        assert.match(r.stderr, /^teardown: ERROR: could not locate any control plane nodes for cluster named 'capi-dev'$/m, "kind's error, prefixed");
        assert.deepStrictEqual(suite.fake.calls(), []);
    });
});
