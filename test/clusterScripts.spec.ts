import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import {
    CapiProvidersParams,
    KIND_CLUSTER_ID_PREFIX,
    KindClusterParams,
    renderApiCertExpiryScript,
    renderCapiProvidersScript,
    renderKindClusterScript,
    renderKubeconfigScript,
    renderOrcScript,
} from "../src/cluster/clusterScripts";
import { HOST_SCRIPTS_DIR, HOST_STATE_DIR, renderHostScript, SERVER_KUBECONFIG } from "../src/host/hostScripts";
import { ClusterFakes, FAKE_ORC_CRDS, FAKE_ORC_MANIFEST, fakeServersRemovedAfterAll, FakeProvider, orcManifestUrl } from "./fakes/clusterFakes";
import { fakeReleaseContent, fakeReleaseFiles, fakeReleasePins, NO_RELEASE_PINS } from "./fakes/releaseFakes";
import { assertFailure, assertSuccess, hasShellcheck, installFake, RunResult, shellcheck, skipTest } from "./fakes/shell";

const CLUSTER_SCRIPTS = ["api-cert-expiry.sh", "capi-providers.sh", "kind-cluster.sh", "kubeconfig.sh", "orc.sh"];

const NODE_IMAGE = `kindest/node:v1.36.1@sha256:${"3".repeat(64)}`;
const NEW_NODE_IMAGE = `kindest/node:v1.36.3@sha256:${"4".repeat(64)}`;
const ORC_URL = "https://github.com/k-orc/openstack-resource-controller/releases/download/v2.6.0/install.yaml";
/** SHA-256 of the fake ORC manifest, as a pin would give it. */
const FAKE_ORC_MANIFEST_SHA256 = crypto.createHash("sha256").update(FAKE_ORC_MANIFEST).digest("hex");
/** The label clusterctl move (v1.14) lists CRDs by: it looks only at the kinds whose CRD has it. */
const CLUSTERCTL_LABEL = "clusterctl.cluster.x-k8s.io";

/** A kind config like src/cluster/kindConfig.ts renders, with a quote to exercise the shell quoting. */
const KIND_CONFIG = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: mgmt
networking:
  apiServerAddress: 0.0.0.0
  apiServerPort: 6443
nodes:
  - role: control-plane
    image: ${NODE_IMAGE}
kubeadmConfigPatches:
  - |
    kind: ClusterConfiguration
    apiServer:
      certSANs:
        - 192.0.2.10
