import "mocha";
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { renderUserData } from "../src/host/cloudInit";
import { HOST_SCRIPTS_DIR } from "../src/host/hostScripts";
import {
    METADATA_ADDRESS,
    METADATA_BLOCK_SCRIPT_PATH,
    METADATA_BLOCK_UNIT,
    METADATA_BLOCK_UNIT_PATH,
    renderMetadataBlockInstallScript,
    renderMetadataBlockScript,
    renderMetadataBlockUnit,
} from "../src/host/metadataBlock";
import { assertSuccess, hasShellcheck, installFake, makeTempDir, runScript, shellcheck, skipTest } from "./fakes/shell";
import { requireSystemdAnalyze, systemdVerify } from "./systemdVerify";
import { TEST_HOST_PRIVATE_KEY, TEST_HOST_PUBLIC_KEY } from "./fixtures";
import { runStack } from "./harness";

const HOST_PRIVATE_KEY = TEST_HOST_PRIVATE_KEY;
const HOST_PUBLIC_KEY = TEST_HOST_PUBLIC_KEY;
const LOGIN_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDOVaHfp78RBjmOuA8BdRu9cfl7klpkNcN6F/J14Q8QK";
const PROXY = { http: "http://proxy.example:3128", noProxy: "localhost,127.0.0.1,169.254.169.254" };

interface UserData {
    write_files: Array<{ path: string; content: string; permissions: string }>;
    ssh_keys: Record<string, string>;
    runcmd: Array<string | string[]>;
}

function userData(): { text: string; doc: UserData } {
    const text = renderUserData({
        dockerMtu: 1450,
        hostKey: { privateKeyOpenssh: HOST_PRIVATE_KEY, publicKeyOpenssh: HOST_PUBLIC_KEY },
        loginPublicKey: LOGIN_PUBLIC_KEY,
        proxy: PROXY,
    });
    return { text, doc: parse(text) as UserData };
}

describe("metadata service closed to the server's containers: user-data", () => {
    it("installs src/host/scripts/metadata-block.sh and a unit that runs it on every boot before Docker, which requires it", () => {
        const { doc } = userData();
        const script = doc.write_files.find((f) => f.path === METADATA_BLOCK_SCRIPT_PATH);
        assert.ok(script, `write_files has no ${METADATA_BLOCK_SCRIPT_PATH}`);
        assert.strictEqual(script.permissions, "0755");
        assert.strictEqual(script.content, renderMetadataBlockScript());
        assert.ok(script.content.split("\n").includes(`readonly METADATA_ADDRESS='${METADATA_ADDRESS}'`));
        const unit = doc.write_files.find((f) => f.path === METADATA_BLOCK_UNIT_PATH);
        assert.ok(unit, `write_files has no ${METADATA_BLOCK_UNIT_PATH}`);
        const lines = unit.content.split("\n");
        for (const line of [
            "Before=docker.service",
            "Type=oneshot",
            "RemainAfterExit=yes",
            `ExecStart=${METADATA_BLOCK_SCRIPT_PATH}`,
            "WantedBy=multi-user.target",
            "RequiredBy=docker.service",
        ]) {
            assert.ok(lines.includes(line), `${line} missing from the unit:\n${unit.content}`);
        }
    });

    it("its unit passes systemd-analyze verify (with the script in place), and a broken one would not", function () {
        requireSystemdAnalyze(this, "systemd-analyze verify of the metadata-block unit", "multi-user.target");
        const verify = (unit: string) =>
            systemdVerify(
                [
                    { path: METADATA_BLOCK_UNIT_PATH, content: unit, mode: 0o644 },
                    { path: METADATA_BLOCK_SCRIPT_PATH, content: renderMetadataBlockScript(), mode: 0o755 },
                ],
                [METADATA_BLOCK_UNIT_PATH],
            );
        const r = verify(renderMetadataBlockUnit());
        assert.strictEqual(r.status, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /capi-mgmt-metadata-block/, r.stderr);
        assert.match(verify(renderMetadataBlockUnit().replace("Type=oneshot", "Type=oneshott")).stderr, /oneshott/);
    });

    it("enables and starts it during the first boot, before Docker is enabled and before the completion marker", () => {
        const { doc } = userData();
        const at = (cmd: string[]) => doc.runcmd.findIndex((c) => JSON.stringify(c) === JSON.stringify(cmd));
        const reload = at(["systemctl", "daemon-reload"]);
        const enable = at(["systemctl", "enable", "--now", METADATA_BLOCK_UNIT]);
        assert.ok(reload >= 0 && enable > reload, JSON.stringify(doc.runcmd));
        assert.ok(enable < at(["systemctl", "enable", "--now", "docker.service"]));
        assert.strictEqual(doc.runcmd[0], "set -e", "a failure must stop cloud-init before the marker");
    });

    it("holds no secret but the host private key (no credential, no other key)", () => {
        const { text, doc } = userData();
        assert.strictEqual(text.match(/PRIVATE KEY-----/g)?.length, 2, "only the host key's BEGIN/END lines");
        assert.strictEqual(doc.ssh_keys.ed25519_private, HOST_PRIVATE_KEY);
        assert.deepStrictEqual(Object.keys(doc.ssh_keys).sort(), ["ed25519_private", "ed25519_public"]);
        const rest = JSON.stringify({ ...doc, ssh_keys: undefined });
        assert.doesNotMatch(rest, /PRIVATE|password|passwd|secret|token|application_credential|clouds\.yaml|kubeconfig|BEGIN (RSA|EC|OPENSSH)/i);
        assert.doesNotMatch(rest, /:\/\/[^/\s"]*@/, "a URL with credentials");
        const keyBody = HOST_PRIVATE_KEY.split("\n")[2];
        assert.ok(!rest.includes(keyBody), "a piece of the host key outside ssh_keys");
    });

    it("src/host/scripts/metadata-block.sh and src/host/scripts/metadata-block-install.sh pass shellcheck", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of src/host/scripts/metadata-block*.sh", "shellcheck");
        }
        shellcheck(["metadata-block.sh", "metadata-block-install.sh"].map((f) => path.join(HOST_SCRIPTS_DIR, f)));
    });
});

