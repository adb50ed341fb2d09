/**
 * Stand-ins for what the engine tests cannot have on loopback, each as small and as visible as
 * possible:
 *
 * - GitHub's release download of Flux's install.yaml, which FluxSync hands to the provider as a
 *   URL: an HTTPS proxy on loopback (HTTPS_PROXY for the engine and its plugins) that answers
 *   CONNECT to github.com:443 with a certificate from a throw-away CA (SSL_CERT_FILE) and serves,
 *   for exactly the release URL the program asks for, a manifest with Flux's Namespace and the
 *   pinned source- and kustomize-controller CRDs from the test-bed cache. Every request is
 *   recorded; anything else gets 404.
 * - Flux's controllers, which would mark the GitRepository and Kustomization Ready: a loop that
 *   writes Ready=True (at the object's generation) into their status, so `up` sees what it waits
 *   for. Nothing else reconciles them.
 * - The garbage collector (kube-controller-manager does not run in the test bed): the provider
 *   deletes with foreground propagation, which leaves the object with the `foregroundDeletion`
 *   finalizer until the collector has deleted its dependents. None of the program's objects has
 *   dependents (no ownerReferences point at them), so the same loop does what the collector would
 *   do for them: it removes that finalizer from objects being deleted.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import * as tls from "tls";

/** A recorded request to the stand-in. */
export interface RecordedRequest {
    method: string;
    url: string;
    status: number;
}

function openssl(args: string[], cwd: string): void {
    const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
    }
}

/** Marks a served entry as a redirect (never a release file's content). */
const REDIRECT = "\u0000redirect:";

/** The GitHub release stand-in (see the file comment). */
export class ReleaseProxy {
    private constructor(
        /** Every request, in order. */
        readonly requests: RecordedRequest[],
        private readonly sockets: Set<net.Socket>,
        private readonly server: http.Server,
        readonly port: number,
        /** CA bundle the engine must trust (SSL_CERT_FILE). */
        readonly caFile: string,
        private readonly files: Record<string, string>,
    ) {}

    /** Serves `body` for `url` from now on (e.g. a release re-published with other content). */
    serve(url: string, body: string): void {
        this.files[url] = body;
    }

    /** Answers `url` with a 302 to `location` from now on (GitHub redirects release downloads). */
    redirect(url: string, location: string): void {
        this.files[url] = `${REDIRECT}${location}`;
    }

    /**
     * Starts the proxy in `dir`, serving `files` (absolute https URL → body) on github.com.
     */
    static async start(dir: string, files: Record<string, string>): Promise<ReleaseProxy> {
        fs.mkdirSync(dir, { recursive: true });
        const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=capi-mgmt engine test CA"], dir);
        openssl(["req", ...ec, "-keyout", "github.key", "-out", "github.csr", "-subj", "/CN=github.com"], dir);
        fs.writeFileSync(path.join(dir, "san.ext"), "subjectAltName=DNS:github.com\nextendedKeyUsage=serverAuth\n");
        openssl(
            [
                "x509",
                "-req",
                "-in",
                "github.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "github.crt",
                "-days",
                "2",
                "-extfile",
                "san.ext",
            ],
            dir,
        );
        const key = fs.readFileSync(path.join(dir, "github.key"));
        const cert = fs.readFileSync(path.join(dir, "github.crt"));

        files = { ...files };
        const requests: RecordedRequest[] = [];
        const sockets = new Set<net.Socket>();
        // The decrypted requests after CONNECT land here.
        const inner = http.createServer((req, res) => {
            const url = `https://github.com${req.url ?? ""}`;
            const served = req.method === "GET" ? files[url] : undefined;
            const location = served?.startsWith(REDIRECT) ? served.slice(REDIRECT.length) : undefined;
            const body = location === undefined ? served : "";
            const status = location !== undefined ? 302 : body === undefined ? 404 : 200;
            requests.push({ method: req.method ?? "", url, status });
            res.writeHead(status, { "content-type": "text/plain", ...(location ? { location } : {}) });
            res.end(body ?? "not served by the test stand-in\n");
        });
        const server = http.createServer((req, res) => {
            requests.push({ method: req.method ?? "", url: req.url ?? "", status: 403 });
            res.writeHead(403);
            res.end("only CONNECT github.com:443\n");
        });
        server.on("connect", (req: http.IncomingMessage, socket: net.Socket) => {
            if (req.url !== "github.com:443") {
                requests.push({ method: "CONNECT", url: req.url ?? "", status: 403 });
                socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
                return;
            }
            socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
            const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
            inner.emit("connection", secure);
        });
        server.on("connection", (s: net.Socket) => {
            sockets.add(s);
            s.on("close", () => sockets.delete(s));
        });
        const port = await new Promise<number>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
        });
        return new ReleaseProxy(requests, sockets, server, port, path.join(dir, "ca.crt"), files);
    }

    /** Environment that sends the engine's and its plugins' HTTPS through the stand-in. */
    env(): Record<string, string> {
        return {
            HTTPS_PROXY: `http://127.0.0.1:${this.port}`,
            https_proxy: `http://127.0.0.1:${this.port}`,
            SSL_CERT_FILE: this.caFile,
        };
    }

    async stop(): Promise<void> {
        for (const s of this.sockets) {
            s.destroy();
        }
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
}

