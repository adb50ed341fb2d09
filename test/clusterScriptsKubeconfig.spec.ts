import "mocha";
import * as assert from "assert";
import { parse } from "yaml";
import { renderKindClusterScript, renderKubeconfigScript } from "../src/cluster/clusterScripts";
import { ClusterFakes, fakeServersRemovedAfterAll } from "./fakes/clusterFakes";
import { assertFailure, assertSuccess } from "./fakes/shell";
import { KIND_PARAMS } from "./clusterScriptParams";

/** Fake servers made by this file, removed after its tests. */
const newFakes = fakeServersRemovedAfterAll();

describe("src/host/scripts/kubeconfig.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("kubeconfig");
    });

    it("prints only the kubeconfig, with the server rewritten to the endpoint", () => {
        assertSuccess(fakes.run(renderKindClusterScript(KIND_PARAMS)));
        const r = fakes.run(renderKubeconfigScript({ clusterName: "mgmt", apiEndpoint: "192.0.2.10:6443" }));
        assertSuccess(r);
        const original = fakes.kindKubeconfig("mgmt");
        assert.strictEqual(r.stdout, original.replace("    server: https://0.0.0.0:6443\n", "    server: https://192.0.2.10:6443\n"));
        const doc = parse(r.stdout);
        assert.deepStrictEqual(
            doc.clusters.map((c: { cluster: { server: string } }) => c.cluster.server),
            ["https://192.0.2.10:6443"],
        );
        assert.ok(!r.stderr.includes("client-key-data") && !r.stderr.includes("Y2xpZW50LWtleQ"), "no secret in the logs");
        assert.deepStrictEqual(
            fakes
                .calls()
                .filter((l) => !l.startsWith("kind create") && !l.startsWith("kind get clusters"))
                .slice(-1),
            ["kind get kubeconfig --name mgmt"],
        );
    });

    it("writes a bracketed IPv6 endpoint", () => {
        assertSuccess(fakes.run(renderKindClusterScript(KIND_PARAMS)));
        const r = fakes.run(renderKubeconfigScript({ clusterName: "mgmt", apiEndpoint: "[2001:db8::10]:6443" }));
        assertSuccess(r);
        assert.strictEqual(parse(r.stdout).clusters[0].cluster.server, "https://[2001:db8::10]:6443");
    });

    it("fails clearly, printing nothing, when the cluster does not exist", () => {
        const r = fakes.run(renderKubeconfigScript({ clusterName: "mgmt", apiEndpoint: "192.0.2.10:6443" }));
        assertFailure(r);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /kubeconfig: ERROR: there is no kind cluster named mgmt on this server; the kind step/);
    });
});
