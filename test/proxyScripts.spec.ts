/**
 * The proxy and the registry mirrors on the management server's scripts, run under bash with
 * the fakes of test/fakes: what reaches kind, kubectl and clusterctl, what the kind node gets
 * in place, the host-proxy step for apt and Docker, and that nothing is set without a proxy.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { renderDockerDaemonJson } from "../src/host/cloudInit";
import { KindClusterParams, renderCapiProvidersScript, renderKindClusterScript, renderOrcScript } from "../src/cluster/clusterScripts";
import { DOCKER_RESTART_PENDING, renderAptProxyConf, renderHostProxyScript } from "../src/host/bootstrapScripts";
import { proxyParams } from "../src/host/hostScripts";
import {
    NODE_CONTAINERD_PROXY_DROP_IN,
    NODE_CONTAINERD_REGISTRY_CONFIG,
    registryHostsParam,
    renderContainerdProxyDropIn,
    renderKindConfig,
    renderRegistryHostsToml,
} from "../src/cluster/kindConfig";
import { ProxyEnv, RegistryMirror } from "../src/host/proxy";
import { DEFAULT_VERSIONS } from "../src/versions/versions";
import { ClusterFakes, fakeServersRemovedAfterAll } from "./fakes/clusterFakes";
import { NO_RELEASE_PINS } from "./fakes/releaseFakes";
import { assertFailure, assertSuccess, hasShellcheck, installFake, makeTempDir, RunResult, runScript, shellcheck, skipTest } from "./fakes/shell";

const PROXY: ProxyEnv = {
    http: "http://proxy.example:3128",
    https: "http://proxy.example:3129",
    noProxy: "localhost,127.0.0.1,::1,0.0.0.0,169.254.169.254,.svc,.cluster.local,10.96.0.0/16,10.244.0.0/16,10.0.0.0/24",
};
const OTHER_PROXY: ProxyEnv = { https: "http://other-proxy.example:8080", noProxy: "localhost,.corp.example" };

/** What a process must see with PROXY. */
const PROXY_VARS = {
    HTTP_PROXY: PROXY.http!,
    HTTPS_PROXY: PROXY.https!,
    NO_PROXY: PROXY.noProxy,
    http_proxy: PROXY.http!,
    https_proxy: PROXY.https!,
    no_proxy: PROXY.noProxy,
};

const MIRRORS: RegistryMirror[] = [
    { registry: "docker.io", endpoints: ["https://mirror.example", "http://10.0.0.5:5000"] },
    { registry: "quay.io", endpoints: ["https://quay-mirror.example"] },
];

const NODE_IMAGE = DEFAULT_VERSIONS.nodeImage;
const KIND_CONFIG = renderKindConfig({ name: "mgmt", nodeImage: NODE_IMAGE, apiServerCertSans: ["192.0.2.10"] });
const KIND_PARAMS: KindClusterParams = { clusterName: "mgmt", nodeImage: NODE_IMAGE, kindConfig: KIND_CONFIG };
/** An inherited proxy the scripts must drop when none is configured. */
const INHERITED = { HTTPS_PROXY: "http://inherited.example:1", http_proxy: "http://inherited.example:2" };

/** Fake servers made by this file, removed after its tests. */
const newFakes = fakeServersRemovedAfterAll();

