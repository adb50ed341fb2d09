/**
 * parseStackConfig: the schema's checks (./validate.ts), then the named rules of ./rules/,
 * each on the values the schema let through; every problem is collected and thrown together.
 * Pure (no Pulumi runtime): src/config/loadConfig.ts feeds it the stack's values.
 */
import { DEFAULT_WORKLOAD_NAMESPACE } from "../shared/contract";
import { parseProxy, parseRegistryMirrors, Problem } from "../host/proxy";
import { appCredentialOf, caCertOf, checkRebuildWithClusters, checkSecretsHeldAsSecrets, workloadProjectOf } from "./rules/credentials";
import { gitopsOf } from "./rules/gitops";
import { managementClusterOf } from "./rules/managementCluster";
import { checkMisspelledNamespaces } from "./rules/namespace";
import { checkAllowedCidrs, checkNameservers, checkNodeCidr, checkRootVolumeSize } from "./rules/network";
import { versionsOf } from "./rules/versions";
import { BACKUP_DEFAULTS, SETTINGS_SCHEMA, Settings } from "./schema";
import { ConfigError, ParseContext, Problems, RawConfig, StackConfig } from "./types";
import { decodeAndValidate } from "./validate";

/** The schema's default of a top-level key. */
function dflt<K extends keyof Settings>(key: K): NonNullable<Settings[K]> {
    return structuredClone((SETTINGS_SCHEMA.properties[key] as { default?: unknown }).default) as NonNullable<Settings[K]>;
}

/**
 * Parses and validates the raw stack configuration.
 * @throws ConfigError listing every problem found.
 */
