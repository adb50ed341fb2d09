import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { AppCredentialSettings, canonicalExpiry, canonicalRoles } from "../lib/config";
import { shortHash } from "../lib/names";

/** Arguments of {@link AppCredentials}. */
export interface AppCredentialsArgs {
    /** Prefix of the credential names. */
    prefix: string;
    /** Roles and expiry, shared by both credentials (preflight checked the roles are held). */
    settings: AppCredentialSettings;
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
 * new one can be created before the old one is deleted.
 */
export function appCredentialName(prefix: string, purpose: keyof typeof APP_CREDENTIAL_PURPOSES, settings: AppCredentialSettings): string {
    const c = canonicalSettings(settings);
    return `${prefix}-${purpose}-${shortHash({ purpose, roles: c.roles, expiresAt: c.expiresAt ?? null })}`;
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
 * can delete the management server.
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
                    name: appCredentialName(args.prefix, purpose, args.settings),
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
