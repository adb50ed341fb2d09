/**
 * The proxy and the registry mirrors on the management server's scripts, run under bash with
 * the fakes of test/fakes: what reaches kind, kubectl and clusterctl, what the kind node gets
 * in place, the host-proxy step for apt and Docker, and that nothing is set without a proxy.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { KindClusterParams, renderKindClusterScript } from "../src/cluster/clusterScripts";
import { DOCKER_RESTART_PENDING } from "../src/host/bootstrapScripts";
import {
    NODE_CONTAINERD_PROXY_DROP_IN,
    NODE_CONTAINERD_REGISTRY_CONFIG,
    renderContainerdProxyDropIn,
    renderRegistryHostsToml,
} from "../src/cluster/kindConfig";
import { ClusterFakes, fakeServersRemovedAfterAll } from "./fakes/clusterFakes";
import { assertFailure, assertSuccess, RunResult } from "./fakes/shell";
import { PROXY, OTHER_PROXY, PROXY_VARS, MIRRORS, KIND_PARAMS, INHERITED } from "./proxyScriptParams";

/** Fake servers made by this file, removed after its tests. */
const newFakes = fakeServersRemovedAfterAll();

describe("proxy: src/host/scripts/kind-cluster.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("kind-proxy");
    });

    function run(p: Partial<KindClusterParams> = {}, env: Record<string, string> = {}): RunResult {
        return fakes.run(renderKindClusterScript({ ...KIND_PARAMS, ...p }), env);
    }

    function nodeRestarts(): string[] {
        return fakes.callsOf("docker", "exec mgmt-control-plane systemctl");
    }

    it("hands the proxy to kind create (kind passes it on to the node) and to kubectl", () => {
        assertSuccess(run({ proxy: PROXY }, INHERITED));
        const kindEnvs = fakes.proxyEnvOf("kind");
        assert.ok(kindEnvs.length > 0);
        const creates = fakes
            .calls()
            .filter((l) => l.startsWith("kind "))
            .map((l, i) => [l, kindEnvs[i]] as const)
            .filter(([l]) => l.startsWith("kind create cluster"));
        assert.strictEqual(creates.length, 1);
        assert.deepStrictEqual(creates[0][1], PROXY_VARS);
        for (const env of fakes.proxyEnvOf("docker")) {
            assert.deepStrictEqual(env, PROXY_VARS);
        }
    });

    it("sets nothing without a proxy, drops an inherited one, and leaves the node's containerd alone", () => {
        const r = run({}, INHERITED);
        assertSuccess(r);
        for (const tool of ["kind", "docker"]) {
            const envs = fakes.proxyEnvOf(tool);
            assert.ok(envs.length > 0, tool);
            for (const env of envs) {
                assert.deepStrictEqual(env, {}, tool);
            }
        }
        assert.strictEqual(fakes.nodeFile("mgmt", NODE_CONTAINERD_PROXY_DROP_IN), undefined);
        assert.deepStrictEqual(nodeRestarts(), []);
        assert.doesNotMatch(fakes.nodeFile("mgmt", "/etc/containerd/config.toml")!, /capi-mgmt/);
    });

    it("gives the node's containerd the proxy and the mirrors, and restarts it once", () => {
        const r = run({ proxy: PROXY, registryMirrors: MIRRORS });
        assertSuccess(r);
        assert.strictEqual(fakes.nodeFile("mgmt", NODE_CONTAINERD_PROXY_DROP_IN), renderContainerdProxyDropIn(PROXY));
        assert.strictEqual(fakes.nodeFile("mgmt", "/etc/containerd/certs.d/docker.io/hosts.toml"), renderRegistryHostsToml(MIRRORS[0]));
        assert.strictEqual(fakes.nodeFile("mgmt", "/etc/containerd/certs.d/quay.io/hosts.toml"), renderRegistryHostsToml(MIRRORS[1]));
        const config = fakes.nodeFile("mgmt", "/etc/containerd/config.toml")!;
        assert.ok(config.startsWith("version = 2\n"), config);
        assert.ok(config.endsWith(NODE_CONTAINERD_REGISTRY_CONFIG), config);
        assert.deepStrictEqual(nodeRestarts(), [
            "docker exec mgmt-control-plane systemctl daemon-reload",
            "docker exec mgmt-control-plane systemctl restart containerd.service",
        ]);
        // Valid TOML with containerd's registry config_path (the table kind documents).
        const lines = config.split("\n");
        assert.strictEqual(lines.filter((l) => l === '[plugins."io.containerd.grpc.v1.cri".registry]').length, 1);
    });

    it("changes nothing and restarts nothing on a second run with the same settings", () => {
        assertSuccess(run({ proxy: PROXY, registryMirrors: MIRRORS }));
        const id = fakes.calls().length;
        fakes.clearCalls();
        const r = run({ proxy: PROXY, registryMirrors: MIRRORS });
        assertSuccess(r);
        assert.ok(id > 0);
        assert.deepStrictEqual(nodeRestarts(), []);
        assert.deepStrictEqual(fakes.callsOf("kind", "create"), []);
        assert.deepStrictEqual(
            fakes.calls().filter((l) => l.includes(" cp /dev/stdin ")),
            [],
        );
    });

    it("adds, changes and removes the proxy and mirrors in place: same cluster, never recreated", () => {
        const first = run();
        assertSuccess(first);
        // Adding a proxy and mirrors to a running cluster.
        fakes.clearCalls();
        const added = run({ proxy: PROXY, registryMirrors: MIRRORS });
        assertSuccess(added);
        assert.strictEqual(added.stdout, first.stdout, "same cluster id");
        assert.deepStrictEqual(
            fakes.calls().filter((l) => /^kind (create|delete)/.test(l)),
            [],
        );
        assert.strictEqual(fakes.nodeFile("mgmt", NODE_CONTAINERD_PROXY_DROP_IN), renderContainerdProxyDropIn(PROXY));
        assert.strictEqual(nodeRestarts().length, 2);

        // Another proxy, one mirror fewer: quay.io's hosts.toml goes, the config stays.
        fakes.clearCalls();
        const changed = run({ proxy: OTHER_PROXY, registryMirrors: [MIRRORS[0]] });
        assertSuccess(changed);
        assert.strictEqual(changed.stdout, first.stdout);
        assert.strictEqual(fakes.nodeFile("mgmt", NODE_CONTAINERD_PROXY_DROP_IN), renderContainerdProxyDropIn(OTHER_PROXY));
        assert.strictEqual(fakes.nodeFile("mgmt", "/etc/containerd/certs.d/quay.io/hosts.toml"), undefined);
        assert.ok(fakes.nodeFile("mgmt", "/etc/containerd/certs.d/docker.io/hosts.toml"));
        assert.strictEqual(nodeRestarts().length, 2, "the drop-in changed");

        // A mirror change alone needs no containerd restart (hosts.toml is read at each pull).
        fakes.clearCalls();
        const mirror = { registry: "docker.io", endpoints: ["https://new-mirror.example"] };
        assertSuccess(run({ proxy: OTHER_PROXY, registryMirrors: [mirror] }));
        assert.strictEqual(fakes.nodeFile("mgmt", "/etc/containerd/certs.d/docker.io/hosts.toml"), renderRegistryHostsToml(mirror));
        assert.deepStrictEqual(nodeRestarts(), []);

        // Removing both: the proxy is cleared in containerd (kind's create-time default is overridden), no mirror is left.
        fakes.clearCalls();
        const removed = run();
        assertSuccess(removed);
        assert.strictEqual(removed.stdout, first.stdout);
        assert.strictEqual(fakes.nodeFile("mgmt", NODE_CONTAINERD_PROXY_DROP_IN), renderContainerdProxyDropIn(undefined));
        assert.strictEqual(fakes.nodeFile("mgmt", "/etc/containerd/certs.d/docker.io/hosts.toml"), undefined);
        assert.strictEqual(fakes.nodeFile("mgmt", "/etc/containerd/certs.d/.capi-mgmt-registries"), undefined);
        assert.strictEqual(nodeRestarts().length, 2);
        assert.deepStrictEqual(
            fakes.calls().filter((l) => /^kind (create|delete)/.test(l)),
            [],
        );
    });

    it("leaves registry hosts it did not write alone", () => {
        assertSuccess(run({ registryMirrors: MIRRORS }));
        const own = path.join(fakes.state, "node", "mgmt", "etc", "containerd", "certs.d", "registry.local", "hosts.toml");
        fs.mkdirSync(path.dirname(own), { recursive: true });
        fs.writeFileSync(own, 'server = "https://registry.local"\n');
        assertSuccess(run());
        assert.ok(fs.existsSync(own));
        assert.strictEqual(fakes.nodeFile("mgmt", "/etc/containerd/certs.d/docker.io/hosts.toml"), undefined);
    });

    it("refuses to add a second registry table to a node config that already has one", () => {
        assertSuccess(run());
        const config = path.join(fakes.state, "node", "mgmt", "etc", "containerd", "config.toml");
        fs.appendFileSync(config, '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = ""\n');
        const r = run({ registryMirrors: MIRRORS });
        assertFailure(r);
        assert.match(r.stderr, /already has a registry table/);
        assert.strictEqual(fakes.nodeFile("mgmt", "/etc/containerd/certs.d/docker.io/hosts.toml"), undefined);
    });

    it("restarts Docker before creating the cluster when the host-proxy step deferred it", () => {
        fs.mkdirSync(fakes.stateDir, { recursive: true });
        fs.writeFileSync(path.join(fakes.stateDir, DOCKER_RESTART_PENDING), "");
        assertSuccess(run({ proxy: PROXY }));
        const calls = fakes.calls();
        const restart = calls.indexOf("systemctl restart docker.service");
        const create = calls.findIndex((l) => l.startsWith("kind create cluster"));
        assert.ok(restart >= 0 && restart < create, calls.join("\n"));
        assert.ok(!fs.existsSync(path.join(fakes.stateDir, DOCKER_RESTART_PENDING)));
        // A run that keeps the cluster never restarts Docker, marker or not.
        fs.writeFileSync(path.join(fakes.stateDir, DOCKER_RESTART_PENDING), "");
        fakes.clearCalls();
        assertSuccess(run({ proxy: PROXY }));
        assert.deepStrictEqual(fakes.callsOf("systemctl"), []);
    });
});
