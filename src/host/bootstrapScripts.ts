/**
 * Renders the host-bootstrap steps' scripts (src/host/scripts/): readiness (wait-ready.sh),
 * apt's and Docker's proxy on a live server (host-proxy.sh) and the pinned, checksum-verified
 * tools (install-tools.sh), each validating its parameters and throwing an Error naming the
 * bad one. The rendering itself (parameters, includes) is ./hostScripts.ts.
 */
import { hasControlExceptNewline, proxyParams, renderHostScript } from "./hostScripts";
import { ProxyEnv } from "./proxy";
import { ToolDownload } from "../versions/versions";

/** Parameters of `src/host/scripts/wait-ready.sh`. */
export interface WaitReadyParams {
    /** Absolute path of the marker file cloud-init's last step writes. */
    marker: string;
    /** Seconds to wait for cloud-init to finish before failing. */
    timeoutSeconds: number;
}

/** Parameters of `src/host/scripts/install-tools.sh`. */
export interface InstallToolsParams {
    /** Tools to install, each with its URL and SHA-256. */
    tools: ToolDownload[];
    /** Absolute directory the binaries are installed into, e.g. `/usr/local/bin`. */
    installDir: string;
    /** Absolute directory holding the manifest of installed tools, e.g. `/var/lib/capi-mgmt`. */
    stateDir: string;
    /** Download attempts per tool. */
    retries: number;
    /** The proxy the downloads go through (`capi-mgmt:proxy`); undefined: direct. */
    proxy?: ProxyEnv;
}

/** Parameters of `src/host/scripts/host-proxy.sh`. */
export interface HostProxyParams {
    /** apt's proxy file (cloud-init's), written with a proxy and removed without one. */
    aptProxyPath: string;
    /** Docker's daemon.json. */
    dockerDaemonJsonPath: string;
    /** The full daemon.json text (src/host/cloudInit.ts renderDockerDaemonJson, as the user-data has it). */
    dockerDaemonJson: string;
    /** The proxy; undefined: none. */
    proxy?: ProxyEnv;
    /** Root-only directory of the program's state (the pending Docker restart marker). */
    stateDir: string;
}

/** Where cloud-init's apt module writes the apt proxy (its default `proxy_apt_fn`). */
export const APT_PROXY_PATH = "/etc/apt/apt.conf.d/90cloud-init-aptproxy";

/**
 * The marker the host-proxy step leaves when Docker's daemon.json changed while containers
 * (the kind node) run: Docker is not restarted under a running cluster; the kind step
 * restarts it before it next creates the cluster, when nothing runs.
 */
export const DOCKER_RESTART_PENDING = "docker-restart.pending";

const SHA256 = /^[0-9a-f]{64}$/;
const TOOL_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const TOOL_VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]*$/;

/** Throws unless `n` is a whole number in [min, max]. */
function checkInteger(what: string, n: number, min: number, max: number): void {
    if (!Number.isInteger(n) || n < min || n > max) {
        throw new Error(`${what} must be a whole number from ${min} to ${max}, got ${n}`);
    }
}

/** Throws unless `p` is an absolute path on a single line. */
function checkAbsolutePath(what: string, p: string): void {
    if (typeof p !== "string" || !p.startsWith("/") || hasControlExceptNewline(p) || p.includes("\n")) {
        throw new Error(`${what} must be an absolute path on one line, got ${JSON.stringify(p)}`);
    }
}

/** Throws unless `url` is an https URL without whitespace or `|`. */
function checkToolUrl(tool: string, url: string): void {
    let parsed: URL | undefined;
    try {
        parsed = new URL(url);
    } catch {
        parsed = undefined;
    }
    if (parsed?.protocol !== "https:" || !url.startsWith("https://") || /[\s|]/.test(url)) {
        throw new Error(`tool ${tool}: url must be an https URL without spaces or "|", got ${JSON.stringify(url)}`);
    }
}

/** Throws unless `member` is a relative path inside an archive (no `..`, no `|`). */
function checkArchiveMember(tool: string, member: string): void {
    const ok = member !== "" && !member.startsWith("/") && !member.startsWith("-") && !/[\s|]/.test(member) && !member.split("/").includes("..");
    if (!ok) {
        throw new Error(`tool ${tool}: archiveMember must be a relative path inside the archive, got ${JSON.stringify(member)}`);
    }
}

