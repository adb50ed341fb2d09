/**
 * What a change of each input does to each resource type the program uses: which inputs
 * force a replacement (the provider's own rule), and which in-place updates disrupt what
 * runs on the resource. Pulumi input names (camelCase; dotted paths reach into objects).
 * Each row cites the upstream source it was read from. The resource options on top of this
 * (ignoreChanges, replaceOnChanges, deleteBeforeReplace, retainOnDelete, a new logical
 * name, a replaced provider) are applied by src/lifecycle/replacementMap.ts, as the engine does
 * (pulumi/pulumi pkg/resource/deploy/step_generator.go: providerChanged, diff,
 * applyReplaceOnChanges, processIgnoreChanges).
 *
 * Pure data: no Pulumi runtime here. Upstream versions: terraform-provider-openstack v1.54.1
 * (bundled by @pulumi/openstack 3.15.2), pulumi-command v1.2.1, pulumi-kubernetes
 * (provider/pkg/provider at the stored snapshot; @pulumi/kubernetes 4.34.2 is the package).
 */

/** One resource type's facts. */
export interface ReplacementFacts {
    /** Inputs whose change replaces the resource (the provider's ForceNew / replaceOnChanges). */
    replaceOn: readonly string[];
    /** Inputs updated in place, but disruptively: what the update does. */
    disruptive?: Readonly<Record<string, string>>;
    /**
     * Inputs that replace it depending on the provider's own settings (the inputs of the
     * provider resource it uses): returns the extra replace-forcing inputs.
     */
    replaceOnWithProvider?: (providerInputs: Record<string, unknown>) => string[];
    /**
     * Outputs (other than the inputs it echoes) the provider reports unknown when the resource
     * is updated during a preview: an input of another resource taken from them counts as
     * changed in the preview (src/lifecycle/replacementMap.ts `onlyIf`).
     */
    outputsUnknownOnUpdate?: readonly string[];
    /** Where the facts come from (file in the upstream repository, at the version above). */
    source: string;
}

/**
 * pulumi-command v1.2.1 is built on pulumi-go-provider v1.3.0's `infer` (provider/go.mod), and
 * its Command sets no WireDependencies (remote/commandController.go, local/commandController.go):
 * infer's default flow makes every output depend on every input (infer/resource.go
 * ensureDefaultComputed), so on an update during a preview every output whose value is not the
 * input it echoes (stdout, stderr) is marked unknown when any input changed (markComputed),
 * although Update itself returns the old ones in a preview (`BaseOutputs: olds.BaseOutputs`).
 * Seen on the real engine: a new versions.nodeImage (an update of kind-cluster) previews every
 * step triggered by its stdout as replaced (test/integration/openstackEngine.integration.ts).
 */
const COMMAND_OUTPUTS_UNKNOWN_ON_UPDATE = ["stdout", "stderr"];

const TPO = "terraform-provider-openstack v1.54.1 openstack/resource_openstack_";

/** A Kubernetes object's identity: pulumi-kubernetes replaces on a new name or namespace. */
const K8S_IDENTITY = ["metadata.name", "metadata.namespace"];
const K8S_SOURCE =
    "pulumi-kubernetes provider/pkg/provider/provider.go (Diff: forceNewFields .metadata.name, .metadata.namespace) and diff.go (forceNewProperties)";

/** Kubernetes objects with no kind-specific replace-forcing field (custom resources included). */
function kubernetesObject(extra: Partial<ReplacementFacts> = {}): ReplacementFacts {
    return { replaceOn: K8S_IDENTITY, source: K8S_SOURCE, ...extra };
}

/** True for a provider setting given as `true` (Pulumi passes provider inputs as strings). */
function enabled(v: unknown): boolean {
    return v === true || v === "true";
}

