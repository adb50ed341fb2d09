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
import { renderKindClusterScript, renderOrcScript } from "../src/cluster/clusterScripts";
import { renderAptProxyConf, renderHostProxyScript } from "../src/host/bootstrapScripts";
import { proxyParams } from "../src/host/hostScripts";
import { registryHostsParam, renderContainerdProxyDropIn, renderRegistryHostsToml } from "../src/cluster/kindConfig";
import { hasShellcheck, makeTempDir, shellcheck, skipTest } from "./fakes/shell";
import { PROXY, OTHER_PROXY, PROXY_VARS, MIRRORS, KIND_PARAMS, providersScript } from "./proxyScriptParams";

describe("proxy: rendering for the host scripts", () => {
    it("has no proxy parameter without a proxy", () => {
        assert.deepStrictEqual(proxyParams(undefined), {});
        const script = renderOrcScript({ version: "v2.6.0", waitTimeoutSeconds: 5 });
        assert.doesNotMatch(script, /^readonly PROXY_/m);
    });

    it("renders the proxy parameters, and only the set ones", () => {
        assert.deepStrictEqual(proxyParams(PROXY), { PROXY_HTTP: PROXY.http, PROXY_HTTPS: PROXY.https, PROXY_NO_PROXY: PROXY.noProxy });
        assert.deepStrictEqual(proxyParams(OTHER_PROXY), { PROXY_HTTPS: OTHER_PROXY.https, PROXY_NO_PROXY: OTHER_PROXY.noProxy });
        const script = providersScript(PROXY);
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
            "capi-providers.sh": providersScript(PROXY),
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
