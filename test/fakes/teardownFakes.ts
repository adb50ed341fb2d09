/**
 * Fakes of `kind` and `kubectl` for running `src/host/scripts/teardown.sh` for real under bash.
 *
 * The fake kubectl (a bash client of one Node server process) keeps a small API server state in files: one directory
 * per context (`mgmt` for the management cluster, `wl-<namespace>-<name>` for a workload
 * cluster), one JSON file per object (`<context>/<resource>/<namespace>/<name>.json`, the
 * namespace `_` for cluster-scoped objects), so parallel calls need no lock. The context
 * of a call is the `current-context:` of the file passed with `--kubeconfig`. It evaluates
 * the subset of kubectl's jsonpath the script uses, and simulates what matters to the
 * teardown: a deleted Cluster goes away after a delay (or never), deleting a PVC makes its
 * PV with reclaim policy Delete go away after a delay, a LoadBalancer Service goes away
 * after its load balancer "is released". Every call is appended to a JSON-lines log with
 * a timestamp, its context and its arguments; deleting a Cluster also records what was
 * left in its workload cluster and how many Flux objects were not suspended at that time.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FakeClock } from "./clock";
import { installFake, RunResult } from "./shell";

/** A Kubernetes object as stored by the fake; keys starting with `_` are fake-only. */
export interface FakeObject {
    apiVersion?: string;
    kind?: string;
    metadata: { name: string; namespace?: string; deletionTimestamp?: string; [key: string]: unknown };
    spec?: Record<string, unknown>;
    status?: Record<string, unknown>;
    data?: Record<string, string>;
    /** Virtual epoch milliseconds at which a deleted object disappears. */
    _deleteAt?: number;
    /** Virtual milliseconds between its deletion and its disappearance. */
    _deleteDelayMs?: number;
    /** A deleted object that never disappears. */
    _stuck?: boolean;
    [key: string]: unknown;
}

/** What the workload cluster still held when its Cluster was deleted. */
export interface WorkloadLeft {
    loadBalancers: number;
    claims: number;
    deleteVolumes: number;
    snapshots: number;
    claimWorkloads: number;
}

/** One fake kubectl call, as logged. */
export interface KubectlCall {
    /** Epoch milliseconds (fractional, real time) when the call started: orders the calls. */
    t: number;
    /** Virtual epoch milliseconds (test/fakes/clock.ts) of the call. */
    vt: number;
    /** Context: `mgmt` or `wl-<namespace>-<name>`. */
    ctx?: string;
    args: string[];
    /** Mode (octal) of the workload kubeconfig file and of its directory. */
    kubeconfigMode?: string;
    kubeconfigDirMode?: string;
    exit?: number;
    error?: string;
    /** For a Cluster deletion: when the Cluster will disappear, virtual epoch ms (null: never). */
    goneAt?: number | null;
    /** For a Cluster deletion: what its workload cluster still held. */
    workloadLeft?: WorkloadLeft;
    /** For a Cluster deletion: Flux Kustomizations and HelmReleases not suspended. */
    fluxUnsuspended?: number;
    /** For an ORC object's deletion: Clusters (deleted or not) still on the management cluster. */
    clustersLeft?: number;
}

export const CLUSTER_CRD = "clusters.cluster.x-k8s.io";
export const KUSTOMIZATION_CRD = "kustomizations.kustomize.toolkit.fluxcd.io";
export const HELMRELEASE_CRD = "helmreleases.helm.toolkit.fluxcd.io";
export const SNAPSHOT_CRD = "volumesnapshots.snapshot.storage.k8s.io";
export const ORC_IMAGE_CRD = "images.openstack.k-orc.cloud";

/**
 * The fake kubectl's server, run by the Node binary running the tests: one long-lived
 * process answers every call of every test (a Node process per call would cost more than
 * the rest of the suite). `kubectl()` runs one call; the `kubectl` on PATH is a bash client
 * (test/fakes/kubectl-client.sh) that sends it its arguments over a local TCP connection.
 */
