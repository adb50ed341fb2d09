/**
 * A workload Cluster's expanded objects as Cluster API makes them, for render's
 * `gitops/topology/` (`npm run render -- --topology`): the environment's objects are applied to
 * the test bed's management cluster (a real kube-apiserver with the pinned Cluster API, CAPO,
 * CAAPH, ORC and Flux CRDs and webhooks, and Cluster API's real topology controller: see
 * test/integration/harness/managementCluster.ts), which expands each topology Cluster; render
 * reads back what it made. Nothing of the class's Go templates or CEL rules is evaluated here.
 *
 * Needs the test bed built (`npm run testbed:build`, ~/.cache/capi-mgmt-testbed); without it,
 * {@link topologyUnavailable} says why, and render writes no `gitops/topology/`.
 *
 * No machine boots: as in the integration suite, the control plane is reported provisioned
 * (KubeadmControlPlane status.version, simulated) so that the topology controller creates the
 * workers' MachineDeployments and templates. Names the controller generates carry a random
 * suffix, so two renders with `--topology` differ in those names only.
 */
import { stringify } from "yaml";
import type { ControlPlane, KubeObject } from "../test/integration/harness/controlPlane";
import { requiredComponents, startManagementCluster } from "../test/integration/harness/managementCluster";
import { waitFor } from "../test/integration/harness/processes";
import { patchStatus } from "../test/integration/harness/simulated";
import { Testbed } from "../test/integration/harness/testbed";
import type { TreeObject } from "./gitopsTree";
import { TreeError } from "./treeError";

/** Bound of one topology controller round trip on a loaded machine. */
const EXPANSION_TIMEOUT_MS = 180_000;

/** Resources read back, with explicit versions. */
const R = {
    Cluster: "clusters.v1beta2.cluster.x-k8s.io",
    ClusterClass: "clusterclasses.v1beta2.cluster.x-k8s.io",
    MachineDeployment: "machinedeployments.v1beta2.cluster.x-k8s.io",
    MachineHealthCheck: "machinehealthchecks.v1beta2.cluster.x-k8s.io",
    KubeadmControlPlane: "kubeadmcontrolplanes.v1beta2.controlplane.cluster.x-k8s.io",
    KubeadmConfigTemplate: "kubeadmconfigtemplates.v1beta2.bootstrap.cluster.x-k8s.io",
    OpenStackCluster: "openstackclusters.v1beta1.infrastructure.cluster.x-k8s.io",
    OpenStackMachineTemplate: "openstackmachinetemplates.v1beta1.infrastructure.cluster.x-k8s.io",
};

/** Why the test bed cannot expand topologies here, or undefined when it can. */
export function topologyUnavailable(): string | undefined {
    try {
        return Testbed.load().missing(requiredComponents());
    } catch (e) {
        return (e as Error).message;
    }
}

/** An object as the server holds it, without what the server adds (status, bookkeeping). */
function spec(o: KubeObject): TreeObject {
    const { name, namespace, labels, annotations } = o.metadata as TreeObject["metadata"];
    const clean: TreeObject = { apiVersion: o.apiVersion, kind: o.kind, metadata: { name, namespace, labels, annotations } };
    return { ...clean, ...(o.spec !== undefined ? { spec: o.spec } : {}) };
}

/** `a.b.c` of an object. */
function field(o: unknown, dotted: string): unknown {
    return dotted.split(".").reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), o);
}

/**
 * Reports a KubeadmControlPlane at its spec's version, as KubeadmControlPlane would once
 * provisioned (simulated: no machine runs): the topology controller makes the workers only then.
 */
export function reportControlPlaneVersion(cp: ControlPlane, kcp: KubeObject): void {
    patchStatus(cp, R.KubeadmControlPlane, kcp.metadata.name as string, kcp.metadata.namespace as string, { version: field(kcp, "spec.version") });
}

