/**
 * The conformance check (`npm run check`): its arguments, what it reads from the stack's
 * outputs, the SSH command line that reaches the management server with its host key
 * pinned, and the rendering of `src/host/scripts/conformance.sh`, which runs sonobuoy there against a
 * workload cluster. Pure: the driver, `render/check.ts`, does the I/O.
 */
import { DEFAULT_WORKLOAD_NAMESPACE } from "../shared/contract";
import { HOST_STATE_DIR, renderHostScript, mgmtKubeconfigParams } from "../host/hostScripts";
import { isIp } from "../shared/net";
import { parseFlags, requiredStack, wholeNumberFlag } from "../shared/cliFlags";

/** The check's modes, as `--mode` takes them. */
export const CHECK_MODES = ["quick", "conformance"] as const;
export type CheckMode = (typeof CHECK_MODES)[number];

/** sonobuoy's `--mode` for each of the check's modes. */
export const SONOBUOY_MODE: Readonly<Record<CheckMode, string>> = {
    quick: "quick",
    conformance: "certified-conformance",
};

/** Bound of the run per mode, minutes (`--timeout`); certified conformance takes one to two hours. */
export const DEFAULT_TIMEOUT_MINUTES: Readonly<Record<CheckMode, number>> = {
    quick: 30,
    conformance: 240,
};

/** Seconds between two status checks (one progress line each), `--poll`. */
export const DEFAULT_POLL_SECONDS = 30;

/** Bound of `sonobuoy delete --wait` in the cleanup, minutes. */
export const DELETE_WAIT_MINUTES = 15;

/** Where the server keeps the results tarball of each cluster's last check (root-only). */
export const CHECK_RESULTS_DIR = `${HOST_STATE_DIR}/checks`;

/** Login user of the management server (the `ubuntu` user of the Ubuntu image; src/cloud/server.ts). */
export const SERVER_LOGIN_USER = "ubuntu";

/** A Cluster API Cluster in the management cluster; no namespace means the stack's workload namespace. */
export interface ClusterRef {
    /** Namespace, when `--cluster` gave one (`<namespace>/<name>`). */
    namespace?: string;
    /** Name of the Cluster. */
    name: string;
}

/** What `npm run check -- …` was asked to do. */
export interface CheckOptions {
    /** Pulumi stack whose management server runs the check. */
    stack: string;
    /** The workload Cluster to check. */
    cluster: ClusterRef;
    /** quick (one e2e test, minutes) or conformance (sonobuoy's certified-conformance). */
    mode: CheckMode;
    /** Bound of the run, minutes. */
    timeoutMinutes: number;
    /** Seconds between status checks. */
    pollSeconds: number;
}

/** Bad arguments; the message names the flag. */
export class CheckUsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "CheckUsageError";
    }
}

/** How to call the check. */
export const CHECK_USAGE = `usage: npm run check -- --stack <stack> --cluster [<namespace>/]<name> [--mode quick|conformance]
                       [--timeout <minutes>] [--poll <seconds>]

Runs sonobuoy on the stack's management server against a workload cluster (Cluster API
Cluster <namespace>/<name> in the management cluster; without a namespace, the stack's
workload namespace, "${DEFAULT_WORKLOAD_NAMESPACE}" by default), prints its progress and results, and exits
non-zero when a plugin failed or the run timed out.

  --stack     the Pulumi stack (e.g. dev)
  --cluster   the Cluster, e.g. ${DEFAULT_WORKLOAD_NAMESPACE}/workload-1 or workload-1
  --mode      quick (default: one e2e test, a few minutes) or conformance (sonobuoy's
              certified-conformance: every conformance test, one to two hours)
  --timeout   bound of the run in minutes (default ${DEFAULT_TIMEOUT_MINUTES.quick} for quick, ${DEFAULT_TIMEOUT_MINUTES.conformance} for conformance)
  --poll      seconds between progress lines (default ${DEFAULT_POLL_SECONDS})`;

/** A Kubernetes object name (DNS label: namespaces; Cluster names are further limited by Cluster API). */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const FLAGS = ["stack", "cluster", "mode", "timeout", "poll"] as const;

