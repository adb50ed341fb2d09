import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { expandIncludes, HOST_INCLUDES_DIR, HOST_SCRIPTS_DIR, renderHostScript, SERVER_KUBECONFIG } from "../src/host/hostScripts";
import {
    CLUSTERS_GONE_FILE,
    DEFAULT_TEARDOWN_TIMEOUT_SECONDS,
    FLUX_RESUME_SCRIPT,
    renderTeardownScript,
    TeardownParams,
} from "../src/lifecycle/teardownScript";
import { CLUSTER_CRD, FakeCapi, FakeObject, FakeWorkload, KUSTOMIZATION_CRD, ORC_IMAGE_CRD, SNAPSHOT_CRD } from "./fakes/teardownFakes";
import { assertFailure, assertSuccess, hasShellcheck, makeTempDir, RunResult, shellcheck, skipTest } from "./fakes/shell";
import {
    assertNoCredentialLeak,
    CLAIM_WORKLOADS,
    clusterDeletion,
    is,
    KIND_CLUSTER,
    lastIndex,
    managementWith as managementWithShared,
    mutations,
    namespaceOf,
    populate,
    runTeardown,
    words,
} from "./fakes/teardownCalls";

function sampleParams(overrides: Partial<TeardownParams> = {}): TeardownParams {
    return { clusterName: KIND_CLUSTER, timeoutSeconds: 1800, perClusterTimeoutSeconds: 1680, ...overrides };
}

describe("teardown script: rendering", () => {
    it("puts the parameters, with the server's kubeconfig, right after the shebang", () => {
        const script = renderTeardownScript(sampleParams());
        const lines = script.split("\n");
        assert.strictEqual(lines[0], "#!/usr/bin/env bash");
        assert.match(lines[1], /^# .*rendered by capi-mgmt/);
        assert.strictEqual(lines[2], `readonly CLUSTER_NAME='${KIND_CLUSTER}'`);
        assert.strictEqual(lines[3], `readonly KUBECONFIG_PATH='${SERVER_KUBECONFIG}'`);
        assert.strictEqual(lines[4], "readonly TIMEOUT_SECONDS='1800'");
        assert.strictEqual(lines[5], "readonly PER_CLUSTER_TIMEOUT_SECONDS='1680'");
        assert.strictEqual(lines[6], `readonly CLUSTERS_GONE_FILE='${CLUSTERS_GONE_FILE}'`);
        assert.strictEqual(lines[7], `readonly FLUX_RESUME_SCRIPT='${FLUX_RESUME_SCRIPT}'`);
        assert.strictEqual(lines[8], "readonly BACKUP_COMMAND='/usr/local/lib/capi-mgmt/backup.sh'");
        assert.strictEqual(CLUSTERS_GONE_FILE, "/var/lib/capi-mgmt/workload-clusters-gone");
        assert.strictEqual(FLUX_RESUME_SCRIPT, "/var/lib/capi-mgmt/resume-flux.sh");
        const original = expandIncludes("teardown.sh", fs.readFileSync(path.join(HOST_SCRIPTS_DIR, "teardown.sh"), "utf8"));
        assert.strictEqual(lines.slice(9).join("\n"), original.split("\n").slice(1).join("\n"));
        assert.doesNotMatch(script, /capi-mgmt:include/);
    });

    it("is deterministic and accepts the default timeout", () => {
        const p = sampleParams({ timeoutSeconds: DEFAULT_TEARDOWN_TIMEOUT_SECONDS, perClusterTimeoutSeconds: DEFAULT_TEARDOWN_TIMEOUT_SECONDS });
        assert.strictEqual(DEFAULT_TEARDOWN_TIMEOUT_SECONDS, 1800);
        assert.strictEqual(renderTeardownScript(p), renderTeardownScript(p));
    });

    it("rejects a bad cluster name", () => {
        for (const clusterName of ["", "Capi", "capi_dev", "-capi", "capi-", "a b", "x'y", "a".repeat(64), "capi\n"]) {
            assert.throws(() => renderTeardownScript(sampleParams({ clusterName })), /clusterName/, clusterName);
        }
    });

    it("rejects timeouts that are not positive whole seconds, or a per-cluster bound above the overall one", () => {
        for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 86_401]) {
            assert.throws(() => renderTeardownScript(sampleParams({ timeoutSeconds: bad, perClusterTimeoutSeconds: 1 })), /timeoutSeconds/);
            assert.throws(() => renderTeardownScript(sampleParams({ perClusterTimeoutSeconds: bad })), /perClusterTimeoutSeconds/);
        }
        assert.throws(
            () => renderTeardownScript(sampleParams({ timeoutSeconds: 600, perClusterTimeoutSeconds: 601 })),
            /perClusterTimeoutSeconds \(601\) must not exceed timeoutSeconds \(600\)/,
        );
        assert.doesNotThrow(() => renderTeardownScript(sampleParams({ timeoutSeconds: 600, perClusterTimeoutSeconds: 600 })));
    });
});

