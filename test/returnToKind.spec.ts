/**
 * The way back from the self-hosted mode on a running stack (docs/self-hosted.md,
 * "selfHosted → kind"): src/host/scripts/return-to-kind.sh under bash with the fake tools of
 * test/fakes/selfhosted/ (the calls recorded in order), in every state the server can be in, a
 * return stopped half-way and run again, and the removed self-hosted-unpivot command's delete
 * that the engine runs at the end of the same `up`; and the program's graph in kind mode (the
 * kind cluster's root Kustomization waits for the step) with what the engine does on that `up`, modelled (the
 * mock engine records registrations, it neither diffs nor deletes).
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { reveal } from "../render/engine";
import { classifyChanges, dangersOf } from "../src/lifecycle/replacementMap";
import { assertFailure, assertSuccess } from "./fakes/shell";
import { Run, runStack } from "./harness";
import { Bed, CLUSTER, NS } from "./selfHostedBed";

const BACK = `pivot self kind ${NS}`;
const OWN_ORC = [`servergroups.openstack.k-orc.cloud/${CLUSTER}-control-plane`, `images.openstack.k-orc.cloud/${CLUSTER}-node-image`];

/** A pivoted stack in use: the workload clusters and the self-hosted cluster's own ORC objects there too. */
const pivoted = () => Bed.pivoted("workloads", "own-orc");

/** The state directory's files but its `lock` (lib/self-hosted-state.sh open_state: it stays, empty). */
function stateFiles(dir: string): string[] {
    return fs.readdirSync(dir).filter((f) => f !== "lock");
}

describe("src/host/scripts/return-to-kind.sh: the kind mode's way back from a self-hosted cluster", () => {
    it("never pivoted (no state on the server, the first up of a kind stack after an upgrade): does nothing, calls nothing, writes nothing", () => {
        const bed = new Bed();
        const r = bed.returnStep();
        assertSuccess(r);
        assert.strictEqual(r.stdout, "return-to-kind: nothing to do: this server never ran the self-hosted mode\n");
        assert.deepStrictEqual(bed.calls(), []);
        assert.ok(!fs.existsSync(bed.state), "no state directory created");
        assertSuccess(bed.returnStep());
        assert.deepStrictEqual(bed.calls(), []);
    });

    it("pivoted: stops the self-hosted Flux, moves everything back, then kind deletes the self-hosted Cluster and its own ORC objects only, in that order", () => {
        const bed = pivoted();
        const r = bed.returnStep();
        assertSuccess(r);
        assert.match(r.stdout, /every Cluster API object of clusters is on the kind cluster; the self-hosted cluster clusters\/dev-management is deleted/);
        const calls = bed.calls();
        const at = (prefix: string) => calls.findIndex((c) => c.startsWith(prefix));
        const order = [
            at("self scale deployment --all -n flux-system --replicas=0"),
            at("self patch kustomizations.kustomize.toolkit.fluxcd.io flux-system -n flux-system"),
            at(`${BACK} ${bed.clusterctl}`),
            at(`kind delete clusters.cluster.x-k8s.io ${CLUSTER} -n ${NS}`),
            at(`kind delete ${OWN_ORC[0]} -n ${NS}`),
            at(`kind delete ${OWN_ORC[1]} -n ${NS}`),
        ];
        assert.ok(
            order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1])),
            `${order.join(" ")}\n${calls.join("\n")}`,
        );
        assert.ok(bed.has("kind", "workloads") && !bed.has("self", "workloads"), "the workload Clusters are on kind");
        assert.ok(!bed.has("kind", "self-cluster") && !bed.has("self", "self-cluster"), "the self-hosted Cluster is deleted, by kind");
        assert.ok(!calls.some((c) => c.includes("--all") && c.includes("k-orc.cloud")), "the workload clusters' ORC objects stay");
        assert.ok(!calls.some((c) => c.startsWith("self delete") || c.startsWith("flux ")), calls.join("\n"));
        assert.strictEqual(bed.phase(), "kind");
        assert.deepStrictEqual(stateFiles(bed.state), ["returned"], "the kubeconfigs removed, the marker for self-hosted-unpivot's delete left");
    });

    it("interrupted while moving back: fails, phase unpivoting, nothing deleted, no Flux on either cluster; the next up moves back again and completes", () => {
        const bed = pivoted();
        bed.pivotExits("half");
        const r = bed.returnStep();
        assertFailure(r);
        assert.match(r.stderr, /moving the objects back to the kind cluster failed \(exit 1.*the next 'pulumi up' moves back again/s);
        assert.match(r.stderr, /the kind cluster's Flux is not started; fix the cause and run 'pulumi up' again/);
        assert.strictEqual(bed.phase(), "unpivoting");
        assert.ok(!bed.calls().some((c) => c.includes(" delete ")), "nothing deleted");
        assert.ok(bed.has("self", "flux-stopped") && bed.has("self", "flux-suspended") && !bed.has("kind", "flux"));
        assert.ok(!fs.existsSync(path.join(bed.state, "returned")));
        assertSuccess(bed.returnStep());
        assert.strictEqual(bed.calls().filter((c) => c.startsWith(BACK)).length, 2);
        assert.ok(bed.has("kind", "workloads") && !bed.has("kind", "self-cluster"));
        assert.strictEqual(bed.phase(), "kind");
    });

    it("interrupted while kind deletes the self-hosted cluster (its bound, virtual clock): the next up does not move again and completes", () => {
        const bed = pivoted();
        bed.set("kind", "stuck");
        const r = bed.returnStep(300);
        assertFailure(r);
        assert.match(r.stderr, /the self-hosted cluster clusters\/dev-management still there after 300s/);
        assert.strictEqual(bed.phase(), "unpivoted");
        assert.ok(!fs.existsSync(path.join(bed.state, "returned")));
        fs.rmSync(path.join(bed.fake, "kind.stuck"));
        assertSuccess(bed.returnStep());
        assert.strictEqual(bed.calls().filter((c) => c.startsWith("pivot ")).length, 1, "moved once");
        assert.ok(!bed.has("kind", "self-cluster"));
        assert.strictEqual(bed.phase(), "kind");
        const again = bed.returnStep();
        assertSuccess(again);
        assert.match(again.stdout, /nothing to do: no self-hosted cluster clusters\/dev-management \(phase kind\)/);
    });

    it("a selfHosted up that stopped before its pivot: kind deletes the self-hosted Cluster it built, no move", () => {
        const bed = new Bed();
        bed.selfBuilt();
        bed.set("kind", "self-cluster", "workloads", "own-orc");
        assertSuccess(bed.returnStep());
        assert.ok(!bed.calls().some((c) => c.startsWith("pivot ")));
        assert.ok(!bed.has("kind", "self-cluster") && bed.has("kind", "workloads"));
        assert.ok(OWN_ORC.every((o) => bed.has("kind", `deleted-${o.split("/")[1]}`)));
        assert.ok(fs.existsSync(path.join(bed.state, "returned")));
    });

    it("refuses, changing nothing, after a move to the self-hosted cluster that never finished", () => {
        const bed = pivoted();
        bed.setPhase("pivoting");
        const r = bed.returnStep();
        assertFailure(r);
        assert.match(r.stderr, /never finished \(phase pivoting\).*back to selfHosted and run 'pulumi up'.*nothing was changed/s);
        assert.deepStrictEqual(bed.calls(), []);
        assert.strictEqual(bed.phase(), "pivoting");
    });
});