/** Client credentials of the test-bed API server. */
export interface KubeAccess {
    server: string;
    ca: Buffer;
    cert: Buffer;
    key: Buffer;
}

/** One request to the API server (async, so the inline program keeps running meanwhile). */
export function kubeRequest(
    kube: KubeAccess,
    method: string,
    apiPath: string,
    body?: unknown,
    contentType = "application/merge-patch+json",
): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = https.request(
            `${kube.server}${apiPath}`,
            {
                method,
                ca: kube.ca,
                cert: kube.cert,
                key: kube.key,
                timeout: 10_000,
                headers: data ? { "content-type": contentType, "content-length": Buffer.byteLength(data) } : {},
            },
            (res) => {
                let text = "";
                res.setEncoding("utf8");
                res.on("data", (c: string) => (text += c));
                res.on("end", () => {
                    let parsed: unknown = text;
                    try {
                        parsed = JSON.parse(text);
                    } catch {
                        // not JSON
                    }
                    resolve({ status: res.statusCode ?? 0, body: parsed });
                });
            },
        );
        req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: timeout`)));
        req.on("error", reject);
        req.end(data);
    });
}

/** Collections of the program's kinds that the provider may delete (for the collector's part). */
const DELETED_KINDS = [
    "/api/v1/secrets",
    "/api/v1/configmaps",
    "/apis/addons.cluster.x-k8s.io/v1beta2/clusterresourcesets",
    "/apis/infrastructure.cluster.x-k8s.io/v1alpha1/openstackclusteridentities",
    "/apis/source.toolkit.fluxcd.io/v1/gitrepositories",
    "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations",
];

/** The Flux kinds the program waits for, with their API paths. */
const FLUX_READY_KINDS = ["/apis/source.toolkit.fluxcd.io/v1/gitrepositories", "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations"];

interface ListedObject {
    metadata: { name: string; namespace: string; generation?: number; deletionTimestamp?: string; finalizers?: string[]; selfLink?: string; uid: string };
    status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
}

/**
 * Marks every GitRepository and Kustomization Ready at its current generation, every
 * `intervalMs`, until stopped (the Flux controllers' part, see the file comment).
 */
export class ControllerStandIns {
    private timer: NodeJS.Timeout | undefined;
    private stopped = false;
    /** `kind/namespace/name@generation` of every status written. */
    readonly marked: string[] = [];
    /** `collection/namespace/name` of every object whose foreground deletion was completed. */
    readonly collected: string[] = [];

    constructor(
        private readonly kube: KubeAccess,
        private readonly intervalMs = 500,
    ) {}

    start(): void {
        const tick = async () => {
            try {
                await this.once();
            } catch {
                // The API server may be stopping; the next tick tries again.
            }
            if (!this.stopped) {
                this.timer = setTimeout(() => void tick(), this.intervalMs);
            }
        };
        void tick();
    }

    async once(): Promise<void> {
        await this.markReady();
        await this.completeForegroundDeletes();
    }

    private async completeForegroundDeletes(): Promise<void> {
        for (const base of DELETED_KINDS) {
            const list = await kubeRequest(this.kube, "GET", base);
            if (list.status !== 200) {
                continue;
            }
            for (const o of (list.body as { items: ListedObject[] }).items) {
                const fin = o.metadata.finalizers ?? [];
                if (!o.metadata.deletionTimestamp || !fin.includes("foregroundDeletion")) {
                    continue;
                }
                const [prefix, plural] = [base.slice(0, base.lastIndexOf("/")), base.slice(base.lastIndexOf("/") + 1)];
                const p = o.metadata.namespace ? `${prefix}/namespaces/${o.metadata.namespace}/${plural}/${o.metadata.name}` : `${base}/${o.metadata.name}`;
                const r = await kubeRequest(this.kube, "PATCH", p, { metadata: { finalizers: fin.filter((f) => f !== "foregroundDeletion") } });
                if (r.status === 200) {
                    this.collected.push(`${plural}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
                }
            }
        }
    }

    private async markReady(): Promise<void> {
        for (const base of FLUX_READY_KINDS) {
            const list = await kubeRequest(this.kube, "GET", base);
            if (list.status !== 200) {
                continue;
            }
            for (const o of (list.body as { items: ListedObject[] }).items) {
                const gen = o.metadata.generation ?? 1;
                const ready = o.status?.conditions?.find((c) => c.type === "Ready");
                if (o.status?.observedGeneration === gen && ready?.status === "True") {
                    continue;
                }
                const status = {
                    observedGeneration: gen,
                    conditions: [
                        {
                            type: "Ready",
                            status: "True",
                            observedGeneration: gen,
                            reason: "Succeeded",
                            message: "marked Ready by the engine test's stand-in for the Flux controllers",
                            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
                        },
                    ],
                };
                const p = `${base.replace(/\/(gitrepositories|kustomizations)$/, "")}/namespaces/${o.metadata.namespace}/${base.split("/").pop()}/${o.metadata.name}/status`;
                const r = await kubeRequest(this.kube, "PATCH", p, { status });
                if (r.status === 200) {
                    this.marked.push(`${base.split("/").pop()}/${o.metadata.namespace}/${o.metadata.name}@${gen}`);
                }
            }
        }
    }

    stop(): void {
        this.stopped = true;
        if (this.timer) {
            clearTimeout(this.timer);
        }
    }
}
