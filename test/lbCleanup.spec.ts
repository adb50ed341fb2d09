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
import { renderHostScript } from "../src/host/hostScripts";
import {
    DELETE_VOLUMES_LABEL,
    LB_CLEANUP_SCRIPT_PATH,
    LB_CLEANUP_UNIT,
    renderLbCleanupInstallScript,
    renderLbCleanupScript,
    renderLbCleanupService,
    renderLbCleanupTimer,
} from "../src/host/lbCleanupScript";
import { FakeCloudState, FakeOpenstack } from "./fakes/openstackApi";
import { assertFailure, assertSuccess, hasShellcheck, installFake, makeTempDir, RunResult, runScript, shellcheck, skipTest } from "./fakes/shell";

const NS = "clusters";
const NET = "net-of-workload-1";
const OTHER_NET = "net-of-another-stack";
const PROJECT = "project-a";
const UID = "0b6e1f9c-uid-workload-1";

/** The fake kubectl (test/fakes/lb-cleanup-kubectl.sh). */
const FAKE_KUBECTL = path.join(__dirname, "fakes", "lb-cleanup-kubectl.sh");

interface ClusterSpec {
    name: string;
    uid?: string;
    deleting?: boolean;
    labels?: Record<string, string>;
    machines?: string[];
    network?: string | null;
    /** identityRef of type Secret naming this Secret of the namespace, instead of the ClusterIdentity. */
    secret?: string;
}

/** One test's world: the management cluster's files, the fake cloud, the rendered script. */
class World {
    readonly dir = makeTempDir("lb-cleanup");
    readonly state = path.join(this.dir, "state");
    readonly cloud: FakeOpenstack;
    readonly script: string;

    constructor(clusters: ClusterSpec[], cloud: Omit<FakeCloudState, "credential" | "project" | "failures"> & { failures?: Record<string, number[]> }) {
        installFake(path.join(this.dir, "bin"), "kubectl", "lb-cleanup-kubectl.sh");
        for (const d of ["machines", "osc", "identities", "secrets/capo-system/capi-mgmt-openstack-credentials"]) {
            fs.mkdirSync(path.join(this.state, d), { recursive: true });
        }
        this.cloud = new FakeOpenstack({ credential: { id: "ac-id", secret: "ac-secret'\"$x" }, project: PROJECT, ...cloud });
        this.setClusters(clusters);
        fs.writeFileSync(path.join(this.state, "identities", "openstack"), "capo-system capi-mgmt-openstack-credentials");
        this.writeClouds("ac-id", "ac-secret'\"$x");
        fs.writeFileSync(path.join(this.state, "calls.log"), "");
        this.script = renderHostScript("lb-cleanup.sh", {
            MGMT_KUBECONFIG: path.join(this.dir, "kubeconfig"),
            NAMESPACE: NS,
            STATE_DIR: path.join(this.dir, "cleanup-state"),
            DELETE_VOLUMES_LABEL,
            CALL_TIMEOUT_SECONDS: "30",
        });
    }

    writeClouds(id: string, secret: string, where = "capo-system/capi-mgmt-openstack-credentials"): void {
        fs.mkdirSync(path.join(this.state, "secrets", where), { recursive: true });
        fs.writeFileSync(
            path.join(this.state, "secrets", where, "clouds.yaml"),
            `clouds:\n  openstack:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: ${this.cloud.authUrl}\n      application_credential_id: ${id}\n      application_credential_secret: ${JSON.stringify(secret)}\n    region_name: RegionOne\n    interface: public\n    identity_api_version: 3\n`,
        );
    }