function fakeKubectlServer(): string {
    return `"use strict";
const fs = require("fs");
const net = require("net");
const path = require("path");

/** Ends a call with an exit status. */
class Exit {
    constructor(code) { this.code = code; }
}
/** A call that never answers (its client's timeout ends it). */
class Hang {}
let writes = 0;

/** One kubectl call: appends its stdout and stderr to out, throws Exit (or Hang). */
function kubectl(args, STATE, LOG, CLOCK, clientPid, out) {
// The virtual time (test/fakes/clock.ts): it stands still while this call runs.
const NOW = Math.max(...fs.readdirSync(path.join(CLOCK, "t")).map(Number));
const entry = { t: performance.timeOrigin + performance.now(), vt: NOW, pid: clientPid, args };

function log(extra) {
    fs.appendFileSync(LOG, JSON.stringify({ ...entry, ...extra }) + "\\n");
}
function fail(message, code = 1) {
    out.err += message + "\\n";
    log({ exit: code, error: message });
    throw new Exit(code);
}
function done(text = "", extra = {}) {
    out.out += text;
    log({ exit: 0, ...extra });
    throw new Exit(0);
}

const ALIASES = {
    svc: "services", service: "services",
    pvc: "persistentvolumeclaims", persistentvolumeclaim: "persistentvolumeclaims",
    pv: "persistentvolumes", persistentvolume: "persistentvolumes",
    crd: "customresourcedefinitions", customresourcedefinition: "customresourcedefinitions",
    secret: "secrets", namespace: "namespaces", ns: "namespaces",
    deployment: "deployments", statefulset: "statefulsets", daemonset: "daemonsets",
    replicaset: "replicasets", job: "jobs", cronjob: "cronjobs", pod: "pods",
    "cluster.cluster.x-k8s.io": "${CLUSTER_CRD}",
    "kustomization.kustomize.toolkit.fluxcd.io": "${KUSTOMIZATION_CRD}",
    "helmrelease.helm.toolkit.fluxcd.io": "${HELMRELEASE_CRD}",
    "volumesnapshot.snapshot.storage.k8s.io": "${SNAPSHOT_CRD}",
};
const BUILTIN = new Set(["services", "persistentvolumeclaims", "persistentvolumes", "customresourcedefinitions",
    "secrets", "namespaces", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs", "pods"]);
const CLUSTER_SCOPED = new Set(["persistentvolumes", "customresourcedefinitions", "namespaces"]);
const POD_SPECS = { cronjobs: ["spec", "jobTemplate", "spec", "template", "spec"], pods: ["spec"] };

// --- arguments ---
let kubeconfig = null, output = null, namespace = null, allNamespaces = false, ignoreNotFound = false;
let all = false, raw = null, patch = null, patchType = null;
const words = [];
for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => { if (i + 1 >= args.length) fail("fake kubectl: " + a + " needs a value", 64); return args[++i]; };
    const after = (prefix) => a.slice(prefix.length);
    if (a === "--kubeconfig") kubeconfig = value();
    else if (a.startsWith("--kubeconfig=")) kubeconfig = after("--kubeconfig=");
    else if (a === "--request-timeout") value();
    else if (a.startsWith("--request-timeout=")) {}
    else if (a === "-o" || a === "--output") output = value();
    else if (a.startsWith("-o=")) output = after("-o=");
    else if (a.startsWith("--output=")) output = after("--output=");
    else if (a === "-n" || a === "--namespace") namespace = value();
    else if (a.startsWith("--namespace=")) namespace = after("--namespace=");
    else if (a === "-A" || a === "--all-namespaces") allNamespaces = true;
    else if (a === "--ignore-not-found" || a === "--ignore-not-found=true") ignoreNotFound = true;
    else if (a === "--all") all = true;
    else if (a === "--wait=false") {}
    else if (a === "--raw") raw = value();
    else if (a.startsWith("--raw=")) raw = after("--raw=");
    else if (a === "-p" || a === "--patch") patch = value();
    else if (a.startsWith("--patch=")) patch = after("--patch=");
    else if (a.startsWith("--type=")) patchType = after("--type=");
    else if (a.startsWith("-")) fail("fake kubectl: unsupported flag " + a, 64);
    else words.push(a);
}

// --- context ---
if (!kubeconfig) fail("fake kubectl: the script must always pass --kubeconfig", 64);
let kubeconfigText;
try {
    kubeconfigText = fs.readFileSync(kubeconfig, "utf8");
} catch (e) {
    fail("error: stat " + kubeconfig + ": no such file or directory");
}
const contextMatch = /^current-context:[ \\t]*(\\S+)[ \\t]*$/m.exec(kubeconfigText);
if (!contextMatch) fail("error: current-context is not set in " + kubeconfig);
const ctx = contextMatch[1];
entry.ctx = ctx;
if (ctx !== "mgmt") {
    entry.kubeconfigMode = (fs.statSync(kubeconfig).mode & 0o777).toString(8);
    entry.kubeconfigDirMode = (fs.statSync(path.dirname(kubeconfig)).mode & 0o777).toString(8);
}
const ctxDir = path.join(STATE, ctx);
if (!fs.existsSync(ctxDir)) fail("Unable to connect to the server: dial tcp: lookup " + ctx + ".example.test: no such host");
if (fs.existsSync(path.join(ctxDir, "_unreachable"))) {
    fail("Unable to connect to the server: dial tcp 192.0.2.10:6443: connect: connection refused");
}
if (fs.existsSync(path.join(ctxDir, "_hang"))) {
    log({ hang: true });
    throw new Hang();
}

// --- state ---
function resourceOf(word) {
    if (!word) fail("error: You must specify the type of resource", 64);
    const r = ALIASES[word.toLowerCase()] || word.toLowerCase();
    if (!BUILTIN.has(r) && !fs.existsSync(objectFile("customresourcedefinitions", "_", r))) {
        fail('error: the server doesn\\'t have a resource type "' + word + '"');
    }
    return r;
}
function nsOf(resource, ns) {
    return CLUSTER_SCOPED.has(resource) ? "_" : ns || "default";
}
function objectFile(resource, ns, name) {
    return path.join(ctxDir, resource, ns, name + ".json");
}
function write(resource, obj) {
    const file = objectFile(resource, nsOf(resource, obj.metadata.namespace), obj.metadata.name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = file + ".tmp." + ++writes;
    fs.writeFileSync(tmp, JSON.stringify(obj));
    fs.renameSync(tmp, file);
}
function unlink(file) {
    try { fs.unlinkSync(file); } catch (e) { if (e.code !== "ENOENT") throw e; }
}
/** Removes the object stored in file (in any context). */
function reap(resource, file, obj) {
    unlink(file);
    if (resource === "${CLUSTER_CRD}") {
        // The kubeconfig Secret is owned by the Cluster: garbage-collected with it.
        const dir = path.join(file, "..", "..", "..");
        unlink(path.join(dir, "secrets", obj.metadata.namespace, obj.metadata.name + "-kubeconfig.json"));
    }
}
function remove(resource, obj) {
    reap(resource, objectFile(resource, nsOf(resource, obj.metadata.namespace), obj.metadata.name), obj);
}
function readObject(resource, file) {
    let obj;
    try {
        obj = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        if (e.code === "ENOENT") return null;
        throw e;
    }
    if (typeof obj._deleteAt === "number" && obj._deleteAt <= NOW) {
        reap(resource, file, obj);
        return null;
    }
    return obj;
}
/** Live objects of a resource in a namespace (null: every namespace), sorted. */
function list(resource, ns, dir = ctxDir) {
    const base = path.join(dir, resource);
    if (!fs.existsSync(base)) return [];
    const namespaces = ns === null ? fs.readdirSync(base).sort() : [nsOf(resource, ns)];
    const result = [];
    for (const n of namespaces) {
        const d = path.join(base, n);
        if (!fs.existsSync(d)) continue;
        for (const f of fs.readdirSync(d).filter((f) => f.endsWith(".json")).sort()) {
            const obj = readObject(resource, path.join(d, f));
            if (obj) result.push(obj);
        }
    }
    return result;
}
function get(resource, ns, name) {
    return readObject(resource, objectFile(resource, nsOf(resource, ns), name));
}
function visible(obj) {
    const copy = {};
    for (const [k, v] of Object.entries(obj)) if (!k.startsWith("_")) copy[k] = v;
    return copy;
}
function dig(obj, keys) {
    return keys.reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);
}
function mountsClaim(resource, obj) {
    const spec = dig(obj, POD_SPECS[resource] || ["spec", "template", "spec"]);
    const volumes = (spec && spec.volumes) || [];
    return volumes.some((v) => v.persistentVolumeClaim || v.ephemeral) || (obj.spec && (obj.spec.volumeClaimTemplates || []).length > 0);
}

// --- jsonpath (the subset kubectl's -o jsonpath the script uses) ---
function jsonpath(template, data) {
    const tokens = [];
    let i = 0;
    while (i < template.length) {
        if (template[i] === "{") {
            let j = i + 1, inString = false;
            while (j < template.length && (inString || template[j] !== "}")) {
                if (template[j] === '"' && template[j - 1] !== "\\\\") inString = !inString;
                j++;
            }
            if (j >= template.length) throw new Error("unclosed { in " + template);
            tokens.push({ expr: template.slice(i + 1, j).trim() });
            i = j + 1;
        } else {
            let j = template.indexOf("{", i);
            if (j < 0) j = template.length;
            tokens.push({ text: template.slice(i, j) });
            i = j;
        }
    }
    let at = 0;
    function block(inRange) {
        const nodes = [];
        while (at < tokens.length) {
            const t = tokens[at++];
            if (t.text !== undefined) nodes.push(t);
            else if (t.expr === "end") {
                if (!inRange) throw new Error("{end} without {range}");
                return nodes;
            } else if (t.expr.startsWith("range ")) nodes.push({ range: t.expr.slice(6).trim(), body: block(true) });
            else nodes.push(t);
        }
        if (inRange) throw new Error("{range} without {end}");
        return nodes;
    }
    function values(expr, cur) {
        if (expr.startsWith('"')) return [JSON.parse(expr)];
        if (!expr.startsWith(".")) throw new Error("unsupported jsonpath expression " + expr);
        let vals = [cur];
        for (const segment of expr.slice(1).split(".")) {
            const m = /^([A-Za-z0-9_]+)(\\[\\*\\])?$/.exec(segment);
            if (!m) throw new Error("unsupported jsonpath segment " + segment + " in " + expr);
            vals = vals.flatMap((v) => (v && typeof v === "object" && !Array.isArray(v) && m[1] in v ? [v[m[1]]] : []));
            if (m[2]) vals = vals.flatMap((v) => (Array.isArray(v) ? v : []));
        }
        return vals;
    }
    const text = (v) => (typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v));
    function render(nodes, cur) {
        let out = "";
        for (const n of nodes) {
            if (n.text !== undefined) out += n.text;
            else if (n.range !== undefined) for (const v of values(n.range, cur)) out += render(n.body, v);
            else out += values(n.expr, cur).map(text).join(" ");
        }
        return out;
    }
    return render(block(false), data);
}

function format(resource, objs, single) {
    if (output === "name") return objs.map((o) => resource + "/" + o.metadata.name + "\\n").join("");
    if (output && output.startsWith("jsonpath=")) {
        const data = single ? visible(objs[0]) : { apiVersion: "v1", kind: "List", items: objs.map(visible) };
        try {
            return jsonpath(output.slice("jsonpath=".length), data);
        } catch (e) {
            fail("fake kubectl: " + e.message, 64);
        }
    }
    if (output) fail("fake kubectl: unsupported output " + output, 64);
    if (objs.length === 0) {
        out.err += "No resources found\\n";
        return "";
    }
    const rows = objs.map((o) => (o.metadata.namespace || "") + "   " + o.metadata.name + "   " + (o.metadata.deletionTimestamp ? "Deleting" : "Provisioned"));
    return "NAMESPACE   NAME   PHASE\\n" + rows.join("\\n") + "\\n";
}

function failureFor(verb, resource) {
    // The run's end from outside (e.g. the SSH session closing): a signal to the script's root process.
    const signal = path.join(ctxDir, "_signal-" + verb + "-" + resource);
    if (fs.existsSync(signal)) {
        const name = fs.readFileSync(signal, "utf8").trim() || "SIGHUP";
        fs.unlinkSync(signal);
        process.kill(Number(fs.readFileSync(path.join(CLOCK, "root"), "utf8")), name);
        entry.signal = name;
    }
    const file = path.join(ctxDir, "_fail-" + verb + "-" + resource);
    if (fs.existsSync(file)) fail(fs.readFileSync(file, "utf8").trim() || "Error from server (InternalError): fake failure");
}

function notFound(resource, name) {
    fail("Error from server (NotFound): " + resource + ' "' + name + '" not found');
}

/** What workload cluster ctx still holds (for the invariant checks at Cluster deletion). */
function workloadLeft(wctx) {
    const dir = path.join(STATE, wctx);
    if (!fs.existsSync(dir)) return undefined;
    const claimWorkloads = ["cronjobs", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "pods"]
        .map((r) => list(r, null, dir).filter((o) => mountsClaim(r, o)).length)
        .reduce((a, b) => a + b, 0);
    return {
        loadBalancers: list("services", null, dir).filter((s) => s.spec && s.spec.type === "LoadBalancer").length,
        claims: list("persistentvolumeclaims", null, dir).length,
        deleteVolumes: list("persistentvolumes", null, dir).filter((v) => v.spec.persistentVolumeReclaimPolicy === "Delete").length,
        snapshots: list("${SNAPSHOT_CRD}", null, dir).length,
        claimWorkloads,
    };
}

function deleteObject(resource, obj) {
    const stamp = new Date(NOW).toISOString();
    const extra = {};
    if (obj.metadata.deletionTimestamp) return extra;
    if (resource === "${CLUSTER_CRD}") {
        obj.metadata.deletionTimestamp = stamp;
        obj._deleteAt = obj._stuck ? Number.MAX_SAFE_INTEGER : NOW + (obj._deleteDelayMs || 0);
        write(resource, obj);
        extra.goneAt = obj._stuck ? null : obj._deleteAt;
        extra.workloadLeft = workloadLeft("wl-" + obj.metadata.namespace + "-" + obj.metadata.name);
        extra.fluxUnsuspended = ["${KUSTOMIZATION_CRD}", "${HELMRELEASE_CRD}"]
            .map((r) => list(r, null).filter((o) => !(o.spec && o.spec.suspend === true)).length)
            .reduce((a, b) => a + b, 0);
        return extra;
    }
    if (resource.endsWith(".openstack.k-orc.cloud")) {
        // ORC's finalizer holds the object until the OpenStack resource is gone.
        obj.metadata.deletionTimestamp = stamp;
        obj._deleteAt = obj._stuck ? Number.MAX_SAFE_INTEGER : NOW + (obj._deleteDelayMs || 200);
        write(resource, obj);
        extra.clustersLeft = list("${CLUSTER_CRD}", null).length;
        return extra;
    }
    if (resource === "services" && obj.spec && obj.spec.type === "LoadBalancer" && obj._deleteDelayMs !== 0) {
        obj.metadata.deletionTimestamp = stamp;
        obj._deleteAt = obj._stuck ? Number.MAX_SAFE_INTEGER : NOW + (obj._deleteDelayMs || 200);
        write(resource, obj);
        return extra;
    }
    remove(resource, obj);
    if (resource === "persistentvolumeclaims") {
        for (const pv of list("persistentvolumes", null)) {
            const ref = pv.spec.claimRef || {};
            if (ref.namespace !== obj.metadata.namespace || ref.name !== obj.metadata.name) continue;
            if (pv.spec.persistentVolumeReclaimPolicy === "Delete") {
                pv.metadata.deletionTimestamp = stamp;
                pv._deleteAt = pv._stuck ? Number.MAX_SAFE_INTEGER : NOW + (pv._deleteDelayMs || 300);
            } else {
                pv.status = { phase: "Released" };
            }
            write("persistentvolumes", pv);
        }
    }
    return extra;
}

function mergePatch(target, p) {
    for (const [k, v] of Object.entries(p)) {
        if (v === null) delete target[k];
        else if (typeof v === "object" && !Array.isArray(v)) {
            if (typeof target[k] !== "object" || target[k] === null) target[k] = {};
            mergePatch(target[k], v);
        } else target[k] = v;
    }
}

// --- commands ---
const verb = words[0];
if (verb === "get" && raw !== null) {
    failureFor("get", "raw");
    if (raw !== "/readyz") fail("fake kubectl: unsupported --raw " + raw, 64);
    done("ok");
}
if (verb === "get") {
    const resource = resourceOf(words[1]);
    failureFor("get", resource);
    if (words.length > 2) {
        const obj = get(resource, namespace, words[2]);
        if (!obj) {
            if (ignoreNotFound) done("");
            notFound(resource, words[2]);
        }
        done(format(resource, [obj], true));
    }
    done(format(resource, list(resource, allNamespaces ? null : namespace), false));
}
if (verb === "delete") {
    const resource = resourceOf(words[1]);
    failureFor("delete", resource);
    let targets;
    if (all) {
        targets = list(resource, allNamespaces ? null : namespace);
    } else {
        if (words.length !== 3) fail("fake kubectl: delete needs one name or --all", 64);
        const obj = get(resource, namespace, words[2]);
        if (!obj) {
            if (ignoreNotFound) done("");
            notFound(resource, words[2]);
        }
        targets = [obj];
    }
    let extra = {};
    for (const obj of targets) extra = { ...extra, ...deleteObject(resource, obj) };
    done(targets.map((o) => resource + ' "' + o.metadata.name + '" deleted\\n').join(""), extra);
}
if (verb === "patch") {
    const resource = resourceOf(words[1]);
    failureFor("patch", resource);
    if (patchType !== "merge" || patch === null || words.length !== 3) fail("fake kubectl: only --type=merge patches of one object", 64);
    const obj = get(resource, namespace, words[2]);
    if (!obj) notFound(resource, words[2]);
    mergePatch(obj, JSON.parse(patch));
    write(resource, obj);
    done(resource + "/" + words[2] + " patched\\n");
}
fail("fake kubectl: unsupported command " + args.join(" "), 64);
}

// A request: NUL-terminated fields, the first their count; then FAKE_STATE, FAKE_KUBECTL_LOG,
// FAKE_CLOCK_DIR, the client's pid and kubectl's arguments. The answer: the exit status,
// stdout and stderr, each NUL-terminated.
const parent = process.ppid;
const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on("error", () => {});
    sock.on("data", (data) => {
        buf = Buffer.concat([buf, data]);
        const fields = buf.toString("utf8").split("\\0");
        const count = Number(fields[0]);
        if (fields.length < count + 2) return;
        const [state, log, clock, pid, ...args] = fields.slice(1, count + 1);
        const out = { out: "", err: "" };
        let code;
        try {
            kubectl(args, state, log, clock, Number(pid), out);
            code = 70;
        } catch (e) {
            if (e instanceof Hang) return;
            if (e instanceof Exit) code = e.code;
            else {
                out.err += "fake kubectl crashed: " + (e && e.stack) + "\\n";
                code = 70;
            }
        }
        sock.end(code + "\\0" + out.out + "\\0" + out.err + "\\0");
    });
});
server.listen(0, "127.0.0.1", () => {
    const portFile = process.argv[2];
    fs.writeFileSync(portFile + ".tmp", String(server.address().port));
    fs.renameSync(portFile + ".tmp", portFile);
});
// Ends with the test process.
setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
}, 500);
`;
}

