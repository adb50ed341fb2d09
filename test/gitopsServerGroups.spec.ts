/**
 * Nova's server-group quotas against the tree's placement (gitops/): a pool in a server
 * group must fit `server_group_members` (10) with its rollout's surge server, an
 * environment's groups must fit `server_groups` (10 per project), both checked by
 * `npm run validate`; a group Nova refuses fails the workload-clusters health check.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { serverGroupCountProblems, serverGroupSizeProblems } from "../render/clusterFitRules";
import { placementProblems } from "../render/gitopsRules";
import { Environment, readEnvironment, TreeObject } from "../render/gitopsTree";
import { celExpression, orcStatus } from "./fluxHealth";
import { PROJECT_DIR } from "./harness";

const TREE = path.join(PROJECT_DIR, "gitops");
const SETTINGS = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });

const envs = new Map<string, Environment>();
function tree(stack: string): Environment {
    if (!envs.has(stack)) envs.set(stack, readEnvironment(TREE, `./clusters/${stack}`, SETTINGS));
    return envs.get(stack)!;
}
const objects = (stack = "dev"): TreeObject[] => tree(stack).units.flatMap((u) => u.documents.map((d) => d.object));
const cluster = (): TreeObject => structuredClone(objects().find((o) => o.kind === "Cluster" && o.metadata.name === "workload-1")!);
const others = () => objects().filter((o) => o.kind !== "Cluster");

function withPools(c: TreeObject, pools: number[], controlPlane = 1): TreeObject {
    const out = structuredClone(c);
    out.spec.topology.controlPlane.replicas = controlPlane;
    out.spec.topology.workers.machineDeployments = pools.map((replicas, i) => ({ class: "default-worker", name: `md-${i}`, replicas }));
    return out;
}

describe("server-group quotas", () => {
    it("accepts the examples (dev and prod)", () => {
        for (const stack of ["dev", "prod"]) {
            assert.deepStrictEqual(serverGroupSizeProblems(objects(stack)), [], stack);
            assert.deepStrictEqual(serverGroupCountProblems(objects(stack)), [], stack);
        }
    });

    it("refuses a pool that cannot roll within server_group_members (10 workers + 1 surge), naming the cluster and the pool", () => {
        assert.deepStrictEqual(serverGroupSizeProblems([...others(), withPools(cluster(), [9])]), []);
        assert.match(
            serverGroupSizeProblems([...others(), withPools(cluster(), [10])]).join("\n"),
            /^Cluster workload-1: pool md-0 \(10\) in server group workload-1-workers need 11 members during a rollout, more than Nova's default server_group_members quota of 10/,
        );
    });

    it("counts the pools that share the workers' group together, and none without a group", () => {
        assert.match(
            serverGroupSizeProblems([...others(), withPools(cluster(), [5, 5])]).join("\n"),
            /pool md-0 \(5\) \+ pool md-1 \(5\) in server group workload-1-workers need 11/,
        );
        const ungrouped = withPools(cluster(), [40]);
        ungrouped.spec.topology.variables = ungrouped.spec.topology.variables.filter((v: { name: string }) => v.name !== "workerServerGroup");
        assert.deepStrictEqual(serverGroupSizeProblems([...others(), ungrouped]), []);
        // A five-node control plane (hard anti-affinity) fits with its surge machine.
        assert.deepStrictEqual(serverGroupSizeProblems([...others(), withPools(cluster(), [1], 5)]), []);
    });

    it("lets a cluster whose workers do not fit a group go without one (soft anti-affinity only where it fits), and no other", () => {
        const ungrouped = (pools: number[]) => {
            const c = withPools(cluster(), pools);
            c.spec.topology.variables = c.spec.topology.variables.filter((v: { name: string }) => v.name !== "workerServerGroup");
            return [...others().filter((o) => !(o.kind === "ServerGroup" && o.metadata.name === "workload-1-workers")), c];
        };
        assert.deepStrictEqual(placementProblems(ungrouped([10])), []);
        assert.deepStrictEqual(placementProblems(ungrouped([6, 6])), []);
        assert.match(placementProblems(ungrouped([9])).join("\n"), /default-worker joins no server group \(variable workerServerGroup is not set\)/);
    });

    it("refuses more ORC ServerGroups than Nova's default server_groups quota (10 per project: five clusters)", () => {
        const group = objects().find((o) => o.kind === "ServerGroup")!;
        const groups = (n: number) => Array.from({ length: n }, (_, i) => ({ ...structuredClone(group), metadata: { ...group.metadata, name: `g-${i}` } }));
        assert.deepStrictEqual(serverGroupCountProblems(groups(10)), []);
        assert.match(
            serverGroupCountProblems(groups(11)).join("\n"),
            /^11 ORC ServerGroups \(g-0, .*g-10\) are more than Nova's default server_groups quota of 10 per project/,
        );
    });

    it("fails workload-clusters' health check when Nova refuses a group for its quota, which ORC retries for ever", () => {
        const k = tree("dev").units.find((u) => u.kustomization.object.metadata.name === "workload-clusters")!.kustomization.object;
        const e = (k.spec.healthCheckExprs as Record<string, string>[]).find((x) => x.kind === "ServerGroup")!;
        assert.ok(e.failed, "no failed expression for ServerGroup");
        const failed = celExpression(e.failed);
        const current = celExpression(e.current);
        const quota = orcStatus({
            status: "True",
            reason: "TransientError",
            message: 'Expected HTTP response code [202 200] ...: 403 {"forbidden": {"code": 403, "message": "Quota exceeded, too many server groups."}}',
        });
        assert.strictEqual(failed(quota), true);
        assert.strictEqual(current(quota), false);
        assert.strictEqual(
            failed(orcStatus({ status: "False", reason: "InvalidConfiguration", message: "invalid configuration creating resource: 400" })),
            true,
        );
        assert.strictEqual(failed(orcStatus("available")), false);
        assert.strictEqual(current(orcStatus("available")), true);
        assert.strictEqual(failed(orcStatus({ status: "True", reason: "TransientError", message: "503 Service Unavailable" })), false);
    });

    it("documents both quotas and the fixes in gitops/README.md", () => {
        const readme = fs.readFileSync(path.join(TREE, "README.md"), "utf8");
        const trouble = readme.split(/^## /m).find((s) => s.startsWith("Troubleshooting"))!;
        assert.match(trouble, /Quota exceeded, too many server groups/);
        assert.match(trouble, /Quota exceeded, too many servers in group/);
        const placement = readme.split(/^## /m).find((s) => s.startsWith("Placement"))!;
        assert.match(placement, /server_group_members/);
        assert.match(placement, /server_groups/);
    });
});
