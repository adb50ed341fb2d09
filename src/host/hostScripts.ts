/**
 * Renders the shell scripts in `host/` that the program runs on the management server.
 *
 * Each script reads its parameters as UPPERCASE variables. Rendering puts their values,
 * single-quoted and readonly, right after the shebang line, so the script sent over SSH
 * (on stdin to `bash -s`) is self-contained and can be reviewed as is. Rendering is pure
 * and deterministic: the same parameters always give the same text.
 *
 * Because the script arrives on stdin, it cannot `source` a helper file on the server. Shared
 * shell functions live in `src/host/scripts/lib/` instead, and a script names them with a line
 * `# capi-mgmt:include NAME.sh`, which rendering replaces by that file's text (see
 * {@link expandIncludes}).
 */
import * as fs from "fs";
import * as path from "path";
import { ProxyEnv } from "./proxy";
import { ToolDownload } from "../versions/versions";

/** Absolute path of `src/host/scripts/`, the directory holding the host scripts (next to this file). */
export const HOST_SCRIPTS_DIR: string = path.join(__dirname, "scripts");

/** Absolute path of `src/host/systemd/`, the systemd units the program installs on the server. */
export const HOST_SYSTEMD_DIR: string = path.join(__dirname, "systemd");

/** Where the program keeps its state on the server (root-only). */
export const HOST_STATE_DIR = "/var/lib/capi-mgmt";

/** Admin kubeconfig of the kind management cluster on the server (root-only, mode 0600). */
export const SERVER_KUBECONFIG = `${HOST_STATE_DIR}/kubeconfig`;

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

/** Parameters whose value may always span several lines (one item per line). */
const MULTI_LINE_PARAMS: ReadonlySet<string> = new Set(["TOOLS"]);

/** Absolute path of `src/host/scripts/lib/`, the shell files host scripts include at render time. */
export const HOST_INCLUDES_DIR: string = path.join(HOST_SCRIPTS_DIR, "lib");

/** The files of `src/host/scripts/lib/` a host script may include: an explicit list, nothing else is read. */
export const HOST_SCRIPT_INCLUDES: readonly string[] = [
    "proxy.sh",
    "release-repository.sh",
    "admin-kubeconfig.sh",
    "files.sh",
    "teardown-kube.sh",
    "teardown-gone.sh",
    "teardown-flux.sh",
    "teardown-cluster.sh",
    "teardown-jobs.sh",
    "teardown-orc.sh",
];

/** The first line every include file has (it makes the file lintable on its own); never included. */
const INCLUDE_FIRST_LINE = "# shellcheck shell=bash";
/** Any line that means to be an include marker, well-formed or not. */
const INCLUDE_LIKE = /^[ \t]*#[ \t]*capi-mgmt[ \t]*:[ \t]*include\b.*$/gm;
/** A well-formed include marker: the whole line, one file name. */
const INCLUDE_MARKER = /^# capi-mgmt:include ([a-z0-9][a-z0-9-]*\.sh)$/;

/** Reads `src/host/scripts/lib/<name>`; the default source of {@link expandIncludes}. */
export function readHostInclude(name: string): string {
    return fs.readFileSync(path.join(HOST_INCLUDES_DIR, name), "utf8");
}

/**
 * The body an include file contributes: its text without its header, the leading comment
 * lines up to the first blank line (they say how the file is used, which the rendered script
 * does not need). Throws unless the file starts with `# shellcheck shell=bash`.
 */
function includeBody(file: string, name: string, text: string): string {
    const lines = text.split("\n");
    if (lines[0] !== INCLUDE_FIRST_LINE) {
        throw new Error(`${file}: include src/host/scripts/lib/${name} must start with "${INCLUDE_FIRST_LINE}"`);
    }
    let i = 0;
    while (i < lines.length && lines[i].startsWith("#")) {
        i++;
    }
    while (i < lines.length && lines[i] === "") {
        i++;
    }
    const body = lines.slice(i).join("\n");
    return body.endsWith("\n") ? body : `${body}\n`;
}

