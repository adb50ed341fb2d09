/**
 * The test bed's side of test/integration/backup.integration.ts: what a running management
 * cluster reports that the test bed does not run (a provisioned control plane, booted Machines,
 * Kubernetes' garbage collector), and what `clusterctl init` and src/host/scripts/orc.sh do to it besides the
 * CRDs. Every simulation is named where it is done.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import { stringify as toYaml } from "yaml";
import { CAPO_NAMESPACE } from "../../src/shared/contract";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { at, conditionTrue } from "./harness/objects";
import { ManagedProcess, waitFor } from "./harness/processes";
import { patchStatus, reportReachable } from "./harness/simulated";
import { Testbed } from "./harness/testbed";

/** Bounds of a wait on a controller. */
export interface Poll {
    timeoutMs: number;
    intervalMs: number;
    watched: ManagedProcess[];
}

export const R = {
    Cluster: "clusters.v1beta2.cluster.x-k8s.io",
    ClusterClass: "clusterclasses.v1beta2.cluster.x-k8s.io",
    Machine: "machines.v1beta2.cluster.x-k8s.io",
    KubeadmConfig: "kubeadmconfigs.v1beta2.bootstrap.cluster.x-k8s.io",
    OpenStackMachine: "openstackmachines.v1beta1.infrastructure.cluster.x-k8s.io",
    MachineDeployment: "machinedeployments.v1beta2.cluster.x-k8s.io",
    KubeadmControlPlane: "kubeadmcontrolplanes.v1beta2.controlplane.cluster.x-k8s.io",
    OpenStackCluster: "openstackclusters.v1beta1.infrastructure.cluster.x-k8s.io",
    ClusterResourceSetBinding: "clusterresourcesetbindings.v1beta2.addons.cluster.x-k8s.io",
    Identity: "openstackclusteridentities.v1alpha1.infrastructure.cluster.x-k8s.io",
};

export const CONTROLLER_TIMEOUT_MS = 180_000;
export const CLUSTERCTL_LABEL = "clusterctl.cluster.x-k8s.io";
const ORC_GROUP = "openstack.k-orc.cloud";
/** Kinds of the rendered output that are not Cluster API's to move: Flux's objects and the namespace. */
export const NOT_CLUSTER_API = new Set(["Namespace", "ConfigMap", "GitRepository", "Kustomization"]);

/** The provider inventory `clusterctl init` writes (its Provider objects), for the versions of the test bed. */
export function inventory(testbed: Testbed): string {
    const providers: [string, string, string, string, string][] = [
        ["cluster-api", "capi-system", "CoreProvider", "cluster-api", "capi-core"],
        ["bootstrap-kubeadm", "capi-kubeadm-bootstrap-system", "BootstrapProvider", "kubeadm", "capi-kubeadm-bootstrap"],
        ["control-plane-kubeadm", "capi-kubeadm-control-plane-system", "ControlPlaneProvider", "kubeadm", "capi-kubeadm-control-plane"],
        ["infrastructure-openstack", CAPO_NAMESPACE, "InfrastructureProvider", "openstack", "capo"],
        ["addon-helm", "caaph-system", "AddonProvider", "helm", "caaph"],
    ];
    return providers
        .flatMap(([name, ns, type, providerName, component]) => [
            toYaml({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }),
            toYaml({
                apiVersion: "clusterctl.cluster.x-k8s.io/v1alpha3",
                kind: "Provider",
                metadata: { name, namespace: ns, labels: { [CLUSTERCTL_LABEL]: "", "cluster.x-k8s.io/provider": name } },
                type,
                providerName,
                version: testbed.components[component]?.version ?? "v0.0.0",
            }),
        ])
        .join("---\n");
}

/** What `clusterctl init` does to the providers' CRDs: the clusterctl label (the harness installs them from the modules without it). */
export function labelProviderCrds(cp: ControlPlane): void {
    cp.kubectlOk(["label", "--overwrite", "crd", "-l", "cluster.x-k8s.io/provider", `${CLUSTERCTL_LABEL}=`]);
}

