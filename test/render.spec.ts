import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { mockOpensshKeyPair } from "../render/engine";
import { fluxEnvsubstPath } from "../render/fluxEnvsubst";
import { renderStack, UNSUBSTITUTED_NOTE } from "../render/render";
import { skipTest, shellcheck } from "./fakes/shell";
import { hasTool, listFiles, renderSuiteTmp } from "./renderHelpers";

describe("offline render", function () {
    const tmp = renderSuiteTmp(this);

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
                        "scripts/16-return-to-kind.sh",
                        "scripts/17-cloud-provider-restart.sh",
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
});
