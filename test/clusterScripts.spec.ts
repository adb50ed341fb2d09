import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
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
import { fakeServersRemovedAfterAll } from "./fakes/clusterFakes";
import { NO_RELEASE_PINS } from "./fakes/releaseFakes";
import { assertSuccess, hasShellcheck, shellcheck, skipTest } from "./fakes/shell";
import { CLUSTER_SCRIPTS, NODE_IMAGE, KIND_CONFIG, KIND_PARAMS, PROVIDER_PARAMS, pinnedProviders, expectedId } from "./clusterScriptParams";

/** Fake servers made by this file, removed after its tests. */
const newFakes = fakeServersRemovedAfterAll();

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
