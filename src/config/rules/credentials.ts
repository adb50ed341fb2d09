/**
 * Rules of the credential settings: appCredential's expiry and canonical forms, the
 * workload project's cross-field rule, rebuildWithClusters against serverGeneration, the CA
 * certificate, and secret settings held as Pulumi secrets.
 */
import { X509Certificate } from "crypto";
import { SECRET_SETTINGS, Settings, settingSchema, WorkloadProject } from "../schema";
import { AppCredentialSettings, CONFIG_NAMESPACE, ParseContext, Problems, quote } from "../types";

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The default roles, in their canonical order (from the schema). */
export const DEFAULT_ROLES: readonly string[] = settingSchema("appCredential.roles")!.default;

/** `appCredential` with roles defaulted and canonical, the expiry in the future and canonical. */
export function appCredentialOf(p: Problems, v: Partial<NonNullable<Settings["appCredential"]>> | undefined, now: Date): AppCredentialSettings {
    const settings: AppCredentialSettings = { roles: [...DEFAULT_ROLES] };
    if (v === undefined) {
        return settings;
    }
    if (v.owner !== undefined) {
        settings.owner = v.owner.trim();
    }
    if (v.roles !== undefined) {
        settings.roles = canonicalRoles(v.roles);
    }
    const e: unknown = v.expiresAt;
    if (e !== undefined) {
        if (typeof e !== "string" || !RFC3339.test(e) || Number.isNaN(Date.parse(e))) {
            p.fail("appCredential.expiresAt", `${quote(e)} is not an RFC 3339 timestamp (e.g. 2027-06-30T00:00:00Z)`);
        } else if (Date.parse(e) <= now.getTime()) {
            p.fail("appCredential.expiresAt", `${quote(e)} is not in the future (set a later expiry to rotate both credentials)`);
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
    return [...DEFAULT_ROLES.filter((r) => set.has(r)), ...[...set].filter((r) => !DEFAULT_ROLES.includes(r)).sort()];
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

/** `workloadProject` needs `openstack:cloud` too; its region defaults to `openstack:region`. */
export function workloadProjectOf(
    p: Problems,
    v: Partial<WorkloadProject> | undefined,
    refused: boolean,
    openstack: ParseContext["openstack"],
): WorkloadProject | undefined {
    if (v === undefined || v.cloud === undefined || v.cloud.trim() === "") {
        return undefined;
    }
    if (!openstack?.cloud) {
        // The management side would authenticate from OS_* variables, which also name a
        // project: the two could not be told apart, nor kept apart, from the config.
        p.fail("workloadProject", "needs openstack:cloud set as well: both projects are named by clouds.yaml entries");
        return undefined;
    }
    if (refused) {
        return undefined;
    }
    const region = v.region !== undefined ? v.region.trim() : openstack?.region;
    return { cloud: v.cloud.trim(), ...(region ? { region } : {}) };
}

/**
 * `rebuildWithClusters`: the one `serverGeneration` it acknowledges. A value above the
 * target would silently cover a later bump, so it is refused; one below is left over from an
 * earlier bump and has no effect (configWarnings says so).
 */
export function checkRebuildWithClusters(p: Problems, ack: number | undefined, generation: number): { rebuildWithClusters?: number } {
    if (ack === undefined) {
        return {};
    }
    if (ack > generation) {
        p.fail(
            "rebuildWithClusters",
            `${ack} acknowledges a generation above ${CONFIG_NAMESPACE}:serverGeneration (${generation}); set it to the generation ` +
                `you are bumping to, in the same change as the bump`,
        );
        return {};
    }
    return { rebuildWithClusters: ack };
}

/** `caCert`: PEM of one or more certificates that parse, nothing else. */
export function caCertOf(p: Problems, raw: string | undefined): string | undefined {
    if (raw === undefined) {
        return undefined;
    }
    const blocks = raw.match(PEM_BLOCK) ?? [];
    const rest = raw.replace(PEM_BLOCK, "").trim();
    if (blocks.length === 0 || rest !== "") {
        p.fail("caCert", "must be PEM text of one or more CA certificates (-----BEGIN CERTIFICATE----- …), nothing else");
        return undefined;
    }
    for (const [i, block] of blocks.entries()) {
        try {
            new X509Certificate(block);
        } catch (e) {
            p.fail("caCert", `certificate ${i + 1} cannot be parsed: ${(e as Error).message}`);
            return undefined;
        }
    }
    return blocks.join("\n") + "\n";
}

/**
 * A secret setting (every `x-secret` key of the schema) in plain text in the stack file is
 * refused: it would sit in Git and in every log of the config. `written` gives a dotted key's
 * value as written, undefined when unset.
 */
export function checkSecretsHeldAsSecrets(p: Problems, written: (key: string) => unknown, secretKeys: readonly string[]): void {
    for (const key of SECRET_SETTINGS) {
        const top = key.split(".")[0];
        if (written(key) === undefined || secretKeys.includes(`${CONFIG_NAMESPACE}:${top}`)) {
            continue;
        }
        p.fail(
            key,
            `is set in plain text; a private key must be a Pulumi secret. Remove it from the stack file and set it with ` +
                `\`pulumi config set --secret --path '${CONFIG_NAMESPACE}:${key}' < FILE\` (the Pulumi CLI encrypts it with the ` +
                `stack's secrets provider; there is no way to write an encrypted value without it)`,
        );
    }
}