describe("proxy: rendering for the host scripts", () => {
    it("has no proxy parameter without a proxy", () => {
        assert.deepStrictEqual(proxyParams(undefined), {});
        const script = renderOrcScript({ version: "v2.6.0", waitTimeoutSeconds: 5 });
        assert.doesNotMatch(script, /^readonly PROXY_/m);
    });

    it("renders the proxy parameters, and only the set ones", () => {
        assert.deepStrictEqual(proxyParams(PROXY), { PROXY_HTTP: PROXY.http, PROXY_HTTPS: PROXY.https, PROXY_NO_PROXY: PROXY.noProxy });
        assert.deepStrictEqual(proxyParams(OTHER_PROXY), { PROXY_HTTPS: OTHER_PROXY.https, PROXY_NO_PROXY: OTHER_PROXY.noProxy });
        const script = renderCapiProvidersScript({
            clusterApi: "v1.14.0",
            capo: "v0.14.7",
            caaph: "v0.6.4",
            certManager: "v1.21.1",
            releaseSha256: NO_RELEASE_PINS,
            waitTimeoutSeconds: 5,
            proxy: PROXY,
        });
        assert.ok(script.includes(`\nreadonly PROXY_HTTPS='${PROXY.https}'\n`));
    });

    it("refuses a value the shell or systemd would read specially", () => {
        assert.throws(() => proxyParams({ https: "http://p.example:1", noProxy: "a b" }), /PROXY_NO_PROXY/);
        assert.throws(() => proxyParams({ https: "http://p.example:1'x", noProxy: "" }), /PROXY_HTTPS/);
        assert.throws(() => renderContainerdProxyDropIn({ https: "http://p.example:1%x", noProxy: "" }), /systemd/);
    });

    it("renders apt's proxy file as cloud-init's apt module does, empty without a proxy", () => {
        assert.strictEqual(renderAptProxyConf(PROXY), `Acquire::http::Proxy "${PROXY.http}";\nAcquire::https::Proxy "${PROXY.https}";\n`);
        assert.strictEqual(renderAptProxyConf(OTHER_PROXY), `Acquire::https::Proxy "${OTHER_PROXY.https}";\n`);
        assert.strictEqual(renderAptProxyConf(undefined), "");
    });

    it("renders containerd's hosts.toml: mirrors in order, then the registry as the fallback", () => {
        const toml = renderRegistryHostsToml(MIRRORS[0]);
        assert.match(toml, /^server = "https:\/\/registry-1\.docker\.io"$/m);
        const hosts = [...toml.matchAll(/^\[host\."([^"]+)"\]$/gm)].map((m) => m[1]);
        assert.deepStrictEqual(hosts, MIRRORS[0].endpoints);
        assert.strictEqual((toml.match(/capabilities = \["pull", "resolve"\]/g) ?? []).length, 2);
        assert.match(
            renderRegistryHostsToml({ registry: "registry.example:5000", endpoints: ["https://m.example"] }),
            /^server = "https:\/\/registry\.example:5000"$/m,
        );
        assert.throws(() => renderRegistryHostsToml({ registry: "a/b", endpoints: ["https://m.example"] }), /host\[:port\]/);
        assert.throws(() => renderRegistryHostsToml({ registry: "docker.io", endpoints: [] }), /at least one/);
    });

    it("takes a mirror path as the registry API's root (override_path), as the workload ClusterClass does", () => {
        const toml = renderRegistryHostsToml({ registry: "docker.io", endpoints: ["https://harbor.example/v2/dockerhub", "https://m.example"] });
        const hosts = toml.split("\n\n").slice(1);
        assert.deepStrictEqual(hosts, [
            '[host."https://harbor.example/v2/dockerhub"]\n  capabilities = ["pull", "resolve"]\n  override_path = true',
            '[host."https://m.example"]\n  capabilities = ["pull", "resolve"]\n',
        ]);
        assert.throws(() => renderRegistryHostsToml({ registry: "docker.io", endpoints: ["https://m.example/a b"] }), /scheme:\/\/host\[:port\]\[\/path\]/);
    });

    it("renders the node's containerd drop-in: the proxy, or the variables cleared", () => {
        const withProxy = renderContainerdProxyDropIn(PROXY);
        assert.match(withProxy, /^\[Service\]$/m);
        for (const [name, value] of Object.entries(PROXY_VARS)) {
            assert.ok(withProxy.includes(`Environment="${name}=${value}"\n`), name);
        }
        const cleared = renderContainerdProxyDropIn(undefined);
        for (const name of Object.keys(PROXY_VARS)) {
            assert.ok(cleared.includes(`Environment="${name}="\n`), name);
        }
    });

    it("adds no proxy, mirror or containerd parameter to the kind step beyond the cleared drop-in without them", () => {
        const script = renderKindClusterScript(KIND_PARAMS);
        assert.doesNotMatch(script, /^readonly (PROXY_|REGISTRY_HOSTS=|NODE_REGISTRY_CONFIG)/m);
        assert.ok(script.includes("readonly CONTAINERD_PROXY_DROP_IN='"));
    });
});

describe("proxy: shellcheck of the scripts rendered with a proxy and mirrors", () => {
    it("passes", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of the scripts rendered with a proxy", "shellcheck");
        }
        const dir = makeTempDir("proxy-shellcheck");
        const scripts: Record<string, string> = {
            "kind-cluster.sh": renderKindClusterScript({ ...KIND_PARAMS, proxy: PROXY, registryMirrors: MIRRORS }),
            "orc.sh": renderOrcScript({ version: "v2.6.0", waitTimeoutSeconds: 5, proxy: OTHER_PROXY }),
            "capi-providers.sh": renderCapiProvidersScript({
                clusterApi: "v1.14.0",
                capo: "v0.14.7",
                caaph: "v0.6.4",
                certManager: "v1.21.1",
                releaseSha256: NO_RELEASE_PINS,
                waitTimeoutSeconds: 5,
                proxy: PROXY,
            }),
            "host-proxy.sh": renderHostProxyScript({
                aptProxyPath: "/etc/apt/apt.conf.d/90cloud-init-aptproxy",
                dockerDaemonJsonPath: "/etc/docker/daemon.json",
                dockerDaemonJson: renderDockerDaemonJson(1450, PROXY),
                proxy: PROXY,
                stateDir: "/var/lib/capi-mgmt",
            }),
        };
        for (const [name, text] of Object.entries(scripts)) {
            fs.writeFileSync(path.join(dir, name), text);
        }
        shellcheck(Object.keys(scripts).map((n) => path.join(dir, n)));
    });
});

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

