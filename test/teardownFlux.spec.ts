import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import { assertFailure, assertSuccess, hasShellcheck, RunResult, shellcheck } from "./fakes/shell";
import { CLAIM_WORKLOADS, clusterDeletion, is, KIND_CLUSTER, namespaceOf, TeardownSuite, words } from "./fakes/teardownCalls";
import { CLUSTER_CRD, HELMRELEASE_CRD, KUSTOMIZATION_CRD } from "./fakes/teardownFakes";

describe("src/host/scripts/teardown.sh: Flux", () => {
    const suite = new TeardownSuite();
    const { run, managementWith } = suite;

    it("suspends every Flux Kustomization and HelmRelease before deleting any Cluster", () => {
        const workloads = managementWith("default/alpha", "default/beta");
        const kustomizations = ["flux-system/flux-system", "flux-system/clusters", "tenants/team-a"];
        suite.fake.installFlux(kustomizations, ["flux-system/addons"]);
        const r = run();
        assertSuccess(r);
        const calls = suite.fake.calls();
        const patches = calls.map((c, i) => (c.ctx === "mgmt" && words(c)[0] === "patch" ? i : -1)).filter((i) => i >= 0);
        assert.deepStrictEqual(
            patches.map((i) => `${words(calls[i])[1]} ${namespaceOf(calls[i])}/${words(calls[i])[2]}`).sort(),
            [`${HELMRELEASE_CRD} flux-system/addons`, ...kustomizations.map((k) => `${KUSTOMIZATION_CRD} ${k}`)].sort(),
        );
        for (const i of patches) {
            assert.deepStrictEqual(calls[i].args.slice(calls[i].args.indexOf("--type=merge")), ["--type=merge", "--patch", '{"spec":{"suspend":true}}']);
        }
        const firstDeletion = Math.min(...workloads.map((w) => clusterDeletion(calls, w)));
        assert.ok(Math.max(...patches) < firstDeletion, "all patches before the first Cluster deletion");
        assert.ok(Math.max(...patches) < calls.findIndex((c) => c.ctx !== "mgmt"), "and before any workload cluster is touched");
        for (const w of workloads) {
            assert.strictEqual(calls[clusterDeletion(calls, w)].fluxUnsuspended, 0);
        }
        for (const obj of [...suite.fake.objects("mgmt", KUSTOMIZATION_CRD), ...suite.fake.objects("mgmt", HELMRELEASE_CRD)]) {
            assert.strictEqual((obj.spec as { suspend?: boolean }).suspend, true, obj.metadata.name);
        }
        assert.match(r.stderr, /suspended 3 Flux Kustomizations/);
        assert.match(r.stderr, /suspended 1 Flux HelmReleases/);
    });

    /** `spec.suspend` of each Flux object in `ctx`, by `resource namespace/name`. */
    function fluxSuspension(ctx: string): Record<string, boolean> {
        const result: Record<string, boolean> = {};
        for (const resource of [KUSTOMIZATION_CRD, HELMRELEASE_CRD]) {
            for (const o of suite.fake.objects(ctx, resource)) {
                result[`${resource} ${o.metadata.namespace}/${o.metadata.name}`] = (o.spec as { suspend?: boolean }).suspend === true;
            }
        }
        return result;
    }

    /** Runs the resume script the teardown left, as the user would (`sudo bash <script>`), against the suite.fake. */
    function runResumeScript(): RunResult {
        const r = spawnSync("bash", [suite.fake.resumeScript], { env: suite.fake.env(), encoding: "utf8" });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: 0 };
    }

    it("suspends Flux in each workload cluster before deleting anything there, leaving what was suspended alone", () => {
        const workloads = managementWith("default/alpha", "team-b/beta");
        for (const w of workloads) {
            suite.fake.installFlux(["flux-system/flux-system", "apps/web"], ["apps/ingress"], w.ctx, ["apps/web"]);
        }
        const r = run();
        assertSuccess(r);
        const calls = suite.fake.calls();
        for (const w of workloads) {
            const patches = calls.map((c, i) => (is(c, w.ctx, "patch") ? i : -1)).filter((i) => i >= 0);
            assert.deepStrictEqual(
                patches.map((i) => `${words(calls[i])[1]} ${namespaceOf(calls[i])}/${words(calls[i])[2]}`).sort(),
                [`${HELMRELEASE_CRD} apps/ingress`, `${KUSTOMIZATION_CRD} flux-system/flux-system`],
                "every Flux object not yet suspended, and only those",
            );
            const firstDelete = calls.findIndex((c) => is(c, w.ctx, "delete"));
            assert.ok(firstDelete > 0 && Math.max(...patches) < firstDelete, `${w.name}: Flux suspended before the first deletion`);
            assert.ok(
                Object.values(fluxSuspension(w.ctx)).every((v) => v),
                `${w.name}: every Flux object is suspended`,
            );
            assert.ok(r.stderr.includes(`teardown: ${w.namespace}/${w.name}: suspended 1 Flux Kustomizations\n`), r.stderr);
        }
    });

    it("fails a cluster whose Flux cannot be suspended, deleting nothing in it", () => {
        const [w] = managementWith("default/alpha");
        suite.fake.installFlux(["flux-system/flux-system"], [], w.ctx);
        suite.fake.failOn(w.ctx, "patch", KUSTOMIZATION_CRD, "Error from server (Forbidden): nope");
        const r = run();
        assertFailure(r);
        assert.match(
            r.stderr,
            /ERROR: default\/alpha: cannot suspend the Flux Kustomizations flux-system\/flux-system of the workload cluster, so its Flux could re-create/,
        );
        assert.ok(!suite.fake.calls().some((c) => words(c)[0] === "delete"), "nothing deleted");
        assert.deepStrictEqual(suite.fake.live("mgmt", CLUSTER_CRD), ["default/alpha"]);
    });

    it("resumes the Flux objects it suspended when it fails before deleting anything", () => {
        const [w] = managementWith("default/alpha");
        suite.fake.installFlux(["flux-system/flux-system", "flux-system/paused"], ["flux-system/addons"], "mgmt", ["flux-system/paused"]);
        suite.fake.failOn("mgmt", "get", CLUSTER_CRD, "Error from server (InternalError): etcdserver: request timed out");
        const before = fluxSuspension("mgmt");
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /cannot list the workload Clusters/);
        assert.match(r.stderr, /teardown: nothing was deleted: resuming the Flux objects this teardown suspended\n/);
        assert.deepStrictEqual(fluxSuspension("mgmt"), before, "every object as it was: the one suspended by hand stays suspended");
        assert.ok(
            suite.fake.calls().some((c) => is(c, "mgmt", "patch") && c.args.includes('{"spec":{"suspend":true}}')),
            "it had suspended them",
        );
        assert.ok(!fs.existsSync(suite.fake.resumeScript), "no resume script is left");
        assert.ok(!suite.fake.calls().some((c) => c.ctx === w.ctx));
        assert.deepStrictEqual(fs.readdirSync(suite.fake.tmp), []);
    });

    it("resumes Flux when the SSH session ends (HUP) before anything was deleted", () => {
        managementWith("default/alpha");
        suite.fake.installFlux(["flux-system/flux-system"], ["flux-system/addons"]);
        suite.fake.signalOn("mgmt", "get", CLUSTER_CRD, "SIGHUP");
        const r = run();
        assert.strictEqual(r.status, 129, r.stderr);
        assert.deepStrictEqual(Object.values(fluxSuspension("mgmt")), [false, false], r.stderr);
        assert.ok(!fs.existsSync(suite.fake.resumeScript));
        assert.deepStrictEqual(suite.fake.live("mgmt", CLUSTER_CRD), ["default/alpha"]);
    });

    it("keeps Flux suspended once it has deleted something, says how to resume it, and its resume script does exactly that", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        suite.fake.installFlux(["flux-system/flux-system", "flux-system/paused"], ["flux-system/addons"], "mgmt", ["flux-system/paused"]);
        const stuck = suite.fake.addCluster("default", "stuck", { stuck: true });
        suite.fake.installFlux(["flux-system/apps"], [], stuck.ctx);
        const gone = suite.fake.addCluster("default", "gone");
        suite.fake.installFlux(["flux-system/apps"], [], gone.ctx);
        const r = run(120, 60);
        assertFailure(r);
        assert.ok(
            r.stderr.includes(
                `stay SUSPENDED, so that nothing deleted is re-created before 'pulumi destroy' runs again. If you give up the destroy instead, resume them on the server: sudo bash ${suite.fake.resumeScript}\n`,
            ),
            r.stderr,
        );
        assert.doesNotMatch(r.stderr, /resuming the Flux objects/);
        assert.deepStrictEqual(Object.values(fluxSuspension("mgmt")), [true, true, true]);
        assert.deepStrictEqual(Object.values(fluxSuspension(stuck.ctx)), [true]);

        if (hasShellcheck()) {
            shellcheck([suite.fake.resumeScript]);
        }
        const resumed = runResumeScript();
        assertSuccess(resumed);
        assert.deepStrictEqual(fluxSuspension("mgmt"), {
            [`${HELMRELEASE_CRD} flux-system/addons`]: false,
            [`${KUSTOMIZATION_CRD} flux-system/flux-system`]: false,
            [`${KUSTOMIZATION_CRD} flux-system/paused`]: true,
        });
        assert.deepStrictEqual(Object.values(fluxSuspension(stuck.ctx)), [false], "resumed through the Cluster's kubeconfig Secret");
        assert.match(resumed.stderr, /resume-flux: workload cluster default\/gone is gone; skipping/);
        assert.ok(!fs.existsSync(suite.fake.resumeScript), "the script removes itself when done");
    });

    it("does not resume what an earlier, half-done teardown left suspended when a second one fails early", () => {
        suite.fake.setKindClusters([KIND_CLUSTER]);
        suite.fake.installClusterApi();
        suite.fake.installFlux(["flux-system/flux-system"], []);
        suite.fake.addCluster("default", "stuck", { stuck: true });
        assertFailure(run(120, 60));
        suite.fake.failOn("mgmt", "get", CLUSTER_CRD, "Error from server (InternalError): etcdserver: request timed out");
        const r = run();
        assertFailure(r);
        assert.doesNotMatch(r.stderr, /resuming the Flux objects/);
        assert.deepStrictEqual(Object.values(fluxSuspension("mgmt")), [true], "the Cluster is half deleted: Flux must not bring it back");
        assert.ok(r.stderr.includes(`sudo bash ${suite.fake.resumeScript}`), r.stderr);
        assert.strictEqual(
            fs
                .readFileSync(suite.fake.resumeScript, "utf8")
                .split("\n")
                .filter((l) => l.startsWith("resume ")).length,
            1,
        );
    });

    it("keeps Flux suspended when the SSH session ends after it began deleting", () => {
        const [w] = managementWith("default/alpha");
        suite.fake.installFlux(["flux-system/flux-system"], []);
        suite.fake.signalOn(w.ctx, "get", CLAIM_WORKLOADS[0], "SIGHUP");
        const r = run();
        assert.strictEqual(r.status, 129, r.stderr);
        assert.deepStrictEqual(Object.values(fluxSuspension("mgmt")), [true]);
        assert.ok(fs.readFileSync(suite.fake.resumeScript, "utf8").includes(`resume management ${KUSTOMIZATION_CRD} flux-system flux-system\n`));
        assert.ok(r.stderr.includes(`sudo bash ${suite.fake.resumeScript}`), r.stderr);
    });

    it("fails, deleting nothing, when Flux cannot be suspended", () => {
        managementWith("default/alpha");
        suite.fake.installFlux(["flux-system/flux-system"], []);
        suite.fake.failOn("mgmt", "patch", KUSTOMIZATION_CRD, 'Error from server (Forbidden): kustomizations "flux-system" is forbidden');
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /ERROR: cannot suspend the Flux Kustomizations flux-system\/flux-system/);
        assert.ok(!suite.fake.calls().some((c) => words(c)[0] === "delete"), "nothing deleted");
        assert.deepStrictEqual(suite.fake.live("mgmt", CLUSTER_CRD), ["default/alpha"]);
    });
});
