/**
 * The self-hosted management cluster (`capi-mgmt:managementCluster.mode: selfHosted`,
 * docs/self-hosted.md): two components whose host steps (src/host/steps.ts) build it with the
 * kind cluster, install ORC and Cluster API on it, move every Cluster API object into it, and
 * on `pulumi destroy` move its own objects back to kind, which deletes it.
 *
 * What the real engine does with each (modelled: the mock engine neither diffs nor deletes):
 * - second `up`: nothing runs unless an input changed (create-update steps) or the kind
 *   cluster is new (their trigger; a new server is refused in this mode, src/lifecycle/selfHostedGate.ts);
 * - a change of `managementCluster.flavor`, `kubernetesVersion` or `image`: self-hosted-cluster
 *   runs again in place and applies the new Cluster to the cluster holding it (after the pivot:
 *   itself); its kubeconfig stays the same, so nothing else changes;
 * - a change of versions: self-hosted-orc and self-hosted-providers run again in place
 *   (`clusterctl upgrade apply` on the self-hosted cluster, as on kind);
 * - `destroy`: only self-hosted-unpivot has a delete; it depends on (so is deleted after) the
 *   teardown, and is deleted before what it needs (the server and the way to it, the kind
 *   cluster, its credentials and providers). The other steps have no delete; the Kubernetes
 *   objects on the self-hosted cluster are `deletedWith` self-hosted-cluster (skipped);
 * - the server already gone: self-hosted-unpivot's dial gives up after the teardown's bounds
 *   and the destroy stops (the kind cluster that could delete the self-hosted cluster is gone:
 *   clean up by hand, docs/self-hosted.md, "The server is gone").
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { providerScripts } from "./managementCluster";
import {
    pivotScriptText,
    renderReturnToKindScript,
    renderSelfHostedClusterScript,
    renderSelfHostedPivotScript,
    renderSelfHostedUnpivotScript,
    MoveBackParams,
    SELF_HOSTED_KUBECONFIG,
} from "./selfHostedScripts";
import {
    renderSelfHostedKubeconfigInstallScript,
    renderSelfHostedProviderKubeconfigScript,
    SelfHostedKubeconfigRefreshOutput,
    selfHostedKubeconfigRefreshOutput,
    selfHostedRefreshKey,
} from "./selfHostedKubeconfig";
import { HostSteps, ServerConnection } from "../host/hostStep";
import { ProxyEnv } from "../host/proxy";
import { Versions } from "../versions/versions";

/** Bound of waiting for the self-hosted cluster to become Available (3 control plane nodes, 2 workers), seconds. */
export const SELF_HOSTED_WAIT_SECONDS = 3600;

/** The host steps of a self-hosted component, run again for a new kind cluster (their trigger). */
function kindClusterSteps(
    parent: pulumi.ComponentResource,
    component: "SelfHostedCluster" | "SelfHostedPivot",
    args: { connection: ServerConnection; kindClusterId: pulumi.Input<string> },
    given: pulumi.Resource[],
): HostSteps {
    return new HostSteps(parent, component, { connection: args.connection, given, triggers: { "kind-cluster": [args.kindClusterId] } });
}

/** Arguments of {@link SelfHostedCluster}. */
export interface SelfHostedClusterArgs {
    /** How to reach the server. */
    connection: ServerConnection;
    /** The kind step's ID (its stdout): a new kind cluster runs the steps again. */
    kindClusterId: pulumi.Input<string>;
    /** Name of the self-hosted cluster's Cluster. */
    clusterName: string;
    /** The workload namespace, where it lives. */
    namespace: string;
    /** Its objects (src/cluster/selfHostedManifest.ts). */
    manifest: pulumi.Input<string>;
    /** The tree's ClusterClass and add-ons the kind cluster builds it from. */
    bootstrap: string;
    /** Pinned versions (ORC, Cluster API, CAPO, CAAPH, cert-manager: the kind cluster's). */
    versions: Versions;
    /** The proxy of ORC's and the providers' downloads and controllers. */
    proxy: pulumi.Input<ProxyEnv | undefined>;
    /** Bound of self-hosted-unpivot's deletion of the self-hosted cluster, seconds. */
    teardownTimeoutSeconds: number;
    /** Pulumi's `protect` of self-hosted-unpivot (`capi-mgmt:protect`), as the teardown's. */
    protect: boolean;
    /**
     * What the last `up` recorded about the provider's kubeconfig (its `selfHostedKubeconfigRefresh`
     * output, read back through the StackReference to the stack; undefined when none): decides
     * whether this run reads it again (src/cluster/selfHostedKubeconfig.ts selfHostedRefreshKey).
     */
    previous: pulumi.Input<Partial<SelfHostedKubeconfigRefreshOutput> | undefined>;
    /**
     * What the steps wait for, and what self-hosted-unpivot's delete must outlive: the server
     * and the way to it, the application credentials, the kind cluster, its ORC, providers and
     * credentials (kind's CAPO deletes the self-hosted cluster with them).
     */
    outlives: pulumi.Resource[];
}

