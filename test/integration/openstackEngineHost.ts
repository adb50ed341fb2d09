/**
 * What the OpenStack engine tests (openstackEngine.integration.ts) need of the engine besides
 * engineBed.ts: the stand-in plugins for pulumi-command and pulumi-tls (test/integration/standins/)
 * installed in a throw-away PULUMI_HOME, the watch on the engine's peers, and the kubeconfig the
 * `kubeconfig` step's stand-in returns. The OpenStack project's side is in openstackEngineBed.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { EngineHome, sdkVersion } from "./engineBed";
import { ControlPlane } from "./harness/controlPlane";
import { loopback, sockets } from "./openstackBed";

/** The stand-in plugins (test/integration/standins/), by plugin name, with the SDK that asks for them. */
export const STAND_IN_PLUGINS = {
    command: { file: "commandProvider.ts", sdk: "@pulumi/command" },
    tls: { file: "tlsProvider.ts", sdk: "@pulumi/tls" },
} as const;

/**
 * Installs each stand-in as plugin `NAME` at the version its SDK asks for: a small launcher
 * (`pulumi-resource-NAME`) that runs the stand-in's TypeScript with this Node.js and ts-node.
 */
export function installStandIns(home: EngineHome): void {
    const projectDir = path.resolve(__dirname, "..", "..");
    const bin = path.join(home.dir, "stand-in-bin");
    fs.mkdirSync(bin, { recursive: true });
    for (const [name, p] of Object.entries(STAND_IN_PLUGINS)) {
        const launcher = path.join(bin, `pulumi-resource-${name}`);
        fs.writeFileSync(
            launcher,
            [
                "#!/bin/sh",
                `# Stand-in for the ${name} provider plugin (test/integration/standins/${p.file}).`,
                `TS_NODE_PROJECT='${path.join(projectDir, "tsconfig.json")}' TS_NODE_TRANSPILE_ONLY=true \\`,
                `  exec '${process.execPath}' -r '${path.join(projectDir, "node_modules", "ts-node", "register", "transpile-only")}' '${path.join(__dirname, "standins", p.file)}' "$@"`,
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        const r = spawnSync(home.cli, ["plugin", "install", "resource", name, sdkVersion(p.sdk), "--file", launcher], {
            env: home.env(),
            encoding: "utf8",
            timeout: 120_000,
        });
        if (r.status !== 0) {
            throw new Error(`pulumi plugin install ${name} (stand-in) failed (${r.status}): ${r.stderr}${r.stdout}${r.error ?? ""}`);
        }
    }
}

/** A socket of one of this test's child processes (the CLI, its plugins) that leaves loopback. */
export interface StraySocket {
    pid: number;
    command: string;
    local: string;
    peer: string;
}

/**
 * Samples, while running, the TCP sockets of every descendant of this process (the Pulumi CLI the
 * Automation API starts and the provider plugins it starts) and keeps those that leave loopback.
 */
export class PeerWatch {
    readonly stray: StraySocket[] = [];
    /** Connections seen (loopback or not): shows the watch saw the engine at work. */
    seen = 0;
    private timer: NodeJS.Timeout | undefined;

    start(intervalMs = 300): void {
        const tick = () => {
            this.sample();
            this.timer = setTimeout(tick, intervalMs);
        };
        tick();
    }

    stop(): void {
        if (this.timer) {
            clearTimeout(this.timer);
        }
    }

    sample(): void {
        const ps = spawnSync("ps", ["-e", "-o", "pid=,ppid=,comm="], { encoding: "utf8" });
        const parent = new Map<number, number>();
        const comm = new Map<number, string>();
        for (const line of ps.stdout.split("\n")) {
            const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
            if (m) {
                parent.set(Number(m[1]), Number(m[2]));
                comm.set(Number(m[1]), m[3]);
            }
        }
        const ours = (pid: number): boolean => {
            for (let p = parent.get(pid), n = 0; p !== undefined && n < 32; p = parent.get(p), n++) {
                if (p === process.pid) {
                    return true;
                }
            }
            return false;
        };
        for (const s of sockets()) {
            if (s.state === "LISTEN") {
                continue;
            }
            const pid = s.pids.find(ours);
            if (pid === undefined) {
                continue;
            }
            this.seen++;
            if (!loopback(s.local) || !loopback(s.peer)) {
                this.stray.push({ pid, command: comm.get(pid) ?? "?", local: s.local, peer: s.peer });
            }
        }
    }
}

/**
 * The kubeconfig the `kubeconfig` step's stand-in returns: the test bed's API server, with an admin
 * client certificate from the test bed's CA that lasts 365 days, as kubeadm's `kubernetes-admin`
 * certificate does (the test bed's own last a day, which the program would rightly treat as due
 * for renewal on every `up`, src/cluster/certRenewal.ts).
 */
export function kindLikeKubeconfig(cp: ControlPlane): string {
    const dir = path.join(cp.dir, "standin-admin");
    fs.mkdirSync(dir, { recursive: true });
    const run = (args: string[]) => {
        const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
        if (r.status !== 0) {
            throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
        }
    };
    run([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "admin.key",
        "-out",
        "admin.csr",
        "-subj",
        "/O=system:masters/CN=kubernetes-admin",
    ]);
    fs.writeFileSync(
        path.join(dir, "admin.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
    );
    run([
        "x509",
        "-req",
        "-in",
        "admin.csr",
        "-CA",
        cp.pki.caCert,
        "-CAkey",
        cp.pki.caKey,
        "-CAcreateserial",
        "-days",
        "365",
        "-out",
        "admin.crt",
        "-extfile",
        "admin.ext",
    ]);
    const b64 = (f: string) => fs.readFileSync(f).toString("base64");
    return toYaml({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "kind", cluster: { server: cp.server, "certificate-authority-data": b64(cp.pki.caCert) } }],
        users: [
            {
                name: "kubernetes-admin",
                user: { "client-certificate-data": b64(path.join(dir, "admin.crt")), "client-key-data": b64(path.join(dir, "admin.key")) },
            },
        ],
        contexts: [{ name: "kind", context: { cluster: "kind", user: "kubernetes-admin" } }],
        "current-context": "kind",
    });
}
