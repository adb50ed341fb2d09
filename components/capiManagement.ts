import * as k8s from "@pulumi/kubernetes";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { identityEndpoint } from "../lib/cloudCredentials";
import { renderUserData } from "../lib/cloudInit";
import { StackConfig } from "../lib/config";
import { isUuid } from "../lib/names";
import { AppCredentials } from "./appCredentials";
import { ClusterCredentials } from "./clusterCredentials";
import { FluxSync } from "./fluxSync";
import { HostBootstrap, ServerConnection } from "./hostBootstrap";
import { ManagementCluster } from "./managementCluster";
import { Network } from "./network";
import { ServerSecurityGroup } from "./securityGroup";
import { ManagementServer, SERVER_USER } from "./server";
import { SshKeys } from "./sshKeys";
import { WorkloadTeardown } from "./teardown";

/** Arguments of {@link CapiManagement}. */
export interface CapiManagementArgs {
    /** The parsed and validated stack configuration. */
    config: StackConfig;
}

/**
 * Everything one stack stands up: the OpenStack side of the management server and, on it,
 * the management cluster. Children are created in dependency order; see README.md.
 */
export class CapiManagement extends pulumi.ComponentResource {
    /** Public address of the management server. */
    readonly floatingIp: pulumi.Output<string>;
    /** The server's host public key (what every SSH connection pins). */
    readonly hostPublicKey: pulumi.Output<string>;
    /** Login private key of the `ubuntu` user (secret). */
    readonly sshPrivateKey: pulumi.Output<string>;
    /** The application credentials (Cluster API, cloud provider). */
    readonly appCredentials: AppCredentials;
    /** How later steps reach the server. */
    readonly connection: ServerConnection;
    /** Host readiness and tools; later steps depend on `bootstrap.tools`. */
    readonly bootstrap: HostBootstrap;
    /** kind, ORC and Cluster API on the server. */
    readonly cluster: ManagementCluster;
    /** Deletes the workload clusters on destroy, before anything else goes. */
    readonly teardown: WorkloadTeardown;
    /** OpenStack credentials in the management cluster. */
    readonly credentials: ClusterCredentials;
    /** Flux, when `gitops` is configured. */
    readonly flux?: FluxSync;

    constructor(name: string, args: CapiManagementArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:CapiManagement", name, {}, opts);
        const cfg = args.config;

        const external = openstack.networking.getNetworkOutput(
            isUuid(cfg.externalNetwork)
                ? { networkId: cfg.externalNetwork, external: true }
                : { name: cfg.externalNetwork, external: true },
            { parent: this },
        );

        const network = new Network(
            "network",
            {
                prefix: cfg.prefix,
                externalNetworkId: external.id,
                nodeCidr: cfg.nodeCidr,
                dnsNameservers: cfg.dnsNameservers,
                existing: cfg.existingNetwork,
            },
            { parent: this },
        );
        const securityGroup = new ServerSecurityGroup(
            "security-group",
            { prefix: cfg.prefix, sshAllowedCidrs: cfg.sshAllowedCidrs, apiAllowedCidrs: cfg.apiAllowedCidrs },
            { parent: this },
        );
        const keys = new SshKeys("ssh-keys", { prefix: cfg.prefix }, { parent: this });
        const scope = openstack.identity.getAuthScopeOutput({ name: "current" }, { parent: this });
        this.appCredentials = new AppCredentials(
            "app-credentials",
            { prefix: cfg.prefix, settings: cfg.appCredential, heldRoles: scope.roles.apply((roles) => roles.map((r) => r.roleName)) },
            { parent: this },
        );

        const userData = pulumi.secret(
            pulumi.all([network.mtu, keys.hostPrivateKey, keys.hostPublicKey]).apply(([mtu, privateKeyOpenssh, publicKeyOpenssh]) =>
                renderUserData({ dockerMtu: mtu, caCert: cfg.caCert, hostKey: { privateKeyOpenssh, publicKeyOpenssh } }),
            ),
        );

        const server = new ManagementServer(
            "server",
            {
                prefix: cfg.prefix,
                generation: cfg.serverGeneration,
                flavor: cfg.flavor,
                image: cfg.image,
                rootVolumeSize: cfg.rootVolumeSize,
                availabilityZone: cfg.availabilityZone,
                networkId: network.networkId,
                subnetId: network.subnetId,
                securityGroupId: securityGroup.id,
                keypairName: keys.keypairName,
                userData,
                floatingIpPool: external.apply((n) => n.name ?? cfg.externalNetwork),
                associateAfter: network.routerInterface ? [network.routerInterface] : [],
            },
            { parent: this },
        );

        this.connection = {
            host: server.floatingIp,
            user: SERVER_USER,
            privateKey: keys.loginPrivateKey,
            hostKey: keys.hostPublicKey,
        };
        this.bootstrap = new HostBootstrap(
            "bootstrap",
            {
                connection: this.connection,
                serverId: server.instance.id,
                versions: cfg.versions,
                reachableAfter: [server.instance, server.association, ...securityGroup.rules],
            },
            { parent: this },
        );

        this.cluster = new ManagementCluster(
            "management-cluster",
            {
                connection: this.connection,
                clusterName: cfg.prefix,
                floatingIp: server.floatingIp,
                serverId: server.instance.id,
                versions: cfg.versions,
                after: [this.bootstrap.tools],
            },
            { parent: this },
        );

        const kube = new k8s.Provider(
            "management-cluster",
            { kubeconfig: this.cluster.kubeconfig },
            { parent: this, dependsOn: [this.cluster.providers] },
        );
        const inCluster = { parent: this, providers: { kubernetes: kube } };
        this.credentials = new ClusterCredentials(
            "cluster-credentials",
            {
                workloadNamespace: cfg.workloadNamespace,
                authUrl: scope.serviceCatalogs.apply((catalog) => identityEndpoint(catalog, cfg.region)),
                region: cfg.region,
                caCert: cfg.caCert,
                capi: this.appCredentials.capi,
                cloudProvider: this.appCredentials.cloudProvider,
                deletedWith: this.cluster.kind,
                after: [this.cluster.providers],
            },
            inCluster,
        );
        if (cfg.gitops) {
            this.flux = new FluxSync(
                "flux",
                {
                    version: cfg.versions.flux.version,
                    gitops: cfg.gitops,
                    managementAddress: server.floatingIp,
                    deletedWith: this.cluster.kind,
                    after: [this.cluster.providers],
                },
                inCluster,
            );
        }

        this.teardown = new WorkloadTeardown(
            "teardown",
            {
                connection: this.connection,
                clusterName: cfg.prefix,
                timeoutSeconds: cfg.teardownTimeoutMinutes * 60,
                outlives: [
                    server.instance,
                    server.association,
                    ...securityGroup.rules,
                    ...this.appCredentials.resources,
                    this.cluster.kind,
                    this.cluster.orc,
                    this.cluster.providers,
                    ...this.credentials.resources,
                    ...(this.flux?.resources ?? []),
                ],
            },
            { parent: this },
        );

        this.floatingIp = server.floatingIp;
        this.hostPublicKey = keys.hostPublicKey;
        this.sshPrivateKey = keys.loginPrivateKey;

        this.registerOutputs({ floatingIp: this.floatingIp });
    }
}