/** Throws unless every field of `t` is safe for a `TOOLS` line. */
function checkToolDownload(t: ToolDownload): void {
    if (typeof t.name !== "string" || !TOOL_NAME.test(t.name)) {
        throw new Error(`tool name must match ${TOOL_NAME}, got ${JSON.stringify(t.name)}`);
    }
    if (typeof t.version !== "string" || !TOOL_VERSION.test(t.version)) {
        throw new Error(`tool ${t.name}: version must match ${TOOL_VERSION}, got ${JSON.stringify(t.version)}`);
    }
    checkToolUrl(t.name, t.url);
    if (typeof t.sha256 !== "string" || !SHA256.test(t.sha256)) {
        throw new Error(`tool ${t.name}: sha256 must be 64 lowercase hex digits, got ${JSON.stringify(t.sha256)}`);
    }
    if (t.archiveMember !== undefined) {
        checkArchiveMember(t.name, t.archiveMember);
    }
}

/** The `TOOLS` value: one `name|version|url|sha256|archiveMember` line per tool. */
function toolsValue(tools: ToolDownload[]): string {
    if (tools.length === 0) {
        throw new Error("install-tools needs at least one tool");
    }
    const seen = new Set<string>();
    return tools
        .map((t) => {
            checkToolDownload(t);
            if (seen.has(t.name)) {
                throw new Error(`tool ${t.name} is listed twice`);
            }
            seen.add(t.name);
            return [t.name, t.version, t.url, t.sha256, t.archiveMember ?? ""].join("|");
        })
        .join("\n");
}

/** apt's proxy configuration for `env`, as cloud-init's apt module writes it; "" without an http(s) proxy. */
export function renderAptProxyConf(env: ProxyEnv | undefined): string {
    if (!env || (!env.http && !env.https)) {
        return "";
    }
    proxyParams(env);
    return (env.http ? `Acquire::http::Proxy "${env.http}";\n` : "") + (env.https ? `Acquire::https::Proxy "${env.https}";\n` : "");
}

/** Renders `src/host/scripts/host-proxy.sh`: apt's and Docker's proxy on a live server. */
export function renderHostProxyScript(p: HostProxyParams): string {
    checkAbsolutePath("aptProxyPath", p.aptProxyPath);
    checkAbsolutePath("dockerDaemonJsonPath", p.dockerDaemonJsonPath);
    checkAbsolutePath("stateDir", p.stateDir);
    try {
        JSON.parse(p.dockerDaemonJson);
    } catch {
        throw new Error("dockerDaemonJson must be JSON");
    }
    const apt = renderAptProxyConf(p.proxy);
    return renderHostScript(
        "host-proxy.sh",
        {
            APT_PROXY_PATH: p.aptProxyPath,
            ...(apt !== "" ? { APT_PROXY_CONF: apt } : {}),
            DOCKER_DAEMON_JSON_PATH: p.dockerDaemonJsonPath,
            DOCKER_DAEMON_JSON: p.dockerDaemonJson,
            STATE_DIR: p.stateDir,
            RESTART_PENDING_FILE: DOCKER_RESTART_PENDING,
        },
        { multiLine: ["APT_PROXY_CONF", "DOCKER_DAEMON_JSON"] },
    );
}

/** Renders `src/host/scripts/wait-ready.sh` with its parameters. */
export function renderWaitReadyScript(p: WaitReadyParams): string {
    checkAbsolutePath("marker", p.marker);
    checkInteger("timeoutSeconds", p.timeoutSeconds, 1, 24 * 3600);
    return renderHostScript("wait-ready.sh", {
        MARKER: p.marker,
        TIMEOUT_SECONDS: String(p.timeoutSeconds),
    });
}

/** Renders `src/host/scripts/install-tools.sh` with its parameters. */
export function renderInstallToolsScript(p: InstallToolsParams): string {
    checkAbsolutePath("installDir", p.installDir);
    checkAbsolutePath("stateDir", p.stateDir);
    checkInteger("retries", p.retries, 1, 10);
    return renderHostScript("install-tools.sh", {
        INSTALL_DIR: p.installDir,
        STATE_DIR: p.stateDir,
        RETRIES: String(p.retries),
        TOOLS: toolsValue(p.tools),
        ...proxyParams(p.proxy),
    });
}
