import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CapiProvidersParams, renderCapiProvidersScript } from "../src/cluster/clusterScripts";
import { ClusterFakes, fakeServersRemovedAfterAll } from "./fakes/clusterFakes";
import { fakeReleaseContent, fakeReleaseFiles, NO_RELEASE_PINS } from "./fakes/releaseFakes";
import { assertFailure, assertSuccess, RunResult } from "./fakes/shell";
import { PROVIDER_PARAMS, pinnedProviders, PINNED_ARGS, sha256, fileMode } from "./clusterScriptParams";

/** Fake servers made by this file, removed after its tests. */
const newFakes = fakeServersRemovedAfterAll();

describe("src/host/scripts/capi-providers.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("providers");
        fakes.placeKubeconfig();
    });

    function run(p: Partial<CapiProvidersParams> = {}): RunResult {
        return fakes.run(renderCapiProvidersScript({ ...PROVIDER_PARAMS, ...p }));
    }

    function configFile(): string {
        return path.join(fakes.stateDir, "clusterctl.yaml");
    }

    function clusterctlCalls(): string[] {
        return fakes.callsOf("clusterctl");
    }

    /** clusterctl's local repository on the fake server. */
    function repository(): string {
        return path.join(fakes.stateDir, "clusterctl-repository");
    }

    /** The files of the local repository, relative, sorted. */
    function repositoryFiles(): string[] {
        return fs.existsSync(repository())
            ? (fs.readdirSync(repository(), { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(repository(), f)).isFile()).sort()
            : [];
    }

    const CAPO_COMPONENTS_URL = "https://github.com/kubernetes-sigs/cluster-api-provider-openstack/releases/download/v0.14.7/infrastructure-components.yaml";

    const common = (): string => `--config ${configFile()} --kubeconfig ${fakes.kubeconfig}`;
    const waits = "--wait-providers --wait-provider-timeout 5";

    it("installs every provider at its pinned version on a fresh cluster, ClusterTopology on and cert-manager pinned", () => {
        const r = run();
        assertSuccess(r);
        assert.deepStrictEqual(clusterctlCalls(), [`clusterctl init ${common()} ${PINNED_ARGS} ${waits}`]);
        assert.deepStrictEqual(fakes.providers(), pinnedProviders());
        const config = parse(fs.readFileSync(configFile(), "utf8"));
        const repo = `file://${repository()}`;
        assert.deepStrictEqual(config, {
            CLUSTER_TOPOLOGY: "true",
            providers: [
                { name: "cluster-api", type: "CoreProvider", url: `${repo}/cluster-api/v1.14.0/core-components.yaml` },
                { name: "kubeadm", type: "BootstrapProvider", url: `${repo}/bootstrap-kubeadm/v1.14.0/bootstrap-components.yaml` },
                { name: "kubeadm", type: "ControlPlaneProvider", url: `${repo}/control-plane-kubeadm/v1.14.0/control-plane-components.yaml` },
                { name: "openstack", type: "InfrastructureProvider", url: `${repo}/infrastructure-openstack/v0.14.7/infrastructure-components.yaml` },
                { name: "helm", type: "AddonProvider", url: `${repo}/addon-helm/v0.6.4/addon-components.yaml` },
            ],
            "cert-manager": { url: `${repo}/cert-manager/v1.21.1/cert-manager.yaml`, version: "v1.21.1", timeout: "5s" },
        });
        assert.strictEqual(fileMode(configFile()), 0o600);
        assert.strictEqual(fileMode(fakes.stateDir), 0o700);
        assert.strictEqual(fakes.certManagerVersion(), "v1.21.1");
        assert.match(
            r.stdout,
            /installed with clusterctl init: CoreProvider cluster-api:v1\.14\.0, BootstrapProvider kubeadm:v1\.14\.0, .*AddonProvider helm:v0\.6\.4/,
        );
        assert.match(r.stderr, /no Cluster API provider is installed yet/);
        assert.ok(!r.stdout.includes("successfully"), "clusterctl output goes to stderr");
    });

    it("downloads every release file clusterctl reads into its local repository, each checked against its pin, before clusterctl runs", () => {
        const r = run();
        assertSuccess(r);
        const files = fakeReleaseFiles();
        assert.strictEqual(files.length, 11);
        assert.deepStrictEqual(repositoryFiles(), files.map((f) => `${f.label}/${f.version}/${f.file}`).sort());
        for (const f of files) {
            assert.strictEqual(fs.readFileSync(path.join(repository(), f.label, f.version, f.file), "utf8"), fakeReleaseContent(f.url), f.url);
        }
        const calls = fakes.calls();
        const downloads = calls.filter((l) => l.startsWith("curl "));
        assert.deepStrictEqual(
            downloads.map((l) => l.split(" ").pop()),
            files.map((f) => f.url),
        );
        assert.ok(
            downloads.every((l) => l.includes("--fail") && l.includes("--proto =https")),
            downloads.join("\n"),
        );
        const lastDownload = calls.map((l) => l.startsWith("curl ")).lastIndexOf(true);
        assert.ok(lastDownload < calls.findIndex((l) => l.startsWith("clusterctl ")), "every download before clusterctl");
        assert.doesNotMatch(r.stdout, /unpinned/, "every file pinned here");
        assert.doesNotMatch(r.stderr, /WARNING/);
        // A re-run finds every file in place with its SHA-256 and downloads nothing.
        fakes.clearCalls();
        assertSuccess(run());
        assert.deepStrictEqual(fakes.callsOf("curl"), []);
    });

    it("refuses a release file whose SHA-256 is not its pin: no clusterctl, no config, nothing applied", () => {
        fakes.publish(CAPO_COMPONENTS_URL, fakeReleaseContent(CAPO_COMPONENTS_URL).replace("fake", "evil"));
        const r = run();
        assertFailure(r);
        assert.match(
            r.stderr,
            new RegExp(
                `refused: ${CAPO_COMPONENTS_URL.replace(/\./g, "\\.")} has SHA-256 [0-9a-f]{64}, but ${PROVIDER_PARAMS.releaseSha256.capo["infrastructure-components.yaml"]} is pinned`,
            ),
        );
        assert.match(r.stderr, /capi-providers: ERROR: 1 release file\(s\) differ from their SHA-256 .*nothing was applied/);
        assert.deepStrictEqual(clusterctlCalls(), []);
        assert.deepStrictEqual(fakes.callsOf("kubectl"), [], "not even read: the check comes first");
        assert.ok(!fs.existsSync(configFile()), "no clusterctl config written");
        assert.deepStrictEqual(repositoryFiles(), [], "nothing put in the local repository");
        assert.deepStrictEqual(fakes.providers(), []);
        assert.deepStrictEqual(
            fs.readdirSync(fakes.stateDir).filter((f) => f.includes("staging")),
            [],
            "staging removed",
        );
    });

    it("without pins, trusts this server's first download, prints each file's SHA-256, and refuses a different file later", () => {
        const r = run({ releaseSha256: NO_RELEASE_PINS });
        assertSuccess(r);
        for (const f of fakeReleaseFiles()) {
            const line = `capi-providers: unpinned (trusted on first use): ${f.label}/${f.version}/${f.file} sha256 ${sha256(fakeReleaseContent(f.url))}`;
            assert.ok(r.stdout.split("\n").includes(line), `${line}\n${r.stdout}`);
        }
        assert.match(r.stderr, /WARNING: infrastructure-openstack\/v0\.14\.7\/infrastructure-components\.yaml is not pinned; trusting this first download/);
        // The repository is lost (or tampered with) and upstream now serves another file: refused.
        fs.rmSync(repository(), { recursive: true });
        fakes.publish(CAPO_COMPONENTS_URL, "evil\n");
        fakes.setProviders(pinnedProviders({ InfrastructureProvider: "v0.14.6" }));
        fakes.clearCalls();
        const again = run({ releaseSha256: NO_RELEASE_PINS });
        assertFailure(again);
        assert.match(
            again.stderr,
            /infrastructure-components\.yaml has SHA-256 [0-9a-f]{64}, but [0-9a-f]{64} is what this server's first download had \(not pinned\)/,
        );
        assert.deepStrictEqual(clusterctlCalls(), []);
        assert.strictEqual(fakes.providers().find((p) => p.name === "openstack")?.version, "v0.14.6", "not upgraded");
        // A pin from the stack config wins over the first-use record.
        const pins = { ...NO_RELEASE_PINS, capo: { "infrastructure-components.yaml": sha256("evil\n") } };
        assertSuccess(run({ releaseSha256: pins }));
        assert.strictEqual(fakes.providers().find((p) => p.name === "openstack")?.version, "v0.14.7");
    });

    it("changes nothing when every provider is at its pinned version", () => {
        assertSuccess(run());
        const config = fs.statSync(configFile()).mtimeMs;
        fakes.clearCalls();
        const r = run();
        assertSuccess(r);
        assert.deepStrictEqual(clusterctlCalls(), []);
        assert.match(r.stdout, /^capi-providers: nothing changed: all 5 providers are at the pinned versions/);
        assert.strictEqual(fs.statSync(configFile()).mtimeMs, config, "config file not rewritten");
        assert.deepStrictEqual(
            fakes.callsOf("kubectl").map((l) => l.split(" ").slice(4, 7).join(" ")),
            [
                "get crd providers.clusterctl.cluster.x-k8s.io",
                "get providers.clusterctl.cluster.x-k8s.io -A",
                "get deployments --namespace",
                // Every run keeps the providers' proxy variables as configured (none here): a no-op when they are.
                "get crd providers.clusterctl.cluster.x-k8s.io",
                "get providers.clusterctl.cluster.x-k8s.io -A",
                "--namespace capi-system set",
                "--namespace capi-kubeadm-bootstrap-system set",
                "--namespace capi-kubeadm-control-plane-system set",
                "--namespace capo-system set",
                "--namespace caaph-system set",
            ],
        );
    });

    it("upgrades with the pinned arguments, never init, when CAPO's version changed", () => {
        fakes.setProviders(pinnedProviders({ InfrastructureProvider: "v0.14.6" }));
        fakes.setCertManagerVersion("v1.21.1");
        const r = run();
        assertSuccess(r);
        assert.deepStrictEqual(clusterctlCalls(), [`clusterctl upgrade apply ${common()} ${PINNED_ARGS} ${waits}`]);
        assert.deepStrictEqual(fakes.providers().find((p) => p.name === "openstack")?.version, "v0.14.7");
        assert.match(r.stdout, /upgraded with clusterctl upgrade apply: InfrastructureProvider openstack:v0\.14\.6->v0\.14\.7$/m);
        assert.match(r.stderr, /InfrastructureProvider openstack: installed at v0\.14\.6; will move to v0\.14\.7/);
        fakes.clearCalls();
        assertSuccess(run());
        assert.deepStrictEqual(clusterctlCalls(), [], "converged");
    });

    it("installs only the missing providers", () => {
        fakes.setProviders(pinnedProviders().filter((p) => p.type !== "AddonProvider"));
        fakes.setCertManagerVersion("v1.21.1");
        const r = run();
        assertSuccess(r);
        assert.deepStrictEqual(clusterctlCalls(), [`clusterctl init ${common()} --addon helm:v0.6.4 ${waits}`]);
        assert.deepStrictEqual(
            fakes
                .providers()
                .map((p) => p.type)
                .sort(),
            pinnedProviders()
                .map((p) => p.type)
                .sort(),
        );
        assert.match(r.stdout, /installed with clusterctl init: AddonProvider helm:v0\.6\.4$/m);
    });

    it("upgrades what is installed before installing what is missing", () => {
        fakes.setProviders(
            pinnedProviders({ CoreProvider: "v1.13.2", BootstrapProvider: "v1.13.2", ControlPlaneProvider: "v1.13.2" }).filter(
                (p) => p.type !== "AddonProvider",
            ),
        );
        const r = run();
        assertSuccess(r);
        const installedArgs = PINNED_ARGS.replace(" --addon helm:v0.6.4", "");
        assert.deepStrictEqual(clusterctlCalls(), [
            `clusterctl upgrade apply ${common()} ${installedArgs} ${waits}`,
            `clusterctl init ${common()} --addon helm:v0.6.4 ${waits}`,
        ]);
        assert.deepStrictEqual(
            fakes.providers().sort((a, b) => a.type.localeCompare(b.type)),
            pinnedProviders().sort((a, b) => a.type.localeCompare(b.type)),
        );
    });

    it("moves cert-manager up to its pin even when every provider is current, but never down", () => {
        fakes.setProviders(pinnedProviders());
        fakes.setCertManagerVersion("v1.20.2");
        const r = run();
        assertSuccess(r);
        assert.deepStrictEqual(clusterctlCalls(), [`clusterctl upgrade apply ${common()} ${PINNED_ARGS} ${waits}`]);
        assert.strictEqual(fakes.certManagerVersion(), "v1.21.1");
        fakes.setCertManagerVersion("v1.22.0");
        fakes.clearCalls();
        const newer = run();
        assertSuccess(newer);
        assert.deepStrictEqual(clusterctlCalls(), []);
        assert.match(newer.stderr, /WARNING: cert-manager is at v1\.22\.0, newer than the pinned v1\.21\.1/);
    });

    it("propagates a clusterctl failure with a clear message", () => {
        fakes.failClusterctl('failed to get provider components for the "openstack" provider: rate limit exceeded');
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /rate limit exceeded/);
        assert.match(r.stderr, /capi-providers: ERROR: clusterctl init failed \(exit code 1\)/);
        assert.ok(!r.stdout.includes("installed with"), r.stdout);
    });

    it("propagates clusterctl's refusal to init a provider that is already installed", () => {
        // The inventory was read before another hand installed the core provider.
        fakes.setProviders([]);
        fs.writeFileSync(path.join(fakes.state, "providers"), "");
        const script = renderCapiProvidersScript(PROVIDER_PARAMS).replace(
            "\ninit_providers() {\n",
            `\ninit_providers() {\n    echo "CoreProvider cluster-api v1.14.0 capi-system" >>"${path.join(fakes.state, "providers")}"\n`,
        );
        const r = fakes.run(script);
        assertFailure(r);
        assert.match(r.stderr, /there is already an instance of the "cluster-api" provider/);
        assert.match(r.stderr, /capi-providers: ERROR: clusterctl init failed \(exit code 1\)/);
    });

    it("fails without calling clusterctl when the installed providers cannot be read", () => {
        fakes.setProviders(pinnedProviders());
        fakes.failKubectl("get providers.clusterctl.cluster.x-k8s.io -A");
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /cannot list the installed Cluster API providers/);
        assert.deepStrictEqual(clusterctlCalls(), [], "no clusterctl call after a failed read");
    });

    it("bounds a hanging clusterctl", () => {
        fakes.setProviders(pinnedProviders().filter((p) => p.type !== "AddonProvider"));
        fakes.setCertManagerVersion("v1.21.1");
        fakes.hangClusterctl(30);
        const r = run({ waitTimeoutSeconds: 1 });
        assertFailure(r);
        assert.match(r.stderr, /capi-providers: ERROR: clusterctl init did not finish within 3s/);
    });

    it("fails clearly without a kubeconfig", () => {
        fs.rmSync(fakes.kubeconfig);
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /capi-providers: ERROR: the kubeconfig .* does not exist; the kind step/);
        assert.deepStrictEqual(fakes.calls(), []);
    });
});
