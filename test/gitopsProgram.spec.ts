import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { PLANNED_CACHE_DIR } from "../src/versions/releaseCache";
import { DEFAULT_VERSIONS } from "../src/versions/versions";
import {
    CAPO_IDENTITY_NAME,
    CLOUD_CONFIG_LABEL,
    CLOUD_NAME,
    FLUX_SETTINGS_CONFIGMAP,
    FLUX_SETTINGS_KEYS,
    ORC_CREDENTIALS_SECRET,
} from "../src/shared/contract";
import { isSecretValue, mockOpensshKeyPair, RecordedResource, valueOf } from "../render/engine";
import { renderStack } from "../render/render";
import { fakePulumiCli, SECURE_LEAF, TEST_CA_PEM } from "./fixtures";
import { Run, runStack } from "./harness";
import { GITHUB_KNOWN_HOSTS, DEPLOY_KEY, AGE_KEY, GITOPS, input } from "./gitopsParams";

describe("gitops", function () {
    this.timeout(60000);

    describe("program (mock engine)", () => {
        let dev: Run;
        let prod: Run;
        let withKeys: Run;
        before(async () => {
            dev = await runStack("dev");
            prod = await runStack("prod");
            withKeys = await runStack("dev", {
                gitops: JSON.stringify({ ...GITOPS, deployKey: DEPLOY_KEY, sopsAgeKey: AGE_KEY }),
                caCert: TEST_CA_PEM,
            });
        });

        const cr = (run: Run, kind: string) => run.resources.find((r) => r.type.endsWith(`:${kind}`) && r.custom)!;
        const secretNamed = (run: Run, name: string) => run.one("kubernetes:core/v1:Secret", name);

        it("dev follows a branch, prod a semver range, each on its own path", () => {
            assert.deepStrictEqual((input(cr(dev, "GitRepository"), "spec") as { ref: unknown }).ref, { branch: "main" });
            assert.deepStrictEqual((input(cr(prod, "GitRepository"), "spec") as { ref: unknown }).ref, { semver: ">=1.0.0" });
            assert.strictEqual((input(cr(dev, "Kustomization"), "spec") as { path: string }).path, "./clusters/dev");
            assert.strictEqual((input(cr(prod, "Kustomization"), "spec") as { path: string }).path, "./clusters/prod");
            assert.strictEqual((input(cr(prod, "Kustomization"), "spec") as { prune: boolean }).prune, true);
        });

        it("installs the pinned Flux release from its verified local copy (never the URL), upgraded in place with the version", async () => {
            const install = dev.one("kubernetes:yaml/v2:ConfigFile");
            // The content-addressed cache's file of the pinned SHA-256 (plannedReleases: nothing read here).
            assert.strictEqual(input(install, "file"), `${PLANNED_CACHE_DIR}/sha256/${DEFAULT_VERSIONS.fluxManifestSha256}`);
            const pin = "e".repeat(64);
            const bumped = await runStack("dev", { versions: JSON.stringify({ flux: { version: "v2.9.5", sha256: "f".repeat(64), manifestSha256: pin } }) });
            assert.strictEqual(input(bumped.one("kubernetes:yaml/v2:ConfigFile"), "file"), `${PLANNED_CACHE_DIR}/sha256/${pin}`);
            assert.strictEqual(bumped.one("kubernetes:yaml/v2:ConfigFile").urn, install.urn);
        });

        it("waits for Ready with a given deploy key and not with a generated one", async () => {
            for (const kind of ["GitRepository", "Kustomization"]) {
                const waiting = (input(cr(withKeys, kind), "metadata") as { annotations: Record<string, string> }).annotations;
                assert.strictEqual(waiting["pulumi.com/waitFor"], "condition=Ready", kind);
                assert.ok(Number(waiting["pulumi.com/timeoutSeconds"]) > 0);
                const skipping = (input(cr(dev, kind), "metadata") as { annotations: Record<string, string> }).annotations;
                assert.deepStrictEqual(skipping, { "pulumi.com/skipAwait": "true" }, kind);
            }
            assert.strictEqual(dev.all("tls:index/privateKey:PrivateKey").filter((k) => k.name === "deploy-key").length, 1);
            assert.strictEqual(withKeys.all("tls:index/privateKey:PrivateKey").filter((k) => k.name === "deploy-key").length, 0);
            assert.strictEqual(await valueOf(withKeys.outputs.deployPublicKey), mockOpensshKeyPair("test deploy key").publicKeyOpenssh.trim());
            assert.match(await valueOf(dev.outputs.deployPublicKey), /^ssh-ed25519 /);
        });

        it("gives Flux the deploy key, its public half and known_hosts; SOPS its age key", () => {
            const git = input(secretNamed(withKeys, "git-credentials"), "stringData") as Record<string, string>;
            assert.strictEqual(git.identity, DEPLOY_KEY);
            assert.strictEqual(git["identity.pub"].trim(), mockOpensshKeyPair("test deploy key").publicKeyOpenssh.trim());
            assert.strictEqual(git.known_hosts, GITHUB_KNOWN_HOSTS + "\n");
            assert.deepStrictEqual(input(secretNamed(withKeys, "sops-age"), "stringData"), { "age.agekey": AGE_KEY + "\n" });
            assert.deepStrictEqual((input(cr(withKeys, "Kustomization"), "spec") as { decryption: unknown }).decryption, {
                provider: "sops",
                secretRef: { name: "sops-age" },
            });
            assert.strictEqual(dev.all("kubernetes:core/v1:Secret").filter((s) => s.name === "sops-age").length, 0);
        });

        it("hands the tree its settings: the workload namespace and the management egress address", async () => {
            const settings = dev.one("kubernetes:core/v1:ConfigMap", "settings");
            assert.deepStrictEqual(input(settings, "metadata"), { name: FLUX_SETTINGS_CONFIGMAP, namespace: "flux-system" });
            const address = await valueOf(dev.outputs.floatingIp);
            assert.deepStrictEqual(input(settings, "data"), {
                [FLUX_SETTINGS_KEYS.workloadNamespace]: "clusters",
                [FLUX_SETTINGS_KEYS.managementEgressCidr]: `${address}/32`,
            });
            const other = await runStack("dev", { gitops: JSON.stringify({ ...GITOPS, workloadNamespace: "capi-workloads" }) });
            const data = input(other.one("kubernetes:core/v1:ConfigMap", "settings"), "data") as Record<string, string>;
            assert.strictEqual(data[FLUX_SETTINGS_KEYS.workloadNamespace], "capi-workloads");

            const root = cr(dev, "Kustomization");
            assert.deepStrictEqual((input(root, "spec") as { postBuild: unknown }).postBuild, {
                substituteFrom: [{ kind: "ConfigMap", name: FLUX_SETTINGS_CONFIGMAP }],
            });
            assert.ok(root.dependsOn.includes(settings.urn), "the root Kustomization would start before its settings exist");
        });

        it("places CAPO's identity, ORC's credentials and the cloud config for workload clusters", () => {
            const identity = cr(withKeys, "OpenStackClusterIdentity");
            assert.deepStrictEqual(input(identity, "metadata"), { name: CAPO_IDENTITY_NAME });
            const capo = input(secretNamed(withKeys, "capo-credentials"), "stringData") as Record<string, string>;
            const clouds = parse(capo["clouds.yaml"]).clouds[CLOUD_NAME];
            assert.strictEqual(clouds.auth.application_credential_secret, "mock-app-credential-secret-capi");
            assert.strictEqual(clouds.auth.auth_url, "https://keystone.example.test:5000/v3");
            assert.strictEqual(capo.cacert, TEST_CA_PEM.trim() + "\n");
            const orc = secretNamed(withKeys, "orc-credentials");
            assert.deepStrictEqual(input(orc, "metadata"), {
                name: ORC_CREDENTIALS_SECRET,
                namespace: "clusters",
                labels: { "clusterctl.cluster.x-k8s.io/move": "true" },
            });
            assert.deepStrictEqual(input(orc, "stringData"), capo);

            const crs = cr(withKeys, "ClusterResourceSet");
            const spec = input(crs, "spec") as { strategy: string; clusterSelector: unknown };
            assert.strictEqual(spec.strategy, "Reconcile");
            assert.deepStrictEqual(spec.clusterSelector, { matchLabels: { [CLOUD_CONFIG_LABEL.key]: CLOUD_CONFIG_LABEL.value } });
            const resourceSecret = secretNamed(withKeys, "cloud-config");
            assert.strictEqual(input(resourceSecret, "type"), "addons.cluster.x-k8s.io/resource-set");
            const inner = parse((input(resourceSecret, "stringData") as Record<string, string>)["cloud-config.yaml"]);
            assert.deepStrictEqual(inner.metadata, { name: "cloud-config", namespace: "kube-system" });
            assert.match(inner.stringData["cloud.conf"], /application-credential-secret=mock-app-credential-secret-cloud-provider/);
            assert.match(inner.stringData["cloud.conf"], /ca-file=\/etc\/config\/ca.crt/);
            assert.strictEqual(inner.stringData["ca.crt"], TEST_CA_PEM.trim() + "\n");
            assert.doesNotMatch(inner.stringData["cloud.conf"], /mock-app-credential-secret-capi/);
            // The same credential as clouds.yaml for OCCM, whose cloud.conf is per cluster (the tree's); its CA inside OCCM's mount.
            const occm = parse(inner.stringData["clouds.yaml"]).clouds.openstack;
            assert.strictEqual(occm.auth.application_credential_secret, "mock-app-credential-secret-cloud-provider");
            assert.strictEqual(occm.auth.auth_url, "https://keystone.example.test:5000/v3");
            assert.strictEqual(occm.cacert, "/etc/openstack-credentials/ca.crt");
        });

        it("keeps every credential and key a Pulumi secret", () => {
            for (const run of [dev, withKeys]) {
                for (const s of run.all("kubernetes:core/v1:Secret")) {
                    assert.ok(isSecretValue(s.inputs.stringData), `${s.name} data is not secret`);
                }
            }
        });

        it("builds the Kubernetes provider from the kubeconfig alone, tolerant of a vanished cluster; every object uses it", () => {
            const provider = dev.one("pulumi:providers:kubernetes");
            assert.ok(provider.dependsOn.includes(dev.one("command:remote:Command", "kubeconfig").urn));
            assert.ok(!dev.dependsOn(provider, dev.one("command:remote:Command", "capi-providers")), "the provider waits for Cluster API");
            // Deletes against a cluster that is gone (new server generation, new node image) succeed.
            assert.ok([true, "true"].includes(input(provider, "deleteUnreachable") as string | boolean), "deleteUnreachable is not set");
            for (const r of dev.resources.filter((x) => x.custom && x.type.startsWith("kubernetes:"))) {
                assert.ok(r.options.provider?.startsWith(provider.urn), `${r.name} does not use the management cluster provider`);
                assert.strictEqual(
                    r.options.deletedWith,
                    dev.one("command:remote:Command", "kind-cluster").urn,
                    `${r.name} is not deleted with the kind cluster`,
                );
            }
        });

        it("installs Flux and its Secrets while ORC and Cluster API install; only what needs their CRDs waits", () => {
            for (const run of [dev, withKeys]) {
                const orc = run.one("command:remote:Command", "orc");
                const providers = run.one("command:remote:Command", "capi-providers");
                const waits = (r: RecordedResource) => run.dependsOn(r, orc) || run.dependsOn(r, providers);
                const early = [
                    run.one("kubernetes:yaml/v2:ConfigFile"),
                    cr(run, "GitRepository"),
                    run.one("kubernetes:core/v1:ConfigMap", "settings"),
                    run.one("kubernetes:core/v1:Namespace"),
                    ...run.all("kubernetes:core/v1:Secret").filter((x) => x.name !== "capo-credentials"),
                ];
                for (const r of early) {
                    assert.ok(!waits(r), `${r.type} ${r.name} waits for ORC or Cluster API`);
                    // Every object waits for the cluster through its provider, which the SDK registers (with
                    // the kubeconfig resolved) before the object; the install is a packaged component whose
                    // provider reference the recorder does not see.
                    const provider = run.one("pulumi:providers:kubernetes");
                    if (r.type !== "kubernetes:yaml/v2:ConfigFile") {
                        assert.ok(r.options.provider?.startsWith(provider.urn), `${r.name} does not use the cluster's provider`);
                    }
                    assert.ok(run.dependsOn(provider, run.one("command:remote:Command", "kubeconfig")));
                }
                // capo-system is created by clusterctl init; the identity and the ClusterResourceSet are CAPO/CAPI kinds.
                for (const r of [secretNamed(run, "capo-credentials"), cr(run, "OpenStackClusterIdentity"), cr(run, "ClusterResourceSet")]) {
                    assert.ok(run.dependsOn(r, providers), `${r.type} ${r.name} does not wait for Cluster API`);
                }
                // The root Kustomization applies ORC Images and Clusters, which need ORC, CAPI and the identity.
                const sync = cr(run, "Kustomization");
                for (const dep of [orc, providers, cr(run, "OpenStackClusterIdentity"), cr(run, "ClusterResourceSet"), cr(run, "GitRepository")]) {
                    assert.ok(run.dependsOn(sync, dep), `the root Kustomization does not wait for ${dep.name}`);
                }
            }
        });

        it("never has Pulumi delete Flux's objects or the workload namespace (retained, or gone with the kind cluster)", () => {
            for (const r of [
                dev.one("kubernetes:yaml/v2:ConfigFile"),
                cr(dev, "GitRepository"),
                cr(dev, "Kustomization"),
                secretNamed(dev, "git-credentials"),
                dev.one("kubernetes:core/v1:ConfigMap", "settings"),
                dev.one("kubernetes:core/v1:Namespace"),
                secretNamed(withKeys, "sops-age"),
            ]) {
                assert.strictEqual(r.options.retainOnDelete, true, `${r.type} ${r.name} is not retained on delete`);
            }
            // Even if the root Kustomization is deleted behind Pulumi's back, what it applied stays.
            assert.strictEqual((input(cr(dev, "Kustomization"), "spec") as { deletionPolicy: string }).deletionPolicy, "Orphan");
        });

        it("renders manifests with no credential in clear", async () => {
            const out = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-gitops-"));
            try {
                const project = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-project-"));
                const dev = parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
                // Both keys as `pulumi config set --secret --path` leaves them in the file, opened by the (fake) Pulumi CLI.
                const gitops = { ...GITOPS, deployKey: SECURE_LEAF, sopsAgeKey: SECURE_LEAF };
                const config = { ...dev.config, "capi-mgmt:gitops": gitops, "capi-mgmt:caCert": TEST_CA_PEM };
                fs.writeFileSync(path.join(project, "Pulumi.keys.yaml"), stringify({ config }));
                const { env } = fakePulumiCli({ "capi-mgmt:gitops": { ...GITOPS, deployKey: DEPLOY_KEY, sopsAgeKey: AGE_KEY } });
                const files = await renderStack({ stack: "keys", outDir: out, projectDir: project, env });
                const manifests = files.filter((f) => f.startsWith("manifests/"));
                assert.strictEqual(manifests.length, 11);
                const all = files.map((f) => fs.readFileSync(path.join(out, f), "utf8")).join("\n");
                for (const leak of [
                    DEPLOY_KEY.split("\n")[2],
                    AGE_KEY,
                    "mock-app-credential-secret",
                    // As a clouds.yaml or cloud.conf holds them (src/host/scripts/lb-cleanup.sh reads the key by name).
                    "application_credential_secret:",
                    "application-credential-secret=",
                ]) {
                    assert.ok(!all.includes(leak), `render output contains ${leak}`);
                }
                const git = parse(fs.readFileSync(path.join(out, manifests.find((m) => m.includes("secret-git-credentials"))!), "utf8"));
                assert.deepStrictEqual(git.stringData, { identity: "[secret]", "identity.pub": "[secret]", known_hosts: "[secret]" });
            } finally {
                fs.rmSync(out, { recursive: true, force: true });
            }
        });
    });
});