describe("proxy: src/host/scripts/orc.sh and src/host/scripts/capi-providers.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("providers-proxy");
        fs.mkdirSync(fakes.stateDir, { recursive: true });
        fs.writeFileSync(fakes.kubeconfig, "apiVersion: v1\nkind: Config\n");
    });

    const providers = (proxy?: ProxyEnv) =>
        renderCapiProvidersScript({
            clusterApi: "v1.14.0",
            capo: "v0.14.7",
            caaph: "v0.6.4",
            certManager: "v1.21.1",
            releaseSha256: NO_RELEASE_PINS,
            waitTimeoutSeconds: 5,
            proxy,
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
        assertSuccess(fakes.run(providers(PROXY), INHERITED));
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
        assertSuccess(fakes.run(providers()));
        fs.rmSync(path.join(fakes.state, "set-env"));
        fakes.clearCalls();
        assertSuccess(fakes.run(providers(OTHER_PROXY)));
        assert.deepStrictEqual(fakes.callsOf("clusterctl"), []);
        const expected = `HTTP_PROXY- http_proxy- HTTPS_PROXY=${OTHER_PROXY.https} https_proxy=${OTHER_PROXY.https} NO_PROXY=${OTHER_PROXY.noProxy} no_proxy=${OTHER_PROXY.noProxy}`;
        assert.strictEqual(fakes.setEnvCalls().length, 5);
        for (const line of fakes.setEnvCalls()) {
            assert.ok(line.endsWith(` deployment --all ${expected}`), line);
        }
    });

    it("capi-providers: without a proxy, clusterctl sees none, inherited or not", () => {
        assertSuccess(fakes.run(providers(), INHERITED));
        for (const env of fakes.proxyEnvOf("clusterctl")) {
            assert.deepStrictEqual(env, {});
        }
        for (const line of fakes.setEnvCalls()) {
            assert.ok(line.endsWith(" deployment --all HTTP_PROXY- http_proxy- HTTPS_PROXY- https_proxy- NO_PROXY- no_proxy-"), line);
        }
    });
});

