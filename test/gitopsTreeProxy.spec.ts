/**
 * The GitOps tree's proxy and registry mirror variables: their schemas, the one mirror patch, and
 * the API endpoint script the class adds to nodes behind a proxy. Shared helpers:
 * gitopsTreeHelpers.ts.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { classVariables, schemaProblems, VariableSchema } from "../render/classVariables";
import { ofKind } from "../render/gitopsRules";
import { assertFailure, assertSuccess, envFileOf, makeTempDir, runScript } from "./fakes/shell";
import { each, environment, literalFile, shellcheckLiteral, TREE, variable } from "./gitopsTreeHelpers";

describe("GitOps tree (gitops/)", () => {
    describe("proxy and registry mirrors", () => {
        const ENDPOINT_SCRIPT = "/usr/local/sbin/capi-mgmt-proxy-api-endpoint";
        const clusterClass = () => ofKind(environment("dev"), "ClusterClass")[0];
        const schema = (name: string) => classVariables(clusterClass()).find((d) => d.name === name)!.schema.openAPIV3Schema;
        // What the class's templates put on the nodes (the proxy's environment file, the mirror
        // script, run under bash; the user data's size at the schema's limits; a user or password
        // refused by the CEL rule), rendered by Cluster API's topology controller and judged by its
        // webhook: test/integration/classNodeFiles.integration.ts.

        each("sets no proxy or mirror variable on the example Clusters", (env) => {
            for (const cluster of ofKind(env, "Cluster")) {
                assert.strictEqual(variable(cluster, "proxy"), undefined);
                assert.strictEqual(variable(cluster, "registryMirrors"), undefined);
            }
        });

        it("refuses bad proxy settings by the schema (a path, another scheme, no proxy at all, a bad noProxy entry)", () => {
            const bad: unknown[] = [
                { http: "http://proxy.example.com:3128/path" },
                { http: "http://proxy.example.com:3128?x=1" },
                { http: "socks5://proxy.example.com:1080" },
                { http: "proxy.example.com:3128" },
                { noProxy: [".example.com"] },
                { http: "http://proxy.example.com:3128", noProxy: ["a b"] },
                { http: "http://proxy.example.com:3128", noProxy: ["http://x.example"] },
                { http: "http://proxy.example.com:3128", user: "me" },
                "http://proxy.example.com:3128",
            ];
            for (const value of bad) {
                assert.notDeepStrictEqual(schemaProblems(value, schema("proxy"), "proxy"), [], JSON.stringify(value));
            }
            for (const ok of [
                { http: "http://10.0.0.1:3128/" },
                { https: "https://[fd00::1]:3128" },
                { http: "http://proxy:8080", noProxy: ["localhost", ".a.example", "10.0.0.0/8", "fd00::/8", "192.0.2.1"] },
            ]) {
                assert.deepStrictEqual(schemaProblems(ok, schema("proxy"), "proxy"), [], JSON.stringify(ok));
            }
        });

        it("has one mirror patch for the whole list, of at most 8 registries", () => {
            const names = (clusterClass().spec.patches as { name: string }[]).map((p) => p.name).filter((n) => n.startsWith("registry-mirror"));
            assert.deepStrictEqual(names, ["registry-mirrors"]);
            assert.strictEqual(schema("registryMirrors").maxItems, 8);
            const all = Array.from({ length: 8 }, (_, i) => ({ registry: `r${i}.example:${5000 + i}`, endpoints: [`https://m${i}.example`] }));
            assert.deepStrictEqual(schemaProblems(all, schema("registryMirrors"), "registryMirrors"), []);
            assert.notDeepStrictEqual(
                schemaProblems([...all, { registry: "one.more", endpoints: ["https://m.example"] }], schema("registryMirrors"), "registryMirrors"),
                [],
            );
        });

        it("lets nothing that could leave the directory or the heredoc reach the mirror script (the schema)", () => {
            const odd = [
                { registry: "EOF", endpoints: ["https://EOF/EOF", "http://[fd00::1]:5000/a.b/_~-/..", "https://x-1.example/"] },
                { registry: "a-1.b-2.c:1", endpoints: ["https://m.example/v2/x"] },
            ];
            assert.deepStrictEqual(schemaProblems(odd, schema("registryMirrors"), "registryMirrors"), []);
            for (const registry of ["..", "a..b", ".docker.io", "docker.io.", "a/../b", "a'b", "a b", "docker.io\nEOF", "$(id)", "-x.example", "x-.example"]) {
                assert.notDeepStrictEqual(
                    schemaProblems([{ registry, endpoints: ["https://m.example"] }], schema("registryMirrors"), "registryMirrors"),
                    [],
                    JSON.stringify(registry),
                );
            }
            for (const endpoint of [
                "https://m.example/a'b",
                'https://m.example/a"b',
                "https://m.example/a b",
                "https://m.example/a\nEOF",
                "https://m.example/$(id)",
                "https://m.example/`id`",
                "https://m.example/a\\b",
            ]) {
                assert.notDeepStrictEqual(
                    schemaProblems([{ registry: "docker.io", endpoints: [endpoint] }], schema("registryMirrors"), "registryMirrors"),
                    [],
                    JSON.stringify(endpoint),
                );
            }
            assert.match(fs.readFileSync(path.join(TREE, "README.md"), "utf8"), /listed twice[^.]*later/);
        });

        it("refuses bad registry mirrors (the schema)", () => {
            const bad: unknown[] = [
                [],
                [{ registry: "docker.io", endpoints: [] }],
                [{ registry: "docker.io" }],
                [{ registry: "https://docker.io", endpoints: ["https://m.example"] }],
                [{ registry: "docker.io/library", endpoints: ["https://m.example"] }],
                [{ registry: "docker.io", endpoints: ["https://user:pw@m.example"] }],
                [{ registry: "docker.io", endpoints: ["https://m.example/?q=1"] }],
                [{ registry: "docker.io", endpoints: ["ftp://m.example"] }],
                [{ registry: "docker.io", endpoints: ["https://m.example"], auth: "x" }],
            ];
            for (const value of bad) {
                assert.notDeepStrictEqual(schemaProblems(value, schema("registryMirrors"), "registryMirrors"), [], JSON.stringify(value));
            }
        });

        it('puts no CEL rule at or under an array variable (Cluster API v1.14\'s webhook refuses the ClusterClass: "unable to convert structural schema to CEL declarations")', () => {
            const underArray = (schema: VariableSchema, inArray: boolean, at: string): string[] => [
                ...(inArray && schema["x-kubernetes-validations"] !== undefined ? [at] : []),
                ...(schema.items ? underArray(schema.items, true, `${at}.items`) : []),
                ...Object.entries(schema.properties ?? {}).flatMap(([k, v]) => underArray(v, inArray, `${at}.${k}`)),
            ];
            const found = classVariables(clusterClass()).flatMap((d) =>
                underArray(d.schema.openAPIV3Schema, d.schema.openAPIV3Schema.type === "array", d.name),
            );
            assert.deepStrictEqual(found, []);
            // The proxy's rules sit on strings of an object, which the webhook accepts.
            assert.ok(classVariables(clusterClass()).find((d) => d.name === "proxy")!.schema.openAPIV3Schema.properties!.http["x-kubernetes-validations"]);
        });

        describe("the API endpoint script", () => {
            let dir: string;
            let script: string;
            beforeEach(() => {
                dir = makeTempDir("proxy-endpoint");
                fs.mkdirSync(path.join(dir, "kubeadm"));
                // The script is a literal of the class's proxy patch; the environment file it reads is
                // rendered from a template (its real content: classNodeFiles.integration.ts).
                script = literalFile(clusterClass(), "proxy", ENDPOINT_SCRIPT).content;
                fs.writeFileSync(
                    path.join(dir, "proxy.env"),
                    "HTTP_PROXY=http://proxy.example.com:3128\nNO_PROXY=localhost,127.0.0.1,.svc,10.6.0.0/24\nno_proxy=localhost,127.0.0.1,.svc,10.6.0.0/24\n",
                );
            });
            const run = () =>
                runScript(script, {
                    PATH: process.env.PATH ?? "/usr/bin:/bin",
                    PROXY_ENV: path.join(dir, "proxy.env"),
                    KUBELET_ENV: path.join(dir, "kubelet.env"),
                    KUBEADM_DIR: path.join(dir, "kubeadm"),
                });
            const kubeletEnv = () => envFileOf(fs.readFileSync(path.join(dir, "kubelet.env"), "utf8"));
            const base = () => envFileOf(fs.readFileSync(path.join(dir, "proxy.env"), "utf8")).NO_PROXY;

            it("passes shellcheck", function () {
                shellcheckLiteral(this, "the proxy endpoint script", path.join(dir, "capi-mgmt-proxy-api-endpoint"), script);
            });

            it("adds the control plane endpoint of kubeadm init's configuration to kubelet's NO_PROXY", () => {
                fs.writeFileSync(
                    path.join(dir, "kubeadm/kubeadm.yaml"),
                    "---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncontrolPlaneEndpoint: 203.0.113.7:6443\nnetworking:\n  podSubnet: 192.168.0.0/16\n---\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 10.6.0.10\n",
                );
                const r = run();
                assertSuccess(r);
                assert.deepStrictEqual(kubeletEnv(), { NO_PROXY: `${base()},203.0.113.7`, no_proxy: `${base()},203.0.113.7` });
                assert.strictEqual(fs.statSync(path.join(dir, "kubelet.env")).mode & 0o777, 0o644);
                // Again (cloud-init re-running it) changes nothing.
                assertSuccess(run());
                assert.strictEqual(kubeletEnv().NO_PROXY, `${base()},203.0.113.7`);
            });

            it("reads kubeadm join's discovery endpoint, and IPv6 in brackets", () => {
                fs.writeFileSync(
                    path.join(dir, "kubeadm/kubeadm-join-config.yaml"),
                    "---\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: '[2001:db8::7]:6443'\n    token: abc\n",
                );
                assertSuccess(run());
                assert.strictEqual(kubeletEnv().NO_PROXY, `${base()},2001:db8::7`);
            });

            it("fails, writing nothing, when kubeadm's configuration names no endpoint", () => {
                fs.writeFileSync(path.join(dir, "kubeadm/kubeadm-join-config.yaml"), "kind: JoinConfiguration\n");
                const r = run();
                assertFailure(r);
                assert.match(r.stderr, /no controlPlaneEndpoint or apiServerEndpoint/);
                assert.ok(!fs.existsSync(path.join(dir, "kubelet.env")));
            });
        });
    });
});
