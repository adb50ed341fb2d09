/**
 * The self-hosted management cluster's own objects (`capi-mgmt:managementCluster.mode:
 * selfHosted`, docs/self-hosted.md), rendered from the settings: its Cluster of the GitOps
 * tree's ClusterClass (`openstack-kubeadm`), 3 control plane nodes and 2 workers for the
 * controllers (kubeadm taints control plane nodes), the ORC Image its nodes boot from and the
 * ORC ServerGroup that keeps the control plane nodes on different hypervisors. The
 * self-hosted-cluster step (src/host/scripts/self-hosted-cluster.sh) applies them with
 * server-side apply to whichever cluster holds them: the kind cluster before the pivot,
 * the self-hosted cluster itself after it, so a change of these settings is an `up`.
 *
 * Why rendered here and applied by a host step, not placed in the GitOps tree: the Cluster
 * must exist before any Flux runs on the cluster it describes (the tree's Flux runs there only
 * after the pivot); Flux prunes what leaves Git, and a Cluster pruned from its own cluster
 * deletes the management cluster with every controller on it; the teardown deletes every
 * Cluster the tree declares; and its values (the external network's ID, the server's address
 * in the API allow-list, the flavor) are the program's, not the tree's. The ClusterClass and
 * the add-ons it needs are the tree's: the step puts the program's copy
 * (SELF_HOSTED_BOOTSTRAP_FILES) on the kind cluster only, before the pivot; after it, the
 * self-hosted cluster's Flux applies the user's from Git and owns them, so the class's
 * changes are commits in Git as for every workload cluster.
 *
 * Pure: the same parameters give the same text; every input is validated, an Error names it.
 */
import { stringify } from "yaml";
import { isIpv4, parseCidr } from "../shared/net";
import { DNS_LABEL } from "../shared/names";

/** Label on the self-hosted cluster's Cluster: the teardown and the pivot's checks tell it from workload clusters by it. */
export const SELF_HOSTED_LABEL = "capi-mgmt.io/management-cluster";
/** Control plane nodes of the self-hosted cluster (etcd's quorum survives one lost node). */
export const SELF_HOSTED_CONTROL_PLANE_REPLICAS = 3;
/** Worker nodes for the controllers (Cluster API, CAPO, ORC, CAAPH, cert-manager, Flux). */
export const SELF_HOSTED_WORKER_REPLICAS = 2;
/**
 * The files of the GitOps tree (relative to `gitops/`) whose objects the kind cluster needs to
 * build the self-hosted cluster: the ClusterClass with its templates, and the add-ons every
 * labelled Cluster gets (CNI, cloud controller manager, Cinder CSI).
 */
export const SELF_HOSTED_BOOTSTRAP_FILES: readonly string[] = [
    "infrastructure/cluster-class/clusterclass.yaml",
    "infrastructure/cluster-class/openstack-cluster-template.yaml",
    "infrastructure/cluster-class/control-plane-templates.yaml",
    "infrastructure/cluster-class/worker-templates.yaml",
    "infrastructure/addons/cilium.yaml",
    "infrastructure/addons/openstack-cloud-controller-manager.yaml",
    "infrastructure/addons/openstack-cinder-csi.yaml",
];

/** The ClusterClass the Cluster names (gitops/infrastructure/cluster-class/clusterclass.yaml). */
export const SELF_HOSTED_CLASS = "openstack-kubeadm";

/** Parameters of {@link renderSelfHostedManifest}. */
export interface SelfHostedManifestParams {
    /** Name of the Cluster (a DNS label of at most 45 characters: CAPO names OpenStack resources after it). */
    name: string;
    /** Namespace: the workload namespace (one `clusterctl move` takes it with the workload clusters). */
    namespace: string;
    /** Kubernetes version, `v1.2.3`, the one inside `image`. */
    kubernetesVersion: string;
    /** Glance image name of the nodes. */
    image: string;
    /** Flavor of every node. */
    flavor: string;
    /** ID of the external network (router, API load balancer's floating IP). */
    externalNetworkId: string;
    /** CIDRs the API load balancer admits: the IPv4 ones of apiAllowedCidrs (the class takes IPv4 only). */
    apiAllowedCidrs: readonly string[];
    /** The management server's public address: admitted too (the kind cluster's controllers call the API from it before the pivot). */
    serverAddress: string;
    /** DNS servers of the nodes' subnet (at least one). */
    dnsNameservers: readonly string[];
}

const VERSION = /^v[0-9]+\.[0-9]+\.[0-9]+$/;

/** The name of the self-hosted cluster's Cluster for a stack prefix. */
export function selfHostedClusterName(prefix: string): string {
    return `${prefix}-management`;
}

/** The names of the self-hosted cluster's own ORC objects (its node image, its control plane's server group). */
export function selfHostedOrcNames(name: string): { image: string; serverGroup: string } {
    return { image: `${name}-node-image`, serverGroup: `${name}-control-plane` };
}

