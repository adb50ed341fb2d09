/**
 * The self-hosted mode's orchestration scripts (src/host/scripts/self-hosted-*.sh, docs/self-hosted.md)
 * under bash with fake tools (test/fakes/selfhosted/: kubectl, flux and a fake of the pivot
 * script's contract) on the virtual clock: what each does in each phase, and that a failed
 * move leaves a phase the next run finishes, with no Flux left running that could re-create
 * what moved. The real move is src/host/scripts/pivot.sh's, proven on the test bed by its own test.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { assertFailure, assertSuccess } from "./fakes/shell";
import { Bed, CLUSTER, NS } from "./selfHostedBed";

describe("src/host/scripts/self-hosted-cluster.sh: builds or updates the self-hosted cluster where its objects are", () => {
    it("before the pivot: applies the tree's ClusterClass and add-ons, then the Cluster, to kind; prints only the kubeconfig, kept 0600", () => {
        const bed = new Bed();
        bed.set("kind", "self-cluster", "available", "kubeconfig-secret");
        bed.set("self", "api-up");
        const r = bed.clusterStep();
        assertSuccess(r);
        assert.match(r.stdout, /^apiVersion: v1\nkind: Config\n/);
        assert.ok(r.stdout.includes("server: https://203.0.113.7:6443"));
        assert.strictEqual(fs.readFileSync(path.join(bed.state, "kubeconfig"), "utf8"), r.stdout);
        assert.strictEqual(fs.statSync(path.join(bed.state, "kubeconfig")).mode & 0o777, 0o600);
        const applies = bed.calls().filter((c) => c.includes(" apply "));
        assert.deepStrictEqual(
            applies,
            [0, 1].map(() => `kind apply --server-side --force-conflicts --field-manager capi-mgmt -n ${NS} -f -`),
        );
        assert.strictEqual(fs.readFileSync(path.join(bed.fake, "kind.applied"), "utf8"), "kind: ClusterClass\n\n---\nkind: Cluster\n\n---\n");
        assert.ok(!bed.has("self", "applied"));
    });

    it("after the pivot: applies only the Cluster, to the self-hosted cluster itself (its Flux owns the class), never to kind", () => {
        const bed = new Bed();
        bed.selfBuilt();
        bed.setPhase("pivoted");
        bed.set("self", "self-cluster", "available", "kubeconfig-secret");
        const r = bed.clusterStep();
        assertSuccess(r);
        assert.strictEqual(fs.readFileSync(path.join(bed.fake, "self.applied"), "utf8"), "kind: Cluster\n\n---\n");
        assert.ok(!bed.calls().some((c) => c.startsWith("kind ")), bed.calls().join("\n"));
    });

    it("applies nothing while a move is unfinished, and refuses while a destroy is under way", () => {
        const bed = new Bed();
        bed.selfBuilt();
        bed.setPhase("pivoting");
        assertSuccess(bed.clusterStep());
        assert.ok(!bed.calls().some((c) => c.includes(" apply ")));
        for (const phase of ["unpivoting", "unpivoted"]) {
            bed.setPhase(phase);
            const r = bed.clusterStep();
            assertFailure(r);
            assert.match(r.stderr, new RegExp(`a 'pulumi destroy' is under way \\(phase ${phase}.*re-run 'pulumi destroy'`));
        }
        assert.ok(!bed.calls().some((c) => c.includes(" apply ")));
    });

    it("fails after its bound, naming the Cluster, when it never becomes Available (virtual clock)", () => {
        const bed = new Bed();
        bed.set("kind", "self-cluster");
        const r = bed.clusterStep(120);
        assertFailure(r);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /Cluster clusters\/dev-management becoming Available did not happen within 120s; nothing was deleted/);
        assert.ok(!fs.existsSync(path.join(bed.state, "kubeconfig")));
    });
});

describe("src/host/scripts/self-hosted-pivot.sh: moves everything to the self-hosted cluster once", () => {
    const contract = `pivot kind self ${NS}`;

    it("stops kind's Flux, calls the pivot script kind → self-hosted, records pivoted, then uninstalls kind's Flux", () => {
        const bed = new Bed();
        bed.selfBuilt();
        bed.set("kind", "self-cluster", "kubeconfig-secret", "available");
        const r = bed.pivotStep();
        assertSuccess(r);
        assert.strictEqual(r.stdout, `self-hosted-pivot: the Cluster API objects of ${NS} are on the self-hosted cluster\n`);
        const calls = bed.calls();
        const stop = calls.indexOf("kind scale deployment --all -n flux-system --replicas=0");
        // pivot.sh refuses while a Kustomization of the source is not suspended.
        const suspend = calls.findIndex((c) => c.startsWith("kind patch kustomizations.kustomize.toolkit.fluxcd.io flux-system -n flux-system"));
        const move = calls.indexOf(`${contract} ${bed.clusterctl}`);
        const uninstall = calls.findIndex((c) => c.startsWith(`flux uninstall --kubeconfig ${bed.kindKubeconfig}`));
        assert.ok(stop >= 0 && suspend > stop && move > suspend && uninstall > move, calls.join("\n"));
        assert.strictEqual(bed.phase(), "pivoted");
        // A link, so that the kubeconfig refresh (self-hosted-kubeconfig.sh) reaches every tool reading it.
        assert.strictEqual(fs.readlinkSync(path.join(bed.state, "active.kubeconfig")), "kubeconfig");
        assert.ok(bed.has("self", "self-cluster") && !bed.has("kind", "self-cluster"), "the fake moved the self-hosted Cluster");
        assert.ok(!bed.has("kind", "flux"), "kind's Flux is gone");
    });

    it("a refused move: fails with the reason, stays pivoting with kind's Flux stopped (not uninstalled); the next run moves again and finishes", () => {
        const bed = new Bed();
        bed.selfBuilt();
        bed.pivotExits("refuse");
        const r = bed.pivotStep();
        assertFailure(r);
        assert.match(r.stderr, /pivot: refused: Cluster clusters\/workload-1 is paused/);
        assert.match(r.stderr, /kind cluster's Flux stays stopped\s+\(phase pivoting\).*re-run 'pulumi up', which moves again/s);
        assert.strictEqual(bed.phase(), "pivoting");
        assert.ok(bed.has("kind", "flux-stopped") && bed.has("kind", "flux"), "kind's Flux stopped, not removed");
        assert.ok(!fs.existsSync(path.join(bed.state, "active.kubeconfig")), "the teardown still goes to kind");
        assert.ok(!bed.calls().some((c) => c.startsWith("flux ")));
        const again = bed.pivotStep();
        assertSuccess(again);
        assert.strictEqual(bed.calls().filter((c) => c.startsWith(contract)).length, 2);
        assert.strictEqual(bed.phase(), "pivoted");
        assert.ok(!bed.has("kind", "flux"));
    });

    it("a move that failed half-way is moved again by the next run, never handed back to kind's Flux", () => {
        const bed = new Bed();
        bed.selfBuilt();
        bed.set("kind", "self-cluster");
        bed.pivotExits("half");
        assertFailure(bed.pivotStep());
        assert.ok(bed.has("kind", "self-cluster") && bed.has("self", "self-cluster"), "on both clusters");
        assert.strictEqual(bed.phase(), "pivoting");
        assert.ok(bed.has("kind", "flux-stopped"));
        assertSuccess(bed.pivotStep());
        assert.ok(!bed.has("kind", "self-cluster") && bed.has("self", "self-cluster"));
        assert.strictEqual(bed.phase(), "pivoted");
    });

    it("once pivoted: moves nothing again, only makes sure kind's Flux is gone (an uninstall that failed is retried)", () => {
        const bed = new Bed();
        bed.selfBuilt();
        fs.writeFileSync(path.join(bed.fake, "flux-fails"), "");
        const r = bed.pivotStep();
        assertFailure(r);
        assert.match(r.stderr, /the objects are on the self-hosted cluster, but removing the kind cluster's Flux failed/);
        assert.strictEqual(bed.phase(), "pivoted");
        fs.rmSync(path.join(bed.fake, "flux-fails"));
        assertSuccess(bed.pivotStep());
        assert.strictEqual(bed.calls().filter((c) => c.startsWith("pivot ")).length, 1, "moved once");
        assert.ok(!bed.has("kind", "flux"));
        assertSuccess(bed.pivotStep());
        assert.strictEqual(bed.calls().filter((c) => c.startsWith("pivot ")).length, 1);
    });

    it("says a bad-arguments exit (2) is a bug; refuses while a destroy is under way; fails without the pivot script", () => {
        const bed = new Bed();
        bed.selfBuilt();
        bed.pivotExits("2");
        const r = bed.pivotStep();
        assertFailure(r);
        assert.match(r.stderr, /refused its arguments \(exit 2\): a bug of capi-mgmt/);
        bed.setPhase("unpivoted");
        assert.match(bed.pivotStep().stderr, /a 'pulumi destroy' is under way \(phase unpivoted/);
        bed.setPhase("pivoting");
        fs.rmSync(bed.pivot);
        const missing = bed.pivotStep();
        assertFailure(missing);
        assert.match(missing.stderr, /the pivot script .*pivot\.sh is missing; nothing was moved/);
    });
});

describe("src/host/scripts/self-hosted-unpivot.sh: on destroy, moves back to kind, which deletes the self-hosted cluster", () => {
    const back = `pivot self kind ${NS}`;

    /** A pivoted stack whose teardown has run: only the self-hosted Cluster left, on the self-hosted cluster. */
    const pivoted = () => Bed.pivoted();

    it("stops the self-hosted cluster's Flux, moves back, lets kind delete the Cluster, then ORC's objects, and clears the state", () => {
        const bed = pivoted();
        const r = bed.unpivotStep();
        assertSuccess(r);
        assert.strictEqual(r.stdout, `self-hosted-unpivot: the self-hosted cluster ${NS}/${CLUSTER} is deleted\n`);
        const calls = bed.calls();
        const stop = calls.indexOf("self scale deployment --all -n flux-system --replicas=0");
        const suspend = calls.findIndex((c) => c.startsWith("self patch kustomizations.kustomize.toolkit.fluxcd.io flux-system -n flux-system"));
        const move = calls.indexOf(`${back} ${bed.clusterctl}`);
        const del = calls.findIndex((c) => c.startsWith(`kind delete clusters.cluster.x-k8s.io ${CLUSTER} -n ${NS}`));
        const orc = calls.findIndex((c) => c.startsWith("kind delete images.openstack.k-orc.cloud,servergroups.openstack.k-orc.cloud --all"));
        assert.ok(stop >= 0 && suspend > stop && move > suspend && del > move && orc > del, calls.join("\n"));
        assert.ok(!bed.has("kind", "self-cluster"), "deleted by kind");
        assert.ok(!calls.some((c) => c.startsWith("self delete")), "nothing deleted by the self-hosted cluster itself");
        assert.strictEqual(bed.phase(), "kind");
        // Only the state's lock file (lib/self-hosted-state.sh lock_state) stays.
        assert.deepStrictEqual(fs.readdirSync(bed.state), ["lock"]);
    });

    it("a failed move back: fails keeping the server, stays unpivoting, deletes nothing; the next destroy moves back again and finishes", () => {
        const bed = pivoted();
        bed.pivotExits("half");
        const r = bed.unpivotStep();
        assertFailure(r);
        assert.match(r.stderr, /moving the objects back to the kind cluster failed \(exit 1.*the phase stays unpivoting/s);
        assert.match(r.stderr, /The management server \(VM\) was KEPT/);
        assert.strictEqual(bed.phase(), "unpivoting");
        assert.ok(!fs.existsSync(path.join(bed.state, "active.kubeconfig")));
        assert.ok(!bed.calls().some((c) => c.includes(" delete ")), "nothing deleted");
        assert.ok(bed.has("self", "flux-stopped") && !bed.has("kind", "flux"), "no Flux runs on either cluster");
        assertSuccess(bed.unpivotStep());
        assert.strictEqual(bed.calls().filter((c) => c.startsWith(back)).length, 2);
        assert.strictEqual(bed.phase(), "kind");
        assert.ok(!bed.has("kind", "self-cluster"));
    });

    it("never pivoted (an up that failed before the move): kind deletes what it built, no move", () => {
        const bed = new Bed();
        bed.set("kind", "self-cluster");
        const r = bed.unpivotStep();
        assertSuccess(r);
        assert.ok(!bed.calls().some((c) => c.startsWith("pivot ")));
        assert.ok(!bed.has("kind", "self-cluster"));
    });

    it("refuses, changing nothing, after a move to the self-hosted cluster that never finished", () => {
        const bed = new Bed();
        bed.selfBuilt();
        bed.setPhase("pivoting");
        const r = bed.unpivotStep();
        assertFailure(r);
        assert.match(r.stderr, /never finished \(phase pivoting\).*Run 'pulumi up'.*then 'pulumi destroy' again; nothing was changed/s);
        assert.deepStrictEqual(bed.calls(), []);
    });

    it("fails when the kind cluster does not answer, unless the user says the self-hosted cluster is gone", () => {
        const bed = pivoted();
        bed.set("kind", "unreachable");
        const r = bed.unpivotStep();
        assertFailure(r);
        assert.match(r.stderr, /the kind cluster does not answer .*sudo touch .*\/gone/s);
        assert.strictEqual(bed.phase(), "pivoted");
        fs.writeFileSync(path.join(bed.state, "gone"), "");
        const gone = bed.unpivotStep();
        assertSuccess(gone);
        assert.match(gone.stdout, /nothing to do: .*gone says the self-hosted cluster is gone/);
    });

    it("fails after its bound, naming the Cluster, when kind cannot delete it (virtual clock)", () => {
        const bed = new Bed();
        bed.set("kind", "self-cluster", "stuck");
        const r = bed.unpivotStep(300);
        assertFailure(r);
        assert.match(r.stderr, /the self-hosted cluster clusters\/dev-management still there after 300s/);
        assert.ok(!bed.calls().some((c) => c.includes("k-orc.cloud --all")), "ORC's objects kept while the Cluster is there");
    });
});
