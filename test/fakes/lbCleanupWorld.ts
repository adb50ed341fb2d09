/**
 * One lb-cleanup test's world (test/lbCleanup.spec.ts): the management cluster's objects as files
 * for the fake kubectl (test/fakes/lb-cleanup-kubectl.sh), the fake OpenStack API on loopback
 * (test/fakes/openstackApi.ts), the rendered script; and a project holding a deleting cluster's
 * load balancers and floating IPs beside much that must stay.
 */
import * as fs from "fs";
import * as path from "path";
import { renderHostScript } from "../../src/host/hostScripts";
import { DELETE_VOLUMES_LABEL } from "../../src/host/lbCleanupScript";
import { FakeCloudState, FakeOpenstack } from "./openstackApi";
import { installFake, makeTempDir, RunResult, runScript } from "./shell";

export const NS = "clusters";
export const NET = "net-of-workload-1";
export const OTHER_NET = "net-of-another-stack";
export const PROJECT = "project-a";
export const UID = "0b6e1f9c-uid-workload-1";

/** The fake kubectl (test/fakes/lb-cleanup-kubectl.sh). */
export const FAKE_KUBECTL = path.join(__dirname, "lb-cleanup-kubectl.sh");

export interface ClusterSpec {
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
export class World {
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
            ACTIVE_KUBECONFIG: path.join(this.dir, "active.kubeconfig"),
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

export const OCCM_FIP = "Floating IP for Kubernetes external service ingress-nginx/ingress-nginx-controller from cluster workload-1";
export const lb = (id: string, name: string, net: string, extra: object = {}) => ({
    id,
    name,
    vip_network_id: net,
    vip_port_id: `port-${id}`,
    provisioning_status: "ACTIVE",
    project_id: PROJECT,
    children: true,
    ...extra,
});
export const fip = (id: string, port: string | null, description: string, project = PROJECT) => ({
    id,
    floating_ip_address: `203.0.113.${id.length}`,
    port_id: port,
    description,
    project_id: project,
});

/** The load balancers of a project holding workload-1 (deleting) and much that must stay. */
export function project() {
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
