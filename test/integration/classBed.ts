/**
 * The project's ClusterClass in the test bed, for tests of what a workload cluster's nodes and
 * infrastructure get from it: the dev environment of gitops/ (built as Flux builds it) applied to
 * a fresh management cluster, then one Cluster per variant expanded by Cluster API's real
 * topology controller (its patches' Go templates, its variables' schemas and CEL rules judged by
 * its webhook). Replaces the tree reader's own template and CEL evaluation, which the unit suite
 * had; each variant is a new Cluster, deleted once read.
 */
import * as assert from "assert";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { fluxSettingsData } from "../../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../../src/shared/contract";
import { testbedFluxSubstituter } from "../../render/fluxEnvsubst";
import { reportControlPlaneVersion } from "../../render/topologyBed";
import { readEnvironment, TreeObject } from "../../render/gitopsTree";
import { caaphValues } from "./caaphValues";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { requiredComponents, startManagementCluster } from "./harness/managementCluster";
import { at, conditionTrue } from "./harness/objects";
import { waitFor } from "./harness/processes";
import { patchStatus } from "./harness/simulated";
import { Testbed } from "./harness/testbed";

/** The management server's address the tree's Clusters admit (as the unit suite's settings). */
export const MANAGEMENT_ADDRESS = "192.0.2.10";

/** Resources read back, with explicit versions. */
export const R = {
    Cluster: "clusters.v1beta2.cluster.x-k8s.io",
    ClusterClass: "clusterclasses.v1beta2.cluster.x-k8s.io",
    MachineDeployment: "machinedeployments.v1beta2.cluster.x-k8s.io",
    KubeadmControlPlane: "kubeadmcontrolplanes.v1beta2.controlplane.cluster.x-k8s.io",
    KubeadmConfigTemplate: "kubeadmconfigtemplates.v1beta2.bootstrap.cluster.x-k8s.io",
    OpenStackCluster: "openstackclusters.v1beta1.infrastructure.cluster.x-k8s.io",
    OpenStackMachineTemplate: "openstackmachinetemplates.v1beta1.infrastructure.cluster.x-k8s.io",
    HelmReleaseProxy: "helmreleaseproxies.v1alpha1.addons.cluster.x-k8s.io",
};

/** Bound of one controller round trip on a loaded machine. */
export const CONTROLLER_TIMEOUT_MS = 180_000;

/** A kubeadm file as Cluster API's KubeadmConfigSpec holds it. */
export type KubeadmFile = { path: string; owner: string; permissions: string; content: string };

/** What the topology controller made of one Cluster. */
export interface Expanded {
    /** The Cluster as the server holds it (variables defaulted by the webhook). */
    cluster: KubeObject;
    /** KubeadmControlPlane spec.kubeadmConfigSpec. */
    controlPlane: { files?: KubeadmFile[]; preKubeadmCommands?: string[]; postKubeadmCommands?: string[]; [k: string]: unknown };
    /** The first worker class's KubeadmConfigTemplate spec.template.spec. */
    workers: { files?: KubeadmFile[]; preKubeadmCommands?: string[]; postKubeadmCommands?: string[]; [k: string]: unknown };
    /** OpenStackCluster spec. */
    infrastructure: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    /** The control plane's and the first worker class's OpenStackMachineTemplate spec.template.spec. */
    machines: { controlPlane: Record<string, any>; workers: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A Cluster with one variable set (undefined: removed). */
export function withVariable(cluster: TreeObject, name: string, value: unknown): TreeObject {
    const out = structuredClone(cluster);
    const vars = (out.spec.topology.variables as { name: string; value: unknown }[]).filter((v) => v.name !== name);
    out.spec.topology.variables = value === undefined ? vars : [...vars, { name, value }];
    return out;
}

/** The class of the dev environment on a running management cluster. */
export class ClassBed {
    private serial = 0;

    private constructor(
        readonly cp: ControlPlane,
        /** Every object of the dev environment, as Flux applies it. */
        readonly objects: TreeObject[],
    ) {}

    /** The dev environment's example Cluster (workload-1), as the tree has it. */
    get base(): TreeObject {
        const c = this.objects.find((o) => o.kind === "Cluster" && o.metadata.name === "workload-1");
        assert.ok(c, "the dev environment has no Cluster workload-1");
        return structuredClone(c);
    }

    /** Why the test bed cannot run, or undefined. */
    static missing(): string | undefined {
        return Testbed.load().missing([...requiredComponents(), "flux-envsubst"]);
    }

    /** Starts a management cluster and applies everything of the dev environment but its Clusters. */
    static async start(name: string): Promise<ClassBed> {
        const settings = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: MANAGEMENT_ADDRESS });
        const env = readEnvironment(path.resolve(__dirname, "../../gitops"), "./clusters/dev", settings, testbedFluxSubstituter());
        const objects = env.units.flatMap((u) => u.documents.map((d) => d.object));
        const cp = await startManagementCluster(Testbed.load(), name);
        try {
            cp.applyOk(toYaml({ apiVersion: "v1", kind: "Namespace", metadata: { name: DEFAULT_WORKLOAD_NAMESPACE } }));
            for (const o of objects.filter((x) => x.kind !== "Cluster")) {
                cp.applyOk(toYaml(o), { fieldManager: "kustomize-controller" });
            }
            for (const cc of objects.filter((o) => o.kind === "ClusterClass")) {
                await waitFor(
                    `ClusterClass ${cc.metadata.name} VariablesReady`,
                    () => (conditionTrue(cp.get(R.ClusterClass, cc.metadata.name, cc.metadata.namespace), "VariablesReady") ? true : undefined),
                    {
                        timeoutMs: CONTROLLER_TIMEOUT_MS,
                        intervalMs: 1000,
                        watched: cp.processes,
                    },
                );
            }
            return new ClassBed(cp, objects);
        } catch (e) {
            await cp.stop();
            throw e;
        }
    }

