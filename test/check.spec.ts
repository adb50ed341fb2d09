import "mocha";
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { SERVER_USER } from "../src/cloud/server";
import {
    CHECK_RESULTS_DIR,
    CheckUsageError,
    conformanceScriptFor,
    DEFAULT_POLL_SECONDS,
    DEFAULT_TIMEOUT_MINUTES,
    parseCheckArgs,
    parseStackOutputs,
    SERVER_LOGIN_USER,
    sshArgs,
} from "../src/cluster/check";
import { HOST_STATE_DIR } from "../src/host/hostScripts";
import { installFake, logLines, makeTempDir } from "./fakes/shell";

const REPO = path.resolve(__dirname, "..");

/** A login key of the right shape; its body must never be printed. */
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nS0VZLUJPRFktTkVWRVItUFJJTlRFRA==\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_LINE = "192.0.2.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyOfTheStack";

function outputs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        floatingIp: "192.0.2.10",
        sshKnownHosts: HOST_LINE,
        sshPrivateKey: PRIVATE_KEY,
        sshCommand: "ssh -i dev.key ...",
        deployed: { serverGeneration: 1, prefix: "dev", availabilityZone: "", flavor: "m1", workloadNamespace: "workloads", gitops: true },
        ...overrides,
    };
}

function usageError(argv: string[]): string {
    try {
        parseCheckArgs(argv);
    } catch (e) {
        assert.ok(e instanceof CheckUsageError, String(e));
        return e.message;
    }
    assert.fail(`no error for ${argv.join(" ")}`);
}

