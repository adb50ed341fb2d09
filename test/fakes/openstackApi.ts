/**
 * A fake OpenStack API (Keystone, Octavia, Neutron, Cinder: the calls src/host/scripts/lb-cleanup.sh
 * makes) as a real HTTP server on loopback, in its own process, so a script run with
 * spawnSync talks to it over TCP with the real curl. Each {@link FakeOpenstack} is one
 * cloud: a directory holding its state (`state.json`, read and written on every request)
 * and the log of the requests it served (`requests.log`, one `METHOD path?query STATUS`
 * line each). The server is started on first use and ends with the test process.
 *
 * It behaves as the real services do where the cleanup depends on it: Keystone issues a
 * token for the right application credential only (X-Subject-Token, a catalog); Octavia
 * refuses to delete a load balancer with children unless `cascade=true`, marks it
 * PENDING_DELETE and removes it (with its VIP port: its floating IPs lose their port) on
 * the next read; Neutron and Cinder delete by id (404 for what is gone), Cinder refuses an
 * attached volume. List filters in the query are deliberately ignored (only the project
 * scopes a list): the script must select what it deletes itself. `failures` injects
 * answers: `"METHOD /path": [status, ...]` are returned, one per request, before the real one.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** An Octavia load balancer of the fake. */
export interface FakeLb {
    id: string;
    name: string;
    vip_network_id: string;
    vip_port_id: string;
    provisioning_status: string;
    project_id: string;
    /** Has listeners/pools (deletion needs cascade). */
    children?: boolean;
}

/** A Neutron floating IP of the fake. */
export interface FakeFip {
    id: string;
    floating_ip_address: string;
    port_id: string | null;
    description: string;
    project_id: string;
}

/** A Cinder volume of the fake. */
export interface FakeVolume {
    id: string;
    status: string;
    size: number;
    metadata: Record<string, string>;
    project_id: string;
}

/** The state of one fake cloud. */
export interface FakeCloudState {
    /** Application credential Keystone accepts. */
    credential: { id: string; secret: string };
    project: string;
    loadbalancers: FakeLb[];
    floatingips: FakeFip[];
    volumes: FakeVolume[];
    /** Answers injected before the real one, per "METHOD /path" (path without the cloud's prefix). */
    failures: Record<string, number[]>;
}

function serverSource(): string {
    return String.raw`
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");
const ROOT = process.argv[2];
const parent = process.ppid;
function send(res, code, body, headers = {}) {
    res.writeHead(code, { "Content-Type": "application/json", ...headers });
    res.end(body === undefined ? "" : JSON.stringify(body));
}
const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c) => (data += c));
    req.on("end", () => {
        const url = new URL(req.url, "http://x");
        const parts = url.pathname.split("/").filter(Boolean);
        const cloud = parts.shift();
        const dir = path.join(ROOT, cloud || "-");
        const stateFile = path.join(dir, "state.json");
        if (!cloud || !fs.existsSync(stateFile)) return send(res, 404, { error: "no such cloud" });
        const st = JSON.parse(fs.readFileSync(stateFile, "utf8"));
        const rel = "/" + parts.join("/");
        const key = req.method + " " + rel;
        let code;
        let body;
        let headers = {};
        const injected = st.failures[key];
        if (injected && injected.length > 0) {
            code = injected.shift();
            body = { faultstring: "injected failure" };
        } else {
            [code, body, headers] = handle(st, req, rel, url, data, cloud);
        }
        fs.writeFileSync(stateFile + ".tmp", JSON.stringify(st));
        fs.renameSync(stateFile + ".tmp", stateFile);
        fs.appendFileSync(path.join(dir, "requests.log"), req.method + " " + rel + url.search + " " + code + "\n");
        send(res, code, body, headers || {});
    });
});
function handle(st, req, rel, url, data, cloud) {
    if (req.method === "POST" && rel === "/identity/v3/auth/tokens") {
        let ok = false;
        try {
            const ac = JSON.parse(data).auth.identity.application_credential;
            ok = ac.id === st.credential.id && ac.secret === st.credential.secret;
        } catch (e) {}
        if (!ok) return [401, { error: { code: 401, message: "The request you have made requires authentication." } }];
        const base = "http://127.0.0.1:" + server.address().port + "/" + cloud;
        const ep = (type, url) => ({ type, endpoints: [
            { interface: "internal", region_id: "RegionOne", url: base + "/wrong-interface" },
            { interface: "public", region_id: "OtherRegion", url: base + "/wrong-region" },
            { interface: "public", region_id: "RegionOne", url } ] });
        const catalog = [ep("load-balancer", base + "/octavia"), ep("network", base + "/neutron"), ep("block-storage", base + "/cinder/v3/" + st.project)];
        return [201, { token: { project: { id: st.project }, catalog } }, { "X-Subject-Token": "token-" + cloud }];
    }
    if (req.headers["x-auth-token"] !== "token-" + cloud) return [401, { error: "no token" }];
    let m;
    if (req.method === "GET" && rel === "/octavia/v2/lbaas/loadbalancers") {
        // What was PENDING_DELETE when last read is gone now, with its VIP port.
        for (const lb of st.loadbalancers.filter((l) => l.provisioning_status === "PENDING_DELETE" && l.seen)) {
            for (const f of st.floatingips) if (f.port_id === lb.vip_port_id) f.port_id = null;
        }
        st.loadbalancers = st.loadbalancers.filter((l) => !(l.provisioning_status === "PENDING_DELETE" && l.seen));
        for (const l of st.loadbalancers) if (l.provisioning_status === "PENDING_DELETE") l.seen = true;
        return [200, { loadbalancers: st.loadbalancers.filter((l) => l.project_id === st.project) }];
    }
    if (req.method === "DELETE" && (m = /^\/octavia\/v2\/lbaas\/loadbalancers\/([^/]+)$/.exec(rel))) {
        const lb = st.loadbalancers.find((l) => l.id === m[1] && l.project_id === st.project);
        if (!lb) return [404, { faultstring: "Load Balancer " + m[1] + " not found." }];
        if (lb.provisioning_status.startsWith("PENDING_")) return [409, { faultstring: "Invalid state " + lb.provisioning_status }];
        if (lb.children && url.searchParams.get("cascade") !== "true") return [400, { faultstring: "Cannot delete Load Balancer - it has children" }];
        lb.provisioning_status = "PENDING_DELETE";
        return [204, undefined];
    }
    if (req.method === "GET" && rel === "/neutron/v2.0/floatingips") {
        return [200, { floatingips: st.floatingips.filter((f) => f.project_id === st.project) }];
    }
    if (req.method === "DELETE" && (m = /^\/neutron\/v2\.0\/floatingips\/([^/]+)$/.exec(rel))) {
        const i = st.floatingips.findIndex((f) => f.id === m[1] && f.project_id === st.project);
        if (i < 0) return [404, { NeutronError: { type: "FloatingIPNotFound" } }];
        st.floatingips.splice(i, 1);
        return [204, undefined];
    }
    if (req.method === "GET" && rel === "/cinder/v3/" + st.project + "/volumes/detail") {
        return [200, { volumes: st.volumes.filter((v) => v.project_id === st.project) }];
    }
    if (req.method === "DELETE" && (m = new RegExp("^/cinder/v3/" + st.project + "/volumes/([^/]+)$").exec(rel))) {
        const v = st.volumes.find((x) => x.id === m[1] && x.project_id === st.project);
        if (!v) return [404, { itemNotFound: { code: 404 } }];
        if (v.status !== "available") return [400, { badRequest: { message: "Invalid volume: Volume status must be available" } }];
        st.volumes = st.volumes.filter((x) => x !== v);
        return [202, undefined];
    }
    return [404, { error: "not faked: " + req.method + " " + rel }];
}
server.listen(0, "127.0.0.1", () => {
    fs.writeFileSync(path.join(ROOT, "port.tmp"), String(server.address().port));
    fs.renameSync(path.join(ROOT, "port.tmp"), path.join(ROOT, "port"));
});
setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
}, 500);
`;
}

