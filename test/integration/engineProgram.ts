/**
 * The inline program the engine tests run: the project's real in-cluster components
 * (ClusterCredentials, FluxSync) with the stack's parsed configuration, against the test-bed API
 * server instead of the kind cluster on an OpenStack server.
 *
 * What it replaces, and why:
 * - The OpenStack side (network, server, application credentials) needs an OpenStack API: the
 *   credentials' ID and secret, and the Keystone URL, are test inputs here.
 * - The management cluster steps (kind, ORC, clusterctl) are pulumi-command resources, whose
 *   provider the module proxy refuses: a component stands in for them, so the in-cluster objects
 *   keep the same `deletedWith` and `dependsOn` shape as in CapiManagement. The CRDs they would
 *   install are installed by the test bed before the program runs.
 * - The Kubernetes provider gets the test-bed API server's kubeconfig (credentials embedded, as the
 *   kind step's kubeconfig has them), with the settings CapiManagement gives it.
 * - Preflight's OpenStack look-ups need the OpenStack provider: only its lifecycle part runs, as
 *   CapiManagement wires it: a StackReference to the stack itself reads the last `up`'s `deployed`
 *   output, src/lifecycle/lifecycle.ts judges the config change, and every resource waits for the gate.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterCredentials } from "../../src/cluster/clusterCredentials";
import { FluxSync, verifiedFluxInstall } from "../../src/gitops/fluxSync";
import { preflightError, SELF_REFERENCE_NAME } from "../../src/cloud/preflight";
import { StackConfig } from "../../src/config";
import { DEPLOYED_OUTPUT, DeployedState, lifecycleProblems, previousDeployment } from "../../src/lifecycle/lifecycle";
import { ReleaseSource } from "../../src/versions/releaseCache";
import { FluxSync as FluxSyncBefore } from "./fluxSyncBefore";

/** One OpenStack application credential as the test hands it in. */
export interface TestCredential {
    id: string;
    secret: string;
}

/** Everything one run of the program depends on. */
export interface EngineProgramInputs {
    /** The stack's parsed configuration. */
    config: StackConfig;
    /** kubeconfig of the test-bed API server (secret). */
    kubeconfig: string;
    /** Keystone URL. */
    authUrl: string;
    /** The Cluster API credential (CAPO, ORC). */
    capi: TestCredential;
    /** The cloud-provider credential (OCCM, Cinder CSI). */
    cloudProvider: TestCredential;
    /** The management server's address. */
    managementAddress: string;
    /** Where Flux's install.yaml comes from (the test's download cache, through the release stand-in). */
    releases: ReleaseSource;
    /**
     * Run the program as it was before issue 20 (test/integration/fluxSyncBefore.ts): the
     * provider fetches Flux's install.yaml from the release URL, unverified, and nothing waits
     * for a download.
     */
    fluxBefore?: boolean;
}

/** Type of the stand-in for the management cluster steps. */
export const CLUSTER_STAND_IN_TYPE = "capi-mgmt:test:ManagementClusterStandIn";

/** Stands for kind + ORC + clusterctl (ManagementCluster's kind and providers commands). */
class ManagementClusterStandIn extends pulumi.ComponentResource {
    constructor(name: string, opts: pulumi.ComponentResourceOptions) {
        super(CLUSTER_STAND_IN_TYPE, name, {}, opts);
        this.registerOutputs({});
    }
}

/**
 * Builds the program from `inputs()`, read at each run, so a test changes the inputs between
 * operations as a user changes the stack's config.
 */
export function engineProgram(inputs: () => EngineProgramInputs): pulumi.automation.PulumiFn {
    return async () => {
        const s = inputs();
        const cfg = s.config;

        // Preflight's lifecycle part, as Preflight does it (src/lifecycle/lifecycle.ts).
        const self = new pulumi.StackReference(SELF_REFERENCE_NAME, {
            name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
        });
        const gate = self.getOutput(DEPLOYED_OUTPUT).apply((deployed) => {
            const problems = lifecycleProblems(previousDeployment({ [DEPLOYED_OUTPUT]: deployed }), cfg);
            if (problems.length > 0) {
                throw preflightError(problems);
            }
            return [] as pulumi.Resource[];
        });
        // As CapiManagement does it: every resource waits for Flux's manifest to match its pin.
        const fluxInstall = cfg.gitops && !s.fluxBefore ? verifiedFluxInstall(s.releases, cfg.versions) : undefined;
        const gated = { dependsOn: fluxInstall ? pulumi.all([gate, fluxInstall]).apply(([g]) => g) : gate };

        const cluster = new ManagementClusterStandIn("management-cluster", gated);
        const kube = new k8s.Provider(
            "management-cluster",
            { kubeconfig: pulumi.secret(s.kubeconfig), deleteUnreachable: true, enableSecretMutable: true, enableConfigMapMutable: true },
            gated,
        );
        const inCluster = { ...gated, providers: { kubernetes: kube } };
        const ref = (name: string, c: TestCredential) => ({ id: pulumi.output(c.id), secret: pulumi.secret(c.secret), name: pulumi.output(name) });

        const credentials = new ClusterCredentials(
            "cluster-credentials",
            {
                workloadNamespace: cfg.workloadNamespace,
                authUrl: s.authUrl,
                region: cfg.region,
                caCert: cfg.caCert,
                capi: ref("capi", s.capi),
                cloudProvider: ref("cloud-provider", s.cloudProvider),
                deletedWith: cluster,
                providersReady: [cluster],
            },
            inCluster,
        );
        let deployPublicKey: pulumi.Output<string> = pulumi.output("");
        let gitopsOwned: pulumi.Resource[] = [];
        if (cfg.gitops) {
            const fluxArgs = {
                version: cfg.versions.flux.version,
                gitops: cfg.gitops,
                managementAddress: s.managementAddress,
                deletedWith: cluster,
                syncAfter: [cluster, ...credentials.resources],
            };
            const flux = fluxInstall
                ? new FluxSync("flux", { ...fluxArgs, installFile: fluxInstall }, inCluster)
                : new FluxSyncBefore("flux", fluxArgs, inCluster);
            deployPublicKey = flux.deployPublicKey;
            gitopsOwned = flux.resources;
        }
        // As CapiManagement records it (the availability zone is the setting: no server here).
        const deployed: pulumi.Output<DeployedState> = pulumi
            .all([credentials.namespace, ...gitopsOwned.map((r) => (r as pulumi.CustomResource).urn)])
            .apply(([ns]) => ({
                serverGeneration: cfg.serverGeneration,
                prefix: cfg.prefix,
                availabilityZone: cfg.availabilityZone ?? "",
                flavor: cfg.flavor,
                workloadNamespace: ns,
                gitops: cfg.gitops !== undefined,
            }));
        return { deployPublicKey, kubeconfig: pulumi.secret(s.kubeconfig), [DEPLOYED_OUTPUT]: deployed };
    };
}