describe("check (npm run check): arguments, outputs, ssh", () => {
    it("parses --stack, --cluster and --mode with the mode's default bound", () => {
        assert.deepStrictEqual(parseCheckArgs(["--stack", "dev", "--cluster", "clusters/workload-1"]), {
            stack: "dev",
            cluster: { namespace: "clusters", name: "workload-1" },
            mode: "quick",
            timeoutMinutes: DEFAULT_TIMEOUT_MINUTES.quick,
            pollSeconds: DEFAULT_POLL_SECONDS,
        });
        assert.deepStrictEqual(parseCheckArgs(["--stack=org/capi-mgmt/prod", "--cluster=workload-1", "--mode=conformance", "--timeout", "300", "--poll=60"]), {
            stack: "org/capi-mgmt/prod",
            cluster: { name: "workload-1" },
            mode: "conformance",
            timeoutMinutes: 300,
            pollSeconds: 60,
        });
        assert.strictEqual(parseCheckArgs(["--stack", "dev", "--cluster", "w", "--mode", "conformance"])?.timeoutMinutes, DEFAULT_TIMEOUT_MINUTES.conformance);
        assert.strictEqual(parseCheckArgs(["--help"]), undefined);
    });

    it("refuses bad arguments, naming the flag", () => {
        const cases: Array<[string[], RegExp]> = [
            [["--cluster", "w"], /^--stack: required/],
            [["--stack", "dev"], /^--cluster: required/],
            [["--stack", "dev", "--cluster", "a/b/c"], /^--cluster: must be <namespace>\/<name> or <name>/],
            [["--stack", "dev", "--cluster", "Workload_1"], /^--cluster: "Workload_1" is not a Cluster name/],
            [["--stack", "dev", "--cluster", "NS/w"], /^--cluster: "NS" is not a namespace name/],
            [["--stack", "dev", "--cluster", "w", "--mode", "full"], /^--mode: must be quick or conformance, got "full"/],
            [["--stack", "dev", "--cluster", "w", "--timeout", "0"], /^--timeout: must be a whole number from 1 to 1440, got "0"/],
            [["--stack", "dev", "--cluster", "w", "--poll", "1.5"], /^--poll: must be a whole number from 5 to 600/],
            [["--stack", "dev", "--cluster", "w", "--wait", "3"], /^--wait: unknown flag/],
            [["--stack", "dev", "--stack", "prod", "--cluster", "w"], /^--stack: given twice/],
            [["--stack", "--cluster", "w"], /^--stack: needs a value/],
            [["--stack", "dev", "workload-1"], /^unexpected argument "workload-1"/],
            [["--stack", "dev;rm", "--cluster", "w"], /^--stack: "dev;rm" is not a stack name/],
        ];
        for (const [argv, message] of cases) {
            assert.match(usageError(argv), message, argv.join(" "));
        }
    });

    it("reads host, pinned host key, login key and workload namespace from the stack outputs", () => {
        const t = parseStackOutputs("dev", JSON.stringify(outputs()));
        assert.deepStrictEqual(t, { host: "192.0.2.10", knownHosts: `${HOST_LINE}\n`, privateKey: PRIVATE_KEY, workloadNamespace: "workloads" });
        const legacy = parseStackOutputs("dev", JSON.stringify(outputs({ deployed: undefined })));
        assert.strictEqual(legacy.workloadNamespace, "clusters");
    });

    it("names each missing or malformed output", () => {
        assert.throws(() => parseStackOutputs("dev", "not json"), /stack dev: 'pulumi stack output --json' did not print JSON/);
        assert.throws(
            () => parseStackOutputs("dev", "{}"),
            (e: Error) =>
                /output floatingIp is missing/.test(e.message) &&
                /output sshKnownHosts is missing/.test(e.message) &&
                /output sshPrivateKey is missing/.test(e.message),
        );
        assert.throws(
            () => parseStackOutputs("dev", JSON.stringify(outputs({ sshPrivateKey: "[secret]" }))),
            /output sshPrivateKey is missing or not a private key/,
        );
        assert.throws(
            () => parseStackOutputs("dev", JSON.stringify(outputs({ sshKnownHosts: "198.51.100.1 ssh-ed25519 AAAA" }))),
            /output sshKnownHosts is missing or has no host key line for floatingIp/,
        );
    });

    it("builds ssh with the host key pinned (never accepted on first use) and only the login key", () => {
        const args = sshArgs({ host: "192.0.2.10", user: "ubuntu", keyFile: "/tmp/d/id", knownHostsFile: "/tmp/d/known_hosts" });
        const options = args.filter((_, i) => args[i - 1] === "-o");
        for (const o of [
            "StrictHostKeyChecking=yes",
            "UserKnownHostsFile=/tmp/d/known_hosts",
            "GlobalKnownHostsFile=/dev/null",
            "UpdateHostKeys=no",
            "IdentitiesOnly=yes",
            "BatchMode=yes",
        ]) {
            assert.ok(options.includes(o), `${o} missing: ${args.join(" ")}`);
        }
        assert.ok(!args.some((a) => /StrictHostKeyChecking=(no|accept-new|off)/i.test(a)));
        assert.deepStrictEqual(args.slice(0, 2), ["-i", "/tmp/d/id"]);
        assert.deepStrictEqual(args.slice(-2), ["ubuntu@192.0.2.10", "sudo bash -s"]);
        assert.strictEqual(SERVER_LOGIN_USER, SERVER_USER);
    });

    it("renders the host script for the Cluster, in the stack's workload namespace unless --cluster names one", () => {
        const target = parseStackOutputs("dev", JSON.stringify(outputs()));
        const short = conformanceScriptFor(parseCheckArgs(["--stack", "dev", "--cluster", "workload-1"])!, target);
        assert.match(short, /^readonly NAMESPACE='workloads'$/m);
        assert.match(short, /^readonly CLUSTER='workload-1'$/m);
        assert.match(short, /^readonly MODE='quick'$/m);
        assert.match(short, /^readonly TIMEOUT_SECONDS='1800'$/m);
        const full = conformanceScriptFor(parseCheckArgs(["--stack", "dev", "--cluster", "other/w2", "--mode", "conformance", "--timeout", "200"])!, target);
        assert.match(full, /^readonly NAMESPACE='other'$/m);
        assert.match(full, /^readonly MODE='certified-conformance'$/m);
        assert.match(full, /^readonly TIMEOUT_SECONDS='12000'$/m);
        assert.ok(CHECK_RESULTS_DIR.startsWith(`${HOST_STATE_DIR}/`));
    });
});

