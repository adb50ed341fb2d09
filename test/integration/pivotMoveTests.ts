/**
 * The move half of pivot.integration.ts (registered in its describe, after the refusals, on its
 * API servers A and B): pivot.sh moving A's objects to B, nobody reconciling twice, a second run,
 * the refusal of a move that would double the Clusters, the reverse pivot and the network rule.
 */
import * as assert from "assert";
import { assertLoopbackOnly } from "./pivotBed";
import * as fs from "fs";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE, ORC_CREDENTIALS_SECRET } from "../../src/shared/contract";
import { HostRun, NOT_CLUSTER_API, R, TwoServerSuite } from "./backupBed";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { at, conditionTrue } from "./harness/objects";
import { waitFor } from "./harness/processes";
import { patchStatus } from "./harness/simulated";

const ORC_CRD = /\.openstack\.k-orc\.cloud$/;

/** The pivot suite's state and helpers as the move tests see them. */
export interface PivotSuite extends TwoServerSuite {
    allDocs: () => KubeObject[];
    /** The Clusters' names, sorted. */
    names: () => string[];
    /** The resource name kubectl takes for a document (Kind.version.group). */
    resourceOf: (d: { apiVersion: string; kind: string }) => string;
    /** Runs pivot.sh from `from` to `to`. */
    pivot: (from: ControlPlane | string, to: ControlPlane | string, env?: Record<string, string>) => HostRun;
    /** The names of the Clusters on `cp`, sorted. */
    clusterNames: (cp: ControlPlane) => string[];
}

