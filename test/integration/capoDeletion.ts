/**
 * The deletion side of the CAPO tests on the OpenStack test bed: what a workload cluster's
 * cloud controller manager (OCCM) and Cinder CSI leave in the project (made here through the
 * APIs, as they make them, since no workload cluster boots), the Cluster's removal from the
 * GitOps tree as Flux's prune does it, and the project's own cleanup (src/host/scripts/lb-cleanup.sh) run
 * with bash on the test runner against the test-bed API server and the bed.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { renderHostScript } from "../../src/host/hostScripts";
import { DELETE_VOLUMES_LABEL, LB_CLEANUP_CALL_TIMEOUT_SECONDS } from "../../src/host/lbCleanupScript";
import { testbedFluxSubstituter } from "../../render/fluxEnvsubst";
import { Environment, FluxUnit, readEnvironment, TreeObject } from "../../render/gitopsTree";
import { Obj } from "./capoProject";
import { poll, Session } from "./openstackBed";

/** Octavia objects settle (ACTIVE) before the next change may be made. */
export async function lbActive(s: Session, lbId: string): Promise<Obj> {
    const r = await poll(
        `load balancer ${lbId} ACTIVE`,
        () => s.call<{ loadbalancer: Obj }>("load-balancer", "GET", `/v2/lbaas/loadbalancers/${lbId}`),
        (x) => x.loadbalancer.provisioning_status === "ACTIVE" || x.loadbalancer.provisioning_status === "ERROR",
        300,
    );
    if (r.loadbalancer.provisioning_status !== "ACTIVE") {
        throw new Error(`load balancer ${lbId} went to ERROR`);
    }
    return r.loadbalancer;
}

/** A load balancer as OCCM makes one for a Service, with its listener, pool and floating IP. */
export interface SeededLoadBalancer {
    lb: Obj;
    fip: Obj;
    listenerId: string;
    poolId: string;
}

/**
 * Makes what OCCM (cloud-provider-openstack v1.35, openstack_loadbalancer.go) makes for a
 * Service of type LoadBalancer `namespace/service` of cluster `clusterName` (its --cluster-name):
 * a load balancer `kube_service_<cluster>_<namespace>_<service>` with its VIP on `subnetId`
 * (cloud.conf `subnet-id`), provider `provider` (cloud.conf `lb-provider`, the cloud's default
 * when undefined), a TCP listener and pool on port 80, and a floating IP from
 * `floatingNetworkId` (cloud.conf `floating-network-id`) on the VIP port, described as OCCM
 * describes it.
 */
export async function seedOccmLoadBalancer(
    s: Session,
    p: { clusterName: string; namespace: string; service: string; subnetId: string; floatingNetworkId: string; provider?: string },
): Promise<SeededLoadBalancer> {
    const name = `kube_service_${p.clusterName}_${p.namespace}_${p.service}`;
    const created = (
        await s.call<{ loadbalancer: Obj }>("load-balancer", "POST", "/v2/lbaas/loadbalancers", {
            loadbalancer: {
                name,
                description: `Kubernetes external service ${p.namespace}/${p.service} from cluster ${p.clusterName}`,
                vip_subnet_id: p.subnetId,
                ...(p.provider ? { provider: p.provider } : {}),
            },
        })
    ).loadbalancer;
    await lbActive(s, created.id);
    const listener = (
        await s.call<{ listener: Obj }>("load-balancer", "POST", "/v2/lbaas/listeners", {
            listener: { name: `listener_0_${name}`, protocol: "TCP", protocol_port: 80, loadbalancer_id: created.id },
        })
    ).listener;
    await lbActive(s, created.id);
    const pool = (
        await s.call<{ pool: Obj }>("load-balancer", "POST", "/v2/lbaas/pools", {
            pool: { name: `pool_0_${name}`, protocol: "TCP", lb_algorithm: "ROUND_ROBIN", listener_id: listener.id },
        })
    ).pool;
    const lb = await lbActive(s, created.id);
    const fip = (
        await s.call<{ floatingip: Obj }>("network", "POST", "/v2.0/floatingips", {
            floatingip: {
                floating_network_id: p.floatingNetworkId,
                port_id: lb.vip_port_id,
                description: `Floating IP for Kubernetes external service ${p.namespace}/${p.service} from cluster ${p.clusterName}`,
            },
        })
    ).floatingip;
    return { lb, fip, listenerId: listener.id, poolId: pool.id };
}

