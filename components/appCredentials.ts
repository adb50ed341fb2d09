import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { AppCredentialSettings, CONFIG_NAMESPACE } from "../lib/config";
import { shortHash } from "../lib/names";

/** Arguments of {@link AppCredentials}. */
export interface AppCredentialsArgs {
    /** Prefix of the credential names. */
    prefix: string;
    /** Roles and expiry, shared by both credentials. */
    settings: AppCredentialSettings;
    /** Roles the user holds on the project (from the auth scope). */
    heldRoles: pulumi.Input<string[]>;
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
    return `${prefix}-${purpose}-${shortHash({ purpose, roles: settings.roles, expiresAt: settings.expiresAt ?? null })}`;
}

/**
 * Fails with a message naming the setting when a wanted role is not one the user holds on
 * the project (Keystone would refuse the credential anyway, less clearly).
 */
export function checkRolesHeld(wanted: string[], held: string[]): string[] {
    const missing = wanted.filter((r) => !held.includes(r));
    if (missing.length > 0) {
        throw new Error(
            `${CONFIG_NAMESPACE}:appCredential.roles: ${missing.join(", ")} ` +
                `${missing.length === 1 ? "is not a role" : "are not roles"} you hold on this project ` +
                `(you hold: ${held.join(", ") || "none"}); application credentials can only carry a subset of your roles`,
        );
    }
    return wanted;
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

        const roles = pulumi.output(args.heldRoles).apply((held) => checkRolesHeld(args.settings.roles, held));

        const make = (purpose: keyof typeof APP_CREDENTIAL_PURPOSES): AppCredentialRef => {
            const cred = new openstack.identity.ApplicationCredential(
                purpose,
                {
                    name: appCredentialName(args.prefix, purpose, args.settings),
                    description: `capi-mgmt ${args.prefix}: ${APP_CREDENTIAL_PURPOSES[purpose]}`,
                    roles,
                    expiresAt: args.settings.expiresAt,
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
