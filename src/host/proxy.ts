/**
 * HTTP proxy and registry mirrors of the management side: validation of the stack config
 * values, the effective NO_PROXY, and the environment every downloading process gets.
 *
 * Pure: no Pulumi runtime. src/config/parse.ts parses the settings with {@link parseProxy} and
 * {@link parseRegistryMirrors} (their shape, unknown keys included, is the schema's to check:
 * src/config/schema.ts); the renderers (cloud-init, kind node files, host scripts,
 * Flux's Deployments) take {@link ProxyEnv}, computed once by {@link proxyEnv}.
 */
import { isHostName, isHostPort, isIp, parseCidr } from "../shared/net";

/** `capi-mgmt:proxy`: the HTTP proxy everything that downloads on the management side goes through. */
export interface ProxySettings {
    /** Proxy for plain-http requests, `http(s)://host[:port]` (no credential, no path); undefined: direct. */
    http?: string;
    /** Proxy for https requests, `http(s)://host[:port]`; undefined: direct. */
    https?: string;
    /** Further destinations reached directly: host names, `.domain`, IP addresses, CIDRs. */
    noProxy: string[];
}

/** One entry of `capi-mgmt:registryMirrors` (the workload ClusterClass variable has the same shape). */
export interface RegistryMirror {
    /** The registry pulled from, `host[:port]`, e.g. `docker.io`. */
    registry: string;
    /** Mirror endpoints tried in order before the registry itself, `http(s)://host[:port][/path]`. */
    endpoints: string[];
}

/** The proxy environment of a process (values exactly as exported, upper and lower case alike). */
export interface ProxyEnv {
    /** HTTP_PROXY, when set. */
    http?: string;
    /** HTTPS_PROXY, when set. */
    https?: string;
    /** NO_PROXY: comma-separated, deterministic. */
    noProxy: string;
}

/** kind's default Service CIDR (IPv4 cluster; the kind config does not set one). */
export const KIND_SERVICE_CIDR = "10.96.0.0/16";
/** kind's default pod CIDR (IPv4 cluster). */
export const KIND_POD_CIDR = "10.244.0.0/16";
/** The OpenStack (and EC2-style) metadata address. */
export const METADATA_ADDRESS = "169.254.169.254";

/**
 * Always reached directly: the loopback names and addresses, `0.0.0.0` (the address kind's
 * kubeconfig on the server names the API server by, as its API listens on every address),
 * the metadata service, and in-cluster names.
 */
export const NO_PROXY_ALWAYS: readonly string[] = ["localhost", "127.0.0.1", "::1", "0.0.0.0", METADATA_ADDRESS, ".svc", ".cluster.local"];

/** A mirror URL's path: segments of unreserved characters (the workload ClusterClass variable allows the same). */
const MIRROR_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

/** One problem of a value, relative to the key it was found under (`proxy.https`). */
export interface Problem {
    /** Key below `capi-mgmt:`, e.g. `proxy.https` or `registryMirrors[0].endpoints[1]`. */
    key: string;
    /** What is wrong. */
    message: string;
}

const CREDENTIAL_NOTE =
    "a credential in it would land in the server's user-data, on command lines and in Deployment specs; " +
    'allow-list the management server\'s address on the proxy instead (docs/settings.md, "Proxy and registry mirrors")';

/**
 * Checks an `http(s)://host[:port]` URL of a proxy or mirror. Returns its canonical form
 * (`scheme://host[:port]`, lowercase host, no trailing slash) or undefined after
 * recording a problem. With `allowPath` (a mirror), a path is kept as well
 * (`https://harbor.example/v2/dockerhub`: the registry API's root on that server).
 */