/**
 * Replaces each line `# capi-mgmt:include NAME.sh` of host script `file` by the body of
 * `host/lib/NAME.sh` (its text after its header comment). Throws, naming the script and the
 * line, on a malformed marker, a name not in {@link HOST_SCRIPT_INCLUDES}, a file that cannot
 * be read, the same file included twice, or an include file that itself has a marker (no
 * nested includes). `read` is for tests; it defaults to reading `src/host/scripts/lib/`.
 */
export function expandIncludes(file: string, text: string, read: (name: string) => string = readHostInclude): string {
    const seen = new Set<string>();
    return text.replace(INCLUDE_LIKE, (line) => {
        const marker = INCLUDE_MARKER.exec(line);
        if (!marker) {
            throw new Error(`${file}: malformed include line ${JSON.stringify(line)}; write "# capi-mgmt:include NAME.sh" on a line of its own`);
        }
        const name = marker[1];
        if (!HOST_SCRIPT_INCLUDES.includes(name)) {
            throw new Error(`${file}: unknown include ${JSON.stringify(name)}; host scripts may include ${HOST_SCRIPT_INCLUDES.join(", ")}`);
        }
        if (seen.has(name)) {
            throw new Error(`${file}: includes ${name} twice`);
        }
        seen.add(name);
        let included: string;
        try {
            included = read(name);
        } catch (e) {
            throw new Error(`${file}: cannot read include src/host/scripts/lib/${name}: ${(e as Error).message}`);
        }
        if (new RegExp(INCLUDE_LIKE.source, "m").test(included)) {
            throw new Error(`${file}: include src/host/scripts/lib/${name} has an include line itself; includes do not nest`);
        }
        // The body ends with a newline; the marker's own newline stays after the replacement.
        return includeBody(file, name, included).replace(/\n$/, "");
    });
}

/** Options of {@link renderHostScript}. */
export interface RenderHostScriptOptions {
    /** Further parameters whose value may span several lines (besides `TOOLS`), e.g. a YAML document. */
    multiLine?: readonly string[];
}

const PARAM_NAME = /^[A-Z][A-Z0-9_]*$/;
const SCRIPT_FILE = /^[a-z0-9][a-z0-9-]*\.sh$/;
const SHA256 = /^[0-9a-f]{64}$/;
const TOOL_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const TOOL_VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]*$/;
/** True when `s` has a control character other than newline (NUL, CR, tab, escape, …). */
function hasControlExceptNewline(s: string): boolean {
    return [...s].some((c) => {
        const code = c.charCodeAt(0);
        return (code < 0x20 && c !== "\n") || code === 0x7f;
    });
}

/** Quotes a value for the shell: single quotes, with each `'` written as `'\''`. */
function shellQuote(value: string): string {
    return `'${value.replace(/'/g, "'\\''")}'`;
}

/** Throws unless `value` is a safe value for parameter `name`; `multiLine` names the parameters that may span lines. */
function checkParamValue(file: string, name: string, value: string, multiLine: ReadonlySet<string>): void {
    if (typeof value !== "string") {
        throw new Error(`${file}: parameter ${name} must be a string`);
    }
    if (hasControlExceptNewline(value)) {
        throw new Error(`${file}: parameter ${name} contains a control character`);
    }
    if (value.includes("\n") && !multiLine.has(name)) {
        throw new Error(`${file}: parameter ${name} must be a single line`);
    }
}

/** Throws unless `text` is a script that reads parameter `name`. */
function checkParamUsed(file: string, name: string, text: string): void {
    if (!new RegExp(`\\$\\{?${name}\\b`).test(text)) {
        throw new Error(`${file}: parameter ${name} is not used by the script`);
    }
}

/**
 * Reads `src/host/scripts/<file>`, puts the included files in place of its include lines
 * ({@link expandIncludes}), and inserts `readonly NAME='value'` assignments for `params`, in
 * their given order, right after the shebang line, under a comment saying capi-mgmt
 * rendered them. Names must match `/^[A-Z][A-Z0-9_]*$/` and be used by the script (its text
 * with the includes: a parameter read only by an included function counts); values must be a
 * single line (except `TOOLS` and the names in `options.multiLine`) without other control
 * characters.
 */