# the operator's note: $(touch pwned) \`x\`
`;

const KIND_PARAMS: KindClusterParams = { clusterName: "mgmt", nodeImage: NODE_IMAGE, kindConfig: KIND_CONFIG };

const PROVIDER_PARAMS: CapiProvidersParams = {
    clusterApi: "v1.14.0",
    capo: "v0.14.7",
    caaph: "v0.6.4",
    certManager: "v1.21.1",
    releaseSha256: fakeReleasePins(),
    waitTimeoutSeconds: 5,
};

/** The providers as `clusterctl init` installs them at PROVIDER_PARAMS. */
function pinnedProviders(overrides: Partial<Record<string, string>> = {}): FakeProvider[] {
    const all: FakeProvider[] = [
        { type: "CoreProvider", name: "cluster-api", version: "v1.14.0", namespace: "capi-system" },
        { type: "BootstrapProvider", name: "kubeadm", version: "v1.14.0", namespace: "capi-kubeadm-bootstrap-system" },
        { type: "ControlPlaneProvider", name: "kubeadm", version: "v1.14.0", namespace: "capi-kubeadm-control-plane-system" },
        { type: "InfrastructureProvider", name: "openstack", version: "v0.14.7", namespace: "capo-system" },
        { type: "AddonProvider", name: "helm", version: "v0.6.4", namespace: "caaph-system" },
    ];
    return all.map((p) => ({ ...p, version: overrides[p.type] ?? p.version }));
}

const PINNED_ARGS =
    "--core cluster-api:v1.14.0 --bootstrap kubeadm:v1.14.0 --control-plane kubeadm:v1.14.0 " + "--infrastructure openstack:v0.14.7 --addon helm:v0.6.4";

/** Fake servers made by this file, removed after its tests. */
const newFakes = fakeServersRemovedAfterAll();

function sha256(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}

function fileMode(file: string): number {
    return fs.statSync(file).mode & 0o777;
}

/** The id the kind step must print for a kind cluster: SHA-256 of its CA data. */
function expectedId(fakes: ClusterFakes, name = "mgmt"): string {
    const m = /certificate-authority-data: (\S+)/.exec(fakes.kindKubeconfig(name));
    assert.ok(m, "fake kubeconfig has CA data");
    return `${KIND_CLUSTER_ID_PREFIX}${sha256(m[1])}\n`;
}

describe("cluster scripts: rendering", () => {
    it("renders kind-cluster with the server paths and the multi-line config, quoted safely", () => {
        const script = renderKindClusterScript(KIND_PARAMS);
        const lines = script.split("\n");
        assert.strictEqual(lines[0], "#!/usr/bin/env bash");
        assert.match(lines[1], /^# .*rendered by capi-mgmt.*host\/kind-cluster\.sh/);
        assert.strictEqual(lines[2], "readonly CLUSTER_NAME='mgmt'");
        assert.strictEqual(lines[3], `readonly NODE_IMAGE='${NODE_IMAGE}'`);
        // The test config has a literal $(...): shellcheck is told it is meant (src/host/hostScripts.ts).
        assert.strictEqual(lines[4], "# shellcheck disable=SC2016 # a literal value, never expanded");
        assert.ok(lines[5].startsWith("readonly KIND_CONFIG='kind: Cluster"), lines[5]);
        assert.ok(script.includes(`\nreadonly STATE_DIR='${HOST_STATE_DIR}'\n`));
        assert.ok(script.includes(`\nreadonly KUBECONFIG_PATH='${SERVER_KUBECONFIG}'\n`));
        // The rendered header gives bash exactly the config, quotes and $(...) included.
        const header = script.slice(0, script.indexOf("readonly KUBECONFIG_PATH"));
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-quote-"));
        try {
            const r = spawnSync("bash", ["-c", `${header}\nprintf '%s' "$KIND_CONFIG"`], { encoding: "utf8", cwd: dir });
            assert.strictEqual(r.stdout, KIND_CONFIG);
            assert.deepStrictEqual(fs.readdirSync(dir), [], "nothing in the config was executed");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("renders every script deterministically with its parameters", () => {
        assert.strictEqual(renderKindClusterScript(KIND_PARAMS), renderKindClusterScript(KIND_PARAMS));
        const kubeconfig = renderKubeconfigScript({ clusterName: "mgmt", apiEndpoint: "192.0.2.10:6443" });
        assert.deepStrictEqual(kubeconfig.split("\n").slice(2, 4), ["readonly CLUSTER_NAME='mgmt'", "readonly API_ENDPOINT='192.0.2.10:6443'"]);
        assert.strictEqual(renderApiCertExpiryScript({ clusterName: "mgmt" }).split("\n")[2], "readonly CLUSTER_NAME='mgmt'");
        assert.deepStrictEqual(renderOrcScript({ version: "v2.6.0", waitTimeoutSeconds: 300 }).split("\n").slice(2, 6), [
            "readonly ORC_VERSION='v2.6.0'",
            "readonly ORC_MANIFEST_SHA256=''",
            `readonly KUBECONFIG_PATH='${SERVER_KUBECONFIG}'`,
            "readonly WAIT_TIMEOUT_SECONDS='300'",
        ]);
        assert.strictEqual(
            renderOrcScript({ version: "v2.6.0", manifestSha256: "a".repeat(64), waitTimeoutSeconds: 300 }).split("\n")[3],
            `readonly ORC_MANIFEST_SHA256='${"a".repeat(64)}'`,
        );
        assert.deepStrictEqual(renderCapiProvidersScript(PROVIDER_PARAMS).split("\n").slice(2, 9), [
            "readonly CLUSTER_API_VERSION='v1.14.0'",
            "readonly CAPO_VERSION='v0.14.7'",
            "readonly CAAPH_VERSION='v0.6.4'",
            "readonly CERT_MANAGER_VERSION='v1.21.1'",
            `readonly STATE_DIR='${HOST_STATE_DIR}'`,
            `readonly KUBECONFIG_PATH='${SERVER_KUBECONFIG}'`,
            "readonly WAIT_TIMEOUT_SECONDS='5'",
        ]);
        const releaseFiles = /^readonly RELEASE_FILES='([^']*)'$/m.exec(
            renderCapiProvidersScript({ ...PROVIDER_PARAMS, releaseSha256: { ...NO_RELEASE_PINS, certManager: { "cert-manager.yaml": "b".repeat(64) } } }),
        );
        assert.ok(releaseFiles);
        const lines = releaseFiles[1].split("\n");
        assert.strictEqual(lines.length, 11);
        assert.strictEqual(
            lines[0],
            "cluster-api v1.14.0 core-components.yaml https://github.com/kubernetes-sigs/cluster-api/releases/download/v1.14.0/core-components.yaml -",
        );
        assert.strictEqual(
            lines[10],
            `cert-manager v1.21.1 cert-manager.yaml https://github.com/cert-manager/cert-manager/releases/download/v1.21.1/cert-manager.yaml ${"b".repeat(64)}`,
        );
    });

    it("prints the id line with KIND_CLUSTER_ID_PREFIX", () => {
        assert.strictEqual(KIND_CLUSTER_ID_PREFIX, "kind-cluster-id: ");
        assert.ok(renderKindClusterScript(KIND_PARAMS).includes(`readonly ID_PREFIX="${KIND_CLUSTER_ID_PREFIX}"`));
    });

    it("allows a multi-line value only for a parameter named in multiLine", () => {
        const params = { CLUSTER_NAME: "mgmt", NODE_IMAGE, KIND_CONFIG, STATE_DIR: "/s", KUBECONFIG_PATH: "/s/k" };
        assert.throws(() => renderHostScript("kind-cluster.sh", params), /KIND_CONFIG must be a single line/);
        assert.throws(
            () => renderHostScript("kind-cluster.sh", { ...params, NODE_IMAGE: "a\nb" }, { multiLine: ["KIND_CONFIG"] }),
            /NODE_IMAGE must be a single line/,
        );
        assert.ok(renderHostScript("kind-cluster.sh", params, { multiLine: ["KIND_CONFIG"] }).includes("kind: ClusterConfiguration"));
    });

    it("rejects bad kind parameters", () => {
        const bad: Array<[Partial<KindClusterParams>, RegExp]> = [
            [{ clusterName: "Mgmt" }, /clusterName must be a kind cluster name/],
            [{ clusterName: "-mgmt" }, /clusterName/],
            [{ clusterName: "a".repeat(51) }, /clusterName/],
            [{ clusterName: "mgmt x" }, /clusterName/],
            [{ nodeImage: "kindest/node:v1 x" }, /nodeImage must be an image reference/],
            [{ nodeImage: "kindest/node'x" }, /nodeImage/],
            [{ nodeImage: "" }, /nodeImage/],
            [{ kindConfig: " \n " }, /kindConfig must be a non-empty/],
            [{ kindConfig: "kind: Cluster\r\n" }, /KIND_CONFIG contains a control character/],
            [{ kindConfig: "kind:\tCluster\n" }, /control character/],
        ];
        for (const [change, message] of bad) {
            assert.throws(() => renderKindClusterScript({ ...KIND_PARAMS, ...change }), message, JSON.stringify(change));
        }
    });

    it("accepts host names, IPv4 and bracketed IPv6 endpoints, and rejects anything else", () => {
        for (const apiEndpoint of ["192.0.2.10:6443", "mgmt.example.org:443", "[2001:db8::10]:6443"]) {
            assert.ok(renderKubeconfigScript({ clusterName: "mgmt", apiEndpoint }).includes(`'${apiEndpoint}'`));
        }
        for (const apiEndpoint of [
            "192.0.2.10",
            "2001:db8::10:6443",
            "[2001:db8::zz]:6443",
            "192.0.2.10:0",
            "192.0.2.10:65536",
            "192.0.2.10:06443",
            "https://192.0.2.10:6443",
            "a#b:6443",
            "a&b:6443",
            "-x..y:6443",
            "",
        ]) {
            assert.throws(() => renderKubeconfigScript({ clusterName: "mgmt", apiEndpoint }), /apiEndpoint must be host:port/, apiEndpoint);
        }
        assert.throws(() => renderApiCertExpiryScript({ clusterName: "mgmt;" }), /clusterName/);
    });

    it("rejects bad versions and waits", () => {
        assert.throws(() => renderOrcScript({ version: "2.6.0", waitTimeoutSeconds: 5 }), /ORC version must be a release like v1\.2\.3/);
        assert.throws(() => renderOrcScript({ version: "v2.6.0", waitTimeoutSeconds: 0 }), /waitTimeoutSeconds/);
        assert.throws(() => renderOrcScript({ version: "v2.6.0", waitTimeoutSeconds: 1.5 }), /waitTimeoutSeconds/);
        for (const manifestSha256 of ["A".repeat(64), "a".repeat(63), `${"a".repeat(64)}'`, ""]) {
            assert.throws(
                () => renderOrcScript({ version: "v2.6.0", manifestSha256, waitTimeoutSeconds: 5 }),
                /ORC manifest SHA-256 must be 64 lowercase hex digits/,
                manifestSha256,
            );
        }
        const bad: Array<[Partial<CapiProvidersParams>, RegExp]> = [
            [{ clusterApi: "latest" }, /Cluster API version/],
            [{ capo: "v0.14" }, /CAPO version/],
            [{ caaph: "v0.6.4 --addon x" }, /CAAPH version/],
            [{ certManager: "v1.21.1\n" }, /cert-manager version/],
            [{ waitTimeoutSeconds: 86401 }, /waitTimeoutSeconds/],
        ];
        for (const [change, message] of bad) {
            assert.throws(() => renderCapiProvidersScript({ ...PROVIDER_PARAMS, ...change }), message);
        }
    });
});

