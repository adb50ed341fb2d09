// One call of the fake kubectl of the teardown tests (test/fakes/teardownFakes.ts): reads and writes
// the fake API server's state, one JSON file per object under FAKE_STATE, logs the call as a JSON
// line, and simulates what the teardown depends on (see teardownFakes.ts). Run by server.cjs; the
// resources it knows are in resources.cjs.
"use strict";
/* global require, module, process, performance */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS program run by node
const fs = require("fs");
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS program run by node
const path = require("path");
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS program run by node
const { jsonpath } = require("./jsonpath.cjs");
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS program run by node
const { CLUSTER_CRD, KUSTOMIZATION_CRD, HELMRELEASE_CRD, SNAPSHOT_CRD, ALIASES, BUILTIN, CLUSTER_SCOPED, POD_SPECS } = require("./resources.cjs");

/** Ends a call with an exit status. */
class Exit {
    constructor(code) {
        this.code = code;
    }
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
        fs.appendFileSync(LOG, JSON.stringify({ ...entry, ...extra }) + "\n");
    }
    function fail(message, code = 1) {
        out.err += message + "\n";
        log({ exit: code, error: message });
        throw new Exit(code);
    }
    function done(text = "", extra = {}) {
        out.out += text;
        log({ exit: 0, ...extra });
        throw new Exit(0);
    }

    // --- arguments ---
    let kubeconfig = null,
        output = null,
        namespace = null,
        allNamespaces = false,
        ignoreNotFound = false;
    let all = false,
        raw = null,
        patch = null,
        patchType = null;
    const words = [];
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        const value = () => {
            if (i + 1 >= args.length) fail("fake kubectl: " + a + " needs a value", 64);
            return args[++i];
        };
        const after = (prefix) => a.slice(prefix.length);
        if (a === "--kubeconfig") kubeconfig = value();
        else if (a.startsWith("--kubeconfig=")) kubeconfig = after("--kubeconfig=");
        else if (a === "--request-timeout") value();
        else if (a.startsWith("--request-timeout=")) {
            /* ignored, as before */
        } else if (a === "-o" || a === "--output") output = value();
        else if (a.startsWith("-o=")) output = after("-o=");
        else if (a.startsWith("--output=")) output = after("--output=");
        else if (a === "-n" || a === "--namespace") namespace = value();
        else if (a.startsWith("--namespace=")) namespace = after("--namespace=");
        else if (a === "-A" || a === "--all-namespaces") allNamespaces = true;
        else if (a === "--ignore-not-found" || a === "--ignore-not-found=true") ignoreNotFound = true;
        else if (a === "--all") all = true;
        else if (a === "--wait=false") {
            /* ignored, as before */
        } else if (a === "--raw") raw = value();
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
    } catch {
        fail("error: stat " + kubeconfig + ": no such file or directory");
    }
    const contextMatch = /^current-context:[ \t]*(\S+)[ \t]*$/m.exec(kubeconfigText);
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
            fail("error: the server doesn't have a resource type \"" + word + '"');
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
        try {
            fs.unlinkSync(file);
        } catch (e) {
            if (e.code !== "ENOENT") throw e;
        }
    }
    /** Removes the object stored in file (in any context). */
    function reap(resource, file, obj) {
        unlink(file);
        if (resource === CLUSTER_CRD) {
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
            for (const f of fs
                .readdirSync(d)
                .filter((f) => f.endsWith(".json"))
                .sort()) {
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

    function format(resource, objs, single) {
        if (output === "name") return objs.map((o) => resource + "/" + o.metadata.name + "\n").join("");
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
            out.err += "No resources found\n";
            return "";
        }
        const rows = objs.map(
            (o) => (o.metadata.namespace || "") + "   " + o.metadata.name + "   " + (o.metadata.deletionTimestamp ? "Deleting" : "Provisioned"),
        );
        return "NAMESPACE   NAME   PHASE\n" + rows.join("\n") + "\n";
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
            snapshots: list(SNAPSHOT_CRD, null, dir).length,
            claimWorkloads,
        };
    }

    function deleteObject(resource, obj) {
        const stamp = new Date(NOW).toISOString();
        const extra = {};
        if (obj.metadata.deletionTimestamp) return extra;
        if (resource === CLUSTER_CRD) {
            obj.metadata.deletionTimestamp = stamp;
            obj._deleteAt = obj._stuck ? Number.MAX_SAFE_INTEGER : NOW + (obj._deleteDelayMs || 0);
            write(resource, obj);
            extra.goneAt = obj._stuck ? null : obj._deleteAt;
            extra.workloadLeft = workloadLeft("wl-" + obj.metadata.namespace + "-" + obj.metadata.name);
            extra.fluxUnsuspended = [KUSTOMIZATION_CRD, HELMRELEASE_CRD]
                .map((r) => list(r, null).filter((o) => !(o.spec && o.spec.suspend === true)).length)
                .reduce((a, b) => a + b, 0);
            return extra;
        }
        if (resource.endsWith(".openstack.k-orc.cloud")) {
            // ORC's finalizer holds the object until the OpenStack resource is gone.
            obj.metadata.deletionTimestamp = stamp;
            obj._deleteAt = obj._stuck ? Number.MAX_SAFE_INTEGER : NOW + (obj._deleteDelayMs || 200);
            write(resource, obj);
            extra.clustersLeft = list(CLUSTER_CRD, null).length;
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
        done(targets.map((o) => resource + ' "' + o.metadata.name + '" deleted\n').join(""), extra);
    }
    if (verb === "patch") {
        const resource = resourceOf(words[1]);
        failureFor("patch", resource);
        if (patchType !== "merge" || patch === null || words.length !== 3) fail("fake kubectl: only --type=merge patches of one object", 64);
        const obj = get(resource, namespace, words[2]);
        if (!obj) notFound(resource, words[2]);
        mergePatch(obj, JSON.parse(patch));
        write(resource, obj);
        done(resource + "/" + words[2] + " patched\n");
    }
    fail("fake kubectl: unsupported command " + args.join(" "), 64);
}

module.exports = { kubectl, Exit, Hang };
