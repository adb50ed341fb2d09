import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { renderCloudConf, renderCloudsYaml } from "./cloudCredentials";
import {
    capoCredentialsSecret,
    capoIdentity,
    cloudConfigResourceData,
    cloudConfigResourceSecret,
    cloudConfigResourceSet,
    cloudCredentialsData,
    namespace,
    orcCredentialsSecret,
} from "./clusterObjects";
import { OCCM_CREDENTIALS_DIR, WORKLOAD_CA_FILE } from "../shared/contract";
import { AppCredentialRef } from "../cloud/appCredentials";
import { kubeResource } from "./kubeObject";

/** Arguments of {@link ClusterCredentials}. */
export interface ClusterCredentialsArgs {
    /** Namespace of the workload clusters (created here). */
    workloadNamespace: string;
    /** Keystone URL for the credentials. */
    authUrl: pulumi.Input<string>;
    /** Region, if any. */
    region?: string;
    /** PEM of the cloud's private CA, if any. */
    caCert?: string;
    /** Credential for CAPO and ORC (management cluster only). */
    capi: AppCredentialRef;
    /** Credential for OCCM and Cinder CSI (copied into workload clusters). */
    cloudProvider: AppCredentialRef;
    /** In-cluster objects go with this (the kind cluster), never one by one. */
    deletedWith: pulumi.Resource;
    /**
     * What the objects that need Cluster API or CAPO wait for (the providers step: their
     * CRDs and the `capo-system` namespace). The namespace and the plain Secrets in it do
     * not wait: they are created as soon as the cluster answers.
     */
    providersReady: pulumi.Resource[];
    /**
     * Prepended to the children's names (default none). A child's URN carries its parent's type,
     * not its name, so a second instance in the same stack (the self-hosted cluster's) needs one:
     * without it the engine refuses the duplicate URNs.
     */
    childPrefix?: string;
}

/**
 * The OpenStack credentials in the management cluster, none of them in Git or on disk:
 * the workload namespace; CAPO's Secret and a cluster-scoped OpenStackClusterIdentity
 * usable from that namespace only; the same clouds.yaml for ORC in that namespace; and a
 * ClusterResourceSet (strategy Reconcile) that copies the cloud-provider credential (as
 * cloud.conf for Cinder CSI and clouds.yaml for OCCM) into every labelled workload cluster,
 * again after each rotation.
 */
export class ClusterCredentials extends pulumi.ComponentResource {
    /** Every object created, for ordering (the root Kustomization waits for them). */
    readonly resources: pulumi.Resource[];
    /** Name of the workload namespace, once it exists. */
    readonly namespace: pulumi.Output<string>;

    constructor(name: string, args: ClusterCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:ClusterCredentials", name, {}, opts);

        const base = { parent: this, deletedWith: args.deletedWith };
        const p = args.childPrefix ?? "";
        const ns = args.workloadNamespace;
        const caCert = args.caCert;

        const capiCloudsYaml = pulumi
            .all([args.authUrl, args.capi.id, args.capi.secret])
            .apply(([authUrl, id, secret]) => cloudCredentialsData(renderCloudsYaml({ authUrl, region: args.region, id, secret }), caCert));
        const cloudConfig = pulumi
            .all([args.authUrl, args.cloudProvider.id, args.cloudProvider.secret])
            .apply(([authUrl, id, secret]) =>
                cloudConfigResourceData(
                    renderCloudConf({ authUrl, region: args.region, id, secret, caFile: caCert ? WORKLOAD_CA_FILE : undefined }),
                    caCert,
                    renderCloudsYaml({ authUrl, region: args.region, id, secret, caFile: caCert ? `${OCCM_CREDENTIALS_DIR}/ca.crt` : undefined }),
                ),
            );

        // Never deleted by Pulumi: deleting a namespace deletes every workload Cluster in it. (A
        // change of its name is refused on a live stack; see src/lifecycle/lifecycle.ts.)
        const workloadNs = kubeResource(`${p}workload-namespace`, namespace(ns), { ...base, retainOnDelete: true });
        const capoSecret = kubeResource(`${p}capo-credentials`, capoCredentialsSecret(capiCloudsYaml), { ...base, dependsOn: args.providersReady });
        const identity = kubeResource(`${p}capo-identity`, capoIdentity(ns), { ...base, dependsOn: [capoSecret, ...args.providersReady] });
        const orcSecret = kubeResource(`${p}orc-credentials`, orcCredentialsSecret(ns, capiCloudsYaml), { ...base, dependsOn: [workloadNs] });
        const crsSecret = kubeResource(`${p}cloud-config`, cloudConfigResourceSecret(ns, cloudConfig), { ...base, dependsOn: [workloadNs] });
        const crs = kubeResource(`${p}cloud-config-resource-set`, cloudConfigResourceSet(ns), { ...base, dependsOn: [crsSecret, ...args.providersReady] });

        this.resources = [workloadNs, capoSecret, identity, orcSecret, crsSecret, crs];
        this.namespace = (workloadNs as k8s.core.v1.Namespace).metadata.name;
        this.registerOutputs({});
    }
}
