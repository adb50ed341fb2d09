import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { expandIncludes, HOST_INCLUDES_DIR, HOST_SCRIPTS_DIR, SERVER_KUBECONFIG } from "../src/host/hostScripts";
import { SETTINGS_SCHEMA } from "../src/config";
import { CLUSTERS_GONE_FILE, FLUX_RESUME_SCRIPT, renderTeardownScript, TeardownParams } from "../src/lifecycle/teardownScript";
import { CLUSTER_CRD, FakeWorkload, ORC_IMAGE_CRD, SNAPSHOT_CRD } from "./fakes/teardownFakes";
import { assertFailure, assertSuccess, hasShellcheck, makeTempDir, shellcheck, skipTest } from "./fakes/shell";
import {
    assertNoCredentialLeak,
    CLAIM_WORKLOADS,
    clusterDeletion,
    is,
    KIND_CLUSTER,
    lastIndex,
    mutations,
    namespaceOf,
    words,
    TeardownSuite,
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
        // The schema's default of capi-mgmt:teardownTimeoutMinutes, in seconds as src/capiManagement.ts passes it.
        const seconds = (SETTINGS_SCHEMA.properties.teardownTimeoutMinutes.default as number) * 60;
        assert.ok(Number.isInteger(seconds) && seconds > 0, `schema default: ${seconds}`);
        const p = sampleParams({ timeoutSeconds: seconds, perClusterTimeoutSeconds: seconds });
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
    const suite = new TeardownSuite();
    const { run, managementWith } = suite;

    it("fails, deleting nothing, when kind cannot list its clusters", () => {
        fs.writeFileSync(path.join(suite.fake.state, "_kind_fail"), "");
        const r = run();
        assertFailure(r);
        assert.match(
            r.stderr,
            /teardown: ERROR: cannot list the kind clusters \('kind get clusters' failed: ERROR: failed to list clusters: command "docker ps" failed; is Docker running\?\)/,
        );
        assert.deepStrictEqual(suite.fake.calls(), []);
    });

    it("does nothing when Cluster API is not installed", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        const r = run();
        assertSuccess(r);
        assert.match(r.stdout, /nothing to tear down: no workload cluster/);
        assert.deepStrictEqual(mutations(suite.fake.calls()), []);
    });

    it("tears down two clusters in parallel: load balancers and volumes first, then the Cluster", () => {
        const workloads = managementWith("default/alpha", "team-b/beta");
        const r = run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, "teardown: tore down 2 workload cluster(s) with their load balancers and volumes\n");
        assert.deepStrictEqual(suite.fake.live("mgmt", CLUSTER_CRD), []);
        const calls = suite.fake.calls();

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
            assert.deepStrictEqual(suite.fake.live(w.ctx, "services"), ["apps/internal"], "other Services stay");
            assert.deepStrictEqual(suite.fake.live(w.ctx, "deployments"), ["apps/stateless"], "workloads without PVCs stay");
            assert.deepStrictEqual(suite.fake.live(w.ctx, "daemonsets"), ["kube-system/node-agent"]);
            assert.deepStrictEqual(suite.fake.live(w.ctx, "persistentvolumes"), ["pv-archive"], "the Retain volume is kept");
            assert.ok(r.stderr.includes(`teardown: ${w.namespace}/${w.name}: torn down`), r.stderr);
            assert.ok(r.stderr.includes(`teardown: ${w.namespace}/${w.name}: deleting Service apps/web of type LoadBalancer`), r.stderr);
            for (const c of calls.filter((c) => c.ctx === w.ctx)) {
                assert.strictEqual(c.kubeconfigMode, "600", "workload kubeconfig is root-only");
                assert.strictEqual(c.kubeconfigDirMode, "700", "in a private directory");
            }
        }
        assert.deepStrictEqual(fs.readdirSync(suite.fake.tmp), [], "temporary files removed");
        assertNoCredentialLeak(suite.fake, r, workloads);
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
        suite.fake.installFlux(["flux-system/flux-system"], []);
        assertSuccess(run());
        const before = suite.fake.calls().length;
        const r = run();
        assertSuccess(r);
        assert.match(r.stdout, /nothing to tear down: no workload cluster/);
        const second = suite.fake.calls().slice(before);
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
        suite.fake.installOrcImages(["clusters/ubuntu-2404-kube-v1.35.8", "clusters/ubuntu-2404-kube-v1.36.2"], { deleteDelayMs: 1200 });
        const r = run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, "teardown: tore down 1 workload cluster(s) with their load balancers and volumes\n");
        assert.deepStrictEqual(suite.fake.live("mgmt", ORC_IMAGE_CRD), []);
        assert.match(r.stderr, /ORC removed its objects \(images.openstack.k-orc.cloud\)/);
        const calls = suite.fake.calls();
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
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        suite.fake.installOrcImages(["clusters/ubuntu-2404-kube-v1.35.8"]);
        const r = run();
        assertSuccess(r);
        assert.match(r.stdout, /nothing to tear down: no workload cluster/);
        assert.deepStrictEqual(suite.fake.live("mgmt", ORC_IMAGE_CRD), []);
    });

    it("fails, keeping the server, when ORC does not remove a node image, naming it", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        suite.fake.installOrcImages(["clusters/ubuntu-2404-kube-v1.35.8"], { stuck: true });
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
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        suite.fake.addCluster("default", "stuck", { stuck: true, secret: false });
        suite.fake.installOrcImages(["clusters/ubuntu-2404-kube-v1.35.8"]);
        const r = run(4, 2);
        assertFailure(r);
        assert.deepStrictEqual(suite.fake.live("mgmt", ORC_IMAGE_CRD), ["clusters/ubuntu-2404-kube-v1.35.8"]);
        assert.ok(!suite.fake.calls().some((c) => is(c, "mgmt", "delete", ORC_IMAGE_CRD)));
    });
});
