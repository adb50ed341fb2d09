import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import {
    fluxGitSecret,
    fluxGitSecretData,
    fluxInstallTransform,
    fluxProxyTransform,
    fluxSettingsConfigMap,
    fluxSettingsData,
    gitRepository,
    kustomizeControllerFeatureGates,
    readinessAnnotations,
    rootKustomization,
    sopsAgeSecret,
    sopsAgeSecretData,
} from "../cluster/clusterObjects";
import { GitOpsSettings } from "../config";
import { publicKeyOfPrivateKey } from "../shared/opensshKey";
import { EnvVar } from "../host/proxy";
import { fluxInstallDownload, ReleaseSource } from "../versions/releaseCache";
import { Versions } from "../versions/versions";
import { kubeResource } from "../cluster/kubeObject";

/** How long `pulumi up` waits for Flux to report Ready (with a registered deploy key). */
export const FLUX_READY_TIMEOUT_SECONDS = 600;

/**
 * Flux's install.yaml at the stack's version, checked against its pin on this machine
 * (src/versions/releaseCache.ts): its local path, or a run error naming the version and both SHA-256.
 * CapiManagement makes every resource wait for it, so a mismatch (or a failed first download)
 * stops the run before anything is created or changed.
 */
export function verifiedFluxInstall(releases: ReleaseSource, versions: Pick<Versions, "flux" | "fluxManifestSha256">): pulumi.Output<string> {
    return pulumi.output(
        releases.verified(fluxInstallDownload(versions)).catch((err: unknown) => {
            throw new pulumi.RunError(err instanceof Error ? err.message : String(err));
        }),
    );
}

/** Arguments of {@link FluxSync}. */
export interface FluxSyncArgs {
    /** Flux release, e.g. v2.9.4. */
    version: string;
    /**
     * Local path of the release's `install.yaml`, already checked against its pinned SHA-256
     * (src/versions/releaseCache.ts; CapiManagement makes every resource wait for that check). The
     * provider reads this file: previews make no request to GitHub. Only the children's
     * inputs matter to the engine: a different path with the same content changes nothing.
     */
    installFile: pulumi.Input<string>;
    /** Repository, reference, path, keys. */
    gitops: GitOpsSettings;
    /** The management server's floating IP (workload API servers must admit it). */
    managementAddress: pulumi.Input<string>;
    /** In-cluster objects go with this (the kind cluster), never one by one. */
    deletedWith: pulumi.Resource;
    /**
     * What the root Kustomization waits for: the CRDs and credentials of what the GitOps tree
     * applies (ORC, the Cluster API providers, the CAPO identity), and in kind mode the
     * return-to-kind step (no Cluster is applied on kind before they are all back there). Flux
     * itself, its Secrets and the GitRepository do not wait: they are installed while ORC and
     * Cluster API are.
     */
    syncAfter: pulumi.Resource[];
    /**
     * Proxy variables for every container of Flux's controllers (`capi-mgmt:proxy`); empty:
     * none. A change updates the Deployments in place.
     */
    proxyEnv?: ReadonlyArray<EnvVar<pulumi.Input<string>>>;
}

/**
 * Flux, owned by Pulumi and upgraded in place with the version, syncing the environment's
 * path of the repository: a GitRepository on a branch or a semver range of tags, and a
 * pruning Kustomization (decrypting with SOPS/age when a key is given).
 *
 * With a deploy key from the config (already registered), `up` waits until both report
 * Ready. A generated key is only known when `up` ends, so then `up` does not wait; the
 * user registers the printed public key and Flux syncs on its own retries.
 */
export class FluxSync extends pulumi.ComponentResource {
    /** Public half of the deploy key: register it, read-only, on the repository. */
    readonly deployPublicKey: pulumi.Output<string>;
    /** True when `up` waited for Flux to be Ready. */
    readonly waited: boolean;
    /** Every object created (for ordering, and for the `deployed` record). */
    readonly resources: pulumi.Resource[];

