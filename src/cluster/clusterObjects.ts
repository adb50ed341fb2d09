/**
 * The Kubernetes objects the program defines in the management cluster, as plain data.
 * Components turn them into resources; render writes them out. Pure functions.
 */
import type { Input, ResourceTransform, ResourceTransformArgs, ResourceTransformResult } from "@pulumi/pulumi";
import * as semver from "semver";
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
} from "../shared/contract";
import { GitRef } from "../config";
import { EnvVar, withContainerEnv } from "../host/proxy";

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

/**
 * The `kube-system/cloud-config` Secret as it lands in each workload cluster: `cloud.conf`
 * (Cinder CSI), `clouds.yaml` (the same credential for OCCM, whose own cloud.conf is per
 * cluster: gitops/infrastructure/addons/openstack-cloud-controller-manager.yaml) and the CA.
 */
export function workloadCloudConfigSecret(cloudConf: string, caCert?: string, cloudsYaml?: string): KubeObject {
    return secret(
        { name: WORKLOAD_CLOUD_CONFIG_SECRET.name, namespace: WORKLOAD_CLOUD_CONFIG_SECRET.namespace },
        { "cloud.conf": cloudConf, ...(cloudsYaml ? { "clouds.yaml": cloudsYaml } : {}), ...(caCert ? { "ca.crt": caCert } : {}) },
    );
}

