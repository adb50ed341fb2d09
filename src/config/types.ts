/**
 * The typed, validated stack configuration and what parsing takes and throws. The plain
 * settings' types come from the schema (./schema.ts); the rest are what the rules derive.
 */
import { ProxySettings, RegistryMirror } from "../host/proxy";
import { Versions } from "../versions/versions";
import { Environment, ExistingNetwork, Settings, WorkloadProject } from "./schema";

export type { Environment, ExistingNetwork, WorkloadProject };

/** Namespace of the project's own config keys (`capi-mgmt:<key>`). */
export const CONFIG_NAMESPACE = "capi-mgmt";

/** Settings shared by both application credentials the program creates (roles defaulted, canonical). */
export type AppCredentialSettings = Omit<NonNullable<Settings["appCredential"]>, "roles"> & { roles: string[] };

/** Which Git reference Flux follows: a branch (development) or a semver range of tags. */
export type GitRef = { branch: string } | { semver: string };

/** Where Flux syncs from, and the namespace of the workload clusters (defaults filled in). */
export interface GitOpsSettings {
    /** `ssh://git@host[:port]/org/repo`. */
    url: string;
    /** Branch or semver range. */
    ref: GitRef;
    /** Path in the repository, `./…`. */
    path: string;
    /** Reconcile interval, a Go duration such as `1m`. */
    interval: string;
    /** known_hosts lines of the Git host (host checking is never disabled). */
    knownHosts: string;
    /** SSH private key already registered on the repository (secret); generated when absent. */
    deployKey?: string;
    /** age key for SOPS decryption (secret). */
    sopsAgeKey?: string;
    /** Namespace of the workload clusters. */
    workloadNamespace: string;
}

/** Settings that always have a value once parsed (declared with a default, or required). */
type Filled = "prefix" | "environment" | "externalNetwork" | "flavor" | "image" | "rootVolumeSize" | "nodeCidr" | "dnsNameservers";
type Filled2 = "sshAllowedCidrs" | "apiAllowedCidrs" | "allowPublicAccess" | "serverGeneration" | "protect" | "teardownTimeoutMinutes";
/** Settings passed through as written (optional). */
type Passed = "availabilityZone" | "existingNetwork" | "workloadProject" | "caCert" | "rebuildWithClusters";

/** The typed, validated stack configuration. */
export type StackConfig = Required<Pick<Settings, Filled | Filled2>> &
    Pick<Settings, Passed> & {
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
    };

/** `capi-mgmt:backup` with its defaults (docs/backup-restore.md). */
export interface BackupSettings {
    /** systemd OnCalendar expression of the backup timer. */
    schedule: string;
    /** Backups kept on the server. */
    keep: number;
    /** GiB of the Cinder backup volume; 0: none (the root disk). */
    volumeSize: number;
}

/** `backupObjectStorage` when enabled, defaults filled in. */
export interface BackupObjectStorageSettings {
    /** The Swift container (`<prefix>-backups` unless set). */
    container: string;
    /** Backups kept in the container. */
    keep: number;
    /** Older backups are deleted too (the newest never); 0: no age limit. */
    maxAgeDays: number;
}

/** Where the management cluster runs, defaults filled in (src/config/schemaManagementCluster.ts). */
export interface ManagementClusterSettings {
    /** `kind`: the kind cluster on the server; `selfHosted`: a highly available cluster on OpenStack that manages itself. */
    mode: "kind" | "selfHosted";
    /** Flavor of the self-hosted cluster's control plane nodes (default: the server's `flavor`). */
    flavor: string;
    /** Kubernetes version of the self-hosted cluster. */
    kubernetesVersion: string;
    /** Glance image name of its nodes. */
    image: string;
}

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