/** ORC's CRDs labelled as src/host/scripts/orc.sh labels them (`kubectl label --overwrite crd <ORC's CRDs> clusterctl.cluster.x-k8s.io=`). */
export function labelOrcCrds(cp: ControlPlane): void {
    const crds = cp
        .kubectlOk(["get", "crd", "-o", "name"])
        .split("\n")
        .filter((n) => n.endsWith(`.${ORC_GROUP}`))
        .map((n) => n.replace(/^.*\//, ""));
    assert.ok(crds.length > 0, "no ORC CRD installed");
    cp.kubectlOk(["label", "--overwrite", "crd", ...crds, `${CLUSTERCTL_LABEL}=`]);
}

/** What the two-server suites (backup.integration.ts, pivot.integration.ts) hand the tests they register. */
export interface TwoServerSuite {
    /** API server A (fails when it did not start). */
    A: () => ControlPlane;
    /** API server B (fails when it did not start). */
    B: () => ControlPlane;
    ns: string;
    poll: (cp: ControlPlane) => { timeoutMs: number; intervalMs: number; watched: ControlPlane["processes"] };
    clusters: () => KubeObject[];
}

/** A host script's outcome. */
export interface HostRun {
    status: number | null;
    stdout: string;
    stderr: string;
}

/**
 * Cluster `cl` of namespace `ns` expanded by the real topology controller, then reported
 * provisioned as KCP and CAPO would (no machine boots here), with its kubeconfig (this API
 * server as the "workload cluster") and CA Secrets, until Cluster API reports it initialized
 * and its Machines and ClusterResourceSetBinding exist.
 */
export async function provisionCluster(cp: ControlPlane, cl: KubeObject, ns: string, poll: Poll): Promise<void> {
    const name = cl.metadata.name;
    const live = await waitFor(
        `Cluster ${name} refs`,
        () => {
            const got = cp.get(R.Cluster, name, ns);
            return at(got, "spec.infrastructureRef.name") && at(got, "spec.controlPlaneRef.name") ? got : undefined;
        },
        poll,
    );
    const kcp = at(live, "spec.controlPlaneRef.name") as string;
    const osc = at(live, "spec.infrastructureRef.name") as string;
    // As KCP and CAPO would report a running control plane (no machine boots here).
    patchStatus(cp, R.KubeadmControlPlane, kcp, ns, { version: at(cl, "spec.topology.version") });
    reportReachable(cp, ns, name, osc, kcp);
    await waitFor(
        `Cluster ${name} provisioned and its control plane initialized`,
        () => {
            const got = cp.get(R.Cluster, name, ns);
            return at(got, "status.initialization.infrastructureProvisioned") === true && conditionTrue(got, "ControlPlaneInitialized") ? true : undefined;
        },
        poll,
    );
    await waitFor(
        `Machines of ${name}'s MachineDeployments`,
        () => {
            const want = (at(cl, "spec.topology.workers.machineDeployments") as { replicas?: number }[]).reduce((s, m) => s + (m.replicas ?? 1), 0);
            return cp.list(R.Machine, { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${name}` }).length >= want ? true : undefined;
        },
        poll,
    );
    await waitFor(`ClusterResourceSetBinding of ${name}`, () => (cp.get(R.ClusterResourceSetBinding, name, ns) ? true : undefined), poll);
    // The cluster CA KCP would generate (KCP reconciles nothing here).
    cp.applyOk(
        toYaml({
            apiVersion: "v1",
            kind: "Secret",
            type: "cluster.x-k8s.io/secret",
            metadata: { name: `${name}-ca`, namespace: ns, labels: { "cluster.x-k8s.io/cluster-name": name } },
            stringData: { "tls.crt": "test-bed CA certificate", "tls.key": "test-bed CA key" },
        }),
    );
    // The topology controller creates the control plane and infrastructure objects owned
    // by a shim Secret, which it deletes once the Cluster references them; Kubernetes'
    // garbage collector then drops the dangling owner reference. The test bed runs no
    // kube-controller-manager, so this does it. (clusterctl leaves out an object whose
    // owner does not exist: without this, no KubeadmControlPlane nor OpenStackCluster
    // would be backed up.)
    await waitFor(`${name}-shim Secret deleted by the topology controller`, () => (cp.get("secrets", `${name}-shim`, ns) ? undefined : true), poll);
    for (const resource of [R.KubeadmControlPlane, R.OpenStackCluster]) {
        for (const o of cp.list(resource, { namespace: ns })) {
            const owners = (o.metadata.ownerReferences ?? []) as { kind: string; name: string }[];
            const kept = owners.filter((x) => !(x.kind === "Secret" && !cp.get("secrets", x.name, ns)));
            if (kept.length !== owners.length) {
                cp.kubectlOk([
                    "patch",
                    resource,
                    o.metadata.name,
                    "-n",
                    ns,
                    "--type=json",
                    "-p",
                    JSON.stringify([{ op: "replace", path: "/metadata/ownerReferences", value: kept }]),
                ]);
            }
        }
    }
}

/**
 * The Machines of `ns` boot (simulated): the bootstrap data is ready (as the kubeadm bootstrap
 * provider reports it), the server exists (as CAPO reports it: a provider ID) and its Node
 * joins the "workload cluster" (this API server, by the Cluster's kubeconfig Secret). Cluster
 * API's own Machine controller then finds the Node and sets the Machine's nodeRef. Machines
 * already booted are left alone (CAPO's webhook keeps an OpenStackMachine's spec as it is once
 * set); each server ID is derived from its Machine's name, so a later boot never reuses one.
 */
export async function bootMachines(cp: ControlPlane, ns: string, poll: Poll): Promise<void> {
    for (const m of cp.list(R.Machine, { namespace: ns })) {
        const name = m.metadata.name;
        const providerID = `openstack:///0b7e5a8e-0000-4000-8000-${crypto.createHash("sha256").update(name).digest("hex").slice(0, 12)}`;
        const bootstrap = at(m, "spec.bootstrap.configRef.name") as string;
        const infra = at(m, "spec.infrastructureRef.name") as string;
        if (at(cp.get(R.OpenStackMachine, infra, ns), "spec.providerID")) {
            continue;
        }
        cp.kubectlOk([
            "patch",
            R.KubeadmConfig,
            bootstrap,
            "-n",
            ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            JSON.stringify({ status: { initialization: { dataSecretCreated: true }, dataSecretName: bootstrap } }),
        ]);
        cp.kubectlOk(["patch", R.OpenStackMachine, infra, "-n", ns, "--type=merge", "-p", JSON.stringify({ spec: { providerID } })]);
        cp.kubectlOk(["patch", R.OpenStackMachine, infra, "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { ready: true } })]);
        cp.applyOk(toYaml({ apiVersion: "v1", kind: "Node", metadata: { name: `node-${name}` }, spec: { providerID } }));
    }
    for (const m of cp.list(R.Machine, { namespace: ns })) {
        await waitFor(
            `Machine ${m.metadata.name}'s nodeRef set by Cluster API`,
            () => (at(cp.get(R.Machine, m.metadata.name, ns), "status.nodeRef.name") ? true : undefined),
            poll,
        );
    }
}
