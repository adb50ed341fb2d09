import "mocha";
import * as assert from "assert";
import { parse } from "yaml";
import { identityEndpoint, renderCloudConf, renderCloudsYaml } from "../src/cluster/cloudCredentials";
import { parseStackConfig } from "../src/config";
import { readSecretKeys } from "../src/config/loadConfig";
import { CLOUD_NAME } from "../src/shared/contract";
import { GITHUB_KNOWN_HOSTS, DEPLOY_KEY, AGE_KEY, GITOPS, gitopsProblems } from "./gitopsParams";

describe("gitops", function () {
    this.timeout(60000);

    describe("config", () => {
        it("accepts a branch in development and defaults path, interval and namespace", () => {
            assert.deepStrictEqual(gitopsProblems(GITOPS), []);
            const c = parseStackConfig(
                {
                    environment: "development",
                    externalNetwork: "p",
                    flavor: "f",
                    sshAllowedCidrs: '["10.1.0.0/16"]',
                    apiAllowedCidrs: '["10.1.0.0/16"]',
                    gitops: JSON.stringify(GITOPS),
                },
                { stack: "dev", now: new Date() },
            );
            assert.deepStrictEqual(
                { ...c.gitops, knownHosts: undefined },
                {
                    url: GITOPS.url,
                    ref: { branch: "main" },
                    path: "./clusters/dev",
                    interval: "1m",
                    knownHosts: undefined,
                    deployKey: undefined,
                    sopsAgeKey: undefined,
                    workloadNamespace: "clusters",
                },
            );
            assert.strictEqual(c.workloadNamespace, "clusters");
        });

        const refused: [string, Record<string, unknown>, string, RegExp, string?][] = [
            [
                "scp-like URL",
                { ...GITOPS, url: "git@github.com:example-org/capi-gitops" },
                "gitops.url",
                /scp-like form.*ssh:\/\/git@github.com\/example-org\/capi-gitops/,
            ],
            ["plain http URL", { ...GITOPS, url: "http://github.com/example-org/capi-gitops" }, "gitops.url", /use the ssh:\/\/ form/],
            ["missing URL", { branch: "main", knownHosts: GITHUB_KNOWN_HOSTS }, "gitops.url", /is required/],
            ["port out of range", { ...GITOPS, url: "ssh://git@github.com:99999/example-org/capi-gitops" }, "gitops.url", /not of the form/],
            [
                "URL with a password, without echoing it",
                { ...GITOPS, url: "ssh://git:s3cret@github.com/example-org/capi-gitops" },
                "gitops.url",
                /^(?!.*s3cret).*carries a password/,
            ],
            ["URL without a repository path", { ...GITOPS, url: "ssh://git@github.com/" }, "gitops.url", /not of the form/],
            ["branch and semver", { ...GITOPS, semver: ">=1.0.0" }, "gitops", /exactly one of branch .* or semver/],
            ["neither branch nor semver", { url: GITOPS.url, knownHosts: GITHUB_KNOWN_HOSTS }, "gitops", /exactly one/],
            ["a branch in production", GITOPS, "gitops.branch", /production follows released tags/, "production"],
            ["bad semver range", { ...GITOPS, branch: undefined, semver: "latest" }, "gitops.semver", /not a range Flux accepts/],
            [
                "semver range with letters for parts",
                { ...GITOPS, branch: undefined, semver: "v1.x.y" },
                "gitops.semver",
                /"v1\.x\.y" is not a version constraint/,
            ],
            ["semver range of letters", { ...GITOPS, branch: undefined, semver: ">=1.0.0 || abc1" }, "gitops.semver", /"abc1"/],
            ["path escaping the repo", { ...GITOPS, path: "./clusters/../secrets" }, "gitops.path", /without \.\./],
            ["absolute path", { ...GITOPS, path: "/clusters/dev" }, "gitops.path", /relative path/],
            ["bad interval", { ...GITOPS, interval: "1 minute" }, "gitops.interval", /not a duration/],
            ["missing known_hosts", { url: GITOPS.url, branch: "main" }, "gitops.knownHosts", /never disabled/],
            ["garbage known_hosts", { ...GITOPS, knownHosts: "github.com is trusted" }, "gitops.knownHosts", /not a known_hosts line/],
            [
                "known_hosts for another host",
                { ...GITOPS, knownHosts: GITHUB_KNOWN_HOSTS.replace("github.com", "gitlab.com") },
                "gitops.knownHosts",
                /no key for github.com/,
            ],
            [
                "known_hosts without the port",
                { ...GITOPS, url: "ssh://git@git.example.com:2222/org/repo", knownHosts: GITHUB_KNOWN_HOSTS.replace("github.com", "git.example.com") },
                "gitops.knownHosts",
                /no key for \[git.example.com\]:2222/,
            ],
            [
                "deploy key not a key",
                { ...GITOPS, deployKey: "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----" },
                "gitops.deployKey",
                /not a usable SSH private key/,
            ],
            ["age key malformed", { ...GITOPS, sopsAgeKey: "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgp" }, "gitops.sopsAgeKey", /AGE-SECRET-KEY-1/],
            ["bad namespace", { ...GITOPS, workloadNamespace: "Clusters" }, "gitops.workloadNamespace", /not a valid namespace/],
            ["unknown key", { ...GITOPS, insecure: true }, "gitops.insecure", /not a known setting/],
            [
                "truncated host key",
                { ...GITOPS, knownHosts: GITHUB_KNOWN_HOSTS.slice(0, -6) },
                "gitops.knownHosts",
                /the ssh-ed25519 key of github\.com is unusable/,
            ],
            [
                "host key of another type than its line says",
                { ...GITOPS, knownHosts: GITHUB_KNOWN_HOSTS.replace("ssh-ed25519 ", "ssh-rsa ") },
                "gitops.knownHosts",
                /unusable/,
            ],
        ];
        it("refuses a deploy key or age identity in plain text in the stack file, naming each and how to set it", () => {
            const gitops = { ...GITOPS, deployKey: DEPLOY_KEY, sopsAgeKey: AGE_KEY };
            const problems = gitopsProblems(gitops, "development", ["openstack:password"]);
            for (const key of ["gitops.deployKey", "gitops.sopsAgeKey"]) {
                const p = problems.find((x) => x.startsWith(`capi-mgmt:${key}: is set in plain text`));
                assert.ok(p, `no plain-text refusal for ${key}:\n${problems.join("\n")}`);
                assert.ok(p.includes(`pulumi config set --secret --path 'capi-mgmt:${key}' < FILE`), p);
                assert.ok(!p.includes("AGE-SECRET-KEY") && !p.includes("PRIVATE KEY"), "the message echoes the secret");
            }
            // Held as a secret (any value under the key set with --secret): accepted.
            assert.deepStrictEqual(gitopsProblems(gitops, "development", ["capi-mgmt:gitops"]), []);
            // Without secrets in it, a plain gitops object is fine.
            assert.deepStrictEqual(gitopsProblems(GITOPS, "development", []), []);
        });

        it("reads the secret keys the way the CLI's language host hands them over", () => {
            assert.strictEqual(readSecretKeys({}), undefined);
            assert.deepStrictEqual(readSecretKeys({ PULUMI_CONFIG_SECRET_KEYS: '["capi-mgmt:gitops"]' }), ["capi-mgmt:gitops"]);
        });

        for (const [title, gitops, key, fragment, environment] of refused) {
            it(`refuses ${title}, naming the key`, () => {
                const problems = gitopsProblems(gitops, environment);
                assert.ok(
                    problems.some((p) => p.startsWith(`capi-mgmt:${key}: `) && fragment.test(p)),
                    `expected capi-mgmt:${key} ~ ${fragment}, got:\n${problems.join("\n")}`,
                );
            });
        }

        it("accepts a port-qualified known_hosts entry, a deploy key and an age key", () => {
            assert.deepStrictEqual(
                gitopsProblems(
                    {
                        url: "ssh://git@git.example.com:2222/org/repo",
                        semver: ">=1.0.0 <2.0.0",
                        knownHosts: `# scanned\n${GITHUB_KNOWN_HOSTS.replace("github.com", "[git.example.com]:2222")}`,
                        deployKey: DEPLOY_KEY,
                        sopsAgeKey: `# created: 2026-11-01\n${AGE_KEY}`,
                    },
                    "production",
                ),
                [],
            );
        });
    });

    describe("credential files", () => {
        const auth = { authUrl: "https://keystone.example.test:5000/v3", region: "RegionOne", id: "cred-id", secret: "s3cret#;x" };

        it("clouds.yaml has one application-credential cloud named for the identity", () => {
            const doc = parse(renderCloudsYaml(auth));
            assert.deepStrictEqual(doc, {
                clouds: {
                    [CLOUD_NAME]: {
                        auth_type: "v3applicationcredential",
                        auth: { auth_url: auth.authUrl, application_credential_id: "cred-id", application_credential_secret: "s3cret#;x" },
                        interface: "public",
                        identity_api_version: 3,
                        region_name: "RegionOne",
                    },
                },
            });
        });

        it("cloud.conf quotes what INI would misread and points at the CA file when given", () => {
            const conf = renderCloudConf({ ...auth, caFile: "/etc/config/ca.crt" });
            assert.match(conf, /^\[Global\]\nauth-url=https:\/\/keystone.example.test:5000\/v3\n/);
            assert.match(conf, /\napplication-credential-secret="s3cret#;x"\n/);
            assert.match(conf, /\nregion=RegionOne\nca-file=\/etc\/config\/ca.crt\n$/);
            assert.doesNotMatch(renderCloudConf(auth), /ca-file/);
            assert.throws(() => renderCloudConf({ ...auth, region: "a\nb" }), /single lines/);
        });

        it("takes the public identity endpoint of the region from the catalog", () => {
            const catalog = [
                { type: "compute", endpoints: [{ interface: "public", region: "R1", url: "https://nova" }] },
                {
                    type: "identity",
                    endpoints: [
                        { interface: "internal", region: "R1", url: "http://internal" },
                        { interface: "public", region: "R1", url: "https://k1/v3/" },
                        { interface: "public", region: "R2", url: "https://k2/v3" },
                    ],
                },
            ];
            assert.strictEqual(identityEndpoint(catalog), "https://k1/v3");
            assert.strictEqual(identityEndpoint(catalog, "R2"), "https://k2/v3");
            assert.throws(() => identityEndpoint(catalog.slice(0, 1), "R1"), /no public identity endpoint.*openstack:region/);
        });
    });
});