export function checkServerUrl(key: string, value: unknown, problems: Problem[], allowPath = false): string | undefined {
    if (typeof value !== "string" || value.trim() === "") {
        problems.push({ key, message: "must be a URL like http://proxy.example:3128" });
        return undefined;
    }
    const v = value.trim();
    let u: URL;
    try {
        u = new URL(v);
    } catch {
        problems.push({ key, message: `${JSON.stringify(v)} is not a URL (expected http://host:port or https://host:port)` });
        return undefined;
    }
    let ok = true;
    if (u.protocol !== "http:" && u.protocol !== "https:") {
        problems.push({ key, message: `${JSON.stringify(v)}: the scheme must be http or https, not ${u.protocol.replace(/:$/, "")}` });
        ok = false;
    }
    if (u.username !== "" || u.password !== "" || /^[a-z]+:\/\/[^/]*@/i.test(v)) {
        problems.push({ key, message: `must not carry a user name or password: ${CREDENTIAL_NOTE}` });
        // Never echo the value: it holds the credential.
        return undefined;
    }
    if (u.hostname === "") {
        problems.push({ key, message: `${JSON.stringify(v)} has no host` });
        ok = false;
    }
    const path = u.pathname.replace(/\/+$/, "");
    if (u.search !== "" || u.hash !== "" || /[?#]/.test(v)) {
        const shape = allowPath ? "scheme://host[:port][/path], without a query or fragment" : "scheme://host[:port] only, without a path, query or fragment";
        problems.push({ key, message: `${JSON.stringify(v)} must be ${shape}` });
        ok = false;
    } else if (path !== "" && !allowPath) {
        problems.push({ key, message: `${JSON.stringify(v)} must be scheme://host[:port] only, without a path, query or fragment` });
        ok = false;
    } else if (path !== "" && !MIRROR_PATH.test(path)) {
        problems.push({ key, message: `${JSON.stringify(v)}: the path may hold only letters, digits and . _ ~ - between slashes` });
        ok = false;
    }
    return ok ? `${u.protocol}//${u.host}${path}` : undefined;
}

/** True for a NO_PROXY entry this program accepts: a host name, `.domain`, an IP address or a CIDR. */
export function isNoProxyEntry(entry: string): boolean {
    if (isIp(entry)) {
        return true;
    }
    if (entry.includes("/")) {
        return parseCidr(entry) !== undefined;
    }
    return isHostName(entry) || (entry.length <= 253 && entry.startsWith(".") && isHostName(entry.slice(1)));
}

/** True for a registry name `host[:port]` (host: a name, IPv4, or bracketed IPv6). */
export function isRegistryHost(registry: string): boolean {
    return isHostPort(registry, "optional");
}

/** Parses the value of `capi-mgmt:proxy` (already JSON-decoded). Problems go to `problems`. */
export function parseProxy(value: unknown, problems: Problem[]): ProxySettings | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        problems.push({ key: "proxy", message: "must be an object with http and/or https (URLs) and optional noProxy (list)" });
        return undefined;
    }
    const o = value as Record<string, unknown>;
    const before = problems.length;
    const http = o.http === undefined || o.http === null ? undefined : checkServerUrl("proxy.http", o.http, problems);
    const https = o.https === undefined || o.https === null ? undefined : checkServerUrl("proxy.https", o.https, problems);
    if ((o.http === undefined || o.http === null) && (o.https === undefined || o.https === null)) {
        problems.push({ key: "proxy", message: "set http and/or https (e.g. both to http://proxy.example:3128), or leave proxy out" });
    }
    const noProxy: string[] = [];
    if (o.noProxy !== undefined && o.noProxy !== null) {
        if (!Array.isArray(o.noProxy) || !o.noProxy.every((x) => typeof x === "string")) {
            problems.push({ key: "proxy.noProxy", message: "must be a list of host names, .domains, IP addresses or CIDRs" });
        } else {
            for (const raw of o.noProxy as string[]) {
                const entry = raw.trim();
                if (!isNoProxyEntry(entry)) {
                    problems.push({
                        key: "proxy.noProxy",
                        message: `${JSON.stringify(raw)} is not a host name, .domain, IP address or CIDR`,
                    });
                } else {
                    noProxy.push(entry);
                }
            }
        }
    }
    if (problems.length > before) {
        return undefined;
    }
    return { ...(http ? { http } : {}), ...(https ? { https } : {}), noProxy };
}

