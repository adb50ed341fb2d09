/**
 * capi-mgmt:proxy and capi-mgmt:registryMirrors through the whole program (mock engine) and
 * the offline render: what each step on the server is sent, and that nothing changes for a
 * stack without them.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { fluxProxyTransform } from "../src/cluster/clusterObjects";
import { SERVER_IGNORED_CHANGES } from "../src/cloud/server";
import { registryHostsParam, renderContainerdProxyDropIn } from "../src/cluster/kindConfig";
import { withContainerEnv } from "../src/host/proxy";
import { reveal } from "../render/engine";
import { renderStack } from "../render/render";
import { PROJECT_DIR, Run, runStack } from "./harness";

const COMMAND = "command:remote:Command";
const INSTANCE = "openstack:compute/instance:Instance";

const PROXY = { http: "http://proxy.example:3128", https: "http://proxy.example:3128", noProxy: [".corp.example", "10.20.0.0/16"] };
const MIRRORS = [{ registry: "docker.io", endpoints: ["https://mirror.example"] }];

function stdin(run: Run, name: string): string {
    return String(reveal(run.one(COMMAND, name).inputs.stdin));
}

/** The value of `readonly NAME='value'` in a rendered script, or undefined. */
function param(script: string, name: string): string | undefined {
    const m = new RegExp(`^readonly ${name}='([^']*)'$`, "m").exec(script);
    return m?.[1];
}

describe("proxy and registry mirrors: the program", function () {
    this.timeout(60000);
    let plain: Run;
    let proxied: Run;

    before(async () => {
        plain = await runStack("dev");
        proxied = await runStack("dev", { proxy: JSON.stringify(PROXY), registryMirrors: JSON.stringify(MIRRORS) });
    });

    it("sends apt and Docker through the proxy in the user-data, with the host's NO_PROXY", () => {
        const userData = parse(String(reveal(proxied.one(INSTANCE).inputs.userData)));
        assert.deepStrictEqual(userData.apt, { http_proxy: PROXY.http, https_proxy: PROXY.https });
        const daemon = JSON.parse(userData.write_files.find((f: { path: string }) => f.path === "/etc/docker/daemon.json").content);
        const noProxy = String(daemon.proxies["no-proxy"]).split(",");
        for (const entry of [
            "localhost",
            "127.0.0.1",
            "::1",
            "169.254.169.254",
            ".svc",
            ".cluster.local",
            "10.96.0.0/16",
            "10.244.0.0/16",
            "10.0.0.0/24",
            ".corp.example",
            "10.20.0.0/16",
        ]) {
            assert.ok(noProxy.includes(entry), `${entry} in ${noProxy}`);
        }
        // The auth URL's host (the mock catalog's identity endpoint); not the server's addresses, unknown before it exists.
        assert.ok(noProxy.includes("keystone.example.test"), noProxy.join(","));
        assert.ok(!noProxy.includes("192.0.2.10"), noProxy.join(","));
    });

    it("never replaces the server for it: the user-data is an ignored change", () => {
        assert.ok(SERVER_IGNORED_CHANGES.includes("userData"));
        assert.ok((proxied.one(INSTANCE).options.ignoreChanges ?? []).includes("userData"));
    });

    it("keeps the host's proxy on a live server through the host-proxy step (same daemon.json as the user-data)", () => {
        const script = stdin(proxied, "host-proxy");
        const userData = parse(String(reveal(proxied.one(INSTANCE).inputs.userData)));
        const daemon = userData.write_files.find((f: { path: string }) => f.path === "/etc/docker/daemon.json").content;
        assert.strictEqual(param(script, "DOCKER_DAEMON_JSON"), daemon);
        assert.match(param(script, "APT_PROXY_CONF") ?? "", /^Acquire::http::Proxy "http:\/\/proxy\.example:3128";$/m);
    });

    it("gives every downloading step the proxy, with the server's own addresses in NO_PROXY", () => {
        for (const name of ["install-tools", "kind-cluster", "orc", "capi-providers"]) {
            const script = stdin(proxied, name);
            assert.strictEqual(param(script, "PROXY_HTTP"), PROXY.http, name);
            assert.strictEqual(param(script, "PROXY_HTTPS"), PROXY.https, name);
            const noProxy = (param(script, "PROXY_NO_PROXY") ?? "").split(",");
            if (name === "install-tools") {
                assert.ok(!noProxy.includes("192.0.2.10"), `${name}: the host's NO_PROXY`);
            } else {
                for (const address of ["192.0.2.10", "10.0.0.10", "keystone.example.test"]) {
                    assert.ok(noProxy.includes(address), `${name}: ${address} in ${noProxy}`);
                }
            }
            assert.ok(noProxy.includes(".corp.example"), name);
        }
    });

    it("hands the kind step the node's containerd drop-in and the mirrors, outside the kind config", () => {
        const kind = stdin(proxied, "kind-cluster");
        assert.strictEqual(param(kind, "REGISTRY_HOSTS"), registryHostsParam(MIRRORS));
        assert.match(param(kind, "CONTAINERD_PROXY_DROP_IN") ?? "", /^Environment="HTTPS_PROXY=http:\/\/proxy\.example:3128"$/m);
        assert.strictEqual(
            param(kind, "KIND_CONFIG"),
            param(stdin(plain, "kind-cluster"), "KIND_CONFIG"),
            "the kind config (hence the cluster) does not change",
        );
    });

    it("changes nothing the server runs without a proxy but the scripts' new code", () => {
        const userData = parse(String(reveal(plain.one(INSTANCE).inputs.userData)));
        assert.strictEqual(userData.apt, undefined);
        for (const name of ["host-proxy", "install-tools", "kind-cluster", "orc", "capi-providers"]) {
            const script = stdin(plain, name);
            assert.doesNotMatch(script, /^readonly (PROXY_|REGISTRY_HOSTS=|APT_PROXY_CONF=)/m, name);
        }
        assert.strictEqual(param(stdin(plain, "kind-cluster"), "CONTAINERD_PROXY_DROP_IN"), renderContainerdProxyDropIn(undefined));
    });

    it("runs every step in place on a change: triggers are the server only", () => {
        for (const name of ["host-proxy", "install-tools", "kind-cluster", "orc", "capi-providers"]) {
            assert.deepStrictEqual(reveal(proxied.one(COMMAND, name).inputs.triggers), reveal(plain.one(COMMAND, name).inputs.triggers), name);
            assert.strictEqual(reveal(proxied.one(COMMAND, name).inputs.update), "sudo bash -s", name);
        }
    });
});