let serverPort: number | undefined;

/** Port of the fake kubectl's server, started on first use and ended with this process. */
function kubectlServerPort(): number {
    if (serverPort === undefined) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-fake-kubectl-"));
        const script = path.join(dir, "server.js");
        const portFile = path.join(dir, "port");
        fs.writeFileSync(script, fakeKubectlServer());
        const child = spawn(process.execPath, [script, portFile], { stdio: "ignore" });
        child.unref();
        process.on("exit", () => {
            child.kill();
            fs.rmSync(dir, { recursive: true, force: true });
        });
        // A guard against a server that cannot start, not a bound any test depends on.
        const giveUp = Date.now() + 60_000;
        while (!fs.existsSync(portFile)) {
            if (Date.now() > giveUp || child.exitCode !== null) {
                throw new Error("the fake kubectl's server did not start");
            }
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        }
        serverPort = Number(fs.readFileSync(portFile, "utf8"));
    }
    return serverPort;
}

/** Options of a workload cluster in {@link FakeCapi.addCluster}. */
export interface FakeClusterOptions {
    /** Virtual milliseconds from the Cluster's deletion until it is gone (default 0). */
    deleteDelayMs?: number;
    /** The Cluster never goes away once deleted. */
    stuck?: boolean;
    /** The Cluster is already being deleted (gone `deleteDelayMs` after the start). */
    alreadyDeleting?: boolean;
    /** Whether its kubeconfig Secret exists (default true). */
    secret?: boolean;
    /** Its workload API refuses connections. */
    unreachable?: boolean;
    /** Its workload API never answers. */
    hangs?: boolean;
}