/** What the topology controller made of one Cluster: its infrastructure, control plane, workers and health checks. */
async function expanded(cp: ControlPlane, cluster: TreeObject): Promise<TreeObject[]> {
    const ns = cluster.metadata.namespace as string;
    const name = cluster.metadata.name;
    const poll = { timeoutMs: EXPANSION_TIMEOUT_MS, intervalMs: 2000, watched: cp.processes };
    const must = (o: KubeObject | undefined, what: string): KubeObject => {
        if (o === undefined) throw new TreeError(`Cluster ${name}: the topology controller made no ${what}`);
        return o;
    };
    const live = await waitFor(
        `Cluster ${name} expanded by the topology controller`,
        () => {
            const got = cp.get(R.Cluster, name, ns);
            return field(got, "spec.infrastructureRef.name") && field(got, "spec.controlPlaneRef.name") ? got : undefined;
        },
        poll,
    );
    const osc = must(cp.get(R.OpenStackCluster, field(live, "spec.infrastructureRef.name") as string, ns), "OpenStackCluster");
    const kcp = must(cp.get(R.KubeadmControlPlane, field(live, "spec.controlPlaneRef.name") as string, ns), "KubeadmControlPlane");
    const cpMachine = must(
        cp.get(R.OpenStackMachineTemplate, field(kcp, "spec.machineTemplate.spec.infrastructureRef.name") as string, ns),
        "control plane OpenStackMachineTemplate",
    );
    reportControlPlaneVersion(cp, kcp);
    const out = [osc, kcp, cpMachine];
    for (const md of (field(cluster, "spec.topology.workers.machineDeployments") ?? []) as { name: string }[]) {
        const selector = `cluster.x-k8s.io/cluster-name=${name},topology.cluster.x-k8s.io/deployment-name=${md.name}`;
        const deployment = await waitFor(`MachineDeployment ${md.name} of ${name}`, () => cp.list(R.MachineDeployment, { namespace: ns, selector })[0], poll);
        out.push(
            deployment,
            must(
                cp.get(R.OpenStackMachineTemplate, field(deployment, "spec.template.spec.infrastructureRef.name") as string, ns),
                `${md.name} OpenStackMachineTemplate`,
            ),
            must(
                cp.get(R.KubeadmConfigTemplate, field(deployment, "spec.template.spec.bootstrap.configRef.name") as string, ns),
                `${md.name} KubeadmConfigTemplate`,
            ),
        );
    }
    out.push(
        ...cp
            .list(R.MachineHealthCheck, { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${name}` })
            .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)),
    );
    return out.map(spec);
}

/**
 * Applies `objects` (an environment's, as Flux applies them: everything but the Clusters, the
 * ClusterClasses' variables read, then the Clusters) to a fresh test-bed management cluster and
 * returns, per topology Cluster, what Cluster API's topology controller expanded. Throws a
 * TreeError naming what the server refused or what did not appear in time.
 */
export async function expandTopologies(objects: TreeObject[]): Promise<Map<string, TreeObject[]>> {
    const testbed = Testbed.load();
    const missing = testbed.missing(requiredComponents());
    if (missing) throw new TreeError(`the test bed cannot expand topologies: ${missing}`);
    const cp = await startManagementCluster(testbed, "render-topology");
    try {
        const apply = (o: TreeObject | KubeObject) => {
            const r = cp.apply(stringify(o), { fieldManager: "kustomize-controller" });
            if (r.status !== 0) throw new TreeError(`${o.kind} ${o.metadata.name} refused by the test bed's API server: ${r.stderr.trim()}`);
        };
        for (const ns of new Set(objects.map((o) => o.metadata.namespace).filter((n): n is string => n !== undefined))) {
            apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
        }
        const clusters = objects.filter((o) => o.kind === "Cluster" && o.spec?.topology !== undefined);
        objects.filter((o) => !clusters.includes(o)).forEach(apply);
        for (const cc of objects.filter((o) => o.kind === "ClusterClass")) {
            await waitFor(
                `ClusterClass ${cc.metadata.name} VariablesReady`,
                () => {
                    const got = cp.get(R.ClusterClass, cc.metadata.name, cc.metadata.namespace);
                    const ready = ((field(got, "status.conditions") ?? []) as { type: string; status: string }[]).some(
                        (c) => c.type === "VariablesReady" && c.status === "True",
                    );
                    return ready ? true : undefined;
                },
                { timeoutMs: EXPANSION_TIMEOUT_MS, intervalMs: 1000, watched: cp.processes },
            );
        }
        clusters.forEach(apply);
        const out = new Map<string, TreeObject[]>();
        for (const cluster of clusters) {
            out.set(cluster.metadata.name, await expanded(cp, cluster));
        }
        return out;
    } finally {
        await cp.stop();
    }
}
