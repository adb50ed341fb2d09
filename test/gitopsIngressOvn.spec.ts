/**
 * ingress-nginx's `ovn` mode and OVN load balancers in general (gitops/): OCCM v1.35 takes
 * its Octavia provider from cloud.conf only, which follows the Cluster's apiLoadBalancer, so
 * the mode is refused on other clusters; an ovn cluster's OCCM uses SOURCE_IP_PORT (the only
 * method OVN has) and its workers admit the clients OVN forwards to their NodePorts.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { ingressProblems, INGRESS_LABEL } from "../render/clusterFitRules";
import { Environment, executeGoTemplate, readEnvironment, resolveTopology, TreeObject } from "../render/gitopsTree";
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
const infraSpec = (c: TreeObject) => resolveTopology(c, objects()).templates.find((t) => t.role === "infrastructureCluster")!.object.spec.template.spec;

/** OCCM's [LoadBalancer] keys for `c`, from the chart's values template as CAAPH renders it. */
function occmLoadBalancer(c: TreeObject): Record<string, string> {
    const proxy = objects().find((o) => o.kind === "HelmChartProxy" && o.spec.chartName === "openstack-cloud-controller-manager")!;
    const data = {
        Cluster: c,
        InfraCluster: { spec: infraSpec(c), status: { network: { id: "net-1", subnets: [{ id: "subnet-1", cidr: "10.6.0.0/24" }] }, externalNetwork: { id: "ext-1" } } },
    };
    const conf = String(parse(executeGoTemplate(String(proxy.spec.valuesTemplate), data, "occm")).cloudConfigContents);
    const section = conf.split(/^\[/m).find((s) => s.startsWith("LoadBalancer]"))!;
    return Object.fromEntries(
        section
            .split("\n")
            .slice(1)
            .map((l) => /^\s*([\w-]+)\s*=\s*(\S+)\s*$/.exec(l))
            .filter((m): m is RegExpExecArray => m !== null)
            .map((m) => [m[1], m[2]]),
    );
}

describe("OVN load balancers and ingress-nginx's ovn mode", () => {
    it("gives an ovn cluster's OCCM the only method OVN supports, SOURCE_IP_PORT (OCCM's default ROUND_ROBIN is refused)", () => {
        assert.deepStrictEqual(occmLoadBalancer(withVariable(cluster(), "apiLoadBalancer", OVN)), {
            "floating-network-id": "ext-1",
            "subnet-id": "subnet-1",
            "lb-provider": "ovn",
            "lb-method": "SOURCE_IP_PORT",
        });
        assert.ok(!("lb-method" in occmLoadBalancer(cluster())), "amphora keeps OCCM's default method");
    });

    it("opens the workers' NodePorts to the clients an ovn cluster's load balancers forward, and only on such a cluster", () => {
        const rules = infraSpec(withVariable(cluster(), "apiLoadBalancer", OVN)).managedSecurityGroups.workerNodesSecurityGroupRules;
        assert.deepStrictEqual(rules, [
            {
                name: "ovn-load-balancer-node-ports",
                description: "NodePorts for the clients OVN load balancers forward",
                direction: "ingress",
                etherType: "IPv4",
                protocol: "tcp",
                portRangeMin: 30000,
                portRangeMax: 32767,
                remoteIPPrefix: "0.0.0.0/0",
            },
        ]);
        assert.strictEqual(infraSpec(cluster()).managedSecurityGroups.workerNodesSecurityGroupRules, undefined);
        const dflt = withVariable(cluster(), "apiLoadBalancer", { provider: "cloud-default", allowListNotEnforced: "acknowledged" });
        assert.strictEqual(infraSpec(dflt).managedSecurityGroups.workerNodesSecurityGroupRules, undefined);
    });

    it("refuses the ovn mode on a cluster whose load balancers are not OVN's, naming the cluster, and accepts it on an ovn cluster", () => {
        const others = objects().filter((o) => o.kind !== "Cluster");
        assert.deepStrictEqual(ingressProblems(objects()), []);
        assert.match(ingressProblems([...others, withIngress(cluster(), "ovn")]).join("\n"), /^Cluster workload-1: label capi-mgmt\.io\/addon-ingress-nginx=ovn needs OVN load balancers, .*\(amphora\)/);
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
