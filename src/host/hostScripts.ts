/**
 * Renders the shell scripts in `src/host/scripts/` that the program runs on the management server
 * (the bootstrap steps' own renderers are ./bootstrapScripts.ts).
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

/** Absolute path of `src/host/scripts/`, the directory holding the host scripts (next to this file). */
export const HOST_SCRIPTS_DIR: string = path.join(__dirname, "scripts");

/** Absolute path of `src/host/systemd/`, the systemd units the program installs on the server. */
export const HOST_SYSTEMD_DIR: string = path.join(__dirname, "systemd");

/** Where the program keeps its state on the server (root-only). */
export const HOST_STATE_DIR = "/var/lib/capi-mgmt";

/** Admin kubeconfig of the kind management cluster on the server (root-only, mode 0600). */
export const SERVER_KUBECONFIG = `${HOST_STATE_DIR}/kubeconfig`;

/**
 * The active management cluster's kubeconfig (src/host/scripts/lib/mgmt-kubeconfig.sh): a
 * link to the self-hosted cluster's kubeconfig exactly while that cluster holds the Cluster
 * API objects (made by the self-hosted-pivot step, removed by self-hosted-unpivot); absent,
 * the kind cluster's ({@link SERVER_KUBECONFIG}) is the active one.
 */
export const ACTIVE_KUBECONFIG = `${HOST_STATE_DIR}/self-hosted/active.kubeconfig`;

/**
 * The parameters every host tool working on the Cluster API objects takes: `name` (the kind
 * cluster's kubeconfig, {@link SERVER_KUBECONFIG}) and `ACTIVE_KUBECONFIG`, which the script
 * resolves with `mgmt_kubeconfig` (lib/mgmt-kubeconfig.sh).
 */
export function mgmtKubeconfigParams(name = "MGMT_KUBECONFIG"): Record<string, string> {
    return { [name]: SERVER_KUBECONFIG, ACTIVE_KUBECONFIG };
}

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
    "timer-install.sh",
    "backup-before.sh",
    "teardown-kube.sh",
    "teardown-gone.sh",
    "teardown-flux.sh",
    "teardown-cluster.sh",
    "teardown-jobs.sh",
    "teardown-orc.sh",
    "kind-node-constants.sh",
    "kind-node.sh",
    "capi-move.sh",
    "self-hosted-state.sh",
    "mgmt-kubeconfig.sh",
    "self-hosted-move-back.sh",
    "client-cert-expiry.sh",
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
/** True when `s` has a control character other than newline (NUL, CR, tab, escape, …). */
export function hasControlExceptNewline(s: string): boolean {
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
    for (const [name, value] of [
        ["PROXY_HTTP", env.http],
        ["PROXY_HTTPS", env.https],
        ["PROXY_NO_PROXY", env.noProxy],
    ] as const) {
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
