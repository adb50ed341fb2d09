import "mocha";
import * as assert from "assert";
import { parse } from "yaml";
import { KIND_API_SERVER_PORT, renderKindConfig } from "../src/cluster/kindConfig";
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
