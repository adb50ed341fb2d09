import * as k8s from "@pulumi/kubernetes";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { CERT_RENEWAL_OUTPUT, PreviousCertState } from "./cluster/certRenewal";
import { identityEndpoint } from "./cluster/cloudCredentials";
import { renderDockerDaemonJson, renderUserData } from "./host/cloudInit";
import { StackConfig } from "./config";
import { DeployedState } from "./lifecycle/lifecycle";
import { ReleaseSource } from "./versions/releaseCache";
import { proxyEnvVars, proxyVarNames, publicEndpointUrls } from "./host/proxy";
import { proxyOutputs } from "./host/proxyOutputs";
import { AppCredentials } from "./cloud/appCredentials";
import { BackupStorage, backupStorageOf } from "./backup/backupStorage";
import { ClusterCredentials } from "./cluster/clusterCredentials";
import { CloudProviderRestart } from "./host/cloudProviderRestart";
import { FluxSync, verifiedFluxInstall } from "./gitops/fluxSync";
import { HostBootstrap } from "./host/hostBootstrap";
import { ServerConnection } from "./host/hostStep";
import { DeletionCleanup } from "./host/lbCleanup";
import { ManagementCluster } from "./cluster/managementCluster";
import { ManagementBackup } from "./backup/managementBackup";
import { lookUpNetworks, Network } from "./cloud/network";
import { Preflight, PreflightResult } from "./cloud/preflight";
import { RebuildCheck } from "./lifecycle/rebuildCheck";
import { ServerSecurityGroup } from "./cloud/securityGroup";
import { ManagementServer, SERVER_USER } from "./cloud/server";
import { SshKeys } from "./cloud/sshKeys";
import { WorkloadTeardown } from "./lifecycle/teardown";
import { returnToKind, SelfHostedParts, selfHostedParts, selfHostedTeardown } from "./cluster/selfHostedStack";
import { deployedStateOf } from "./lifecycle/deployedState";

/** Arguments of {@link CapiManagement}. */
export interface CapiManagementArgs {
    /** The parsed and validated stack configuration. */
    config: StackConfig;
    /**
     * Provider of the workload project (`config.workloadProject`): both application
     * credentials are created through it, their roles checked there, and the auth URL and
     * region of clouds.yaml and cloud.conf are that project's. Undefined: everything goes
     * through the `openstack` provider this component is given.
     */
    workloadProvider?: openstack.Provider;
    /**
     * Where release files the program applies itself come from (Flux's install.yaml), checked
     * against their pins: index.ts gives the cache on this machine (src/versions/releaseCache.ts), render
     * and the mock-engine tests a source that reads nothing.
     */
    releases: ReleaseSource;
}

