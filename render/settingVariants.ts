/**
 * Every stack setting, and one realistic change of each, for the replacement map
 * (render/settingsMap.ts). The keys come from the config schema (src/config/schema.ts), so a
 * new key without a variant here is noticed.
 */
import { CONFIG_KEYS, CONFIG_NAMESPACE, nestedSettingKeys } from "../src/config";
import { mockOpensshKeyPair } from "./engine";

/** Config overrides: `key` (capi-mgmt) or `ns:key` → raw value (objects as JSON), undefined removes. */
export type Overrides = Record<string, string | undefined>;

/** One change of one setting. */
export interface SettingVariant {
    /** The setting, e.g. `gitops.workloadNamespace` (`openstack:cloud` for the provider's). */
    key: string;
    /** Overrides that make the base stack have what the variant changes (e.g. an object to change a key of). */
    base?: Overrides;
    /** Overrides of the variant (on top of `base`). */
    variant: Overrides;
    /** What the variant does, for the map. */
    change: string;
}

/** Settings of the OpenStack provider the program reads (ParseContext.openstack). */
export const PROVIDER_KEYS = ["openstack:cloud", "openstack:region"] as const;

/**
 * Every key the config schema declares (src/config/schema.ts): the top-level ones, the
 * provider's, then each object setting's nested keys (lists of objects written `key[].sub`).
 */
export function declaredSettingKeys(): string[] {
    return [...CONFIG_KEYS, ...PROVIDER_KEYS, ...nestedSettingKeys()];
}

/** A throwaway self-signed CA (P-256, CN "capi-mgmt test CA"), as in test/fixtures.ts: a realistic caCert. */
const SAMPLE_CA_PEM = [
    "-----BEGIN CERTIFICATE-----",
    "MIIBjjCCATWgAwIBAgIUP7ufk+kWSuOvHKuxAK1/TqeAnQMwCgYIKoZIzj0EAwIw",
    "HDEaMBgGA1UEAwwRY2FwaS1tZ210IHRlc3QgQ0EwIBcNMjYxMTIyMTM0MjE1WhgP",
    "MjEyNjEwMjkxMzQyMTVaMBwxGjAYBgNVBAMMEWNhcGktbWdtdCB0ZXN0IENBMFkw",
    "EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgidGivbaoP2pZ/wZalsuAgx1gpYjmGtP",
    "yA7ScVQfSd8qhpJhVKISElXJWcoIR8MdfBrlXZrzxRqXj8G+UYxkTaNTMFEwHQYD",
    "VR0OBBYEFITSl+WWCb/u73dQlAZFvhmqf3SjMB8GA1UdIwQYMBaAFITSl+WWCb/u",
    "73dQlAZFvhmqf3SjMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIg",
    "ZknderX5RSMjR/98m3QfsIYkwgJDu0eyNyg6HUTmPjMCIFqcA5UmKEl/LXmk+Jnb",
    "d2WTgtFQ2U1RND9gfFDMo4p+",
    "-----END CERTIFICATE-----",
].join("\n");

const SHA = "ab".repeat(32);
const PROXY = "http://proxy.example:3128";
const MIRROR = { registry: "docker.io", endpoints: ["https://mirror.example"] };

/** The next patch release of `v1.2.3`. */
function nextPatch(v: string): string {
    const m = /^v(\d+)\.(\d+)\.(\d+)/.exec(v);
    return m ? `v${m[1]}.${m[2]}.${Number(m[3]) + 1}` : v;
}

/**
 * One realistic variant per setting, for the stack whose raw config (`ns:key` → string, as
 * render/render.ts reads it) is `config`. Unknown keys get none (the test then fails).
 */