describe("metadata service closed to the server's containers: servers created before (the metadata-block step)", function () {
    this.timeout(120000);

    it("installs the same script and unit as cloud-init, enables the unit and runs it now; idempotent (bash, fake systemctl)", () => {
        const dir = makeTempDir("metadata-block");
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const log = path.join(dir, "systemctl.log");
        installFake(bin, "systemctl", "host/systemctl-log.sh");
        const paths = { scriptPath: path.join(dir, "usr/local/sbin/capi-mgmt-metadata-block"), unitPath: path.join(dir, "etc/systemd/system/x.service") };
        const script = renderMetadataBlockInstallScript(paths);
        for (let run = 1; run <= 2; run++) {
            assertSuccess(runScript(script, { PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: log }));
            assert.strictEqual(fs.readFileSync(paths.scriptPath, "utf8"), renderMetadataBlockScript());
            assert.strictEqual(fs.statSync(paths.scriptPath).mode & 0o777, 0o755);
            assert.strictEqual(fs.readFileSync(paths.unitPath, "utf8"), renderMetadataBlockUnit());
            assert.strictEqual(fs.statSync(paths.unitPath).mode & 0o777, 0o644);
            assert.deepStrictEqual(fs.readdirSync(path.dirname(paths.unitPath)), ["x.service"], "a temporary file is left behind");
        }
        const once = ["systemctl daemon-reload", `systemctl enable ${METADATA_BLOCK_UNIT}`, `systemctl restart ${METADATA_BLOCK_UNIT}`];
        assert.deepStrictEqual(fs.readFileSync(log, "utf8").trim().split("\n"), [...once, ...once]);
    });

    it("is a step of every server: after readiness, before anything else runs on the host, again on a new server", async () => {
        const run = await runStack("dev");
        const step = run.one("command:remote:Command", "metadata-block");
        assert.strictEqual(step.inputs.create, "sudo bash -s");
        assert.strictEqual(step.inputs.stdin, renderMetadataBlockInstallScript());
        assert.ok(run.dependsOn(step, run.one("command:remote:Command", "wait-ready")));
        assert.ok(run.dependsOn(run.one("command:remote:Command", "host-proxy"), step));
        assert.ok(run.dependsOn(run.one("command:remote:Command", "install-tools"), step));
        assert.deepStrictEqual(step.inputs.triggers, [`${run.one("openstack:compute/instance:Instance", "server").name}-id`]);
    });
});