/** Parses the value of `capi-mgmt:registryMirrors` (already JSON-decoded). */
export function parseRegistryMirrors(value: unknown, problems: Problem[]): RegistryMirror[] {
    if (!Array.isArray(value)) {
        problems.push({ key: "registryMirrors", message: 'must be a list of {registry: "docker.io", endpoints: ["https://mirror.example"]}' });
        return [];
    }
    const mirrors: RegistryMirror[] = [];
    const seen = new Set<string>();
    value.forEach((item, i) => {
        const key = `registryMirrors[${i}]`;
        if (typeof item !== "object" || item === null || Array.isArray(item)) {
            problems.push({ key, message: "must be an object with registry and endpoints" });
            return;
        }
        const o = item as Record<string, unknown>;
        let ok = true;
        // Unknown keys are the schema's to refuse (src/config/schema.ts).
        const registry = typeof o.registry === "string" ? o.registry.trim().toLowerCase() : "";
        if (!isRegistryHost(registry)) {
            problems.push({
                key: `${key}.registry`,
                message: `${JSON.stringify(o.registry)} is not a registry host[:port] (e.g. docker.io, registry.example:5000)`,
            });
            ok = false;
        } else if (seen.has(registry)) {
            problems.push({ key: `${key}.registry`, message: `${JSON.stringify(registry)} is listed twice` });
            ok = false;
        }
        seen.add(registry);
        const endpoints: string[] = [];
        if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) {
            problems.push({ key: `${key}.endpoints`, message: "must be a non-empty list of http(s) URLs" });
            ok = false;
        } else {
            o.endpoints.forEach((e, j) => {
                const url = checkServerUrl(`${key}.endpoints[${j}]`, e, problems, true);
                if (url === undefined) {
                    ok = false;
                } else if (endpoints.includes(url)) {
                    problems.push({ key: `${key}.endpoints[${j}]`, message: `${JSON.stringify(url)} is listed twice` });
                    ok = false;
                } else {
                    endpoints.push(url);
                }
            });
        }
        if (ok) {
            mirrors.push({ registry, endpoints });
        }
    });
    return mirrors;
}

/** What the effective NO_PROXY is made of besides {@link NO_PROXY_ALWAYS}. */
export interface NoProxyInputs {
    /** Service CIDR of the kind cluster. */
    serviceCidr: string;
    /** Pod CIDR of the kind cluster. */
    podCidr: string;
    /** The management subnet's CIDR, when known (not with an existing network). */
    nodeCidr?: string;
    /** The server's own addresses (fixed and floating IP) where known; empty strings are skipped. */
    serverAddresses: string[];
    /** The OpenStack identity endpoint (auth URL) ORC and CAPO authenticate at, when known. */
    authUrl?: string;
    /** URLs of the cloud's other public endpoints (Nova, Neutron, …) ORC and CAPO call, when known. */
    openstackEndpoints?: string[];
    /** The user's `proxy.noProxy`. */
    user: string[];
}

/** Host of a URL (without brackets or port), or undefined when it has none. */
function urlHost(url: string | undefined): string | undefined {
    if (!url) {
        return undefined;
    }
    try {
        const h = new URL(url).hostname.replace(/^\[|\]$/g, "").toLowerCase();
        return h === "" ? undefined : h;
    } catch {
        return undefined;
    }
}

/**
 * The effective NO_PROXY list: {@link NO_PROXY_ALWAYS}, the kind cluster's Service and pod
 * CIDRs, the node CIDR, the server's addresses, the auth URL's host, the hosts of the other
 * OpenStack endpoints (sorted: the catalog's order is not guaranteed), then the user's
 * entries; each once (first occurrence wins), in that fixed order.
 */
