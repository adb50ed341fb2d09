import "mocha";
import * as assert from "assert";
import { ConfigError, configWarnings, parseStackConfig, RawConfig, StackConfig } from "../src/config";
import { DEFAULT_VERSIONS } from "../src/versions/versions";
import { MINIMAL_RAW_CONFIG as BASE, problemsOf, TEST_CA_PEM, TEST_NOW as NOW } from "./fixtures";

function parse(overrides: Record<string, string | undefined> = {}, stack = "dev"): StackConfig {
    const raw: Record<string, string> = { ...BASE };
    for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined) {
            delete raw[k];
        } else {
            raw[k] = v;
        }
    }
    return parseStackConfig(raw as RawConfig, { stack, now: NOW });
}

/** The problems reported for a config, or [] when it parses. */
function problems(overrides: Record<string, string | undefined>, stack = "dev"): readonly string[] {
    return problemsOf(() => parse(overrides, stack));
}

function assertProblem(overrides: Record<string, string | undefined>, key: string, fragment: RegExp, stack = "dev"): void {
    const found = problems(overrides, stack);
    assert.ok(
        found.some((p) => p.startsWith(`capi-mgmt:${key}: `) && fragment.test(p)),
        `expected a problem for capi-mgmt:${key} matching ${fragment}, got:\n${found.join("\n")}`,
    );
}