export function parseStackConfig(raw: RawConfig, ctx: ParseContext): StackConfig {
    const p = new Problems();
    const { values: v, invalid, mistyped } = decodeAndValidate(raw, p, { prefix: ctx.stack });
    const ok = <K extends keyof Settings>(key: K): Settings[K] | undefined => (invalid.has(key) ? undefined : (v[key] as Settings[K]));
    /**
     * An object setting without the nested values of the wrong type, so that the rules of the
     * others still run (every problem at once); undefined when it is not an object.
     */
    const usable = <K extends keyof Settings>(key: K): Partial<NonNullable<Settings[K]>> | undefined =>
        isObject(v[key])
            ? (Object.fromEntries(Object.entries(v[key]).filter(([k]) => !mistyped.has(`${key}.${k}`))) as Partial<NonNullable<Settings[K]>>)
            : undefined;
    checkMisspelledNamespaces(p, ctx.otherKeys ?? []);

    const environment = ok("environment") ?? "development";
    const production = environment === "production";
    const allowPublicAccess = ok("allowPublicAccess") ?? dflt("allowPublicAccess");
    const existingNetwork = ok("existingNetwork");
    const existing = v.existingNetwork !== undefined || invalid.has("existingNetwork");
    const nodeCidr = ok("nodeCidr") ?? dflt("nodeCidr");
    if (!invalid.has("nodeCidr")) {
        checkNodeCidr(p, nodeCidr, v.nodeCidr !== undefined, existing);
    }
    const dnsNameservers = (ok("dnsNameservers") ?? dflt("dnsNameservers")).map((s) => s.trim());
    checkNameservers(p, dnsNameservers, existing);
    const cidrRules = { production, allowPublicAccess };
    const allowed = (key: "sshAllowedCidrs" | "apiAllowedCidrs", what: string): string[] => {
        const list = ok(key)?.map((s) => s.trim());
        if (list !== undefined) {
            checkAllowedCidrs(p, key, what, list, cidrRules);
        }
        return list ?? [];
    };
    const sshAllowedCidrs = allowed("sshAllowedCidrs", "SSH");
    const apiAllowedCidrs = allowed("apiAllowedCidrs", "the Kubernetes API");
    const rootVolumeSize = ok("rootVolumeSize") ?? dflt("rootVolumeSize");
    checkRootVolumeSize(p, rootVolumeSize);
    const serverGeneration = ok("serverGeneration") ?? dflt("serverGeneration");

    const config: StackConfig = {
        stack: ctx.stack,
        prefix: ok("prefix") ?? ctx.stack,
        environment,
        cloud: ctx.openstack?.cloud,
        region: ctx.openstack?.region,
        externalNetwork: ok("externalNetwork") ?? "",
        flavor: ok("flavor") ?? "",
        image: ok("image") ?? dflt("image"),
        rootVolumeSize,
        availabilityZone: ok("availabilityZone"),
        nodeCidr,
        dnsNameservers,
        existingNetwork: existingNetwork && { network: existingNetwork.network.trim(), subnet: existingNetwork.subnet.trim() },
        sshAllowedCidrs,
        apiAllowedCidrs,
        allowPublicAccess,
        appCredential: appCredentialOf(p, usable("appCredential"), ctx.now),
        workloadProject: workloadProjectOf(p, usable("workloadProject"), invalid.has("workloadProject"), ctx.openstack),
        caCert: caCertOf(p, ok("caCert")),
        versions: versionsOf(p, usable("versions")),
        serverGeneration,
        ...checkRebuildWithClusters(p, ok("rebuildWithClusters"), serverGeneration),
        protect: ok("protect") ?? production,
        teardownTimeoutMinutes: ok("teardownTimeoutMinutes") ?? dflt("teardownTimeoutMinutes"),
        gitops: gitopsOf(p, usable("gitops"), { stack: ctx.stack, production }),
        backup: backupOf(usable("backup")),
        workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE,
        managementCluster: { mode: "kind", flavor: "", kubernetesVersion: "", image: "" },
        // src/host/proxy.ts guards its own inputs: it runs whenever the container is right, so its
        // problems come with the schema's (identical ones are reported once).
        ...proxyAndMirrors(p, isObject(v.proxy) ? v.proxy : undefined, Array.isArray(v.registryMirrors) ? v.registryMirrors : undefined),
    };
    const backup = usable("backupObjectStorage");
    if (backup?.enabled === true) {
        const props = SETTINGS_SCHEMA.properties.backupObjectStorage.properties;
        config.backupObjectStorage = {
            container: backup.container ?? `${config.prefix}-backups`,
            keep: backup.keep ?? props.keep.default,
            maxAgeDays: backup.maxAgeDays ?? props.maxAgeDays.default,
        };
    }
    if (ctx.secretKeys) {
        // A secret setting's value as written (`top` or `top.nested`; values of the wrong type left out).
        const written = (key: string): unknown => {
            const [top, nested] = key.split(".") as [keyof Settings, string | undefined];
            return nested === undefined ? ok(top) : (usable(top) as Record<string, unknown> | undefined)?.[nested];
        };
        checkSecretsHeldAsSecrets(p, written, ctx.secretKeys);
    }
    config.workloadNamespace = config.gitops?.workloadNamespace ?? DEFAULT_WORKLOAD_NAMESPACE;
    config.managementCluster = managementClusterOf(p, usable("managementCluster"), {
        flavor: config.flavor,
        gitops: config.gitops !== undefined || invalid.has("gitops"),
    });
    if (p.list.length > 0) {
        throw new ConfigError(p.list);
    }
    return config;
}

/** `backup` with its defaults: the schema checked each value (a wrong one is left out here and reported). */
function backupOf(b: Partial<NonNullable<Settings["backup"]>> | undefined): StackConfig["backup"] {
    return {
        schedule: b?.schedule ?? BACKUP_DEFAULTS.schedule,
        keep: b?.keep ?? BACKUP_DEFAULTS.keep,
        volumeSize: b?.volumeSize ?? BACKUP_DEFAULTS.volumeSize,
    };
}

function isObject(x: unknown): x is Record<string, unknown> {
    return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** `proxy` and `registryMirrors` (src/host/proxy.ts checks what the schema cannot; problems named by key). */
function proxyAndMirrors(p: Problems, rawProxy: unknown, rawMirrors: unknown): Pick<StackConfig, "proxy" | "registryMirrors"> {
    const problems: Problem[] = [];
    const proxy = rawProxy === undefined ? undefined : parseProxy(rawProxy, problems);
    const registryMirrors = rawMirrors === undefined ? [] : parseRegistryMirrors(rawMirrors, problems);
    for (const x of problems) {
        p.fail(x.key, x.message);
    }
    return { ...(proxy ? { proxy } : {}), registryMirrors };
}