/**
 * A Cinder volume as Cinder CSI (v1.35) makes one for a PersistentVolumeClaim: named after the
 * PersistentVolume (`pvc-<uid>`), with the CSI metadata, `cinder.csi.openstack.org/cluster`
 * being the plugin's clusterID (the tree sets `<cluster name>.<cluster uid>`).
 */
export async function seedCsiVolume(s: Session, clusterId: string, pvc: { namespace: string; name: string }): Promise<Obj> {
    const pv = `pvc-${crypto.randomUUID()}`;
    const v = (
        await s.call<{ volume: Obj }>("volumev3", "POST", "/volumes", {
            volume: {
                name: pv,
                size: 1,
                metadata: {
                    "cinder.csi.openstack.org/cluster": clusterId,
                    "csi.storage.k8s.io/pv/name": pv,
                    "csi.storage.k8s.io/pvc/name": pvc.name,
                    "csi.storage.k8s.io/pvc/namespace": pvc.namespace,
                },
            },
        })
    ).volume;
    await poll(
        `volume ${pv} available`,
        () => s.call<{ volume: Obj }>("volumev3", "GET", `/volumes/${v.id}`),
        (x) => x.volume.status === "available",
        120,
    );
    return v;
}

/**
 * The environment after a commit that removes Cluster `cluster` from the tree: a copy of the
 * tree in which every kustomization.yaml under `workloads/` lists neither `<cluster>.yaml` nor
 * `<cluster>-*.yaml` (the Cluster's file and its per-cluster add-on Kustomizations), read as
 * Flux reads it (the kustomization files are rewritten without their comments).
 */
export function treeWithout(treeDir: string, workDir: string, envPath: string, settings: Record<string, string>, cluster: string): Environment {
    const copy = path.join(workDir, "gitops-without-" + cluster);
    fs.cpSync(treeDir, copy, { recursive: true });
    const own = new RegExp(`^(.*/)?${cluster}(-[^/]*)?\\.yaml$`);
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const f = path.join(dir, e.name);
            if (e.isDirectory()) {
                walk(f);
            } else if (e.name === "kustomization.yaml") {
                const doc = parseYaml(fs.readFileSync(f, "utf8")) as { resources?: string[] };
                // The last entry removed leaves `resources: []`: a bare `resources:` (null) makes
                // kustomize fail with "kustomization.yaml is empty", and Flux would prune nothing.
                doc.resources = (doc.resources ?? []).filter((r) => !own.test(r));
                fs.writeFileSync(f, toYaml(doc));
            }
        }
    };
    walk(path.join(copy, "workloads"));
    return readEnvironment(copy, envPath, settings, testbedFluxSubstituter());
}

const key = (o: TreeObject) => `${o.apiVersion.split("/")[0]}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** What Flux's prune deletes when `before` becomes `after`: each unit's objects no longer built, in reverse apply order. */
export function pruned(before: FluxUnit[], after: FluxUnit[]): TreeObject[] {
    const kept = new Set(after.flatMap((u) => u.documents.map((d) => key(d.object))));
    return before
        .flatMap((u) => u.documents.map((d) => d.object))
        .filter((o) => !kept.has(key(o)))
        .reverse();
}

/** One run of the cleanup. */
export interface CleanupRun {
    status: number | null;
    output: string;
    at: number;
}

/**
 * Runs src/host/scripts/lb-cleanup.sh once, with bash, as the timer's service does on the server, with
 * the test-bed API server's kubeconfig instead of the server's, and its state in `stateDir`.
 */
export function runLbCleanup(kubeconfig: string, namespace: string, stateDir: string): CleanupRun {
    const script = renderHostScript("lb-cleanup.sh", {
        MGMT_KUBECONFIG: kubeconfig,
        ACTIVE_KUBECONFIG: path.join(stateDir, "no-active.kubeconfig"),
        NAMESPACE: namespace,
        STATE_DIR: stateDir,
        DELETE_VOLUMES_LABEL,
        CALL_TIMEOUT_SECONDS: String(LB_CLEANUP_CALL_TIMEOUT_SECONDS),
    });
    const file = path.join(stateDir, "..", "lb-cleanup.sh");
    fs.writeFileSync(file, script, { mode: 0o700 });
    const r = spawnSync("bash", [file], { encoding: "utf8", timeout: 600_000 });
    return { status: r.status, output: `${r.stdout}${r.stderr}`, at: Date.now() };
}
