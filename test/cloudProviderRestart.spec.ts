import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { CLOUD_CONF_WAIT_SECONDS, CLOUD_PROVIDER_WORKLOADS, renderCloudProviderRestartScript } from "../src/host/credentialRotation";
import { SERVER_KUBECONFIG } from "../src/host/hostScripts";
import { reveal } from "../render/engine";
import { RotationFakes } from "./fakes/rotationFakes";
import { assertFailure, assertSuccess, hasShellcheck, makeTempDir, shellcheck, skipTest } from "./fakes/shell";
import { PROJECT_DIR, runStack } from "./harness";

const NEW = "0123456789abcdef0123456789abcdef";
const OLD = "fedcba9876543210fedcba9876543210";
const ALL = [...CLOUD_PROVIDER_WORKLOADS];
const script = (waitSeconds?: number) => renderCloudProviderRestartScript({ workloadNamespace: "clusters", credentialId: NEW, waitSeconds });

describe("src/host/scripts/cloud-provider-restart.sh (after a credential rotation)", () => {
    let fakes: RotationFakes;

    beforeEach(() => {
        fakes = new RotationFakes();
    });

    it("restarts OCCM and Cinder CSI in every labelled cluster once its cloud.conf has the new credential", () => {
        fakes.addCluster("clusters", "dev-a", { credential: OLD, next: NEW, polls: 3, objects: ALL });
        fakes.addCluster("clusters", "dev-b", { credential: NEW, objects: ALL });
        const started = fakes.clock.nowMs();
        const r = fakes.run(script(), SERVER_KUBECONFIG);
        assertSuccess(r);
        assert.strictEqual(r.stdout, "");
        for (const name of ["dev-a", "dev-b"]) {
            assert.deepStrictEqual(
                fakes.restarts(name),
                ALL.map((w) => `kube-system ${w}`),
                name,
            );
            assert.match(r.stderr, new RegExp(`clusters/${name}: restarted: ${ALL.join(" ")}\\n`));
        }
        // dev-a was restarted only after the ClusterResourceSet's copy landed: three old reads, 10 s apart.
        const reads = fakes.calls().filter((l) => l.startsWith("kubectl dev-a.kubeconfig kube-system get secret cloud-config"));
        assert.strictEqual(reads.length, 4);
        assert.strictEqual(fakes.clock.nowMs() - started, 30_000, "the clusters are waited for in parallel");
        const calls = fakes.calls();
        assert.ok(calls.findIndex((l) => l.includes("dev-a") && l.includes("rollout restart")) > calls.lastIndexOf(reads[3]));
        assert.doesNotMatch(r.stderr, /s3cret|WARNING/);
    });

    it("never restarts before the new credential arrived; reports a cluster that stays on the old one, without failing", () => {
        fakes.addCluster("clusters", "stale", { credential: OLD, objects: ALL });
        fakes.addCluster("clusters", "fine", { credential: NEW, objects: ALL });
        const started = fakes.clock.nowMs();
        const r = fakes.run(script(60), SERVER_KUBECONFIG);
        assertSuccess(r);
        assert.deepStrictEqual(fakes.restarts("stale"), []);
        assert.strictEqual(fakes.restarts("fine").length, 3);
        assert.match(r.stderr, /WARNING: clusters\/stale: its kube-system\/cloud-config did not get the new credential within 60s/);
        assert.match(
            r.stderr,
            /WARNING: OCCM and Cinder CSI still use the old credential in: stale\. .*kubectl -n kube-system rollout restart daemonset\/openstack-cloud-controller-manager deployment\/openstack-cinder-csi-controllerplugin daemonset\/openstack-cinder-csi-nodeplugin/,
        );
        const waited = fakes.clock.nowMs() - started;
        assert.ok(waited >= 60_000 && waited <= 70_000, `${waited} ms`);
    });

    it("reports unreachable clusters and clusters without a kubeconfig Secret, and goes on with the others", () => {
        fakes.addCluster("clusters", "gone", { credential: NEW, objects: ALL, down: true });
        fakes.addCluster("clusters", "nokube", { credential: NEW, objects: ALL });
        fakes.dropKubeconfig("clusters", "nokube");
        fakes.addCluster("clusters", "ok", { credential: NEW, objects: ALL });
        const r = fakes.run(script(30), SERVER_KUBECONFIG);
        assertSuccess(r);
        assert.strictEqual(fakes.restarts("ok").length, 3);
        assert.match(r.stderr, /WARNING: clusters\/gone: .*within 30s \(is the cluster reachable\?/);
        assert.match(r.stderr, /WARNING: clusters\/nokube: its kubeconfig Secret clusters\/nokube-kubeconfig is missing/);
        assert.match(r.stderr, /still use the old credential in: gone nokube\./);
    });

    it("skips workloads that are not installed (a cluster without Cinder CSI)", () => {
        fakes.addCluster("clusters", "occm-only", { credential: NEW, objects: [ALL[0]] });
        const r = fakes.run(script(), SERVER_KUBECONFIG);
        assertSuccess(r);
        assert.deepStrictEqual(fakes.restarts("occm-only"), [`kube-system ${ALL[0]}`]);
        assert.match(
            r.stderr,
            /restarted: daemonset\/openstack-cloud-controller-manager; not installed: deployment\/openstack-cinder-csi-controllerplugin daemonset\/openstack-cinder-csi-nodeplugin/,
        );
    });

    it("does nothing without labelled clusters (a first up)", () => {
        const r = fakes.run(script(), SERVER_KUBECONFIG);
        assertSuccess(r);
        assert.match(r.stderr, /no Cluster in clusters has capi-mgmt\.io\/cloud-config=openstack; nothing to restart/);
    });

    it("fails when the management cluster cannot be asked", () => {
        fakes.addCluster("clusters", "a", { credential: NEW, objects: ALL });
        fakes.managementDown();
        const r = fakes.run(script(), SERVER_KUBECONFIG);
        assertFailure(r);
        assert.match(r.stderr, /ERROR: cannot list the Clusters in clusters/);
        assert.deepStrictEqual(fakes.restarts("a"), []);
    });

    it("renders safely and passes shellcheck", function () {
        assert.throws(() => renderCloudProviderRestartScript({ workloadNamespace: "clusters", credentialId: "x; rm -rf /" }), /credentialId/);
        assert.throws(() => renderCloudProviderRestartScript({ workloadNamespace: "Bad_NS", credentialId: NEW }), /workloadNamespace/);
        assert.match(script(), new RegExp(`^readonly WAIT_SECONDS='${CLOUD_CONF_WAIT_SECONDS}'$`, "m"));
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of src/host/scripts/cloud-provider-restart.sh", "shellcheck");
        }
        const file = path.join(makeTempDir("restart-shellcheck"), "cloud-provider-restart.rendered.sh");
        fs.writeFileSync(file, script());
        shellcheck([path.join(PROJECT_DIR, "src", "host", "scripts", "cloud-provider-restart.sh"), file]);
    });

    it("names the workloads as the add-on charts of the GitOps tree create them", () => {
        const charts = new Map<string, Record<string, unknown>>();
        for (const f of ["openstack-cloud-controller-manager.yaml", "openstack-cinder-csi.yaml"]) {
            for (const doc of parseAllDocuments(fs.readFileSync(path.join(PROJECT_DIR, "gitops/infrastructure/addons", f), "utf8"))) {
                const o = doc.toJS();
                charts.set(o.spec.chartName, o.spec);
                assert.doesNotMatch(String(o.spec.valuesTemplate), /nameOverride|fullnameOverride/, f);
                assert.strictEqual(o.spec.namespace, "kube-system");
            }
        }
        assert.deepStrictEqual([...charts.keys()].sort(), ["openstack-cinder-csi", "openstack-cloud-controller-manager"]);
        assert.deepStrictEqual(CLOUD_PROVIDER_WORKLOADS, [
            "daemonset/openstack-cloud-controller-manager",
            "deployment/openstack-cinder-csi-controllerplugin",
            "daemonset/openstack-cinder-csi-nodeplugin",
        ]);
    });
});

describe("credential rotation in the program (mock engine)", function () {
    this.timeout(60000);

    it("restarts on the cloud-provider credential's ID, after the cloud config is in the management cluster", async () => {
        const dev = await runStack("dev");
        const step = dev.one("command:remote:Command", "cloud-provider-restart");
        const credential = dev.one("openstack:identity/applicationCredential:ApplicationCredential", "cloud-provider");
        assert.deepStrictEqual(reveal(step.inputs.triggers), [`${credential.name}-id`]);
        assert.match(String(reveal(step.inputs.stdin)), new RegExp(`^readonly CREDENTIAL_ID='${credential.name}-id'$`, "m"));
        assert.strictEqual(reveal(step.inputs.create), "sudo bash -s");
        assert.strictEqual(reveal(step.inputs.delete), undefined, "nothing runs on destroy");
        for (const name of ["cloud-config", "cloud-config-resource-set"]) {
            const r = dev.resources.find((x) => x.name === name);
            assert.ok(r && dev.dependsOn(step, r), `waits for ${name}`);
        }
        assert.ok(dev.dependsOn(step, credential));
    });
});