describe("proxy: src/host/scripts/host-proxy.sh", () => {
    let root: string;
    let bin: string;
    let log: string;
    const aptPath = () => path.join(root, "etc", "apt", "apt.conf.d", "90cloud-init-aptproxy");
    const daemonJson = () => path.join(root, "etc", "docker", "daemon.json");
    const stateDir = () => path.join(root, "var", "lib", "capi-mgmt");

    beforeEach(() => {
        root = makeTempDir("host-proxy");
        bin = path.join(root, "bin");
        log = path.join(root, "calls.log");
        fs.mkdirSync(bin, { recursive: true });
        // Fake docker and systemctl for the host-proxy step: `docker ps --quiet` prints FAKE_RUNNING.
        installFake(bin, "docker", "host/docker-ps.sh");
        installFake(bin, "systemctl", "host/systemctl-log.sh");
        fs.writeFileSync(log, "");
        // What cloud-init wrote on the first boot, without a proxy.
        fs.mkdirSync(path.dirname(daemonJson()), { recursive: true });
        fs.writeFileSync(daemonJson(), renderDockerDaemonJson(1450));
    });

    function run(proxy: ProxyEnv | undefined, running = ""): RunResult {
        const script = renderHostProxyScript({
            aptProxyPath: aptPath(),
            dockerDaemonJsonPath: daemonJson(),
            dockerDaemonJson: renderDockerDaemonJson(1450, proxy),
            proxy,
            stateDir: stateDir(),
        });
        return runScript(script, { PATH: `${bin}:${process.env.PATH}`, FAKE_LOG: log, FAKE_RUNNING: running });
    }

    const calls = () =>
        fs
            .readFileSync(log, "utf8")
            .split("\n")
            .filter((l) => l !== "");

    it("changes nothing on a server without a proxy (daemon.json as cloud-init wrote it)", () => {
        const before = fs.statSync(daemonJson()).mtimeMs;
        assertSuccess(run(undefined, "abc123\n"));
        assert.deepStrictEqual(calls(), []);
        assert.strictEqual(fs.statSync(daemonJson()).mtimeMs, before);
        assert.ok(!fs.existsSync(aptPath()));
    });

    it("adds the proxy on a live server without restarting Docker under the running kind node", () => {
        const r = run(PROXY, "abc123\n");
        assertSuccess(r);
        assert.strictEqual(fs.readFileSync(aptPath(), "utf8"), renderAptProxyConf(PROXY));
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(daemonJson(), "utf8")).proxies, {
            "http-proxy": PROXY.http,
            "https-proxy": PROXY.https,
            "no-proxy": PROXY.noProxy,
        });
        assert.deepStrictEqual(calls(), ["docker ps --quiet"]);
        assert.ok(fs.existsSync(path.join(stateDir(), DOCKER_RESTART_PENDING)));
        assert.match(r.stdout, /not restarted now/);
    });

    it("restarts Docker right away when no container runs", () => {
        assertSuccess(run(PROXY, ""));
        assert.deepStrictEqual(calls(), ["docker ps --quiet", "systemctl restart docker.service"]);
        assert.ok(!fs.existsSync(path.join(stateDir(), DOCKER_RESTART_PENDING)));
    });

    it("removes apt's proxy and Docker's when the proxy is removed", () => {
        assertSuccess(run(PROXY, "abc\n"));
        assertSuccess(run(undefined, "abc\n"));
        assert.ok(!fs.existsSync(aptPath()));
        assert.strictEqual(fs.readFileSync(daemonJson(), "utf8"), renderDockerDaemonJson(1450));
    });

    it("is idempotent", () => {
        assertSuccess(run(PROXY, "abc\n"));
        fs.writeFileSync(log, "");
        assertSuccess(run(PROXY, "abc\n"));
        assert.deepStrictEqual(calls(), []);
    });
});

// The kind config the program sends is still valid YAML with the mirrors and proxy outside it.
describe("proxy: the kind config", () => {
    it("does not change with the proxy or the mirrors (they never recreate the cluster)", () => {
        const a = renderKindClusterScript({ ...KIND_PARAMS, proxy: PROXY, registryMirrors: MIRRORS });
        const b = renderKindClusterScript(KIND_PARAMS);
        const config = (s: string) => /^readonly KIND_CONFIG='([^']*)'$/m.exec(s)?.[1];
        assert.strictEqual(config(a), config(b));
        assert.ok(parse(config(a)!));
        assert.ok(a.includes(`readonly REGISTRY_HOSTS='${registryHostsParam(MIRRORS)}'`));
    });
});