/** Runs a command, returning its status and output. */
function sh(args: string[], input?: string): { status: number | null; out: string } {
    const r = spawnSync(args[0], args.slice(1), { input, encoding: "utf8", timeout: 60000 });
    return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

function must(args: string[], input?: string): string {
    const r = sh(args, input);
    assert.strictEqual(r.status, 0, `${args.join(" ")}: ${r.out}`);
    return r.out;
}

/** Why the network-namespace proof cannot run here, or undefined when it can. */
function namespacesMissing(): string | undefined {
    if (process.getuid?.() !== 0) {
        return "root";
    }
    const probe = `capi-mgmt-probe-${crypto.randomBytes(4).toString("hex")}`;
    if (sh(["ip", "netns", "add", probe]).status !== 0) {
        return "`ip netns` (iproute2, CAP_SYS_ADMIN)";
    }
    try {
        const ok =
            sh(["ip", "netns", "exec", probe, "iptables", "-w", "-N", "PROBE"]).status === 0 &&
            sh(["ip", "netns", "exec", probe, "iptables", "-w", "-A", "PROBE", "-d", "192.0.2.1/32", "-j", "REJECT", "--reject-with", "icmp-port-unreachable"])
                .status === 0;
        return ok ? undefined : "iptables with the REJECT target inside a network namespace";
    } finally {
        sh(["ip", "netns", "del", probe]);
    }
}

/**
 * Connects from namespace `ns` to `address`:8080 and says how it went: "connected" (the
 * listener answered), or the error code (ECONNREFUSED for the rule's reject). The 20 s bound
 * only guards against a dropped packet hanging the test; no outcome depends on it.
 */
function connect(ns: string, address: string): string {
    const probe =
        `const s = require("net").connect(8080, ${JSON.stringify(address)});` +
        `const t = setTimeout(() => { console.log("TIMEOUT"); process.exit(0); }, 20000);` +
        `s.on("data", (d) => { console.log(String(d).trim() === "metadata" ? "connected" : "other"); clearTimeout(t); s.destroy(); });` +
        `s.on("error", (e) => { console.log(e.code); clearTimeout(t); });`;
    return must(["ip", "netns", "exec", ns, process.execPath, "-e", probe]).trim();
}

describe("metadata service closed to the server's containers: the rule in network namespaces the test makes", function () {
    this.timeout(120000);
    const id = crypto.randomBytes(3).toString("hex");
    // host: the server (Docker's FORWARD chain); ctr: a container behind it; cloud: the metadata service and another address.
    const host = `capi-mgmt-${id}-host`;
    const ctr = `capi-mgmt-${id}-ctr`;
    const cloud = `capi-mgmt-${id}-cloud`;
    const OTHER = "198.51.100.7";
    let listener: ChildProcess | undefined;

    before(async function () {
        const missing = namespacesMissing();
        if (missing) {
            skipTest(this, "the metadata rule's proof in network namespaces", missing);
        }
        for (const ns of [host, ctr, cloud]) {
            must(["ip", "netns", "add", ns]);
            must(["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        must(["ip", "link", "add", "c0", "netns", ctr, "type", "veth", "peer", "name", "h0", "netns", host]);
        must(["ip", "link", "add", "h1", "netns", host, "type", "veth", "peer", "name", "m0", "netns", cloud]);
        for (const [ns, dev, addr] of [
            [ctr, "c0", "10.88.0.2/24"],
            [host, "h0", "10.88.0.1/24"],
            [host, "h1", "10.99.0.1/24"],
            [cloud, "m0", "10.99.0.2/24"],
        ]) {
            must(["ip", "-n", ns, "addr", "add", addr, "dev", dev]);
            must(["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        must(["ip", "-n", ctr, "route", "add", "default", "via", "10.88.0.1"]);
        must(["ip", "-n", cloud, "route", "add", "default", "via", "10.99.0.1"]);
        for (const addr of [METADATA_ADDRESS, OTHER]) {
            must(["ip", "-n", cloud, "addr", "add", `${addr}/32`, "dev", "lo"]);
            must(["ip", "-n", host, "route", "add", `${addr}/32`, "via", "10.99.0.2"]);
        }
        must(["ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        // The metadata service (and the other address): answers "metadata" on 8080.
        listener = spawn("ip", [
            "netns",
            "exec",
            cloud,
            process.execPath,
            "-e",
            `require("net").createServer((s) => s.end("metadata\\n")).listen(8080, "0.0.0.0", () => console.log("listening"));`,
        ]);
        await new Promise<void>((resolve, reject) => {
            listener!.stdout!.on("data", (d) => (String(d).includes("listening") ? resolve() : undefined));
            listener!.on("exit", (code) => reject(new Error(`the listener exited (${code})`)));
        });
    });

    after(() => {
        listener?.kill();
        for (const ns of [host, ctr, cloud]) {
            sh(["ip", "netns", "del", ns]);
        }
    });

    const script = (): string => renderMetadataBlockScript();
    const runScript = (): string => must(["ip", "netns", "exec", host, "bash", "-s"], script());
    const dockerUser = (): string[] => must(["ip", "netns", "exec", host, "iptables", "-w", "-S", "DOCKER-USER"]).trim().split("\n");
    /** What Docker does at start: create DOCKER-USER if missing, append RETURN if missing, jump to it first from FORWARD. */
    const dockerStarts = (): void => {
        const ipt = (...a: string[]) => sh(["ip", "netns", "exec", host, "iptables", "-w", ...a]);
        if (ipt("-n", "-L", "DOCKER-USER").status !== 0) {
            must(["ip", "netns", "exec", host, "iptables", "-w", "-N", "DOCKER-USER"]);
        }
        if (ipt("-C", "DOCKER-USER", "-j", "RETURN").status !== 0) {
            must(["ip", "netns", "exec", host, "iptables", "-w", "-A", "DOCKER-USER", "-j", "RETURN"]);
        }
        if (ipt("-C", "FORWARD", "-j", "DOCKER-USER").status !== 0) {
            must(["ip", "netns", "exec", host, "iptables", "-w", "-I", "FORWARD", "-j", "DOCKER-USER"]);
        }
    };
    const reset = (): void => {
        must(["ip", "netns", "exec", host, "iptables", "-w", "-F", "FORWARD"]);
        sh(["ip", "netns", "exec", host, "iptables", "-w", "-F", "DOCKER-USER"]);
        sh(["ip", "netns", "exec", host, "iptables", "-w", "-X", "DOCKER-USER"]);
    };

    it("without the rule a container reaches the metadata service (the topology is real)", () => {
        reset();
        dockerStarts();
        assert.strictEqual(connect(ctr, METADATA_ADDRESS), "connected");
    });

    it("Docker first, then the rule: containers are refused the metadata service at once, other addresses and the host itself are not", () => {
        reset();
        dockerStarts();
        assert.match(runScript(), /containers cannot reach 169\.254\.169\.254/);
        assert.strictEqual(connect(ctr, METADATA_ADDRESS), "ECONNREFUSED");
        assert.strictEqual(connect(ctr, OTHER), "connected");
        assert.strictEqual(connect(host, METADATA_ADDRESS), "connected", "the host's own traffic (cloud-init) must still reach it");
        assert.strictEqual(dockerUser()[1], `-A DOCKER-USER -d ${METADATA_ADDRESS}/32 -j REJECT --reject-with icmp-port-unreachable`);
    });

    it("the rule first (a reboot: the unit runs before Docker), then Docker: still refused; running it again adds nothing", () => {
        reset();
        runScript();
        dockerStarts();
        runScript();
        dockerStarts();
        assert.strictEqual(connect(ctr, METADATA_ADDRESS), "ECONNREFUSED");
        assert.strictEqual(connect(ctr, OTHER), "connected");
        assert.deepStrictEqual(dockerUser(), [
            "-N DOCKER-USER",
            `-A DOCKER-USER -d ${METADATA_ADDRESS}/32 -j REJECT --reject-with icmp-port-unreachable`,
            "-A DOCKER-USER -j RETURN",
        ]);
    });
});