/** A workload cluster made by {@link FakeCapi.addCluster}. */
export interface FakeWorkload {
    namespace: string;
    name: string;
    /** Context of the workload cluster in the fake. */
    ctx: string;
    /** The bearer token in its kubeconfig: must never be printed or passed on a command line. */
    token: string;
    /** Its kubeconfig, base64 as in the Secret. */
    encodedKubeconfig: string;
}

/**
 * A fake server: fake `kind` and `kubectl` first on PATH, the management cluster's
 * kubeconfig, and the state of the management and workload clusters.
 */
export class FakeCapi {
    /** The virtual clock of the runs: the script's sleeps and the objects' delays are on it. */
    readonly clock: FakeClock;
    readonly bin: string;
    readonly state: string;
    readonly tmp: string;
    readonly kubectlLog: string;
    readonly kindLog: string;
    readonly mgmtKubeconfig: string;
    /** The file the user creates to say the workload clusters are gone (CLUSTERS_GONE_FILE). */
    readonly goneFile: string;
    /** Where the teardown writes its Flux resume script (FLUX_RESUME_SCRIPT). */
    readonly resumeScript: string;

    constructor(readonly root: string) {
        this.bin = path.join(root, "bin");
        this.state = path.join(root, "state");
        this.tmp = path.join(root, "tmp");
        this.kubectlLog = path.join(root, "kubectl.log");
        this.kindLog = path.join(root, "kind.log");
        this.mgmtKubeconfig = path.join(root, "var", "lib", "capi-mgmt", "kubeconfig");
        this.goneFile = path.join(root, "var", "lib", "capi-mgmt", "workload-clusters-gone");
        this.resumeScript = path.join(root, "var", "lib", "capi-mgmt", "resume-flux.sh");
        this.clock = new FakeClock(path.join(root, "clock"));
        for (const d of [this.bin, this.tmp, path.join(this.state, "mgmt"), path.dirname(this.mgmtKubeconfig)]) {
            fs.mkdirSync(d, { recursive: true });
        }
        installFake(this.bin, "kubectl", "kubectl-client.sh");
        installFake(this.bin, "kind", "fake-kind.sh");
        fs.writeFileSync(this.kubectlLog, "");
        fs.writeFileSync(this.kindLog, "");
        fs.writeFileSync(this.mgmtKubeconfig, "apiVersion: v1\nkind: Config\ncurrent-context: mgmt\n", { mode: 0o600 });
    }