let root: string | undefined;
let port: number | undefined;
let clouds = 0;

/** Starts the server once per test process; returns its root directory and port. */
function server(): { root: string; port: number } {
    if (root === undefined || port === undefined) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-fake-openstack-"));
        fs.writeFileSync(path.join(dir, "server.js"), serverSource());
        const child = spawn(process.execPath, [path.join(dir, "server.js"), dir], { stdio: "ignore" });
        child.unref();
        process.on("exit", () => {
            child.kill();
            fs.rmSync(dir, { recursive: true, force: true });
        });
        const portFile = path.join(dir, "port");
        // A guard against a server that cannot start, not a bound any test depends on.
        const giveUp = Date.now() + 60_000;
        while (!fs.existsSync(portFile)) {
            if (Date.now() > giveUp || child.exitCode !== null) {
                throw new Error("the fake OpenStack API did not start");
            }
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        }
        root = dir;
        port = Number(fs.readFileSync(portFile, "utf8"));
    }
    return { root, port };
}

/** One fake cloud of the server. */
export class FakeOpenstack {
    readonly name: string;
    private readonly dir: string;
    /** Keystone's URL as a clouds.yaml has it. */
    readonly authUrl: string;

    constructor(initial: Omit<FakeCloudState, "failures"> & { failures?: Record<string, number[]> }) {
        const s = server();
        this.name = `cloud${process.pid}-${++clouds}`;
        this.dir = path.join(s.root, this.name);
        fs.mkdirSync(this.dir);
        this.authUrl = `http://127.0.0.1:${s.port}/${this.name}/identity`;
        this.state = { failures: {}, ...initial };
        fs.writeFileSync(path.join(this.dir, "requests.log"), "");
    }

    get state(): FakeCloudState {
        return JSON.parse(fs.readFileSync(path.join(this.dir, "state.json"), "utf8")) as FakeCloudState;
    }

    set state(s: FakeCloudState) {
        fs.writeFileSync(path.join(this.dir, "state.json"), JSON.stringify(s));
    }

    /** The requests served so far, `METHOD /path?query STATUS` each. */
    requests(): string[] {
        return fs.readFileSync(path.join(this.dir, "requests.log"), "utf8").split("\n").filter(Boolean);
    }

    /** The mutating requests (everything but GET and the token) served so far. */
    changes(): string[] {
        return this.requests().filter((r) => !r.startsWith("GET ") && !r.startsWith("POST /identity/"));
    }
}
