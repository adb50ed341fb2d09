/**
 * The kind configuration of the single-node management cluster.
 */
import { stringify } from "yaml";
import { isIp } from "./net";

/** Port of the management cluster's API on the server (and in the security group). */
export const KIND_API_SERVER_PORT = 6443;

/** Inputs of {@link renderKindConfig}. */
export interface KindConfigParams {
    /** kind cluster name (the stack's prefix). */
    name: string;
    /** Node image pinned by digest. */
    nodeImage: string;
    /** Addresses the API server certificate must also be valid for (the floating IP). */
    apiServerCertSans: string[];
}

/**
 * Renders the kind config: one control-plane node (multi-node kind does not survive a
 * reboot of the host), the API on every address of the server at 6443, and the extra
 * certificate SANs via a kubeadm ClusterConfiguration patch without apiVersion, so it
 * applies to whichever kubeadm API version the node image uses.
 */
export function renderKindConfig(p: KindConfigParams): string {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p.name)) {
        throw new Error(`kind cluster name ${JSON.stringify(p.name)} is not a lowercase DNS label`);
    }
    if (!/@sha256:[0-9a-f]{64}$/.test(p.nodeImage)) {
        throw new Error(`node image ${JSON.stringify(p.nodeImage)} is not pinned by digest`);
    }
    for (const san of p.apiServerCertSans) {
        if (!isIp(san)) {
            throw new Error(`certificate SAN ${JSON.stringify(san)} is not an IP address`);
        }
    }
    const patch = stringify({ kind: "ClusterConfiguration", apiServer: { certSANs: p.apiServerCertSans } });
    const config = {
        kind: "Cluster",
        apiVersion: "kind.x-k8s.io/v1alpha4",
        name: p.name,
        networking: { apiServerAddress: "0.0.0.0", apiServerPort: KIND_API_SERVER_PORT },
        nodes: [{ role: "control-plane", image: p.nodeImage }],
        kubeadmConfigPatches: [patch],
    };
    return stringify(config, { lineWidth: 0 });
}