describe("teardown script: shellcheck", () => {
    before(function () {
        if (!hasShellcheck()) {
            skipTest(this, "the shellcheck tests of src/host/scripts/teardown.sh and of the clock fakes", "shellcheck");
        }
    });

    it("passes on src/host/scripts/teardown.sh and on the rendered script", () => {
        const rendered = path.join(makeTempDir("teardown-shellcheck"), "teardown.sh");
        fs.writeFileSync(rendered, renderTeardownScript(sampleParams()));
        const includes = fs.readdirSync(HOST_INCLUDES_DIR).filter((f) => f.startsWith("teardown-"));
        shellcheck([path.join(HOST_SCRIPTS_DIR, "teardown.sh"), ...includes.map((f) => path.join(HOST_INCLUDES_DIR, f)), rendered]);
    });

    it("passes on the virtual clock's fake sleep and date, and on the fake kind", () => {
        shellcheck(["clock-sleep.sh", "clock-date.sh", "fake-kind.sh"].map((f) => path.join(__dirname, "fakes", f)));
    });
});

describe("src/host/scripts/teardown.sh", () => {
    let fake: FakeCapi;

    beforeEach(() => {
        fake = new FakeCapi(makeTempDir("teardown"));
    });

    const run = (timeoutSeconds?: number, perClusterTimeoutSeconds?: number, env: Record<string, string> = {}): RunResult =>
        runTeardown(fake, timeoutSeconds, perClusterTimeoutSeconds, env);
    const managementWith = (...names: string[]): FakeWorkload[] => managementWithShared(fake, ...names);

    it("fails, deleting nothing, when kind cannot list its clusters", () => {
        fs.writeFileSync(path.join(fake.state, "_kind_fail"), "");
        const r = run();
        assertFailure(r);
        assert.match(
            r.stderr,
            /teardown: ERROR: cannot list the kind clusters \('kind get clusters' failed: ERROR: failed to list clusters: command "docker ps" failed; is Docker running\?\)/,
        );
        assert.deepStrictEqual(fake.calls(), []);
    });

    it("does nothing when Cluster API is not installed", () => {
        fake.setKindClusters([KIND_CLUSTER]);
        const r = run();
        assertSuccess(r);
        assert.match(r.stdout, /nothing to tear down: no workload cluster/);
        assert.deepStrictEqual(mutations(fake.calls()), []);
    });

    it("tears down two clusters in parallel: load balancers and volumes first, then the Cluster", () => {
        const workloads = managementWith("default/alpha", "team-b/beta");
        const r = run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, "teardown: tore down 2 workload cluster(s) with their load balancers and volumes\n");
        assert.deepStrictEqual(fake.live("mgmt", CLUSTER_CRD), []);
        const calls = fake.calls();

        // In parallel: each Cluster was deleted before the other one was gone (virtual time).
        const [a, b] = workloads.map((w) => calls[clusterDeletion(calls, w)]);
        assert.ok(typeof a.goneAt === "number" && typeof b.goneAt === "number");
        assert.ok(a.vt < b.goneAt!, "alpha's deletion started before beta's Cluster was gone");
        assert.ok(b.vt < a.goneAt!, "beta's deletion started before alpha's Cluster was gone");
        const firstOf = (w: FakeWorkload): number => calls.findIndex((c) => c.ctx === w.ctx);
        const lastOf = (w: FakeWorkload): number => lastIndex(calls, (c) => c.ctx === w.ctx);
        assert.ok(firstOf(workloads[1]) < lastOf(workloads[0]) && firstOf(workloads[0]) < lastOf(workloads[1]), "workload calls interleave");

        for (const w of workloads) {
            const deletion = clusterDeletion(calls, w);
            const lbDeletes = calls.map((c, i) => (is(c, w.ctx, "delete", "services") ? i : -1)).filter((i) => i >= 0);
            assert.deepStrictEqual(
                lbDeletes.map((i) => `${namespaceOf(calls[i])}/${words(calls[i])[2]}`).sort(),
                ["apps/web", "ingress/controller"],
                "exactly the LoadBalancer Services are deleted",
            );
            const workloadDeletes = calls.map((c, i) => (CLAIM_WORKLOADS.some((k) => is(c, w.ctx, "delete", k)) ? i : -1)).filter((i) => i >= 0);
            assert.deepStrictEqual(
                workloadDeletes.map((i) => `${words(calls[i])[1]} ${namespaceOf(calls[i])}/${words(calls[i])[2]}`).sort(),
                [
                    "cronjobs apps/backup",
                    "deployments apps/db-client",
                    "jobs apps/migrate",
                    "pods apps/debug",
                    "replicasets apps/db-client-5d8f",
                    "statefulsets apps/db",
                ],
                "exactly the workloads mounting PVCs are deleted",
            );
            const lbGone = lastIndex(calls, (c) => is(c, w.ctx, "get", "services"));
            const snapshots = calls.findIndex((c) => is(c, w.ctx, "delete", SNAPSHOT_CRD));
            const snapshotsGone = lastIndex(calls, (c) => is(c, w.ctx, "get", SNAPSHOT_CRD));
            const claims = calls.findIndex((c) => is(c, w.ctx, "delete", "persistentvolumeclaims"));
            const volumeChecks = calls.map((c, i) => (is(c, w.ctx, "get", "persistentvolumes") ? i : -1)).filter((i) => i >= 0);
            const order = [Math.max(...lbDeletes), lbGone, Math.min(...workloadDeletes), Math.max(...workloadDeletes), snapshots, snapshotsGone, claims];
            assert.deepStrictEqual(
                [...order].sort((x, y) => x - y),
                order,
                `order of ${w.name}: ${order}`,
            );
            assert.ok(
                order.every((i) => i >= 0),
                `every step ran for ${w.name}: ${order}`,
            );
            assert.ok(volumeChecks.length >= 2, "waited for the volumes");
            assert.ok(claims < volumeChecks[0] && volumeChecks[volumeChecks.length - 1] < deletion, "volume wait between PVC and Cluster deletion");
            assert.ok(lastOf(w) < deletion, "nothing is done in the workload cluster after its Cluster is deleted");
            assert.deepStrictEqual(calls[deletion].workloadLeft, {
                loadBalancers: 0,
                claims: 0,
                deleteVolumes: 0,
                snapshots: 0,
                claimWorkloads: 0,
            });
            assert.deepStrictEqual(fake.live(w.ctx, "services"), ["apps/internal"], "other Services stay");
            assert.deepStrictEqual(fake.live(w.ctx, "deployments"), ["apps/stateless"], "workloads without PVCs stay");
            assert.deepStrictEqual(fake.live(w.ctx, "daemonsets"), ["kube-system/node-agent"]);
            assert.deepStrictEqual(fake.live(w.ctx, "persistentvolumes"), ["pv-archive"], "the Retain volume is kept");
            assert.ok(r.stderr.includes(`teardown: ${w.namespace}/${w.name}: torn down`), r.stderr);
            assert.ok(r.stderr.includes(`teardown: ${w.namespace}/${w.name}: deleting Service apps/web of type LoadBalancer`), r.stderr);
            for (const c of calls.filter((c) => c.ctx === w.ctx)) {
                assert.strictEqual(c.kubeconfigMode, "600", "workload kubeconfig is root-only");
                assert.strictEqual(c.kubeconfigDirMode, "700", "in a private directory");
            }
        }
        assert.deepStrictEqual(fs.readdirSync(fake.tmp), [], "temporary files removed");
        assertNoCredentialLeak(fake, r, workloads);
        for (const line of r.stderr.split("\n").filter((l) => l !== "")) {
            assert.match(line, /^teardown: /);
        }
    });

    it("warns loudly about volumes kept by reclaim policy Retain, naming them", () => {
        managementWith("default/alpha");
        const r = run();
        assertSuccess(r);
        assert.match(
            r.stderr,
            /teardown: WARNING: default\/alpha: 1 PersistentVolume\(s\) are KEPT on purpose by their reclaim policy.*pv-archive \(policy Retain, claim apps\/archive\)/,
        );
    });

    it("is a no-op on a second run after a successful one", () => {
        managementWith("default/alpha");
        fake.installFlux(["flux-system/flux-system"], []);
        assertSuccess(run());
        const before = fake.calls().length;
        const r = run();
        assertSuccess(r);
        assert.match(r.stdout, /nothing to tear down: no workload cluster/);
        const second = fake.calls().slice(before);
        assert.ok(
            second.every((c) => c.ctx === "mgmt"),
            "no workload cluster is contacted",
        );
        assert.deepStrictEqual(
            second.filter((c) => words(c)[0] === "delete"),
            [],
            "nothing is deleted",
        );
    });

    it("deletes ORC's node images once every Cluster is gone, and waits for ORC to remove them", () => {
        managementWith("default/alpha");
        fake.installOrcImages(["clusters/ubuntu-2404-kube-v1.35.8", "clusters/ubuntu-2404-kube-v1.36.2"], { deleteDelayMs: 1200 });
        const r = run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, "teardown: tore down 1 workload cluster(s) with their load balancers and volumes\n");
        assert.deepStrictEqual(fake.live("mgmt", ORC_IMAGE_CRD), []);
        assert.match(r.stderr, /ORC removed its objects \(images.openstack.k-orc.cloud\)/);
        const calls = fake.calls();
        const deletion = calls.findIndex((c) => is(c, "mgmt", "delete", ORC_IMAGE_CRD));
        assert.ok(deletion > clusterDeletion(calls, { namespace: "default", name: "alpha" } as FakeWorkload));
        assert.strictEqual(calls[deletion].clustersLeft, 0, "images were deleted while a Cluster still existed");
        assert.ok(calls[deletion].args.includes("--all") && calls[deletion].args.includes("-A"));
        assert.ok(
            calls.slice(deletion + 1).some((c) => is(c, "mgmt", "get", ORC_IMAGE_CRD)),
            "did not wait for ORC",
        );
    });

    it("deletes ORC's node images when there is no workload cluster", () => {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        fake.installOrcImages(["clusters/ubuntu-2404-kube-v1.35.8"]);
        const r = run();
        assertSuccess(r);
        assert.match(r.stdout, /nothing to tear down: no workload cluster/);
        assert.deepStrictEqual(fake.live("mgmt", ORC_IMAGE_CRD), []);
    });

    it("fails, keeping the server, when ORC does not remove a node image, naming it", () => {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        fake.installOrcImages(["clusters/ubuntu-2404-kube-v1.35.8"], { stuck: true });
        const r = run(3, 2);
        assertFailure(r);
        assert.strictEqual(r.stdout, "");
        assert.match(
            r.stderr,
            /ERROR: ORC has not removed these objects, whose OpenStack resources \(e.g. Glance images\) would be left behind: images.openstack.k-orc.cloud\/ubuntu-2404-kube-v1.35.8 Check/,
        );
        assert.match(r.stderr, /the server was kept/);
    });

    it("leaves ORC's objects alone while a workload cluster is left", () => {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        fake.addCluster("default", "stuck", { stuck: true, secret: false });
        fake.installOrcImages(["clusters/ubuntu-2404-kube-v1.35.8"]);
        const r = run(4, 2);
        assertFailure(r);
        assert.deepStrictEqual(fake.live("mgmt", ORC_IMAGE_CRD), ["clusters/ubuntu-2404-kube-v1.35.8"]);
        assert.ok(!fake.calls().some((c) => is(c, "mgmt", "delete", ORC_IMAGE_CRD)));
    });

    it("fails after its bound when a Cluster never goes away, naming it and keeping the server", () => {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        const stuck = fake.addCluster("default", "stuck", { stuck: true });
        populate(fake, stuck);
        const fine = fake.addCluster("default", "fine", { deleteDelayMs: 300 });
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
        assert.deepStrictEqual(fake.live("mgmt", CLUSTER_CRD), ["default/stuck"], "fine is gone, stuck is left");
        assert.ok(fake.objects("mgmt", CLUSTER_CRD)[0].metadata.deletionTimestamp, "stuck was deleted");
        assert.ok(
            fake.calls().some((c) => is(c, fine.ctx, "get")),
            "the other cluster was torn down",
        );
        assert.deepStrictEqual(fs.readdirSync(fake.tmp), []);
    });

    it("fails for a cluster whose kubeconfig Secret is missing, without deleting it", () => {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        const lost = fake.addCluster("team-a", "lost", { secret: false });
        populate(fake, lost);
        const fine = fake.addCluster("default", "fine");
        populate(fake, fine);
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /ERROR: team-a\/lost: its kubeconfig Secret team-a\/lost-kubeconfig \(key 'value'\) is missing/);
        assert.match(r.stderr, /team-a\/lost: Its OpenStack load balancers .* and Cinder volumes .* may still exist, so the Cluster was NOT deleted/);
        assert.match(r.stderr, /kubectl delete cluster\.cluster\.x-k8s\.io -n team-a lost/);
        assert.match(r.stderr, /ERROR: failed: team-a\/lost/);
        assert.match(r.stderr, /\nteardown: {3}team-a +lost +Provisioned\n/);
        assert.match(r.stderr, /KEPT/);
        const calls = fake.calls();
        assert.ok(!calls.some((c) => is(c, "mgmt", "delete") && words(c)[2] === "lost"), "the Cluster is not deleted");
        assert.ok(!calls.some((c) => c.ctx === lost.ctx));
        assert.deepStrictEqual(fake.live("mgmt", CLUSTER_CRD), ["team-a/lost"]);
        clusterDeletion(calls, fine);
        assert.deepStrictEqual(fake.live(fine.ctx, "persistentvolumeclaims"), []);
    });

    it("fails for a cluster whose workload API is unreachable, without deleting it", () => {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        const down = fake.addCluster("default", "down", { unreachable: true });
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /ERROR: default\/down: the workload cluster's API cannot be reached/);
        assert.match(r.stderr, /teardown: default\/down: Unable to connect to the server/, "kubectl's error, prefixed");
        assert.ok(
            r.stderr.split("\n").every((l) => l === "" || l.startsWith("teardown: ")),
            r.stderr,
        );
        assert.match(r.stderr, /Fix access to the workload cluster and re-run 'pulumi destroy'/);
        assert.ok(!fake.calls().some((c) => is(c, "mgmt", "delete")));
        assert.deepStrictEqual(fake.live("mgmt", CLUSTER_CRD), ["default/down"]);
        assertNoCredentialLeak(fake, r, [down]);
        assert.deepStrictEqual(fs.readdirSync(fake.tmp), []);
    });

    it("gives up on a workload API that never answers, within its bound", () => {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        fake.addCluster("default", "hung", { hangs: true });
        // The hung call is bounded by timeout(1) in real seconds: the clock stands still meanwhile.
        const r = run(10, 1);
        assertFailure(r);
        assert.match(r.stderr, /ERROR: default\/hung: the workload cluster's API cannot be reached/);
        assert.match(r.stderr, /teardown: default\/hung: kubectl get --raw: no answer within 1s/);
        assert.deepStrictEqual(fake.live("mgmt", CLUSTER_CRD), ["default/hung"]);
    });

    it("kills a cluster's teardown that overruns the overall bound", () => {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        fake.addCluster("default", "slow", { stuck: true });
        // Polls so rarely that the job is still asleep when the overall bound ends.
        const r = run(2, 2, { TEARDOWN_POLL_SECONDS: "29.5" });
        assertFailure(r);
        assert.match(r.stderr, /default\/slow: FAILED: killed: its teardown did not finish in time/);
        const lingering = fs
            .readdirSync("/proc")
            .filter((p) => /^\d+$/.test(p))
            .filter((p) => {
                try {
                    return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ").includes(`${fake.clock.bin}/sleep 29.5`);
                } catch {
                    return false;
                }
            });
        assert.deepStrictEqual(lingering, [], "the job's processes were killed");
    });

    it("prints a heartbeat while it waits, at most one line per 30 s, so the SSH session is never idle", () => {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        fake.addCluster("default", "slow", { deleteDelayMs: 100_000 });
        fake.installOrcImages(["clusters/ubuntu-2404-kube-v1.35.8"], { deleteDelayMs: 70_000 });
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
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        const going = fake.addCluster("default", "going", { alreadyDeleting: true, deleteDelayMs: 800 });
        const r = run();
        assertSuccess(r);
        assert.match(r.stderr, /WARNING: default\/going: the Cluster is already being deleted/);
        const calls = fake.calls();
        assert.ok(!calls.some((c) => c.ctx === going.ctx), "its workload cluster is not contacted");
        assert.deepStrictEqual(mutations(calls), []);
        assert.deepStrictEqual(fake.live("mgmt", CLUSTER_CRD), []);
    });

    it("fails, deleting nothing, when the Clusters cannot be listed", () => {
        managementWith("default/alpha");
        fake.failOn("mgmt", "get", CLUSTER_CRD, "Error from server (InternalError): etcdserver: request timed out");
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /ERROR: cannot list the workload Clusters of the management cluster capi-dev; nothing was deleted/);
        assert.match(r.stderr, /^teardown: Error from server \(InternalError\): etcdserver: request timed out$/m);
        assert.deepStrictEqual(mutations(fake.calls()), []);
        assert.strictEqual(r.stdout, "");
    });

    it("fails, deleting nothing, when the management cluster cannot be reached", () => {
        managementWith("default/alpha");
        fs.writeFileSync(path.join(fake.state, "mgmt", "_unreachable"), "");
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /ERROR: cannot read the CRD .* from the management cluster capi-dev/);
        assert.deepStrictEqual(mutations(fake.calls()), []);
    });

    it("fails for a cluster whose load balancers are never released, without deleting it", () => {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        const w = fake.addCluster("default", "occm-down");
        fake.put(w.ctx, "services", {
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
        const calls = fake.calls();
        assert.strictEqual(calls.filter((c) => is(c, w.ctx, "delete", "services")).length, 1, "deleted once, then waited");
        assert.ok(!calls.some((c) => is(c, "mgmt", "delete")));
    });

    it("fails for a cluster whose Delete volumes never go away, without deleting it", () => {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        const w = fake.addCluster("default", "cinder-down");
        fake.addClaim(w, "apps/data", "Delete");
        const pv = fake.objects(w.ctx, "persistentvolumes")[0];
        fake.put(w.ctx, "persistentvolumes", { ...pv, _stuck: true });
        const r = run(6, 2);
        assertFailure(r);
        assert.match(r.stderr, /ERROR: default\/cinder-down: PersistentVolumes with reclaim policy Delete are still there after 2s: pv-data/);
        assert.ok(!fake.calls().some((c) => is(c, "mgmt", "delete")));
        assert.deepStrictEqual(fake.live("mgmt", CLUSTER_CRD), ["default/cinder-down"]);
    });

    it("rejects bad parameters before touching anything", () => {
        fake.setKindClusters([KIND_CLUSTER]);
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
                KUBECONFIG_PATH: fake.mgmtKubeconfig,
                TIMEOUT_SECONDS: "10",
                PER_CLUSTER_TIMEOUT_SECONDS: "5",
                CLUSTERS_GONE_FILE: fake.goneFile,
                FLUX_RESUME_SCRIPT: fake.resumeScript,
                ...override,
            };
            const r = fake.run(renderHostScript("teardown.sh", params));
            assertFailure(r);
            assert.match(r.stderr, message);
        }
        assert.deepStrictEqual(fake.kindCalls(), []);
        assert.deepStrictEqual(fake.calls(), []);
    });
});

