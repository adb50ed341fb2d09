/**
 * The stack configuration: the user's contract. Parsed once, from raw strings, into one
 * typed object; every problem is collected and reported together, each naming its key.
 *
 * This module is pure (no Pulumi runtime): `lib/loadConfig.ts` feeds it the stack's values.
 */
import { X509Certificate } from "crypto";
import { DEFAULT_WORKLOAD_NAMESPACE } from "./contract";
import { Cidr, cidrsOverlap, hasHostBits, isIp, isIpv4, isWholeInternet, parseCidr, wholeFamiliesCovered } from "./net";
import { knownHostKeyProblem, publicKeyOfPrivateKey } from "./opensshKey";
import { semverRangeProblem } from "./semverRange";
import { KIND_POD_CIDR, KIND_SERVICE_CIDR, parseProxy, parseRegistryMirrors, Problem, ProxySettings, RegistryMirror } from "./proxy";
import {
    CAPO_MIN_CLUSTER_API,
    CLUSTER_API_MANAGEMENT_KUBERNETES,
    COMPONENT_NAMES,
    ComponentName,
    DEFAULT_VERSIONS,
    KNOWN_CHECKSUMS,
    KNOWN_MANIFEST_CHECKSUMS,
    TOOL_NAMES,
    ToolName,
    ToolPin,
    Versions,
} from "./versions";

/** Namespace of the project's own config keys (`capi-mgmt:<key>`). */
export const CONFIG_NAMESPACE = "capi-mgmt";

/** The environment a stack stands for; production refuses open access. */
export type Environment = "development" | "production";

/** A network and subnet that already exist and are reused instead of created. */
export interface ExistingNetwork {
    /** Name or ID of the network. */
    network: string;
    /** Name or ID of an IPv4 subnet of that network, already routed to the external network. */
    subnet: string;
}

/** Settings shared by both application credentials the program creates. */
export interface AppCredentialSettings {
    /** Roles the credentials carry; a subset of the user's roles on the project. */
    roles: string[];
    /** RFC 3339 expiry, in the future; undefined for no expiry. */
    expiresAt?: string;
    /** Keystone user (name or ID) that must own them (lib/credentialOwner.ts); undefined: whoever runs `up`. */
    owner?: string;
}

/**
 * A second OpenStack project for everything workload clusters get their hands on: CAPO's
 * identity and the cloud-provider credential are created there, through a second
 * `openstack.Provider`, so that no credential a workload cluster holds can reach the
 * management server's project.
 */
export interface WorkloadProject {
    /** The clouds.yaml entry (like `openstack:cloud`) that authenticates to the workload project. */
    cloud: string;
    /** Region of that project; defaults to `openstack:region` (undefined when neither is set). */
    region?: string;
}

/** Which Git reference Flux follows: a branch (development) or a semver range of tags. */
export type GitRef = { branch: string } | { semver: string };

/** Where Flux syncs from, and the namespace of the workload clusters. */
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

/** The typed, validated stack configuration. */
export interface StackConfig {
    /** Pulumi stack name. */
    stack: string;
    /** Prefix of every cloud resource name; a lowercase DNS label. */
    prefix: string;
    /** development or production. */
    environment: Environment;
    /** The `openstack:cloud` entry of clouds.yaml the program authenticates with, if set. */
    cloud?: string;
    /** The `openstack:region`, if set. */
    region?: string;
    /** Name or ID of the external (provider) network for the router and floating IP. */
    externalNetwork: string;
    /** Flavor name (or ID) of the management server. */
    flavor: string;
    /** Image name (or ID) of the management server, an Ubuntu 24.04 image. */
    image: string;
    /** Boot volume size in GiB; 0 boots from the flavor's disk. */
    rootVolumeSize: number;
    /** Availability zone of the server (and its boot volume), if set. */
    availabilityZone?: string;
    /** IPv4 CIDR of the management subnet the program creates. */
    nodeCidr: string;
    /** DNS servers of the created subnet; empty leaves the cloud's default. */
    dnsNameservers: string[];
    /** Reuse this network instead of creating network, subnet and router. */
    existingNetwork?: ExistingNetwork;
    /** CIDRs allowed to reach SSH (22/tcp) and ICMP. */
    sshAllowedCidrs: string[];
    /** CIDRs allowed to reach the management cluster's API (6443/tcp) and ICMP. */
    apiAllowedCidrs: string[];
    /** Lets a production stack accept 0.0.0.0/0 or ::/0 in the CIDR lists. */
    allowPublicAccess: boolean;
    /** Roles and expiry of the two application credentials. */
    appCredential: AppCredentialSettings;
    /**
     * The project CAPO's and the cloud provider's credentials are created in; undefined keeps
     * them in the management server's project (`openstack:cloud`).
     */
    workloadProject?: WorkloadProject;
    /** PEM of the private CA the cloud's endpoints use, if any. */
    caCert?: string;
    /** Every pinned version, defaults merged with `capi-mgmt:versions`. */
    versions: Versions;
    /** Bumping this rebuilds the management server (and everything on it) on purpose. */
    serverGeneration: number;
    /**
     * The generation whose rebuild may go ahead although the running management cluster holds
     * Cluster objects (or cannot be reached to tell): an explicit acknowledgement that covers
     * only that one bump (components/rebuildCheck.ts). Undefined: none.
     */
    rebuildWithClusters?: number;
    /**
     * Pulumi's `protect` on the irreplaceable resources (the server with its boot volume, the
     * floating IP, the teardown whose delete deletes every workload cluster): `destroy` and a
     * replacement refuse while it is on. Defaults to true in production.
     */
    protect: boolean;
    /** Overall bound of the workload-cluster teardown on destroy, minutes. */
    teardownTimeoutMinutes: number;
    /** Flux sync; undefined installs no Flux (credentials are placed all the same). */
    gitops?: GitOpsSettings;
    /** Namespace of the workload clusters (from gitops, or the default). */
    workloadNamespace: string;
    /** HTTP proxy of everything that downloads on the management side; undefined: direct. */
    proxy?: ProxySettings;
    /** Registry mirrors of the kind node's containerd; empty: none. */
    registryMirrors: RegistryMirror[];
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

/** Settings that carry a private key: refused unless they are held as Pulumi secrets. */
export const SECRET_SETTINGS = ["gitops.deployKey", "gitops.sopsAgeKey"] as const;

/** Bad stack configuration: every problem found, each naming its key. */
export class ConfigError extends Error {
    /** One line per problem, each starting with `capi-mgmt:<key>:`. */
    readonly problems: readonly string[];