/** The operator's machine: fake pulumi and ssh first on PATH, its own TMPDIR. */
class Workstation {
    readonly dir = makeTempDir("check-driver");
    readonly bin = path.join(this.dir, "bin");
    readonly tmp = path.join(this.dir, "tmp");
    readonly log = path.join(this.dir, "calls.log");

    constructor(stackOutputs: Record<string, unknown> = outputs()) {
        fs.mkdirSync(this.bin, { recursive: true });
        fs.mkdirSync(this.tmp, { recursive: true });
        installFake(this.bin, "pulumi", "check/pulumi.sh");
        installFake(this.bin, "ssh", "check/ssh.sh");
        fs.writeFileSync(path.join(this.dir, "outputs.json"), JSON.stringify(stackOutputs));
        fs.writeFileSync(path.join(this.dir, "key"), PRIVATE_KEY);
        fs.writeFileSync(this.log, "");
    }

    env(extra: Record<string, string>): NodeJS.ProcessEnv {
        return {
            PATH: `${this.bin}:${process.env.PATH}`,
            HOME: this.dir,
            TMPDIR: this.tmp,
            FAKE_LOG: this.log,
            FAKE_DIR: this.dir,
            FAKE_STACK: "dev",
            FAKE_OUTPUTS: path.join(this.dir, "outputs.json"),
            FAKE_EXPECTED_KEY: path.join(this.dir, "key"),
            ...extra,
        };
    }

    static readonly ARGS = ["-r", "ts-node/register/transpile-only", path.join(REPO, "render", "check.ts")];