const usageError = (message: string) => new CheckUsageError(message);

/** Parses `--cluster`: `<namespace>/<name>` or `<name>`. */
export function parseClusterRef(value: string): ClusterRef {
    const parts = value.split("/");
    if (parts.length > 2) {
        throw new CheckUsageError(`--cluster: must be <namespace>/<name> or <name>, got ${JSON.stringify(value)}`);
    }
    const name = parts[parts.length - 1];
    if (!DNS_LABEL.test(name)) {
        throw new CheckUsageError(`--cluster: ${JSON.stringify(name)} is not a Cluster name (lowercase letters, digits and '-', at most 63)`);
    }
    if (parts.length === 2) {
        if (!DNS_LABEL.test(parts[0])) {
            throw new CheckUsageError(`--cluster: ${JSON.stringify(parts[0])} is not a namespace name (lowercase letters, digits and '-', at most 63)`);
        }
        return { namespace: parts[0], name };
    }
    return { name };
}

/**
 * Parses the check's arguments (`--flag value` or `--flag=value`); `undefined` when help
 * was asked for. Throws a {@link CheckUsageError} naming the flag on anything wrong.
 */
export function parseCheckArgs(argv: readonly string[]): CheckOptions | undefined {
    const parsed = parseFlags(argv, { values: FLAGS, error: usageError });
    if (!parsed) {
        return undefined;
    }
    const { values } = parsed;
    const stack = requiredStack(values.stack, usageError);
    if (values.cluster === undefined) {
        throw new CheckUsageError(`--cluster: required (the workload Cluster, e.g. --cluster ${DEFAULT_WORKLOAD_NAMESPACE}/workload-1)`);
    }
    const cluster = parseClusterRef(values.cluster);
    const mode = (values.mode ?? "quick") as CheckMode;
    if (!CHECK_MODES.includes(mode)) {
        throw new CheckUsageError(`--mode: must be ${CHECK_MODES.join(" or ")}, got ${JSON.stringify(values.mode)}`);
    }
    const timeoutMinutes = values.timeout === undefined ? DEFAULT_TIMEOUT_MINUTES[mode] : wholeNumberFlag("timeout", values.timeout, 1, 24 * 60, usageError);
    const pollSeconds = values.poll === undefined ? DEFAULT_POLL_SECONDS : wholeNumberFlag("poll", values.poll, 5, 600, usageError);
    return { stack, cluster, mode, timeoutMinutes, pollSeconds };
}

/** What the check needs from `pulumi stack output --json --show-secrets`. */
export interface CheckTarget {
    /** The management server's floating IP. */
    host: string;
    /** known_hosts line(s) pinning the server's host key (`sshKnownHosts`). */
    knownHosts: string;
    /** The login private key (`sshPrivateKey`, a secret: never printed). */
    privateKey: string;
    /** Namespace of the workload clusters, from the `deployed` output (the default when absent). */
    workloadNamespace: string;
}

/** Reads the stack outputs the check uses; throws naming each missing or malformed output. */
export function parseStackOutputs(stack: string, json: string): CheckTarget {
    let o: Record<string, unknown>;
    try {
        o = JSON.parse(json) as Record<string, unknown>;
    } catch {
        throw new Error(`stack ${stack}: 'pulumi stack output --json' did not print JSON`);
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) {
        throw new Error(`stack ${stack}: 'pulumi stack output --json' did not print an object`);
    }
    const problems: string[] = [];
    const host = o.floatingIp;
    if (typeof host !== "string" || !isIp(host)) {
        problems.push("output floatingIp is missing or not an IP address");
    }
    const knownHosts = o.sshKnownHosts;
    if (typeof knownHosts !== "string" || typeof host !== "string" || !knownHosts.split("\n").some((l) => l.startsWith(`${host} ssh-`))) {
        problems.push("output sshKnownHosts is missing or has no host key line for floatingIp");
    }
    const privateKey = o.sshPrivateKey;
    if (typeof privateKey !== "string" || !privateKey.includes("PRIVATE KEY-----")) {
        problems.push("output sshPrivateKey is missing or not a private key (is --show-secrets allowed?)");
    }
    if (problems.length > 0) {
        throw new Error(`stack ${stack}: ${problems.join("; ")}; has 'pulumi up' completed for this stack?`);
    }
    const deployed = o.deployed as Record<string, unknown> | undefined;
    const ns = deployed?.workloadNamespace;
    return {
        host: host as string,
        knownHosts: `${(knownHosts as string).trim()}\n`,
        privateKey: (privateKey as string).endsWith("\n") ? (privateKey as string) : `${privateKey as string}\n`,
        workloadNamespace: typeof ns === "string" && DNS_LABEL.test(ns) ? ns : DEFAULT_WORKLOAD_NAMESPACE,
    };
}

