/**
 * The self-hosted mode's part of the stack (`capi-mgmt:managementCluster.mode: selfHosted`,
 * docs/self-hosted.md), wired for src/capiManagement.ts: the self-hosted cluster and its steps,
 * the Kubernetes provider of its API, the OpenStack credentials on it (through the Kubernetes
 * API, as on kind), and the pivot.
 *
 * Two Kubernetes providers, not one that switches: the kind cluster keeps its provider
 * (`management-cluster`) and its credentials for as long as the stack lives, because its CAPO
 * builds the self-hosted cluster and, on `destroy`, deletes it with them; the self-hosted
 * cluster gets its own (`self-hosted-cluster`, from the self-hosted-provider-kubeconfig step's kubeconfig).
 * What switches is Flux's provider: src/capiManagement.ts gives FluxSync the self-hosted one. On a
 * migration (kind → selfHosted on a running stack) the engine sees each Flux object's provider
 * change to one whose cluster differs, which pulumi-kubernetes' DiffConfig answers with a
 * replacement: each object is created on the self-hosted cluster (after the pivot: FluxSync
 * waits for it) and the old one, retained (FluxSync sets retainOnDelete), is left to the
 * kind cluster, whose Flux the pivot step has already uninstalled. Modelled
 * (test/selfHostedGraph.spec.ts classifies it), not run on the real engine.
 */
import * as fs from "fs";
import * as k8s from "@pulumi/kubernetes";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { AppCredentials } from "../cloud/appCredentials";
import { StackConfig } from "../config";
import { ProxyEnv } from "../host/proxy";
import { ServerConnection } from "../host/hostStep";
import { ClusterCredentials } from "./clusterCredentials";
import { renderSelfHostedBootstrap, renderSelfHostedManifest, SELF_HOSTED_BOOTSTRAP_FILES, selfHostedClusterName } from "./selfHostedManifest";
import { ReturnToKind, SelfHostedCluster, SelfHostedPivot } from "./selfHosted";
import { SELF_HOSTED_ACTIVE_KUBECONFIG } from "./selfHostedScripts";
import { SELF_HOSTED_KUBECONFIG_OUTPUT } from "./selfHostedKubeconfig";

/** The repository's GitOps tree, whose ClusterClass and add-ons the kind cluster builds the self-hosted cluster from. */
export const GITOPS_DIR = path.resolve(__dirname, "..", "..", "gitops");

/** The bootstrap objects read from the GitOps tree at `dir` (src/cluster/selfHostedManifest.ts SELF_HOSTED_BOOTSTRAP_FILES). */
export function readSelfHostedBootstrap(dir: string = GITOPS_DIR): string {
    return renderSelfHostedBootstrap(SELF_HOSTED_BOOTSTRAP_FILES.map((p) => ({ path: p, text: fs.readFileSync(path.join(dir, p), "utf8") })));
}

/** What {@link selfHostedParts} is given. */
export interface SelfHostedPartsArgs {
    config: StackConfig;
    connection: ServerConnection;
    /** The kind step's ID. */
    kindClusterId: pulumi.Input<string>;
    /** ID of the external network (the self-hosted cluster's router and API load balancer). */
    externalNetworkId: pulumi.Input<string>;
    /** The server's floating IP (admitted by the self-hosted cluster's API). */
    floatingIp: pulumi.Input<string>;
    /** Keystone URL and region of the credentials. */
    authUrl: pulumi.Input<string>;
    region?: string;
    appCredentials: AppCredentials;
    proxy: pulumi.Input<ProxyEnv | undefined>;
    /** What self-hosted-unpivot must outlive (server, the way to it, credentials, the kind cluster, its providers and credentials). */
    outlives: pulumi.Resource[];
    /** The last `up`'s outputs (preflight's StackReference to the stack): when to read the provider's kubeconfig again. */
    previousOutputs: pulumi.StackReference;
}

/** The self-hosted mode's resources. */
export interface SelfHostedParts {
    cluster: SelfHostedCluster;
    /** Kubernetes provider of the self-hosted cluster's API. */
    provider: k8s.Provider;
    /** The OpenStack credentials on the self-hosted cluster. */
    credentials: ClusterCredentials;
    pivot: SelfHostedPivot;
}

