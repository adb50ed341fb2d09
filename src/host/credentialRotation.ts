/**
 * After a rotation of the cloud-provider application credential: the OpenStack cloud
 * controller manager and Cinder CSI in every workload cluster restarted once their cloud.conf
 * carries the new credential (`src/host/scripts/cloud-provider-restart.sh`).
 *
 * Why a step on the management side, and not a checksum annotation that makes CAAPH/Helm roll
 * them: cloud.conf reaches the workload clusters through the ClusterResourceSet, asynchronously;
 * a roll driven by the add-ons (HelmChartProxy values in Git, a checksum substituted by Flux)
 * is not ordered after that copy, so the pods could restart on the old file and never again,
 * and it would exist only with `gitops`. The step waits per cluster for the new credential in
 * the cluster's own Secret, then restarts, before `up` deletes the old credential at its end.
 *
 * Pure: rendering only.
 */
import { CLOUD_CONFIG_LABEL, WORKLOAD_CLOUD_CONFIG_SECRET } from "../shared/contract";
import { renderHostScript, mgmtKubeconfigParams } from "./hostScripts";

/**
 * The workloads that read cloud.conf, as the charts of `gitops/infrastructure/addons/` name
 * them (cloud-provider-openstack's charts, no name override): `<chart name>` for OCCM's
 * DaemonSet, `<chart name>-controllerplugin` and `-nodeplugin` for Cinder CSI's.
 */
export const CLOUD_PROVIDER_WORKLOADS: readonly string[] = [
    "daemonset/openstack-cloud-controller-manager",
    "deployment/openstack-cinder-csi-controllerplugin",
    "daemonset/openstack-cinder-csi-nodeplugin",
];

/** Bound of the wait for the new cloud.conf in each workload cluster, seconds. */
export const CLOUD_CONF_WAIT_SECONDS = 300;

/** Parameters of {@link renderCloudProviderRestartScript}. */
export interface CloudProviderRestartParams {
    /** Namespace of the workload Clusters. */
    workloadNamespace: string;
    /** ID of the (new) cloud-provider application credential. */
    credentialId: string;
    /** Bound of the wait per cluster; default {@link CLOUD_CONF_WAIT_SECONDS}. */
    waitSeconds?: number;
}

/** Renders `src/host/scripts/cloud-provider-restart.sh`. */
export function renderCloudProviderRestartScript(p: CloudProviderRestartParams): string {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(p.workloadNamespace)) {
        throw new Error(`workloadNamespace must be a Kubernetes namespace name, got ${JSON.stringify(p.workloadNamespace)}`);
    }
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(p.credentialId)) {
        throw new Error(`credentialId must be an application credential ID, got ${JSON.stringify(p.credentialId)}`);
    }
    const wait = p.waitSeconds ?? CLOUD_CONF_WAIT_SECONDS;
    if (!Number.isInteger(wait) || wait < 1 || wait > 3600) {
        throw new Error(`waitSeconds must be a whole number from 1 to 3600, got ${wait}`);
    }
    return renderHostScript(
        "cloud-provider-restart.sh",
        {
            ...mgmtKubeconfigParams("KUBECONFIG_PATH"),
            WORKLOAD_NAMESPACE: p.workloadNamespace,
            CLUSTER_SELECTOR: `${CLOUD_CONFIG_LABEL.key}=${CLOUD_CONFIG_LABEL.value}`,
            CREDENTIAL_ID: p.credentialId,
            CLOUD_CONFIG_SECRET: `${WORKLOAD_CLOUD_CONFIG_SECRET.namespace}/${WORKLOAD_CLOUD_CONFIG_SECRET.name}`,
            WORKLOADS: CLOUD_PROVIDER_WORKLOADS.join("\n"),
            WAIT_SECONDS: String(wait),
        },
        { multiLine: ["WORKLOADS"] },
    );
}