describe("cluster scripts: shellcheck", () => {
    before(function () {
        if (!hasShellcheck()) {
            skipTest(this, "the shellcheck tests of the cluster scripts", "shellcheck");
        }
    });

    it("passes on the sources", () => {
        shellcheck(CLUSTER_SCRIPTS.map((f) => path.join(HOST_SCRIPTS_DIR, f)));
    });

    it("passes on the rendered scripts", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-shellcheck-"));
        try {
            const rendered: Record<string, string> = {
                // A realistic config: the test one carries "$(...)" on purpose, which shellcheck flags (SC2016).
                "kind-cluster.sh": renderKindClusterScript({ ...KIND_PARAMS, kindConfig: KIND_CONFIG.replace(/^# .*\n/m, "") }),
                "kubeconfig.sh": renderKubeconfigScript({ clusterName: "mgmt", apiEndpoint: "[2001:db8::10]:6443" }),
                "api-cert-expiry.sh": renderApiCertExpiryScript({ clusterName: "mgmt" }),
                "orc.sh": renderOrcScript({ version: "v2.6.0", waitTimeoutSeconds: 300 }),
                "capi-providers.sh": renderCapiProvidersScript(PROVIDER_PARAMS),
            };
            assert.deepStrictEqual(Object.keys(rendered).sort(), CLUSTER_SCRIPTS);
            const files = Object.entries(rendered).map(([name, text]) => {
                const file = path.join(dir, name);
                fs.writeFileSync(file, text);
                return file;
            });
            shellcheck(files);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("src/host/scripts/kind-cluster.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("kind");
    });

    function run(p: Partial<KindClusterParams> = {}): RunResult {
        return fakes.run(renderKindClusterScript({ ...KIND_PARAMS, ...p }));
    }

    function configFile(): string {
        return path.join(fakes.stateDir, "kind-config.yaml");
    }

    function specFile(): string {
        return path.join(fakes.stateDir, "kind-cluster.spec");
    }

    function createsAndDeletes(): string[] {
        return fakes.calls().filter((l) => /^kind (create|delete) cluster/.test(l));
    }

    it("creates a fresh cluster, writes the config, records the spec, and prints only the id line", () => {
        const r = run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, expectedId(fakes));
        assert.match(r.stdout, /^kind-cluster-id: [0-9a-f]{64}\n$/);
        assert.deepStrictEqual(fakes.kindClusters(), ["mgmt"]);
        assert.strictEqual(fakes.kindImage("mgmt"), NODE_IMAGE);
        assert.strictEqual(fs.readFileSync(configFile(), "utf8"), KIND_CONFIG);
        assert.strictEqual(fileMode(configFile()), 0o600);
        assert.strictEqual(fileMode(fakes.stateDir), 0o700);
        assert.strictEqual(fileMode(fakes.kubeconfig), 0o600);
        assert.strictEqual(fs.readFileSync(fakes.kubeconfig, "utf8"), fakes.kindKubeconfig("mgmt"));
        const spec = fs.readFileSync(specFile(), "utf8");
        assert.match(spec, /^spec-sha256=[0-9a-f]{64}$/m);
        assert.ok(spec.includes(`node-image=${NODE_IMAGE}\n`), spec);
        assert.strictEqual(fileMode(specFile()), 0o600);
        const creates = fakes.callsOf("kind", "create cluster");
        assert.strictEqual(creates.length, 1);
        for (const arg of ["--name mgmt", `--image ${NODE_IMAGE}`, `--config ${configFile()}`, `--kubeconfig ${fakes.kubeconfig}`, "--wait 5m"]) {
            assert.ok(creates[0].includes(arg), `${arg} missing in: ${creates[0]}`);
        }
        assert.deepStrictEqual(fakes.callsOf("kubectl"), [], "a fresh cluster has nothing to check");
        assert.match(r.stderr, /kind-cluster: there is no kind cluster named mgmt; creating it/);
        assert.ok(!fs.existsSync("pwned") && !fs.existsSync(path.join(fakes.root, "pwned")));
    });

    it("changes nothing on a second run and prints the same id", () => {
        const first = run();
        assertSuccess(first);
        const config = fs.statSync(configFile()).mtimeMs;
        const spec = fs.readFileSync(specFile(), "utf8");
        fakes.clearCalls();
        const second = run();
        assertSuccess(second);
        assert.strictEqual(second.stdout, first.stdout);
        assert.deepStrictEqual(createsAndDeletes(), []);
        assert.deepStrictEqual(fakes.callsOf("kind", "export"), []);
        assert.deepStrictEqual(fakes.callsOf("kubectl"), []);
        assert.strictEqual(fs.statSync(configFile()).mtimeMs, config);
        assert.strictEqual(fs.readFileSync(specFile(), "utf8"), spec);
        assert.match(second.stderr, /nothing to change/);
    });

    it("exports the kubeconfig again when it is missing, without touching the cluster", () => {
        assertSuccess(run());
        fs.rmSync(fakes.kubeconfig);
        fakes.clearCalls();
        const r = run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, expectedId(fakes));
        assert.deepStrictEqual(createsAndDeletes(), []);
        assert.deepStrictEqual(fakes.callsOf("kind", "export kubeconfig"), [`kind export kubeconfig --name mgmt --kubeconfig ${fakes.kubeconfig}`]);
        assert.strictEqual(fs.readFileSync(fakes.kubeconfig, "utf8"), fakes.kindKubeconfig("mgmt"));
        assert.strictEqual(fileMode(fakes.kubeconfig), 0o600);
    });

    it("exports the kubeconfig again when the node's admin.conf holds a renewed client certificate (same CA)", () => {
        assertSuccess(run());
        const before = fs.readFileSync(fakes.kubeconfig, "utf8");
        // `kubeadm certs renew all` rewrites admin.conf, which kind reads: a new client certificate and key.
        const kindFile = path.join(fakes.state, "kind", "mgmt", "kubeconfig");
        fs.writeFileSync(
            kindFile,
            fakes
                .kindKubeconfig("mgmt")
                .replace(/client-certificate-data: \S+/, "client-certificate-data: cmVuZXdlZC1jZXJ0")
                .replace(/client-key-data: \S+/, "client-key-data: cmVuZXdlZC1rZXk="),
        );
        fakes.clearCalls();
        const r = run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, expectedId(fakes), "the cluster's id (its CA) is unchanged");
        assert.deepStrictEqual(createsAndDeletes(), []);
        assert.deepStrictEqual(fakes.callsOf("kind", "export kubeconfig"), [`kind export kubeconfig --name mgmt --kubeconfig ${fakes.kubeconfig}`]);
        const after = fs.readFileSync(fakes.kubeconfig, "utf8");
        assert.notStrictEqual(after, before);
        assert.match(after, /client-certificate-data: cmVuZXdlZC1jZXJ0\n/);
        assert.strictEqual(fileMode(fakes.kubeconfig), 0o600);
        // And a run after that changes nothing again.
        fakes.clearCalls();
        assertSuccess(run());
        assert.deepStrictEqual(fakes.callsOf("kind", "export"), []);
    });

    it("recreates the cluster for a new node image when it manages no Cluster API Cluster", () => {
        const first = run();
        assertSuccess(first);
        fakes.clearCalls();
        const r = run({ nodeImage: NEW_NODE_IMAGE });
        assertSuccess(r);
        assert.deepStrictEqual(
            createsAndDeletes().map((l) => l.split(" ").slice(0, 3).join(" ")),
            ["kind delete cluster", "kind create cluster"],
            "deleted, then created",
        );
        assert.strictEqual(fakes.kindImage("mgmt"), NEW_NODE_IMAGE);
        assert.strictEqual(r.stdout, expectedId(fakes));
        assert.notStrictEqual(r.stdout, first.stdout, "a new cluster has a new id");
        assert.ok(fs.readFileSync(specFile(), "utf8").includes(`node-image=${NEW_NODE_IMAGE}\n`));
        assert.match(r.stderr, new RegExp(`node image changes from ${NODE_IMAGE} to ${NEW_NODE_IMAGE}`.replace(/[.]/g, "\\.")));
        // Checked first: Cluster API's CRD is not there, so no Cluster can exist.
        assert.deepStrictEqual(fakes.callsOf("kubectl"), [
            `kubectl --kubeconfig ${fakes.kubeconfig} --request-timeout=30s get crd clusters.cluster.x-k8s.io --ignore-not-found -o name`,
        ]);
        // And idempotent afterwards.
        fakes.clearCalls();
        assertSuccess(run({ nodeImage: NEW_NODE_IMAGE }));
        assert.deepStrictEqual(createsAndDeletes(), []);
    });

    it("recreates the cluster for a changed config when Cluster API is installed but has no Cluster", () => {
        assertSuccess(run());
        fakes.setCapiClusters([]);
        fakes.clearCalls();
        const kindConfig = KIND_CONFIG.replace("192.0.2.10", "192.0.2.20");
        const r = run({ kindConfig });
        assertSuccess(r);
        assert.strictEqual(createsAndDeletes().length, 2);
        assert.strictEqual(fs.readFileSync(configFile(), "utf8"), kindConfig);
        assert.strictEqual(fakes.callsOf("kubectl", "--kubeconfig").filter((l) => l.includes(" get clusters.cluster.x-k8s.io -A --no-headers")).length, 1);
        assert.match(r.stderr, /kind config changed/);
    });

    it("refuses to recreate a cluster that manages Cluster API Clusters, naming them and changing nothing", () => {
        const first = run();
        assertSuccess(first);
        fakes.setCapiClusters(["default/wl-1", "team-a/wl-2"]);
        const config = fs.readFileSync(configFile(), "utf8");
        const spec = fs.readFileSync(specFile(), "utf8");
        const kubeconfig = fs.readFileSync(fakes.kubeconfig, "utf8");
        fakes.clearCalls();
        const r = run({ nodeImage: NEW_NODE_IMAGE });
        assertFailure(r);
        assert.strictEqual(r.stdout, "", "no id line: nothing new to read");
        assert.match(r.stderr, /kind cluster mgmt would have to be recreated/);
        assert.match(r.stderr, /default\/wl-1/);
        assert.match(r.stderr, /team-a\/wl-2/);
        assert.match(r.stderr, /would orphan them/);
        assert.match(r.stderr, /Nothing was changed/);
        assert.match(r.stderr, /revert capi-mgmt:versions\.nodeImage/);
        assert.match(r.stderr, /clusterctl move/);
        assert.match(r.stderr, /'Version bumps' \(nodeImage\) in docs\/operations\.md/);
        assert.deepStrictEqual(createsAndDeletes(), []);
        assert.strictEqual(fakes.kindImage("mgmt"), NODE_IMAGE);
        assert.strictEqual(fs.readFileSync(configFile(), "utf8"), config);
        assert.strictEqual(fs.readFileSync(specFile(), "utf8"), spec);
        assert.strictEqual(fs.readFileSync(fakes.kubeconfig, "utf8"), kubeconfig);
        // The old spec still applies cleanly.
        fakes.clearCalls();
        const back = run();
        assertSuccess(back);
        assert.strictEqual(back.stdout, first.stdout);
    });

    it("fails, changing nothing, when kubectl cannot tell whether Cluster API is installed", () => {
        assertSuccess(run());
        fakes.failKubectl("get crd");
        fakes.clearCalls();
        const r = run({ nodeImage: NEW_NODE_IMAGE });
        assertFailure(r);
        assert.match(r.stderr, /The connection to the server .* was refused/);
        assert.match(r.stderr, /kind-cluster: ERROR: cannot ask kind cluster mgmt whether Cluster API is installed.*nothing was changed/);
        assert.deepStrictEqual(createsAndDeletes(), []);
        assert.strictEqual(fakes.kindImage("mgmt"), NODE_IMAGE);
        assert.strictEqual(r.stdout, "");
    });

    it("fails, changing nothing, when listing the Clusters fails for another reason than a missing CRD", () => {
        assertSuccess(run());
        fakes.setCapiClusters([]);
        fakes.failKubectl("get clusters.cluster.x-k8s.io");
        fakes.clearCalls();
        const r = run({ nodeImage: NEW_NODE_IMAGE });
        assertFailure(r);
        assert.match(r.stderr, /cannot list the Cluster API Clusters in kind cluster mgmt.*nothing was changed/);
        assert.deepStrictEqual(createsAndDeletes(), []);
        assert.strictEqual(fakes.kindImage("mgmt"), NODE_IMAGE);
    });

    it("treats a cluster without a recorded spec as changed", () => {
        assertSuccess(run());
        fs.rmSync(specFile());
        fakes.setCapiClusters(["default/wl-1"]);
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /no spec is recorded/);
        assert.match(r.stderr, /default\/wl-1/);
        fakes.setCapiClusters([]);
        fakes.clearCalls();
        assertSuccess(run());
        assert.strictEqual(createsAndDeletes().length, 2);
    });

    it("cleans up and fails clearly when kind create fails", () => {
        fakes.failKindCreate("could not pull the node image");
        const r = run();
        assertFailure(r);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /could not pull the node image/);
        assert.match(r.stderr, /kind-cluster: ERROR: creating kind cluster mgmt failed/);
        assert.match(r.stderr, /docker ps -a/);
        assert.deepStrictEqual(fakes.kindClusters(), [], "the half-created cluster was deleted");
        assert.ok(!fs.existsSync(specFile()), "no spec recorded");
    });
});

