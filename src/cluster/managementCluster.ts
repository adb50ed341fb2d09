import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderApiCertExpiryScript, renderCapiProvidersScript, renderKindClusterScript, renderKubeconfigScript, renderOrcScript } from "./clusterScripts";
import { CertRenewalOutput, certRefreshKey, certRenewalOutput, PreviousCertState, renderCertRenewalInstallScript } from "./certRenewal";
import { KIND_API_SERVER_PORT, renderKindConfig } from "./kindConfig";
import { ProxyEnv, RegistryMirror } from "../host/proxy";
import { Versions } from "../versions/versions";
import { HostSteps, ServerConnection } from "../host/hostStep";

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
    /**
     * What the last `up` recorded about the certificates (its `apiServerCertRenewal` and
     * `kubeconfig` outputs, read back through the StackReference to the stack): decides
     * whether this run reads the kubeconfig again (src/cluster/certRenewal.ts certRefreshKey).
     */
    previous: pulumi.Input<PreviousCertState>;
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
    /** The cert-renewal step: the timer installed on the server, and a renewal check run. */
    readonly certRenewal: command.remote.Command;
    /** When the certificates are renewed and the kubeconfig read again (the `apiServerCertRenewal` output). */
    readonly certRenewalReport: pulumi.Output<CertRenewalOutput>;

    constructor(name: string, args: ManagementClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:ManagementCluster", name, {}, opts);

        // The steps and how they run: src/host/steps.ts.
        const steps = new HostSteps(this, "ManagementCluster", { connection: args.connection, given: args.after, triggers: { server: [args.serverId] } });
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
        this.kind = steps.add(
            "kind-cluster",
            pulumi.all([this.kindConfig, args.proxy]).apply(([kindConfig, proxy]) =>
                renderKindClusterScript({
                    clusterName: args.clusterName,
                    nodeImage: v.nodeImage,
                    kindConfig,
                    proxy,
                    registryMirrors: args.registryMirrors,
                }),
            ),
        );
        steps.trigger("kind-cluster", [this.kind.stdout]);

        // The certificates (a year each) are renewed on the server by a timer (src/host/scripts/cert-renew.sh),
        // which also keeps the server's copy of the admin kubeconfig current. The Pulumi side must
        // follow: the k8s Provider uses the `kubeconfig` output, whose old client certificate stays
        // valid only until its own expiry. A stack output only changes in an `up`, and a step whose
        // triggers changed on every run would make every preview non-empty; so the three steps below
        // re-run on a key that changes once per renewal (src/cluster/certRenewal.ts certRefreshKey): from a
        // day after the timer's window opened (read back from the last `up`'s outputs), the first
        // `up` replaces them. cert-renewal then renews right there if the timer has not (so the
        // re-read never gets the old certificate), kubeconfig and api-cert-expiry read the renewed
        // ones; the run after that keeps the key. The key is "" (left out) until a renewal comes
        // due, so stacks from before this keep their triggers. Replacing these steps deletes
        // nothing (no delete command). The k8s Provider then sees a kubeconfig for the same
        // cluster (same server and CA) with another user certificate: pulumi-kubernetes' DiffConfig
        // (provider source) replaces a provider only when the active cluster changes, so it is updated; the preview of that one run may
        // show it replaced, since the kubeconfig is unknown until the step has run (modelled).
        const refreshKey = pulumi.output(args.previous).apply((previous) => certRefreshKey(previous, new Date()));
        steps.trigger(
            "cert-refresh",
            pulumi.all([this.kind.stdout, pulumi.unsecret(refreshKey)]).apply(([id, key]) => (key === "" ? [id] : [id, key])),
        );

        // Installs the timer and runs the renewal check once. Its delete does nothing: the units go
        // with the server (and without a kind cluster the timer's run does nothing). Re-runs in
        // place when its script or the units change (a new program version).
        this.certRenewal = steps.add("cert-renewal", renderCertRenewalInstallScript({ clusterName: args.clusterName }));

        // Re-read whenever the kind step reports a different cluster (its stdout is the cluster's
        // id), and once per certificate renewal.
        const kubeconfig = steps.add(
            "kubeconfig",
            pulumi
                .output(args.floatingIp)
                .apply((ip) => renderKubeconfigScript({ clusterName: args.clusterName, apiEndpoint: `${ip}:${KIND_API_SERVER_PORT}` })),
        );
        this.kubeconfig = pulumi.secret(kubeconfig.stdout);

        const certExpiry = steps.add("api-cert-expiry", renderApiCertExpiryScript({ clusterName: args.clusterName }));
        this.apiServerCertExpiry = certExpiry.stdout;
        // Derived from the kubeconfig (a secret): only its certificate's expiry, which is not.
        this.certRenewalReport = pulumi.unsecret(pulumi.all([kubeconfig.stdout, refreshKey]).apply(([text, key]) => certRenewalOutput(text, key)));

        const scripts = providerScripts(v, args.proxy);
        this.orc = steps.add("orc", scripts.orc);

        this.providers = steps.add("capi-providers", scripts.providers);

        this.registerOutputs({ apiServerCertExpiry: this.apiServerCertExpiry, apiServerCertRenewal: this.certRenewalReport });
    }
}

/**
 * The ORC and Cluster API providers steps' scripts at the pinned versions, for the cluster
 * `kubeconfigPath` reaches on the server (default: the kind cluster's); the self-hosted
 * cluster's steps (./selfHosted.ts) run the same scripts with its kubeconfig.
 */
export function providerScripts(
    v: Versions,
    proxy: pulumi.Input<ProxyEnv | undefined>,
    kubeconfigPath?: string,
): { orc: pulumi.Output<string>; providers: pulumi.Output<string> } {
    const withProxy = pulumi.output(proxy);
    return {
        orc: withProxy.apply((p) =>
            renderOrcScript({ version: v.orc, manifestSha256: v.orcManifestSha256, waitTimeoutSeconds: ORC_WAIT_SECONDS, proxy: p, kubeconfigPath }),
        ),
        providers: withProxy.apply((p) =>
            renderCapiProvidersScript({
                clusterApi: v.clusterApi,
                capo: v.capo,
                caaph: v.caaph,
                certManager: v.certManager,
                releaseSha256: v.releaseSha256,
                waitTimeoutSeconds: PROVIDERS_WAIT_SECONDS,
                proxy: p,
                kubeconfigPath,
            }),
        ),
    };
}
