/**
 * The self-hosted cluster's own objects (src/cluster/selfHostedManifest.ts) against the GitOps
 * tree they are built from, as the unit suite checks the tree's workload Clusters: the
 * ClusterClass built with `kubectl kustomize` into the workload namespace, the Cluster's
 * variables against its schema, the machine classes and the ORC objects it names, and the
 * add-ons its labels select all in what the kind cluster gets before the pivot.
 */
import "mocha";
import * as assert from "assert";
import * as path from "path";
import { classOf, clusterVariables } from "../render/classVariables";
import { kustomizeBuild, parseObjects, TreeObject } from "../render/gitopsTree";
import { renderSelfHostedBootstrap, renderSelfHostedManifest, SELF_HOSTED_BOOTSTRAP_FILES, SelfHostedManifestParams } from "../src/cluster/selfHostedManifest";
import { readSelfHostedBootstrap } from "../src/cluster/selfHostedStack";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { PROJECT_DIR } from "./harness";

const GITOPS = path.join(PROJECT_DIR, "gitops");
const NS = DEFAULT_WORKLOAD_NAMESPACE;
const PARAMS: SelfHostedManifestParams = {
    name: "dev-management",
    namespace: NS,
    kubernetesVersion: "v1.35.8",
    image: "ubuntu-capi-image-v1.35.8",
    flavor: "SCS-4V-16",
    externalNetworkId: "0b1e8a32-7f5c-4a0e-9d3c-2f1c6f0e9a11",
    apiAllowedCidrs: ["203.0.113.0/24", "2001:db8::/32"],
    serverAddress: "192.0.2.10",
    dnsNameservers: ["9.9.9.9"],
};

const objects = (text: string): TreeObject[] => parseObjects(text, "rendered").map((d) => d.object);
/** A label selector (matchLabels, and matchExpressions In/NotIn/Exists/DoesNotExist) against labels. */
type Expression = { key: string; operator: string; values?: string[] };
const selects = (selector: { matchLabels?: Record<string, string>; matchExpressions?: Expression[] }, labels: Record<string, string>) =>
    Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
    (selector.matchExpressions ?? []).every((e) => {
        const has = e.key in labels;
        switch (e.operator) {
            case "In":
                return has && (e.values ?? []).includes(labels[e.key]);
            case "NotIn":
                return !has || !(e.values ?? []).includes(labels[e.key]);
            case "Exists":
                return has;
            default:
                return !has;
        }
    });

describe("src/cluster/selfHostedManifest.ts: the self-hosted cluster's objects against the GitOps tree", () => {
    const rendered = objects(renderSelfHostedManifest(PARAMS));
    const cluster = rendered.find((o) => o.kind === "Cluster")!;
    const classObjects = kustomizeBuild(GITOPS, "infrastructure/cluster-class", NS).map((d) => d.object);

    it("is a Cluster of the tree's ClusterClass whose every variable passes the class's schema", () => {
        const problems: string[] = [];
        const clusterClass = classOf(cluster, classObjects);
        const variables = clusterVariables(cluster, clusterClass, problems);
        assert.deepStrictEqual(problems, []);
        assert.deepStrictEqual(variables.apiAllowedCidrs, ["203.0.113.0/24", "192.0.2.10/32"], "IPv4 only (the class refuses IPv6), and the server");
        assert.deepStrictEqual(variables.externalNetwork, { id: PARAMS.externalNetworkId });
        assert.strictEqual(cluster.spec.topology.controlPlane.replicas, 3);
        const workerClasses = (clusterClass.spec.workers.machineDeployments as { class: string }[]).map((m) => m.class);
        for (const md of cluster.spec.topology.workers.machineDeployments as { class: string; replicas: number }[]) {
            assert.ok(workerClasses.includes(md.class), md.class);
            assert.ok(md.replicas >= 1);
        }
        assert.strictEqual(cluster.metadata.namespace, NS, "in the workload namespace: one move takes it with the workload clusters");
    });

    it("names an ORC Image and ServerGroup that it brings itself, both moved with it by clusterctl", () => {
        const variables = Object.fromEntries((cluster.spec.topology.variables as { name: string; value: unknown }[]).map((v) => [v.name, v.value]));
        const image = rendered.find((o) => o.kind === "Image")!;
        const group = rendered.find((o) => o.kind === "ServerGroup")!;
        assert.strictEqual(variables.nodeImage, image.metadata.name);
        assert.strictEqual(variables.controlPlaneServerGroup, group.metadata.name);
        assert.deepStrictEqual(image.spec.import, { filter: { name: PARAMS.image } });
        assert.strictEqual(image.spec.managementPolicy, "unmanaged", "never deletes the Glance image");
        assert.strictEqual(group.spec.resource.policy, "anti-affinity");
        for (const o of [image, group]) {
            assert.strictEqual(o.metadata.labels?.["clusterctl.cluster.x-k8s.io/move"], "");
            assert.strictEqual(o.metadata.namespace, NS);
        }
    });

    it("gives the kind cluster the tree's whole ClusterClass and every add-on the Cluster's labels select", () => {
        const bootstrap = objects(readSelfHostedBootstrap());
        const key = (o: TreeObject) => `${o.kind}/${o.metadata.name}`;
        assert.deepStrictEqual(
            classObjects.map(key).filter((k) => !bootstrap.map(key).includes(k)),
            [],
        );
        const addons = kustomizeBuild(GITOPS, "infrastructure/addons", NS)
            .map((d) => d.object)
            .filter((o) => o.kind === "HelmChartProxy" && selects(o.spec.clusterSelector, cluster.metadata.labels ?? {}));
        assert.ok(addons.length >= 3, addons.map(key).join(" "));
        assert.deepStrictEqual(
            addons.map(key).filter((k) => !bootstrap.map(key).includes(k)),
            [],
        );
        assert.ok(
            bootstrap.every((o) => o.metadata.namespace === undefined),
            "namespaced by the step, as Flux's targetNamespace does",
        );
    });

    it("validates its inputs, naming the bad one", () => {
        const bad = (p: Partial<SelfHostedManifestParams>) => () => renderSelfHostedManifest({ ...PARAMS, ...p });
        assert.throws(bad({ name: "Dev" }), /^Error: name must be a DNS label/);
        assert.throws(bad({ name: "a".repeat(46) }), /name must be a DNS label of at most 45/);
        assert.throws(bad({ kubernetesVersion: "1.35" }), /kubernetesVersion must be a release/);
        assert.throws(bad({ flavor: " " }), /flavor must be set/);
        assert.throws(bad({ serverAddress: "2001:db8::1" }), /serverAddress must be an IPv4 address/);
        assert.throws(bad({ dnsNameservers: [] }), /dnsNameservers must name at least one DNS server \(capi-mgmt:dnsNameservers\)/);
        assert.throws(() => renderSelfHostedBootstrap([{ path: SELF_HOSTED_BOOTSTRAP_FILES[0], text: "" }]), /the bootstrap files must be/);
    });
});
