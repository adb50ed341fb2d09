/**
 * The tree's load balancers and volumes (gitops/): the API load balancer's provider
 * (ClusterClass variable apiLoadBalancer, its CEL rule and create-only rule), OCCM's own
 * cloud.conf with its [LoadBalancer] section and --cluster-name, and Cinder CSI's cluster
 * tag, as the deletion cleanup (src/host/scripts/lb-cleanup.sh) relies on them.
 */
import "mocha";
import * as assert from "assert";
import * as path from "path";
import { parse } from "yaml";
import { renderCloudsYaml } from "../src/cluster/cloudCredentials";
import { cloudConfigResourceData, fluxSettingsData } from "../src/cluster/clusterObjects";
import { CLOUD_NAME, DEFAULT_WORKLOAD_NAMESPACE, OCCM_CREDENTIALS_DIR, WORKLOAD_CLOUD_CONFIG_SECRET } from "../src/shared/contract";
import { classOf, classVariables, Environment, executeGoTemplate, readEnvironment, resolveTopology, schemaProblems, transitionProblems, TreeObject } from "../render/gitopsTree";
import { PROJECT_DIR } from "./harness";

const TREE = path.join(PROJECT_DIR, "gitops");
const SETTINGS = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });
const ACK = "acknowledged";

let env: Environment | undefined;
/** The dev environment of the tree, read once. */
function tree(): Environment {
    env ??= readEnvironment(TREE, "./clusters/dev", SETTINGS);
    return env;
}

const objects = () => tree().units.flatMap((u) => u.documents.map((d) => d.object));
const cluster = (): TreeObject => structuredClone(objects().find((o) => o.kind === "Cluster" && o.metadata.name === "workload-1")!);
const clusterClass = () => classOf(cluster(), objects());

function withVariable(c: TreeObject, name: string, value: unknown): TreeObject {
    const out = structuredClone(c);
    const vars = (out.spec.topology.variables as { name: string; value: unknown }[]).filter((v) => v.name !== name);
    if (value !== undefined) vars.push({ name, value });
    out.spec.topology.variables = vars;
    return out;
}

/** The OpenStackCluster Cluster API would create for `c` (the patched template's spec). */
function infraSpec(c: TreeObject): Record<string, unknown> {
    return resolveTopology(c, objects()).templates.find((t) => t.role === "infrastructureCluster")!.object.spec.template.spec;
}

