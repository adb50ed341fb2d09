/**
 * The whole program for one stack, as a function of its parsed configuration, so that
 * `index.ts`, the tests and `npm run render` evaluate exactly the same thing.
 */
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { CapiManagement } from "./src/capiManagement";
import { lastBackupOutput, LastBackupOutput } from "./src/backup/backupStatus";
import { SERVER_USER } from "./src/cloud/server";
import { PreflightResult } from "./src/cloud/preflight";
import { CertRenewalOutput } from "./src/cluster/certRenewal";
import { SelfHostedKubeconfigRefreshOutput } from "./src/cluster/selfHostedKubeconfig";
import { configWarnings, StackConfig, WorkloadProject } from "./src/config";
import { DeployedState } from "./src/lifecycle/lifecycle";
import { ReleaseSource } from "./src/versions/releaseCache";
import { shortHash } from "./src/shared/names";

/** The stack outputs. */
export interface ProgramOutputs {
    /** Public address of the management server. */
    floatingIp: pulumi.Output<string>;
    /** Command line to log in (after saving the key and known_hosts, see README.md, "Deploy"). */
    sshCommand: pulumi.Output<string>;
    /** known_hosts line pinning the server's host key. */
    sshKnownHosts: pulumi.Output<string>;
    /** Login private key (secret). */
    sshPrivateKey: pulumi.Output<string>;
    /** ID of the Cluster API application credential. */
    capiAppCredentialId: pulumi.Output<string>;
    /** ID of the cloud-provider (OCCM, Cinder CSI) application credential. */
    cloudProviderAppCredentialId: pulumi.Output<string>;
    /** Admin kubeconfig of the management cluster, `https://<floating IP>:6443` (secret). */
    kubeconfig: pulumi.Output<string>;
    /** When the management cluster's API server certificate expires, as the last re-read found it (see docs/operations.md). */
    apiServerCertExpiry: pulumi.Output<string>;
    /** When the server's timer renews the certificates and the next `up` reads them again (src/cluster/certRenewal.ts). */
    apiServerCertRenewal: pulumi.Output<CertRenewalOutput>;
    /**
     * selfHosted mode: when the program's Kubernetes provider of the self-hosted cluster reads its
     * kubeconfig again (src/cluster/selfHostedKubeconfig.ts; dates only). null in kind mode.
     */
    selfHostedKubeconfigRefresh: pulumi.Output<SelfHostedKubeconfigRefreshOutput | null>;
    /** Public deploy key to register read-only on the GitOps repository (empty without gitops). */
    deployPublicKey: pulumi.Output<string>;
    /** What this run deployed; the next run's preflight reads it back (src/lifecycle/lifecycle.ts). */
    deployed: pulumi.Output<DeployedState>;
    /** When and where the last good backup is, as the server said at this run (src/backup/backupStatus.ts). */
    lastBackup: pulumi.Output<LastBackupOutput>;
}

/** Artifacts the program sends to the server that render writes out on their own. */
export interface ProgramArtifacts {
    /** The kind cluster config. */
    kindConfig: pulumi.Output<string>;
}

/** What {@link program} returns. */
export interface Program {
    /** The stack outputs (index.ts exports them). */
    outputs: ProgramOutputs;
    /** Artifacts for `npm run render`. */
    artifacts: ProgramArtifacts;
    /** Preflight's findings (render reports its problems instead of writing anything). */
    preflight: pulumi.Output<PreflightResult>;
}

/**
 * Logical name of the workload project's provider: it changes with the project (cloud entry
 * or region), so that on such a change the old provider, with the old project's settings,
 * stays in the state to delete the old credentials while the new one creates their
 * replacements. (An updated provider would delete them with the new project's settings.)
 */
export function workloadProviderName(project: WorkloadProject): string {
    return `openstack-workload-${shortHash({ cloud: project.cloud, region: project.region ?? null })}`;
}

/**
 * Builds every resource of the stack. `releases`: where release files the program applies
 * itself come from (index.ts: this machine's verified download cache; render and the tests:
 * `plannedReleases()`, which reads and downloads nothing).
 */
export function program(config: StackConfig, releases: ReleaseSource): Program {
    for (const warning of configWarnings(config)) {
        void pulumi.log.warn(warning);
    }
    const provider = new openstack.Provider("openstack", {
        cloud: config.cloud,
        region: config.region,
        cacertFile: config.caCert,
    });
    // Only with capi-mgmt:workloadProject: without it, the stack has the one provider it always had.
    const workloadProvider = config.workloadProject
        ? new openstack.Provider(workloadProviderName(config.workloadProject), {
              cloud: config.workloadProject.cloud,
              region: config.workloadProject.region,
              cacertFile: config.caCert,
          })
        : undefined;
    const mgmt = new CapiManagement("capi-mgmt", { config, workloadProvider, releases }, { providers: { openstack: provider } });

    const outputs: ProgramOutputs = {
        floatingIp: mgmt.floatingIp,
        sshCommand: pulumi.interpolate`ssh -i ${config.prefix}.key -o UserKnownHostsFile=${config.prefix}.known_hosts -o StrictHostKeyChecking=yes ubuntu@${mgmt.floatingIp}`,
        sshKnownHosts: pulumi.interpolate`${mgmt.floatingIp} ${mgmt.hostPublicKey}`,
        sshPrivateKey: pulumi.secret(mgmt.sshPrivateKey),
        capiAppCredentialId: mgmt.appCredentials.capi.id,
        cloudProviderAppCredentialId: mgmt.appCredentials.cloudProvider.id,
        kubeconfig: pulumi.secret(mgmt.cluster.kubeconfig),
        apiServerCertExpiry: mgmt.cluster.apiServerCertExpiry,
        apiServerCertRenewal: mgmt.cluster.certRenewalReport,
        selfHostedKubeconfigRefresh: mgmt.selfHosted?.cluster.kubeconfigRefresh ?? pulumi.output(null),
        deployPublicKey: mgmt.flux?.deployPublicKey ?? pulumi.output(""),
        deployed: mgmt.deployed,
        lastBackup: lastBackupOutput({
            host: mgmt.floatingIp,
            hostPublicKey: mgmt.hostPublicKey,
            loginUser: SERVER_USER,
            loginPrivateKey: mgmt.sshPrivateKey,
            volumeId: mgmt.backup.volume?.id ?? "",
            after: mgmt.backup.install.stdout,
        }),
    };
    return { outputs, artifacts: { kindConfig: mgmt.cluster.kindConfig }, preflight: mgmt.preflight };
}
