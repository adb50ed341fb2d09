import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { mockOpensshKeyPair } from "../render/engine";
import { renderStack } from "../render/render";
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
                assert.deepStrictEqual(listFiles(a).filter((f) => !f.startsWith("manifests/") && !f.startsWith("gitops/")), [
                    "kind-config.yaml",
                    "resources.json",
                    "scripts/01-wait-ready.sh",
                    "scripts/02-install-tools.sh",
                    "scripts/03-kind-cluster.sh",
                    "scripts/04-api-cert-expiry.sh",
                    "scripts/05-orc.sh",
                    "scripts/06-kubeconfig.sh",
                    "scripts/07-capi-providers.sh",
                    "scripts/08-workload-teardown.sh",
                    "user-data.yaml",
                ]);
                const doc = JSON.parse(fs.readFileSync(path.join(a, "resources.json"), "utf8"));
                assert.ok(doc.resources.length > 20);
                for (const r of doc.resources) {
                    assert.deepStrictEqual(Object.keys(r), ["type", "name", "parent", "dependsOn", "options", "inputs"]);
                }
                assert.deepStrictEqual(doc.downloads.map((d: { name: string }) => d.name), ["kind", "kubectl", "clusterctl", "helm", "flux"]);
                assert.strictEqual(doc.versions.capo, "v0.14.7");
            });

            it("writes the environment's GitOps tree as Flux will apply it", () => {
                assert.deepStrictEqual(listFiles(a).filter((f) => f.startsWith("gitops/")), [
                    "gitops/addons.yaml",
                    "gitops/cluster-classes.yaml",
                    "gitops/flux-system.yaml",
                    "gitops/node-images.yaml",
                    "gitops/topology/workload-1.yaml",
                    "gitops/workload-clusters.yaml",
                ]);
                const clusters = fs.readFileSync(path.join(a, "gitops/workload-clusters.yaml"), "utf8");
                assert.match(clusters, /namespace: clusters\n/);
                assert.match(clusters, /- 192\.0\.2\.10\/32\n/, "the management address is not substituted");
                assert.doesNotMatch(clusters + fs.readFileSync(path.join(a, "gitops/flux-system.yaml"), "utf8"), /\$\{/);
                assert.match(fs.readFileSync(path.join(a, "gitops/flux-system.yaml"), "utf8"), new RegExp(`path: ./workloads/${stack}\n`));
            });

            it("is byte-identical when rendered twice", () => {
                for (const f of listFiles(a)) {
                    assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), f);
                }
            });

            it("redacts secrets and leaks no generated private key but the host key placeholder", () => {
                const all = listFiles(a).map((f) => fs.readFileSync(path.join(a, f), "utf8")).join("\n");
                assert.doesNotMatch(all, /mock-app-credential-secret/);
                const keyLine = (seed: string) => mockOpensshKeyPair(seed).privateKeyOpenssh.split("\n")[2];
                assert.ok(!all.includes(keyLine("login")), "the login private key was rendered");
                const resources = fs.readFileSync(path.join(a, "resources.json"), "utf8");
                assert.match(resources, /"userData": "\[secret\]"/);
                assert.ok(!resources.includes(keyLine("host")), "the host private key is in resources.json");
            });

            it("user-data passes cloud-init schema", function () {
                if (!hasTool("cloud-init")) {
                    console.warn("    (skipped: cloud-init is not installed; .ci/run installs it)");
                    this.skip();
                }
                const r = spawnSync("cloud-init", ["schema", "--config-file", path.join(a, "user-data.yaml")], { encoding: "utf8" });
                assert.strictEqual(r.status, 0, r.stdout + r.stderr);
            });

            it("every script passes shellcheck", function () {
                if (!hasTool("shellcheck")) {
                    console.warn("    (skipped: shellcheck is not installed; .ci/run installs it)");
                    this.skip();
                }
                const scripts = listFiles(a).filter((f) => f.endsWith(".sh")).map((f) => path.join(a, f));
                const r = spawnSync("shellcheck", ["-S", "style", ...scripts], { encoding: "utf8" });
                assert.strictEqual(r.status, 0, r.stdout + r.stderr);
            });
        });
    }

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
});