describe("API load balancer provider (variable apiLoadBalancer)", () => {
    const schema = () => classVariables(clusterClass()).find((v) => v.name === "apiLoadBalancer")!.schema.openAPIV3Schema;

    it("pins the provider to amphora (which enforces apiAllowedCidrs) when a Cluster says nothing", () => {
        const lb = infraSpec(cluster()).apiServerLoadBalancer as Record<string, unknown>;
        assert.strictEqual(lb.provider, "amphora");
        assert.ok((lb.allowedCIDRs as string[]).length > 0);
    });

    it("passes another provider through", () => {
        const c = withVariable(cluster(), "apiLoadBalancer", { provider: "amphorav2" });
        assert.strictEqual((infraSpec(c).apiServerLoadBalancer as Record<string, unknown>).provider, "amphorav2");
    });

    it("refuses ovn, and the cloud's default (which may be ovn), unless the open API is acknowledged", () => {
        for (const provider of ["ovn", "cloud-default"]) {
            assert.match(schemaProblems({ provider }, schema(), "v").join("\n"), /the ovn Octavia provider .* ignores apiAllowedCidrs/, provider);
            assert.throws(() => resolveTopology(withVariable(cluster(), "apiLoadBalancer", { provider }), objects()), /variable apiLoadBalancer: the ovn Octavia provider/, provider);
            assert.deepStrictEqual(schemaProblems({ provider, allowListNotEnforced: ACK }, schema(), "v"), [], provider);
        }
        const ovn = withVariable(cluster(), "apiLoadBalancer", { provider: "ovn", allowListNotEnforced: ACK });
        assert.strictEqual((infraSpec(ovn).apiServerLoadBalancer as Record<string, unknown>).provider, "ovn");
        // cloud-default leaves the field out: Octavia picks (what Clusters made before this variable have).
        const cloudDefault = withVariable(cluster(), "apiLoadBalancer", { provider: "cloud-default", allowListNotEnforced: ACK });
        assert.ok(!("provider" in (infraSpec(cloudDefault).apiServerLoadBalancer as Record<string, unknown>)));
    });

    it("takes only the one documented acknowledgement, and runs the CEL rule only on schema-valid values (as Cluster API does)", () => {
        for (const bad of [{ provider: "ovn", allowListNotEnforced: "yes" }, { provider: "ovn", allowListNotEnforced: true }, { provider: "OVN" }, { provider: "" }, {}, { provider: "amphora", other: 1 }]) {
            const problems = schemaProblems(bad, schema(), "v");
            assert.notDeepStrictEqual(problems, [], JSON.stringify(bad));
            assert.doesNotMatch(problems.join("\n"), /ignores apiAllowedCidrs/, JSON.stringify(bad));
        }
    });

    it("is create-only: changing the provider, or dropping back to the default, is refused; cloud-default stays reachable", () => {
        const cc = clusterClass();
        const ovn = withVariable(cluster(), "apiLoadBalancer", { provider: "ovn", allowListNotEnforced: ACK });
        assert.match(transitionProblems(cluster(), ovn, cc).join("\n"), /apiLoadBalancer is create-only/);
        assert.match(transitionProblems(ovn, withVariable(ovn, "apiLoadBalancer", undefined), cc).join("\n"), /apiLoadBalancer is create-only/);
        assert.deepStrictEqual(transitionProblems(cluster(), withVariable(cluster(), "apiLoadBalancer", { provider: "amphora" }), cc), []);
        // A Cluster made before the variable, defaulted to amphora by the webhook (which CAPO then
        // refuses to set), can still say what its load balancer has: cloud-default.
        const cloudDefault = withVariable(cluster(), "apiLoadBalancer", { provider: "cloud-default", allowListNotEnforced: ACK });
        assert.deepStrictEqual(transitionProblems(cluster(), cloudDefault, cc), []);
        assert.match(transitionProblems(cloudDefault, cluster(), cc).join("\n"), /apiLoadBalancer is create-only/);
    });

    it("the reader refuses a CEL implication whose field the schema does not require (CEL would fail on its absence)", () => {
        const loose = structuredClone(schema());
        delete loose.required;
        assert.throws(() => schemaProblems({ provider: "ovn" }, loose, "v"), /reads provider, which the schema does not require/);
    });
});

