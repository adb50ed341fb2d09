import "mocha";
import * as assert from "assert";
import { StackConfig } from "../src/config";
import { effectiveNoProxy, KIND_POD_CIDR, KIND_SERVICE_CIDR, NO_PROXY_ALWAYS, proxyEnv, proxyEnvVars, publicEndpointUrls } from "../src/host/proxy";
import { parseTestConfig, problemsOf } from "./fixtures";

/** The minimal dev config with `extra` (objects and lists as Pulumi hands them over: JSON). */
function parse(extra: Record<string, unknown>): StackConfig {
    return parseTestConfig(Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])));
}

function problems(extra: Record<string, unknown>): readonly string[] {
    return problemsOf(() => parse(extra));
}

function assertProblem(extra: Record<string, unknown>, key: string, fragment: RegExp): string {
    const found = problems(extra);
    const hit = found.find((p) => p.startsWith(`capi-mgmt:${key}: `) && fragment.test(p));
    assert.ok(hit, `expected a problem for capi-mgmt:${key} matching ${fragment}, got:\n${found.join("\n")}`);
    return hit;
}

describe("proxy and registry mirrors: config", () => {
    it("has neither by default", () => {
        const c = parse({});
        assert.strictEqual(c.proxy, undefined);
        assert.deepStrictEqual(c.registryMirrors, []);
    });

    it("parses a proxy into canonical URLs and a trimmed noProxy list", () => {
        const c = parse({
            proxy: {
                http: "http://Proxy.Example:3128/",
                https: " http://proxy.example:3128 ",
                noProxy: [" .corp.example", "10.20.0.0/16", "git.example", "192.0.2.7", "2001:db8::1"],
            },
        });
        assert.deepStrictEqual(c.proxy, {
            http: "http://proxy.example:3128",
            https: "http://proxy.example:3128",
            noProxy: [".corp.example", "10.20.0.0/16", "git.example", "192.0.2.7", "2001:db8::1"],
        });
    });

    it("accepts only one of http and https", () => {
        assert.deepStrictEqual(parse({ proxy: { https: "https://proxy.example" } }).proxy, { https: "https://proxy.example", noProxy: [] });
    });

    it("parses registry mirrors, lowercasing the registry", () => {
        const c = parse({
            registryMirrors: [
                { registry: "Docker.io", endpoints: ["https://mirror.example", "http://10.0.0.5:5000"] },
                { registry: "registry.example:5000", endpoints: ["https://m2.example/", "https://harbor.example/v2/proxy-cache/"] },
            ],
        });
        assert.deepStrictEqual(c.registryMirrors, [
            { registry: "docker.io", endpoints: ["https://mirror.example", "http://10.0.0.5:5000"] },
            { registry: "registry.example:5000", endpoints: ["https://m2.example", "https://harbor.example/v2/proxy-cache"] },
        ]);
    });

    describe("refuses, naming the key", () => {
        it("a proxy that is not an object", () => {
            assertProblem({ proxy: ["http://proxy.example"] }, "proxy", /must be an object/);
        });
        it("a proxy with neither http nor https", () => {
            assertProblem({ proxy: { noProxy: ["a.example"] } }, "proxy", /set http and\/or https/);
        });
        it("an unknown proxy key", () => {
            assertProblem({ proxy: { http: "http://p.example", httpsProxy: "x" } }, "proxy.httpsProxy", /not a known setting/);
        });
        it("a scheme other than http or https", () => {
            assertProblem({ proxy: { https: "socks5://proxy.example:1080" } }, "proxy.https", /scheme must be http or https/);
        });
        it("a value that is not a URL", () => {
            assertProblem({ proxy: { http: "proxy.example:3128" } }, "proxy.http", /scheme|not a URL/);
            assertProblem({ proxy: { http: "not a url" } }, "proxy.http", /not a URL/);
        });
        it("a URL without a host", () => {
            assertProblem({ proxy: { http: "http://:3128" } }, "proxy.http", /not a URL|no host/);
        });
        it("a credential in the proxy URL, without echoing it", () => {
            const p = assertProblem({ proxy: { https: "http://alice:s3cret@proxy.example:3128" } }, "proxy.https", /user name or password/);
            assert.ok(!p.includes("s3cret"), p);
            assert.match(p, /allow-list/);
            assertProblem({ proxy: { http: "http://alice@proxy.example" } }, "proxy.http", /user name or password/);
        });
        it("a path, query or fragment", () => {
            assertProblem({ proxy: { http: "http://proxy.example/path" } }, "proxy.http", /without a path/);
            assertProblem({ proxy: { http: "http://proxy.example/?x=1" } }, "proxy.http", /without a path/);
            assertProblem({ proxy: { http: "http://proxy.example#x" } }, "proxy.http", /without a path/);
        });
        it("noProxy entries that are not hosts, .domains, IPs or CIDRs", () => {
            for (const bad of ["*", "http://a.example", "a.example:8080", "10.0.0.0/33", "a b", "-bad.example", ".."]) {
                assertProblem({ proxy: { http: "http://p.example", noProxy: [bad] } }, "proxy.noProxy", /not a host name, \.domain, IP address or CIDR/);
            }
        });
        it("noProxy that is not a list of strings", () => {
            assertProblem({ proxy: { http: "http://p.example", noProxy: "a.example" } }, "proxy.noProxy", /must be a list/);
        });
        it("registryMirrors that is not a list", () => {
            assertProblem({ registryMirrors: { registry: "docker.io" } }, "registryMirrors", /must be a list/);
        });
        it("a registry that is not host[:port]", () => {
            for (const bad of ["https://docker.io", "docker.io/library", "docker.io:99999", "", "a b"]) {
                assertProblem({ registryMirrors: [{ registry: bad, endpoints: ["https://m.example"] }] }, "registryMirrors[0].registry", /not a registry host/);
            }
        });
        it("a registry listed twice", () => {
            assertProblem(
                {
                    registryMirrors: [
                        { registry: "docker.io", endpoints: ["https://a.example"] },
                        { registry: "DOCKER.IO", endpoints: ["https://b.example"] },
                    ],
                },
                "registryMirrors[1].registry",
                /listed twice/,
            );
        });
        it("missing or empty endpoints", () => {
            assertProblem({ registryMirrors: [{ registry: "docker.io" }] }, "registryMirrors[0].endpoints", /non-empty list/);
            assertProblem({ registryMirrors: [{ registry: "docker.io", endpoints: [] }] }, "registryMirrors[0].endpoints", /non-empty list/);
        });
        it("an endpoint with a credential, a bad scheme or a path", () => {
            const p = assertProblem(
                { registryMirrors: [{ registry: "docker.io", endpoints: ["https://u:pw123@m.example"] }] },
                "registryMirrors[0].endpoints[0]",
                /user name or password/,
            );
            assert.ok(!p.includes("pw123"), p);
            assertProblem({ registryMirrors: [{ registry: "docker.io", endpoints: ["ftp://m.example"] }] }, "registryMirrors[0].endpoints[0]", /scheme/);
            assertProblem(
                { registryMirrors: [{ registry: "docker.io", endpoints: ["https://m.example", "https://m.example/v2/x?y=1"] }] },
                "registryMirrors[0].endpoints[1]",
                /without a query/,
            );
            assertProblem(
                { registryMirrors: [{ registry: "docker.io", endpoints: ["https://m.example/v2/a b"] }] },
                "registryMirrors[0].endpoints[0]",
                /path may hold only/,
            );
        });
        it("an unknown mirror key", () => {
            assertProblem(
                { registryMirrors: [{ registry: "docker.io", endpoints: ["https://m.example"], capabilities: ["pull"] }] },
                "registryMirrors[0].capabilities",
                /not a known setting/,
            );
        });
        it("every problem together", () => {
            const found = problems({ proxy: { http: "ftp://x", https: "http://u:p@x" }, registryMirrors: [{ registry: "bad host", endpoints: [] }] });
            for (const key of ["proxy.http", "proxy.https", "registryMirrors[0].registry", "registryMirrors[0].endpoints"]) {
                assert.ok(
                    found.some((p) => p.startsWith(`capi-mgmt:${key}: `)),
                    `${key} in\n${found.join("\n")}`,
                );
            }
        });
    });
});