/**
 * The self-hosted cluster built by the kind cluster, and ORC and Cluster API on it. Its
 * `kubeconfig` output (the self-hosted-provider-kubeconfig step's stdout, a secret) is what the
 * program's Kubernetes provider of the self-hosted cluster uses.
 */
export class SelfHostedCluster extends pulumi.ComponentResource {
    /** The step whose delete moves the objects back to kind and deletes the self-hosted cluster. */
    readonly unpivot: command.remote.Command;
    /** The step that applies the self-hosted cluster's objects and waits for it. */
    readonly cluster: command.remote.Command;
    /** ORC on the self-hosted cluster. */
    readonly orc: command.remote.Command;
    /** Cluster API providers on the self-hosted cluster. */
    readonly providers: command.remote.Command;
    /** Admin kubeconfig of the self-hosted cluster (secret). */
    readonly kubeconfig: pulumi.Output<string>;
    /** When the provider's kubeconfig is read again (the `selfHostedKubeconfigRefresh` output: dates and the key only). */
    readonly kubeconfigRefresh: pulumi.Output<SelfHostedKubeconfigRefreshOutput>;

    constructor(name: string, args: SelfHostedClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:SelfHostedCluster", name, {}, opts);
        const steps = kindClusterSteps(this, "SelfHostedCluster", args, args.outlives);
        const v = args.versions;

        // First, like the teardown: once it exists, a destroy deletes what the kind cluster built,
        // however far this `up` got.
        this.unpivot = steps.add(
            "self-hosted-unpivot",
            renderSelfHostedUnpivotScript({ cluster: args.clusterName, namespace: args.namespace, timeoutSeconds: args.teardownTimeoutSeconds }),
            { protect: args.protect },
        );
        this.cluster = steps.add(
            "self-hosted-cluster",
            pulumi.output(args.manifest).apply((manifest) =>
                renderSelfHostedClusterScript({
                    cluster: args.clusterName,
                    namespace: args.namespace,
                    manifest,
                    bootstrap: args.bootstrap,
                    waitTimeoutSeconds: SELF_HOSTED_WAIT_SECONDS,
                }),
            ),
        );
        // The provider's kubeconfig: the server's copy (written by the step above, kept current by
        // the daily refresh, SelfHostedPivot), read by a step of its own, so reading it again never
        // re-runs self-hosted-cluster (its apply and hour-long wait). It runs when created, for a new
        // kind cluster, and once per renewal: from SELF_HOSTED_PROVIDER_REFRESH_DAYS before the
        // certificate the last `up` recorded expires, the key changes (src/cluster/selfHostedKubeconfig.ts
        // selfHostedRefreshKey), the step is replaced (no delete: nothing runs for the old one) and
        // prints the renewed copy; the next `up` keeps the key. The provider then gets a kubeconfig
        // of the same cluster with another user certificate: updated in place, not replaced
        // (pulumi-kubernetes' DiffConfig; modelled, as for the kind cluster's, docs/certificate-renewal.md).
        const refreshKey = pulumi.unsecret(pulumi.output(args.previous).apply((previous) => selfHostedRefreshKey(previous, new Date())));
        steps.trigger(
            "self-hosted-refresh",
            pulumi.all([args.kindClusterId, refreshKey]).apply(([id, key]) => (key === "" ? [id] : [id, key])),
        );
        const providerKubeconfig = steps.add("self-hosted-provider-kubeconfig", renderSelfHostedProviderKubeconfigScript());
        this.kubeconfig = pulumi.secret(providerKubeconfig.stdout);
        // Derived from the kubeconfig (a secret): only its certificate's expiry, which is not.
        this.kubeconfigRefresh = pulumi.unsecret(
            pulumi.all([providerKubeconfig.stdout, refreshKey]).apply(([text, key]) => selfHostedKubeconfigRefreshOutput(text, key)),
        );
        // The same scripts as the kind cluster's, with the self-hosted cluster's kubeconfig.
        const scripts = providerScripts(v, args.proxy, SELF_HOSTED_KUBECONFIG);
        this.orc = steps.add("self-hosted-orc", scripts.orc);
        this.providers = steps.add("self-hosted-providers", scripts.providers);
        this.registerOutputs({});
    }
}