    setClusters(clusters: ClusterSpec[]): void {
        const items = clusters.map((c) => ({
            apiVersion: "cluster.x-k8s.io/v1beta2",
            kind: "Cluster",
            metadata: {
                name: c.name,
                namespace: NS,
                uid: c.uid ?? `uid-${c.name}`,
                labels: c.labels ?? {},
                ...(c.deleting ? { deletionTimestamp: "2026-12-07T08:00:00Z" } : {}),
            },
            spec: { infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackCluster", name: `${c.name}-abcde` } },
        }));
        fs.writeFileSync(path.join(this.state, "clusters.json"), JSON.stringify({ items }));
        for (const c of clusters) {
            fs.writeFileSync(path.join(this.state, "machines", c.name), (c.machines ?? []).map((m) => `machine.cluster.x-k8s.io/${m}\n`).join(""));
            const osc = path.join(this.state, "osc", `${c.name}-abcde.json`);
            if (c.network === null) {
                fs.rmSync(osc, { force: true });
            } else {
                fs.writeFileSync(
                    osc,
                    JSON.stringify({
                        spec: {
                            identityRef: c.secret
                                ? { name: c.secret, cloudName: "openstack" }
                                : { type: "ClusterIdentity", name: "openstack", cloudName: "openstack" },
                        },
                        status: { network: { id: c.network ?? NET, subnets: [{ id: "subnet-1" }] } },
                    }),
                );
            }
        }
    }

    run(): RunResult {
        return runScript(this.script, { PATH: `${path.join(this.dir, "bin")}:${process.env.PATH}`, FAKE_STATE: this.state, HOME: this.dir });
    }

    calls(): string[] {
        return fs.readFileSync(path.join(this.state, "calls.log"), "utf8").split("\n").filter(Boolean);
    }

    events(): { reason: string; message: string; involvedObject: { name: string; uid: string } }[] {
        const dir = path.join(this.state, "events");
        return fs.existsSync(dir)
            ? fs
                  .readdirSync(dir)
                  .sort()
                  .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")))
            : [];
    }
}

const OCCM_FIP = "Floating IP for Kubernetes external service ingress-nginx/ingress-nginx-controller from cluster workload-1";
const lb = (id: string, name: string, net: string, extra: object = {}) => ({
    id,
    name,
    vip_network_id: net,
    vip_port_id: `port-${id}`,
    provisioning_status: "ACTIVE",
    project_id: PROJECT,
    children: true,
    ...extra,
});
const fip = (id: string, port: string | null, description: string, project = PROJECT) => ({
    id,
    floating_ip_address: `203.0.113.${id.length}`,
    port_id: port,
    description,
    project_id: project,
});

/** The load balancers of a project holding workload-1 (deleting) and much that must stay. */
function project() {
    return {
        loadbalancers: [
            lb("lb-ingress", "kube_service_workload-1_ingress-nginx_ingress-nginx-controller", NET),
            lb("lb-web", "kube_service_workload-1_default_web", NET),
            // CAPO's own API load balancer: CAPO deletes it.
            lb("lb-api", "k8s-clusterapi-cluster-clusters-workload-1-kubeapi", NET),
            // The same cluster name in another stack sharing the project: another network.
            lb("lb-twin", "kube_service_workload-1_default_web", OTHER_NET),
            // A cluster whose name starts with the deleting one's.
            lb("lb-w10", "kube_service_workload-10_default_web", "net-of-workload-10"),
            // Someone's own load balancer on the cluster network, not made by OCCM.
            lb("lb-manual", "my-manual-lb", NET),
            // Another project's (an admin credential would list it).
            lb("lb-foreign", "kube_service_workload-1_default_web", NET, { project_id: "project-b" }),
        ],
        floatingips: [
            fip("fip-ingress", "port-lb-ingress", OCCM_FIP),
            // Brought by the user (Service loadBalancerIP): kept.
            fip("fip-user", "port-lb-web", "reserved for web"),
            fip("fip-api", "port-lb-api", ""),
            fip("fip-twin", "port-lb-twin", OCCM_FIP),
            fip("fip-free", null, OCCM_FIP),
        ],
        volumes: [],
    };
}

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

describe("src/host/scripts/lb-cleanup-install.sh", () => {
    function install(dir: string): RunResult {
        installFake(path.join(dir, "bin"), "systemctl", "host/systemctl-active.sh");
        const text = renderLbCleanupInstallScript({ namespace: "clusters" })
            .replace(/^readonly SCRIPT_PATH=.*$/m, `readonly SCRIPT_PATH='${dir}/lib/lb-cleanup.sh'`)
            .replace(/^readonly UNIT_DIR=.*$/m, `readonly UNIT_DIR='${dir}/units'`);
        return runScript(text, { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, FAKE_LOG: path.join(dir, "log") });
    }

    it("installs the rendered script (root-only) and both units, reloads systemd and starts the timer; a second run changes nothing", () => {
        const dir = makeTempDir("lb-cleanup-install");
        assertSuccess(install(dir));
        const script = fs.readFileSync(path.join(dir, "lib/lb-cleanup.sh"), "utf8");
        assert.strictEqual(script, renderLbCleanupScript({ namespace: "clusters" }));
        assert.strictEqual(fs.statSync(path.join(dir, "lib/lb-cleanup.sh")).mode & 0o777, 0o700);
        assert.strictEqual(fs.readFileSync(path.join(dir, `units/${LB_CLEANUP_UNIT}.timer`), "utf8"), renderLbCleanupTimer());
        assert.strictEqual(fs.readFileSync(path.join(dir, `units/${LB_CLEANUP_UNIT}.service`), "utf8"), renderLbCleanupService());
        const log1 = fs.readFileSync(path.join(dir, "log"), "utf8");
        assert.match(log1, /systemctl daemon-reload\nsystemctl enable --now capi-mgmt-lb-cleanup\.timer\n/);
        fs.writeFileSync(path.join(dir, "log"), "");
        const r2 = install(dir);
        assertSuccess(r2);
        assert.doesNotMatch(r2.stdout, /wrote/);
        assert.doesNotMatch(fs.readFileSync(path.join(dir, "log"), "utf8"), /daemon-reload/);
    });
});

describe("the cleanup's systemd units", () => {
    before(function () {
        if (spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" }).status !== 0 || !fs.existsSync("/usr/lib/systemd/system/timers.target")) {
            skipTest(this, "systemd-analyze verify of the cleanup's units", "systemd-analyze and systemd's units (package systemd)");
        }
    });

    const verify = (service: string, timer: string) => {
        const root = makeTempDir("systemd-root");
        fs.cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
        const units = path.join(root, "etc/systemd/system");
        fs.mkdirSync(units, { recursive: true });
        fs.mkdirSync(path.join(root, path.dirname(LB_CLEANUP_SCRIPT_PATH)), { recursive: true });
        fs.writeFileSync(path.join(root, LB_CLEANUP_SCRIPT_PATH), renderLbCleanupScript({ namespace: "clusters" }), { mode: 0o700 });
        fs.writeFileSync(path.join(units, `${LB_CLEANUP_UNIT}.service`), service);
        fs.writeFileSync(path.join(units, `${LB_CLEANUP_UNIT}.timer`), timer);
        return spawnSync(
            "systemd-analyze",
            ["verify", `--root=${root}`, `/etc/systemd/system/${LB_CLEANUP_UNIT}.timer`, `/etc/systemd/system/${LB_CLEANUP_UNIT}.service`],
            {
                encoding: "utf8",
            },
        );
    };

    it("are valid: systemd-analyze verify finds nothing to say about them", () => {
        const r = verify(renderLbCleanupService(), renderLbCleanupTimer());
        assert.strictEqual(r.status, 0, r.stderr);
        assert.doesNotMatch(r.stderr, new RegExp(LB_CLEANUP_UNIT), r.stderr);
    });

    it("would catch a broken unit (the check can fail)", () => {
        assert.match(verify(`${renderLbCleanupService()}Nicee=10\n`, renderLbCleanupTimer()).stderr, /Unknown key 'Nicee'/);
        assert.notStrictEqual(verify(renderLbCleanupService(), renderLbCleanupTimer().replace("OnBootSec=2min", "OnBootSec=forever")).stderr, "");
    });
});