describe("proxy: effective NO_PROXY", () => {
    const inputs = {
        serviceCidr: KIND_SERVICE_CIDR,
        podCidr: KIND_POD_CIDR,
        nodeCidr: "10.0.0.0/24",
        serverAddresses: ["10.0.0.12", "198.51.100.7"],
        authUrl: "https://keystone.cloud.example:5000/v3",
        user: [".corp.example"],
    };

    it("always covers loopback, metadata, in-cluster names, kind's CIDRs, the node CIDR, the server and the auth URL's host", () => {
        assert.deepStrictEqual(effectiveNoProxy(inputs), [
            "localhost",
            "127.0.0.1",
            "::1",
            "0.0.0.0",
            "169.254.169.254",
            ".svc",
            ".cluster.local",
            "10.96.0.0/16",
            "10.244.0.0/16",
            "10.0.0.0/24",
            "10.0.0.12",
            "198.51.100.7",
            "keystone.cloud.example",
            ".corp.example",
        ]);
    });

    it("keeps the defaults without user entries or unknown addresses", () => {
        const list = effectiveNoProxy({ serviceCidr: KIND_SERVICE_CIDR, podCidr: KIND_POD_CIDR, serverAddresses: ["", ""], user: [] });
        assert.deepStrictEqual(list, [...NO_PROXY_ALWAYS, KIND_SERVICE_CIDR, KIND_POD_CIDR]);
    });

    it("deduplicates (first occurrence wins) and is deterministic", () => {
        const list = effectiveNoProxy({ ...inputs, user: ["localhost", "10.0.0.12", "keystone.cloud.example", ".corp.example", ".corp.example"] });
        assert.strictEqual(new Set(list).size, list.length);
        assert.deepStrictEqual(list, effectiveNoProxy({ ...inputs, user: ["localhost", "10.0.0.12", "keystone.cloud.example", ".corp.example"] }));
        assert.deepStrictEqual(effectiveNoProxy(inputs), effectiveNoProxy({ ...inputs }));
    });

    it("covers the hosts of the cloud's other public endpoints, sorted, each once", () => {
        const catalog = [
            {
                type: "compute",
                endpoints: [
                    { interface: "public", region: "RegionOne", url: "https://nova.cloud.example:8774/v2.1" },
                    { interface: "internal", region: "RegionOne", url: "http://nova.internal:8774" },
                ],
            },
            {
                type: "network",
                endpoints: [
                    { interface: "public", region: "RegionOne", url: "https://api.cloud.example:9696" },
                    { interface: "public", region: "RegionTwo", url: "https://neutron.two.example" },
                ],
            },
            { type: "identity", endpoints: [{ interface: "public", region: "RegionOne", url: "https://keystone.cloud.example:5000/v3" }] },
        ];
        const endpoints = publicEndpointUrls(catalog, "RegionOne");
        assert.deepStrictEqual(endpoints, ["https://nova.cloud.example:8774/v2.1", "https://api.cloud.example:9696", "https://keystone.cloud.example:5000/v3"]);
        assert.strictEqual(publicEndpointUrls(catalog).length, 4);
        const list = effectiveNoProxy({ ...inputs, openstackEndpoints: endpoints });
        assert.deepStrictEqual(list.slice(12), ["keystone.cloud.example", "api.cloud.example", "nova.cloud.example", ".corp.example"]);
    });

    it("takes an IPv6 auth URL's host without brackets", () => {
        assert.ok(effectiveNoProxy({ ...inputs, authUrl: "https://[2001:db8::5]:5000/v3" }).includes("2001:db8::5"));
    });

    it("gives the environment in upper and lower case, and none without a proxy", () => {
        const env = proxyEnv({ https: "http://p.example:3128", noProxy: [] }, ["localhost", "10.96.0.0/16"]);
        assert.deepStrictEqual(env, { https: "http://p.example:3128", noProxy: "localhost,10.96.0.0/16" });
        assert.deepStrictEqual(proxyEnvVars(env), [
            ["HTTPS_PROXY", "http://p.example:3128"],
            ["https_proxy", "http://p.example:3128"],
            ["NO_PROXY", "localhost,10.96.0.0/16"],
            ["no_proxy", "localhost,10.96.0.0/16"],
        ]);
        assert.strictEqual(proxyEnv(undefined, ["localhost"]), undefined);
        assert.deepStrictEqual(proxyEnvVars(undefined), []);
    });
});