describe("src/host/scripts/kubeconfig.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("kubeconfig");
    });

    it("prints only the kubeconfig, with the server rewritten to the endpoint", () => {
        assertSuccess(fakes.run(renderKindClusterScript(KIND_PARAMS)));
        const r = fakes.run(renderKubeconfigScript({ clusterName: "mgmt", apiEndpoint: "192.0.2.10:6443" }));
        assertSuccess(r);
        const original = fakes.kindKubeconfig("mgmt");
        assert.strictEqual(r.stdout, original.replace("    server: https://0.0.0.0:6443\n", "    server: https://192.0.2.10:6443\n"));
        const doc = parse(r.stdout);
        assert.deepStrictEqual(
            doc.clusters.map((c: { cluster: { server: string } }) => c.cluster.server),
            ["https://192.0.2.10:6443"],
        );
        assert.ok(!r.stderr.includes("client-key-data") && !r.stderr.includes("Y2xpZW50LWtleQ"), "no secret in the logs");
        assert.deepStrictEqual(
            fakes
                .calls()
                .filter((l) => !l.startsWith("kind create") && !l.startsWith("kind get clusters"))
                .slice(-1),
            ["kind get kubeconfig --name mgmt"],
        );
    });

    it("writes a bracketed IPv6 endpoint", () => {
        assertSuccess(fakes.run(renderKindClusterScript(KIND_PARAMS)));
        const r = fakes.run(renderKubeconfigScript({ clusterName: "mgmt", apiEndpoint: "[2001:db8::10]:6443" }));
        assertSuccess(r);
        assert.strictEqual(parse(r.stdout).clusters[0].cluster.server, "https://[2001:db8::10]:6443");
    });

    it("fails clearly, printing nothing, when the cluster does not exist", () => {
        const r = fakes.run(renderKubeconfigScript({ clusterName: "mgmt", apiEndpoint: "192.0.2.10:6443" }));
        assertFailure(r);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /kubeconfig: ERROR: there is no kind cluster named mgmt on this server; the kind step/);
    });
});