describe("stack config", () => {
    describe("defaults", () => {
        it("fills every optional key from code", () => {
            const c = parse();
            assert.strictEqual(c.prefix, "dev");
            assert.strictEqual(c.image, "Ubuntu 24.04");
            assert.strictEqual(c.rootVolumeSize, 0);
            assert.strictEqual(c.nodeCidr, "10.0.0.0/24");
            assert.deepStrictEqual(c.dnsNameservers, []);
            assert.strictEqual(c.existingNetwork, undefined);
            assert.strictEqual(c.allowPublicAccess, false);
            assert.deepStrictEqual(c.appCredential, { roles: ["member", "load-balancer_member"] });
            assert.strictEqual(c.caCert, undefined);
            assert.deepStrictEqual(c.versions, DEFAULT_VERSIONS);
            assert.strictEqual(c.serverGeneration, 1);
        });

        it("treats empty strings (Pulumi.yaml defaults) as unset", () => {
            const c = parse({ prefix: "", availabilityZone: "", caCert: "" });
            assert.strictEqual(c.prefix, "dev");
            assert.strictEqual(c.availabilityZone, undefined);
            assert.strictEqual(c.caCert, undefined);
        });

        it("pins every default tool to a known checksum", () => {
            for (const tool of ["kind", "kubectl", "clusterctl", "helm", "flux", "sonobuoy"] as const) {
                assert.match(DEFAULT_VERSIONS[tool].sha256, /^[0-9a-f]{64}$/, tool);
            }
        });
    });

    describe("accepted values", () => {
        it("parses a full production config", () => {
            const c = parse({
                environment: "production",
                prefix: "capi-prod",
                rootVolumeSize: "100",
                availabilityZone: "nova",
                nodeCidr: "10.10.0.0/24",
                dnsNameservers: JSON.stringify(["9.9.9.9"]),
                sshAllowedCidrs: JSON.stringify(["198.51.100.0/28", "2001:db8::/64"]),
                appCredential: JSON.stringify({ roles: ["member"], expiresAt: "2027-06-30T00:00:00Z" }),
                caCert: TEST_CA_PEM,
            });
            assert.strictEqual(c.environment, "production");
            assert.strictEqual(c.prefix, "capi-prod");
            assert.strictEqual(c.rootVolumeSize, 100);
            assert.deepStrictEqual(c.sshAllowedCidrs, ["198.51.100.0/28", "2001:db8::/64"]);
            assert.deepStrictEqual(c.appCredential, { roles: ["member"], expiresAt: "2027-06-30T00:00:00Z" });
            assert.match(c.caCert!, /^-----BEGIN CERTIFICATE-----/);
        });

        it("normalises the expiry to UTC whole seconds, as the provider reads it back", () => {
            for (const given of ["2027-06-30T02:00:00+02:00", "2027-06-29T19:00:00-05:00", "2027-06-30T00:00:00.750Z", "2027-06-30T00:00:00Z"]) {
                assert.strictEqual(parse({ appCredential: JSON.stringify({ expiresAt: given }) }).appCredential.expiresAt, "2027-06-30T00:00:00Z", given);
            }
        });

        it("takes the roles as a set: order and repetition do not matter", () => {
            const a = parse({ appCredential: JSON.stringify({ roles: ["member", "load-balancer_member"] }) }).appCredential;
            const b = parse({ appCredential: JSON.stringify({ roles: ["load-balancer_member", " member", "member"] }) }).appCredential;
            // The defaults' order first (names made before roles were canonical stay), then the rest sorted.
            assert.deepStrictEqual(a, { roles: ["member", "load-balancer_member"] });
            assert.deepStrictEqual(b, a);
            const c = parse({ appCredential: JSON.stringify({ roles: ["reader", "member", "creator"] }) }).appCredential;
            assert.deepStrictEqual(c.roles, ["member", "creator", "reader"]);
        });

        it("accepts an existing network instead of a created one", () => {
            const c = parse({ existingNetwork: JSON.stringify({ network: "shared", subnet: "shared-v4" }) });
            assert.deepStrictEqual(c.existingNetwork, { network: "shared", subnet: "shared-v4" });
        });

        it("accepts public CIDRs in production only with allowPublicAccess", () => {
            const c = parse({ environment: "production", sshAllowedCidrs: JSON.stringify(["0.0.0.0/0"]), allowPublicAccess: "true" });
            assert.deepStrictEqual(c.sshAllowedCidrs, ["0.0.0.0/0"]);
            assert.deepStrictEqual(parse({ sshAllowedCidrs: JSON.stringify(["0.0.0.0/0"]) }).sshAllowedCidrs, ["0.0.0.0/0"]);
        });

        it("takes a known tool version by version alone, and any version with its sha256", () => {
            const sha = "a".repeat(64);
            const c = parse({
                versions: JSON.stringify({
                    kubectl: "v1.36.4",
                    kind: { version: "v0.33.0", sha256: sha },
                    nodeImage: `kindest/node:v1.35.2@sha256:${"b".repeat(64)}`,
                    capo: "v0.14.8",
                }),
            });
            assert.strictEqual(c.versions.kubectl.version, "v1.36.4");
            assert.match(c.versions.kubectl.sha256, /^8b8f088d/);
            assert.deepStrictEqual(c.versions.kind, { version: "v0.33.0", sha256: sha });
            assert.strictEqual(c.versions.kubernetes, "v1.35.2");
            assert.strictEqual(c.versions.capo, "v0.14.8");
            assert.strictEqual(c.versions.clusterApi, DEFAULT_VERSIONS.clusterApi);
        });
    });

    describe("refused values name their key", () => {
        const cases: [string, Record<string, string | undefined>, string, RegExp][] = [
            ["missing environment", { environment: undefined }, "environment", /is required/],
            ["unknown environment", { environment: "staging" }, "environment", /"development" or "production"/],
            ["missing external network", { externalNetwork: undefined }, "externalNetwork", /is required/],
            ["missing flavor", { flavor: undefined }, "flavor", /is required/],
            ["prefix with capitals", { prefix: "Capi" }, "prefix", /lowercase DNS label/],
            ["prefix too long", { prefix: "a".repeat(31) }, "prefix", /at most 30/],
            ["CIDR with /33", { nodeCidr: "10.0.0.0/33" }, "nodeCidr", /"10.0.0.0\/33" is not a valid IPv4 CIDR/],
            ["CIDR with host bits", { nodeCidr: "10.0.0.1/24" }, "nodeCidr", /host bits/],
            ["IPv6 node CIDR", { nodeCidr: "2001:db8::/64" }, "nodeCidr", /not a valid IPv4 CIDR/],
            ["tiny subnet", { nodeCidr: "10.0.0.0/30" }, "nodeCidr", /too small/],
            ["bad nameserver", { dnsNameservers: JSON.stringify(["9.9.9"]) }, "dnsNameservers", /"9.9.9" is not a valid IP/],
            ["IPv6 nameserver", { dnsNameservers: JSON.stringify(["2001:db8::53"]) }, "dnsNameservers", /not an IPv4 address/],
            ["nameservers not a list", { dnsNameservers: "9.9.9.9" }, "dnsNameservers", /not valid structured config/],
            ["missing SSH CIDRs", { sshAllowedCidrs: undefined }, "sshAllowedCidrs", /is required/],
            ["empty API CIDRs", { apiAllowedCidrs: "[]" }, "apiAllowedCidrs", /at least one CIDR/],
            ["bad SSH CIDR", { sshAllowedCidrs: JSON.stringify(["203.0.113.0/24", "300.1.1.1/32"]) }, "sshAllowedCidrs", /"300.1.1.1\/32" is not a valid CIDR/],
            ["duplicated CIDR", { apiAllowedCidrs: JSON.stringify(["203.0.113.0/24", "203.0.113.0/24"]) }, "apiAllowedCidrs", /listed twice/],
            ["public SSH in production", { environment: "production", sshAllowedCidrs: JSON.stringify(["0.0.0.0/0"]) }, "sshAllowedCidrs", /allowPublicAccess/],
            ["public IPv6 API in production", { environment: "production", apiAllowedCidrs: JSON.stringify(["::/0"]) }, "apiAllowedCidrs", /whole internet/],
            [
                "all of IPv4 in two halves in production",
                { environment: "production", sshAllowedCidrs: JSON.stringify(["0.0.0.0/1", "128.0.0.0/1"]) },
                "sshAllowedCidrs",
                /together the entries cover every IPv4 address/,
            ],
            [
                "all of IPv6 in pieces in production",
                { environment: "production", apiAllowedCidrs: JSON.stringify(["8000::/1", "::/2", "4000::/2"]) },
                "apiAllowedCidrs",
                /every IPv6 address/,
            ],
            ["IPv6 CIDR with host bits", { apiAllowedCidrs: JSON.stringify(["2001:db8::1/64"]) }, "apiAllowedCidrs", /host bits/],
            [
                "node CIDR over kind's Service network",
                { nodeCidr: "10.96.0.0/20" },
                "nodeCidr",
                /overlaps 10\.96\.0\.0\/16, the management cluster's Service network/,
            ],
            ["node CIDR around kind's pod network", { nodeCidr: "10.0.0.0/8" }, "nodeCidr", /overlaps 10\.244\.0\.0\/16, the management cluster's pod network/],
            ["component version with a leading zero", { versions: JSON.stringify({ orc: "v02.6.0" }) }, "versions.orc", /like v1.2.3/],
            ["non-boolean allowPublicAccess", { allowPublicAccess: "yes" }, "allowPublicAccess", /not a boolean/],
            ["negative volume", { rootVolumeSize: "-1" }, "rootVolumeSize", /integer between 0/],
            ["tiny volume", { rootVolumeSize: "10" }, "rootVolumeSize", /too small/],
            [
                "network and CIDR together",
                { existingNetwork: JSON.stringify({ network: "n", subnet: "s" }), nodeCidr: "10.1.0.0/24" },
                "nodeCidr",
                /existingNetwork/,
            ],
            ["existing network without subnet", { existingNetwork: JSON.stringify({ network: "n" }) }, "existingNetwork.subnet", /is required/],
            [
                "existing network with a typo",
                { existingNetwork: JSON.stringify({ network: "n", subnet: "s", router: "r" }) },
                "existingNetwork.router",
                /not a known setting/,
            ],
            ["empty roles", { appCredential: JSON.stringify({ roles: [] }) }, "appCredential.roles", /non-empty list/],
            ["expiry not RFC 3339", { appCredential: JSON.stringify({ expiresAt: "2027-06-30" }) }, "appCredential.expiresAt", /RFC 3339/],
            ["expiry in the past", { appCredential: JSON.stringify({ expiresAt: "2026-01-01T00:00:00Z" }) }, "appCredential.expiresAt", /not in the future/],
            [
                "unrestricted credential asked for",
                { appCredential: JSON.stringify({ unrestricted: true }) },
                "appCredential.unrestricted",
                /not a known setting/,
            ],
            ["CA not PEM", { caCert: "not a certificate" }, "caCert", /PEM/],
            ["CA with a damaged body", { caCert: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" }, "caCert", /cannot be parsed/],
            ["unknown key", { sshAllowedCidr: JSON.stringify(["203.0.113.0/24"]) }, "sshAllowedCidr", /not a known setting/],
            ["generation zero", { serverGeneration: "0" }, "serverGeneration", /integer between 1/],
            ["tool version without checksum", { versions: JSON.stringify({ kind: "v0.31.0" }) }, "versions.kind", /no known checksum/],
            ["tool checksum malformed", { versions: JSON.stringify({ helm: { version: "v3.19.0", sha256: "abc" } }) }, "versions.helm.sha256", /SHA-256/],
            [
                "tool version malformed",
                { versions: JSON.stringify({ flux: { version: "2.9.5", sha256: "a".repeat(64) } }) },
                "versions.flux.version",
                /like v1.2.3/,
            ],
            ["component version malformed", { versions: JSON.stringify({ orc: "latest" }) }, "versions.orc", /like v1.2.3/],
            ["unknown versions key", { versions: JSON.stringify({ cilium: "v1.17.0" }) }, "versions.cilium", /not a known setting/],
            ["node image without digest", { versions: JSON.stringify({ nodeImage: "kindest/node:v1.36.1" }) }, "versions.nodeImage", /pinned by digest/],
            [
                "CAPO too new for CAPI",
                { versions: JSON.stringify({ capo: "v0.14.7", clusterApi: "v1.11.3" }) },
                "versions.clusterApi",
                /needs Cluster API v1.12/,
            ],
            ["unknown CAPO minor", { versions: JSON.stringify({ capo: "v0.15.0" }) }, "versions.capo", /not known/],
            [
                "node Kubernetes too old",
                { versions: JSON.stringify({ nodeImage: `kindest/node:v1.31.4@sha256:${"c".repeat(64)}`, kubectl: "v1.36.1" }) },
                "versions.nodeImage",
                /outside the range .* \(v1.33–v1.36\)/,
            ],
            [
                "clusterctl of another minor",
                { versions: JSON.stringify({ clusterctl: { version: "v1.13.4", sha256: "d".repeat(64) } }) },
                "versions.clusterctl",
                /cannot drive Cluster API v1.14.0/,
            ],
            [
                "kubectl too far from the cluster",
                { versions: JSON.stringify({ kubectl: { version: "v1.33.0", sha256: "e".repeat(64) } }) },
                "versions.kubectl",
                /more than one minor/,
            ],
        ];
        for (const [title, overrides, key, fragment] of cases) {
            it(title, () => assertProblem(overrides, key, fragment));
        }

        it("a stack name that is not a DNS label needs an explicit prefix", () => {
            assertProblem({}, "prefix", /defaulted from the stack name/, "Dev_1");
            assert.strictEqual(parse({ prefix: "dev1" }, "Dev_1").prefix, "dev1");
        });
    });

    it("reports keys under a misspelling of the namespace, which Pulumi would silently pass by", () => {
        const raw = { ...BASE } as RawConfig;
        const parseWith = (otherKeys: string[]) => {
            try {
                parseStackConfig(raw, { stack: "dev", now: NOW, otherKeys });
                return [];
            } catch (e) {
                return (e as ConfigError).problems;
            }
        };
        const found = parseWith(["capi_mgmt:flavor", "CapiMgmt:image", "capi-mgnt:prefix", "openstack:cloud", "pulumi:tags", "kubernetes:context"]);
        assert.deepStrictEqual(
            found.map((p) => p.split(": ")[0]),
            ["capi_mgmt:flavor", "CapiMgmt:image", "capi-mgnt:prefix"],
        );
        assert.match(found[0], /^capi_mgmt:flavor: "capi_mgmt" is not "capi-mgmt", so the program never reads this key; write it as capi-mgmt:flavor$/);
        assert.deepStrictEqual(parseWith(["openstack:region", "capi:x", "mgmt:y"]), []);
    });

    it("reports every problem at once, in one error that names each key", () => {
        let error: unknown;
        try {
            parse({
                environment: "production",
                flavor: undefined,
                nodeCidr: "10.0.0.0/33",
                sshAllowedCidrs: JSON.stringify(["0.0.0.0/0"]),
                dnsNameservers: JSON.stringify(["dns.example"]),
                versions: JSON.stringify({ kind: "v0.1.0" }),
            });
        } catch (e) {
            error = e;
        }
        assert.ok(error instanceof ConfigError);
        const keys = error.problems.map((p) => p.split(": ")[0]);
        assert.deepStrictEqual([...keys].sort(), [
            "capi-mgmt:dnsNameservers",
            "capi-mgmt:flavor",
            "capi-mgmt:nodeCidr",
            "capi-mgmt:sshAllowedCidrs",
            "capi-mgmt:versions.kind",
        ]);
        assert.match(error.message, /^invalid stack configuration \(5 problems\):\n {2}- /);
        assert.match(error.message, /capi-mgmt:nodeCidr: "10.0.0.0\/33" is not a valid IPv4 CIDR/);
    });

    describe("workloadProject", () => {
        const OS = { cloud: "mgmt", region: "RegionOne" };
        const withOs = (overrides: Record<string, string>, openstack: { cloud?: string; region?: string } = OS, environment = "production") =>
            parseStackConfig({ ...BASE, environment, ...overrides } as RawConfig, { stack: "prod", now: NOW, openstack });
        const osProblems = (overrides: Record<string, string>, openstack?: { cloud?: string; region?: string }): readonly string[] =>
            problemsOf(() => withOs(overrides, openstack));

        it("is absent by default, and the region defaults to openstack:region", () => {
            assert.strictEqual(withOs({}).workloadProject, undefined);
            assert.deepStrictEqual(withOs({ workloadProject: JSON.stringify({ cloud: " workloads " }) }).workloadProject, {
                cloud: "workloads",
                region: "RegionOne",
            });
            assert.deepStrictEqual(withOs({ workloadProject: JSON.stringify({ cloud: "workloads", region: "RegionTwo" }) }).workloadProject, {
                cloud: "workloads",
                region: "RegionTwo",
            });
            assert.deepStrictEqual(withOs({ workloadProject: JSON.stringify({ cloud: "workloads" }) }, { cloud: "mgmt" }).workloadProject, {
                cloud: "workloads",
            });
        });

        it("reports every problem, each naming its key", () => {
            const found = osProblems({ workloadProject: JSON.stringify({ region: "", project: "x" }) });
            assert.deepStrictEqual(found.map((p) => p.split(": ")[0]).sort(), [
                "capi-mgmt:workloadProject.cloud",
                "capi-mgmt:workloadProject.project",
                "capi-mgmt:workloadProject.region",
            ]);
            assert.match(
                osProblems({ workloadProject: JSON.stringify(["workloads"]) }).join("\n"),
                /^capi-mgmt:workloadProject: must be an object with `cloud`/,
            );
            assert.match(osProblems({ workloadProject: JSON.stringify({ cloud: 3 }) }).join("\n"), /^capi-mgmt:workloadProject.cloud: is required/);
        });

        it("needs openstack:cloud set as well", () => {
            const found = osProblems({ workloadProject: JSON.stringify({ cloud: "workloads" }) }, {});
            assert.deepStrictEqual(found, ["capi-mgmt:workloadProject: needs openstack:cloud set as well: both projects are named by clouds.yaml entries"]);
        });

        it("warns in production when absent, and in any environment when it names openstack:cloud's entry", () => {
            const prod = withOs({});
            assert.match(configWarnings(prod).join("\n"), /^capi-mgmt:workloadProject is not set: .*delete the management server/);
            assert.deepStrictEqual(configWarnings(withOs({}, OS, "development")), []);
            assert.deepStrictEqual(
                configWarnings(withOs({ workloadProject: JSON.stringify({ cloud: "workloads" }), backup: JSON.stringify({ volumeSize: 10 }) })),
                [],
            );
            for (const env of ["production", "development"]) {
                const same = withOs({ workloadProject: JSON.stringify({ cloud: "mgmt", region: "RegionTwo" }) }, OS, env);
                assert.match(configWarnings(same).join("\n"), /^capi-mgmt:workloadProject.cloud is "mgmt", the same clouds.yaml entry as openstack:cloud/);
            }
        });
    });

    describe("rebuildWithClusters and protect", () => {
        it("rebuildWithClusters is unset by default, and accepted for the generation being bumped to", () => {
            assert.strictEqual(parse().rebuildWithClusters, undefined);
            const c = parse({ serverGeneration: "3", rebuildWithClusters: "3" });
            assert.strictEqual(c.rebuildWithClusters, 3);
            assert.deepStrictEqual(configWarnings(c), []);
        });

        it("refuses an acknowledgement of a generation above serverGeneration (it would cover a later bump) and a non-integer", () => {
            assertProblem(
                { serverGeneration: "2", rebuildWithClusters: "3" },
                "rebuildWithClusters",
                /acknowledges a generation above capi-mgmt:serverGeneration \(2\)/,
            );
            assertProblem({ rebuildWithClusters: "yes" }, "rebuildWithClusters", /not an integer between 1 and 1000/);
            assertProblem({ rebuildWithClusters: "0" }, "rebuildWithClusters", /not an integer between 1 and 1000/);
        });

        it("warns that one left over from an earlier bump has no effect", () => {
            const c = parse({ serverGeneration: "3", rebuildWithClusters: "2" });
            assert.strictEqual(c.rebuildWithClusters, 2);
            assert.match(configWarnings(c).join("\n"), /^capi-mgmt:rebuildWithClusters is 2, .*covers only generation 2, not 3 .*remove it/);
        });

        it("protect defaults to on in production only, and can be set either way", () => {
            assert.strictEqual(parse().protect, false);
            assert.strictEqual(parse({ environment: "production" }).protect, true);
            assert.strictEqual(parse({ environment: "production", protect: "false" }).protect, false);
            assert.strictEqual(parse({ protect: "true" }).protect, true);
            assertProblem({ protect: "sometimes" }, "protect", /not a boolean/);
        });
    });
});
