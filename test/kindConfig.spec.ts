import "mocha";
import * as assert from "assert";
import { parse as parseToml } from "smol-toml";
import { parse } from "yaml";
import {
    KIND_API_SERVER_PORT,
    NODE_CONTAINERD_REGISTRY_CONFIG,
    NODE_REGISTRY_HOSTS_DIR,
    renderKindConfig,
    renderRegistryHostsToml,
} from "../src/cluster/kindConfig";
import { DEFAULT_VERSIONS } from "../src/versions/versions";

const PARAMS = { name: "dev", nodeImage: DEFAULT_VERSIONS.nodeImage, apiServerCertSans: ["192.0.2.10"] };

describe("kind config", () => {
    it("is one control-plane node on the pinned image, API on every address at 6443", () => {
        const doc = parse(renderKindConfig(PARAMS));
        assert.strictEqual(doc.kind, "Cluster");
        assert.strictEqual(doc.apiVersion, "kind.x-k8s.io/v1alpha4");
        assert.strictEqual(doc.name, "dev");
        assert.deepStrictEqual(doc.networking, { apiServerAddress: "0.0.0.0", apiServerPort: KIND_API_SERVER_PORT });
        assert.deepStrictEqual(doc.nodes, [{ role: "control-plane", image: DEFAULT_VERSIONS.nodeImage }]);
    });

    it("adds the floating IP to the API certificate with a version-neutral kubeadm patch", () => {
        const doc = parse(renderKindConfig({ ...PARAMS, apiServerCertSans: ["192.0.2.10", "2001:db8::10"] }));
        assert.strictEqual(doc.kubeadmConfigPatches.length, 1);
        const patch = parse(doc.kubeadmConfigPatches[0]);
        assert.deepStrictEqual(patch, { kind: "ClusterConfiguration", apiServer: { certSANs: ["192.0.2.10", "2001:db8::10"] } });
        assert.ok(!("apiVersion" in patch), "the patch must not pin a kubeadm API version");
    });

    it("only uses fields of kind's v1alpha4 Cluster", () => {
        const doc = parse(renderKindConfig(PARAMS));
        assert.deepStrictEqual(Object.keys(doc).sort(), ["apiVersion", "kind", "kubeadmConfigPatches", "name", "networking", "nodes"]);
    });

    it("refuses unpinned images, bad names and non-IP SANs", () => {
        assert.throws(() => renderKindConfig({ ...PARAMS, nodeImage: "kindest/node:v1.36.1" }), /not pinned by digest/);
        assert.throws(() => renderKindConfig({ ...PARAMS, name: "Dev" }), /DNS label/);
        assert.throws(() => renderKindConfig({ ...PARAMS, apiServerCertSans: ["mgmt.example"] }), /not an IP/);
    });
});

describe("containerd's TOML files (smol-toml)", () => {
    it("the registry table appended to the node's config.toml parses to config_path and nothing else", () => {
        assert.deepStrictEqual(parseToml(NODE_CONTAINERD_REGISTRY_CONFIG), {
            plugins: { "io.containerd.grpc.v1.cri": { registry: { config_path: NODE_REGISTRY_HOSTS_DIR } } },
        });
        // src/host/scripts/kind-cluster.sh finds it on the node by its first line.
        assert.match(NODE_CONTAINERD_REGISTRY_CONFIG.split("\n")[0], /^# capi-mgmt: /);
    });

    it("a hosts.toml parses to the fallback server and each mirror's capabilities, in order", () => {
        const hosts = parseToml(renderRegistryHostsToml({ registry: "docker.io", endpoints: ["https://harbor.example/v2/dockerhub", "http://10.0.0.1:5000"] }));
        assert.deepStrictEqual(hosts, {
            server: "https://registry-1.docker.io",
            host: {
                "https://harbor.example/v2/dockerhub": { capabilities: ["pull", "resolve"], override_path: true },
                "http://10.0.0.1:5000": { capabilities: ["pull", "resolve"] },
            },
        });
        assert.deepStrictEqual(Object.keys(hosts.host as object), ["https://harbor.example/v2/dockerhub", "http://10.0.0.1:5000"]);
    });

    it("encodes every endpoint the renderer accepts so that it parses back as written (control characters, DEL, non-ASCII)", () => {
        for (const endpoint of [
            "https://m\u007f.example",
            "https://m\u0001.example",
            "https://mirror.exämple",
            "https://m.example:5000/a.b/c_d~e",
            "https://[2001:db8::1]:5000",
        ]) {
            const hosts = parseToml(renderRegistryHostsToml({ registry: "quay.io", endpoints: [endpoint] })) as { host: Record<string, unknown> };
            assert.deepStrictEqual(Object.keys(hosts.host), [endpoint]);
        }
    });
});