    constructor(name: string, args: FluxSyncArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:FluxSync", name, {}, opts);

        const g = args.gitops;
        // Pulumi never deletes Flux's objects one by one: they go with the kind cluster, and on a
        // replacement (a new server generation) the old ones are left to the old cluster. Every
        // object is retained on delete, the install's too (the ConfigFile passes the option on to
        // the objects it creates: the engine suite shows Flux's CRDs surviving), so removing
        // gitops with a new server generation deletes nothing in the old cluster; on a live
        // stack that removal is refused first (src/lifecycle/lifecycle.ts).
        const owned = { parent: this, deletedWith: args.deletedWith, retainOnDelete: true };

        let identity: pulumi.Output<string>;
        if (g.deployKey !== undefined) {
            identity = pulumi.secret(g.deployKey);
            this.deployPublicKey = pulumi.output(publicKeyOfPrivateKey(g.deployKey));
        } else {
            const key = new tls.PrivateKey("deploy-key", { algorithm: "ED25519" }, { parent: this });
            identity = pulumi.secret(key.privateKeyOpenssh);
            this.deployPublicKey = key.publicKeyOpenssh.apply((k) => k.trim());
        }
        this.waited = g.deployKey !== undefined;

        // The transforms turn on kustomize-controller's feature gates in the install's Deployment
        // and give the controllers the proxy variables (src/cluster/clusterObjects.ts); a change of
        // either updates the Deployments in place.
        //
        // The ConfigFile reads the verified local copy of install.yaml (until issue 20 it was given
        // the release URL and the provider fetched it, unverified, on every preview). Its name, type
        // and options are unchanged, and its children are named `flux-install:<namespace>/<name>`
        // whatever the file (pulumi-kubernetes provider/pkg/provider/yaml/v2/configfile.go: the
        // resource prefix is the ConfigFile's name): on a stack deployed before, the same content
        // gives the same children with the same inputs, so the engine takes only `same` steps
        // (test/integration/engineFluxInstall.integration.ts runs the old program, then this one).
        const proxyTransform = fluxProxyTransform(args.proxyEnv);
        const install = new k8s.yaml.v2.ConfigFile(
            "flux-install",
            { file: args.installFile },
            { ...owned, transforms: [fluxInstallTransform(args.version), ...(proxyTransform ? [proxyTransform] : [])] },
        );
        if (Object.keys(kustomizeControllerFeatureGates(args.version)).length === 0) {
            void pulumi.log.warn(
                `Flux ${args.version} predates kustomize-controller's CancelHealthCheckOnNewRevision gate: a fix in Git waits for a running health check to time out`,
                this,
            );
        }

        const gitData = pulumi
            .all([identity, this.deployPublicKey])
            .apply(([id, pub]) => fluxGitSecretData({ identity: id, identityPub: pub + "\n", knownHosts: g.knownHosts }));
        const gitSecret = kubeResource("git-credentials", fluxGitSecret(gitData), { ...owned, dependsOn: [install] });
        const secrets = [gitSecret];
        if (g.sopsAgeKey !== undefined) {
            secrets.push(kubeResource("sops-age", sopsAgeSecret(pulumi.secret(sopsAgeSecretData(g.sopsAgeKey))), { ...owned, dependsOn: [install] }));
        }

        const settings = kubeResource(
            "settings",
            fluxSettingsConfigMap(
                pulumi.output(args.managementAddress).apply((a) => fluxSettingsData({ workloadNamespace: g.workloadNamespace, managementAddress: a })),
            ),
            { ...owned, dependsOn: [install] },
        );

        const annotations = readinessAnnotations(this.waited, FLUX_READY_TIMEOUT_SECONDS);
        const source = kubeResource("git-repository", gitRepository({ url: g.url, ref: g.ref, interval: g.interval, annotations }), {
            ...owned,
            dependsOn: [install, ...secrets],
        });
        const sync = kubeResource(
            "kustomization",
            rootKustomization({ path: g.path, interval: g.interval, decrypt: g.sopsAgeKey !== undefined, annotations }),
            { ...owned, dependsOn: [install, source, settings, ...secrets, ...args.syncAfter] },
        );

        this.resources = [install, ...secrets, settings, source, sync];
        if (!this.waited) {
            void pulumi.log.info(
                `Flux uses a generated deploy key: register the stack output deployPublicKey as a read-only deploy key of ${g.url}; ` +
                    "Flux retries on its own and syncs once it is registered (no second pulumi up needed).",
                this,
            );
        }
        this.registerOutputs({ deployPublicKey: this.deployPublicKey });
    }
}