/** `kubectl` from PATH when it is a real one (the fakes are never on this process's PATH). */
function realKubectlWorks(): boolean {
    return spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
}

/** Evaluates a jsonpath template with the real kubectl, offline, on `data` (an object or a List). */
function realJsonpath(dir: string, template: string, data: object): string {
    const file = path.join(dir, `input-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(data));
    // `annotate --local` prints each object of a List on its own: evaluate a range's body per item.
    const range = /^\{range \.items\[\*\]\}(.*)\{end\}$/s.exec(template);
    const isList = "items" in data;
    assert.ok(!isList || range, `a list template must be one {range .items[*]}: ${template}`);
    const r = spawnSync(
        "kubectl",
        ["annotate", "--local", "-f", file, "fake.test/evaluated=true", "--kubeconfig", "/dev/null", "-o", `jsonpath=${isList ? range![1] : template}`],
        { encoding: "utf8" },
    );
    assert.strictEqual(r.status, 0, r.stderr);
    return r.stdout;
}

describe("fake kubectl", () => {
    before(function () {
        if (!realKubectlWorks()) {
            skipTest(this, "the check of the fake kubectl's jsonpath against kubectl's", "kubectl");
        }
    });

    /** A management cluster with Flux, one populated workload cluster and one being deleted. */
    function world(fake: FakeCapi, goingDelayMs: number): void {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        fake.installFlux(["flux-system/flux-system"], ["flux-system/addons"], "mgmt", ["flux-system/addons"]);
        populate(fake, fake.addCluster("default", "alpha"));
        fake.addCluster("default", "going", { alreadyDeleting: true, deleteDelayMs: goingDelayMs });
    }

    it("evaluates every jsonpath template of the script exactly as kubectl does", () => {
        const ran = new FakeCapi(makeTempDir("jsonpath-run"));
        world(ran, 300);
        const script = renderHostScript("teardown.sh", {
            CLUSTER_NAME: KIND_CLUSTER,
            KUBECONFIG_PATH: ran.mgmtKubeconfig,
            TIMEOUT_SECONDS: "20",
            PER_CLUSTER_TIMEOUT_SECONDS: "15",
            CLUSTERS_GONE_FILE: ran.goneFile,
            FLUX_RESUME_SCRIPT: ran.resumeScript,
        });
        assertSuccess(ran.run(script));

        // The same world, not torn down, to evaluate each template of the run on.
        const fresh = new FakeCapi(makeTempDir("jsonpath-fresh"));
        world(fresh, 600_000);
        const seen = new Set<string>();
        for (const call of ran.calls()) {
            const output = call.args.find((a, i) => call.args[i - 1] === "-o" && a.startsWith("jsonpath="));
            const [verb, resource, name] = words(call);
            const ns = namespaceOf(call);
            const key = `${call.ctx} ${resource} ${name ?? ""} ${ns ?? ""} ${output}`;
            if (output === undefined || seen.has(key)) {
                continue;
            }
            seen.add(key);
            assert.strictEqual(verb, "get");
            const kubeconfig = path.join(fresh.root, `${call.ctx}.kubeconfig`);
            fs.writeFileSync(kubeconfig, `current-context: ${call.ctx}\n`);
            const args = ["--kubeconfig", kubeconfig, ...call.args.filter((a, i) => a !== "--kubeconfig" && call.args[i - 1] !== "--kubeconfig")];
            const faked = spawnSync(path.join(fresh.bin, "kubectl"), args, { env: fresh.env(), encoding: "utf8" });
            assert.strictEqual(faked.status, 0, faked.stderr);

            const visible = (o: FakeObject): object => Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith("_")));
            const objects = fresh
                .objects(call.ctx!, resource)
                .filter((o) => (name === undefined || o.metadata.name === name) && (ns === undefined || o.metadata.namespace === ns))
                .map(visible);
            const template = output.slice("jsonpath=".length);
            let expected: string;
            if (name !== undefined) {
                expected = objects.length === 0 ? "" : realJsonpath(fresh.root, template, objects[0]);
            } else {
                expected = objects.length === 0 ? "" : realJsonpath(fresh.root, template, { apiVersion: "v1", kind: "List", items: objects });
            }
            assert.strictEqual(faked.stdout, expected, `${call.ctx}: kubectl ${args.slice(2).join(" ")}`);
        }
        const resources = [...seen].map((k) => k.split(" ")[1]);
        for (const r of [CLUSTER_CRD, KUSTOMIZATION_CRD, "secrets", "services", "deployments", "statefulsets", "cronjobs", "pods", "persistentvolumes"]) {
            assert.ok(resources.includes(r), `no template over ${r} was checked`);
        }
    });
});