    /** Environment for running the script (or the fake kubectl) against this fake, on its clock. */
    env(extra: Record<string, string> = {}): Record<string, string> {
        return this.clock.env({
            PATH: `${this.bin}:${process.env.PATH}`,
            TMPDIR: this.tmp,
            FAKE_STATE: this.state,
            FAKE_KUBECTL_LOG: this.kubectlLog,
            FAKE_KIND_LOG: this.kindLog,
            FAKE_KUBECTL_PORT: String(kubectlServerPort()),
            ...extra,
        });
    }

    /** Runs `script` under `bash -s` against this fake, on its virtual clock. */
    run(script: string, extra: Record<string, string> = {}): RunResult {
        return this.clock.run(script, this.env(extra));
    }

    /** The kind clusters `kind get clusters` lists. */
    setKindClusters(names: string[]): void {
        fs.writeFileSync(path.join(this.state, "_kind_clusters"), names.map((n) => `${n}\n`).join(""));
    }

    /** Makes the fake send `signal` to the script's root process on the next `verb` of `resource` in `ctx` (then answer as usual). */
    signalOn(ctx: string, verb: string, resource: string, signal = "SIGHUP"): void {
        fs.writeFileSync(path.join(this.state, ctx, `_signal-${verb}-${resource}`), signal);
    }