/**
 * Renders the self-hosted cluster's objects as one multi-document YAML (Cluster, ORC Image,
 * ORC ServerGroup), namespaced. Throws naming the bad parameter.
 */
export function renderSelfHostedManifest(p: SelfHostedManifestParams): string {
    if (!DNS_LABEL.test(p.name) || p.name.length > 45) {
        throw new Error(`name must be a DNS label of at most 45 characters, got ${JSON.stringify(p.name)}`);
    }
    if (!DNS_LABEL.test(p.namespace) || p.namespace.length > 63) {
        throw new Error(`namespace must be a DNS label, got ${JSON.stringify(p.namespace)}`);
    }
    if (!VERSION.test(p.kubernetesVersion)) {
        throw new Error(`kubernetesVersion must be a release like v1.35.8, got ${JSON.stringify(p.kubernetesVersion)}`);
    }
    for (const [what, v] of [
        ["image", p.image],
        ["flavor", p.flavor],
        ["externalNetworkId", p.externalNetworkId],
    ] as const) {
        if (typeof v !== "string" || v.trim() === "") {
            throw new Error(`${what} must be set`);
        }
    }
    if (!isIpv4(p.serverAddress)) {
        throw new Error(`serverAddress must be an IPv4 address, got ${JSON.stringify(p.serverAddress)}`);
    }
    if (p.dnsNameservers.length === 0) {
        throw new Error("dnsNameservers must name at least one DNS server (capi-mgmt:dnsNameservers)");
    }
    const allowed = [...new Set([...p.apiAllowedCidrs.filter((c) => parseCidr(c)?.family === 4), `${p.serverAddress}/32`])];
    const { image: imageName, serverGroup } = selfHostedOrcNames(p.name);
    const move = { "clusterctl.cluster.x-k8s.io/move": "" };
    const credentials = { secretName: "openstack-credentials", cloudName: "openstack" };
    const cluster = {
        apiVersion: "cluster.x-k8s.io/v1beta2",
        kind: "Cluster",
        metadata: {
            name: p.name,
            namespace: p.namespace,
            labels: { [SELF_HOSTED_LABEL]: "self-hosted", "capi-mgmt.io/cloud-config": "openstack" },
        },
        spec: {
            clusterNetwork: { pods: { cidrBlocks: ["192.168.0.0/16"] }, services: { cidrBlocks: ["10.96.0.0/12"] } },
            topology: {
                classRef: { name: SELF_HOSTED_CLASS },
                version: p.kubernetesVersion,
                controlPlane: { replicas: SELF_HOSTED_CONTROL_PLANE_REPLICAS },
                workers: { machineDeployments: [{ class: "default-worker", name: "controllers", replicas: SELF_HOSTED_WORKER_REPLICAS }] },
                variables: [
                    { name: "controlPlaneFlavor", value: p.flavor },
                    { name: "workerFlavor", value: p.flavor },
                    { name: "nodeImage", value: imageName },
                    { name: "externalNetwork", value: { id: p.externalNetworkId } },
                    { name: "apiAllowedCidrs", value: allowed },
                    { name: "dnsNameservers", value: [...p.dnsNameservers] },
                    { name: "controlPlaneServerGroup", value: serverGroup },
                ],
            },
        },
    };
    const image = {
        apiVersion: "openstack.k-orc.cloud/v1alpha1",
        kind: "Image",
        metadata: { name: imageName, namespace: p.namespace, labels: { "capi-mgmt.io/kubernetes-version": p.kubernetesVersion, ...move } },
        spec: { cloudCredentialsRef: credentials, managementPolicy: "unmanaged", import: { filter: { name: p.image } } },
    };
    const group = {
        apiVersion: "openstack.k-orc.cloud/v1alpha1",
        kind: "ServerGroup",
        metadata: { name: serverGroup, namespace: p.namespace, labels: move },
        spec: { cloudCredentialsRef: credentials, managementPolicy: "managed", resource: { policy: "anti-affinity" } },
    };
    return [cluster, image, group].map((o) => stringify(o, { lineWidth: 0 })).join("---\n");
}

/**
 * The bootstrap objects: the texts of {@link SELF_HOSTED_BOOTSTRAP_FILES} (in that order) as
 * one multi-document YAML, each file's documents kept as written (they carry no namespace: the
 * step applies them to the workload namespace, as the tree's Flux Kustomizations do).
 */
export function renderSelfHostedBootstrap(files: readonly { path: string; text: string }[]): string {
    const names = files.map((f) => f.path);
    if (JSON.stringify(names) !== JSON.stringify(SELF_HOSTED_BOOTSTRAP_FILES)) {
        throw new Error(`the bootstrap files must be ${SELF_HOSTED_BOOTSTRAP_FILES.join(", ")}, got ${names.join(", ")}`);
    }
    return files.map((f) => `# gitops/${f.path}\n${f.text.replace(/^---\n/, "").trimEnd()}\n`).join("---\n");
}