/**
 * Everything one stack stands up: the OpenStack side of the management server and, on it,
 * the management cluster. Children are created in dependency order; see docs/operations.md.
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
    /** The backup volume, the backup timer, the backup before a version upgrade. */
    readonly backup: ManagementBackup;
    /** kind, ORC and Cluster API on the server. */
    readonly cluster: ManagementCluster;
    /** Deletes the workload clusters on destroy, before anything else goes. */
    readonly teardown!: WorkloadTeardown;
    /** The self-hosted management cluster (`managementCluster.mode: selfHosted`), else undefined. */
    readonly selfHosted?: SelfHostedParts;
    /** The timer that clears deleting workload clusters' load balancers off their networks. */
    readonly deletionCleanup: DeletionCleanup;
    /** The backups' Swift container, credential and upload, when `backupObjectStorage.enabled`. */
    readonly backupStorage?: BackupStorage;
    /** OpenStack credentials in the management cluster. */
    readonly credentials: ClusterCredentials;
    /** Restarts OCCM and Cinder CSI in the workload clusters after a credential rotation. */
    readonly cloudProviderRestart: CloudProviderRestart;
    /** Flux, when `gitops` is configured. */
    readonly flux?: FluxSync;
    /** What preflight found (problems, the previous deployment). */
    readonly preflight: pulumi.Output<PreflightResult>;
    /** What this run deploys (the stack output `deployed`, read back by the next run's preflight). */
    readonly deployed: pulumi.Output<DeployedState>;

    constructor(name: string, args: CapiManagementArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:CapiManagement", name, {}, opts);
        const cfg = args.config;

        // Look-ups only: preflight compares the IDs with the last `up`'s before anything is created.
        const { external, existing: existingNetwork, resolved } = lookUpNetworks(cfg.externalNetwork, cfg.existingNetwork, { parent: this });
        const scope = openstack.identity.getAuthScopeOutput({ name: "current" }, { parent: this });
        // The project the application credentials live in, and where CAPO and OCCM authenticate.
        const workloadScope = args.workloadProvider
            ? openstack.identity.getAuthScopeOutput({ name: "current" }, { parent: this, provider: args.workloadProvider })
            : undefined;
        const credentialScope = workloadScope ?? scope;
        const credentialRegion = cfg.workloadProject ? cfg.workloadProject.region : cfg.region;
        const regionSetting = cfg.workloadProject ? "capi-mgmt:workloadProject.region (default openstack:region)" : "openstack:region";
        const preflight = new Preflight("preflight", { config: cfg, scope, workloadScope, resolved }, { parent: this });
        this.preflight = preflight.result;
        // Flux's install.yaml, checked against its pin on this machine (a cached copy: no request).
        const fluxInstall = cfg.gitops ? verifiedFluxInstall(args.releases, cfg.versions) : undefined;
        // Nothing is created or changed before preflight has passed and Flux's manifest matched its pin.
        const gate = fluxInstall ? pulumi.all([preflight.gate, fluxInstall]).apply(([g]) => g) : preflight.gate;
        const gated = { parent: this, dependsOn: gate };

        const network = new Network(
            "network",
            {
                prefix: cfg.prefix,
                externalNetworkId: external.id,
                nodeCidr: cfg.nodeCidr,
                dnsNameservers: cfg.dnsNameservers,
                existing: existingNetwork,
            },
            gated,
        );
        const securityGroup = new ServerSecurityGroup(
            "security-group",
            { prefix: cfg.prefix, sshAllowedCidrs: cfg.sshAllowedCidrs, apiAllowedCidrs: cfg.apiAllowedCidrs },
            gated,
        );
        const keys = new SshKeys("ssh-keys", gated);
        this.appCredentials = new AppCredentials(
            "app-credentials",
            { prefix: cfg.prefix, settings: cfg.appCredential, workloadProject: cfg.workloadProject },
            args.workloadProvider ? { ...gated, providers: { openstack: args.workloadProvider } } : gated,
        );

        // The identity endpoint ORC and CAPO authenticate at (clouds.yaml), also reached directly past a proxy,
        // as are the other public endpoints of that project's catalog.
        const authUrl = credentialScope.serviceCatalogs.apply((catalog) => identityEndpoint(catalog, credentialRegion, regionSetting));
        const openstackEndpoints = credentialScope.serviceCatalogs.apply((catalog) => publicEndpointUrls(catalog, credentialRegion));

        const proxies = proxyOutputs({ proxy: cfg.proxy, nodeCidr: cfg.existingNetwork ? undefined : cfg.nodeCidr, authUrl, openstackEndpoints });
        const hostProxy = proxies.host;

        const userData = pulumi.secret(
            pulumi
                .all([network.mtu, keys.hostPrivateKey, keys.hostPublicKey, keys.loginPublicKey, hostProxy])
                .apply(([mtu, privateKeyOpenssh, publicKeyOpenssh, loginPublicKey, proxy]) =>
                    renderUserData({ dockerMtu: mtu, caCert: cfg.caCert, hostKey: { privateKeyOpenssh, publicKeyOpenssh }, loginPublicKey, proxy }),
                ),
        );

        // On a serverGeneration bump: the running server holds no Clusters (or the user said so)
        // before the new generation's port and server are created.
        const rebuildCheck = new RebuildCheck(
            "rebuild-check",
            {
                plan: preflight.result.apply((r) => r.rebuildCheck),
                generation: cfg.serverGeneration,
                loginPrivateKey: keys.loginPrivateKey,
                hostPublicKey: keys.hostPublicKey,
                loginUser: SERVER_USER,
            },
            gated,
        );

        const server = new ManagementServer(
            "server",
            {
                prefix: cfg.prefix,
                generation: cfg.serverGeneration,
                flavor: cfg.flavor,
                imageId: preflight.result.imageId,
                rootVolumeSize: cfg.rootVolumeSize,
                availabilityZone: cfg.availabilityZone,
                networkId: network.networkId,
                subnetId: network.subnetId,
                securityGroupId: securityGroup.id,
                userData,
                floatingIpPool: external.apply((n) => n.name ?? cfg.externalNetwork),
                associateAfter: network.routerInterface ? [network.routerInterface] : [],
                createAfter: rebuildCheck.gate,
                protect: cfg.protect,
            },
            gated,
        );

        const clusterProxy = proxies.cluster(server.fixedIp, server.floatingIp);

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
                proxy: hostProxy,
                dockerDaemonJson: pulumi.all([network.mtu, hostProxy]).apply(([mtu, proxy]) => renderDockerDaemonJson(mtu, proxy)),
            },
            gated,
        );

        // Backup volume, timer, and the backup before an upgrade, which the kind step waits for.
        this.backup = new ManagementBackup(
            "backup",
            {
                connection: this.connection,
                instance: server.instance,
                prefix: cfg.prefix,
                settings: cfg.backup,
                workloadNamespace: cfg.workloadNamespace,
                versions: cfg.versions,
                availabilityZone: cfg.availabilityZone,
                protect: cfg.protect,
                after: [this.bootstrap.tools],
            },
            gated,
        );

        this.cluster = new ManagementCluster(
            "management-cluster",
            {
                connection: this.connection,
                clusterName: cfg.prefix,
                floatingIp: server.floatingIp,
                serverId: server.instance.id,
                versions: cfg.versions,
                after: [this.bootstrap.tools, this.backup.beforeUpgrade],
                proxy: clusterProxy,
                registryMirrors: cfg.registryMirrors,
                previous: pulumi
                    .all([preflight.previousOutputs.getOutput(CERT_RENEWAL_OUTPUT), preflight.previousOutputs.getOutput("kubeconfig")])
                    .apply(([renewal, kubeconfig]): PreviousCertState => ({ renewal, kubeconfig })),
            },
            gated,
        );

        // As soon as the kind cluster exists, so that a later failure still leaves a stack whose
        // destroy runs it. It depends on (hence is deleted before) everything its run needs that
        // Pulumi really deletes: the server and the way to it, the credentials CAPO and ORC use,
        // and the kind cluster. The Kubernetes objects and the ORC and Cluster API steps need no
        // edge: on destroy they are skipped (deletedWith the kind cluster) or have no delete.
        // Whichever way a workload cluster is deleted (Git, kubectl, the teardown below), this
        // clears its cloud controller manager's load balancers off its network for CAPO.
        this.deletionCleanup = new DeletionCleanup(
            "deletion-cleanup",
            {
                connection: this.connection,
                serverId: server.instance.id,
                workloadNamespace: cfg.workloadNamespace,
                proxy: clusterProxy,
                // Once Cluster API's CRDs exist (before, every run would fail listing Clusters).
                after: [this.cluster.providers],
            },
            gated,
        );

        const backupAfter = [this.bootstrap.tools];
        this.backupStorage = backupStorageOf(
            "backup-storage",
            { config: cfg, catalog: scope.serviceCatalogs, connection: this.connection, serverId: server.instance.id, after: backupAfter },
            gated,
        );

        // The backup volume's attachment too: the teardown's backup goes there first.
        const serverWay = [server.instance, server.association, ...securityGroup.rules, ...this.appCredentials.resources, ...this.backup.outlived];
        const teardown = (selfHosted?: SelfHostedParts) =>
            new WorkloadTeardown(
                "teardown",
                {
                    connection: this.connection,
                    clusterName: cfg.prefix,
                    timeoutSeconds: cfg.teardownTimeoutMinutes * 60,
                    protect: cfg.protect,
                    // selfHosted: the cluster holding the workload clusters, the kept Cluster, and outliving self-hosted-unpivot.
                    ...(selfHosted ? selfHostedTeardown(cfg, selfHosted, [...serverWay, this.cluster.kind]) : { outlives: [...serverWay, this.cluster.kind] }),
                },
                gated,
            );
        const selfHostedMode = cfg.managementCluster.mode === "selfHosted";
        if (!selfHostedMode) {
            this.teardown = teardown();
        }

        // Built from the kubeconfig alone: Flux and the plain Secrets go in while ORC and Cluster
        // API install. deleteUnreachable: once a cluster is gone (new server generation, new
        // node image), deletes against it succeed by dropping the objects from the state; no
        // object whose deletion matters relies on Pulumi deleting it (see docs/operations.md, "What `pulumi destroy` does").
        // enableSecretMutable / enableConfigMapMutable: without them the provider replaces a
        // Secret or ConfigMap whose data changes, deleting it first (fixed names), so a credential
        // rotation would leave CAPO and ORC without credentials in between; with them it updates
        // in place (shown under the real engine by test/integration/engine.integration.ts).
        const kube = new k8s.Provider(
            "management-cluster",
            { kubeconfig: this.cluster.kubeconfig, deleteUnreachable: true, enableSecretMutable: true, enableConfigMapMutable: true },
            gated,
        );
        const inCluster = { ...gated, providers: { kubernetes: kube } };
        this.credentials = new ClusterCredentials(
            "cluster-credentials",
            {
                workloadNamespace: cfg.workloadNamespace,
                authUrl,
                region: credentialRegion,
                caCert: cfg.caCert,
                capi: this.appCredentials.capi,
                cloudProvider: this.appCredentials.cloudProvider,
                deletedWith: this.cluster.kind,
                providersReady: [this.cluster.providers],
            },
            inCluster,
        );
        // docs/self-hosted.md. kind: the way back from selfHosted, which kind's root Kustomization waits for. selfHosted: the self-hosted cluster.
        const kindReady = [this.cluster.orc, this.cluster.providers, ...this.credentials.resources];
        const returned = selfHostedMode ? undefined : returnToKind(cfg, this.connection, this.cluster.kind.stdout, kindReady, gated);
        if (selfHostedMode) {
            this.selfHosted = selfHostedParts(
                {
                    config: cfg,
                    connection: this.connection,
                    kindClusterId: this.cluster.kind.stdout,
                    externalNetworkId: external.id,
                    floatingIp: server.floatingIp,
                    authUrl,
                    region: credentialRegion,
                    appCredentials: this.appCredentials,
                    proxy: clusterProxy,
                    outlives: [...serverWay, this.cluster.kind, ...kindReady],
                    previousOutputs: preflight.previousOutputs,
                },
                gated,
            );
            this.teardown = teardown(this.selfHosted);
        }
        this.cloudProviderRestart = new CloudProviderRestart(
            "cloud-provider-restart",
            {
                connection: this.connection,
                workloadNamespace: cfg.workloadNamespace,
                credentialId: this.appCredentials.cloudProvider.id,
                after: this.credentials.resources,
            },
            gated,
        );
        if (cfg.gitops) {
            this.flux = new FluxSync(
                "flux",
                {
                    version: cfg.versions.flux.version,
                    installFile: fluxInstall as pulumi.Output<string>,
                    gitops: cfg.gitops,
                    managementAddress: server.floatingIp,
                    // selfHosted: Flux on the self-hosted cluster, syncing only once the objects are there.
                    deletedWith: this.selfHosted?.cluster.cluster ?? this.cluster.kind,
                    syncAfter: this.selfHosted
                        ? [
                              this.selfHosted.cluster.orc,
                              this.selfHosted.cluster.providers,
                              ...this.selfHosted.credentials.resources,
                              this.selfHosted.pivot.pivot,
                          ]
                        : [...kindReady, ...(returned ? [returned.step] : [])],
                    // One Output per variable, so the transform needs no resolved value.
                    proxyEnv: cfg.proxy
                        ? proxyVarNames(cfg.proxy).map((name) => ({
                              name,
                              value: clusterProxy.apply((env) => Object.fromEntries(proxyEnvVars(env))[name] ?? ""),
                          }))
                        : undefined,
                },
                this.selfHosted ? { ...gated, providers: { kubernetes: this.selfHosted.provider } } : inCluster,
            );
        }

        const gitopsOwned = this.flux ? this.flux.resources : [];
        this.deployed = pulumi
            .all([
                server.instance.availabilityZone,
                this.credentials.namespace,
                credentialScope.userId,
                credentialScope.userName,
                resolved,
                pulumi.all(gitopsOwned.map((r) => (r as pulumi.CustomResource).urn)),
            ])
            .apply(([availabilityZone, workloadNamespace, id, name, resolved]) =>
                deployedStateOf(cfg, { availabilityZone, workloadNamespace, owner: { id, name }, resolved }),
            );

        this.floatingIp = server.floatingIp;
        this.hostPublicKey = keys.hostPublicKey;
        this.sshPrivateKey = keys.loginPrivateKey;

        this.registerOutputs({ floatingIp: this.floatingIp });
    }
}
