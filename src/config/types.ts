/**
 * The typed, validated stack configuration and what parsing takes and throws. The settings'
 * types come from the schema (./schema.ts, TypeBox's Static); the rest are what the rules derive.
 */
import { Static } from "@sinclair/typebox";
import { ProxySettings, RegistryMirror } from "../host/proxy";
import { Versions } from "../versions/versions";
import { Environment, ExistingNetwork, ManagementClusterSetting, Settings, WorkloadProject } from "./schema";
import { BACKUP_OBJECT_STORAGE_SCHEMA, BACKUP_SCHEMA } from "./schemaBackup";
import { GITOPS_SCHEMA } from "./schemaGitops";

export type { Environment, ExistingNetwork, WorkloadProject };

/** Namespace of the project's own config keys (`capi-mgmt:<key>`). */
export const CONFIG_NAMESPACE = "capi-mgmt";

/** Settings shared by both application credentials the program creates (roles defaulted, canonical). */
export type AppCredentialSettings = Omit<NonNullable<Settings["appCredential"]>, "roles"> & { roles: string[] };

/** Which Git reference Flux follows: a branch (development) or a semver range of tags. */
export type GitRef = { branch: string } | { semver: string };

/** `capi-mgmt:gitops` as written. */
type GitOpsSetting = Static<typeof GITOPS_SCHEMA>;

/**
 * Where Flux syncs from, and the namespace of the workload clusters (defaults filled in): the
 * schema's `gitops` with `branch`/`semver` turned into `ref` (./rules/gitops.ts), and the two
 * secrets left optional (`deployKey` unset: one is generated; `sopsAgeKey` unset: no SOPS).
 */
export type GitOpsSettings = Required<Omit<GitOpsSetting, "branch" | "semver" | "deployKey" | "sopsAgeKey">> &
    Pick<GitOpsSetting, "deployKey" | "sopsAgeKey"> & {
        /** Branch or semver range. */
        ref: GitRef;
    };

/**
 * Optional settings the parse step passes through as written, unset when unset. This list
 * stays by hand: whether parse fills a key is not in the schema (`prefix` takes the stack
 * name and `protect` the environment, without a schema default), and TypeBox's Static types
 * do not carry defaults. Every other plain setting is required in StackConfig, so tsc makes
 * ./parse.ts fill each new one.
 */
type Passed = "availabilityZone" | "existingNetwork" | "workloadProject" | "caCert" | "rebuildWithClusters";

/** What the parse step makes of the settings it transforms (their own shapes), and what comes from elsewhere. */
interface Parsed {
    /** Pulumi stack name. */
    stack: string;
    /** The `openstack:cloud` entry of clouds.yaml the program authenticates with, if set. */
    cloud?: string;
    /** The `openstack:region`, if set. */
    region?: string;
    /** Roles (canonical), expiry (canonical) and owner of the two application credentials. */
    appCredential: AppCredentialSettings;
    /** Every pinned version, defaults merged with `capi-mgmt:versions`. */
    versions: Versions;
    /** Flux sync; undefined installs no Flux (credentials are placed all the same). */
    gitops?: GitOpsSettings;
    /** Namespace of the workload clusters (from gitops, or the default). */
    workloadNamespace: string;
    /** Where the management cluster runs. */
    managementCluster: ManagementClusterSettings;
    /** HTTP proxy of everything that downloads on the management side; undefined: direct. */
    proxy?: ProxySettings;
    /** Registry mirrors of the kind node's containerd; empty: none. */
    registryMirrors: RegistryMirror[];
    /** The scheduled backup and its volume (defaults filled in). */
    backup: BackupSettings;
    /** The copy of the backups to object storage (defaults filled in); undefined: not enabled. */
    backupObjectStorage?: BackupObjectStorageSettings;
}

/**
 * The typed, validated stack configuration: every plain setting of the schema with its value
 * (declared default, required, or filled by ./parse.ts), the {@link Passed} ones as written,
 * and the transformed ones in their parsed shapes.
 */
export type StackConfig = Required<Omit<Settings, keyof Parsed | Passed>> & Pick<Settings, Passed> & Parsed;

/** `capi-mgmt:backup` with its defaults (docs/backup-restore.md). */
export type BackupSettings = Required<Static<typeof BACKUP_SCHEMA>>;

/** `backupObjectStorage` when enabled (so without `enabled`), defaults filled in; `container` defaults to `<prefix>-backups`. */
export type BackupObjectStorageSettings = Required<Omit<Static<typeof BACKUP_OBJECT_STORAGE_SCHEMA>, "enabled">>;

/** Where the management cluster runs, defaults filled in (`flavor` defaults to the server's; ./schemaManagementCluster.ts). */
export type ManagementClusterSettings = Required<ManagementClusterSetting>;

/** Raw values as Pulumi hands them over: strings, objects and lists as JSON text. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

/** What parsing needs besides the values. */
export interface ParseContext {
    /** The stack name (default prefix). */
    stack: string;
    /** "Now", for expiry checks. */
    now: Date;
    /** Values of the `openstack:` namespace that the program uses. */
    openstack?: { cloud?: string; region?: string };
    /**
     * Every config key of other namespaces (`ns:key`), so that keys under a misspelling of
     * ours (`capi_mgmt:flavor`), which Pulumi would silently pass by, are reported.
     */
    otherKeys?: string[];
    /**
     * The keys Pulumi holds as secrets (`ns:key`; a key is secret when any value under it was
     * set with `--secret`), so that a secret setting written in plain text is refused.
     * Undefined when unknown: nothing is checked.
     */
    secretKeys?: readonly string[];
}

/** Bad stack configuration: every problem found, each naming its key. */
export class ConfigError extends Error {
    /** One line per problem, each starting with `capi-mgmt:<key>:`. */
    readonly problems: readonly string[];

    constructor(problems: string[]) {
        super(`invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
        this.problems = problems;
    }
}

/** Collects problems, each naming its key; identical ones are reported once. */
export class Problems {
    readonly list: string[] = [];

    /** Records a problem about `key` (`capi-mgmt:` is prefixed). */
    fail(key: string, message: string): void {
        this.raw(`${CONFIG_NAMESPACE}:${key}: ${message}`);
    }

    /** Records a problem line as it is. */
    raw(line: string): void {
        if (!this.list.includes(line)) {
            this.list.push(line);
        }
    }
}

/** A value as problems quote it. */
export function quote(v: unknown): string {
    return JSON.stringify(v);
}
