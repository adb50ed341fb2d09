import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { mockOpensshKeyPair } from "../render/engine";
import { fluxEnvsubstPath } from "../render/fluxEnvsubst";
import { readStackConfigFile, renderStack, renderStackReport, UNSUBSTITUTED_NOTE } from "../render/render";
import { PULUMI_CLI_MISSING } from "../render/secrets";
import { skipTest, shellcheck } from "./fakes/shell";
import { fakePulumiCli, SECURE_LEAF } from "./fixtures";
import { PROJECT_DIR } from "./harness";

/** Every file under a directory, relative, sorted. */
function listFiles(dir: string): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) {
                walk(p);
            } else {
                out.push(path.relative(dir, p));
            }
        }
    };
    walk(dir);
    return out.sort();
}

function hasTool(name: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}

describe("offline render", function () {
    this.timeout(60000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-render-"));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    for (const stack of ["dev", "prod"]) {
        describe(`stack ${stack}`, () => {
            const a = path.join(tmp, `${stack}-a`);
            const b = path.join(tmp, `${stack}-b`);
            before(async () => {
                await renderStack({ stack, outDir: a });
                await renderStack({ stack, outDir: b });
            });

            it("writes resources, user-data and the scripts in run order", () => {
                assert.deepStrictEqual(
                    listFiles(a).filter((f) => !f.startsWith("manifests/") && !f.startsWith("gitops/")),
                    [
                        "kind-config.yaml",
                        "outputs.json",
                        "resources.json",
                        "scripts/01-wait-ready.sh",
                        "scripts/02-metadata-block.sh",
                        "scripts/03-host-proxy.sh",
                        "scripts/04-install-tools.sh",
                        "scripts/05-backup-volume.sh",
                        "scripts/06-backup.sh",
                        "scripts/07-backup-before-upgrade.sh",
                        "scripts/08-kind-cluster.sh",
                        "scripts/09-workload-teardown.sh",
                        "scripts/10-orc.sh",
                        "scripts/11-cert-renewal.sh",
                        "scripts/12-capi-providers.sh",
                        "scripts/13-api-cert-expiry.sh",
                        "scripts/14-kubeconfig.sh",
                        "scripts/15-lb-cleanup.sh",
                        "scripts/16-cloud-provider-restart.sh",
                        "user-data.yaml",
                    ],
                );
                const doc = JSON.parse(fs.readFileSync(path.join(a, "resources.json"), "utf8"));
                assert.ok(doc.resources.length > 20);
                for (const r of doc.resources) {
                    assert.deepStrictEqual(Object.keys(r), ["type", "name", "parent", "dependsOn", "options", "inputs"]);
                }
                assert.deepStrictEqual(
                    doc.downloads.map((d: { name: string }) => d.name),
                    ["kind", "kubectl", "clusterctl", "helm", "flux", "sonobuoy"],
                );
                assert.strictEqual(doc.versions.capo, "v0.14.7");
            });

            it("writes the environment's GitOps tree as Flux will apply it", () => {
                assert.deepStrictEqual(
                    listFiles(a).filter((f) => f.startsWith("gitops/")),
                    [
                        "gitops/addons.yaml",
                        "gitops/cluster-classes.yaml",
                        "gitops/flux-system.yaml",
                        "gitops/node-images.yaml",
                        "gitops/workload-clusters.yaml",
                    ],
                );
                // gitops/topology/ comes from the test bed's topology controller, asked for with --topology
                // (test/integration/stacks.integration.ts proves it).
                const clusters = fs.readFileSync(path.join(a, "gitops/workload-clusters.yaml"), "utf8");
                const root = fs.readFileSync(path.join(a, "gitops/flux-system.yaml"), "utf8");
                if (fluxEnvsubstPath().path !== undefined) {
                    // Flux's own substitution (the test bed's flux-envsubst).
                    assert.match(clusters, /namespace: clusters\n/);
                    assert.match(clusters, /- 192\.0\.2\.10\/32\n/, "the management address is not substituted");
                    assert.doesNotMatch(clusters + root, /\$\{|NOT substituted/);
                } else {
                    // Without it, the objects as written, and every file says so on its first line.
                    for (const text of [clusters, root]) {
                        assert.ok(text.startsWith(`${UNSUBSTITUTED_NOTE}\n`), text.slice(0, 200));
                    }
                    assert.match(clusters, /namespace: \$\{WORKLOAD_NAMESPACE\}\n/);
                    assert.match(clusters, /- \$\{MANAGEMENT_EGRESS_CIDR\}\n/);
                }
                assert.match(fs.readFileSync(path.join(a, "gitops/flux-system.yaml"), "utf8"), new RegExp(`path: ./workloads/${stack}\n`));
            });

            it("is byte-identical when rendered twice", () => {
                for (const f of listFiles(a)) {
                    assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), f);
                }
            });

            it("redacts secrets and leaks no generated private key but the host key placeholder", () => {
                const all = listFiles(a)
                    .map((f) => fs.readFileSync(path.join(a, f), "utf8"))
                    .join("\n");
                assert.doesNotMatch(all, /mock-app-credential-secret/);
                const keyLine = (seed: string) => mockOpensshKeyPair(seed).privateKeyOpenssh.split("\n")[2];
                assert.ok(!all.includes(keyLine("login")), "the login private key was rendered");
                const resources = fs.readFileSync(path.join(a, "resources.json"), "utf8");
                assert.match(resources, /"userData": "\[secret\]"/);
                assert.ok(!resources.includes(keyLine("host")), "the host private key is in resources.json");
            });

            it("user-data passes cloud-init schema", function () {
                if (!hasTool("cloud-init")) {
                    skipTest(this, "the rendered user-data's schema check", "cloud-init");
                }
                const r = spawnSync("cloud-init", ["schema", "--config-file", path.join(a, "user-data.yaml")], { encoding: "utf8" });
                assert.strictEqual(r.status, 0, r.stdout + r.stderr);
            });

            it("every script passes shellcheck", function () {
                if (!hasTool("shellcheck")) {
                    skipTest(this, "shellcheck of the rendered scripts", "shellcheck");
                }
                shellcheck(
                    listFiles(a)
                        .filter((f) => f.endsWith(".sh"))
                        .map((f) => path.join(a, f)),
                );
            });
        });
    }

    it("records every option that shapes a change or a destroy in resources.json", async () => {
        await renderStack({ stack: "dev", outDir: path.join(tmp, "options") });
        const doc = JSON.parse(fs.readFileSync(path.join(tmp, "options", "resources.json"), "utf8"));
        const entry = (type: string, name: string) => doc.resources.find((r: { type: string; name: string }) => r.type === type && r.name === name);
        const options = (type: string, name: string) => entry(type, name).options;
        assert.deepStrictEqual(options("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "kustomization"), {
            deletedWith: "command:remote:Command::kind-cluster",
            retainOnDelete: true,
            provider: "pulumi:providers:kubernetes::management-cluster",
        });
        assert.deepStrictEqual(options("pulumi:providers:kubernetes", "management-cluster").providerSettings, {
            deleteUnreachable: "true",
            enableConfigMapMutable: "true",
            enableSecretMutable: "true",
            kubeconfig: "[secret]",
        });
        assert.deepStrictEqual(options("command:remote:Command", "install-tools").triggers, ["server-id"]);
        assert.deepStrictEqual(options("command:remote:Command", "kind-cluster").deleteBeforeReplace, true);
        assert.ok(options("openstack:compute/instance:Instance", "server").ignoreChanges.includes("imageId"));
        // And what the simulated cloud made up.
        assert.strictEqual(doc.simulated.floatingIp, "192.0.2.10");
        assert.match(doc.simulated.rolesHeld, /member/);
    });

    describe("secrets set with --path (nested secure values), opened by the Pulumi CLI", () => {
        const AGE_KEY = `AGE-SECRET-KEY-1${"Q".repeat(58)}`;
        let dir: string;
        let deployKey: string;
        let gitops: Record<string, unknown>;
        before(() => {
            dir = fs.mkdtempSync(path.join(tmp, "secure-"));
            deployKey = mockOpensshKeyPair("a deploy key set with --path").privateKeyOpenssh;
            const dev = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> };
            gitops = dev.config["capi-mgmt:gitops"];
            // What `pulumi config set --secret --path 'capi-mgmt:gitops.deployKey'` leaves in the file.
            dev.config["capi-mgmt:gitops"] = { ...gitops, deployKey: SECURE_LEAF, sopsAgeKey: SECURE_LEAF };
            fs.writeFileSync(path.join(dir, "Pulumi.sec.yaml"), toYaml({ encryptionsalt: "v1:c2FsdA==:v1:bm9uY2U=:c2VhbGVk", config: dev.config }));
        });

        /** The fake CLI opening the gitops key as the real one does: the whole object, leaves decrypted. */
        function cli(env: Record<string, string> = {}) {
            return fakePulumiCli({ "capi-mgmt:gitops": { ...gitops, deployKey, sopsAgeKey: AGE_KEY } }, env);
        }

        it("reads them as the CLI opens them, in the project directory, for the stack, with the user's secrets settings: the key secret", () => {
            const fake = cli({ PULUMI_CONFIG_PASSPHRASE: "correct horse battery staple" });
            const file = readStackConfigFile(dir, "sec", fake.env);
            const opened = JSON.parse(file.config["capi-mgmt:gitops"]);
            assert.strictEqual(opened.deployKey, deployKey);
            assert.strictEqual(opened.sopsAgeKey, AGE_KEY);
            assert.strictEqual(opened.url, "ssh://git@github.com/example-org/capi-gitops");
            assert.deepStrictEqual(file.secretKeys, ["capi-mgmt:gitops"]);
            assert.deepStrictEqual(file.placeholders, []);
            // Keys without secure values are the file's own.
            assert.strictEqual(file.config["capi-mgmt:flavor"], "SCS-4V-16");
            assert.deepStrictEqual(fs.readFileSync(fake.log, "utf8").split("\n"), [
                "args: config --show-secrets --json --stack sec",
                `cwd: ${dir}`,
                "passphrase: set",
                "",
            ]);
        });

        it("fails with the CLI's own words when it cannot open them (a wrong passphrase), naming the file", () => {
            assert.throws(
                () => readStackConfigFile(dir, "sec", cli({ FAKE_PULUMI_FAIL: "incorrect passphrase" }).env),
                (e: Error) =>
                    e.message ===
                    `${path.join(dir, "Pulumi.sec.yaml")}: cannot open its secure values: pulumi config --show-secrets --json --stack sec failed (exit 255): incorrect passphrase`,
            );
        });

        it("without the CLI, reads placeholders of the right shape and says the CLI is missing; no CLI is asked for a stack without secrets", () => {
            const empty = fs.mkdtempSync(path.join(tmp, "no-cli-"));
            const file = readStackConfigFile(dir, "sec", { PATH: empty });
            assert.deepStrictEqual(file.placeholders, ["capi-mgmt:gitops.deployKey", "capi-mgmt:gitops.sopsAgeKey"]);
            assert.match(JSON.parse(file.config["capi-mgmt:gitops"]).deployKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
            const fake = cli({ FAKE_PULUMI_FAIL: "must not be asked" });
            assert.doesNotThrow(() => readStackConfigFile(PROJECT_DIR, "dev", fake.env));
            assert.ok(!fs.existsSync(fake.log), "the CLI was run for a stack without secure values");
        });

        it("renders with the CLI, and without it from placeholders, saying plainly what is missing", async () => {
            const withCli = await renderStackReport({ stack: "sec", outDir: path.join(dir, "out-a"), projectDir: dir, env: cli().env });
            assert.deepStrictEqual(
                withCli.warnings.filter((w) => /placeholder/.test(w)),
                [],
            );
            assert.ok(
                withCli.warnings.some((w) => /gitops\/topology\/ not written: .*real topology controller .*--topology/.test(w)),
                withCli.warnings.join("\n"),
            );
            assert.ok(withCli.files.some((f) => /sops-age/.test(f)));
            const without = await renderStackReport({
                stack: "sec",
                outDir: path.join(dir, "out-b"),
                projectDir: dir,
                env: { PATH: fs.mkdtempSync(path.join(tmp, "no-cli-")) },
            });
            assert.ok(
                without.warnings.some(
                    (w) =>
                        w ===
                        `secure values not decrypted: ${PULUMI_CLI_MISSING}; rendered with placeholders of the right shape: capi-mgmt:gitops.deployKey, capi-mgmt:gitops.sopsAgeKey`,
                ),
                without.warnings.join("\n"),
            );
            assert.match(PULUMI_CLI_MISSING, /Pulumi CLI \(`pulumi`\) is not installed/);
            const all = listFiles(path.join(dir, "out-a"))
                .map((f) => fs.readFileSync(path.join(dir, "out-a", f), "utf8"))
                .join("\n");
            assert.ok(!all.includes(deployKey.split("\n")[2]), "the deploy key was written out");
        });
    });

    it("reports keys under a misspelt namespace", async () => {
        const dir = fs.mkdtempSync(path.join(tmp, "typo-"));
        const dev = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8");
        fs.writeFileSync(path.join(dir, "Pulumi.typo.yaml"), dev.replace("  capi-mgmt:flavor:", "  capi_mgmt:flavor:"));
        await assert.rejects(
            renderStack({ stack: "typo", outDir: path.join(dir, "out"), projectDir: dir }),
            (e: Error) => /capi_mgmt:flavor: "capi_mgmt" is not "capi-mgmt"/.test(e.message) && /capi-mgmt:flavor: is required/.test(e.message),
        );
    });

    it("warns when gitops.path is not in the project's tree", async () => {
        const dir = fs.mkdtempSync(path.join(tmp, "nopath-"));
        fs.writeFileSync(
            path.join(dir, "Pulumi.np.yaml"),
            fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8").replace("path: ./clusters/dev", "path: ./clusters/elsewhere"),
        );
        const report = await renderStackReport({ stack: "np", outDir: path.join(dir, "out"), projectDir: dir });
        assert.ok(
            report.warnings.some((w) => /gitops.path .\/clusters\/elsewhere is not in this project's gitops\/ tree/.test(w)),
            report.warnings.join("\n"),
        );
    });

    it("without the test bed's flux-envsubst, writes the GitOps objects unsubstituted and says so in a warning and in each file", async () => {
        const saved = process.env.CAPI_MGMT_TESTBED_CACHE;
        process.env.CAPI_MGMT_TESTBED_CACHE = fs.mkdtempSync(path.join(tmp, "no-testbed-"));
        try {
            const out = path.join(tmp, "unsubstituted");
            const report = await renderStackReport({ stack: "dev", outDir: out });
            assert.ok(
                report.warnings.some((w) => /^gitops\/ NOT substituted: .*flux-envsubst/.test(w)),
                report.warnings.join("\n"),
            );
            const gitops = listFiles(out).filter((f) => f.startsWith("gitops/"));
            assert.ok(gitops.length >= 5, gitops.join());
            for (const f of gitops) {
                assert.ok(fs.readFileSync(path.join(out, f), "utf8").startsWith(`${UNSUBSTITUTED_NOTE}\n`), f);
            }
            assert.match(fs.readFileSync(path.join(out, "gitops/workload-clusters.yaml"), "utf8"), /- \$\{MANAGEMENT_EGRESS_CIDR\}\n/);
        } finally {
            if (saved === undefined) delete process.env.CAPI_MGMT_TESTBED_CACHE;
            else process.env.CAPI_MGMT_TESTBED_CACHE = saved;
        }
    });

    it("fails on bad config exactly like pulumi up, naming the key", async () => {
        const dir = fs.mkdtempSync(path.join(tmp, "project-"));
        const prod = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8");
        fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), prod.replace("10.10.0.0/24", "10.10.0.0/33"));
        await assert.rejects(
            renderStack({ stack: "bad", outDir: path.join(dir, "out"), projectDir: dir }),
            /capi-mgmt:nodeCidr: "10.10.0.0\/33" is not a valid IPv4 CIDR/,
        );
        assert.ok(!fs.existsSync(path.join(dir, "out")));
    });

    it("fails on a GitOps tree that breaks the tree's rules, naming the cluster, and writes nothing", async () => {
        const dir = fs.mkdtempSync(path.join(tmp, "tree-"));
        fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), path.join(dir, "Pulumi.dev.yaml"));
        fs.cpSync(path.join(PROJECT_DIR, "gitops"), path.join(dir, "gitops"), { recursive: true });
        const example = path.join(dir, "gitops", "workloads", "base", "workload-1.yaml");
        fs.writeFileSync(example, fs.readFileSync(example, "utf8").replace("replicas: 1\n    workers", "replicas: 2\n    workers"));
        await assert.rejects(
            renderStack({ stack: "dev", outDir: path.join(dir, "out"), projectDir: dir }),
            /gitops\/clusters\/dev breaks the tree's rules[\s\S]*Cluster workload-1: 2 control plane nodes/,
        );
        assert.ok(!fs.existsSync(path.join(dir, "out")));
    });

    it("refuses a private key written in plain text in the stack file, as pulumi up does", async () => {
        const dir = fs.mkdtempSync(path.join(tmp, "plain-"));
        const dev = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> };
        dev.config["capi-mgmt:gitops"].deployKey = mockOpensshKeyPair("pasted in plain text").privateKeyOpenssh;
        fs.writeFileSync(path.join(dir, "Pulumi.plain.yaml"), toYaml(dev));
        await assert.rejects(
            renderStack({ stack: "plain", outDir: path.join(dir, "out"), projectDir: dir }),
            /capi-mgmt:gitops\.deployKey: is set in plain text/,
        );
        assert.ok(!fs.existsSync(path.join(dir, "out")));
    });

    it("names the stack file, line and column of a YAML syntax error, writing nothing", async () => {
        const dir = fs.mkdtempSync(path.join(tmp, "yaml-"));
        const dev = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8");
        fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), dev.replace("  capi-mgmt:flavor:", "  capi-mgmt:flavor: [\n  capi-mgmt:flavour:"));
        await assert.rejects(renderStack({ stack: "broken", outDir: path.join(dir, "out"), projectDir: dir }), (e: Error) => {
            assert.match(e.message, /Pulumi\.broken\.yaml: not valid YAML: .* at line \d+, column \d+/);
            return true;
        });
        assert.ok(!fs.existsSync(path.join(dir, "out")));
    });

    it("runs as a command with a non-zero exit and no stack trace on bad config", function () {
        const dir = fs.mkdtempSync(path.join(tmp, "cli-"));
        const r = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(PROJECT_DIR, "render/render.ts"), "--stack", "nope", "--out", dir],
            { cwd: PROJECT_DIR, encoding: "utf8" },
        );
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /render failed: no stack config file .*Pulumi\.nope\.yaml/);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
    });

    it("fails a preflight problem (roles not held) as a listed error: no stack trace, nothing written, no success message", function () {
        const dir = fs.mkdtempSync(path.join(tmp, "roles-"));
        const prod = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8");
        fs.writeFileSync(
            path.join(dir, "Pulumi.roles.yaml"),
            prod.replace("  # capi-mgmt:appCredential:", "  capi-mgmt:appCredential:\n    roles: [admin]\n  #"),
        );
        const out = path.join(dir, "out");
        const r = spawnSync(
            process.execPath,
            [
                "-r",
                "ts-node/register/transpile-only",
                "-e",
                `require(${JSON.stringify(path.join(PROJECT_DIR, "render/render.ts"))}).main(["--stack", "roles", "--out", ${JSON.stringify(out)}], ${JSON.stringify(dir)})`,
            ],
            { cwd: PROJECT_DIR, encoding: "utf8" },
        );
        assert.strictEqual(r.status, 1, r.stdout + r.stderr);
        assert.match(
            r.stderr,
            /render failed: preflight refused this run \(1 problem\)[^]*\n {2}- capi-mgmt:appCredential.roles: admin is not a role you hold/,
        );
        assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at /);
        assert.doesNotMatch(r.stdout, /rendered stack/);
        assert.ok(!fs.existsSync(out), "output was written");
    });
});
