/**
 * src/host/scripts/lb-cleanup.sh under bash, with a fake kubectl (files) and a fake OpenStack API (a
 * real HTTP server on loopback, test/fakes/openstackApi.ts) reached with the real curl;
 * src/host/scripts/lb-cleanup-install.sh with a fake systemctl; the units with systemd-analyze verify.
 */
import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DELETE_VOLUMES_LABEL, renderLbCleanupScript } from "../src/host/lbCleanupScript";
import { assertFailure, assertSuccess, hasShellcheck, shellcheck, skipTest } from "./fakes/shell";
import { NS, PROJECT, UID, FAKE_KUBECTL, World, project } from "./fakes/lbCleanupWorld";

describe("src/host/scripts/lb-cleanup.sh", () => {
    before(function () {
        if (spawnSync("python3", ["-c", "import yaml"]).status !== 0 || spawnSync("curl", ["--version"]).status !== 0) {
            skipTest(this, "the runs of src/host/scripts/lb-cleanup.sh", "python3 with its yaml module (cloud-init brings both) and curl");
        }
    });

    it("its fake kubectl passes shellcheck", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of test/fakes/lb-cleanup-kubectl.sh", "shellcheck");
        }
        shellcheck([FAKE_KUBECTL]);
    });

    it("deletes exactly the deleting cluster's OCCM load balancers on its network (cascade) and the floating IPs OCCM made for them", () => {
        const w = new World([{ name: "workload-1", deleting: true }, { name: "workload-10" }], project());
        const r = w.run();
        assertSuccess(r);
        assert.deepStrictEqual(w.cloud.changes().sort(), [
            "DELETE /neutron/v2.0/floatingips/fip-ingress 204",
            "DELETE /octavia/v2/lbaas/loadbalancers/lb-ingress?cascade=true 204",
            "DELETE /octavia/v2/lbaas/loadbalancers/lb-web?cascade=true 204",
        ]);
        // The floating IP went before its load balancer (after it, nothing would tie it to the cluster).
        const order = w.cloud.changes();
        assert.ok(
            order.indexOf("DELETE /neutron/v2.0/floatingips/fip-ingress 204") <
                order.indexOf("DELETE /octavia/v2/lbaas/loadbalancers/lb-ingress?cascade=true 204"),
        );
        const left = w.cloud.state;
        assert.deepStrictEqual(left.floatingips.map((f) => f.id).sort(), ["fip-api", "fip-free", "fip-twin", "fip-user"]);
        assert.match(r.stdout, /workload-1: deleted floating IP 203\.0\.113\.\d+ \(fip-ingress\)/);
        assert.match(
            r.stdout,
            /workload-1: floating IP .* \(fip-user\) of kube_service_workload-1_default_web was not made by the cloud controller manager: kept/,
        );
        // The credential: the Cluster's own identity; no secret in any kubectl call or in the output.
        assert.ok(w.calls().some((c) => c.includes("get openstackclusteridentities.infrastructure.cluster.x-k8s.io openstack")));
        assert.doesNotMatch(r.stdout + r.stderr + w.calls().join("\n"), /ac-secret|token-cloud/);
    });

    it("is idempotent: the next runs find the load balancers being deleted, then gone, and change nothing", () => {
        const w = new World([{ name: "workload-1", deleting: true }], project());
        assertSuccess(w.run());
        const after1 = w.cloud.changes().length;
        const r2 = w.run();
        assertSuccess(r2);
        assert.match(r2.stdout, /load balancer kube_service_workload-1_ingress-nginx_ingress-nginx-controller \(lb-ingress\) is being deleted/);
        const r3 = w.run();
        assertSuccess(r3);
        assert.match(r3.stdout, /no load balancer of the cluster's cloud controller manager is left on network net-of-workload-1/);
        assert.strictEqual(w.cloud.changes().length, after1);
        assert.deepStrictEqual(w.cloud.state.loadbalancers.map((l) => l.id).sort(), ["lb-api", "lb-foreign", "lb-manual", "lb-twin", "lb-w10"]);
    });

    it("leaves a deleting cluster alone while it has Machines (its cloud controller manager may still run), and clusters not being deleted always", () => {
        const w = new World([{ name: "workload-1", deleting: true, machines: ["workload-1-cp-x"] }, { name: "workload-10" }], project());
        const r = w.run();
        assertSuccess(r);
        assert.match(r.stdout, /workload-1: deleting; waiting for its 1 Machine\(s\) to go/);
        assert.deepStrictEqual(w.cloud.requests(), []);
        assert.ok(!w.calls().some((c) => /openstackclusters|secret/.test(c)), w.calls().join("\n"));
    });

    it("does nothing for a deleting cluster whose OpenStackCluster is gone or never got a network", () => {
        const w = new World([{ name: "workload-1", deleting: true, network: null }], project());
        const r = w.run();
        assertSuccess(r);
        assert.match(r.stdout, /OpenStackCluster workload-1-abcde is gone: nothing to clean/);
        assert.deepStrictEqual(w.cloud.requests(), []);
    });

    it("tolerates partial failures: what failed is kept and retried on the next run, the rest goes on; exit 1 until all is done", () => {
        const w = new World([{ name: "workload-1", deleting: true }], {
            ...project(),
            failures: {
                "DELETE /neutron/v2.0/floatingips/fip-ingress": [500],
                "DELETE /octavia/v2/lbaas/loadbalancers/lb-web": [503],
            },
        });
        const r1 = w.run();
        assertFailure(r1);
        assert.match(r1.stdout, /could not delete floating IP .* \(fip-ingress\) .*HTTP 500.*the load balancer is kept until it is gone/);
        assert.match(r1.stdout, /could not delete load balancer kube_service_workload-1_default_web \(lb-web\) \(HTTP 503\)/);
        // The load balancer whose floating IP could not go was not deleted (the IP would be orphaned).
        assert.ok(!w.cloud.changes().some((c) => c.startsWith("DELETE /octavia/v2/lbaas/loadbalancers/lb-ingress")));
        const r2 = w.run();
        assertSuccess(r2);
        assert.deepStrictEqual(
            w.cloud
                .changes()
                .filter((c) => / 20[24]$/.test(c))
                .sort(),
            [
                "DELETE /neutron/v2.0/floatingips/fip-ingress 204",
                "DELETE /octavia/v2/lbaas/loadbalancers/lb-ingress?cascade=true 204",
                "DELETE /octavia/v2/lbaas/loadbalancers/lb-web?cascade=true 204",
            ],
        );
    });

    it("retries a load balancer Octavia is busy with (PENDING_UPDATE) on a later run", () => {
        const p = project();
        p.loadbalancers[0].provisioning_status = "PENDING_UPDATE";
        const w = new World([{ name: "workload-1", deleting: true }], p);
        const r = w.run();
        assertFailure(r);
        assert.match(r.stdout, /\(lb-ingress\) is PENDING_UPDATE; trying again on the next run/);
        assert.ok(w.cloud.changes().includes("DELETE /octavia/v2/lbaas/loadbalancers/lb-web?cascade=true 204"));
        assert.ok(!w.cloud.changes().some((c) => c.includes("lb-ingress")));
    });

    it("goes on with the other deleting clusters when one's credential is refused", () => {
        const w = new World(
            [
                { name: "workload-0", deleting: true, secret: "old-credentials" },
                { name: "workload-1", deleting: true },
            ],
            project(),
        );
        w.writeClouds("ac-id", "revoked", `${NS}/old-credentials`);
        const r = w.run();
        assertFailure(r);
        assert.match(r.stdout, /workload-0: Keystone at http:\/\/127\.0\.0\.1:\d+\/.*\/identity\/v3 refused or did not answer \(HTTP 401\)/);
        // workload-0's identityRef (type Secret) was read from the Cluster's namespace.
        assert.ok(
            w.calls().some((c) => c.includes(`get secret -n ${NS} old-credentials`)),
            w.calls().join("\n"),
        );
        assert.deepStrictEqual(
            w.cloud
                .changes()
                .filter((c) => c.startsWith("DELETE /octavia"))
                .sort(),
            ["DELETE /octavia/v2/lbaas/loadbalancers/lb-ingress?cascade=true 204", "DELETE /octavia/v2/lbaas/loadbalancers/lb-web?cascade=true 204"],
        );
    });

    it("fails (exit 1) without touching the cloud when the Clusters cannot be listed", () => {
        const w = new World([{ name: "workload-1", deleting: true }], project());
        fs.writeFileSync(path.join(w.state, "fail-get-clusters.cluster.x-k8s.io"), "");
        const r = w.run();
        assertFailure(r);
        assert.match(r.stdout, /ERROR: cannot list the Clusters of clusters/);
        assert.deepStrictEqual(w.cloud.requests(), []);
    });

    describe("Cinder volumes", () => {
        const vol = (id: string, cluster: string, status = "available") => ({
            id,
            status,
            size: 10,
            project_id: PROJECT,
            metadata: { "cinder.csi.openstack.org/cluster": cluster, "csi.storage.k8s.io/pvc/namespace": "db", "csi.storage.k8s.io/pvc/name": `data-${id}` },
        });
        const volumes = () => [
            vol("vol-exact", `workload-1.${UID}`),
            vol("vol-attached", `workload-1.${UID}`, "in-use"),
            vol("vol-legacy", "workload-1"),
            vol("vol-other", "workload-2.uid-2"),
            vol("vol-twin", "workload-1.other-uid"),
        ];

        it("keeps them by default: lists them in the journal and in one Event on the Cluster naming it, and deletes none", () => {
            const w = new World([{ name: "workload-1", uid: UID, deleting: true }], { ...project(), volumes: volumes() });
            const r = w.run();
            assertSuccess(r);
            assert.ok(!w.cloud.changes().some((c) => c.includes("/volumes/")));
            for (const id of ["vol-exact", "vol-attached", "vol-legacy"]) {
                assert.match(r.stdout, new RegExp(`Cinder volumes of cluster workload-1 are kept .*${id} \\(PVC db/data-${id}, 10 GiB`));
            }
            assert.doesNotMatch(r.stdout, /vol-other|vol-twin/);
            assert.match(r.stdout, /vol-legacy \(PVC db\/data-vol-legacy, 10 GiB, available; tagged with the cluster's name only, so never deleted here\)/);
            const events = w.events();
            assert.strictEqual(events.length, 1);
            assert.strictEqual(events[0].reason, "CinderVolumesKept");
            assert.deepStrictEqual([events[0].involvedObject.name, events[0].involvedObject.uid], ["workload-1", UID]);
            assert.match(events[0].message, new RegExp(`label the Cluster ${DELETE_VOLUMES_LABEL}=true`));
            // The next run (every minute) posts no second Event for the same list.
            assertSuccess(w.run());
            assert.strictEqual(w.events().length, 1);
        });

        it("with the Cluster's opt-in label deletes its exactly tagged, detached volumes; keeps attached and name-only ones", () => {
            const w = new World([{ name: "workload-1", uid: UID, deleting: true, labels: { [DELETE_VOLUMES_LABEL]: "true" } }], {
                ...project(),
                volumes: volumes(),
            });
            const r = w.run();
            assertFailure(r); // the attached one is retried
            assert.deepStrictEqual(
                w.cloud.changes().filter((c) => c.includes("/volumes/")),
                [`DELETE /cinder/v3/${PROJECT}/volumes/vol-exact 202`],
            );
            assert.match(r.stdout, /deleted volume vol-exact of PVC db\/data-vol-exact \(10 GiB\): the Cluster opted in/);
            assert.match(r.stdout, /volume vol-attached of PVC db\/data-vol-attached is in-use, not available: deleted on a later run/);
            assert.deepStrictEqual(w.cloud.state.volumes.map((v) => v.id).sort(), ["vol-attached", "vol-legacy", "vol-other", "vol-twin"]);
        });

        it('an opt-in label with another value than "true" opts in to nothing', () => {
            const w = new World([{ name: "workload-1", uid: UID, deleting: true, labels: { [DELETE_VOLUMES_LABEL]: "yes" } }], {
                ...project(),
                volumes: volumes(),
            });
            assertSuccess(w.run());
            assert.ok(!w.cloud.changes().some((c) => c.includes("/volumes/")));
        });
    });
});

describe("src/host/lbCleanupScript.ts rendering", () => {
    it("renders the cleanup with the server's kubeconfig, the namespace, the opt-in label and the proxy", () => {
        const s = renderLbCleanupScript({ namespace: "clusters", proxy: { http: "http://proxy:3128", https: "http://proxy:3128", noProxy: "10.0.0.0/8" } });
        assert.match(s, /^readonly MGMT_KUBECONFIG='\/var\/lib\/capi-mgmt\/kubeconfig'$/m);
        assert.match(s, /^readonly NAMESPACE='clusters'$/m);
        assert.match(s, new RegExp(`^readonly DELETE_VOLUMES_LABEL='${DELETE_VOLUMES_LABEL}'$`, "m"));
        assert.match(s, /^readonly PROXY_HTTPS='http:\/\/proxy:3128'$/m);
        assert.match(s, /^use_proxy\(\) \{$/m);
        assert.throws(() => renderLbCleanupScript({ namespace: "Bad_NS" }), /namespace must be a namespace name/);
    });

    it("documents the opt-in label as the cleanup reads it", () => {
        for (const doc of ["gitops/README.md", "docs/cluster-deletion.md"]) {
            assert.ok(fs.readFileSync(path.join(__dirname, "..", doc), "utf8").includes(`${DELETE_VOLUMES_LABEL}: "true"`), doc);
        }
    });
});
