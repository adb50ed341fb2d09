import * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { AppCredentialSettings, BackupObjectStorageSettings } from "../config";
import { canonicalSettings } from "../cloud/appCredentials";
import { HostSteps, ServerConnection } from "../host/hostStep";
import { shortHash } from "../shared/names";
import { CatalogService, identityEndpoint } from "../cluster/cloudCredentials";
import { backupAccessRules, objectStoreEndpoint, renderObjectStorageInstallScript } from "./objectStorage";

/** The one role the backup credential carries: enough for Swift's keystoneauth to write the project's containers. */
export const BACKUP_CREDENTIAL_ROLES = ["member"];

/** Arguments of {@link BackupStorage}. */
export interface BackupStorageArgs {
    /** Prefix of the credential's name. */
    prefix: string;
    /** `appCredential`: the expiry and owner the backup credential follows like the other two (its roles are its own). */
    credentialSettings: AppCredentialSettings;
    /** Container, retention. */
    settings: BackupObjectStorageSettings;
    /** Region of the container (`openstack:region`), if set. */
    region?: string;
    /** Keystone's public endpoint (the management project's catalog). */
    authUrl: pulumi.Input<string>;
    /** The project's Swift account URL (`…/v1/AUTH_<project id>`, from the catalog). */
    storageUrl: pulumi.Input<string>;
    /** How to reach the server. */
    connection: ServerConnection;
    /** ID of the server instance: a new server gets the upload installed again. */
    serverId: pulumi.Input<string>;
    /** What must exist first on the server. */
    after: pulumi.Resource[];
}

/**
 * Name of the backup credential: unique per user (prefix) and changing exactly when the
 * credential is replaced, as src/cloud/appCredentials.ts names the other two: its expiry and
 * owner (so an `appCredential.expiresAt` rotation or an owner hand-over replaces it too), its
 * roles, and the container its access rules name.
 */
export function backupCredentialName(prefix: string, settings: AppCredentialSettings, container: string): string {
    const c = canonicalSettings(settings);
    const owner = settings.owner === undefined ? {} : { owner: settings.owner };
    return `${prefix}-backup-${shortHash({ purpose: "backup", roles: BACKUP_CREDENTIAL_ROLES, expiresAt: c.expiresAt ?? null, container, ...owner })}`;
}

/**
 * The backups' object storage (capi-mgmt:backupObjectStorage; docs/backup-restore.md, "Object
 * storage"): the stack's Swift container, an application credential for the backups only
 * (role member, restricted by Keystone access rules to listing that container and reading,
 * writing and deleting its objects), and, on the server, src/host/scripts/backup-upload.sh
 * with its root-only configuration holding that credential (the step's stdin, a secret: never
 * user-data, a command line or a command's output). backup.sh calls the script after each
 * good backup.
 *
 * Lifecycle (modelled under mocks; see test/backupStorage.spec.ts): a second `up` changes
 * nothing. `appCredential.expiresAt` or `.owner`, or `container`, change the credential's name
 * and rules: a new credential is created, the step rewrites the configuration (its stdin
 * changed), then the old credential is deleted. `keep`/`maxAgeDays` change only the step's
 * stdin: an update. A new container name creates that container; the old one is kept, as on
 * `destroy` (`retainOnDelete`: the backups outlive the stack; delete them with `openstack
 * container delete --recursive <name>`). A new server gets the step again (trigger). `destroy`
 * deletes the credential; the step has no delete (the files go with the server). Turning the
 * setting off deletes the credential and leaves the script and configuration on the server:
 * the next backup then fails loudly at Keystone until `sudo rm
 * /usr/local/lib/capi-mgmt/backup-upload.sh` there (or a new server).
 */
export class BackupStorage extends pulumi.ComponentResource {
    /** The container. */
    readonly container: openstack.objectstorage.Container;
    /** The backup credential. */
    readonly credential: openstack.identity.ApplicationCredential;
    /** The step installing the upload and its configuration. */
    readonly install: command.remote.Command;

    constructor(name: string, args: BackupStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:BackupStorage", name, {}, opts);
        const s = args.settings;

        this.container = new openstack.objectstorage.Container(
            "container",
            { name: s.container, ...(args.region ? { region: args.region } : {}) },
            // Terraform's `name` is no ForceNew: its update acts on the old container (ID = old
            // name) and never makes the new one (v1.54.1 resource_openstack_objectstorage_container_v1.go);
            // a new name must replace it.
            { parent: this, retainOnDelete: true, replaceOnChanges: ["name"] },
        );
        const settings = canonicalSettings(args.credentialSettings);
        this.credential = new openstack.identity.ApplicationCredential(
            "credential",
            {
                name: backupCredentialName(args.prefix, args.credentialSettings, s.container),
                description: `capi-mgmt ${args.prefix}: backups to the Swift container ${s.container} only`,
                roles: BACKUP_CREDENTIAL_ROLES,
                expiresAt: settings.expiresAt,
                unrestricted: false,
                accessRules: pulumi.output(args.storageUrl).apply((url) => backupAccessRules(url, s.container)),
            },
            { parent: this, additionalSecretOutputs: ["secret"] },
        );

        const steps = new HostSteps(this, "BackupStorage", {
            connection: args.connection,
            given: [...args.after, this.container],
            triggers: { server: [args.serverId] },
        });
        const stdin = pulumi.secret(
            pulumi
                .all([args.authUrl, args.storageUrl, this.credential.id, this.credential.secret])
                .apply(([authUrl, storageUrl, credentialId, credentialSecret]) =>
                    renderObjectStorageInstallScript({
                        authUrl,
                        storageUrl,
                        credentialId,
                        credentialSecret,
                        container: s.container,
                        keep: s.keep,
                        maxAgeDays: s.maxAgeDays,
                    }),
                ),
        );
        this.install = steps.add("backup-object-storage", stdin);

        this.registerOutputs({ container: this.container.name, credentialId: this.credential.id });
    }
}

/** What {@link backupStorageOf} needs from the stack. */
export interface BackupStorageContext {
    /** Prefix, `appCredential`, `backupObjectStorage`, `openstack:region`. */
    config: { prefix: string; appCredential: AppCredentialSettings; backupObjectStorage?: BackupObjectStorageSettings; region?: string };
    /** The catalog of the management server's project (the container and credential live there, whatever `workloadProject` says). */
    catalog: pulumi.Output<CatalogService[]>;
    /** How to reach the server. */
    connection: ServerConnection;
    /** ID of the server instance. */
    serverId: pulumi.Input<string>;
    /** What must exist first on the server (its tools: curl). */
    after: pulumi.Resource[];
}

/** The {@link BackupStorage} of the stack when `backupObjectStorage.enabled`, else undefined (nothing is created). */
export function backupStorageOf(name: string, ctx: BackupStorageContext, opts: pulumi.ComponentResourceOptions): BackupStorage | undefined {
    const cfg = ctx.config;
    if (!cfg.backupObjectStorage) {
        return undefined;
    }
    return new BackupStorage(
        name,
        {
            prefix: cfg.prefix,
            credentialSettings: cfg.appCredential,
            settings: cfg.backupObjectStorage,
            region: cfg.region,
            authUrl: ctx.catalog.apply((c) => identityEndpoint(c, cfg.region)),
            storageUrl: ctx.catalog.apply((c) => objectStoreEndpoint(c, cfg.region)),
            connection: ctx.connection,
            serverId: ctx.serverId,
            after: ctx.after,
        },
        opts,
    );
}