    run(argv: string[], extra: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
        const r = spawnSync(process.execPath, [...Workstation.ARGS, ...argv], { cwd: REPO, env: this.env(extra), encoding: "utf8", timeout: 120000 });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    calls(): string[] {
        return logLines(this.log);
    }

    script(): string {
        return fs.readFileSync(path.join(this.dir, "script.sh"), "utf8");
    }
}

function assertQuiet(w: Workstation, r: { stdout: string; stderr: string }): void {
    for (const text of [r.stdout, r.stderr]) {
        assert.ok(!text.includes("S0VZLUJPRFktTkVWRVItUFJJTlRFRA"), `the private key was printed:\n${text}`);
    }
    // (ts-node keeps its compile cache in TMPDIR too.)
    assert.deepStrictEqual(
        fs.readdirSync(w.tmp).filter((f) => f.startsWith("capi-mgmt-check-")),
        [],
        "the key's temporary directory is left behind",
    );
}

describe("check (npm run check): the driver with fake pulumi and ssh", function () {
    this.timeout(180000);
    const ARGV = ["--stack", "dev", "--cluster", "clusters/workload-1"];

    it("reads the outputs, sends the host script over ssh with the key and pinned host key in private files, streams, removes them", () => {
        const w = new Workstation();
        const r = w.run([...ARGV, "--mode", "conformance"]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /^remote: conformance output$/m);
        assert.match(r.stderr, /conformance check of clusters\/workload-1 from ubuntu@192\.0\.2\.10 \(stack dev, bound 240 min\)/);
        const calls = w.calls();
        assert.strictEqual(calls[0], "pulumi stack output --json --show-secrets --stack dev");
        const dir = calls.find((l) => l.startsWith("dir "))!.slice(4);
        assert.ok(dir.startsWith(path.join(w.tmp, "capi-mgmt-check-")), dir);
        assert.ok(calls.includes("key mode 600 dir mode 700"), calls.join("\n"));
        assert.ok(calls.includes(`known_hosts mode 600 content ${HOST_LINE}`), calls.join("\n"));
        assert.ok(calls.includes("key is the stack's login key"), calls.join("\n"));
        const args = calls.find((l) => l.startsWith("args "))!;
        assert.ok(args.includes(`-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${dir}/known_hosts`), args);
        assert.ok(args.endsWith("-T ubuntu@192.0.2.10 sudo bash -s"), args);
        const script = w.script();
        assert.ok(script.startsWith("#!/usr/bin/env bash\n# Parameters rendered by capi-mgmt"), script.slice(0, 200));
        assert.match(script, /^readonly NAMESPACE='clusters'$/m);
        assert.match(script, /^readonly MODE='certified-conformance'$/m);
        assert.ok(!fs.existsSync(dir), "temp dir not removed");
        assertQuiet(w, r);
    });

    it("exits with the server's status: 1 failed, 2 timed out", () => {
        const w = new Workstation();
        for (const code of [1, 2]) {
            const r = w.run(ARGV, { FAKE_SSH_EXIT: String(code) });
            assert.strictEqual(r.status, code, r.stderr);
            assertQuiet(w, r);
        }
    });

    it("ssh failing (unreachable, host key mismatch): exit 255 saying so", () => {
        const w = new Workstation();
        const r = w.run(ARGV, { FAKE_SSH_EXIT: "255" });
        assert.strictEqual(r.status, 255);
        assert.match(r.stderr, /ssh to ubuntu@192\.0\.2\.10 failed \(exit 255\).*host key is not the stack's sshKnownHosts/);
        assertQuiet(w, r);
    });

    it("bad arguments: exit 2 naming the flag, before pulumi or ssh run", () => {
        const w = new Workstation();
        const r = w.run(["--stack", "dev", "--cluster", "clusters/workload-1", "--mode", "full"]);
        assert.strictEqual(r.status, 2);
        assert.match(r.stderr, /^npm run check: --mode: must be quick or conformance, got "full"\n\nusage: npm run check/);
        assert.deepStrictEqual(w.calls(), []);
    });

    it("pulumi failing or an output missing: exit 3 with the reason, no ssh, no key written", () => {
        const w = new Workstation();
        const r = w.run(ARGV, { FAKE_PULUMI_FAIL: "1" });
        assert.strictEqual(r.status, 3);
        assert.match(r.stderr, /'pulumi stack output --stack dev' failed \(exit 255\): error: no stack named 'dev' found/);
        const w2 = new Workstation(outputs({ sshPrivateKey: undefined }));
        const r2 = w2.run(ARGV);
        assert.strictEqual(r2.status, 3);
        assert.match(r2.stderr, /stack dev: output sshPrivateKey is missing/);
        for (const [ws, res] of [
            [w, r],
            [w2, r2],
        ] as const) {
            assert.ok(!ws.calls().some((l) => l.startsWith("args ")), "ssh ran");
            assertQuiet(ws, res);
        }
    });

    it("SIGINT while the check runs: ends ssh, removes the key, exits 130", async () => {
        const w = new Workstation();
        const child = spawn(process.execPath, [...Workstation.ARGS, ...ARGV], {
            cwd: REPO,
            env: w.env({ FAKE_SSH_HANG: "1" }),
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
        // Wait (bounded) for the fake ssh to be running, then interrupt the driver.
        const started = path.join(w.dir, "started");
        for (let i = 0; i < 1200 && !fs.existsSync(started); i++) {
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.ok(fs.existsSync(started), `ssh never started:\n${stderr}`);
        const dir = w
            .calls()
            .find((l) => l.startsWith("dir "))!
            .slice(4);
        assert.ok(fs.existsSync(path.join(dir, "id")), "the key file should exist while ssh runs");
        child.kill("SIGINT");
        const code = await closed;
        assert.strictEqual(code, 130, stderr);
        assert.ok(w.calls().includes("ssh got TERM"), w.calls().join("\n"));
        assert.match(stderr, /SIGINT: ending the session; the server deletes sonobuoy's objects from the cluster when it notices/);
        assertQuiet(w, { stdout, stderr });
    });
});