/** The table, by Pulumi type token. A type the program registers without a row fails the replacement-map test. */
export const REPLACEMENT_FACTS: Readonly<Record<string, ReplacementFacts>> = {
    "openstack:networking/network:Network": {
        replaceOn: ["region", "tenantId", "valueSpecs", "availabilityZoneHints", "transparentVlan"],
        source: `${TPO}networking_network_v2.go`,
    },
    "openstack:networking/subnet:Subnet": {
        replaceOn: ["region", "networkId", "cidr", "prefixLength", "tenantId", "ipVersion", "ipv6AddressMode", "ipv6RaMode", "subnetpoolId", "valueSpecs"],
        source: `${TPO}networking_subnet_v2.go`,
    },
    "openstack:networking/router:Router": {
        replaceOn: ["region", "distributed", "tenantId", "valueSpecs", "availabilityZoneHints"],
        disruptive: { externalNetworkId: "moves the router's gateway to another external network (Neutron refuses while floating IPs use it)" },
        source: `${TPO}networking_router_v2.go`,
    },
    "openstack:networking/routerInterface:RouterInterface": {
        replaceOn: ["region", "routerId", "subnetId", "portId"],
        source: `${TPO}networking_router_interface_v2.go`,
    },
    "openstack:networking/port:Port": {
        replaceOn: ["region", "networkId", "macAddress", "tenantId", "deviceOwner", "deviceId", "valueSpecs"],
        disruptive: { fixedIps: "changes the address under whatever uses the port (the running server)" },
        source: `${TPO}networking_port_v2.go`,
    },
    "openstack:networking/secGroup:SecGroup": {
        replaceOn: ["region", "tenantId", "deleteDefaultRules"],
        source: `${TPO}networking_secgroup_v2.go`,
    },
    "openstack:networking/secGroupRule:SecGroupRule": {
        replaceOn: [
            "region",
            "description",
            "direction",
            "ethertype",
            "portRangeMin",
            "portRangeMax",
            "protocol",
            "remoteGroupId",
            "remoteIpPrefix",
            "securityGroupId",
            "tenantId",
        ],
        source: `${TPO}networking_secgroup_rule_v2.go`,
    },
    "openstack:networking/floatingIp:FloatingIp": {
        replaceOn: ["region", "address", "pool", "tenantId", "valueSpecs", "dnsName", "dnsDomain"],
        source: `${TPO}networking_floatingip_v2.go`,
    },
    "openstack:networking/floatingIpAssociate:FloatingIpAssociate": {
        replaceOn: ["region", "floatingIp"],
        source: `${TPO}networking_floatingip_associate_v2.go`,
    },
    "openstack:compute/instance:Instance": {
        // `network` (networks) is ForceNew as a block and in each field (uuid, name, port,
        // fixed_ip_v4/v6); so is every field of `block_device` and of `scheduler_hints`.
        // flavor_id/flavor_name force a new server only when the old flavor is gone
        // (CustomizeDiff ForceNewIfChange on an empty old value); otherwise they resize.
        replaceOn: [
            "region",
            "userData",
            "availabilityZoneHints",
            "availabilityZone",
            "networkMode",
            "networks",
            "configDrive",
            "keyPair",
            "blockDevices",
            "schedulerHints",
        ],
        disruptive: {
            flavorId: "resizes the server (a reboot; replaced instead if the old flavor was deleted)",
            flavorName: "resizes the server (a reboot; replaced instead if the old flavor was deleted)",
            imageId: "rebuilds the server from the image (its root disk is wiped)",
            imageName: "rebuilds the server from the image (its root disk is wiped)",
        },
        source: `${TPO}compute_instance_v2.go`,
    },
    "openstack:blockstorage/volume:Volume": {
        // `size` is updated in place: Update extends the volume (volumeactions.ExtendSize), with
        // the online-resize microversion when it is in use and enable_online_resize is set
        // (without it an attached volume's extend is refused); Cinder never shrinks. `name`,
        // `description` and `metadata` are updated in place. The Delete detaches any attachment
        // first, then deletes the volume with its data.
        replaceOn: [
            "region",
            "availabilityZone",
            "snapshotId",
            "sourceVolId",
            "imageId",
            "backupId",
            "volumeType",
            "consistencyGroupId",
            "sourceReplica",
            "schedulerHints",
        ],
        disruptive: { size: "extends the volume (an attached one only with enableOnlineResize)" },
        source: `${TPO}blockstorage_volume_v3.go`,
    },
    "openstack:compute/volumeAttach:VolumeAttach": {
        // No Update: every argument but `device` is ForceNew. The Delete detaches (Nova
        // volume-attachment delete) and treats a server or attachment already gone (404) as deleted.
        replaceOn: ["region", "instanceId", "volumeId", "multiattach", "vendorOptions"],
        source: `${TPO}compute_volume_attach_v2.go`,
    },
    "openstack:identity/applicationCredential:ApplicationCredential": {
        replaceOn: ["region", "name", "description", "unrestricted", "secret", "projectId", "roles", "accessRules", "expiresAt"],
        source: `${TPO}identity_application_credential_v3.go`,
    },
    "openstack:objectstorage/container:Container": {
        // `name` is not ForceNew there: Update works on the container of the old ID (its name);
        // the program adds replaceOnChanges ["name"] (src/backup/backupStorage.ts).
        replaceOn: ["region", "storagePolicy"],
        source: `${TPO}objectstorage_container_v1.go`,
    },
    "tls:index/privateKey:PrivateKey": {
        replaceOn: ["algorithm", "ecdsaCurve", "rsaBits"],
        source: "terraform-provider-tls internal/provider/resource_private_key.go (RequiresReplace on algorithm, rsa_bits, ecdsa_curve; read from a stored copy, not at the version @pulumi/tls 5.6.1 bundles)",
    },
    "command:remote:Command": {
        // Any other input change runs `update` (or `create` when there is none) again over SSH.
        replaceOn: ["triggers"],
        disruptive: {
            stdin: "runs the step's script again on the server",
            create: "runs the step's script again on the server",
            update: "runs the step's script again on the server",
            connection: "runs the step's script again on the server",
        },
        outputsUnknownOnUpdate: COMMAND_OUTPUTS_UNKNOWN_ON_UPDATE,
        source: 'pulumi-command v1.2.1 provider/pkg/provider/common/inputs.go (Triggers `provider:"replaceOnChanges"`), remote/commandController.go (Update)',
    },
    "command:local:Command": {
        // The rebuild check (src/lifecycle/rebuildCheck.ts) ignores changes of every input but
        // its triggers, so only a new generation runs it again.
        replaceOn: ["triggers"],
        outputsUnknownOnUpdate: COMMAND_OUTPUTS_UNKNOWN_ON_UPDATE,
        source: 'pulumi-command v1.2.1 provider/pkg/provider/common/inputs.go (Triggers `provider:"replaceOnChanges"`), local/commandController.go (Update)',
    },
    "command:remote:CopyToRemote": {
        replaceOn: ["triggers"],
        source: 'pulumi-command v1.2.1 provider/pkg/provider/remote/copy.go (Triggers `provider:"replaceOnChanges"`), copyController.go (Update copies again)',
    },
    "pulumi:providers:openstack": {
        // The bridge's DiffConfig replaces a provider only for settings marked ForcesProviderReplace
        // (pulumi-terraform-bridge pkg/tfbridge/provider.go, configDiffer); none is assumed for
        // openstack (not checked in pulumi-openstack's resources.go): a change updates it.
        replaceOn: [],
        source: "pulumi-terraform-bridge pkg/tfbridge/provider.go (DiffConfig, configDiffer.forcesProviderReplace)",
    },
    "pulumi:providers:kubernetes": {
        // Replaced when the kubeconfig's active cluster changes, or the kubeconfig is unknown
        // (during preview, when the step that reads it is replaced); a replaced provider
        // replaces every object it manages (step_generator.go calculateDependentReplacements).
        replaceOn: ["kubeconfig", "context", "cluster", "renderYamlToDirectory"],
        source: "pulumi-kubernetes provider/pkg/provider/provider.go (DiffConfig)",
    },
    "kubernetes:core/v1:Namespace": kubernetesObject(),
    "kubernetes:core/v1:Secret": kubernetesObject({
        replaceOn: [...K8S_IDENTITY, "type"],
        replaceOnWithProvider: (p) => (enabled(p.enableSecretMutable) ? [] : ["data", "stringData"]),
    }),
    "kubernetes:core/v1:ConfigMap": kubernetesObject({
        replaceOnWithProvider: (p) => (enabled(p.enableConfigMapMutable) ? [] : ["data", "binaryData"]),
    }),
    "kubernetes:infrastructure.cluster.x-k8s.io/v1alpha1:OpenStackClusterIdentity": kubernetesObject(),
    // Its clusterSelector and strategy are immutable in Cluster API's webhook: a change fails the update, it is not replaced.
    "kubernetes:addons.cluster.x-k8s.io/v1beta2:ClusterResourceSet": kubernetesObject(),
    "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository": kubernetesObject(),
    "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization": kubernetesObject(),
    // A component: a new `file` diffs the objects in it one by one (not visible under mocks).
    "kubernetes:yaml/v2:ConfigFile": {
        replaceOn: [],
        source: "pulumi-kubernetes provider/pkg/provider/yaml/v2/yaml.go (children registered per object)",
    },
};

/** Types whose registrations have no provider diff of their own (the program's components). */
export function needsFacts(type: string, custom: boolean): boolean {
    return custom || !type.startsWith("capi-mgmt:");
}