describe("src/host/scripts/api-cert-expiry.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("cert-expiry");
    });

    it("prints the notAfter of the API server certificate as RFC 3339 UTC", function () {
        if (spawnSync("openssl", ["version"], { encoding: "utf8" }).status !== 0) {
            skipTest(this, "the real certificate test", "openssl");
        }
        const dir = path.join(fakes.root, "cert");
        fs.mkdirSync(dir);
        const gen = spawnSync(
            "openssl",
            [
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                path.join(dir, "key"),
                "-out",
                path.join(dir, "crt"),
                "-days",
                "365",
                "-subj",
                "/CN=kube-apiserver",
            ],
            { encoding: "utf8" },
        );
        assert.strictEqual(gen.status, 0, gen.stderr);
        const pem = fs.readFileSync(path.join(dir, "crt"), "utf8");
        fakes.setApiServerCertificate(pem);
        assertSuccess(fakes.run(renderKindClusterScript(KIND_PARAMS)));
        const r = fakes.run(renderApiCertExpiryScript({ clusterName: "mgmt" }));
        assertSuccess(r);
        const expected = new Date(new crypto.X509Certificate(pem).validTo).toISOString().replace(/\.\d{3}Z$/, "Z");
        assert.strictEqual(r.stdout, `${expected}\n`);
        assert.ok(fakes.calls().includes("docker exec mgmt-control-plane cat /etc/kubernetes/pki/apiserver.crt"));
    });

    it("converts openssl's date format exactly", () => {
        installFake(fakes.bin, "openssl", "cluster/openssl-fixed-date.sh");
        fakes.setApiServerCertificate("-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n");
        assertSuccess(fakes.run(renderKindClusterScript(KIND_PARAMS)));
        const r = fakes.run(renderApiCertExpiryScript({ clusterName: "mgmt" }), { TZ: "Pacific/Auckland" });
        assertSuccess(r);
        assert.strictEqual(r.stdout, "2027-11-22T13:00:00Z\n");
        assert.ok(fakes.calls().includes("openssl x509 -noout -enddate"));
    });

    it("fails clearly, printing nothing, when the cluster's node is not there", () => {
        const r = fakes.run(renderApiCertExpiryScript({ clusterName: "mgmt" }));
        assertFailure(r);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /No such container: mgmt-control-plane/);
        assert.match(r.stderr, /api-cert-expiry: ERROR: cannot read \/etc\/kubernetes\/pki\/apiserver\.crt from container mgmt-control-plane/);
    });
});

