/**
 * The kind configuration of the single-node management cluster.
 */
import { stringify as toToml } from "smol-toml";
import { stringify } from "yaml";
import { DNS_LABEL } from "../shared/names";
import { isIp } from "../shared/net";
import { isRegistryHost, ProxyEnv, proxyEnvVars, RegistryMirror } from "../host/proxy";

/** Port of the management cluster's API on the server (and in the security group). */
export const KIND_API_SERVER_PORT = 6443;

/** Inputs of {@link renderKindConfig}. */
export interface KindConfigParams {
    /** kind cluster name (the stack's prefix). */
    name: string;
    /** Node image pinned by digest. */
    nodeImage: string;
    /** Addresses the API server certificate must also be valid for (the floating IP). */
    apiServerCertSans: string[];
}

/**
 * Renders the kind config: one control-plane node (multi-node kind does not survive a
 * reboot of the host), the API on every address of the server at 6443, and the extra
 * certificate SANs via a kubeadm ClusterConfiguration patch without apiVersion, so it
 * applies to whichever kubeadm API version the node image uses.
 */
export function renderKindConfig(p: KindConfigParams): string {
    if (!DNS_LABEL.test(p.name)) {
        throw new Error(`kind cluster name ${JSON.stringify(p.name)} is not a lowercase DNS label`);
    }
    if (!/@sha256:[0-9a-f]{64}$/.test(p.nodeImage)) {
        throw new Error(`node image ${JSON.stringify(p.nodeImage)} is not pinned by digest`);
    }
    for (const san of p.apiServerCertSans) {
        if (!isIp(san)) {
            throw new Error(`certificate SAN ${JSON.stringify(san)} is not an IP address`);
        }
    }
    const patch = stringify({ kind: "ClusterConfiguration", apiServer: { certSANs: p.apiServerCertSans } });
    const config = {
        kind: "Cluster",
        apiVersion: "kind.x-k8s.io/v1alpha4",
        name: p.name,
        networking: { apiServerAddress: "0.0.0.0", apiServerPort: KIND_API_SERVER_PORT },
        nodes: [{ role: "control-plane", image: p.nodeImage }],
        kubeadmConfigPatches: [patch],
    };
    return stringify(config, { lineWidth: 0 });
}

/**
 * Where the kind node's containerd reads per-registry `hosts.toml` files (mirrors). Files
 * there are read at each pull: changing them needs no restart (containerd's hosts.md).
 */
export const NODE_REGISTRY_HOSTS_DIR = "/etc/containerd/certs.d";

/** The systemd drop-in of the kind node's containerd that carries the proxy. */
export const NODE_CONTAINERD_PROXY_DROP_IN = "/etc/systemd/system/containerd.service.d/50-capi-mgmt-proxy.conf";

/**
 * What the kind step appends once to the node's `/etc/containerd/config.toml` when mirrors
 * are configured: kind v0.32's node image does not set containerd's registry `config_path`
 * (images/base/files/etc/containerd/config.toml), and containerd only reads `hosts.toml`
 * files from a configured directory. Same table and key as kind's own documented
 * `containerdConfigPatches` for registries, but applied in place (and followed by a
 * containerd restart) so that a running cluster need not be recreated. The first line is
 * the marker the step looks for. Text that reaches the server keeps naming the paths from
 * before the move to src/ (host/kind-cluster.sh is now src/host/scripts/kind-cluster.sh): a
 * changed marker would append the table again on live nodes, and any changed byte re-runs the
 * step (test/graphIdentity.spec.ts).
 */
export const NODE_CONTAINERD_REGISTRY_CONFIG = [
    "# capi-mgmt: containerd reads registry mirrors (hosts.toml) from here (host/kind-cluster.sh)",
    ...tomlTable(["plugins", "io.containerd.grpc.v1.cri", "registry"], { config_path: NODE_REGISTRY_HOSTS_DIR }),
    "",
].join("\n");

/** The upstream server containerd falls back to for a registry (Docker Hub's API host for docker.io). */
function registryServer(registry: string): string {
    return registry === "docker.io" ? "https://registry-1.docker.io" : `https://${registry}`;
}