/** Data of the ClusterResourceSet's Secret: the workload Secret's manifest. */
export function cloudConfigResourceData(cloudConf: string, caCert?: string, cloudsYaml?: string): Record<string, string> {
    return { [CLOUD_CONFIG_MANIFEST_KEY]: stringify(workloadCloudConfigSecret(cloudConf, caCert, cloudsYaml)) };
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
    return wait ? { "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": String(timeoutSeconds) } : { "pulumi.com/skipAwait": "true" };
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

/**
 * The kustomize-controller feature gates the program turns on. `CancelHealthCheckOnNewRevision`
 * (opt-in since kustomize-controller v1.7.0, still off by default in v1.9.x) makes the controller
 * drop a running health check when a new source revision arrives: without it a fix pushed to Git
 * while a workload cluster is unhealthy waits out `workload-clusters`' 40-minute health-check
 * timeout before it is applied.
 */
export const KUSTOMIZE_CONTROLLER_FEATURE_GATES: Readonly<Record<string, boolean>> = Object.freeze({ CancelHealthCheckOnNewRevision: true });

/** The first Flux release whose kustomize-controller (v1.7.0) knows the gates above. */
export const FLUX_FEATURE_GATES_SINCE = "v2.7.0";

/** Where the install manifest puts kustomize-controller: Deployment, container. */
export const KUSTOMIZE_CONTROLLER = { deployment: "kustomize-controller", container: "manager" } as const;

/**
 * The kustomize-controller feature gates for a Flux release: {@link KUSTOMIZE_CONTROLLER_FEATURE_GATES}
 * from {@link FLUX_FEATURE_GATES_SINCE} on, none before (an older controller refuses to start on a
 * gate it does not know).
 */
export function kustomizeControllerFeatureGates(fluxVersion: string): Record<string, boolean> {
    const v = semver.valid(fluxVersion);
    return v !== null && semver.gte(v, FLUX_FEATURE_GATES_SINCE) ? { ...KUSTOMIZE_CONTROLLER_FEATURE_GATES } : {};
}

const FEATURE_GATES_FLAG = "--feature-gates";

/**
 * A Flux controller's arguments with `gates` set in its `--feature-gates` flag. An existing flag
 * (`--feature-gates=A=true,B=false` or `--feature-gates A=true`, even given several times, which
 * the controller merges, later values winning) becomes one flag at the place of the first, its
 * gates kept and `gates` set over them; without one the flag is appended. Every other argument
 * stays as it is, in its place. No gates: the arguments unchanged.
 */
export function withFeatureGates(args: readonly string[], gates: Readonly<Record<string, boolean>>): string[] {
    if (Object.keys(gates).length === 0) {
        return [...args];
    }
    const merged = new Map<string, string>();
    const out: string[] = [];
    let at = -1;
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        let value: string | undefined;
        if (a.startsWith(`${FEATURE_GATES_FLAG}=`)) {
            value = a.slice(FEATURE_GATES_FLAG.length + 1);
        } else if (a === FEATURE_GATES_FLAG) {
            if (i + 1 >= args.length) {
                throw new Error(`${FEATURE_GATES_FLAG} is the last argument and has no value`);
            }
            value = args[++i];
        } else {
            out.push(a);
            continue;
        }
        for (const pair of value.split(",")) {
            const p = pair.trim();
            if (p === "") {
                continue;
            }
            const eq = p.indexOf("=");
            if (eq <= 0) {
                throw new Error(`${FEATURE_GATES_FLAG}: '${p}' is not a key=value pair`);
            }
            merged.set(p.slice(0, eq).trim(), p.slice(eq + 1).trim());
        }
        if (at < 0) {
            at = out.length;
            out.push(FEATURE_GATES_FLAG);
        }
    }
    for (const [k, v] of Object.entries(gates)) {
        merged.set(k, String(v));
    }
    const flag = `${FEATURE_GATES_FLAG}=${[...merged].map(([k, v]) => `${k}=${v}`).join(",")}`;
    if (at < 0) {
        return [...out, flag];
    }
    return out.map((a, i) => (i === at ? flag : a));
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** True for the install manifest's kustomize-controller Deployment. */
function isKustomizeController(obj: Obj): boolean {
    const meta = obj.metadata;
    return (
        obj.apiVersion === "apps/v1" &&
        obj.kind === "Deployment" &&
        isObj(meta) &&
        meta.name === KUSTOMIZE_CONTROLLER.deployment &&
        (meta.namespace === undefined || meta.namespace === FLUX_NAMESPACE)
    );
}

/**
 * An object of Flux's install manifest as the program applies it: kustomize-controller's
 * Deployment with {@link kustomizeControllerFeatureGates} merged into its container's
 * arguments; any other object, or a release without such gates, undefined (unchanged). The input
 * is not modified. Throws when the Deployment lacks the container or its arguments are not a
 * list of strings: applying it without the gates would pass silently.
 */
export function fluxInstallObject(obj: Obj, fluxVersion: string): Obj | undefined {
    const gates = kustomizeControllerFeatureGates(fluxVersion);
    if (!isKustomizeController(obj) || Object.keys(gates).length === 0) {
        return undefined;
    }
    const where = `Flux ${fluxVersion} install: Deployment ${FLUX_NAMESPACE}/${KUSTOMIZE_CONTROLLER.deployment}`;
    const spec = obj.spec;
    const template = isObj(spec) ? spec.template : undefined;
    const podSpec = isObj(template) ? template.spec : undefined;
    const containers = isObj(podSpec) ? podSpec.containers : undefined;
    const index = Array.isArray(containers) ? containers.findIndex((c) => isObj(c) && c.name === KUSTOMIZE_CONTROLLER.container) : -1;
    if (!isObj(spec) || !isObj(template) || !isObj(podSpec) || !Array.isArray(containers) || index < 0) {
        throw new Error(`${where} has no container '${KUSTOMIZE_CONTROLLER.container}' to turn on ${Object.keys(gates).join(", ")}`);
    }
    const container = containers[index] as Obj;
    const args = container.args ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
        throw new Error(`${where}: the arguments of container '${KUSTOMIZE_CONTROLLER.container}' are not a list of strings`);
    }
    const newContainers = [...containers];
    newContainers[index] = { ...container, args: withFeatureGates(args, gates) };
    return { ...obj, spec: { ...spec, template: { ...template, spec: { ...podSpec, containers: newContainers } } } };
}

/**
 * The `transforms` entry of Flux's install ConfigFile: the engine hands it every object the
 * ConfigFile registers, and it changes kustomize-controller's Deployment as
 * {@link fluxInstallObject} does (options unchanged); every other object is left alone.
 */
export function fluxInstallTransform(fluxVersion: string): ResourceTransform {
    return (a: ResourceTransformArgs): ResourceTransformResult | undefined => {
        if (!a.custom || a.type !== "kubernetes:apps/v1:Deployment") {
            return undefined;
        }
        const changed = fluxInstallObject(a.props as Obj, fluxVersion);
        return changed === undefined ? undefined : { props: changed, opts: a.opts };
    };
}

/**
 * The transform that gives the Deployments of Flux's install the proxy variables (upper and
 * lower case); undefined without a proxy, so the install is exactly upstream's.
 */
export function fluxProxyTransform(vars: ReadonlyArray<EnvVar<Input<string>>> | undefined): ResourceTransform | undefined {
    if (!vars || vars.length === 0) {
        return undefined;
    }
    return (args) =>
        args.type === "kubernetes:apps/v1:Deployment" ? { props: withContainerEnv({ kind: "Deployment", ...args.props }, vars), opts: args.opts } : undefined;
}