describe("src/host/scripts/orc.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("orc");
        fs.mkdirSync(fakes.stateDir, { recursive: true });
        fs.writeFileSync(fakes.kubeconfig, "apiVersion: v1\nkind: Config\n");
    });

    function run(waitTimeoutSeconds = 2, manifestSha256?: string): RunResult {
        return fakes.run(renderOrcScript({ version: "v2.6.0", manifestSha256, waitTimeoutSeconds }));
    }

    /** The calls of a successful run, the downloaded file's temporary name replaced by FILE. */
    function callsWithFile(): string[] {
        return fakes.calls().map((l) => l.replace(/ (--output|-f) \/\S+\.yaml( |$)/, " $1 FILE$2"));
    }

    /** The downloaded file's temporary name (curl's --output, kubectl's -f). */
    function downloadedFiles(): string[] {
        return fakes.calls().flatMap((l) => [...l.matchAll(/ (?:--output|-f) (\/\S+\.yaml)/g)].map((m) => m[1]));
    }

    it("downloads the release manifest, server-side applies that file, labels ORC's CRDs for clusterctl move and waits for the controller to roll out", () => {
        // A CRD of another group, not labelled, must stay so.
        fakes.defineCrd("helmreleases.helm.toolkit.fluxcd.io");
        const r = run();
        assertSuccess(r);
        assert.deepStrictEqual(callsWithFile(), [
            `curl --fail --silent --show-error --location --proto =https --tlsv1.2 --connect-timeout 20 --max-time 2 --output FILE ${ORC_URL}`,
            `kubectl --kubeconfig ${fakes.kubeconfig} apply --server-side --force-conflicts -f FILE`,
            `kubectl --kubeconfig ${fakes.kubeconfig} --request-timeout=30s get crd -o name`,
            `kubectl --kubeconfig ${fakes.kubeconfig} --request-timeout=30s label --overwrite crd ${FAKE_ORC_CRDS.join(" ")} ${CLUSTERCTL_LABEL}=`,
            // Without a proxy, ORC's controller gets none (an earlier proxy is removed).
            `kubectl --kubeconfig ${fakes.kubeconfig} --request-timeout=30s --namespace orc-system set env deployment/orc-controller-manager HTTP_PROXY- http_proxy- HTTPS_PROXY- https_proxy- NO_PROXY- no_proxy-`,
            `kubectl --kubeconfig ${fakes.kubeconfig} --namespace orc-system rollout status deployment/orc-controller-manager --timeout=2s`,
        ]);
        const [downloaded, applied] = downloadedFiles();
        assert.strictEqual(applied, downloaded, "kubectl applies the file curl wrote");
        assert.ok(!fs.existsSync(downloaded), "the downloaded file is removed");
        assert.strictEqual(fakes.orcApplied(), FAKE_ORC_MANIFEST);
        assert.match(
            r.stderr,
            new RegExp(
                `orc: WARNING: no SHA-256 is pinned for ORC v2\\.6\\.0's manifest .*trusting this first download, unverified\\. Its SHA-256 is ${FAKE_ORC_MANIFEST_SHA256}`,
            ),
        );
        assert.deepStrictEqual(fakes.crds(), [...FAKE_ORC_CRDS, "helmreleases.helm.toolkit.fluxcd.io"].sort());
        for (const crd of FAKE_ORC_CRDS) {
            assert.deepStrictEqual(fakes.crdLabels(crd), { [CLUSTERCTL_LABEL]: "" }, crd);
        }
        assert.deepStrictEqual(fakes.crdLabels("helmreleases.helm.toolkit.fluxcd.io"), {}, "only ORC's group is labelled");
        assert.strictEqual(
            r.stdout,
            "orc: ORC v2.6.0 is applied, its CRDs are labelled for clusterctl move, and its controller orc-system/orc-controller-manager is available\n" +
                `orc: unpinned (trusted on first use): orc/v2.6.0/install.yaml sha256 ${FAKE_ORC_MANIFEST_SHA256}\n`,
        );
        assert.ok(!r.stdout.includes("serverside-applied"), "kubectl output goes to stderr");
        assert.match(r.stderr, /serverside-applied/);
        assert.match(r.stderr, /orc: labelling 6 CRDs of openstack\.k-orc\.cloud with clusterctl\.cluster\.x-k8s\.io for clusterctl move/);
        assert.match(r.stderr, /images\.openstack\.k-orc\.cloud labeled/);
        // Re-applying is the idempotent path: the apply keeps the label, labelling again changes nothing.
        fakes.clearCalls();
        const again = run();
        assertSuccess(again);
        assert.strictEqual(again.stdout, r.stdout);
        assert.match(again.stderr, /images\.openstack\.k-orc\.cloud not labeled/);
        assert.strictEqual(fakes.callsOf("kubectl", `--kubeconfig ${fakes.kubeconfig} --request-timeout=30s label`).length, 1);
        for (const crd of FAKE_ORC_CRDS) {
            assert.deepStrictEqual(fakes.crdLabels(crd), { [CLUSTERCTL_LABEL]: "" }, crd);
        }
    });

    it("overwrites another value of the clusterctl label on ORC's CRDs and keeps their other labels", () => {
        fakes.defineCrd("images.openstack.k-orc.cloud", { [CLUSTERCTL_LABEL]: "someone-else", team: "platform" });
        assertSuccess(run());
        assert.deepStrictEqual(fakes.crdLabels("images.openstack.k-orc.cloud"), { [CLUSTERCTL_LABEL]: "", team: "platform" });
        assert.deepStrictEqual(fakes.crdLabels("servergroups.openstack.k-orc.cloud"), { [CLUSTERCTL_LABEL]: "" });
    });

    it("fails clearly, before waiting for the controller, when ORC's CRDs cannot be labelled", () => {
        fakes.failKubectl("label --overwrite crd");
        const r = run();
        assertFailure(r);
        assert.match(
            r.stderr,
            /orc: ERROR: cannot label ORC's CRDs with clusterctl\.cluster\.x-k8s\.io \(exit code 1, .*\); without it clusterctl move leaves ORC objects behind/,
        );
        assert.deepStrictEqual(fakes.callsOf("kubectl", `--kubeconfig ${fakes.kubeconfig} --namespace orc-system rollout`), []);
    });

    it("fails clearly when the CRDs cannot be listed", () => {
        fakes.failKubectl("get crd -o name");
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /orc: ERROR: cannot list the CRDs to label ORC's for clusterctl move \(exit code 1/);
        assert.deepStrictEqual(fakes.callsOf("kubectl", `--kubeconfig ${fakes.kubeconfig} --request-timeout=30s label`), []);
    });

    it("applies a manifest with the pinned SHA-256, saying so", () => {
        const r = run(2, FAKE_ORC_MANIFEST_SHA256);
        assertSuccess(r);
        assert.strictEqual(fakes.orcApplied(), FAKE_ORC_MANIFEST);
        assert.match(r.stderr, new RegExp(`orc: ORC v2\\.6\\.0's manifest has the pinned SHA-256 ${FAKE_ORC_MANIFEST_SHA256}`));
        assert.doesNotMatch(r.stderr, /WARNING/);
    });

    it("refuses a manifest whose SHA-256 is not the pinned one, applying nothing", () => {
        fakes.publish(ORC_URL, FAKE_ORC_MANIFEST.replace("orc-system", "evil-system"));
        const r = run(2, FAKE_ORC_MANIFEST_SHA256);
        assertFailure(r);
        assert.match(
            r.stderr,
            new RegExp(
                `orc: ERROR: the manifest downloaded from ${ORC_URL.replace(/\./g, "\\.")} has SHA-256 [0-9a-f]{64}, not the pinned ${FAKE_ORC_MANIFEST_SHA256}; nothing was applied`,
            ),
        );
        assert.deepStrictEqual(fakes.callsOf("kubectl"), [], "nothing applied, labelled or waited for");
        assert.strictEqual(fakes.orcApplied(), undefined);
        const [downloaded] = downloadedFiles();
        assert.ok(!fs.existsSync(downloaded), "the refused download is removed");
    });

    it("without a pin, refuses a later download of the release that differs from this server's first, applying nothing", () => {
        assertSuccess(run());
        assert.strictEqual(
            fs.readFileSync(path.join(fakes.stateDir, "release-sha256-first-use"), "utf8"),
            `${FAKE_ORC_MANIFEST_SHA256}  orc/v2.6.0/install.yaml\n`,
        );
        fakes.publish(ORC_URL, FAKE_ORC_MANIFEST.replace("orc-system", "evil-system"));
        fakes.clearCalls();
        const r = run();
        assertFailure(r);
        assert.match(
            r.stderr,
            new RegExp(
                `orc: ERROR: the manifest downloaded from ${ORC_URL.replace(/\./g, "\\.")} has SHA-256 [0-9a-f]{64}, but this server's first download of it had ${FAKE_ORC_MANIFEST_SHA256} \\(not pinned\\); nothing was applied`,
            ),
        );
        assert.deepStrictEqual(fakes.callsOf("kubectl"), []);
        // A pin (checked by the user) wins over the record.
        const evil = sha256(FAKE_ORC_MANIFEST.replace("orc-system", "evil-system"));
        assertSuccess(run(2, evil));
    });

    it("retries a failed download, then verifies and applies", () => {
        fakes.failDownloads(ORC_URL, 2);
        const r = run(10, FAKE_ORC_MANIFEST_SHA256);
        assertSuccess(r);
        assert.strictEqual(fakes.callsOf("curl").length, 3);
        assert.match(r.stderr, /download attempt 2\/6 failed \(exit code 56\)/);
        assert.strictEqual(fakes.orcApplied(), FAKE_ORC_MANIFEST);
    });

    it("fails clearly, within its bound, applying nothing, when the manifest cannot be downloaded", () => {
        const r = fakes.run(renderOrcScript({ version: "v2.6.9", waitTimeoutSeconds: 4 }));
        assertFailure(r);
        assert.match(r.stderr, /returned error: 404/);
        // On the virtual clock: attempt 1 at 0 s, a 3 s pause, attempt 2 at 3 s; a 6 s pause would overrun 4 s.
        assert.match(
            r.stderr,
            new RegExp(
                `orc: ERROR: could not download ORC v2\\.6\\.9's manifest from ${orcManifestUrl("v2.6.9").replace(/\./g, "\\.")} after 2 attempt\\(s\\) within 4s .*nothing was applied`,
            ),
        );
        assert.strictEqual(fakes.callsOf("curl").length, 2);
        assert.deepStrictEqual(fakes.callsOf("kubectl"), []);
    });

    it("retries a failed apply", () => {
        fakes.failApplies(1);
        const r = run(5);
        assertSuccess(r);
        assert.strictEqual(fakes.callsOf("kubectl", `--kubeconfig ${fakes.kubeconfig} apply`).length, 2);
        assert.match(r.stderr, /apply attempt 1\/6 failed/);
    });

    it("fails clearly, within its bound, when the manifest cannot be applied", () => {
        fakes.failApplies(100);
        const r = run(4);
        assertFailure(r);
        assert.match(r.stderr, /503 Service Unavailable/);
        // On the virtual clock: attempt 1 at 0 s, a 3 s pause, attempt 2 at 3 s; a 6 s pause would overrun 4 s.
        assert.match(
            r.stderr,
            /orc: ERROR: could not apply ORC v2\.6\.0 \(downloaded from https:\/\/github\.com\/k-orc\/.*\/v2\.6\.0\/install\.yaml\) after 2 attempt\(s\) within 4s/,
        );
        assert.strictEqual(fakes.callsOf("kubectl", `--kubeconfig ${fakes.kubeconfig} apply`).length, 2);
        assert.deepStrictEqual(fakes.callsOf("kubectl", `--kubeconfig ${fakes.kubeconfig} --request-timeout=30s`), [], "nothing to label");
        assert.deepStrictEqual(fakes.callsOf("kubectl", `--kubeconfig ${fakes.kubeconfig} --namespace orc-system rollout`), []);
    });

    it("fails clearly when the controller does not become available in time", () => {
        fakes.orcNeverReady();
        const r = run(1);
        assertFailure(r);
        assert.match(r.stderr, /timed out waiting for the condition/);
        assert.match(r.stderr, /orc: ERROR: ORC's controller \(deployment orc-system\/orc-controller-manager\) did not become available within 1s/);
        assert.match(r.stderr, /CrashLoopBackOff/, "shows the pods");
    });

    it("fails clearly without a kubeconfig", () => {
        fs.rmSync(fakes.kubeconfig);
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /orc: ERROR: the kubeconfig .* does not exist; the kind step/);
        assert.deepStrictEqual(fakes.calls(), []);
    });
});