/**
 * containerd's `hosts.toml` for one registry: its mirrors in order, for pulls (pull and
 * resolve), then the registry itself as the fallback server. A mirror URL with a path
 * (Harbor's `https://harbor.example/v2/dockerhub`) gets `override_path`, as the workload
 * ClusterClass's `registryMirrors` does.
 */
export function renderRegistryHostsToml(mirror: RegistryMirror): string {
    if (!isRegistryHost(mirror.registry)) {
        throw new Error(`registry ${JSON.stringify(mirror.registry)} is not host[:port]`);
    }
    if (mirror.endpoints.length === 0) {
        throw new Error(`registry ${mirror.registry}: at least one mirror endpoint is needed`);
    }
    const lines = [
        `# Written by capi-mgmt (host/kind-cluster.sh) from capi-mgmt:registryMirrors: mirrors of ${mirror.registry}.`,
        `server = ${tomlValue(registryServer(mirror.registry))}`,
    ];
    for (const endpoint of mirror.endpoints) {
        const m = /^https?:\/\/[^\s/"\\]+((\/[A-Za-z0-9._~-]+)*)$/.exec(endpoint);
        if (!m) {
            throw new Error(`registry ${mirror.registry}: endpoint ${JSON.stringify(endpoint)} is not scheme://host[:port][/path]`);
        }
        // A path is the registry API's root on the mirror as it is: containerd must not append /v2.
        const host = { capabilities: ["pull", "resolve"], ...(m[1] !== "" ? { override_path: true } : {}) };
        lines.push("", ...tomlTable(["host", endpoint], host));
    }
    return lines.join("\n") + "\n";
}

/** A TOML value of containerd's files: a string, a boolean or an array of strings. */
type TomlValue = string | boolean | string[];

/** A value in TOML, each string encoded (quoted and escaped) by smol-toml. */
function tomlValue(v: TomlValue): string {
    if (Array.isArray(v)) {
        return `[${v.map(tomlValue).join(", ")}]`;
    }
    return toToml({ v }).trimEnd().slice("v = ".length);
}

/** A key in TOML, bare when it can be and quoted otherwise, as smol-toml encodes it. */
function tomlKey(k: string): string {
    return toToml({ [k]: true })
        .trimEnd()
        .slice(0, -" = true".length);
}

/**
 * A TOML table as containerd's documentation lays it out: `[dotted.header]`, then its keys
 * two spaces in. Keys and values are smol-toml's; only the layout is ours, and it is the
 * layout these files always had: a live stack's kind step (whose script carries them) sees
 * no change, so it does not run again. The tests parse every file back with smol-toml.
 */
function tomlTable(header: string[], entries: Record<string, TomlValue>): string[] {
    return [`[${header.map(tomlKey).join(".")}]`, ...Object.entries(entries).map(([k, v]) => `  ${tomlKey(k)} = ${tomlValue(v)}`)];
}

/**
 * The systemd drop-in of the node's containerd: the proxy as unit environment, which
 * overrides the DefaultEnvironment kind's entrypoint derives from the node container's
 * environment at creation (that cannot be changed on a running container). Without a proxy
 * it sets the variables empty, which Go treats as unset: a proxy removed from the config is
 * removed from containerd as well.
 */
export function renderContainerdProxyDropIn(env: ProxyEnv | undefined): string {
    const vars: Array<[string, string]> = env
        ? proxyEnvVars(env)
        : ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"].map((n) => [n, ""]);
    for (const [, value] of vars) {
        if (!/^[A-Za-z0-9.:/[\]_,-]*$/.test(value)) {
            throw new Error(`proxy value ${JSON.stringify(value)} has characters a systemd Environment= line cannot carry as is`);
        }
    }
    return (
        "# Written by capi-mgmt (host/kind-cluster.sh) from capi-mgmt:proxy.\n" +
        "[Service]\n" +
        vars.map(([name, value]) => `Environment="${name}=${value}"\n`).join("")
    );
}

/**
 * The `REGISTRY_HOSTS` parameter of src/host/scripts/kind-cluster.sh: one `registry base64(hosts.toml)`
 * line per mirrored registry, in the configured order; empty without mirrors.
 */
export function registryHostsParam(mirrors: RegistryMirror[]): string {
    return mirrors.map((m) => `${m.registry} ${Buffer.from(renderRegistryHostsToml(m), "utf8").toString("base64")}`).join("\n");
}
