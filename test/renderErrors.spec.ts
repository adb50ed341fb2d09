/** The offline render refusing bad input as pulumi up does, and its warnings. */
import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { mockOpensshKeyPair } from "../render/engine";
import { renderStack, renderStackReport, UNSUBSTITUTED_NOTE } from "../render/render";
import { PROJECT_DIR } from "./harness";
import { listFiles, renderSuiteTmp } from "./renderHelpers";

describe("offline render", function () {
    const tmp = renderSuiteTmp(this);
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
