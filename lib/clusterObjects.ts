/**
 * The Kubernetes objects the program defines in the management cluster, as plain data.
 * Components turn them into resources; render writes them out. Pure functions.
 */
import { stringify } from "yaml";
import {
    CAPO_CREDENTIALS_SECRET,
    CAPO_IDENTITY_NAME,
    CAPO_NAMESPACE,
    CLOUD_CONFIG_LABEL,
    CLOUD_CONFIG_RESOURCE_SET,
    FLUX_NAMESPACE,
    FLUX_ROOT_NAME,
    FLUX_SETTINGS_CONFIGMAP,
    FLUX_SETTINGS_KEYS,
    ORC_CREDENTIALS_SECRET,
    SOPS_AGE_SECRET,
    WORKLOAD_CLOUD_CONFIG_SECRET,
} from "./contract";
import { GitRef } from "./config";

/** Object metadata the program sets. */
export interface ObjectMeta {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
}

/** A Kubernetes object as plain data. */
export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata: ObjectMeta;
    [field: string]: unknown;
}

/** Label that lets `clusterctl move` carry a Secret along. */
const MOVE_LABEL = { "clusterctl.cluster.x-k8s.io/move": "true" };

/** Type of a Secret a ClusterResourceSet may apply. */
export const RESOURCE_SET_SECRET_TYPE = "addons.cluster.x-k8s.io/resource-set";

/** Key of the manifest inside the ClusterResourceSet's Secret. */
export const CLOUD_CONFIG_MANIFEST_KEY = "cloud-config.yaml";

/** A Namespace. */
export function namespace(name: string): KubeObject {
    return { apiVersion: "v1", kind: "Namespace", metadata: { name } };
}

/**
 * An Opaque (or typed) Secret with string data. `D` is the data's type: plain strings, or
 * a value the caller resolves later (a Pulumi Output of them).
 */
export function secret<D = Record<string, string>>(metadata: ObjectMeta, stringData: D, type = "Opaque"): KubeObject {
    return { apiVersion: "v1", kind: "Secret", metadata, type, stringData };
}

/** Data of a credentials Secret for CAPO or ORC: clouds.yaml and, with a private CA, cacert. */
export function cloudCredentialsData(cloudsYaml: string, caCert?: string): Record<string, string> {
    return { "clouds.yaml": cloudsYaml, ...(caCert ? { cacert: caCert } : {}) };
}

/** The Secret behind the identity, in CAPO's namespace (moved along by `clusterctl move`). */
export function capoCredentialsSecret<D>(data: D): KubeObject {
    return secret({ name: CAPO_CREDENTIALS_SECRET, namespace: CAPO_NAMESPACE, labels: { ...MOVE_LABEL } }, data);
}

/** The same credentials for ORC objects, in the workload namespace. */
export function orcCredentialsSecret<D>(workloadNamespace: string, data: D): KubeObject {
    return secret({ name: ORC_CREDENTIALS_SECRET, namespace: workloadNamespace, labels: { ...MOVE_LABEL } }, data);
}

/** Cluster-scoped identity usable only from the workload namespace. */
export function capoIdentity(workloadNamespace: string): KubeObject {
    return {
        apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha1",
        kind: "OpenStackClusterIdentity",
        metadata: { name: CAPO_IDENTITY_NAME },
        spec: {
            secretRef: { name: CAPO_CREDENTIALS_SECRET, namespace: CAPO_NAMESPACE },
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": workloadNamespace } },
        },
    };
}

/** The `kube-system/cloud-config` Secret as it lands in each workload cluster. */
export function workloadCloudConfigSecret(cloudConf: string, caCert?: string): KubeObject {
    return secret(
        { name: WORKLOAD_CLOUD_CONFIG_SECRET.name, namespace: WORKLOAD_CLOUD_CONFIG_SECRET.namespace },
        { "cloud.conf": cloudConf, ...(caCert ? { "ca.crt": caCert } : {}) },
    );
}

/** Data of the ClusterResourceSet's Secret: the workload Secret's manifest. */
export function cloudConfigResourceData(cloudConf: string, caCert?: string): Record<string, string> {
    return { [CLOUD_CONFIG_MANIFEST_KEY]: stringify(workloadCloudConfigSecret(cloudConf, caCert)) };
}

/** The ClusterResourceSet's Secret in the workload namespace. */
export function cloudConfigResourceSecret<D>(workloadNamespace: string, data: D): KubeObject {
    return secret({ name: CLOUD_CONFIG_RESOURCE_SET, namespace: workloadNamespace }, data, RESOURCE_SET_SECRET_TYPE);
}