describe("proxy: Flux's controllers", () => {
    const deployment = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "source-controller", namespace: "flux-system" },
        spec: {
            template: {
                spec: {
                    containers: [
                        {
                            name: "manager",
                            image: "x",
                            env: [
                                { name: "RUNTIME_NAMESPACE", value: "flux-system" },
                                { name: "HTTPS_PROXY", value: "old" },
                            ],
                        },
                    ],
                },
            },
        },
    };
    const vars = [
        { name: "HTTPS_PROXY", value: "http://p.example:3128" },
        { name: "https_proxy", value: "http://p.example:3128" },
        { name: "NO_PROXY", value: "localhost,.svc" },
        { name: "no_proxy", value: "localhost,.svc" },
    ];

    it("adds the proxy variables to every container of a Deployment, replacing old ones", () => {
        const out = withContainerEnv(deployment, vars) as typeof deployment;
        assert.deepStrictEqual(out.spec.template.spec.containers[0].env, [{ name: "RUNTIME_NAMESPACE", value: "flux-system" }, ...vars]);
        assert.deepStrictEqual(deployment.spec.template.spec.containers[0].env.length, 2, "the input is not modified");
    });

    it("leaves other kinds alone", () => {
        const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: "flux-system" } };
        assert.strictEqual(withContainerEnv(ns, vars), ns);
    });

    it("transforms only Deployments, and is absent without a proxy", async () => {
        assert.strictEqual(fluxProxyTransform(undefined), undefined);
        assert.strictEqual(fluxProxyTransform([]), undefined);
        const t = fluxProxyTransform(vars)!;
        const base = { name: "x", custom: true, opts: {} };
        const result = await t({ ...base, type: "kubernetes:apps/v1:Deployment", props: { ...deployment } });
        assert.ok(result);
        const props = result.props as typeof deployment;
        assert.deepStrictEqual(props.spec.template.spec.containers[0].env.slice(1), vars);
        assert.strictEqual(await t({ ...base, type: "kubernetes:core/v1:Namespace", props: { metadata: { name: "flux-system" } } }), undefined);
    });
});

describe("proxy: offline render of a stack with a proxy", function () {
    this.timeout(120000);
    let out: string;
    let projectDir: string;

    before(async () => {
        projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-proxy-render-"));
        out = path.join(projectDir, "out");
        const dev = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8"));
        dev.config["capi-mgmt:proxy"] = PROXY;
        dev.config["capi-mgmt:registryMirrors"] = MIRRORS;
        fs.writeFileSync(path.join(projectDir, "Pulumi.dev.yaml"), JSON.stringify(dev));
        await renderStack({ stack: "dev", outDir: out, projectDir });
    });

    after(() => {
        if (projectDir) {
            fs.rmSync(projectDir, { recursive: true, force: true });
        }
    });

    it("writes the proxy into the user-data and the scripts", () => {
        const userData = parse(fs.readFileSync(path.join(out, "user-data.yaml"), "utf8"));
        assert.deepStrictEqual(userData.apt, { http_proxy: PROXY.http, https_proxy: PROXY.https });
        const scripts = fs.readdirSync(path.join(out, "scripts"));
        const read = (name: string) => fs.readFileSync(path.join(out, "scripts", scripts.find((f) => f.endsWith(`-${name}.sh`))!), "utf8");
        assert.strictEqual(param(read("install-tools"), "PROXY_HTTPS"), PROXY.https);
        assert.strictEqual(param(read("kind-cluster"), "REGISTRY_HOSTS"), registryHostsParam(MIRRORS));
        assert.match(param(read("host-proxy"), "DOCKER_DAEMON_JSON") ?? "", /"https-proxy": "http:\/\/proxy\.example:3128"/);
    });
});
