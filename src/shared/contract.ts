/**
 * Names the program creates in the management cluster and that the GitOps tree
 * (`gitops/`) relies on. Change one only together with the tree: the structure test
 * (`test/gitopsTree.spec.ts`) checks that both agree.
 */

/** Default namespace of the workload clusters (`capi-mgmt:gitops.workloadNamespace`). */
export const DEFAULT_WORKLOAD_NAMESPACE = "clusters";

/** Cloud name inside every clouds.yaml the program writes (`cloudName` in references). */
export const CLOUD_NAME = "openstack";

/** Cluster-scoped OpenStackClusterIdentity that workload clusters reference (`identityRef.type: ClusterIdentity`). */
export const CAPO_IDENTITY_NAME = "openstack";

/** Namespace of CAPO's controllers, where the identity's Secret lives. */
export const CAPO_NAMESPACE = "capo-system";

/** Secret (in CAPO_NAMESPACE) with `clouds.yaml` and `cacert` behind the identity. */
export const CAPO_CREDENTIALS_SECRET = "capi-mgmt-openstack-credentials";

/** Secret in the workload namespace with the same clouds.yaml, for ORC objects (`cloudCredentialsRef.secretName`). */
export const ORC_CREDENTIALS_SECRET = "openstack-credentials";

/** Label a workload Cluster carries to receive the cloud config (and, in the tree, the add-ons). */
export const CLOUD_CONFIG_LABEL = { key: "capi-mgmt.io/cloud-config", value: "openstack" } as const;

/** ClusterResourceSet (in the workload namespace) that distributes the cloud config. */
export const CLOUD_CONFIG_RESOURCE_SET = "openstack-cloud-config";

/** Secret in each workload cluster holding `cloud.conf` (and `ca.crt`) for OCCM and Cinder CSI. */
export const WORKLOAD_CLOUD_CONFIG_SECRET = { namespace: "kube-system", name: "cloud-config" } as const;

/** Path of the CA file inside OCCM's and Cinder CSI's mounted cloud-config Secret. */
export const WORKLOAD_CA_FILE = "/etc/config/ca.crt";

/**
 * Where the tree's OCCM mounts the distributed cloud-config Secret (WORKLOAD_CLOUD_CONFIG_SECRET)
 * to read its `clouds.yaml` (credential) beside the per-cluster cloud.conf its chart writes.
 */
export const OCCM_CREDENTIALS_DIR = "/etc/openstack-credentials";

/** Name of Flux's root GitRepository, Kustomization and SSH Secret (as `flux bootstrap` names them). */
export const FLUX_ROOT_NAME = "flux-system";

/** Flux's namespace. */
export const FLUX_NAMESPACE = "flux-system";

/**
 * ConfigMap (in FLUX_NAMESPACE) whose keys Flux substitutes for `${KEY}` in the tree
 * (`postBuild.substituteFrom`): facts only the program knows.
 */
export const FLUX_SETTINGS_CONFIGMAP = "capi-mgmt-settings";

/** Keys of FLUX_SETTINGS_CONFIGMAP, as the tree writes them (`${WORKLOAD_NAMESPACE}`). */
export const FLUX_SETTINGS_KEYS = {
    /** `capi-mgmt:gitops.workloadNamespace`: where the tree puts workload clusters and their classes. */
    workloadNamespace: "WORKLOAD_NAMESPACE",
    /** `<floating IP>/32`: the address the management cluster reaches workload API servers from. */
    managementEgressCidr: "MANAGEMENT_EGRESS_CIDR",
} as const;

/** Secret (in FLUX_NAMESPACE) with the SOPS age key, key `age.agekey`. */
export const SOPS_AGE_SECRET = "sops-age";