    /** A copy of `cluster` under a name of its own, with no add-on labels (no add-on selects it). */
    private variant(cluster: TreeObject): TreeObject {
        const out = structuredClone(cluster);
        out.metadata.name = `${cluster.metadata.name}-v${++this.serial}`;
        out.metadata.labels = {};
        return out;
    }

    /** What the server says refusing `cluster` (fails when it accepts it). */
    refusal(cluster: TreeObject): string {
        const r = this.cp.apply(toYaml(this.variant(cluster)), { fieldManager: "kustomize-controller" });
        assert.notStrictEqual(r.status, 0, `expected Cluster API's webhook to refuse the Cluster, it accepted it`);
        return r.stderr;
    }

    /**
     * Applies `cluster` (renamed), waits for the topology controller to expand it (the control
     * plane reported provisioned, simulated, so that the workers come), reads what it made,
     * and deletes the Cluster.
     */
    async expand(cluster: TreeObject): Promise<Expanded> {
        const c = this.variant(cluster);
        const ns = c.metadata.namespace as string;
        const poll = { timeoutMs: CONTROLLER_TIMEOUT_MS, intervalMs: 1000, watched: this.cp.processes };
        const r = this.cp.apply(toYaml(c), { fieldManager: "kustomize-controller" });
        assert.strictEqual(r.status, 0, `Cluster ${c.metadata.name} refused:\n${r.stderr}`);
        try {
            const live = await waitFor(
                `Cluster ${c.metadata.name} expanded`,
                () => {
                    const got = this.cp.get(R.Cluster, c.metadata.name, ns);
                    return at(got, "spec.infrastructureRef.name") && at(got, "spec.controlPlaneRef.name") ? got : undefined;
                },
                poll,
            );
            const kcp = await waitFor(
                "KubeadmControlPlane",
                () => this.cp.get(R.KubeadmControlPlane, at(live, "spec.controlPlaneRef.name") as string, ns),
                poll,
            );
            const osc = await waitFor("OpenStackCluster", () => this.cp.get(R.OpenStackCluster, at(live, "spec.infrastructureRef.name") as string, ns), poll);
            const cpMachine = await waitFor(
                "control plane OpenStackMachineTemplate",
                () => this.cp.get(R.OpenStackMachineTemplate, at(kcp, "spec.machineTemplate.spec.infrastructureRef.name") as string, ns),
                poll,
            );
            reportControlPlaneVersion(this.cp, kcp);
            const md = await waitFor(
                `MachineDeployment of ${c.metadata.name}`,
                () => this.cp.list(R.MachineDeployment, { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${c.metadata.name}` })[0],
                poll,
            );
            const kct = await waitFor(
                "KubeadmConfigTemplate",
                () => this.cp.get(R.KubeadmConfigTemplate, at(md, "spec.template.spec.bootstrap.configRef.name") as string, ns),
                poll,
            );
            const wMachine = await waitFor(
                "worker OpenStackMachineTemplate",
                () => this.cp.get(R.OpenStackMachineTemplate, at(md, "spec.template.spec.infrastructureRef.name") as string, ns),
                poll,
            );
            return {
                cluster: this.cp.get(R.Cluster, c.metadata.name, ns)!,
                controlPlane: at(kcp, "spec.kubeadmConfigSpec") as Expanded["controlPlane"],
                workers: at(kct, "spec.template.spec") as Expanded["workers"],
                infrastructure: osc.spec as Expanded["infrastructure"],
                machines: {
                    controlPlane: at(cpMachine, "spec.template.spec") as Expanded["infrastructure"],
                    workers: at(wMachine, "spec.template.spec") as Expanded["infrastructure"],
                },
            };
        } finally {
            this.cp.kubectl(["delete", R.Cluster, c.metadata.name, "-n", ns, "--wait=false"]);
        }
    }

    /**
     * The Helm values CAAPH renders for `cluster` (renamed) from the tree's HelmChartProxy of
     * `chart`: its values template executed by CAAPH's own HelmChartProxy controller. The
     * OpenStackCluster's status is reported as CAPO would (simulated: network `net-1` with
     * subnet `subnet-1`, external network `ext-1`). CAAPH runs with a watch filter in the test
     * bed: only a copy of the proxy carrying the filter's label is reconciled, selecting this
     * Cluster alone; the HelmReleaseProxy it makes is not (no chart is fetched or installed).
     * The Cluster carries `labels` only (the values templates read some, e.g. an add-on's mode).
     */
    async helmValues(cluster: TreeObject, chart: string, labels: Record<string, string> = {}): Promise<{ values: string; cluster: KubeObject }> {
        const c = this.variant(cluster);
        const ns = c.metadata.namespace as string;
        c.metadata.labels = { ...labels, "capi-mgmt.io/values-test": c.metadata.name };
        const poll = { timeoutMs: CONTROLLER_TIMEOUT_MS, intervalMs: 1000, watched: this.cp.processes };
        const proxy = this.objects.find((o) => o.kind === "HelmChartProxy" && o.spec.chartName === chart);
        assert.ok(proxy, `the tree has no HelmChartProxy of ${chart}`);
        assert.strictEqual(this.cp.apply(toYaml(c), { fieldManager: "kustomize-controller" }).status, 0, `Cluster ${c.metadata.name} refused`);
        try {
            const live = await waitFor(
                `Cluster ${c.metadata.name} expanded`,
                () => {
                    const got = this.cp.get(R.Cluster, c.metadata.name, ns);
                    return at(got, "spec.infrastructureRef.name") ? got : undefined;
                },
                poll,
            );
            const osc = at(live, "spec.infrastructureRef.name") as string;
            await waitFor("OpenStackCluster", () => this.cp.get(R.OpenStackCluster, osc, ns), poll);
            patchStatus(this.cp, R.OpenStackCluster, osc, ns, {
                network: {
                    id: "net-1",
                    name: `k8s-clusterapi-cluster-${ns}-${c.metadata.name}`,
                    subnets: [{ id: "subnet-1", cidr: "10.6.0.0/24", name: "x" }],
                },
                externalNetwork: { id: "ext-1", name: "public" },
            });
            const values = await caaphValues(
                this.cp,
                proxy,
                { cluster: c.metadata.name, namespace: ns, selector: c.metadata.labels, copyName: `${chart}-${c.metadata.name}` },
                poll,
            );
            return { values, cluster: this.cp.get(R.Cluster, c.metadata.name, ns)! };
        } finally {
            this.cp.kubectl(["delete", R.Cluster, c.metadata.name, "-n", ns, "--wait=false"]);
        }
    }

    /** A Cluster already expanded (created by {@link expand}'s way, kept): for transition tests. */
    async create(cluster: TreeObject): Promise<TreeObject> {
        const c = this.variant(cluster);
        const r = this.cp.apply(toYaml(c), { fieldManager: "kustomize-controller" });
        assert.strictEqual(r.status, 0, `Cluster ${c.metadata.name} refused:\n${r.stderr}`);
        return c;
    }

    /** Re-applies a Cluster made by {@link create} with changes: the kubectl result. */
    update(cluster: TreeObject): { status: number | null; stderr: string } {
        return this.cp.apply(toYaml(cluster), { fieldManager: "kustomize-controller" });
    }

    async stop(): Promise<void> {
        await this.cp.stop();
    }
}

/**
 * Mocha hooks of a suite on the class: a {@link ClassBed} started before it (the suite skipped,
 * saying why, when the test bed is incomplete) and stopped after it. Returns its getter.
 */
export function classBedFor(name: string): () => ClassBed {
    let bed: ClassBed | undefined;
    before(async function () {
        this.timeout(20 * 60_000);
        const missing = ClassBed.missing();
        if (missing) {
            console.log(`      SKIPPED: test bed incomplete: ${missing}`);
            this.skip();
        }
        bed = await ClassBed.start(name);
    });
    after(async function () {
        this.timeout(120_000);
        await bed?.stop();
    });
    return () => {
        assert.ok(bed, "test bed not started");
        return bed;
    };
}