describe("src/host/scripts/self-hosted-unpivot.sh after a return to kind: the removed command's delete at the end of the same up", () => {
    it("does nothing and fails nothing (no call to any cluster), and removes the marker", () => {
        const bed = pivoted();
        assertSuccess(bed.returnStep());
        const before = bed.calls().length;
        const r = bed.unpivotStep();
        assertSuccess(r);
        assert.match(r.stdout, /nothing to do: the stack went back to kind mode/);
        assert.deepStrictEqual(bed.calls().slice(before), []);
        assert.ok(bed.has("kind", "workloads"));
        assert.deepStrictEqual(stateFiles(bed.state), []);
    });

    it("without the marker (a self-hosted up that stopped before it built anything): keeps ORC's objects while workload Clusters are there", () => {
        const bed = new Bed();
        bed.set("kind", "workloads");
        const r = bed.unpivotStep();
        assertSuccess(r);
        assert.match(r.stderr, /ORC's objects in clusters are kept: Clusters are still there \(cluster\.cluster\.x-k8s\.io\/workload-1\)/);
        assert.ok(!bed.calls().some((c) => c.includes("k-orc.cloud --all")), bed.calls().join("\n"));
    });
});

describe("return-to-kind in the program's graph (modelled)", function () {
    this.timeout(300000);
    const COMMAND = "command:remote:Command";
    let kind: Run;
    let self: Run;
    before(async () => {
        kind = await runStack("dev");
        self = await runStack("dev", { managementCluster: JSON.stringify({ mode: "selfHosted" }) });
    });
    /** Flux's objects on the cluster, and its install (a component: the ConfigFile). */
    const fluxObjects = (run: Run) => run.resources.filter((r) => r.urn.includes("capi-mgmt:index:FluxSync$kubernetes:"));

    it("kind mode: kind's root Kustomization waits for the step, which waits for kind's ORC, providers and credentials; Flux's install does not", () => {
        const step = kind.one(COMMAND, "return-to-kind");
        assert.strictEqual(kind.byUrn(step.parent!).type, "capi-mgmt:index:ReturnToKind");
        const objects = fluxObjects(kind);
        const sync = objects.filter((r) => r.type.endsWith(":Kustomization"));
        const install = objects.filter((r) => r.type === "kubernetes:yaml/v2:ConfigFile");
        assert.strictEqual(sync.length, 1, objects.map((r) => r.type).join(" "));
        assert.strictEqual(install.length, 1, objects.map((r) => r.type).join(" "));
        // Only the Kustomization applies the tree's Clusters: it must not start before they are back on kind.
        assert.ok(kind.dependsOn(sync[0], step), "the root Kustomization waits for return-to-kind");
        // Flux's controllers install while ORC and Cluster API do (test/criticalPath.spec.ts); with no
        // Kustomization they reconcile nothing.
        assert.ok(!kind.dependsOn(install[0], step), "Flux's install does not wait for return-to-kind");
        for (const needed of [
            kind.one(COMMAND, "orc"),
            kind.one(COMMAND, "capi-providers"),
            kind.one("kubernetes:infrastructure.cluster.x-k8s.io/v1alpha1:OpenStackClusterIdentity"),
        ]) {
            assert.ok(kind.dependsOn(step, needed), `return-to-kind waits for ${needed.name}`);
        }
        // Runs once, on create (a new kind cluster runs it again); a changed script alone runs nothing, no delete.
        assert.deepStrictEqual([step.inputs.create, step.inputs.update, step.inputs.delete], ["sudo bash -s", undefined, undefined]);
        assert.deepStrictEqual(step.inputs.triggers, kind.one(COMMAND, "orc").inputs.triggers, "the kind cluster's ID, as orc's");
        const script = String(reveal(step.inputs.stdin));
        assert.match(
            script,
            /^readonly ORC_OBJECTS='servergroups\.openstack\.k-orc\.cloud\/dev-management-control-plane images\.openstack\.k-orc\.cloud\/dev-management-node-image'$/m,
        );
        assert.match(script, /^readonly CLUSTER='dev-management'$/m);
        assert.deepStrictEqual(
            self.all(COMMAND).filter((c) => c.name === "return-to-kind"),
            [],
            "selfHosted mode has no return-to-kind",
        );
    });

    it("selfHosted → kind (modelled): return-to-kind is created, kind's Flux objects are created after it (the old ones retained), the self-hosted steps deleted at the end", () => {
        const changes = classifyChanges(self.resources, kind.resources);
        const by = (name: string) => changes.filter((c) => c.name === name);
        assert.deepStrictEqual(
            by("return-to-kind").map((c) => c.action),
            ["create"],
        );
        const unchanged = ["server", "kind-cluster", "capi-providers", "orc", "capo-credentials", "workload-namespace"];
        assert.deepStrictEqual(
            unchanged.filter((n) => !by(n).every((c) => c.action === "same")),
            [],
        );
        assert.deepStrictEqual(
            by("workload-teardown").map((c) => c.action),
            ["update"],
            "its update only runs bash -n",
        );
        // Each Flux object moves from the self-hosted cluster's provider back to the kind cluster's, whose kubeconfig is
        // another step's output: the provider's DiffConfig replaces it, created on kind (after return-to-kind: the test
        // above), the old one retained.
        const flux = fluxObjects(kind).map((r) => changes.find((x) => x.urn === r.urn)!);
        assert.ok(flux.length >= 5);
        assert.deepStrictEqual(
            flux.filter((c) => !(c.action === "replace" && c.keys.includes("provider") && c.retained)),
            [],
        );
        for (const name of ["self-hosted-unpivot", "self-hosted-cluster", "self-hosted-orc", "self-hosted-providers", "self-hosted-pivot"]) {
            assert.deepStrictEqual(
                by(name)
                    .filter((c) => c.type === COMMAND)
                    .map((c) => c.action),
                ["delete"],
                name,
            );
        }
        // Of the deleted commands only self-hosted-unpivot has a delete (a no-op after the return: the script test above).
        const deletes = self.all(COMMAND).filter((c) => c.inputs.delete !== undefined && !kind.resources.some((k) => k.urn === c.urn));
        assert.deepStrictEqual(
            deletes.map((c) => c.name),
            ["self-hosted-unpivot"],
        );
        assert.deepStrictEqual(dangersOf(changes), []);
    });
});
