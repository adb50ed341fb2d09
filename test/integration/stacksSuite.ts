/**
 * What the stack suites share (stacks.integration.ts registers the tests of
 * stacksClusterChanges.ts and stacksServerJudges.ts in its describe, on its control plane): the
 * resources by kind, the controller bound, the suite's state as a {@link StackSuite}, and small
 * readers of the server's answers.
 */
import * as assert from "assert";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { RenderedStack } from "./harness/stack";

/** Resources by kind, with explicit versions (what the assertions read). */
export const R = {
    Cluster: "clusters.v1beta2.cluster.x-k8s.io",
    ClusterClass: "clusterclasses.v1beta2.cluster.x-k8s.io",
    MachineDeployment: "machinedeployments.v1beta2.cluster.x-k8s.io",
    MachineHealthCheck: "machinehealthchecks.v1beta2.cluster.x-k8s.io",
    ClusterResourceSetBinding: "clusterresourcesetbindings.v1beta2.addons.cluster.x-k8s.io",
    KubeadmControlPlane: "kubeadmcontrolplanes.v1beta2.controlplane.cluster.x-k8s.io",
    KubeadmConfigTemplate: "kubeadmconfigtemplates.v1beta2.bootstrap.cluster.x-k8s.io",
    OpenStackCluster: "openstackclusters.v1beta1.infrastructure.cluster.x-k8s.io",
    OpenStackMachineTemplate: "openstackmachinetemplates.v1beta1.infrastructure.cluster.x-k8s.io",
    Kustomization: "kustomizations.v1.kustomize.toolkit.fluxcd.io",
};

/** Bound of one controller round trip (topology expansion, rollout) on a loaded machine. */
export const CONTROLLER_TIMEOUT_MS = 180_000;

/** kubectl's message with the server's refusal, for `assert.match`. */
export function refusal(cp: ControlPlane, args: string[], input?: string): string {
    const r = cp.kubectl(args, input);
    assert.notStrictEqual(r.status, 0, `expected the server to refuse kubectl ${args.join(" ")}, it accepted:\n${r.stdout}`);
    return r.stderr;
}

/** The one document of `kind` in a doc list. */
export function only(docs: KubeObject[], kind: string): KubeObject {
    const found = docs.filter((d) => d.kind === kind);
    assert.strictEqual(found.length, 1, `expected one ${kind}, found ${found.length}`);
    return found[0];
}

/** One stack's suite as its tests see it: the stack, its control plane and what was rendered for it. */
export interface StackSuite {
    stack: string;
    /** The control plane (fails when it did not start). */
    c: () => ControlPlane;
    rendered: () => RenderedStack;
    /** The suite's temporary directory. */
    workDir: () => string;
    /** All GitOps documents of every Kustomization. */
    gitopsDocs: () => KubeObject[];
    /** The data of the rendered ConfigMap capi-mgmt-settings. */
    settings: () => Record<string, string>;
    /** The example Clusters of the GitOps tree. */
    clusters: () => KubeObject[];
    /** The ClusterClass `name` of the GitOps tree. */
    clusterClass: (name: string) => KubeObject;
    /** Bounds of a wait on a controller; fails early, with its log, if a server or manager dies. */
    poll: () => { timeoutMs: number; intervalMs: number; watched: ControlPlane["processes"] };
}
