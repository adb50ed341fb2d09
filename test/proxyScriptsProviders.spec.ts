/**
 * The proxy and the registry mirrors on the management server's scripts, run under bash with
 * the fakes of test/fakes: what reaches kind, kubectl and clusterctl, what the kind node gets
 * in place, the host-proxy step for apt and Docker, and that nothing is set without a proxy.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderOrcScript } from "../src/cluster/clusterScripts";
import { ClusterFakes, fakeServersRemovedAfterAll } from "./fakes/clusterFakes";
import { assertSuccess } from "./fakes/shell";
import { PROXY, OTHER_PROXY, PROXY_VARS, INHERITED, providersScript } from "./proxyScriptParams";

/** Fake servers made by this file, removed after its tests. */
const newFakes = fakeServersRemovedAfterAll();

describe("proxy: src/host/scripts/orc.sh and src/host/scripts/capi-providers.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("providers-proxy");
        fakes.placeKubeconfig();
    });

    const expectedSetArgs = `HTTP_PROXY=${PROXY.http} http_proxy=${PROXY.http} HTTPS_PROXY=${PROXY.https} https_proxy=${PROXY.https} NO_PROXY=${PROXY.noProxy} no_proxy=${PROXY.noProxy}`;

    it("orc: kubectl downloads the manifest through the proxy, and ORC's controller gets it", () => {
        assertSuccess(fakes.run(renderOrcScript({ version: "v2.6.0", waitTimeoutSeconds: 2, proxy: PROXY }), INHERITED));
        for (const env of fakes.proxyEnvOf("kubectl")) {
            assert.deepStrictEqual(env, PROXY_VARS);
        }
        assert.deepStrictEqual(fakes.setEnvCalls(), [`orc-system deployment/orc-controller-manager ${expectedSetArgs}`]);
    });

    it("orc: without a proxy, nothing is set and the controller's proxy variables are removed", () => {
        assertSuccess(fakes.run(renderOrcScript({ version: "v2.6.0", waitTimeoutSeconds: 2 }), INHERITED));
        for (const env of fakes.proxyEnvOf("kubectl")) {
            assert.deepStrictEqual(env, {});
        }
        assert.deepStrictEqual(fakes.setEnvCalls(), [
            "orc-system deployment/orc-controller-manager HTTP_PROXY- http_proxy- HTTPS_PROXY- https_proxy- NO_PROXY- no_proxy-",
        ]);
    });

    it("capi-providers: the release files are downloaded through the proxy, clusterctl runs with it and every provider's Deployments get it", () => {
        assertSuccess(fakes.run(providersScript(PROXY), INHERITED));
        const downloads = fakes.proxyEnvOf("curl");
        assert.strictEqual(downloads.length, 11, "every release file clusterctl reads");
        for (const env of downloads) {
            assert.deepStrictEqual(env, PROXY_VARS);
        }
        const envs = fakes.proxyEnvOf("clusterctl");
        assert.strictEqual(envs.length, 1);
        assert.deepStrictEqual(envs[0], PROXY_VARS);
        for (const env of fakes.proxyEnvOf("kubectl")) {
            assert.deepStrictEqual(env, PROXY_VARS);
        }
        assert.deepStrictEqual(
            fakes.setEnvCalls(),
            ["capi-system", "capi-kubeadm-bootstrap-system", "capi-kubeadm-control-plane-system", "capo-system", "caaph-system"].map(
                (ns) => `${ns} deployment --all ${expectedSetArgs}`,
            ),
        );
    });

    it("capi-providers: a proxy change on current providers only sets the new variables (no clusterctl run)", () => {
        assertSuccess(fakes.run(providersScript()));
        fs.rmSync(path.join(fakes.state, "set-env"));
        fakes.clearCalls();
        assertSuccess(fakes.run(providersScript(OTHER_PROXY)));
        assert.deepStrictEqual(fakes.callsOf("clusterctl"), []);
        const expected = `HTTP_PROXY- http_proxy- HTTPS_PROXY=${OTHER_PROXY.https} https_proxy=${OTHER_PROXY.https} NO_PROXY=${OTHER_PROXY.noProxy} no_proxy=${OTHER_PROXY.noProxy}`;
        assert.strictEqual(fakes.setEnvCalls().length, 5);
        for (const line of fakes.setEnvCalls()) {
            assert.ok(line.endsWith(` deployment --all ${expected}`), line);
        }
    });

    it("capi-providers: without a proxy, clusterctl sees none, inherited or not", () => {
        assertSuccess(fakes.run(providersScript(), INHERITED));
        for (const env of fakes.proxyEnvOf("clusterctl")) {
            assert.deepStrictEqual(env, {});
        }
        for (const line of fakes.setEnvCalls()) {
            assert.ok(line.endsWith(" deployment --all HTTP_PROXY- http_proxy- HTTPS_PROXY- https_proxy- NO_PROXY- no_proxy-"), line);
        }
    });
});