export function effectiveNoProxy(p: NoProxyInputs): string[] {
    const all = [
        ...NO_PROXY_ALWAYS,
        p.serviceCidr,
        p.podCidr,
        ...(p.nodeCidr ? [p.nodeCidr] : []),
        ...p.serverAddresses.filter((a) => a !== ""),
        ...(urlHost(p.authUrl) ? [urlHost(p.authUrl)!] : []),
        ...(p.openstackEndpoints ?? [])
            .map(urlHost)
            .filter((h): h is string => h !== undefined)
            .sort(),
        ...p.user,
    ];
    const out: string[] = [];
    for (const e of all) {
        const entry = e.trim();
        if (entry !== "" && !out.includes(entry)) {
            out.push(entry);
        }
    }
    return out;
}

/** One service of an OpenStack catalog, as far as {@link publicEndpointUrls} reads it. */
export interface CatalogEntry {
    type: string;
    endpoints: Array<{ interface: string; region: string; url: string }>;
}

/** URLs of the catalog's public endpoints, in `region` when given (all regions otherwise). */
export function publicEndpointUrls(catalog: CatalogEntry[], region?: string): string[] {
    return catalog.flatMap((s) => s.endpoints.filter((e) => e.interface === "public" && (!region || e.region === region)).map((e) => e.url));
}

/** The proxy environment for `proxy` with the given effective NO_PROXY list; undefined without a proxy. */
export function proxyEnv(proxy: ProxySettings | undefined, noProxy: string[]): ProxyEnv | undefined {
    if (!proxy) {
        return undefined;
    }
    return { ...(proxy.http ? { http: proxy.http } : {}), ...(proxy.https ? { https: proxy.https } : {}), noProxy: noProxy.join(",") };
}

/**
 * The variables a process gets for `env`, upper and lower case (curl reads only the lower
 * case `http_proxy`; Go and kind read either). Empty without a proxy.
 */
export function proxyEnvVars(env: ProxyEnv | undefined): Array<[string, string]> {
    if (!env) {
        return [];
    }
    const vars: Array<[string, string]> = [];
    for (const [name, value] of [
        ["HTTP_PROXY", env.http],
        ["HTTPS_PROXY", env.https],
        ["NO_PROXY", env.noProxy],
    ] as const) {
        if (value !== undefined) {
            vars.push([name, value], [name.toLowerCase(), value]);
        }
    }
    return vars;
}

/** A container's environment variable whose value may be resolved later (a Pulumi Output). */
export interface EnvVar<V> {
    name: string;
    value: V;
}

const PROXY_VAR_NAMES = new Set(["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"]);

/**
 * A Deployment's fields with `vars` added to the environment of every container (and init
 * container) of its pod template, replacing variables of the same name; other objects are
 * returned unchanged. Used on Flux's install (src/gitops/fluxSync.ts) so its controllers
 * reach Helm and OCI repositories through the proxy.
 */
export function withContainerEnv<V>(object: Record<string, unknown>, vars: ReadonlyArray<EnvVar<V>>): Record<string, unknown> {
    if (object.kind !== "Deployment" || vars.length === 0) {
        return object;
    }
    const spec = object.spec as { template?: { spec?: Record<string, unknown> } } | undefined;
    const podSpec = spec?.template?.spec;
    if (!podSpec) {
        return object;
    }
    const names = new Set(vars.map((v) => v.name));
    const withEnv = (c: Record<string, unknown>) => ({
        ...c,
        env: [...((c.env as Array<{ name: string }> | undefined) ?? []).filter((e) => !names.has(e.name) && !PROXY_VAR_NAMES.has(e.name)), ...vars],
    });
    const newPodSpec: Record<string, unknown> = { ...podSpec };
    for (const key of ["containers", "initContainers"]) {
        if (Array.isArray(podSpec[key])) {
            newPodSpec[key] = (podSpec[key] as Array<Record<string, unknown>>).map(withEnv);
        }
    }
    return { ...object, spec: { ...spec, template: { ...spec!.template, spec: newPodSpec } } };
}

/**
 * Names of the variables {@link proxyEnvVars} gives for `proxy`, known from the config alone
 * (the values may wait for the server's addresses).
 */
export function proxyVarNames(proxy: ProxySettings): string[] {
    return proxyEnvVars({ http: proxy.http, https: proxy.https, noProxy: "" }).map(([name]) => name);
}