/** Registers the self-hosted mode's resources under `parent` with `opts` (the gated options). */
export function selfHostedParts(args: SelfHostedPartsArgs, opts: pulumi.ComponentResourceOptions): SelfHostedParts {
    const cfg = args.config;
    const mc = cfg.managementCluster;
    const name = selfHostedClusterName(cfg.prefix);
    const manifest = pulumi.all([args.externalNetworkId, args.floatingIp]).apply(([externalNetworkId, serverAddress]) =>
        renderSelfHostedManifest({
            name,
            namespace: cfg.workloadNamespace,
            kubernetesVersion: mc.kubernetesVersion,
            image: mc.image,
            flavor: mc.flavor,
            externalNetworkId,
            apiAllowedCidrs: cfg.apiAllowedCidrs,
            serverAddress,
            dnsNameservers: cfg.dnsNameservers,
        }),
    );
    const cluster = new SelfHostedCluster(
        "self-hosted",
        {
            connection: args.connection,
            kindClusterId: args.kindClusterId,
            clusterName: name,
            namespace: cfg.workloadNamespace,
            manifest,
            bootstrap: readSelfHostedBootstrap(),
            versions: cfg.versions,
            proxy: args.proxy,
            teardownTimeoutSeconds: cfg.teardownTimeoutMinutes * 60,
            protect: cfg.protect,
            outlives: args.outlives,
            previous: args.previousOutputs.getOutput(SELF_HOSTED_KUBECONFIG_OUTPUT),
        },
        opts,
    );
    // As the kind cluster's provider (src/capiManagement.ts says why each option).
    const provider = new k8s.Provider(
        "self-hosted-cluster",
        { kubeconfig: cluster.kubeconfig, deleteUnreachable: true, enableSecretMutable: true, enableConfigMapMutable: true },
        opts,
    );
    const credentials = new ClusterCredentials(
        "self-hosted-credentials",
        {
            workloadNamespace: cfg.workloadNamespace,
            authUrl: args.authUrl,
            region: args.region,
            caCert: cfg.caCert,
            capi: args.appCredentials.capi,
            cloudProvider: args.appCredentials.cloudProvider,
            // Skipped on destroy: they go with the self-hosted cluster, which the kind cluster deletes.
            deletedWith: cluster.cluster,
            providersReady: [cluster.providers],
            childPrefix: "self-hosted-",
        },
        { ...opts, providers: { kubernetes: provider } },
    );
    const pivot = new SelfHostedPivot(
        "self-hosted-pivot",
        {
            connection: args.connection,
            kindClusterId: args.kindClusterId,
            namespace: cfg.workloadNamespace,
            clusterName: name,
            after: [cluster.orc, cluster.providers, ...credentials.resources],
        },
        opts,
    );
    return { cluster, provider, credentials, pivot };
}

/**
 * The teardown's arguments in selfHosted mode: the kubeconfig of the cluster holding the
 * workload clusters, the self-hosted Cluster it keeps, and what it outlives besides `outlives`:
 * self-hosted-unpivot (so its delete runs after the teardown's) and the credentials on the
 * self-hosted cluster (which CAPO there needs while the teardown deletes workload clusters).
 */
export function selfHostedTeardown(
    cfg: StackConfig,
    parts: SelfHostedParts,
    outlives: pulumi.Resource[],
): { outlives: pulumi.Resource[]; selfHosted: { kubeconfigPath: string; keepCluster: string } } {
    return {
        outlives: [...outlives, parts.cluster.unpivot, ...parts.credentials.resources],
        selfHosted: { kubeconfigPath: SELF_HOSTED_ACTIVE_KUBECONFIG, keepCluster: `${cfg.workloadNamespace}/${selfHostedClusterName(cfg.prefix)}` },
    };
}

/**
 * kind mode's return-to-kind step (src/cluster/selfHosted.ts ReturnToKind), waiting for
 * `kindReady` (the kind cluster's ORC, providers and credentials); the kind cluster's Flux waits for it.
 */
export function returnToKind(
    cfg: StackConfig,
    connection: ServerConnection,
    kindClusterId: pulumi.Input<string>,
    kindReady: pulumi.Resource[],
    opts: pulumi.ComponentResourceOptions,
): ReturnToKind {
    const [cluster, namespace, timeoutSeconds] = [selfHostedClusterName(cfg.prefix), cfg.workloadNamespace, cfg.teardownTimeoutMinutes * 60];
    return new ReturnToKind("return-to-kind", { server: { connection, kindClusterId }, cluster, namespace, timeoutSeconds, kindReady }, opts);
}
