/**
 * A throw-away control plane on loopback: etcd and kube-apiserver from the test bed, started with
 * generated certificates in a run directory, plus kubectl bound to it. `stop()` ends both servers
 * and removes the run directory (kept when TESTBED_KEEP=1, for debugging).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { ManagedProcess, waitFor } from "./processes";
import { makePki, Pki } from "./pki";
import { Testbed } from "./testbed";

/** Bound of the API server's start (etcd included) on a loaded 2-core machine. */
export const API_READY_TIMEOUT_MS = 180_000;

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address() as net.AddressInfo;
            srv.close(() => resolve(addr.port));
        });
    });
}

/** GET over http(s); resolves with status and body, rejects on connection errors. */
export function httpGet(url: string, tls?: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const mod = url.startsWith("https:") ? https : http;
        const req = mod.get(url, { ...(tls ?? {}), timeout: 5000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${url}: timeout`)));
        req.on("error", reject);
    });
}

/** Result of a kubectl run. */
export interface KubectlResult {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** A Kubernetes object as JSON. */
export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata: {
        name: string;
        namespace?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        generation?: number;
        resourceVersion?: string;
        ownerReferences?: { kind: string; name: string }[];
    };
    spec?: Record<string, unknown>;
    status?: Record<string, unknown>;
    [key: string]: unknown;
}

/** Field manager of everything the suite applies (Flux's kustomize-controller uses its own name). */
export const FIELD_MANAGER = "capi-mgmt-testbed";

/** Running etcd + kube-apiserver. */
export class ControlPlane {
    private constructor(
        readonly dir: string,
        readonly pki: Pki,
        readonly kubeconfig: string,
        readonly server: string,
        readonly processes: ManagedProcess[],
    ) {}

    /** Starts etcd and kube-apiserver in a new run directory; on failure stops what started and throws with log tails. */
    static async start(testbed: Testbed, name: string): Promise<ControlPlane> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `capi-mgmt-testbed-${name}-`));
        const pki = makePki(path.join(dir, "pki"));
        const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
        const started: ManagedProcess[] = [];
        try {
            const etcd = new ManagedProcess({
                name: "etcd",
                command: testbed.path("etcd"),
                logFile: path.join(dir, "etcd.log"),
                args: [
                    "--name=testbed",
                    `--data-dir=${path.join(dir, "etcd-data")}`,
                    `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
                    `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
                    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
                    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
                    `--initial-cluster=testbed=http://127.0.0.1:${etcdPeer}`,
                    "--unsafe-no-fsync",
                    "--log-level=warn",
                ],
            });
            started.push(etcd);
            await waitFor(
                "etcd health",
                async () => {
                    const r = await httpGet(`http://127.0.0.1:${etcdClient}/health`);
                    return r.status === 200 && r.body.includes('"true"') ? true : undefined;
                },
                { timeoutMs: API_READY_TIMEOUT_MS, watched: [etcd] },
            );

            const apiserver = new ManagedProcess({
                name: "kube-apiserver",
                command: testbed.path("kube-apiserver"),
                logFile: path.join(dir, "kube-apiserver.log"),
                args: [
                    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    `--secure-port=${apiPort}`,
                    `--tls-cert-file=${pki.servingCert}`,
                    `--tls-private-key-file=${pki.servingKey}`,
                    `--client-ca-file=${pki.caCert}`,
                    `--service-account-key-file=${pki.serviceAccountPublicKey}`,
                    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
                    "--service-account-issuer=https://kubernetes.default.svc",
                    "--service-cluster-ip-range=10.96.0.0/16",
                    "--authorization-mode=RBAC",
                    "--endpoint-reconciler-type=none",
                    "--enable-priority-and-fairness=false",
                    `--cert-dir=${path.join(dir, "apiserver-certs")}`,
                ],
            });
            started.push(apiserver);
            const server = `https://127.0.0.1:${apiPort}`;
            const tls = { ca: fs.readFileSync(pki.caCert), cert: fs.readFileSync(pki.adminCert), key: fs.readFileSync(pki.adminKey) };
            await waitFor(
                "kube-apiserver /readyz",
                async () => {
                    const r = await httpGet(`${server}/readyz`, tls);
                    return r.status === 200 ? true : undefined;
                },
                { timeoutMs: API_READY_TIMEOUT_MS, watched: started },
            );

            const kubeconfig = path.join(dir, "kubeconfig");
            fs.writeFileSync(
                kubeconfig,
                [
                    "apiVersion: v1",
                    "kind: Config",
                    "clusters:",
                    `- name: testbed`,
                    `  cluster: {server: "${server}", certificate-authority: "${pki.caCert}"}`,
                    "users:",
                    `- name: admin`,
                    `  user: {client-certificate: "${pki.adminCert}", client-key: "${pki.adminKey}"}`,
                    "contexts:",
                    "- name: testbed",
                    "  context: {cluster: testbed, user: admin}",
                    "current-context: testbed",
                    "",
                ].join("\n"),
            );
            return new ControlPlane(dir, pki, kubeconfig, server, started);
        } catch (err) {
            await Promise.all(started.map((p) => p.stop()));
            if (process.env.TESTBED_KEEP !== "1") {
                fs.rmSync(dir, { recursive: true, force: true });
            }
            throw err;
        }
    }

    /** Stops the servers (and anything registered with `adopt`), removes the run directory. */
    async stop(): Promise<void> {
        for (const p of [...this.processes].reverse()) {
            await p.stop();
        }
        if (process.env.TESTBED_KEEP !== "1") {
            fs.rmSync(this.dir, { recursive: true, force: true });
        }
    }

    /** Makes `stop()` also stop `p` (before the API server). */
    adopt(p: ManagedProcess): void {
        this.processes.push(p);
    }

    /** Log tails of every process, for failure messages. */
    report(lines = 30): string {
        return this.processes.map((p) => p.report(lines)).join("\n");
    }

    /** Runs kubectl against this API server. */
    kubectl(args: string[], input?: string): KubectlResult {
        const r = spawnSync("kubectl", args, {
            input,
            encoding: "utf8",
            env: { ...process.env, KUBECONFIG: this.kubeconfig },
            timeout: 120_000,
            maxBuffer: 64 * 1024 * 1024,
        });
        return { status: r.status, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
    }

    /** kubectl that must succeed; returns stdout. */
    kubectlOk(args: string[], input?: string): string {
        const r = this.kubectl(args, input);
        if (r.status !== 0) {
            throw new Error(`kubectl ${args.join(" ")} failed (${r.status}):\n${r.stderr}${r.stdout}`);
        }
        return r.stdout;
    }

    /** Server-side apply of YAML text (one or more documents); returns the kubectl result. */
    apply(yamlText: string, opts: { fieldManager?: string; dryRun?: boolean } = {}): KubectlResult {
        return this.kubectl(
            [
                "apply",
                "--server-side",
                "--force-conflicts",
                `--field-manager=${opts.fieldManager ?? FIELD_MANAGER}`,
                ...(opts.dryRun ? ["--dry-run=server"] : []),
                "-f",
                "-",
            ],
            yamlText,
        );
    }

    /** Server-side apply that must succeed. */
    applyOk(yamlText: string, opts: { fieldManager?: string } = {}): string {
        const r = this.apply(yamlText, opts);
        if (r.status !== 0) {
            throw new Error(`server-side apply failed (${r.status}):\n${r.stderr}${r.stdout}`);
        }
        return r.stdout;
    }

    /** One object, or undefined when it does not exist. */
    get(resource: string, name: string, namespace?: string): KubeObject | undefined {
        const r = this.kubectl(["get", resource, name, "-o", "json", ...(namespace ? ["-n", namespace] : [])]);
        if (r.status !== 0) {
            if (/NotFound|not found/.test(r.stderr)) {
                return undefined;
            }
            throw new Error(`kubectl get ${resource} ${name}: ${r.stderr}`);
        }
        return JSON.parse(r.stdout) as KubeObject;
    }

    /** Objects of a resource, optionally in a namespace and by label selector. */
    list(resource: string, opts: { namespace?: string; selector?: string } = {}): KubeObject[] {
        const out = this.kubectlOk([
            "get",
            resource,
            "-o",
            "json",
            ...(opts.namespace ? ["-n", opts.namespace] : ["--all-namespaces"]),
            ...(opts.selector ? ["-l", opts.selector] : []),
        ]);
        return (JSON.parse(out) as { items: KubeObject[] }).items;
    }
}

/** Parses multi-document YAML into objects, skipping empty documents. */
export function parseDocs(text: string): KubeObject[] {
    return parseAllDocuments(text)
        .map((d) => {
            if (d.errors.length) {
                throw new Error(`YAML error: ${d.errors[0].message}`);
            }
            return d.toJS() as KubeObject | null;
        })
        .filter((o): o is KubeObject => o !== null && typeof o === "object");
}