describe("src/host/scripts/capi-providers.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("providers");
        fs.mkdirSync(fakes.stateDir, { recursive: true });
        fs.writeFileSync(fakes.kubeconfig, "apiVersion: v1\nkind: Config\n");
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

describe("cluster scripts: in sequence on one server", () => {
    it("runs kind, then ORC, then the providers, ORC applied before clusterctl init", () => {
        const fakes = newFakes("sequence");
        const kind = fakes.run(renderKindClusterScript(KIND_PARAMS));
        assertSuccess(kind);
        assert.strictEqual(kind.stdout, expectedId(fakes));
        assertSuccess(fakes.run(renderOrcScript({ version: "v2.6.0", waitTimeoutSeconds: 2 })));
        assertSuccess(fakes.run(renderCapiProvidersScript(PROVIDER_PARAMS)));
        const calls = fakes.calls();
        const create = calls.findIndex((l) => l.startsWith("kind create cluster"));
        const apply = calls.findIndex((l) => /^kubectl .*apply --server-side .*-f \S+\.yaml$/.test(l));
        const rollout = calls.findIndex((l) => l.includes("rollout status deployment/orc-controller-manager"));
        const init = calls.findIndex((l) => l.startsWith("clusterctl init"));
        assert.ok(create >= 0 && apply > create && rollout > apply && init > rollout, calls.join("\n"));
        assert.strictEqual(calls.filter((l) => l.startsWith("clusterctl ")).length, 1);
        assert.deepStrictEqual(fakes.providers(), pinnedProviders());
        // A second pass over every step changes nothing.
        fakes.clearCalls();
        const again = fakes.run(renderKindClusterScript(KIND_PARAMS));
        assertSuccess(again);
        assert.strictEqual(again.stdout, kind.stdout);
        assertSuccess(fakes.run(renderOrcScript({ version: "v2.6.0", waitTimeoutSeconds: 2 })));
        assertSuccess(fakes.run(renderCapiProvidersScript(PROVIDER_PARAMS)));
        assert.deepStrictEqual(
            fakes.calls().filter((l) => /^(kind (create|delete)|clusterctl )/.test(l)),
            [],
        );
    });
});