/** Registers the move tests in the pivot suite's describe. */
export function moveTests(s: PivotSuite): void {
    const { A, B, ns, poll, allDocs, clusters, names, resourceOf, pivot, clusterNames } = s;
    /** Every object A holds in the namespace, as `Kind/name` with its resource version, before the move. */
    let beforeMove: Map<string, KubeObject>;
    let moved: Set<string>;

    it("moves A's objects to B: every Cluster on B and running there, none left on A, the identity and credentials each cluster's own", async function () {
        this.timeout(15 * 60_000);
        const secretsBefore = B().get("secrets", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE);
        const orcSecretBefore = B().get("secrets", ORC_CREDENTIALS_SECRET, ns);
        beforeMove = new Map();
        for (const d of allDocs().filter((x) => x.metadata.namespace === ns && !NOT_CLUSTER_API.has(x.kind))) {
            const live = A().get(resourceOf(d), d.metadata.name, ns);
            assert.ok(live, `${d.kind} ${d.metadata.name} is on A before the move`);
            beforeMove.set(`${d.kind}/${d.metadata.name}`, live);
        }
        const started = Date.now();
        const r = pivot(A(), B());
        console.log(`      pivot.sh A -> B: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        assert.strictEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
        assert.match(
            r.stdout,
            new RegExp(
                `^pivot: moved Cluster\\(s\\) ${names().join(" ")} of namespace ${ns} from https://127\\.0\\.0\\.1:\\d+ to https://127\\.0\\.0\\.1:\\d+`,
            ),
        );
        assert.doesNotMatch(r.stdout + r.stderr, /pivot-secret|application_credential_secret/, "pivot.sh prints no secret");

        // Where every object of the stack ends up.
        const problems: string[] = [];
        moved = new Set();
        for (const [key, d] of beforeMove) {
            const res = resourceOf(d);
            const onA = A().get(res, d.metadata.name, ns);
            const onB = B().get(res, d.metadata.name, ns);
            if (d.kind === "Secret" && d.metadata.name === ORC_CREDENTIALS_SECRET) {
                if (!onA) problems.push(`${key}: A lost its own credential Secret`);
                if (JSON.stringify(onB?.data) !== JSON.stringify(orcSecretBefore?.data)) problems.push(`${key}: B's own credential Secret changed`);
                if (onA?.metadata.labels?.["clusterctl.cluster.x-k8s.io/move"] === undefined) problems.push(`${key}: A's move label not put back`);
                continue;
            }
            if (!onB) problems.push(`${key}: not on B`);
            if (onA) problems.push(`${key}: still on A`);
            moved.add(key);
        }
        assert.deepStrictEqual(problems, []);
        for (const kind of [
            "Cluster",
            "ClusterClass",
            "ClusterResourceSet",
            "HelmChartProxy",
            "Image",
            "ServerGroup",
            "KubeadmControlPlaneTemplate",
            "OpenStackClusterTemplate",
        ]) {
            assert.ok(
                [...moved].some((k) => k.startsWith(`${kind}/`)),
                `the stack has a ${kind} and it moved`,
            );
        }
        // What the controllers made: on B, none left on A.
        for (const res of [
            R.MachineDeployment,
            R.Machine,
            R.KubeadmControlPlane,
            R.OpenStackCluster,
            R.OpenStackMachine,
            R.KubeadmConfig,
            R.ClusterResourceSetBinding,
        ]) {
            assert.ok(B().list(res, { namespace: ns }).length > 0, `no ${res} on B`);
            assert.deepStrictEqual(
                A()
                    .list(res, { namespace: ns })
                    .map((o) => o.metadata.name),
                [],
                `${res} left on A`,
            );
        }
        for (const name of names()) {
            for (const s of ["ca", "kubeconfig"]) {
                assert.ok(B().get("secrets", `${name}-${s}`, ns), `${name}-${s} on B`);
                assert.strictEqual(A().get("secrets", `${name}-${s}`, ns), undefined, `${name}-${s} left on A`);
            }
            const c = B().get(R.Cluster, name, ns) as KubeObject;
            assert.notStrictEqual(at(c, "spec.paused"), true, "B's Cluster resumed");
            assert.strictEqual(c.metadata.annotations?.["capi-mgmt.io/pivot"], undefined, "the pivot's mark removed on B");
        }
        // The identity and CAPO's credential: each cluster keeps its own.
        assert.ok(A().get(R.Identity, "openstack") && B().get(R.Identity, "openstack"), "the identity on both");
        assert.ok(
            A().get("secrets", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE)?.metadata.labels?.["clusterctl.cluster.x-k8s.io/move"] !== undefined,
            "A's CAPO credential kept, label back",
        );
        assert.deepStrictEqual(B().get("secrets", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE)?.data, secretsBefore?.data, "B's CAPO credential untouched");
        // ORC: CRDs labelled on both; the managed objects' onDelete as before the move (detached only for it).
        for (const cp of [A(), B()]) {
            const crds = cp.list("crd").filter((c) => ORC_CRD.test(c.metadata.name));
            assert.ok(crds.length > 0 && crds.every((c) => c.metadata.labels?.["clusterctl.cluster.x-k8s.io"] === ""), "ORC's CRDs labelled for clusterctl");
        }
        for (const d of allDocs().filter((x) => x.kind === "ServerGroup" || x.kind === "Image")) {
            const onB = B().get(resourceOf(d), d.metadata.name, ns) as KubeObject;
            assert.deepStrictEqual(at(onB, "spec.managedOptions"), at(d, "spec.managedOptions"), `${d.kind} ${d.metadata.name}: managedOptions as in Git`);
            assert.strictEqual(onB.metadata.annotations?.["capi-mgmt.io/pivot-on-delete"], undefined);
        }
    });

    it("nothing is reconciled twice: A's managers have nothing left to reconcile, B's take over (Cluster API, ORC)", async function () {
        this.timeout(10 * 60_000);
        for (const name of names()) {
            const live = B().get(R.Cluster, name, ns) as KubeObject;
            const cl = clusters().find((c) => c.metadata.name === name) as KubeObject;
            // As KCP and CAPO would report on B (statuses are not moved).
            patchStatus(B(), R.KubeadmControlPlane, at(live, "spec.controlPlaneRef.name") as string, ns, {
                version: at(cl, "spec.topology.version"),
                initialization: { controlPlaneInitialized: true },
            });
            patchStatus(B(), R.OpenStackCluster, at(live, "spec.infrastructureRef.name") as string, ns, { ready: true });
            await waitFor(
                `B's Cluster API reconciles ${name} (control plane initialized)`,
                () => (conditionTrue(B().get(R.Cluster, name, ns), "ControlPlaneInitialized") ? true : undefined),
                poll(B()),
            );
            await waitFor(
                `B's Cluster API reports ${name}'s infrastructure`,
                () => (at(B().get(R.Cluster, name, ns), "status.initialization.infrastructureProvisioned") === true ? true : undefined),
                poll(B()),
            );
        }
        for (const m of B().list(R.Machine, { namespace: ns })) {
            await waitFor(
                `B's Cluster API finds the Node of ${m.metadata.name}`,
                () => (at(B().get(R.Machine, m.metadata.name, ns), "status.nodeRef.name") ? true : undefined),
                poll(B()),
            );
        }
        // B's ORC reconciles the moved objects (it reports that it cannot reach Keystone).
        for (const d of allDocs().filter((x) => x.kind === "ServerGroup")) {
            await waitFor(
                `B's ORC reconciles ServerGroup ${d.metadata.name}`,
                () => ((at(B().get(resourceOf(d), d.metadata.name, ns), "status.conditions") as unknown[] | undefined)?.length ? true : undefined),
                poll(B()),
            );
        }
        // A's API server has none of the moved objects: A's controllers only see their own API server.
        for (const [key, d] of beforeMove) {
            if (moved.has(key)) {
                assert.strictEqual(A().get(resourceOf(d), d.metadata.name, ns), undefined, `${key} on A`);
            }
        }
        // A's ORC did reconcile them before the move (so it was a second controller to stop).
        const orcLog = fs.readFileSync(path.join(A().dir, "orc.log"), "utf8");
        const serverGroups = allDocs().filter((d) => d.kind === "ServerGroup");
        assert.ok(
            serverGroups.every((d) => orcLog.includes(`"${d.metadata.name}"`)),
            `A's ORC reconciled the ServerGroups before the move:\n${orcLog.slice(-1500)}`,
        );
    });

    it("a second run after the move moves nothing and changes nothing on B (idempotent)", function () {
        const rv = () =>
            B()
                .list(R.Cluster, { namespace: ns })
                .map((c) => `${c.metadata.name}@${c.metadata.resourceVersion}`);
        const before = rv();
        const r = pivot(A(), B());
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^pivot: already done: Cluster\\(s\\) ${names().join(" ")} of namespace ${ns} are on the target`));
        assert.deepStrictEqual(rv(), before, "B's Clusters unchanged");
    });

    it("refuses to move into a cluster that has the Clusters (the reverse direction before they left B would double them)", function () {
        // A gets a Cluster of the same namespace (as Flux on A would apply from Git): a pivot B -> A refuses.
        const cl = clusters()[0];
        const copy = { ...cl, metadata: { ...cl.metadata, name: "intruder" }, spec: { ...cl.spec, paused: true } };
        A().applyOk(toYaml(copy));
        const r = pivot(B(), A());
        assert.strictEqual(r.status, 1, r.stderr);
        assert.match(r.stderr, /pivot: REFUSED: the target already has Clusters in namespace clusters: intruder\. A move would give Cluster API a second copy/);
        assert.ok(B().list(R.Cluster, { namespace: ns }).length === names().length, "B keeps its Clusters");
        // Paused from the start: nothing expanded it, and Cluster API put no finalizer on it.
        A().kubectlOk(["delete", R.Cluster, "intruder", "-n", ns, "--timeout=60s"]);
        assert.deepStrictEqual(A().list(R.MachineDeployment, { namespace: ns }), [], "the paused intruder was never expanded");
    });

    it("the reverse pivot (B -> A, as before destroy) brings every object back to A", async function () {
        this.timeout(15 * 60_000);
        await waitFor("A's intruder gone", () => (A().list(R.Cluster, { namespace: ns }).length === 0 ? true : undefined), poll(A()));
        const started = Date.now();
        const r = pivot(B(), A());
        console.log(`      pivot.sh B -> A: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        assert.strictEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
        const problems: string[] = [];
        for (const key of moved) {
            const d = beforeMove.get(key) as KubeObject;
            if (!A().get(resourceOf(d), d.metadata.name, ns)) problems.push(`${key}: not back on A`);
            if (B().get(resourceOf(d), d.metadata.name, ns)) problems.push(`${key}: still on B`);
        }
        assert.deepStrictEqual(problems, []);
        assert.deepStrictEqual(clusterNames(A()), names());
        assert.ok(B().get("secrets", ORC_CREDENTIALS_SECRET, ns) && B().get("secrets", CAPO_CREDENTIALS_SECRET, CAPO_NAMESPACE), "B keeps its own credentials");
    });

    it("network rule: the managers and clusterctl reached loopback only", function () {
        assertLoopbackOnly([A(), B()]);
    });
}