    constructor(problems: string[]) {
        super(
            `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
        this.problems = problems;
    }
}

/** Every top-level key the project reads (others under `capi-mgmt:` are refused as typos). */
export const CONFIG_KEYS = [
    "prefix",
    "environment",
    "externalNetwork",
    "flavor",
    "image",
    "rootVolumeSize",
    "availabilityZone",
    "nodeCidr",
    "dnsNameservers",
    "existingNetwork",
    "sshAllowedCidrs",
    "apiAllowedCidrs",
    "allowPublicAccess",
    "appCredential",
    "workloadProject",
    "caCert",
    "versions",
    "serverGeneration",
    "rebuildWithClusters",
    "protect",
    "teardownTimeoutMinutes",
    "gitops",
    "proxy",
    "registryMirrors",
] as const;

/** Default values (they live here, not in Pulumi.yaml: mocks and render don't read that). */
export const DEFAULTS = {
    image: "Ubuntu 24.04",
    rootVolumeSize: 0,
    nodeCidr: "10.0.0.0/24",
    appCredentialRoles: ["member", "load-balancer_member"],
    serverGeneration: 1,
    teardownTimeoutMinutes: 30,
} as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PREFIX_MAX = 30;
const VERSION = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/;
const SHA256 = /^[0-9a-f]{64}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const NODE_IMAGE = /^[a-z0-9][a-z0-9./_-]*:(v\d+\.\d+\.\d+)@sha256:[0-9a-f]{64}$/;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const MIN_ROOT_VOLUME_GIB = 20;

/** Collects problems while reading raw values. */
class Reader {
    readonly problems: string[] = [];

    constructor(private readonly raw: RawConfig) {}

    /** Records a problem about `key`. */
    fail(key: string, message: string): void {
        this.problems.push(`${CONFIG_NAMESPACE}:${key}: ${message}`);
    }

    has(key: string): boolean {
        const v = this.raw[key];
        return v !== undefined && v !== "";
    }

    /** A string value, or undefined when unset. */
    string(key: string): string | undefined {
        return this.has(key) ? this.raw[key]!.trim() : undefined;
    }

    required(key: string, what: string): string {
        const v = this.string(key);
        if (v === undefined) {
            this.fail(key, `is required (${what})`);
            return "";
        }
        return v;
    }

    /** A JSON value (object or list), or undefined when unset or unparsable. */
    json(key: string): unknown {
        const v = this.string(key);
        if (v === undefined) {
            return undefined;
        }
        try {
            return JSON.parse(v);
        } catch {
            this.fail(key, `${quote(v)} is not valid structured config (expected a YAML list or object)`);
            return undefined;
        }
    }

    stringList(key: string): string[] | undefined {
        const v = this.json(key);
        if (v === undefined) {
            return undefined;
        }
        if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
            this.fail(key, "must be a list of strings");
            return undefined;
        }
        return v.map((x: string) => x.trim());
    }

    boolean(key: string, dflt: boolean): boolean {
        const v = this.string(key);
        if (v === undefined) {
            return dflt;
        }
        if (v !== "true" && v !== "false") {
            this.fail(key, `${quote(v)} is not a boolean (true or false)`);
            return dflt;
        }
        return v === "true";
    }

    integer(key: string, dflt: number, min: number, max: number): number {
        const v = this.string(key);
        if (v === undefined) {
            return dflt;
        }
        if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
            this.fail(key, `${quote(v)} is not an integer between ${min} and ${max}`);
            return dflt;
        }
        return Number(v);
    }
}

function quote(v: unknown): string {
    return JSON.stringify(v);
}

/**
 * Parses and validates the raw stack configuration.
 * @throws ConfigError listing every problem found.
 */
export function parseStackConfig(raw: RawConfig, ctx: ParseContext): StackConfig {
    const r = new Reader(raw);

    for (const key of Object.keys(raw)) {
        if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
            r.fail(key, `is not a known setting (known: ${CONFIG_KEYS.join(", ")})`);
        }
    }

    for (const key of ctx.otherKeys ?? []) {
        const ns = key.slice(0, key.indexOf(":"));
        if (looksLikeOurNamespace(ns)) {
            const rest = key.slice(ns.length + 1);
            r.problems.push(`${key}: "${ns}" is not "${CONFIG_NAMESPACE}", so the program never reads this key; write it as ${CONFIG_NAMESPACE}:${rest}`);
        }
    }

    const prefix = r.string("prefix") ?? ctx.stack;
    if (!DNS_LABEL.test(prefix) || prefix.length > PREFIX_MAX) {
        const origin = r.has("prefix") ? "" : ` (defaulted from the stack name; set ${CONFIG_NAMESPACE}:prefix)`;
        r.fail("prefix", `${quote(prefix)} is not a lowercase DNS label of at most ${PREFIX_MAX} characters${origin}`);
    }

    const environment = parseEnvironment(r);
    const allowPublicAccess = r.boolean("allowPublicAccess", false);
    const existingNetwork = parseExistingNetwork(r);
    const nodeCidr = parseNodeCidr(r, existingNetwork !== undefined);
    const dnsNameservers = parseNameservers(r, existingNetwork !== undefined);
    const cidrRules = { production: environment === "production", allowPublicAccess };
    const sshAllowedCidrs = parseAllowedCidrs(r, "sshAllowedCidrs", "SSH", cidrRules);
    const apiAllowedCidrs = parseAllowedCidrs(r, "apiAllowedCidrs", "the Kubernetes API", cidrRules);

    const rootVolumeSize = r.integer("rootVolumeSize", DEFAULTS.rootVolumeSize, 0, 16384);
    if (rootVolumeSize > 0 && rootVolumeSize < MIN_ROOT_VOLUME_GIB) {
        r.fail("rootVolumeSize", `${rootVolumeSize} GiB is too small for the management cluster (minimum ${MIN_ROOT_VOLUME_GIB}; 0 boots from the flavor's disk)`);
    }

    const serverGeneration = r.integer("serverGeneration", DEFAULTS.serverGeneration, 1, 1000);
    const config: StackConfig = {
        stack: ctx.stack,
        prefix,
        environment,
        cloud: ctx.openstack?.cloud,
        region: ctx.openstack?.region,
        externalNetwork: r.required("externalNetwork", "name or ID of the external network for the router and floating IP"),
        flavor: r.required("flavor", "flavor of the management server, e.g. 4 vCPU / 16 GiB"),
        image: r.string("image") ?? DEFAULTS.image,
        rootVolumeSize,
        availabilityZone: r.string("availabilityZone"),
        nodeCidr,
        dnsNameservers,
        existingNetwork,
        sshAllowedCidrs,
        apiAllowedCidrs,
        allowPublicAccess,
        appCredential: parseAppCredential(r, ctx.now),
        workloadProject: parseWorkloadProject(r, ctx.openstack),
        caCert: parseCaCert(r),
        versions: parseVersions(r),
        serverGeneration,
        ...parseRebuildWithClusters(r, serverGeneration),
        protect: r.boolean("protect", environment === "production"),
        teardownTimeoutMinutes: r.integer("teardownTimeoutMinutes", DEFAULTS.teardownTimeoutMinutes, 5, 240),
        gitops: undefined,
        workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE,
        ...parseProxyAndMirrors(r),
    };
    config.gitops = parseGitOps(r, { stack: ctx.stack, production: environment === "production" });
    if (config.gitops && ctx.secretKeys) {
        checkSecretsHeldAsSecrets(r, config.gitops, ctx.secretKeys);
    }
    config.workloadNamespace = config.gitops?.workloadNamespace ?? DEFAULT_WORKLOAD_NAMESPACE;

    if (r.problems.length > 0) {
        throw new ConfigError(r.problems);
    }
    return config;
}

/**
 * `rebuildWithClusters`: the one `serverGeneration` it acknowledges. A value above the
 * target would silently cover a later bump, so it is refused; one below is left over from an
 * earlier bump and has no effect (configWarnings says so).
 */
function parseRebuildWithClusters(r: Reader, generation: number): { rebuildWithClusters?: number } {
    if (!r.has("rebuildWithClusters")) {
        return {};
    }
    const ack = r.integer("rebuildWithClusters", 0, 1, 1000);
    if (ack === 0) {
        return {};
    }
    if (ack > generation) {
        r.fail(
            "rebuildWithClusters",
            `${ack} acknowledges a generation above ${CONFIG_NAMESPACE}:serverGeneration (${generation}); set it to the generation ` +
                `you are bumping to, in the same change as the bump`,
        );
        return {};
    }
    return { rebuildWithClusters: ack };
}

/** `proxy` and `registryMirrors` (lib/proxy.ts checks them; problems are reported here, named by key). */
function parseProxyAndMirrors(r: Reader): { proxy?: ProxySettings; registryMirrors: RegistryMirror[] } {
    const problems: Problem[] = [];
    const rawProxy = r.json("proxy");
    const proxy = rawProxy === undefined ? undefined : parseProxy(rawProxy, problems);
    const rawMirrors = r.json("registryMirrors");
    const registryMirrors = rawMirrors === undefined ? [] : parseRegistryMirrors(rawMirrors, problems);
    for (const p of problems) {
        r.fail(p.key, p.message);
    }
    return { ...(proxy ? { proxy } : {}), registryMirrors };
}

/** Edit distance of two short strings (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++) {
            cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        prev = cur;
    }
    return prev[b.length];
}

/**
 * True for a namespace that is not ours but looks like a misspelling of it: the same
 * letters with other separators or case (`capi_mgmt`, `CapiMgmt`), or at most two edits away.
 */
export function looksLikeOurNamespace(ns: string): boolean {
    if (ns === CONFIG_NAMESPACE) {
        return false;
    }
    const letters = (x: string) => x.toLowerCase().replace(/[^a-z0-9]/g, "");
    return letters(ns) === letters(CONFIG_NAMESPACE) || editDistance(ns.toLowerCase(), CONFIG_NAMESPACE) <= 2;
}

function parseEnvironment(r: Reader): Environment {
    const v = r.required("environment", "development or production");
    if (v !== "" && v !== "development" && v !== "production") {
        r.fail("environment", `${quote(v)} must be "development" or "production"`);
    }
    return v === "production" ? "production" : "development";
}

function parseExistingNetwork(r: Reader): ExistingNetwork | undefined {
    const v = r.json("existingNetwork");
    if (v === undefined) {
        return undefined;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
        r.fail("existingNetwork", "must be an object with `network` and `subnet` (names or IDs)");
        return undefined;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
        if (k !== "network" && k !== "subnet") {
            r.fail(`existingNetwork.${k}`, "is not a known setting (known: network, subnet)");
        }
    }
    const network = o.network;
    const subnet = o.subnet;
    let ok = true;
    for (const [k, val] of [["network", network], ["subnet", subnet]] as const) {
        if (typeof val !== "string" || val.trim() === "") {
            r.fail(`existingNetwork.${k}`, "is required (a name or ID)");
            ok = false;
        }
    }
    return ok ? { network: (network as string).trim(), subnet: (subnet as string).trim() } : undefined;
}

function parseNodeCidr(r: Reader, existing: boolean): string {
    const v = r.string("nodeCidr");
    if (v !== undefined && existing) {
        r.fail("nodeCidr", "cannot be set together with existingNetwork (the existing subnet's range is used)");
    }
    const cidr = v ?? DEFAULTS.nodeCidr;
    const c = parseCidr(cidr);
    if (!c || c.family !== 4) {
        r.fail("nodeCidr", `${quote(cidr)} is not a valid IPv4 CIDR`);
    } else if (hasHostBits(c)) {
        r.fail("nodeCidr", `${quote(cidr)} has host bits set (did you mean the network address?)`);
    } else if (c.prefixLength > 29) {
        r.fail("nodeCidr", `${quote(cidr)} is too small (at most /29)`);
    } else if (!existing) {
        // The kind cluster routes these ranges inside the server: a node subnet overlapping
        // them would make the server's own neighbours (and its gateway) unreachable from pods.
        for (const [what, range] of [["pod", KIND_POD_CIDR], ["Service", KIND_SERVICE_CIDR]] as const) {
            if (cidrsOverlap(c, parseCidr(range)!)) {
                r.fail("nodeCidr", `${quote(cidr)} overlaps ${range}, the management cluster's ${what} network; choose a range outside it`);
            }
        }
    }
    return cidr;
}

function parseNameservers(r: Reader, existing: boolean): string[] {
    const list = r.stringList("dnsNameservers") ?? [];
    if (list.length > 0 && existing) {
        r.fail("dnsNameservers", "cannot be set together with existingNetwork (the existing subnet's DNS is used)");
    }
    for (const ip of list) {
        if (!isIp(ip)) {
            r.fail("dnsNameservers", `${quote(ip)} is not a valid IP address`);
        } else if (!isIpv4(ip)) {
            r.fail("dnsNameservers", `${quote(ip)} is not an IPv4 address (the management subnet is IPv4)`);
        }
    }
    return list;
}

function parseAllowedCidrs(
    r: Reader,
    key: string,
    what: string,
    rules: { production: boolean; allowPublicAccess: boolean },
): string[] {
    const list = r.stringList(key);
    if (list === undefined) {
        if (!r.has(key)) {
            r.fail(key, `is required: the CIDRs that may reach ${what} (e.g. ["203.0.113.0/24"])`);
        }
        return [];
    }
    if (list.length === 0) {
        r.fail(key, `must list at least one CIDR that may reach ${what}`);
    }
    const seen = new Set<string>();
    const parsed: Cidr[] = [];
    for (const s of list) {
        const c: Cidr | undefined = parseCidr(s);
        if (!c) {
            r.fail(key, `${quote(s)} is not a valid CIDR`);
            continue;
        }
        if (hasHostBits(c)) {
            r.fail(key, `${quote(s)} has host bits set (write the network address, or /32 or /128 for one host)`);
        }
        if (seen.has(s)) {
            r.fail(key, `${quote(s)} is listed twice`);
        }
        seen.add(s);
        if (isWholeInternet(c) && rules.production && !rules.allowPublicAccess) {
            r.fail(key, `${quote(s)} opens ${what} to the whole internet, which production refuses (set ${CONFIG_NAMESPACE}:allowPublicAccess: true to accept it)`);
        }
        parsed.push(c);
    }
    // Judged together too: 0.0.0.0/1 with 128.0.0.0/1 is the whole internet as much as 0.0.0.0/0.
    if (rules.production && !rules.allowPublicAccess && !parsed.some(isWholeInternet)) {
        for (const family of wholeFamiliesCovered(parsed)) {
            r.fail(
                key,
                `together the entries cover every IPv${family} address, which opens ${what} to the whole internet; production refuses ` +
                    `that (set ${CONFIG_NAMESPACE}:allowPublicAccess: true to accept it)`,
            );
        }
    }
    return list;
}

function parseAppCredential(r: Reader, now: Date): AppCredentialSettings {
    const v = r.json("appCredential");
    const settings: AppCredentialSettings = { roles: [...DEFAULTS.appCredentialRoles] };
    if (v === undefined) {
        return settings;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
        r.fail("appCredential", "must be an object with optional `roles` (list), `expiresAt` (RFC 3339) and `owner` (Keystone user)");
        return settings;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
        if (k !== "roles" && k !== "expiresAt" && k !== "owner") {
            r.fail(`appCredential.${k}`, "is not a known setting (known: roles, expiresAt, owner)");
        }
    }
    if (o.owner !== undefined) {
        if (typeof o.owner !== "string" || o.owner.trim() === "") {
            r.fail("appCredential.owner", `${quote(o.owner)} is not a Keystone user name or ID`);
        } else {
            settings.owner = o.owner.trim();
        }
    }
    if (o.roles !== undefined) {
        const roles = o.roles;
        if (!Array.isArray(roles) || roles.length === 0 || !roles.every((x) => typeof x === "string" && x.trim() !== "")) {
            r.fail("appCredential.roles", "must be a non-empty list of role names");
        } else {
            settings.roles = canonicalRoles(roles as string[]);
        }
    }
    if (o.expiresAt !== undefined) {
        const e = o.expiresAt;
        if (typeof e !== "string" || !RFC3339.test(e) || Number.isNaN(Date.parse(e))) {
            r.fail("appCredential.expiresAt", `${quote(e)} is not an RFC 3339 timestamp (e.g. 2027-06-30T00:00:00Z)`);
        } else if (Date.parse(e) <= now.getTime()) {
            r.fail("appCredential.expiresAt", `${quote(e)} is not in the future (set a later expiry to rotate both credentials)`);
        } else {
            settings.expiresAt = canonicalExpiry(e);
        }
    }
    return settings;
}

/**
 * Roles as a set: trimmed, deduplicated and in one fixed order, so that listing them in
 * another order (or twice) is the same setting and does not rename, hence replace, the
 * credentials (the provider itself treats them as a set). The order: the default roles in
 * their default order, then the others sorted; so the default and lists already written
 * that way keep the names (and credentials) they had before roles were canonical.
 */
export function canonicalRoles(roles: readonly string[]): string[] {
    const set = new Set(roles.map((x) => x.trim()));
    const known: readonly string[] = DEFAULTS.appCredentialRoles;
    return [...known.filter((r) => set.has(r)), ...[...set].filter((r) => !known.includes(r)).sort()];
}

/**
 * An RFC 3339 time as the OpenStack provider reads it back from Keystone: UTC, whole
 * seconds, `YYYY-MM-DDTHH:MM:SSZ` (fractions of a second are dropped). Any other spelling
 * of the same instant would show a difference on every `up`, and the expiry forces
 * replacement: both credentials would rotate each time.
 */
export function canonicalExpiry(rfc3339: string): string {
    return new Date(Math.floor(Date.parse(rfc3339) / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const WORKLOAD_PROJECT_KEYS = ["cloud", "region"];

function parseWorkloadProject(r: Reader, openstack: ParseContext["openstack"]): WorkloadProject | undefined {
    const v = r.json("workloadProject");
    if (v === undefined) {
        return undefined;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
        r.fail("workloadProject", "must be an object with `cloud` (a clouds.yaml entry) and optional `region`");
        return undefined;
    }
    const o = v as Record<string, unknown>;
    let ok = true;
    for (const k of Object.keys(o)) {
        if (!WORKLOAD_PROJECT_KEYS.includes(k)) {
            r.fail(`workloadProject.${k}`, `is not a known setting (known: ${WORKLOAD_PROJECT_KEYS.join(", ")})`);
            ok = false;
        }
    }
    const cloud = typeof o.cloud === "string" ? o.cloud.trim() : "";
    if (cloud === "") {
        r.fail("workloadProject.cloud", "is required: the clouds.yaml entry of the workload clusters' project");
        ok = false;
    }
    if (o.region !== undefined && (typeof o.region !== "string" || o.region.trim() === "")) {
        r.fail("workloadProject.region", `${quote(o.region)} must be a region name (leave it out to use openstack:region)`);
        ok = false;
    }
    if (cloud !== "" && !openstack?.cloud) {
        // The management side would authenticate from OS_* variables, which also name a
        // project: the two could not be told apart, nor kept apart, from the config.
        r.fail("workloadProject", "needs openstack:cloud set as well: both projects are named by clouds.yaml entries");
        ok = false;
    }
    if (!ok) {
        return undefined;
    }
    const region = typeof o.region === "string" ? o.region.trim() : openstack?.region;
    return { cloud, ...(region ? { region } : {}) };
}

/**
 * What a valid configuration should still be told about (not refused): each line names its
 * key. The program logs them as warnings.
 */
export function configWarnings(
    cfg: Pick<StackConfig, "environment" | "cloud" | "workloadProject"> & Partial<Pick<StackConfig, "serverGeneration" | "rebuildWithClusters">>,
): string[] {
    const warnings: string[] = [];
    if (cfg.rebuildWithClusters !== undefined && cfg.serverGeneration !== undefined && cfg.rebuildWithClusters < cfg.serverGeneration) {
        warnings.push(
            `${CONFIG_NAMESPACE}:rebuildWithClusters is ${cfg.rebuildWithClusters}, an acknowledgement of an earlier bump: it covers only ` +
                `generation ${cfg.rebuildWithClusters}, not ${cfg.serverGeneration} nor any later one, so it has no effect; remove it`,
        );
    }
    const wp = cfg.workloadProject;
    if (wp === undefined) {
        if (cfg.environment === "production") {
            warnings.push(
                `${CONFIG_NAMESPACE}:workloadProject is not set: CAPO's identity and the cloud-provider credential copied into every ` +
                    `workload cluster live in the management server's project, so anyone who can read Secrets in a workload ` +
                    `cluster's kube-system can delete the management server. Production should use a separate project (docs/settings.md, ` +
                    `"Separate project for workload clusters")`,
            );
        }
    } else if (wp.cloud === cfg.cloud) {
        warnings.push(
            `${CONFIG_NAMESPACE}:workloadProject.cloud is "${wp.cloud}", the same clouds.yaml entry as openstack:cloud: the workload ` +
                `clusters' credentials are in the management server's project (a clouds.yaml entry names one project, whatever ` +
                `the region), nothing is separated`,
        );
    }
    return warnings;
}

function parseCaCert(r: Reader): string | undefined {
    const raw = r.string("caCert");
    if (raw === undefined) {
        return undefined;
    }
    const blocks = raw.match(PEM_BLOCK) ?? [];
    const rest = raw.replace(PEM_BLOCK, "").trim();
    if (blocks.length === 0 || rest !== "") {
        r.fail("caCert", "must be PEM text of one or more CA certificates (-----BEGIN CERTIFICATE----- …), nothing else");
        return undefined;
    }
    for (const [i, block] of blocks.entries()) {
        try {
            new X509Certificate(block);
        } catch (e) {
            r.fail("caCert", `certificate ${i + 1} cannot be parsed: ${(e as Error).message}`);
            return undefined;
        }
    }
    return blocks.join("\n") + "\n";
}

interface SemVer {
    major: number;
    minor: number;
    patch: number;
}

function semver(v: string): SemVer | undefined {
    const m = VERSION.exec(v);
    return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

function minorOf(v: SemVer): string {
    return `${v.major}.${v.minor}`;
}

function compareMinor(a: string, b: string): number {
    const [a1, a2] = a.split(".").map(Number);
    const [b1, b2] = b.split(".").map(Number);
    return a1 !== b1 ? a1 - b1 : a2 - b2;
}

const VERSION_KEYS = ["nodeImage", ...TOOL_NAMES, ...COMPONENT_NAMES] as const;

function parseVersions(r: Reader): Versions {
    const versions: Versions = { ...DEFAULT_VERSIONS };
    const v = r.json("versions");
    if (v !== undefined) {
        if (typeof v !== "object" || v === null || Array.isArray(v)) {
            r.fail("versions", "must be an object of version overrides");
        } else {
            applyVersionOverrides(r, v as Record<string, unknown>, versions);
        }
    }
    checkCompatibility(r, versions);
    return versions;
}

function applyVersionOverrides(r: Reader, o: Record<string, unknown>, versions: Versions): void {
    for (const [k, val] of Object.entries(o)) {
        const key = `versions.${k}`;
        if (k === "nodeImage") {
            const m = typeof val === "string" ? NODE_IMAGE.exec(val) : null;
            if (!m) {
                r.fail(key, `${quote(val)} must be a node image pinned by digest, e.g. kindest/node:v1.36.1@sha256:<64 hex>`);
            } else {
                versions.nodeImage = val as string;
                versions.kubernetes = m[1];
            }
        } else if ((TOOL_NAMES as readonly string[]).includes(k)) {
            const p = parseToolPin(r, key, k as ToolName, val);
            if (p) {
                versions[k as ToolName] = p;
            }
        } else if (k === "orc") {
            const p = parseOrcPin(r, key, val);
            if (p) {
                versions.orc = p.version;
                versions.orcManifestSha256 = p.sha256;
            }
        } else if ((COMPONENT_NAMES as readonly string[]).includes(k)) {
            if (typeof val !== "string" || !semver(val)) {
                r.fail(key, `${quote(val)} is not a version like v1.2.3`);
            } else {
                versions[k as ComponentName] = val;
            }
        } else {
            r.fail(key, `is not a known setting (known: ${VERSION_KEYS.join(", ")})`);
        }
    }
}

function parseToolPin(r: Reader, key: string, tool: ToolName, val: unknown): ToolPin | undefined {
    if (typeof val === "string") {
        if (!semver(val)) {
            r.fail(key, `${quote(val)} is not a version like v1.2.3`);
            return undefined;
        }
        const sha256 = KNOWN_CHECKSUMS[tool][val];
        if (!sha256) {
            const known = Object.keys(KNOWN_CHECKSUMS[tool]).join(", ");
            r.fail(key, `${tool} ${val} has no known checksum (known: ${known}); give {version: ${val}, sha256: <sha256 of the linux-amd64 download>}`);
            return undefined;
        }
        return { version: val, sha256 };
    }
    return parseVersionAndSha256(r, key, val, "");
}

/** `{version, sha256}` at `key`, both checked (every problem reported); `what` says what the SHA-256 is of. */
function parseVersionAndSha256(r: Reader, key: string, val: unknown, what: string): { version: string; sha256: string } | undefined {
    if (typeof val !== "object" || val === null || Array.isArray(val)) {
        r.fail(key, `must be a version (v1.2.3) or {version, sha256}${what}`);
        return undefined;
    }
    const o = val as Record<string, unknown>;
    let ok = true;
    for (const k of Object.keys(o)) {
        if (k !== "version" && k !== "sha256") {
            r.fail(`${key}.${k}`, "is not a known setting (known: version, sha256)");
            ok = false;
        }
    }
    if (typeof o.version !== "string" || !semver(o.version)) {
        r.fail(`${key}.version`, `${quote(o.version)} is not a version like v1.2.3`);
        ok = false;
    }
    if (typeof o.sha256 !== "string" || !SHA256.test(o.sha256)) {
        r.fail(`${key}.sha256`, `${quote(o.sha256)} is not a SHA-256 (64 lowercase hex digits)`);
        ok = false;
    }
    return ok ? { version: o.version as string, sha256: o.sha256 as string } : undefined;
}

/**
 * `versions.orc`: a version (its manifest's SHA-256 pinned when lib/versions.ts knows one,
 * else unverified: ORC publishes none) or `{version, sha256}` (the SHA-256 of the release's
 * install.yaml).
 */
function parseOrcPin(r: Reader, key: string, val: unknown): { version: string; sha256?: string } | undefined {
    if (typeof val === "string") {
        if (!semver(val)) {
            r.fail(key, `${quote(val)} is not a version like v1.2.3`);
            return undefined;
        }
        return { version: val, sha256: KNOWN_MANIFEST_CHECKSUMS.orc[val] };
    }
    return parseVersionAndSha256(r, key, val, " (the SHA-256 of the release's install.yaml)");
}

/** Cross-checks of the merged versions. Reports against the keys a user would change. */
function checkCompatibility(r: Reader, v: Versions): void {
    const capi = semver(v.clusterApi);
    const capo = semver(v.capo);
    const k8s = semver(v.kubernetes);
    if (capo && capi) {
        const min = CAPO_MIN_CLUSTER_API[minorOf(capo)];
        if (min === undefined) {
            r.fail("versions.capo", `${v.capo}: compatibility with Cluster API is not known (known CAPO minors: ${Object.keys(CAPO_MIN_CLUSTER_API).join(", ")})`);
        } else if (compareMinor(minorOf(capi), min) < 0) {
            r.fail("versions.clusterApi", `${v.clusterApi} is too old for CAPO ${v.capo}, which needs Cluster API v${min} or newer`);
        }
    }
    if (capi && k8s) {
        const range = CLUSTER_API_MANAGEMENT_KUBERNETES[minorOf(capi)];
        if (range === undefined) {
            r.fail("versions.clusterApi", `${v.clusterApi}: the Kubernetes range it supports for a management cluster is not known (known Cluster API minors: ${Object.keys(CLUSTER_API_MANAGEMENT_KUBERNETES).join(", ")})`);
        } else if (compareMinor(minorOf(k8s), range[0]) < 0 || compareMinor(minorOf(k8s), range[1]) > 0) {
            r.fail("versions.nodeImage", `Kubernetes ${v.kubernetes} is outside the range Cluster API ${v.clusterApi} supports for a management cluster (v${range[0]}–v${range[1]})`);
        }
    }
    const ctl = semver(v.clusterctl.version);
    if (ctl && capi && (minorOf(ctl) !== minorOf(capi) || ctl.patch < capi.patch)) {
        r.fail("versions.clusterctl", `${v.clusterctl.version} cannot drive Cluster API ${v.clusterApi}: use clusterctl v${minorOf(capi)}.${capi.patch} or a later v${minorOf(capi)} patch`);
    }
    const kubectl = semver(v.kubectl.version);
    if (kubectl && k8s && Math.abs(kubectl.minor - k8s.minor) > 1) {
        r.fail("versions.kubectl", `${v.kubectl.version} is more than one minor version away from the cluster's Kubernetes ${v.kubernetes}`);
    }
}

const GITOPS_KEYS = ["url", "branch", "semver", "path", "interval", "knownHosts", "deployKey", "sopsAgeKey", "workloadNamespace"];
const SCP_LIKE = /^[A-Za-z0-9._-]+@[^:/\s]+:[^\s]+$/;
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const BRANCH = /^(?!\/|-|.*\.\.|.*\/\/|.*\/$|.*\.lock$)[A-Za-z0-9._/-]+$/;
/** Host key types of known_hosts lines (security-key types are user keys, never a server's). */
const KNOWN_HOST_KEY_TYPES = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))$/;
const AGE_SECRET_KEY = /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/;

/**
 * Host and port of an `ssh://user@host[:port]/path` URL, read by the platform's URL parser
 * (ports above 65535, spaces and stray characters are refused); undefined when it is not one.
 */
function parseSshUrl(url: string): { host: string; port?: string } | undefined {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        return undefined;
    }
    const userOk = /^[A-Za-z0-9._-]+$/.test(u.username) && u.password === "";
    const pathOk = u.pathname.length > 1 && !/\s/.test(url) && u.search === "" && u.hash === "";
    if (u.protocol !== "ssh:" || !userOk || u.hostname === "" || !pathOk) {
        return undefined;
    }
    return { host: u.hostname, port: u.port === "" ? undefined : u.port };
}

/** The host entry known_hosts must carry for a URL: `host`, or `[host]:port` off port 22. */
function knownHostsName(host: string, port?: string): string {
    return port && port !== "22" ? `[${host.replace(/^\[|\]$/g, "")}]:${port}` : host.replace(/^\[|\]$/g, "");
}

function parseGitOps(r: Reader, ctx: { stack: string; production: boolean }): GitOpsSettings | undefined {
    const v = r.json("gitops");
    if (v === undefined) {
        return undefined;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
        r.fail("gitops", "must be an object with url, branch or semver, knownHosts, …");
        return undefined;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
        if (!GITOPS_KEYS.includes(k)) {
            r.fail(`gitops.${k}`, `is not a known setting (known: ${GITOPS_KEYS.join(", ")})`);
        }
    }
    const str = (k: string): string | undefined => {
        const x = o[k];
        if (x === undefined || x === null || x === "") {
            return undefined;
        }
        if (typeof x !== "string") {
            r.fail(`gitops.${k}`, "must be a string");
            return undefined;
        }
        return x.trim();
    };

    const url = str("url");
    let host: string | undefined;
    if (url === undefined) {
        r.fail("gitops.url", "is required (ssh://git@host/org/repo)");
    } else if (SCP_LIKE.test(url)) {
        const [userHost, repo] = url.split(/:(.*)/s);
        r.fail("gitops.url", `${quote(url)} is the scp-like form, which Flux does not accept; write ssh://${userHost}/${repo}`);
    } else if (/^https?:\/\//.test(url)) {
        r.fail("gitops.url", `${quote(url)}: use the ssh:// form (ssh://git@host/org/repo); Flux authenticates with the deploy key over SSH`);
    } else {
        const parsed = parseSshUrl(url);
        if (/^ssh:\/\/[^/@\s]*:[^/@\s]*@/.test(url)) {
            // Not echoed: it carries a password.
            r.fail("gitops.url", "carries a password; write ssh://git@host/org/repo (Flux authenticates with the deploy key)");
        } else if (!parsed) {
            r.fail("gitops.url", `${quote(url)} is not of the form ssh://git@host[:port]/org/repo`);
        } else {
            host = knownHostsName(parsed.host, parsed.port);
        }
    }

    const branch = str("branch");
    const semver = str("semver");
    let ref: GitRef = { branch: "main" };
    if ((branch === undefined) === (semver === undefined)) {
        r.fail("gitops", "set exactly one of branch (follow a branch) or semver (follow tags in a semver range)");
    } else if (branch !== undefined) {
        if (!BRANCH.test(branch)) {
            r.fail("gitops.branch", `${quote(branch)} is not a valid branch name`);
        }
        if (ctx.production) {
            r.fail("gitops.branch", "production follows released tags: set gitops.semver (e.g. \">=1.0.0\") instead of a branch");
        }
        ref = { branch };
    } else {
        const problem = semverRangeProblem(semver!);
        if (problem !== undefined) {
            r.fail("gitops.semver", `${quote(semver)} is not a range Flux accepts: ${problem}`);
        }
        ref = { semver: semver! };
    }

    const rawPath = str("path") ?? `./clusters/${ctx.stack}`;
    const path = rawPath.startsWith("./") ? rawPath : `./${rawPath}`;
    if (rawPath.startsWith("/") || path.split("/").includes("..") || !/^[A-Za-z0-9._/-]+$/.test(path)) {
        r.fail("gitops.path", `${quote(rawPath)} must be a relative path inside the repository, without ..`);
    }

    const interval = str("interval") ?? "1m";
    if (!GO_DURATION.test(interval)) {
        r.fail("gitops.interval", `${quote(interval)} is not a duration such as 1m or 30s`);
    }

    const knownHosts = str("knownHosts");
    if (knownHosts === undefined) {
        r.fail("gitops.knownHosts", "is required: the Git host's known_hosts lines (ssh-keyscan <host>); host key checking is never disabled");
    } else {
        checkKnownHosts(r, knownHosts, host);
    }

    const deployKey = str("deployKey");
    if (deployKey !== undefined) {
        try {
            publicKeyOfPrivateKey(deployKey);
        } catch (e) {
            r.fail("gitops.deployKey", `is not a usable SSH private key: ${(e as Error).message} (give an unencrypted OpenSSH key, or leave it unset to have one generated)`);
        }
    }

    const sopsAgeKey = str("sopsAgeKey");
    if (sopsAgeKey !== undefined) {
        const keys = sopsAgeKey.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
        if (keys.length === 0 || !keys.every((k) => AGE_SECRET_KEY.test(k))) {
            r.fail("gitops.sopsAgeKey", "must be an age identity (AGE-SECRET-KEY-1…), as age-keygen writes it");
        }
    }

    const workloadNamespace = str("workloadNamespace") ?? DEFAULT_WORKLOAD_NAMESPACE;
    if (!DNS_LABEL.test(workloadNamespace) || workloadNamespace.length > 63) {
        r.fail("gitops.workloadNamespace", `${quote(workloadNamespace)} is not a valid namespace name`);
    }

    return {
        url: url ?? "",
        ref,
        path,
        interval,
        knownHosts: (knownHosts ?? "").trim() + "\n",
        deployKey: deployKey === undefined ? undefined : deployKey.replace(/\r\n/g, "\n").trim() + "\n",
        sopsAgeKey: sopsAgeKey === undefined ? undefined : sopsAgeKey.trim() + "\n",
        workloadNamespace,
    };
}

/** A private key in plain text in the stack file is refused: it would sit in Git and in every log of the config. */
function checkSecretsHeldAsSecrets(r: Reader, gitops: GitOpsSettings, secretKeys: readonly string[]): void {
    if (secretKeys.includes(`${CONFIG_NAMESPACE}:gitops`)) {
        return;
    }
    const present = { "gitops.deployKey": gitops.deployKey, "gitops.sopsAgeKey": gitops.sopsAgeKey };
    for (const key of SECRET_SETTINGS) {
        if (present[key] !== undefined) {
            r.fail(
                key,
                `is set in plain text; a private key must be a Pulumi secret. Remove it from the stack file and set it with ` +
                    `\`pulumi config set --secret --path '${CONFIG_NAMESPACE}:${key}' < FILE\` (the Pulumi CLI encrypts it with the ` +
                    `stack's secrets provider; there is no way to write an encrypted value without it)`,
            );
        }
    }
}

function checkKnownHosts(r: Reader, knownHosts: string, host: string | undefined): void {
    const lines = knownHosts.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
    if (lines.length === 0) {
        r.fail("gitops.knownHosts", "has no host key lines");
        return;
    }
    let covers = false;
    for (const line of lines) {
        const [hosts, type, key] = line.split(/\s+/);
        if (!hosts || !type || !key || !KNOWN_HOST_KEY_TYPES.test(type)) {
            r.fail("gitops.knownHosts", `${quote(line)} is not a known_hosts line (host key-type base64-key)`);
            continue;
        }
        const keyProblem = knownHostKeyProblem(type, key);
        if (keyProblem !== undefined) {
            r.fail("gitops.knownHosts", `the ${type} key of ${hosts} is unusable: ${keyProblem}`);
            continue;
        }
        if (host === undefined || hosts.startsWith("|1|") || hosts.split(",").includes(host)) {
            covers = true;
        }
    }
    if (!covers && host !== undefined) {
        r.fail("gitops.knownHosts", `has no key for ${host}, the host of gitops.url`);
    }
}
