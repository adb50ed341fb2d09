import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderHostScript } from "../src/host/hostScripts";
import { CLUSTER_CRD } from "./fakes/teardownFakes";
import { assertFailure, assertSuccess } from "./fakes/shell";
import { assertNoCredentialLeak, clusterDeletion, is, KIND_CLUSTER, mutations, populate, words, TeardownSuite } from "./fakes/teardownCalls";

describe("src/host/scripts/teardown.sh", () => {
    const suite = new TeardownSuite();
    const { run, managementWith } = suite;

    it("fails after its bound when a Cluster never goes away, naming it and keeping the server", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        const stuck = suite.fake.addCluster("default", "stuck", { stuck: true });
        populate(suite.fake, stuck);
        const fine = suite.fake.addCluster("default", "fine", { deleteDelayMs: 300 });
        const r = run(120, 60);
        assertFailure(r);
        assert.match(r.stderr, /teardown: ERROR: default\/stuck: the Cluster still exists after 60s/);
        assert.match(r.stderr, /capo-controller-manager/);
        assert.ok(r.stderr.includes("teardown:   default/stuck: FAILED: the Cluster still exists after 60s\n"), r.stderr);
        assert.match(r.stderr, /teardown: default\/fine: torn down/);
        assert.match(r.stderr, /ERROR: failed: default\/stuck \(the Cluster still exists after 60s\)/);
        assert.match(
            r.stderr,
            /Clusters left on the management cluster \(kubectl get clusters -A\):\nteardown: {3}NAMESPACE +NAME +PHASE\nteardown: {3}default +stuck +Deleting\n/,
        );
        assert.match(r.stderr, /management server \(VM\) and its credentials were KEPT/);
        assert.match(r.stderr, /re-run 'pulumi destroy'/);
        assert.strictEqual(r.stdout, "");
        assert.deepStrictEqual(suite.fake.live("mgmt", CLUSTER_CRD), ["default/stuck"], "fine is gone, stuck is left");
        assert.ok(suite.fake.objects("mgmt", CLUSTER_CRD)[0].metadata.deletionTimestamp, "stuck was deleted");
        assert.ok(
            suite.fake.calls().some((c) => is(c, fine.ctx, "get")),
            "the other cluster was torn down",
        );
        assert.deepStrictEqual(fs.readdirSync(suite.fake.tmp), []);
    });

    it("fails for a cluster whose kubeconfig Secret is missing, without deleting it", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        const lost = suite.fake.addCluster("team-a", "lost", { secret: false });
        populate(suite.fake, lost);
        const fine = suite.fake.addCluster("default", "fine");
        populate(suite.fake, fine);
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /ERROR: team-a\/lost: its kubeconfig Secret team-a\/lost-kubeconfig \(key 'value'\) is missing/);
        assert.match(r.stderr, /team-a\/lost: Its OpenStack load balancers .* and Cinder volumes .* may still exist, so the Cluster was NOT deleted/);
        assert.match(r.stderr, /kubectl delete cluster\.cluster\.x-k8s\.io -n team-a lost/);
        assert.match(r.stderr, /ERROR: failed: team-a\/lost/);
        assert.match(r.stderr, /\nteardown: {3}team-a +lost +Provisioned\n/);
        assert.match(r.stderr, /KEPT/);
        const calls = suite.fake.calls();
        assert.ok(!calls.some((c) => is(c, "mgmt", "delete") && words(c)[2] === "lost"), "the Cluster is not deleted");
        assert.ok(!calls.some((c) => c.ctx === lost.ctx));
        assert.deepStrictEqual(suite.fake.live("mgmt", CLUSTER_CRD), ["team-a/lost"]);
        clusterDeletion(calls, fine);
        assert.deepStrictEqual(suite.fake.live(fine.ctx, "persistentvolumeclaims"), []);
    });

    it("fails for a cluster whose workload API is unreachable, without deleting it", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        const down = suite.fake.addCluster("default", "down", { unreachable: true });
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /ERROR: default\/down: the workload cluster's API cannot be reached/);
        assert.match(r.stderr, /teardown: default\/down: Unable to connect to the server/, "kubectl's error, prefixed");
        assert.ok(
            r.stderr.split("\n").every((l) => l === "" || l.startsWith("teardown: ")),
            r.stderr,
        );
        assert.match(r.stderr, /Fix access to the workload cluster and re-run 'pulumi destroy'/);
        assert.ok(!suite.fake.calls().some((c) => is(c, "mgmt", "delete")));
        assert.deepStrictEqual(suite.fake.live("mgmt", CLUSTER_CRD), ["default/down"]);
        assertNoCredentialLeak(suite.fake, r, [down]);
        assert.deepStrictEqual(fs.readdirSync(suite.fake.tmp), []);
    });

    it("gives up on a workload API that never answers, within its bound", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        suite.fake.addCluster("default", "hung", { hangs: true });
        // The hung call is bounded by timeout(1) in real seconds: the clock stands still meanwhile.
        const r = run(10, 1);
        assertFailure(r);
        assert.match(r.stderr, /ERROR: default\/hung: the workload cluster's API cannot be reached/);
        assert.match(r.stderr, /teardown: default\/hung: kubectl get --raw: no answer within 1s/);
        assert.deepStrictEqual(suite.fake.live("mgmt", CLUSTER_CRD), ["default/hung"]);
    });

    it("kills a cluster's teardown that overruns the overall bound", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        suite.fake.addCluster("default", "slow", { stuck: true });
        // Polls so rarely that the job is still asleep when the overall bound ends.
        const r = run(2, 2, { TEARDOWN_POLL_SECONDS: "29.5" });
        assertFailure(r);
        assert.match(r.stderr, /default\/slow: FAILED: killed: its teardown did not finish in time/);
        const lingering = fs
            .readdirSync("/proc")
            .filter((p) => /^\d+$/.test(p))
            .filter((p) => {
                try {
                    return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ").includes(`${suite.fake.clock.bin}/sleep 29.5`);
                } catch {
                    return false;
                }
            });
        assert.deepStrictEqual(lingering, [], "the job's processes were killed");
    });

    it("prints a heartbeat while it waits, at most one line per 30 s, so the SSH session is never idle", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        suite.fake.addCluster("default", "slow", { deleteDelayMs: 100_000 });
        suite.fake.installOrcImages(["clusters/ubuntu-2404-kube-v1.35.8"], { deleteDelayMs: 70_000 });
        const r = run();
        assertSuccess(r);
        const beats = r.stderr.split("\n").filter((l) => l.includes("still waiting"));
        const elapsed = beats.map((l) => Number(/still waiting \((\d+)s since the start, bound 600s\)/.exec(l)?.[1]));
        const clusterBeats = beats.filter((l) => l.endsWith(": 1 workload cluster(s) being torn down: default/slow"));
        const orcBeats = beats.filter((l) => l.endsWith(": ORC is removing images.openstack.k-orc.cloud/ubuntu-2404-kube-v1.35.8"));
        // The Cluster takes 100 s to go and ORC 70 s: three lines each, none more often than every 30 s.
        assert.strictEqual(clusterBeats.length, 3, r.stderr);
        assert.strictEqual(orcBeats.length, 2, r.stderr);
        assert.strictEqual(beats.length, clusterBeats.length + orcBeats.length, r.stderr);
        assert.ok(
            elapsed.every((e, i) => Number.isInteger(e) && (i === 0 ? e >= 30 : e - elapsed[i - 1] >= 30)),
            elapsed.join(" "),
        );
        // Live: the heartbeat comes before the cluster's own log, which is printed when its job ends.
        assert.ok(r.stderr.indexOf(clusterBeats[0]) < r.stderr.indexOf("teardown: default/slow: deleting the Cluster"), r.stderr);
    });

    it("only waits for a Cluster that is already being deleted", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        const going = suite.fake.addCluster("default", "going", { alreadyDeleting: true, deleteDelayMs: 800 });
        const r = run();
        assertSuccess(r);
        assert.match(r.stderr, /WARNING: default\/going: the Cluster is already being deleted/);
        const calls = suite.fake.calls();
        assert.ok(!calls.some((c) => c.ctx === going.ctx), "its workload cluster is not contacted");
        assert.deepStrictEqual(mutations(calls), []);
        assert.deepStrictEqual(suite.fake.live("mgmt", CLUSTER_CRD), []);
    });

    it("fails, deleting nothing, when the Clusters cannot be listed", () => {
        managementWith("default/alpha");
        suite.fake.failOn("mgmt", "get", CLUSTER_CRD, "Error from server (InternalError): etcdserver: request timed out");
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /ERROR: cannot list the workload Clusters of the management cluster capi-dev; nothing was deleted/);
        assert.match(r.stderr, /^teardown: Error from server \(InternalError\): etcdserver: request timed out$/m);
        assert.deepStrictEqual(mutations(suite.fake.calls()), []);
        assert.strictEqual(r.stdout, "");
    });

    it("fails, deleting nothing, when the management cluster cannot be reached", () => {
        managementWith("default/alpha");
        fs.writeFileSync(path.join(suite.fake.state, "mgmt", "_unreachable"), "");
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /ERROR: cannot read the CRD .* from the management cluster capi-dev/);
        assert.deepStrictEqual(mutations(suite.fake.calls()), []);
    });

    it("fails for a cluster whose load balancers are never released, without deleting it", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        const w = suite.fake.addCluster("default", "occm-down");
        suite.fake.put(w.ctx, "services", {
            apiVersion: "v1",
            kind: "Service",
            metadata: { namespace: "apps", name: "web" },
            spec: { type: "LoadBalancer" },
            _stuck: true,
        });
        const r = run(6, 2);
        assertFailure(r);
        assert.match(r.stderr, /ERROR: default\/occm-down: Services of type LoadBalancer are still there after 2s: apps\/web/);
        assert.match(r.stderr, /OpenStack cloud controller manager/);
        const calls = suite.fake.calls();
        assert.strictEqual(calls.filter((c) => is(c, w.ctx, "delete", "services")).length, 1, "deleted once, then waited");
        assert.ok(!calls.some((c) => is(c, "mgmt", "delete")));
    });

    it("fails for a cluster whose Delete volumes never go away, without deleting it", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        const w = suite.fake.addCluster("default", "cinder-down");
        suite.fake.addClaim(w, "apps/data", "Delete");
        const pv = suite.fake.objects(w.ctx, "persistentvolumes")[0];
        suite.fake.put(w.ctx, "persistentvolumes", { ...pv, _stuck: true });
        const r = run(6, 2);
        assertFailure(r);
        assert.match(r.stderr, /ERROR: default\/cinder-down: PersistentVolumes with reclaim policy Delete are still there after 2s: pv-data/);
        assert.ok(!suite.fake.calls().some((c) => is(c, "mgmt", "delete")));
        assert.deepStrictEqual(suite.fake.live("mgmt", CLUSTER_CRD), ["default/cinder-down"]);
    });

    it("rejects bad parameters before touching anything", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        const cases: Array<[Record<string, string>, RegExp]> = [
            [{ TIMEOUT_SECONDS: "0" }, /TIMEOUT_SECONDS must be a positive whole number/],
            [{ PER_CLUSTER_TIMEOUT_SECONDS: "x" }, /PER_CLUSTER_TIMEOUT_SECONDS must be a positive whole number/],
            [{ TIMEOUT_SECONDS: "5", PER_CLUSTER_TIMEOUT_SECONDS: "6" }, /must not exceed TIMEOUT_SECONDS/],
            [{ CLUSTER_NAME: "Bad_Name" }, /CLUSTER_NAME must be a lowercase DNS label/],
            [{ KUBECONFIG_PATH: "relative/kubeconfig" }, /KUBECONFIG_PATH must be an absolute path/],
            [{ CLUSTERS_GONE_FILE: "gone" }, /CLUSTERS_GONE_FILE must be an absolute path, got 'gone'/],
            [{ FLUX_RESUME_SCRIPT: "resume.sh" }, /FLUX_RESUME_SCRIPT must be an absolute path/],
        ];
        for (const [override, message] of cases) {
            const params = {
                CLUSTER_NAME: KIND_CLUSTER,
                KUBECONFIG_PATH: suite.fake.mgmtKubeconfig,
                TIMEOUT_SECONDS: "10",
                PER_CLUSTER_TIMEOUT_SECONDS: "5",
                CLUSTERS_GONE_FILE: suite.fake.goneFile,
                FLUX_RESUME_SCRIPT: suite.fake.resumeScript,
                ...override,
            };
            const r = suite.fake.run(renderHostScript("teardown.sh", params));
            assertFailure(r);
            assert.match(r.stderr, message);
        }
        assert.deepStrictEqual(suite.fake.kindCalls(), []);
        assert.deepStrictEqual(suite.fake.calls(), []);
    });
});