/** Distributes the cloud config to every labelled Cluster, and again after a rotation. */
export function cloudConfigResourceSet(workloadNamespace: string): KubeObject {
    return {
        apiVersion: "addons.cluster.x-k8s.io/v1beta2",
        kind: "ClusterResourceSet",
        metadata: { name: CLOUD_CONFIG_RESOURCE_SET, namespace: workloadNamespace },
        spec: {
            strategy: "Reconcile",
            clusterSelector: { matchLabels: { [CLOUD_CONFIG_LABEL.key]: CLOUD_CONFIG_LABEL.value } },
            resources: [{ kind: "Secret", name: CLOUD_CONFIG_RESOURCE_SET }],
        },
    };
}

/** Flux's SSH Secret: private key, public key, known_hosts. */
export function fluxGitSecret<D>(data: D): KubeObject {
    return secret({ name: FLUX_ROOT_NAME, namespace: FLUX_NAMESPACE }, data);
}

/** Data of Flux's SSH Secret. */
export function fluxGitSecretData(p: { identity: string; identityPub: string; knownHosts: string }): Record<string, string> {
    return { identity: p.identity, "identity.pub": p.identityPub, known_hosts: p.knownHosts };
}

/** The SOPS age key Secret Flux decrypts with. */
export function sopsAgeSecret<D>(data: D): KubeObject {
    return secret({ name: SOPS_AGE_SECRET, namespace: FLUX_NAMESPACE }, data);
}

/** Data of the SOPS Secret (Flux looks for a key ending in `.agekey`). */
export function sopsAgeSecretData(ageKey: string): Record<string, string> {
    return { "age.agekey": ageKey };
}

/** What the tree may substitute (see FLUX_SETTINGS_KEYS). */
export interface FluxSettings {
    /** Namespace of the workload clusters. */
    workloadNamespace: string;
    /** The management server's floating IP. */
    managementAddress: string;
}

/** Data of the settings ConfigMap: `KEY → value` for Flux's substitution. */
export function fluxSettingsData(s: FluxSettings): Record<string, string> {
    return {
        [FLUX_SETTINGS_KEYS.workloadNamespace]: s.workloadNamespace,
        [FLUX_SETTINGS_KEYS.managementEgressCidr]: `${s.managementAddress}/32`,
    };
}

/** The settings ConfigMap Flux's Kustomizations substitute from. */
export function fluxSettingsConfigMap<D>(data: D): KubeObject {
    return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: FLUX_SETTINGS_CONFIGMAP, namespace: FLUX_NAMESPACE }, data };
}

/** Annotations that make `pulumi up` wait for a Flux object to be Ready, or not wait at all. */
export function readinessAnnotations(wait: boolean, timeoutSeconds: number): Record<string, string> {
    return wait
        ? { "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": String(timeoutSeconds) }
        : { "pulumi.com/skipAwait": "true" };
}

/** Flux's root GitRepository following a branch or a semver range of tags. */
export function gitRepository(p: { url: string; ref: GitRef; interval: string; annotations: Record<string, string> }): KubeObject {
    return {
        apiVersion: "source.toolkit.fluxcd.io/v1",
        kind: "GitRepository",
        metadata: { name: FLUX_ROOT_NAME, namespace: FLUX_NAMESPACE, annotations: p.annotations },
        spec: { interval: p.interval, url: p.url, ref: { ...p.ref }, secretRef: { name: FLUX_ROOT_NAME } },
    };
}

/**
 * Flux's root Kustomization on the environment's path, pruning, substituting the program's
 * settings (so the tree's Kustomizations can name `${WORKLOAD_NAMESPACE}`), decrypting with
 * SOPS when asked.
 */
export function rootKustomization(p: { path: string; interval: string; decrypt: boolean; annotations: Record<string, string> }): KubeObject {
    return {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: { name: FLUX_ROOT_NAME, namespace: FLUX_NAMESPACE, annotations: p.annotations },
        spec: {
            interval: p.interval,
            path: p.path,
            prune: true,
            // Deleting this object (by hand, or by anything else) leaves what it applied in place:
            // only a removal from Git prunes, never the loss of the root Kustomization itself.
            deletionPolicy: "Orphan",
            sourceRef: { kind: "GitRepository", name: FLUX_ROOT_NAME },
            postBuild: { substituteFrom: [{ kind: "ConfigMap", name: FLUX_SETTINGS_CONFIGMAP }] },
            ...(p.decrypt ? { decryption: { provider: "sops", secretRef: { name: SOPS_AGE_SECRET } } } : {}),
        },
    };
}

/** URL of a Flux release's install manifest (all controllers). */
export function fluxInstallUrl(version: string): string {
    return `https://github.com/fluxcd/flux2/releases/download/${version}/install.yaml`;
}
