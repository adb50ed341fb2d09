/**
 * THE OLD PROGRAM'S FluxSync, for the upgrade test (test/integration/engineFluxInstall.integration.ts):
 * src/gitops/fluxSync.ts as it was before issue 20 (commit c5231f6), verbatim but for the import
 * paths. Its ConfigFile is given Flux's release URL, which the Kubernetes provider fetches,
 * unverified, on every preview and `up`. Only the engine test uses it, to `up` a stack the way
 * users deployed it before, then `up` the same stack with the current program.
 *
 * A copy on purpose (`duplicates` pairs it with src/gitops/fluxSync.ts; that pair stays): it is
 * what users' stacks were deployed with, so it must not follow later edits of the current
 * component. It is not generated from git history at test time: that needs the whole history
 * (a shallow clone or a source archive has no c5231f6) and a hand-kept map from the file's
 * paths then (`components/fluxSync.ts` importing `../lib/clusterObjects`, `../lib/config`,
 * `./kubeObject`, …) to today's, the same edit made on every run instead of once and broken by
 * every later move. It stays checkable against history instead:
 *     git show c5231f6:components/fluxSync.ts | diff - test/integration/fluxSyncBefore.ts
 * shows only the import paths, this header, two paths in comments and prettier's line breaks.
 * The helpers it imports are today's (src/cluster/clusterObjects.ts, …): the copy freezes the
 * component's wiring (child names, types, options, the release URL), not those helpers' output.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import {
    fluxGitSecret,
    fluxGitSecretData,
    fluxInstallTransform,
    fluxInstallUrl,
    fluxProxyTransform,
    fluxSettingsConfigMap,
    fluxSettingsData,
    gitRepository,
    kustomizeControllerFeatureGates,
    readinessAnnotations,
    rootKustomization,
    sopsAgeSecret,
    sopsAgeSecretData,
} from "../../src/cluster/clusterObjects";
import { GitOpsSettings } from "../../src/config";
import { publicKeyOfPrivateKey } from "../../src/shared/opensshKey";
import { EnvVar } from "../../src/host/proxy";
import { kubeResource } from "../../src/cluster/kubeObject";

/** How long `pulumi up` waits for Flux to report Ready (with a registered deploy key). */
export const FLUX_READY_TIMEOUT_SECONDS = 600;

/** Arguments of {@link FluxSync}. */
export interface FluxSyncArgs {
    /** Flux release, e.g. v2.9.4. */
    version: string;
    /** Repository, reference, path, keys. */
    gitops: GitOpsSettings;
    /** The management server's floating IP (workload API servers must admit it). */
    managementAddress: pulumi.Input<string>;
    /** In-cluster objects go with this (the kind cluster), never one by one. */
    deletedWith: pulumi.Resource;
    /**
     * What the root Kustomization waits for: the CRDs and credentials of what the GitOps tree
     * applies (ORC, the Cluster API providers, the CAPO identity). Flux itself, its Secrets
     * and the GitRepository do not wait: they are installed while ORC and Cluster API are.
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
        const proxyTransform = fluxProxyTransform(args.proxyEnv);
        const install = new k8s.yaml.v2.ConfigFile(
            "flux-install",
            { file: fluxInstallUrl(args.version) },
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