export function settingVariants(stack: string, config: Record<string, string>): SettingVariant[] {
    const raw = (k: string) => config[k.includes(":") ? k : `${CONFIG_NAMESPACE}:${k}`];
    const json = <T>(k: string, dflt: T): T => (raw(k) === undefined ? dflt : (JSON.parse(raw(k)!) as T));
    const list = (k: string) => json<string[]>(k, []);
    const gitops = json<Record<string, unknown> | undefined>("gitops", undefined);
    const cloud = raw("openstack:cloud") ?? "openstack";
    const existing = { existingNetwork: JSON.stringify({ network: "shared", subnet: "shared-v4" }), nodeCidr: undefined, dnsNameservers: undefined };
    const withGitops = (o: Record<string, unknown>) => ({ gitops: JSON.stringify({ ...gitops, ...o }) });
    const ref = (o: Record<string, unknown>) => {
        const g: Record<string, unknown> = { ...gitops, ...o };
        delete g[o.branch !== undefined ? "semver" : "branch"];
        return { gitops: JSON.stringify(g) };
    };
    const roles = json<{ roles?: string[] }>("appCredential", {}).roles ?? ["member", "load-balancer_member"];
    const proxyBase = { proxy: JSON.stringify({ http: PROXY }) };
    const mirrorsBase = { registryMirrors: JSON.stringify([MIRROR]) };
    const backupsOn = { backupObjectStorage: JSON.stringify({ enabled: true }) };
    const tool = (name: string, version: string) => ({
        key: `versions.${name}`,
        // Flux's pin covers its install.yaml too (lib/config/rules/versions.ts).
        variant: { versions: JSON.stringify({ [name]: { version: nextPatch(version), sha256: SHA, ...(name === "flux" ? { manifestSha256: SHA } : {}) } }) },
        change: `${name} ${nextPatch(version)}`,
    });
    const component = (name: string, version: string) => ({
        key: `versions.${name}`,
        variant: { versions: JSON.stringify({ [name]: nextPatch(version) }) },
        change: `${name} ${nextPatch(version)}`,
    });
    const prefix = raw("prefix") ?? stack;
    const variants: SettingVariant[] = [
        { key: "openstack:cloud", variant: { "openstack:cloud": `${cloud}-2` }, change: "another clouds.yaml entry" },
        { key: "openstack:region", variant: { "openstack:region": "RegionTwo" }, change: "another region" },
        { key: "prefix", variant: { prefix: `${prefix}-b` }, change: `"${prefix}-b"` },
        raw("environment") === "production"
            ? { key: "environment", variant: { environment: "development" }, change: "development" }
            : {
                  key: "environment",
                  variant: { environment: "production", ...ref({ semver: ">=1.0.0" }) },
                  change: "production (with gitops.semver, as production requires)",
              },
        { key: "externalNetwork", variant: { externalNetwork: "public-2" }, change: "another external network" },
        { key: "flavor", variant: { flavor: raw("flavor") === "SCS-8V-32" ? "SCS-16V-64" : "SCS-8V-32" }, change: "a larger flavor" },
        { key: "image", variant: { image: "Ubuntu 26.04" }, change: "another image" },
        { key: "rootVolumeSize", variant: { rootVolumeSize: String(Number(raw("rootVolumeSize") ?? 50) + 50) }, change: "50 GiB more" },
        { key: "availabilityZone", variant: { availabilityZone: "az-2" }, change: "another availability zone" },
        { key: "nodeCidr", variant: { nodeCidr: "10.99.0.0/24" }, change: "another CIDR" },
        { key: "dnsNameservers", variant: { dnsNameservers: JSON.stringify(["1.1.1.1"]) }, change: "other DNS servers" },
        { key: "existingNetwork", variant: existing, change: "an existing network instead of the program's own" },
        {
            key: "existingNetwork.network",
            base: existing,
            variant: { existingNetwork: JSON.stringify({ network: "shared-2", subnet: "shared-v4" }) },
            change: "another network",
        },
        {
            key: "existingNetwork.subnet",
            base: existing,
            variant: { existingNetwork: JSON.stringify({ network: "shared", subnet: "shared-v4-b" }) },
            change: "another subnet",
        },
        { key: "sshAllowedCidrs", variant: { sshAllowedCidrs: JSON.stringify([...list("sshAllowedCidrs"), "192.0.2.0/24"]) }, change: "one more CIDR" },
        { key: "apiAllowedCidrs", variant: { apiAllowedCidrs: JSON.stringify([...list("apiAllowedCidrs"), "192.0.2.0/24"]) }, change: "one more CIDR" },
        { key: "allowPublicAccess", variant: { allowPublicAccess: "true" }, change: "true" },
        {
            key: "appCredential",
            variant: { appCredential: JSON.stringify({ roles: [...roles, "reader"], expiresAt: "2099-01-01T00:00:00Z" }) },
            change: "roles and expiry set",
        },
        { key: "appCredential.roles", variant: { appCredential: JSON.stringify({ roles: [...roles, "reader"] }) }, change: "one more role" },
        {
            key: "appCredential.expiresAt",
            variant: { appCredential: JSON.stringify({ roles, expiresAt: "2099-01-01T00:00:00Z" }) },
            change: "an expiry (a rotation)",
        },
        {
            key: "appCredential.owner",
            variant: { appCredential: JSON.stringify({ roles, owner: "mock-user-id" }) },
            change: "the owner named (the running user)",
        },
        { key: "workloadProject", variant: { workloadProject: JSON.stringify({ cloud: `${cloud}-workloads` }) }, change: "a separate project" },
        {
            key: "workloadProject.cloud",
            base: { workloadProject: JSON.stringify({ cloud: `${cloud}-workloads` }) },
            variant: { workloadProject: JSON.stringify({ cloud: `${cloud}-workloads-2` }) },
            change: "another project",
        },
        {
            key: "workloadProject.region",
            base: { workloadProject: JSON.stringify({ cloud: `${cloud}-workloads` }) },
            variant: { workloadProject: JSON.stringify({ cloud: `${cloud}-workloads`, region: "RegionTwo" }) },
            change: "another region",
        },
        { key: "caCert", variant: { caCert: SAMPLE_CA_PEM }, change: "a CA certificate" },
        { key: "versions", variant: { versions: JSON.stringify({ caaph: "v0.6.5" }) }, change: "one version overridden" },
        {
            key: "versions.nodeImage",
            variant: { versions: JSON.stringify({ nodeImage: `kindest/node:v1.35.4@sha256:${SHA}` }) },
            change: "another Kubernetes version",
        },
        tool("kind", "v0.32.0"),
        tool("kubectl", "v1.36.1"),
        tool("clusterctl", "v1.14.2"),
        tool("helm", "v3.18.4"),
        tool("flux", "v2.9.4"),
        tool("sonobuoy", "v0.57.5"),
        component("clusterApi", "v1.14.0"),
        component("capo", "v0.14.7"),
        component("orc", "v2.6.0"),
        component("caaph", "v0.6.4"),
        component("certManager", "v1.21.1"),
        { key: "serverGeneration", variant: { serverGeneration: String(Number(raw("serverGeneration") ?? 1) + 1) }, change: "the next generation" },
        {
            key: "rebuildWithClusters",
            variant: { rebuildWithClusters: String(Number(raw("serverGeneration") ?? 1)) },
            change: "the running generation acknowledged (no bump: no effect)",
        },
        {
            key: "protect",
            variant: { protect: String(raw("environment") !== "production") },
            change: raw("environment") === "production" ? "off (before a planned destroy)" : "on",
        },
        { key: "teardownTimeoutMinutes", variant: { teardownTimeoutMinutes: "45" }, change: "45" },
        { key: "backup", variant: { backup: JSON.stringify({ keep: 30 }) }, change: "set (keep 30)" },
        { key: "backup.schedule", variant: { backup: JSON.stringify({ schedule: "daily" }) }, change: "daily" },
        { key: "backup.keep", variant: { backup: JSON.stringify({ keep: 30 }) }, change: "30" },
        {
            key: "backup.volumeSize",
            variant: { backup: JSON.stringify({ volumeSize: raw("environment") === "production" ? 20 : 10 }) },
            change: raw("environment") === "production" ? "20 (grown)" : "10 (a volume)",
        },
        { key: "proxy", variant: { proxy: JSON.stringify({ http: PROXY, https: PROXY }) }, change: "a proxy" },
        { key: "proxy.http", base: proxyBase, variant: { proxy: JSON.stringify({ http: "http://proxy2.example:3128" }) }, change: "another proxy" },
        { key: "proxy.https", base: proxyBase, variant: { proxy: JSON.stringify({ http: PROXY, https: PROXY }) }, change: "set" },
        {
            key: "proxy.noProxy",
            base: proxyBase,
            variant: { proxy: JSON.stringify({ http: PROXY, noProxy: [".internal.example"] }) },
            change: "one more entry",
        },
        { key: "registryMirrors", variant: mirrorsBase, change: "a mirror" },
        {
            key: "registryMirrors[].registry",
            base: mirrorsBase,
            variant: { registryMirrors: JSON.stringify([{ ...MIRROR, registry: "ghcr.io" }]) },
            change: "another registry",
        },
        {
            key: "registryMirrors[].endpoints",
            base: mirrorsBase,
            variant: { registryMirrors: JSON.stringify([{ ...MIRROR, endpoints: ["https://mirror2.example"] }]) },
            change: "another endpoint",
        },
        { key: "backupObjectStorage", variant: backupsOn, change: "enabled" },
        { key: "backupObjectStorage.enabled", base: backupsOn, variant: { backupObjectStorage: JSON.stringify({ enabled: false }) }, change: "turned off" },
        {
            key: "backupObjectStorage.container",
            base: backupsOn,
            variant: { backupObjectStorage: JSON.stringify({ enabled: true, container: "backups-2" }) },
            change: "another container",
        },
        { key: "backupObjectStorage.keep", base: backupsOn, variant: { backupObjectStorage: JSON.stringify({ enabled: true, keep: 3 }) }, change: "3" },
        {
            key: "backupObjectStorage.maxAgeDays",
            base: backupsOn,
            variant: { backupObjectStorage: JSON.stringify({ enabled: true, maxAgeDays: 30 }) },
            change: "30 days",
        },
    ];
    if (gitops) {
        // selfHosted needs gitops (src/config/rules/managementCluster.ts).
        const selfHosted = (o: Record<string, unknown> = {}) => ({ managementCluster: JSON.stringify({ mode: "selfHosted", ...o }) });
        variants.push(
            {
                key: "managementCluster",
                base: selfHosted(),
                variant: { managementCluster: undefined },
                change: "removed: selfHosted → kind (the way back: return-to-kind)",
            },
            { key: "managementCluster.mode", variant: selfHosted(), change: "kind → selfHosted (the migration)" },
            {
                key: "managementCluster.flavor",
                base: selfHosted(),
                variant: selfHosted({ flavor: "SCS-4V-8" }),
                change: "another flavor of the self-hosted nodes",
            },
            {
                key: "managementCluster.kubernetesVersion",
                base: selfHosted(),
                variant: selfHosted({ kubernetesVersion: "v1.35.9", image: "ubuntu-capi-image-v1.35.9" }),
                change: "v1.35.9 (with its image)",
            },
            { key: "managementCluster.image", base: selfHosted(), variant: selfHosted({ image: "ubuntu-capi-image-v1.35.8-b" }), change: "another image name" },
        );
        const key = mockOpensshKeyPair("replacement-map known host").publicKeyOpenssh.trim();
        variants.push(
            { key: "gitops", variant: { gitops: undefined }, change: "removed" },
            { key: "gitops.url", variant: withGitops({ url: `${gitops.url}-2` }), change: "another repository" },
            gitops.branch !== undefined
                ? { key: "gitops.branch", variant: withGitops({ branch: "develop" }), change: "another branch" }
                : {
                      key: "gitops.branch",
                      variant: { environment: "development", ...ref({ branch: "main" }) },
                      change: "a branch instead of tags (development only)",
                  },
            gitops.semver !== undefined
                ? { key: "gitops.semver", variant: withGitops({ semver: ">=2.0.0" }), change: "another range" }
                : { key: "gitops.semver", variant: ref({ semver: ">=1.0.0" }), change: "tags instead of a branch" },
            { key: "gitops.path", variant: withGitops({ path: "./clusters/other" }), change: "another path" },
            { key: "gitops.interval", variant: withGitops({ interval: "10m" }), change: "10m" },
            {
                key: "gitops.knownHosts",
                variant: withGitops({ knownHosts: `${gitops.knownHosts}github.com ${key.split(" ").slice(0, 2).join(" ")}\n` }),
                change: "one more host key",
            },
            {
                key: "gitops.deployKey",
                variant: withGitops({ deployKey: mockOpensshKeyPair("replacement-map deploy key").privateKeyOpenssh }),
                change: "a given deploy key",
            },
            { key: "gitops.sopsAgeKey", variant: withGitops({ sopsAgeKey: `AGE-SECRET-KEY-1${"Q".repeat(58)}` }), change: "an age key" },
            { key: "gitops.workloadNamespace", variant: withGitops({ workloadNamespace: "tenants" }), change: `"tenants"` },
        );
    }
    return variants;
}
