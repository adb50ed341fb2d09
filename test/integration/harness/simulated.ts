/**
 * What a management cluster's controllers would report that the test bed does not run, written
 * as they would write it (simulated: no machine boots, no OpenStack answers). Each caller says
 * which controller it stands in for.
 */
import * as fs from "fs";
import { stringify as toYaml } from "yaml";
import type { ControlPlane } from "./controlPlane";

const OPENSTACK_CLUSTER = "openstackclusters.v1beta1.infrastructure.cluster.x-k8s.io";
const KUBEADM_CONTROL_PLANE = "kubeadmcontrolplanes.v1beta2.controlplane.cluster.x-k8s.io";

/** Writes an object's status as its controller would (simulated: the test bed runs no such controller for it). */
export function patchStatus(cp: ControlPlane, resource: string, name: string, namespace: string, status: Record<string, unknown>): void {
    cp.kubectlOk(["patch", resource, name, "-n", namespace, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
}

/**
 * A kubeconfig of `cp` with the credentials embedded, its cluster and context named `name`: by
 * default the "workload cluster" (for its Cluster API `<cluster>-kubeconfig` Secret), which is the
 * API server itself.
 */
export function embeddedKubeconfig(cp: ControlPlane, name = "workload"): string {
    const b64 = (f: string) => fs.readFileSync(f).toString("base64");
    return toYaml({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name, cluster: { server: cp.server, "certificate-authority-data": b64(cp.pki.caCert) } }],
        users: [{ name: "admin", user: { "client-certificate-data": b64(cp.pki.adminCert), "client-key-data": b64(cp.pki.adminKey) } }],
        contexts: [{ name, context: { cluster: name, user: "admin" } }],
        "current-context": name,
    });
}

/**
 * Cluster `name` of namespace `ns` reported reachable, as CAPO and KCP would report it
 * (simulated: no machine boots): OpenStackCluster `osc`'s control plane endpoint is `cp` itself
 * and it is ready, the `<name>-kubeconfig` Secret points at `cp` (the "workload cluster"), and
 * KubeadmControlPlane `kcp` reports its control plane initialized. Cluster API then reaches the
 * cluster (ClusterResourceSets apply, the Machine controller looks for the Nodes).
 */
export function reportReachable(cp: ControlPlane, ns: string, name: string, osc: string, kcp: string): void {
    const apiPort = Number(new URL(cp.server).port);
    cp.kubectlOk([
        "patch",
        OPENSTACK_CLUSTER,
        osc,
        "-n",
        ns,
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { controlPlaneEndpoint: { host: "127.0.0.1", port: apiPort } } }),
    ]);
    patchStatus(cp, OPENSTACK_CLUSTER, osc, ns, { ready: true });
    cp.applyOk(
        toYaml({
            apiVersion: "v1",
            kind: "Secret",
            type: "cluster.x-k8s.io/secret",
            metadata: { name: `${name}-kubeconfig`, namespace: ns, labels: { "cluster.x-k8s.io/cluster-name": name } },
            stringData: { value: embeddedKubeconfig(cp) },
        }),
    );
    patchStatus(cp, KUBEADM_CONTROL_PLANE, kcp, ns, { initialization: { controlPlaneInitialized: true } });
}
