/**
 * ingress-nginx's `ovn` mode and OVN load balancers in general (gitops/): OCCM v1.35 takes
 * its Octavia provider from cloud.conf only, which follows the Cluster's apiLoadBalancer, so
 * the mode is refused on other clusters. That an ovn cluster's OCCM uses SOURCE_IP_PORT (the
 * only method OVN has; CAAPH's rendering of the chart's values template) and its workers admit
 * the clients OVN forwards to their NodePorts (the class's patch, expanded by Cluster API) is
 * proven by the real controllers in test/integration/stacks.integration.ts.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { ingressProblems, INGRESS_LABEL } from "../render/clusterFitRules";
import { Environment, readEnvironment, TreeObject } from "../render/gitopsTree";
import { PROJECT_DIR } from "./harness";

const TREE = path.join(PROJECT_DIR, "gitops");
const SETTINGS = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });
const OVN = { provider: "ovn", allowListNotEnforced: "acknowledged" };

let env: Environment | undefined;
const objects = (): TreeObject[] => {
    env ??= readEnvironment(TREE, "./clusters/dev", SETTINGS);
    return env.units.flatMap((u) => u.documents.map((d) => d.object));
};
const cluster = (): TreeObject => structuredClone(objects().find((o) => o.kind === "Cluster" && o.metadata.name === "workload-1")!);

function withVariable(c: TreeObject, name: string, value: unknown): TreeObject {
    const out = structuredClone(c);
    out.spec.topology.variables = [...(out.spec.topology.variables as { name: string }[]).filter((v) => v.name !== name), { name, value }];
    return out;
}
function withIngress(c: TreeObject, mode: string): TreeObject {
    const out = structuredClone(c);
    out.metadata.labels = { ...out.metadata.labels, [INGRESS_LABEL]: mode };
    return out;
}
describe("OVN load balancers and ingress-nginx's ovn mode", () => {
    it("refuses the ovn mode on a cluster whose load balancers are not OVN's, naming the cluster, and accepts it on an ovn cluster", () => {
        const others = objects().filter((o) => o.kind !== "Cluster");
        assert.deepStrictEqual(ingressProblems(objects()), []);
        assert.match(
            ingressProblems([...others, withIngress(cluster(), "ovn")]).join("\n"),
            /^Cluster workload-1: label capi-mgmt\.io\/addon-ingress-nginx=ovn needs OVN load balancers, .*\(amphora\)/,
        );
        assert.deepStrictEqual(ingressProblems([...others, withIngress(withVariable(cluster(), "apiLoadBalancer", OVN), "ovn")]), []);
        assert.deepStrictEqual(ingressProblems([...others, withIngress(cluster(), "octavia")]), []);
    });

    it("documents the relation and the symptom in gitops/README.md", () => {
        const readme = fs.readFileSync(path.join(TREE, "README.md"), "utf8");
        const section = readme.split(/^### /m).find((s) => s.startsWith("ingress-nginx and the load balancer"))!;
        assert.match(section, /no\s+per-Service provider/);
        const trouble = readme.split(/^## /m).find((s) => s.startsWith("Troubleshooting"))!;
        assert.match(trouble, /addon-ingress-nginx=ovn needs OVN load balancers/);
    });
});