export function renderHostScript(file: string, params: Record<string, string>, options: RenderHostScriptOptions = {}): string {
    if (!SCRIPT_FILE.test(file)) {
        throw new Error(`host script name must look like "name.sh" (no directories), got ${JSON.stringify(file)}`);
    }
    return renderHostScriptText(file, fs.readFileSync(path.join(HOST_SCRIPTS_DIR, file), "utf8"), params, options);
}

/**
 * {@link renderHostScript} on the given source `source` of host script `file` (for tests of
 * the renderer itself; the program renders only the files in `src/host/scripts/`). `read` resolves
 * includes as in {@link expandIncludes}.
 */
export function renderHostScriptText(
    file: string,
    source: string,
    params: Record<string, string>,
    options: RenderHostScriptOptions = {},
    read: (name: string) => string = readHostInclude,
): string {
    if (!source.startsWith("#!") || source.indexOf("\n") < 0) {
        throw new Error(`${file}: a host script must start with a shebang line`);
    }
    const text = expandIncludes(file, source, read);
    const newline = text.indexOf("\n");
    const multiLine = new Set([...MULTI_LINE_PARAMS, ...(options.multiLine ?? [])]);
    const assignments = Object.entries(params).map(([name, value]) => {
        if (!PARAM_NAME.test(name)) {
            throw new Error(`${file}: parameter name ${JSON.stringify(name)} must match ${PARAM_NAME}`);
        }
        checkParamValue(file, name, value, multiLine);
        checkParamUsed(file, name, text);
        // A value with `$` or a backquote (a script installed as a file) is literal on purpose.
        const literal = /[$`]/.test(value) ? "# shellcheck disable=SC2016 # a literal value, never expanded\n" : "";
        return `${literal}readonly ${name}=${shellQuote(value)}\n`;
    });
    // The header's wording is frozen (it names the paths from before the folder-per-feature
    // move, now src/host/hostScripts.ts and src/host/scripts/): every rendered script is a
    // remote command's stdin, so a changed byte would update, i.e. re-run, every host step
    // on the next `up` (test/graphIdentity.spec.ts).
    const header = `# Parameters rendered by capi-mgmt (lib/hostScripts.ts) from host/${file}.\n`;
    return text.slice(0, newline + 1) + header + assignments.join("") + text.slice(newline + 1);
}

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
    const ok =
        member !== "" &&
        !member.startsWith("/") &&
        !member.startsWith("-") &&
        !/[\s|]/.test(member) &&
        !member.split("/").includes("..");
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

/** Characters a proxy value may have (URLs in canonical form, NO_PROXY lists): nothing the shell or systemd would read specially. */
const PROXY_VALUE = /^[A-Za-z0-9.:/[\]_,-]+$/;

/**
 * The proxy parameters every downloading host script takes (`PROXY_HTTP`, `PROXY_HTTPS`,
 * `PROXY_NO_PROXY`); none without a proxy, and the scripts then clear any inherited proxy
 * variable, so the stack config is the only source.
 */
export function proxyParams(env: ProxyEnv | undefined): Record<string, string> {
    if (!env) {
        return {};
    }
    const params: Record<string, string> = {};
    for (const [name, value] of [["PROXY_HTTP", env.http], ["PROXY_HTTPS", env.https], ["PROXY_NO_PROXY", env.noProxy]] as const) {
        if (value === undefined || value === "") {
            continue;
        }
        if (!PROXY_VALUE.test(value)) {
            throw new Error(`${name} ${JSON.stringify(value)} has characters other than letters, digits and . : / [ ] _ , -`);
        }
        params[name] = value;
    }
    return params;
}

/** apt's proxy configuration for `env`, as cloud-init's apt module writes it; "" without an http(s) proxy. */
export function renderAptProxyConf(env: ProxyEnv | undefined): string {
    if (!env || (!env.http && !env.https)) {
        return "";
    }
    proxyParams(env);
    return (
        (env.http ? `Acquire::http::Proxy "${env.http}";\n` : "") +
        (env.https ? `Acquire::https::Proxy "${env.https}";\n` : "")
    );
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
