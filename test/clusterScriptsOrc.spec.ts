import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderOrcScript } from "../src/cluster/clusterScripts";
import { ClusterFakes, FAKE_ORC_CRDS, FAKE_ORC_MANIFEST, fakeServersRemovedAfterAll, orcManifestUrl } from "./fakes/clusterFakes";
import { assertFailure, assertSuccess, RunResult } from "./fakes/shell";
import { ORC_URL, FAKE_ORC_MANIFEST_SHA256, CLUSTERCTL_LABEL, sha256 } from "./clusterScriptParams";

/** Fake servers made by this file, removed after its tests. */
const newFakes = fakeServersRemovedAfterAll();

describe("src/host/scripts/orc.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("orc");
        fakes.placeKubeconfig();
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