    /** Makes the fake fail `verb` on `resource` in `ctx` (`raw` for `get --raw`). */
    failOn(ctx: string, verb: string, resource: string, message = ""): void {
        fs.writeFileSync(path.join(this.state, ctx, `_fail-${verb}-${resource}`), message);
    }

    private file(ctx: string, resource: string, ns: string | undefined, name: string): string {
        return path.join(this.state, ctx, resource, ns ?? "_", `${name}.json`);
    }

    /** Stores an object (namespace `_` directory for cluster-scoped ones). */
    put(ctx: string, resource: string, obj: FakeObject): void {
        const file = this.file(ctx, resource, obj.metadata.namespace, obj.metadata.name);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify(obj));
    }

    /** The stored objects of a resource (including deleted ones not yet gone). */
    objects(ctx: string, resource: string): FakeObject[] {
        const base = path.join(this.state, ctx, resource);
        if (!fs.existsSync(base)) {
            return [];
        }
        return fs
            .readdirSync(base)
            .sort()
            .flatMap((ns) =>
                fs
                    .readdirSync(path.join(base, ns))
                    .filter((f) => f.endsWith(".json"))
                    .sort()
                    .map((f) => JSON.parse(fs.readFileSync(path.join(base, ns, f), "utf8")) as FakeObject),
            );
    }

    /** Names (`namespace/name`, or `name` if cluster-scoped) of the objects not deleted or gone. */
    live(ctx: string, resource: string): string[] {
        return this.objects(ctx, resource)
            .filter((o) => o._deleteAt === undefined || o._deleteAt > this.clock.nowMs())
            .map((o) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name));
    }

    /** Installs a CRD in `ctx`. */
    installCrd(ctx: string, name: string): void {
        this.put(ctx, "customresourcedefinitions", {
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            metadata: { name },
        });
    }

    /** Installs Cluster API on the management cluster. */
    installClusterApi(): void {
        this.installCrd("mgmt", CLUSTER_CRD);
    }

    /** Installs ORC with node images (`namespace/name`) that take `deleteDelayMs` to go, or never. */
    installOrcImages(images: string[], opts: { deleteDelayMs?: number; stuck?: boolean } = {}): void {
        this.installCrd("mgmt", ORC_IMAGE_CRD);
        for (const id of images) {
            const [namespace, name] = id.split("/");
            this.put("mgmt", ORC_IMAGE_CRD, {
                apiVersion: "openstack.k-orc.cloud/v1alpha1",
                kind: "Image",
                metadata: { namespace, name },
                spec: { managementPolicy: "managed" },
                _deleteDelayMs: opts.deleteDelayMs,
                _stuck: opts.stuck,
            });
        }
    }

    /**
     * Installs Flux with Kustomizations and HelmReleases (`namespace/name`) in `ctx` (the
     * management cluster unless given); those in `suspended` are suspended already.
     */
    installFlux(kustomizations: string[], helmReleases: string[], ctx = "mgmt", suspended: string[] = []): void {
        this.installCrd(ctx, KUSTOMIZATION_CRD);
        this.installCrd(ctx, HELMRELEASE_CRD);
        const add = (resource: string, kind: string, apiVersion: string, id: string): void => {
            const [namespace, name] = id.split("/");
            const spec = { interval: "10m", prune: true, ...(suspended.includes(id) ? { suspend: true } : {}) };
            this.put(ctx, resource, { apiVersion, kind, metadata: { namespace, name }, spec });
        };
        kustomizations.forEach((id) => add(KUSTOMIZATION_CRD, "Kustomization", "kustomize.toolkit.fluxcd.io/v1", id));
        helmReleases.forEach((id) => add(HELMRELEASE_CRD, "HelmRelease", "helm.toolkit.fluxcd.io/v2", id));
    }

    /** Adds a workload Cluster, its kubeconfig Secret and an empty workload cluster. */
    addCluster(namespace: string, name: string, opts: FakeClusterOptions = {}): FakeWorkload {
        const ctx = `wl-${namespace}-${name}`;
        const token = `token-${name}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
        const kubeconfig = [
            "apiVersion: v1",
            "kind: Config",
            `clusters: [{name: ${name}, cluster: {server: "https://${ctx}.example.test:6443"}}]`,
            `users: [{name: ${name}-admin, user: {token: ${token}}}]`,
            `contexts: [{name: ${ctx}, context: {cluster: ${name}, user: ${name}-admin}}]`,
            `current-context: ${ctx}`,
            "",
        ].join("\n");
        const encodedKubeconfig = Buffer.from(kubeconfig).toString("base64");
        const cluster: FakeObject = {
            apiVersion: "cluster.x-k8s.io/v1beta2",
            kind: "Cluster",
            metadata: { namespace, name },
            spec: { topology: { classRef: { name: "openstack" }, version: "v1.33.1" } },
            _deleteDelayMs: opts.deleteDelayMs ?? 0,
            _stuck: opts.stuck ?? false,
        };
        if (opts.alreadyDeleting) {
            cluster.metadata.deletionTimestamp = new Date(this.clock.nowMs()).toISOString();
            cluster._deleteAt = opts.stuck ? Number.MAX_SAFE_INTEGER : this.clock.nowMs() + (opts.deleteDelayMs ?? 0);
        }
        this.put("mgmt", CLUSTER_CRD, cluster);
        if (opts.secret ?? true) {
            this.put("mgmt", "secrets", {
                apiVersion: "v1",
                kind: "Secret",
                metadata: { namespace, name: `${name}-kubeconfig`, labels: { "cluster.x-k8s.io/cluster-name": name } },
                type: "cluster.x-k8s.io/secret",
                data: { value: encodedKubeconfig },
            });
        }
        fs.mkdirSync(path.join(this.state, ctx), { recursive: true });
        this.put(ctx, "namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "kube-system" } });
        if (opts.unreachable) {
            fs.writeFileSync(path.join(this.state, ctx, "_unreachable"), "");
        }
        if (opts.hangs) {
            fs.writeFileSync(path.join(this.state, ctx, "_hang"), "");
        }
        return { namespace, name, ctx, token, encodedKubeconfig };
    }

    /** Adds a Service of the given type in a workload cluster. */
    addService(w: FakeWorkload, id: string, type: "LoadBalancer" | "ClusterIP", deleteDelayMs?: number): void {
        const [namespace, name] = id.split("/");
        this.put(w.ctx, "services", {
            apiVersion: "v1",
            kind: "Service",
            metadata: { namespace, name },
            spec: { type, ports: [{ port: 443 }] },
            _deleteDelayMs: deleteDelayMs,
        });
    }

    /** Adds a PVC bound to a PV with the given reclaim policy (PV name: `pv-<name>`). */
    addClaim(w: FakeWorkload, id: string, policy: "Delete" | "Retain", deleteDelayMs?: number): void {
        const [namespace, name] = id.split("/");
        this.put(w.ctx, "persistentvolumeclaims", {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            metadata: { namespace, name },
            spec: { accessModes: ["ReadWriteOnce"], volumeName: `pv-${name}` },
        });
        this.put(w.ctx, "persistentvolumes", {
            apiVersion: "v1",
            kind: "PersistentVolume",
            metadata: { name: `pv-${name}` },
            spec: {
                persistentVolumeReclaimPolicy: policy,
                claimRef: { namespace, name },
                csi: { driver: "cinder.csi.openstack.org", volumeHandle: `vol-${name}` },
            },
            status: { phase: "Bound" },
            _deleteDelayMs: deleteDelayMs,
        });
    }

    /** Adds a workload (`resource` e.g. `deployments`) whose pod template mounts `claims` (none: no PVC). */
    addWorkload(w: FakeWorkload, resource: string, id: string, claims: string[] = [], extraSpec: Record<string, unknown> = {}): void {
        const [namespace, name] = id.split("/");
        const kinds: Record<string, [string, string]> = {
            deployments: ["apps/v1", "Deployment"],
            statefulsets: ["apps/v1", "StatefulSet"],
            daemonsets: ["apps/v1", "DaemonSet"],
            replicasets: ["apps/v1", "ReplicaSet"],
            jobs: ["batch/v1", "Job"],
            cronjobs: ["batch/v1", "CronJob"],
            pods: ["v1", "Pod"],
        };
        const volumes = [
            { name: "config", configMap: { name: "config" } },
            ...claims.map((c, i) => ({ name: `data${i}`, persistentVolumeClaim: { claimName: c } })),
        ];
        const podSpec = { containers: [{ name: "app", image: "registry.example.test/app:1" }], volumes };
        let spec: Record<string, unknown>;
        if (resource === "pods") {
            spec = podSpec;
        } else if (resource === "cronjobs") {
            spec = { schedule: "*/5 * * * *", jobTemplate: { spec: { template: { spec: podSpec } } } };
        } else {
            spec = { template: { spec: podSpec } };
        }
        const [apiVersion, kind] = kinds[resource];
        this.put(w.ctx, resource, { apiVersion, kind, metadata: { namespace, name }, spec: { ...spec, ...extraSpec } });
    }

    /** Installs the VolumeSnapshot CRD in a workload cluster and adds snapshots (`namespace/name`). */
    addSnapshots(w: FakeWorkload, ids: string[]): void {
        this.installCrd(w.ctx, SNAPSHOT_CRD);
        for (const id of ids) {
            const [namespace, name] = id.split("/");
            this.put(w.ctx, SNAPSHOT_CRD, {
                apiVersion: "snapshot.storage.k8s.io/v1",
                kind: "VolumeSnapshot",
                metadata: { namespace, name },
                spec: { source: { persistentVolumeClaimName: "data" } },
            });
        }
    }

    /** The fake kubectl calls, in the order they started. */
    calls(): KubectlCall[] {
        return fs
            .readFileSync(this.kubectlLog, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l) as KubectlCall)
            .sort((a, b) => a.t - b.t);
    }

    /** The fake kind calls (their arguments). */
    kindCalls(): string[] {
        return fs
            .readFileSync(this.kindLog, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => l.replace(/^\d+ /, ""));
    }
}
