/**
 * The OpenStack test bed (testbed/openstack/openstack.sh) from the tests' side: bringing it up (or
 * finding it up), its clouds.yaml, a small client of its APIs (Keystone tokens and catalog, JSON
 * requests with Node's fetch), bounded polling, and the sockets its processes hold.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

const script = path.join(__dirname, "..", "..", "testbed", "openstack", "openstack.sh");

/** The bed's state directory (as the script computes it). */
export const stateDir = process.env.CAPI_MGMT_OPENSTACK_STATE ?? path.join(os.homedir(), ".cache", "capi-mgmt-openstack");

/** Runs the bed's script; throws with its output when it fails. */
export function bedScript(command: "up" | "down" | "status" | "env", timeoutMs = 1_800_000): string {
    const r = spawnSync("bash", [script, command], { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0 && command !== "status") {
        throw new Error(`testbed/openstack/openstack.sh ${command} exited with ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
    }
    return r.stdout;
}

/** True when every process of the bed runs. */
export function bedRunning(): boolean {
    return spawnSync("bash", [script, "status"], { stdio: "ignore" }).status === 0;
}

/** One cloud of the bed's clouds.yaml. */
export interface Cloud {
    auth: { auth_url: string; username: string; password: string; project_name: string; user_domain_name: string; project_domain_name: string };
    region_name: string;
}

/** The clouds the bed's `env` prints. */
export function clouds(): Record<string, Cloud> {
    return (YAML.parse(bedScript("env")) as { clouds: Record<string, Cloud> }).clouds;
}

/** An API error with its HTTP status. */
export class ApiError extends Error {
    constructor(
        readonly status: number,
        message: string,
    ) {
        super(message);
    }
}

interface CatalogEntry {
    type: string;
    endpoints: { interface: string; region: string; url: string }[];
}

/** A project-scoped session: a token and the service catalog. */
export class Session {
    private constructor(
        readonly token: string,
        readonly projectId: string,
        readonly userId: string,
        readonly catalog: Map<string, string>,
    ) {}

    /** Authenticates with a password (cloud) or an application credential. */
    static async login(cloud: Cloud, appCred?: { id: string; secret: string }): Promise<Session> {
        const identity = appCred
            ? { methods: ["application_credential"], application_credential: { id: appCred.id, secret: appCred.secret } }
            : {
                  methods: ["password"],
                  password: { user: { name: cloud.auth.username, password: cloud.auth.password, domain: { name: cloud.auth.user_domain_name } } },
              };
        const scope = appCred ? undefined : { project: { name: cloud.auth.project_name, domain: { name: cloud.auth.project_domain_name } } };
        const res = await fetch(`${cloud.auth.auth_url}/auth/tokens`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ auth: { identity, ...(scope ? { scope } : {}) } }),
        });
        const body = (await res.json()) as { token: { project: { id: string }; user: { id: string }; catalog: CatalogEntry[] } };
        if (res.status !== 201) {
            throw new ApiError(res.status, `login as ${cloud.auth.username}: ${res.status} ${JSON.stringify(body)}`);
        }
        const catalog = new Map<string, string>();
        for (const entry of body.token.catalog) {
            const ep = entry.endpoints.find((e) => e.interface === "public" && e.region === cloud.region_name);
            if (ep) {
                catalog.set(entry.type, ep.url.replace(/\/$/, ""));
            }
        }
        return new Session(res.headers.get("x-subject-token") as string, body.token.project.id, body.token.user.id, catalog);
    }

    /** A JSON request to a service of the catalog; throws an ApiError unless the status is 2xx. */
    async call<T = Record<string, unknown>>(service: string, method: string, urlPath: string, body?: unknown): Promise<T> {
        const base = this.catalog.get(service);
        if (!base) {
            throw new Error(`no ${service} endpoint in the catalog`);
        }
        const headers: Record<string, string> = { "X-Auth-Token": this.token, Accept: "application/json" };
        if (body !== undefined) {
            headers["Content-Type"] = "application/json";
        }
        if (service === "compute") {
            headers["OpenStack-API-Version"] = "compute 2.79";
        }
        const res = await fetch(`${base}${urlPath}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
        const text = await res.text();
        if (res.status < 200 || res.status > 299) {
            throw new ApiError(res.status, `${method} ${service} ${urlPath}: ${res.status} ${text}`);
        }
        return (text ? JSON.parse(text) : {}) as T;
    }

    /** The status an API answers (for the calls a test expects to be refused). */
    async statusOf(service: string, method: string, urlPath: string, body?: unknown): Promise<{ status: number; message: string }> {
        try {
            await this.call(service, method, urlPath, body);
            return { status: 200, message: "" };
        } catch (err) {
            if (err instanceof ApiError) {
                return { status: err.status, message: err.message };
            }
            throw err;
        }
    }
}

/** Polls `probe` once a second until `done` holds, at most `tries` times (a guard, not a speed check). */
export async function poll<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, tries = 300): Promise<T> {
    let last: T | undefined;
    for (let i = 0; i < tries; i++) {
        last = await probe();
        if (done(last)) {
            return last;
        }
        await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`${what}: not reached after ${tries} polls; last: ${JSON.stringify(last)}`);
}

/** Polls until a resource answers 404. */
export async function gone(session: Session, service: string, urlPath: string, tries = 300): Promise<void> {
    await poll(
        `${service} ${urlPath} gone`,
        () => session.statusOf(service, "GET", urlPath),
        (r) => r.status === 404,
        tries,
    );
}

/** Process ids of every process the bed started (its pid files name process groups). */
export function bedPids(): Set<number> {
    const runDir = path.join(stateDir, "run");
    const groups = new Set(
        fs
            .readdirSync(runDir)
            .filter((n) => n.endsWith(".pid"))
            .map((f) => Number(fs.readFileSync(path.join(runDir, f), "utf8").trim())),
    );
    const r = spawnSync("ps", ["-e", "-o", "pid=,pgid="], { encoding: "utf8" });
    const pids = new Set<number>();
    for (const line of r.stdout.split("\n")) {
        const [pid, pgid] = line.trim().split(/\s+/).map(Number);
        if (groups.has(pgid)) {
            pids.add(pid);
        }
    }
    return pids;
}

/** A TCP socket from `ss -Htnp` (or -Htlnp): local and peer address and the owning pids. */
export interface Socket {
    state: string;
    local: string;
    peer: string;
    pids: number[];
}

/** Parses `ss -Htanp`. */
export function sockets(): Socket[] {
    // The bed's services close every connection (uwsgi `Connection: close`): thousands of
    // TIME-WAIT lines can exceed spawnSync's default 1 MiB, which would cut the list short.
    const r = spawnSync("ss", ["-Htanp"], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    if (r.error || r.status !== 0) {
        throw new Error(`ss -Htanp: ${r.error?.message ?? r.stderr}`);
    }
    return r.stdout
        .split("\n")
        .filter((l) => l.trim())
        .map((line) => {
            const cols = line.trim().split(/\s+/);
            const pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
            return { state: cols[0], local: cols[3], peer: cols[4], pids };
        });
}

/** True for an address:port on loopback (127.0.0.0/8, ::1, or the unspecified peer of a listener). */
export function loopback(addressPort: string): boolean {
    const host = addressPort.replace(/:[^:]*$/, "").replace(/^\[|\]$/g, "");
    return /^127\./.test(host) || host === "::1" || host === "::ffff:127.0.0.1" || /^::ffff:127\./.test(host);
}