/**
 * The ssh command line to the management server: the login key only, the host key pinned
 * by a known_hosts file holding exactly the stack's line (`StrictHostKeyChecking=yes`:
 * an unknown or changed key fails; ssh writes nothing to any known_hosts file), no password
 * prompt, and keepalives so a dead connection ends the session. The remote command runs
 * the script from stdin as root.
 */
export function sshArgs(p: { host: string; user: string; keyFile: string; knownHostsFile: string }): string[] {
    return [
        "-i",
        p.keyFile,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        `UserKnownHostsFile=${p.knownHostsFile}`,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "UpdateHostKeys=no",
        "-o",
        "CheckHostIP=no",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=20",
        "-o",
        "ServerAliveInterval=30",
        "-o",
        "ServerAliveCountMax=4",
        "-T",
        `${p.user}@${p.host}`,
        "sudo bash -s",
    ];
}

/** Parameters of `src/host/scripts/conformance.sh`. */
export interface ConformanceScriptParams {
    /** Namespace of the Cluster. */
    namespace: string;
    /** Name of the Cluster. */
    cluster: string;
    /** The check's mode. */
    mode: CheckMode;
    /** Bound of the run, seconds. */
    timeoutSeconds: number;
    /** Seconds between status checks. */
    pollSeconds: number;
    /** Bound of `sonobuoy delete --wait`, minutes. */
    deleteWaitMinutes: number;
}

/** Renders `src/host/scripts/conformance.sh` with its parameters. */
export function renderConformanceScript(p: ConformanceScriptParams): string {
    if (!DNS_LABEL.test(p.namespace) || !DNS_LABEL.test(p.cluster)) {
        throw new Error(`namespace and cluster must be DNS labels, got ${JSON.stringify(p.namespace)}/${JSON.stringify(p.cluster)}`);
    }
    for (const [what, n] of [
        ["timeoutSeconds", p.timeoutSeconds],
        ["pollSeconds", p.pollSeconds],
        ["deleteWaitMinutes", p.deleteWaitMinutes],
    ] as const) {
        if (!Number.isInteger(n) || n < 1) {
            throw new Error(`${what} must be a positive whole number, got ${n}`);
        }
    }
    return renderHostScript("conformance.sh", {
        ...mgmtKubeconfigParams(),
        NAMESPACE: p.namespace,
        CLUSTER: p.cluster,
        MODE: SONOBUOY_MODE[p.mode],
        TIMEOUT_SECONDS: String(p.timeoutSeconds),
        POLL_SECONDS: String(p.pollSeconds),
        DELETE_WAIT_MINUTES: String(p.deleteWaitMinutes),
        RESULTS_DIR: CHECK_RESULTS_DIR,
    });
}

/** The script a check runs on the server, for a stack's target and the options. */
export function conformanceScriptFor(options: CheckOptions, target: CheckTarget): string {
    return renderConformanceScript({
        namespace: options.cluster.namespace ?? target.workloadNamespace,
        cluster: options.cluster.name,
        mode: options.mode,
        timeoutSeconds: options.timeoutMinutes * 60,
        pollSeconds: options.pollSeconds,
        deleteWaitMinutes: DELETE_WAIT_MINUTES,
    });
}