describe("OCCM and Cinder CSI values (what the deletion cleanup relies on)", () => {
    const proxy = (chart: string) => objects().find((o) => o.kind === "HelmChartProxy" && o.spec.chartName === chart)!;
    const UID = "5d2c7b8e-1f0a-4c3d-9e8f-0a1b2c3d4e5f";

    /** What CAAPH v0.6.4 passes to the values template: the Cluster and its OpenStackCluster (spec from the topology, status as CAPO writes it). */
    function caaphData(c: TreeObject): Record<string, unknown> {
        const withUid = { ...structuredClone(c), metadata: { ...c.metadata, namespace: DEFAULT_WORKLOAD_NAMESPACE, uid: UID } };
        return {
            Cluster: withUid,
            InfraCluster: {
                spec: infraSpec(c),
                status: {
                    network: { id: "net-1", name: "k8s-clusterapi-cluster-clusters-workload-1", subnets: [{ id: "subnet-1", cidr: "10.6.0.0/24", name: "x" }] },
                    externalNetwork: { id: "ext-1", name: "public" },
                },
            },
        };
    }
    const values = (chart: string, c: TreeObject) => parse(executeGoTemplate(String(proxy(chart).spec.valuesTemplate), caaphData(c), chart)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

    /** An INI file as OCCM's gcfg reads the keys the tree writes: section -> key -> value. */
    function ini(text: string): Record<string, Record<string, string>> {
        const out: Record<string, Record<string, string>> = {};
        let section = "";
        for (const line of text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))) {
            const s = /^\[(\w+)\]$/.exec(line);
            if (s) {
                section = s[1];
                out[section] = {};
                continue;
            }
            const kv = /^([\w-]+)\s*=\s*(\S+)$/.exec(line);
            assert.ok(kv && section, `not an INI line: ${line}`);
            assert.ok(!(kv[1] in out[section]), `${kv[1]} twice`);
            out[section][kv[1]] = kv[2];
        }
        return out;
    }

    it("gives OCCM its own cloud.conf with a [LoadBalancer] section from the cluster's own values", () => {
        const v = values("openstack-cloud-controller-manager", cluster());
        assert.deepStrictEqual(v.secret, { enabled: true, create: true, name: "occm-cloud-config" });
        const conf = ini(v.cloudConfigContents);
        assert.deepStrictEqual(conf.LoadBalancer, { "floating-network-id": "ext-1", "subnet-id": "subnet-1", "lb-provider": "amphora" });
        assert.deepStrictEqual(conf.Global, { "use-clouds": "true", "clouds-file": `${OCCM_CREDENTIALS_DIR}/clouds.yaml`, cloud: CLOUD_NAME });
        // ovn when the Cluster chose (and acknowledged) it for its API; nothing (OCCM's default, amphora) for cloud-default.
        const ovn = ini(values("openstack-cloud-controller-manager", withVariable(cluster(), "apiLoadBalancer", { provider: "ovn", allowListNotEnforced: ACK })).cloudConfigContents);
        assert.strictEqual(ovn.LoadBalancer["lb-provider"], "ovn");
        const dflt = ini(values("openstack-cloud-controller-manager", withVariable(cluster(), "apiLoadBalancer", { provider: "cloud-default", allowListNotEnforced: ACK })).cloudConfigContents);
        assert.ok(!("lb-provider" in dflt.LoadBalancer));
    });

    it("mounts the distributed credential where that cloud.conf looks for it, keeping the chart's default volumes", () => {
        const v = values("openstack-cloud-controller-manager", cluster());
        const vol = (v.extraVolumes as { name: string; secret?: { secretName: string } }[]).find((x) => x.secret);
        assert.strictEqual(vol?.secret?.secretName, WORKLOAD_CLOUD_CONFIG_SECRET.name);
        const mount = (v.extraVolumeMounts as { name: string; mountPath: string }[]).find((m) => m.name === vol!.name);
        assert.strictEqual(mount?.mountPath, OCCM_CREDENTIALS_DIR);
        assert.deepStrictEqual((v.extraVolumes as { name: string }[]).map((x) => x.name), ["flexvolume-dir", "k8s-certs", vol!.name]);
        // The program puts a clouds.yaml in that Secret, whose CA path is inside that mount.
        const data = cloudConfigResourceData("[Global]\n", "CA", renderCloudsYaml({ authUrl: "https://k.example/v3", id: "i", secret: "s", caFile: `${OCCM_CREDENTIALS_DIR}/ca.crt` }));
        const secret = parse(Object.values(data)[0]) as { stringData: Record<string, string> };
        const clouds = parse(secret.stringData["clouds.yaml"]) as { clouds: Record<string, { cacert: string }> };
        assert.strictEqual(clouds.clouds.openstack.cacert, `${OCCM_CREDENTIALS_DIR}/ca.crt`);
        assert.strictEqual(secret.stringData["ca.crt"], "CA");
    });

    it("names OCCM's load balancers after the Cluster (--cluster-name) and tags Cinder volumes with its name and uid", () => {
        assert.strictEqual(values("openstack-cloud-controller-manager", cluster()).cluster.name, "workload-1");
        assert.strictEqual(values("openstack-cinder-csi", cluster()).clusterID, `workload-1.${UID}`);
    });
});