/** Arguments of {@link SelfHostedPivot}. */
export interface SelfHostedPivotArgs {
    /** How to reach the server. */
    connection: ServerConnection;
    /** The kind step's ID: a new kind cluster runs the step again. */
    kindClusterId: pulumi.Input<string>;
    /** The workload namespace, moved as a whole. */
    namespace: string;
    /** Name of the self-hosted cluster's Cluster (its kubeconfig Secret is `<name>-kubeconfig`). */
    clusterName: string;
    /** What the move waits for: the self-hosted cluster's providers and the credentials on it. */
    after: pulumi.Resource[];
}

/**
 * The pivot: every Cluster API object of the workload namespace moved from the kind cluster to
 * the self-hosted cluster, once (src/host/scripts/self-hosted-pivot.sh). The self-hosted
 * cluster's Flux waits for it, so nothing is created there from Git before the objects arrive.
 * Then the daily refresh of the server's copy of the self-hosted cluster's kubeconfig
 * (self-hosted-kubeconfig, src/cluster/selfHostedKubeconfig.ts), which nothing waits for.
 */
export class SelfHostedPivot extends pulumi.ComponentResource {
    /** The pivot step. */
    readonly pivot: command.remote.Command;
    /** The kubeconfig refresh's install step. */
    readonly kubeconfigRefresh: command.remote.Command;

    constructor(name: string, args: SelfHostedPivotArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:SelfHostedPivot", name, {}, opts);
        const steps = kindClusterSteps(this, "SelfHostedPivot", args, args.after);
        this.pivot = steps.add("self-hosted-pivot", renderSelfHostedPivotScript({ namespace: args.namespace, pivotScript: pivotScriptText() }));
        this.kubeconfigRefresh = steps.add(
            "self-hosted-kubeconfig",
            renderSelfHostedKubeconfigInstallScript({ cluster: args.clusterName, namespace: args.namespace }),
        );
        this.registerOutputs({});
    }
}

/** Arguments of {@link ReturnToKind}: the self-hosted Cluster's name, its namespace and the bound of its deletion, and: */
export interface ReturnToKindArgs extends MoveBackParams {
    /** How to reach the server; the kind step's ID (a new kind cluster runs the step again, and it finds nothing to do). */
    server: { connection: ServerConnection; kindClusterId: pulumi.Input<string> };
    /** What it waits for: the kind cluster's ORC, providers and credentials (the target of the move back). */
    kindReady: pulumi.Resource[];
}

/**
 * kind mode: the way back from the self-hosted mode on a running stack
 * (src/host/scripts/return-to-kind.sh, docs/self-hosted.md "selfHosted → kind"). Created when a
 * stack enters kind mode (its first `up` after an upgrade, or the `up` that leaves selfHosted),
 * it runs once: nothing on a server that never pivoted; otherwise it moves every Cluster API
 * object back to the kind cluster, which deletes the self-hosted cluster. The kind cluster's Flux
 * waits for it (src/capiManagement.ts), so Flux never runs on kind while the self-hosted cluster
 * still reconciles the Clusters.
 */
export class ReturnToKind extends pulumi.ComponentResource {
    /** The return-to-kind step. */
    readonly step: command.remote.Command;

    constructor(name: string, args: ReturnToKindArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:ReturnToKind", name, {}, opts);
        const triggers = { "kind-cluster": [args.server.kindClusterId] };
        this.step = new HostSteps(this, "ReturnToKind", { connection: args.server.connection, given: args.kindReady, triggers }).add(
            "return-to-kind",
            renderReturnToKindScript(args),
        );
        this.registerOutputs({});
    }
}
