import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import {
    renderApiCertExpiryScript,
    renderCapiProvidersScript,
    renderKindClusterScript,
    renderKubeconfigScript,
    renderOrcScript,
} from "../lib/clusterScripts";
import { KIND_API_SERVER_PORT, renderKindConfig } from "../lib/kindConfig";
import { ProxyEnv, RegistryMirror } from "../lib/proxy";
import { Versions } from "../lib/versions";
import { commandConnection, ServerConnection } from "./hostBootstrap";

/** Bound of `clusterctl init` / `upgrade apply` waiting for providers, seconds. */
export const PROVIDERS_WAIT_SECONDS = 900;
/** Bound of waiting for ORC's controller, seconds. */
export const ORC_WAIT_SECONDS = 300;

/** Arguments of {@link ManagementCluster}. */
export interface ManagementClusterArgs {
    /** How to reach the server. */
    connection: ServerConnection;
    /** kind cluster name (the stack's prefix). */
    clusterName: string;
    /** Public address of the server: in the API certificate and the kubeconfig. */
    floatingIp: pulumi.Input<string>;
    /** ID of the server instance: a new server gets a new cluster. */
    serverId: pulumi.Input<string>;
    /** Pinned versions. */
    versions: Versions;
    /** What must be done on the server first (the tools step). */
    after: pulumi.Resource[];
    /**
     * The proxy of kind create, the node's containerd, kubectl, clusterctl and the ORC and
     * Cluster API controllers; undefined: none. Changed in place (never recreates the cluster).
     */
    proxy: pulumi.Input<ProxyEnv | undefined>;
    /** Registry mirrors of the kind node's containerd; changed in place. */
    registryMirrors: RegistryMirror[];
}

/**
 * The management cluster on the server: a single-node kind cluster reachable on
 * `<floating IP>:6443`, ORC, then Cluster API with the kubeadm and OpenStack providers
 * and the Helm add-on provider (ClusterClass enabled). A change of versions updates
 * these steps in place (`clusterctl upgrade apply`); it never replaces the server.
 */
export class ManagementCluster extends pulumi.ComponentResource {
    /** The kind cluster step. */
    readonly kind: command.remote.Command;
    /** ORC installed and available. */
    readonly orc: command.remote.Command;
    /** Cluster API providers installed at the pinned versions and available. */
    readonly providers: command.remote.Command;
    /** kind config as sent to the server. */
    readonly kindConfig: pulumi.Output<string>;
    /** Admin kubeconfig pointing at `https://<floating IP>:6443` (secret). */
    readonly kubeconfig: pulumi.Output<string>;
    /** notAfter of the API server certificate (RFC 3339); kubeadm certificates last a year. */
    readonly apiServerCertExpiry: pulumi.Output<string>;

    constructor(name: string, args: ManagementClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:ManagementCluster", name, {}, opts);

        const connection = commandConnection(args.connection);
        const root = "sudo bash -s";
        const v = args.versions;

        this.kindConfig = pulumi
            .output(args.floatingIp)
            .apply((ip) => renderKindConfig({ name: args.clusterName, nodeImage: v.nodeImage, apiServerCertSans: [ip] }));

        // No delete: on `pulumi destroy` the server goes right after, and the kind cluster
        // with it, so a delete would only dial SSH, for 20 minutes when the server is already
        // gone. It is replaced only for a new server (its trigger), whose fresh kind cluster
        // must survive: the old server dies with its cluster, and a delete would run on the
        // floating IP, which by then reaches the new server. (Stacks deployed with the earlier
        // `kind delete cluster` delete get an update on their next `up`: the kind script
        // re-runs and changes nothing; its stdout, so every later step, stays the same.)
        // deleteBeforeReplace stays from then; without a delete it changes nothing.
        this.kind = new command.remote.Command(
            "kind-cluster",
            {
                connection,
                addPreviousOutputInEnv: false,
                create: root,
                update: root,
                stdin: pulumi.all([this.kindConfig, args.proxy]).apply(([kindConfig, proxy]) =>
                    renderKindClusterScript({
                        clusterName: args.clusterName,
                        nodeImage: v.nodeImage,
                        kindConfig,
                        proxy,
                        registryMirrors: args.registryMirrors,
                    }),
                ),
                triggers: [args.serverId],
            },
            { parent: this, dependsOn: args.after, deleteBeforeReplace: true },
        );

        // Re-read whenever the kind step reports a different cluster (its stdout is the cluster's id).
        const kubeconfig = new command.remote.Command(
            "kubeconfig",
            {
                connection,
                addPreviousOutputInEnv: false,
                create: root,
                stdin: pulumi
                    .output(args.floatingIp)
                    .apply((ip) => renderKubeconfigScript({ clusterName: args.clusterName, apiEndpoint: `${ip}:${KIND_API_SERVER_PORT}` })),
                logging: command.types.enums.remote.Logging.Stderr,
                triggers: [this.kind.stdout],
            },
            { parent: this, dependsOn: [this.kind], additionalSecretOutputs: ["stdout"] },
        );
        this.kubeconfig = pulumi.secret(kubeconfig.stdout);

        const certExpiry = new command.remote.Command(
            "api-cert-expiry",
            {
                connection,
                addPreviousOutputInEnv: false,
                create: root,
                stdin: renderApiCertExpiryScript({ clusterName: args.clusterName }),
                triggers: [this.kind.stdout],
            },
            { parent: this, dependsOn: [this.kind] },
        );
        this.apiServerCertExpiry = certExpiry.stdout;

        this.orc = new command.remote.Command(
            "orc",
            {
                connection,
                addPreviousOutputInEnv: false,
                create: root,
                update: root,
                stdin: pulumi
                    .output(args.proxy)
                    .apply((proxy) => renderOrcScript({ version: v.orc, manifestSha256: v.orcManifestSha256, waitTimeoutSeconds: ORC_WAIT_SECONDS, proxy })),
                triggers: [this.kind.stdout],
            },
            { parent: this, dependsOn: [this.kind] },
        );

        this.providers = new command.remote.Command(
            "capi-providers",
            {
                connection,
                addPreviousOutputInEnv: false,
                create: root,
                update: root,
                stdin: pulumi.output(args.proxy).apply((proxy) =>
                    renderCapiProvidersScript({
                        clusterApi: v.clusterApi,
                        capo: v.capo,
                        caaph: v.caaph,
                        certManager: v.certManager,
                        waitTimeoutSeconds: PROVIDERS_WAIT_SECONDS,
                        proxy,
                    }),
                ),
                triggers: [this.kind.stdout],
            },
            { parent: this, dependsOn: [this.orc] },
        );

        this.registerOutputs({ apiServerCertExpiry: this.apiServerCertExpiry });
    }
}
