/**
 * The parameters and helpers the cluster-script specs (test/clusterScripts*.spec.ts) share:
 * the pinned versions, the kind config, and what a run of the kind step must print.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import { CapiProvidersParams, KIND_CLUSTER_ID_PREFIX, KindClusterParams } from "../src/cluster/clusterScripts";
import { ClusterFakes, FAKE_ORC_MANIFEST, FakeProvider } from "./fakes/clusterFakes";
import { fakeReleasePins } from "./fakes/releaseFakes";

export const CLUSTER_SCRIPTS = ["api-cert-expiry.sh", "capi-providers.sh", "kind-cluster.sh", "kubeconfig.sh", "orc.sh"];

export const NODE_IMAGE = `kindest/node:v1.36.1@sha256:${"3".repeat(64)}`;
export const NEW_NODE_IMAGE = `kindest/node:v1.36.3@sha256:${"4".repeat(64)}`;
export const ORC_URL = "https://github.com/k-orc/openstack-resource-controller/releases/download/v2.6.0/install.yaml";
/** SHA-256 of the fake ORC manifest, as a pin would give it. */
export const FAKE_ORC_MANIFEST_SHA256 = crypto.createHash("sha256").update(FAKE_ORC_MANIFEST).digest("hex");
/** The label clusterctl move (v1.14) lists CRDs by: it looks only at the kinds whose CRD has it. */
export const CLUSTERCTL_LABEL = "clusterctl.cluster.x-k8s.io";

/** A kind config like src/cluster/kindConfig.ts renders, with a quote to exercise the shell quoting. */
export const KIND_CONFIG = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: mgmt
networking:
  apiServerAddress: 0.0.0.0
  apiServerPort: 6443
nodes:
  - role: control-plane
    image: ${NODE_IMAGE}
kubeadmConfigPatches:
  - |
    kind: ClusterConfiguration
    apiServer:
      certSANs:
        - 192.0.2.10
# the operator's note: $(touch pwned) \`x\`
`;

export const KIND_PARAMS: KindClusterParams = { clusterName: "mgmt", nodeImage: NODE_IMAGE, kindConfig: KIND_CONFIG };

export const PROVIDER_PARAMS: CapiProvidersParams = {
    clusterApi: "v1.14.0",
    capo: "v0.14.7",
    caaph: "v0.6.4",
    certManager: "v1.21.1",
    releaseSha256: fakeReleasePins(),
    waitTimeoutSeconds: 5,
};

/** The providers as `clusterctl init` installs them at PROVIDER_PARAMS. */
export function pinnedProviders(overrides: Partial<Record<string, string>> = {}): FakeProvider[] {
    const all: FakeProvider[] = [
        { type: "CoreProvider", name: "cluster-api", version: "v1.14.0", namespace: "capi-system" },
        { type: "BootstrapProvider", name: "kubeadm", version: "v1.14.0", namespace: "capi-kubeadm-bootstrap-system" },
        { type: "ControlPlaneProvider", name: "kubeadm", version: "v1.14.0", namespace: "capi-kubeadm-control-plane-system" },
        { type: "InfrastructureProvider", name: "openstack", version: "v0.14.7", namespace: "capo-system" },
        { type: "AddonProvider", name: "helm", version: "v0.6.4", namespace: "caaph-system" },
    ];
    return all.map((p) => ({ ...p, version: overrides[p.type] ?? p.version }));
}

export const PINNED_ARGS =
    "--core cluster-api:v1.14.0 --bootstrap kubeadm:v1.14.0 --control-plane kubeadm:v1.14.0 " + "--infrastructure openstack:v0.14.7 --addon helm:v0.6.4";

export function sha256(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}

export function fileMode(file: string): number {
    return fs.statSync(file).mode & 0o777;
}

/** The id the kind step must print for a kind cluster: SHA-256 of its CA data. */
export function expectedId(fakes: ClusterFakes, name = "mgmt"): string {
    const m = /certificate-authority-data: (\S+)/.exec(fakes.kindKubeconfig(name));
    assert.ok(m, "fake kubeconfig has CA data");
    return `${KIND_CLUSTER_ID_PREFIX}${sha256(m[1])}\n`;
}
