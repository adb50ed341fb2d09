import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { AppCredentialSettings, canonicalExpiry, canonicalRoles, WorkloadProject } from "../config";
import { shortHash } from "../shared/names";

/** Arguments of {@link AppCredentials}. */
export interface AppCredentialsArgs {
    /** Prefix of the credential names. */
    prefix: string;
    /** Roles and expiry, shared by both credentials (preflight checked the roles are held). */
    settings: AppCredentialSettings;
    /**
     * The separate project both credentials are created in, if any (the caller passes that
     * project's provider as this component's `openstack` provider); it is part of the names,
     * so that moving the credentials to another project replaces them. Undefined: the
     * management server's project, and the names they always had.
     */
    workloadProject?: WorkloadProject;
}

/** One application credential as the rest of the program sees it. */
export interface AppCredentialRef {
    /** Keystone ID of the credential. */
    id: pulumi.Output<string>;
    /** The credential's secret (a Pulumi secret). */
    secret: pulumi.Output<string>;
    /** The credential's name. */
    name: pulumi.Output<string>;
}

/** The two purposes, and what each credential is for. */
export const APP_CREDENTIAL_PURPOSES = {
    capi: "Cluster API (CAPO, ORC) on the capi-mgmt management cluster only",
    "cloud-provider": "OpenStack cloud controller manager and Cinder CSI in workload clusters",
} as const;

/**
 * Name of a credential: unique per user (prefix), and changing exactly when the credential
 * is replaced (every argument of an application credential forces replacement), so the
 * new one can be created before the old one is deleted. The workload project (cloud entry
 * and region) is part of it when set: a change of project then replaces the credentials
 * through the new project's provider, whatever the engine makes of the provider change
 * itself. So is `appCredential.owner` when set: changing it (a hand-over to another user)
 * replaces the credentials, and the new ones are created by the run's user, whom preflight
 * has checked is that owner (src/lifecycle/credentialOwner.ts); setting it on a running stack rotates
 * them once. Without either, the hashed value is the one of earlier versions: names unchanged.
 */
export function appCredentialName(
    prefix: string,
    purpose: keyof typeof APP_CREDENTIAL_PURPOSES,
    settings: AppCredentialSettings,
    workloadProject?: WorkloadProject,
): string {
    const c = canonicalSettings(settings);
    const project = workloadProject ? { project: { cloud: workloadProject.cloud, region: workloadProject.region ?? null } } : {};
    const owner = settings.owner === undefined ? {} : { owner: settings.owner };
    return `${prefix}-${purpose}-${shortHash({ purpose, roles: c.roles, expiresAt: c.expiresAt ?? null, ...project, ...owner })}`;
}

/** The settings as the credentials get them: roles as a sorted set, expiry in UTC whole seconds. */
export function canonicalSettings(settings: AppCredentialSettings): AppCredentialSettings {
    return {
        roles: canonicalRoles(settings.roles),
        ...(settings.expiresAt === undefined ? {} : { expiresAt: canonicalExpiry(settings.expiresAt) }),
    };
}

/**
 * Two restricted application credentials with the configured roles and expiry: one for
 * Cluster API on the management cluster, one for the cloud provider integrations copied
 * into workload clusters. A workload-cluster admin thus never holds the credential that
 * can delete the management server. With a workload project, both are created there
 * (through the `openstack` provider this component is given): neither can reach the
 * management server's project at all.
 */
export class AppCredentials extends pulumi.ComponentResource {
    /** Credential of CAPO and ORC on the management cluster. */
    readonly capi: AppCredentialRef;
    /** Credential of OCCM and Cinder CSI in workload clusters. */
    readonly cloudProvider: AppCredentialRef;
    /** Both credential resources (for ordering: the teardown must outlive them). */
    readonly resources: openstack.identity.ApplicationCredential[] = [];

    constructor(name: string, args: AppCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:AppCredentials", name, {}, opts);

        const settings = canonicalSettings(args.settings);
        const roles = settings.roles;

        const make = (purpose: keyof typeof APP_CREDENTIAL_PURPOSES): AppCredentialRef => {
            const cred = new openstack.identity.ApplicationCredential(
                purpose,
                {
                    name: appCredentialName(args.prefix, purpose, args.settings, args.workloadProject),
                    description: `capi-mgmt ${args.prefix}: ${APP_CREDENTIAL_PURPOSES[purpose]}`,
                    roles,
                    expiresAt: settings.expiresAt,
                    unrestricted: false,
                },
                { parent: this, additionalSecretOutputs: ["secret"] },
            );
            this.resources.push(cred);
            return { id: cred.id, name: cred.name, secret: pulumi.secret(cred.secret) };
        };
        this.capi = make("capi");
        this.cloudProvider = make("cloud-provider");

        this.registerOutputs({ capiId: this.capi.id, cloudProviderId: this.cloudProvider.id });
    }
}
