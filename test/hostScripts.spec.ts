import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { InstallToolsParams, renderInstallToolsScript, renderWaitReadyScript } from "../src/host/bootstrapScripts";
import { expandIncludes, HOST_INCLUDES_DIR, HOST_SCRIPT_INCLUDES, HOST_SCRIPTS_DIR, renderHostScript, renderHostScriptText } from "../src/host/hostScripts";
import { ProxyEnv } from "../src/host/proxy";
import { DEFAULT_VERSIONS, ToolDownload, ToolName, toolDownloads } from "../src/versions/versions";
import { assertFailure, assertSuccess, hasShellcheck, installFake, makeTempDir, RunResult, runScript, shellcheck, skipTest } from "./fakes/shell";
import { FakeClock } from "./fakes/clock";
import { canRunAsLoginUser, FakeSudo } from "./fakes/sudo";

function writeExecutable(file: string, text: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text, { mode: 0o755 });
}

function sha256File(file: string): string {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** A hex string of 64 digits that is nobody's checksum. */
const WRONG_SHA = "0".repeat(64);

/** Small valid parameters, for renderer tests. */
function sampleInstallParams(overrides: Partial<InstallToolsParams> = {}): InstallToolsParams {
    return {
        tools: toolDownloads(DEFAULT_VERSIONS),
        installDir: "/usr/local/bin",
        stateDir: "/var/lib/capi-mgmt",
        retries: 3,
        ...overrides,
    };
}

describe("host scripts: rendering", () => {
    it("puts the parameters as readonly assignments right after the shebang", () => {
        const script = renderWaitReadyScript({ marker: "/var/lib/capi-mgmt/cloud-init.done", timeoutSeconds: 1800 });
        const lines = script.split("\n");
        assert.strictEqual(lines[0], "#!/usr/bin/env bash");
        assert.match(lines[1], /^# .*rendered by capi-mgmt/);
        assert.strictEqual(lines[2], "readonly MARKER='/var/lib/capi-mgmt/cloud-init.done'");
        assert.strictEqual(lines[3], "readonly TIMEOUT_SECONDS='1800'");
        const original = fs.readFileSync(path.join(HOST_SCRIPTS_DIR, "wait-ready.sh"), "utf8");
        assert.strictEqual(lines.slice(4).join("\n"), original.split("\n").slice(1).join("\n"));
    });

    it("renders install-tools with every tool's url and sha256 for the default versions", () => {
        const tools = toolDownloads(DEFAULT_VERSIONS);
        const script = renderInstallToolsScript(sampleInstallParams({ tools }));
        const lines = script.split("\n");
        assert.strictEqual(lines[2], "readonly INSTALL_DIR='/usr/local/bin'");
        assert.strictEqual(lines[3], "readonly STATE_DIR='/var/lib/capi-mgmt'");
        assert.strictEqual(lines[4], "readonly RETRIES='3'");
        assert.ok(lines[5].startsWith("readonly TOOLS='"), lines[5]);
        for (const t of tools) {
            assert.ok(script.includes(t.url), `missing url of ${t.name}`);
            assert.ok(script.includes(t.sha256), `missing sha256 of ${t.name}`);
            const line = [t.name, t.version, t.url, t.sha256, t.archiveMember ?? ""].join("|");
            assert.ok(
                script.split("\n").some((l) => l.replace(/^readonly TOOLS='/, "").replace(/'$/, "") === line),
                line,
            );
        }
    });

    it("is deterministic", () => {
        assert.strictEqual(renderInstallToolsScript(sampleInstallParams()), renderInstallToolsScript(sampleInstallParams()));
    });

    it("quotes a value containing a single quote safely", () => {
        const script = renderHostScript("wait-ready.sh", { MARKER: "/tmp/it's $(here) `x`", TIMEOUT_SECONDS: "5" });
        assert.ok(script.includes(`readonly MARKER='/tmp/it'\\''s $(here) \`x\`'`), script.split("\n")[2]);
        const header = script.split("\n").slice(0, 4).join("\n");
        const r = spawnSync("bash", ["-c", `${header}\nprintf '%s' "$MARKER"`], { encoding: "utf8" });
        assert.strictEqual(r.stdout, "/tmp/it's $(here) `x`");
        // A literal `$` or backquote: shellcheck is told it is meant (SC2016), for that line only.
        assert.strictEqual(script.split("\n")[2], "# shellcheck disable=SC2016 # a literal value, never expanded");
        assert.doesNotMatch(renderHostScript("wait-ready.sh", { MARKER: "/tmp/plain", TIMEOUT_SECONDS: "5" }), /SC2016/);
    });

    it("rejects a sha256 that is not 64 lowercase hex digits", () => {
        const [first, ...rest] = toolDownloads(DEFAULT_VERSIONS);
        for (const sha256 of ["abc", first.sha256.toUpperCase(), `${first.sha256}0`]) {
            assert.throws(
                () => renderInstallToolsScript(sampleInstallParams({ tools: [{ ...first, sha256 }, ...rest] })),
                /kind: sha256 must be 64 lowercase hex/,
            );
        }
    });

    it("rejects a url that is not https", () => {
        const [first, ...rest] = toolDownloads(DEFAULT_VERSIONS);
        for (const url of ["http://example.com/kind", "ftp://example.com/kind", "https://example.com/a|b", "not a url"]) {
            assert.throws(() => renderInstallToolsScript(sampleInstallParams({ tools: [{ ...first, url }, ...rest] })), /kind: url must be an https URL/);
        }
    });

    it("rejects tool fields with | or newlines, duplicate tools and unsafe archive members", () => {
        const [first, ...rest] = toolDownloads(DEFAULT_VERSIONS);
        const bad: Array<[Partial<ToolDownload>, RegExp]> = [
            [{ version: "v1|2" }, /version must match/],
            [{ version: "v1\n2" }, /version must match/],
            [{ archiveMember: "a|b" }, /archiveMember/],
            [{ archiveMember: "../../etc/passwd" }, /archiveMember/],
            [{ archiveMember: "/abs" }, /archiveMember/],
            [{ name: "Kind" as ToolName }, /tool name must match/],
        ];
        for (const [change, message] of bad) {
            const tools = [{ ...first, ...change }, ...rest];
            assert.throws(() => renderInstallToolsScript(sampleInstallParams({ tools })), message);
        }
        assert.throws(() => renderInstallToolsScript(sampleInstallParams({ tools: [first, first] })), /listed twice/);
        assert.throws(() => renderInstallToolsScript(sampleInstallParams({ tools: [] })), /at least one tool/);
    });

    it("rejects bad directories, retries, markers and timeouts", () => {
        assert.throws(() => renderInstallToolsScript(sampleInstallParams({ installDir: "usr/bin" })), /installDir/);
        assert.throws(() => renderInstallToolsScript(sampleInstallParams({ stateDir: "/var/lib\n/x" })), /stateDir/);
        assert.throws(() => renderInstallToolsScript(sampleInstallParams({ retries: 0 })), /retries/);
        assert.throws(() => renderInstallToolsScript(sampleInstallParams({ retries: 1.5 })), /retries/);
        assert.throws(() => renderWaitReadyScript({ marker: "/a\nb", timeoutSeconds: 5 }), /marker/);
        assert.throws(() => renderWaitReadyScript({ marker: "/a", timeoutSeconds: 0 }), /timeoutSeconds/);
    });

    it("validates names and values in the generic renderer", () => {
        assert.throws(() => renderHostScript("wait-ready.sh", { marker: "/a" }), /parameter name/);
        assert.throws(() => renderHostScript("wait-ready.sh", { MARKER: "/a\n/b" }), /MARKER must be a single line/);
        assert.throws(() => renderHostScript("wait-ready.sh", { MARKER: "/a\r" }), /control character/);
        assert.throws(() => renderHostScript("wait-ready.sh", { NOT_USED: "x" }), /not used by the script/);
        assert.throws(() => renderHostScript("../lib/versions.ts", {}), /host script name/);
        assert.throws(() => renderHostScript("missing.sh", {}), /ENOENT/);
    });
});

describe("host scripts: includes", () => {
    const SCRIPT = "#!/usr/bin/env bash\nset -euo pipefail\n# capi-mgmt:include proxy.sh\nuse_proxy\n";
    /** An include file as src/host/scripts/lib/ has them: the shellcheck line, a header comment, the body. */
    const LIB = '# shellcheck shell=bash\n# What this file is for.\n\nhello() {\n    echo "$GREETING"\n}\n';
    const readLib =
        (text: string) =>
        (name: string): string => {
            assert.strictEqual(name, "proxy.sh");
            return text;
        };

    it("replaces the include line by the file's body, without its header", () => {
        const out = expandIncludes("t.sh", SCRIPT, readLib(LIB));
        assert.strictEqual(out, '#!/usr/bin/env bash\nset -euo pipefail\nhello() {\n    echo "$GREETING"\n}\nuse_proxy\n');
    });

    it("puts src/host/scripts/lib/proxy.sh in the five scripts that include it, and no copy is left in src/host/scripts/", () => {
        const body = fs.readFileSync(path.join(HOST_INCLUDES_DIR, "proxy.sh"), "utf8");
        assert.ok(HOST_SCRIPT_INCLUDES.includes("proxy.sh"));
        const including = fs
            .readdirSync(HOST_SCRIPTS_DIR)
            .filter((f) => f.endsWith(".sh") && fs.readFileSync(path.join(HOST_SCRIPTS_DIR, f), "utf8").includes("\n# capi-mgmt:include proxy.sh\n"));
        assert.deepStrictEqual(including.sort(), ["capi-providers.sh", "install-tools.sh", "kind-cluster.sh", "lb-cleanup.sh", "orc.sh"]);
        for (const f of fs.readdirSync(HOST_SCRIPTS_DIR).filter((f) => f.endsWith(".sh"))) {
            assert.doesNotMatch(
                fs.readFileSync(path.join(HOST_SCRIPTS_DIR, f), "utf8"),
                /^(use_proxy|proxy_env_args)\(\)/m,
                `src/host/scripts/${f} defines a proxy helper again`,
            );
        }
        const rendered = renderInstallToolsScript(sampleInstallParams({ proxy: { https: "http://p.example:3128", noProxy: "localhost" } }));
        assert.ok(rendered.includes(body.slice(body.indexOf("\n\n") + 2)), "the rendered script has the body of src/host/scripts/lib/proxy.sh");
        assert.doesNotMatch(rendered, /capi-mgmt:include|shellcheck shell=bash/);
        assert.strictEqual(rendered.match(/^use_proxy\(\) \{$/gm)?.length, 1);
    });

    it("refuses an unknown include, naming the script and the allowed ones", () => {
        assert.throws(
            () => expandIncludes("t.sh", "#!/bin/bash\n# capi-mgmt:include secrets.sh\n", readLib(LIB)),
            /t\.sh: unknown include "secrets\.sh"; host scripts may include proxy\.sh/,
        );
        assert.throws(() => expandIncludes("t.sh", "#!/bin/bash\n# capi-mgmt:include ../proxy.sh\n", readLib(LIB)), /t\.sh: malformed include line/);
        assert.throws(() => expandIncludes("t.sh", "#!/bin/bash\n  #capi-mgmt: include proxy.sh\n", readLib(LIB)), /malformed include line/);
    });

    it("refuses a listed include whose file is missing, the same include twice, and a file without the shellcheck line", () => {
        const missing = (name: string): string => fs.readFileSync(path.join(makeTempDir("no-include"), name), "utf8");
        assert.throws(() => expandIncludes("t.sh", SCRIPT, missing), /t\.sh: cannot read include src\/host\/scripts\/lib\/proxy\.sh: ENOENT/);
        assert.throws(() => expandIncludes("t.sh", SCRIPT + "# capi-mgmt:include proxy.sh\n", readLib(LIB)), /t\.sh: includes proxy\.sh twice/);
        assert.throws(() => expandIncludes("t.sh", SCRIPT, readLib("hello() { :; }\n")), /must start with "# shellcheck shell=bash"/);
    });

    it("refuses nested includes", () => {
        const nested = "# shellcheck shell=bash\n\n# capi-mgmt:include proxy.sh\nhello() { :; }\n";
        assert.throws(
            () => expandIncludes("t.sh", SCRIPT, readLib(nested)),
            /t\.sh: include src\/host\/scripts\/lib\/proxy\.sh has an include line itself; includes do not nest/,
        );
    });

    it("counts a parameter used only by an included function, and still refuses one used nowhere", () => {
        // orc.sh reads PROXY_HTTP only inside use_proxy, which it includes.
        const source = fs.readFileSync(path.join(HOST_SCRIPTS_DIR, "orc.sh"), "utf8");
        assert.doesNotMatch(source, /\$\{?PROXY_HTTP\b/);
        assert.match(
            renderHostScript("orc.sh", { ORC_VERSION: "v2.6.0", WAIT_TIMEOUT_SECONDS: "5", PROXY_HTTP: "http://p.example:1" }),
            /^readonly PROXY_HTTP='http:\/\/p\.example:1'$/m,
        );
        // The same with a script and include of the test's own.
        const out = renderHostScriptText("t.sh", SCRIPT, { GREETING: "hi" }, {}, readLib(LIB));
        assert.match(out, /^readonly GREETING='hi'$/m);
        assert.throws(
            () => renderHostScriptText("t.sh", SCRIPT, { GREETING: "hi" }, {}, readLib(LIB.replace("$GREETING", "hello"))),
            /t\.sh: parameter GREETING is not used by the script/,
        );
        assert.throws(() => renderHostScriptText("t.sh", SCRIPT, { OTHER: "x" }, {}, readLib(LIB)), /parameter OTHER is not used/);
    });

    it("runs the included function in the rendered script", () => {
        const out = renderHostScriptText("t.sh", "#!/usr/bin/env bash\n# capi-mgmt:include proxy.sh\nhello\n", { GREETING: "it's included" }, {}, readLib(LIB));
        const run = spawnSync("bash", ["-s"], { input: out, encoding: "utf8" });
        assert.strictEqual(run.status, 0, run.stderr);
        assert.strictEqual(run.stdout, "it's included\n");
    });
});

describe("host scripts: shellcheck", () => {
    before(function () {
        if (!hasShellcheck()) {
            skipTest(this, "the shellcheck tests of src/host/scripts/*.sh", "shellcheck");
        }
    });

    it("passes on src/host/scripts/*.sh", () => {
        const files = fs.readdirSync(HOST_SCRIPTS_DIR).filter((f) => f.endsWith(".sh"));
        for (const f of ["install-tools.sh", "wait-ready.sh"]) {
            assert.ok(files.includes(f), `src/host/scripts/${f} is missing`);
        }
        shellcheck(files.map((f) => path.join(HOST_SCRIPTS_DIR, f)));
    });

    it("passes on the include files of src/host/scripts/lib on their own", () => {
        shellcheck(HOST_SCRIPT_INCLUDES.map((f) => path.join(HOST_INCLUDES_DIR, f)));
    });

    it("passes on the rendered scripts", () => {
        const dir = makeTempDir("shellcheck");
        const waitReady = path.join(dir, "wait-ready.sh");
        const installTools = path.join(dir, "install-tools.sh");
        fs.writeFileSync(waitReady, renderWaitReadyScript({ marker: "/var/lib/capi-mgmt/cloud-init.done", timeoutSeconds: 1800 }));
        fs.writeFileSync(installTools, renderInstallToolsScript(sampleInstallParams()));
        shellcheck([waitReady, installTools]);
    });
});

describe("src/host/scripts/wait-ready.sh", () => {
    let dir: string;
    let marker: string;
    let cloudInitLog: string;

    beforeEach(() => {
        dir = makeTempDir("wait-ready");
        installFake(path.join(dir, "bin"), "cloud-init", "host/cloud-init.sh");
        // Never the machine's sudo: as a user other than root the script looks through sudo.
        installFake(path.join(dir, "bin"), "sudo", "host/sudo-passthrough.sh");
        marker = path.join(dir, "state", "cloud-init.done");
        cloudInitLog = path.join(dir, "cloud-init.log");
    });

    function touchMarker(): void {
        fs.mkdirSync(path.dirname(marker), { recursive: true });
        fs.writeFileSync(marker, "");
    }

    function run(env: Record<string, string>, timeoutSeconds = 5): RunResult {
        const script = renderWaitReadyScript({ marker, timeoutSeconds });
        return runScript(script, {
            PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
            FAKE_CLOUD_INIT_LOG: cloudInitLog,
            ...env,
        });
    }

    it("succeeds when cloud-init is done and the marker exists", () => {
        touchMarker();
        const r = run({ FAKE_CLOUD_INIT_EXIT: "0" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /wait-ready: server is ready/);
        assert.doesNotMatch(r.stderr, /WARNING/);
        assert.strictEqual(fs.readFileSync(cloudInitLog, "utf8"), "status --wait\n");
    });

    it("warns but succeeds when cloud-init reports recoverable errors (exit 2)", () => {
        touchMarker();
        const r = run({ FAKE_CLOUD_INIT_EXIT: "2" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stderr, /WARNING: cloud-init finished with recoverable errors/);
        assert.match(r.stderr, /fake-module: something went sideways/, "includes `cloud-init status --long`");
        assert.match(r.stdout, /server is ready/);
    });

    it("fails clearly when cloud-init failed (exit 1)", () => {
        touchMarker();
        const r = run({ FAKE_CLOUD_INIT_EXIT: "1" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /wait-ready: ERROR: cloud-init failed \(cloud-init status exit code 1\)/);
        assert.match(r.stderr, /\/var\/log\/cloud-init-output\.log/);
        assert.match(r.stderr, /cloud-init status --long/);
        assert.strictEqual(r.stdout, "");
    });

    it("fails on any other cloud-init exit code", () => {
        touchMarker();
        const r = run({ FAKE_CLOUD_INIT_EXIT: "3" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /exit code 3/);
    });

    it("fails clearly when the marker is missing", () => {
        const r = run({ FAKE_CLOUD_INIT_EXIT: "0" });
        assert.notStrictEqual(r.status, 0);
        assert.ok(r.stderr.includes(`did not write the marker ${marker}`), r.stderr);
        assert.match(r.stderr, /\/var\/log\/cloud-init-output\.log/);
    });

    it("gives up after TIMEOUT_SECONDS when cloud-init hangs", () => {
        touchMarker();
        const r = run({ FAKE_CLOUD_INIT_SLEEP: "30" }, 1);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /did not finish within 1s/);
    });

    it("handles a marker path that needs quoting", () => {
        marker = path.join(dir, "it's $(touch pwned) here", "done");
        touchMarker();
        const r = run({ FAKE_CLOUD_INIT_EXIT: "0" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.ok(r.stdout.includes(marker), r.stdout);
        assert.ok(!fs.existsSync(path.join(dir, "pwned")) && !fs.existsSync("pwned"));
    });
});

describe("src/host/scripts/wait-ready.sh re-run as the login user after every later step", () => {
    let dir: string;
    let sudo: FakeSudo;
    let stateDir: string;
    let marker: string;

    before(function () {
        if (!canRunAsLoginUser()) {
            skipTest(this, "running a script as an unprivileged user against a root-only directory", "root and setpriv");
        }
    });

    beforeEach(() => {
        dir = makeTempDir("wait-ready-rerun");
        sudo = new FakeSudo(dir);
        installFake(path.join(dir, "bin"), "cloud-init", "host/cloud-init.sh");
        fs.chmodSync(path.join(dir, "bin"), 0o755);
        fs.writeFileSync(path.join(dir, "cloud-init.log"), "", { mode: 0o666 });
        fs.chmodSync(path.join(dir, "cloud-init.log"), 0o666);
        // As the later steps leave it: /var/lib/capi-mgmt owned by root, mode 0700.
        stateDir = path.join(dir, "var", "lib", "capi-mgmt");
        fs.mkdirSync(stateDir, { recursive: true });
        fs.chmodSync(path.join(dir, "var"), 0o755);
        fs.chmodSync(path.join(dir, "var", "lib"), 0o755);
        fs.chmodSync(stateDir, 0o700);
        marker = path.join(stateDir, "cloud-init.done");
    });

    function run(): RunResult {
        const script = renderWaitReadyScript({ marker, timeoutSeconds: 5 });
        return sudo.runAsLoginUser(script, {
            PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
            FAKE_CLOUD_INIT_LOG: path.join(dir, "cloud-init.log"),
            FAKE_CLOUD_INIT_EXIT: "0",
        });
    }

    it("finds the marker in the root-only state directory, through sudo", () => {
        fs.writeFileSync(marker, "");
        assert.ok(fs.statSync(stateDir).uid === 0 && (fs.statSync(stateDir).mode & 0o777) === 0o700);
        const r = run();
        assertSuccess(r);
        assert.match(r.stdout, /wait-ready: server is ready/);
        assert.deepStrictEqual(sudo.calls(), ["-n true", `-n test -e ${marker}`]);
        assert.strictEqual(fs.readFileSync(path.join(dir, "cloud-init.log"), "utf8"), "status --wait\n", "cloud-init ran as the login user");
    });

    it("still fails when the marker is missing from the root-only directory", () => {
        const r = run();
        assertFailure(r);
        assert.ok(r.stderr.includes(`did not write the marker ${marker}`), r.stderr);
        assert.deepStrictEqual(sudo.calls(), ["-n true", `-n test -e ${marker}`]);
    });

    it("says that the login user needs passwordless sudo when sudo refuses", () => {
        fs.writeFileSync(marker, "");
        sudo.deny();
        const r = run();
        assertFailure(r);
        assert.match(
            r.stderr,
            /wait-ready: ERROR: cannot look for the marker .* as root: 'sudo -n true' failed \(sudo: a password is required\); the login user needs passwordless sudo/,
        );
    });
});

/** A directory layout standing in for the server, with fake curl/uname first on PATH, on a virtual clock. */
class FakeHost {
    readonly root = makeTempDir("install-tools");
    /** The clock of the runs: the retry pauses, FAKE_CURL_SLEEP and the curl log's times are virtual. */
    readonly clock = new FakeClock(path.join(this.root, "clock"));
    readonly bin = path.join(this.root, "bin");
    readonly fixtures = path.join(this.root, "fixtures");
    readonly build = path.join(this.root, "build");
    readonly installDir = path.join(this.root, "usr", "local", "bin");
    readonly stateDir = path.join(this.root, "var", "lib", "capi-mgmt");
    readonly tmp = path.join(this.root, "tmp");
    readonly curlLog = path.join(this.root, "curl.log");

    constructor() {
        for (const d of [this.fixtures, this.build, this.tmp]) {
            fs.mkdirSync(d, { recursive: true });
        }
        installFake(this.bin, "curl", "curl.sh");
        installFake(this.bin, "uname", "host/uname.sh");
        fs.writeFileSync(this.curlLog, "");
    }

    static key(url: string): string {
        return url.replace(/[^A-Za-z0-9]/g, "_");
    }

    /** Publishes a fake tool release; `member` set makes it a .tar.gz holding the binary there. */
    release(name: string, version: string, member?: string): ToolDownload {
        const binary = `#!/bin/sh\necho "${name} ${version}"\n`;
        const file = member ? `${name}-${version}-linux-amd64.tar.gz` : `${name}-linux-amd64`;
        const url = `https://downloads.example.test/${name}/${version}/${file}`;
        const fixture = path.join(this.fixtures, FakeHost.key(url));
        if (member) {
            const src = path.join(this.build, `${name}-${version}`);
            writeExecutable(path.join(src, member), binary);
            writeExecutable(path.join(src, "README.md"), "not the binary\n");
            const r = spawnSync("tar", ["-czf", fixture, "-C", src, member, "README.md"], { encoding: "utf8" });
            assert.strictEqual(r.status, 0, r.stderr);
        } else {
            fs.writeFileSync(fixture, binary);
        }
        return { name: name as ToolName, version, url, sha256: sha256File(fixture), archiveMember: member };
    }

    /** Makes the next `count` downloads of `url` fail. */
    failNext(url: string, count: number): void {
        fs.writeFileSync(path.join(this.fixtures, `${FakeHost.key(url)}.fail`), `${count}\n`);
    }

    run(tools: ToolDownload[], env: Record<string, string> = {}, retries = 2, proxy?: ProxyEnv): RunResult {
        const script = renderInstallToolsScript({ tools, installDir: this.installDir, stateDir: this.stateDir, retries, proxy });
        return this.clock.run(script, {
            PATH: `${this.bin}:${process.env.PATH}`,
            TMPDIR: this.tmp,
            FAKE_CURL_LOG: this.curlLog,
            FAKE_CURL_FIXTURES: this.fixtures,
            ...env,
        });
    }

    curlLogText(): string {
        return fs.readFileSync(this.curlLog, "utf8");
    }

    /** How many downloads of `url` were started. */
    downloads(url: string): number {
        return this.curlLogText()
            .split("\n")
            .filter((l) => l.startsWith(`start ${FakeHost.key(url)} `)).length;
    }

    /** Content hash, mode and mtime of everything in INSTALL_DIR and the manifest. */
    snapshot(): Record<string, string> {
        const result: Record<string, string> = {};
        const files = fs.existsSync(this.installDir) ? fs.readdirSync(this.installDir).map((f) => path.join(this.installDir, f)) : [];
        files.push(this.manifestPath());
        for (const f of files) {
            if (fs.existsSync(f)) {
                const st = fs.statSync(f);
                result[f] = `${sha256File(f)} ${st.mode.toString(8)} ${st.mtimeMs}`;
            }
        }
        return result;
    }

    manifestPath(): string {
        return path.join(this.stateDir, "tools.manifest");
    }

    installed(): string[] {
        return fs.existsSync(this.installDir) ? fs.readdirSync(this.installDir).sort() : [];
    }

    /** Output of running the installed tool. */
    exec(name: string): string {
        return spawnSync(path.join(this.installDir, name), [], { encoding: "utf8" }).stdout;
    }
}

describe("src/host/scripts/install-tools.sh", () => {
    let host: FakeHost;
    let tools: ToolDownload[];

    beforeEach(() => {
        host = new FakeHost();
        tools = [
            host.release("kind", "v0.1.0"),
            host.release("kubectl", "v1.0.0"),
            host.release("helm", "v3.0.0", "linux-amd64/helm"),
            host.release("flux", "v2.0.0", "flux"),
        ];
    });

    it("installs every tool, executable, and writes the manifest", () => {
        const r = host.run(tools);
        assertSuccess(r);
        assert.deepStrictEqual(host.installed(), ["flux", "helm", "kind", "kubectl"], "no temporary files left behind");
        for (const t of tools) {
            const mode = fs.statSync(path.join(host.installDir, t.name)).mode & 0o777;
            assert.strictEqual(mode, 0o755, `${t.name} mode ${mode.toString(8)}`);
            assert.strictEqual(host.exec(t.name), `${t.name} ${t.version}\n`);
            assert.strictEqual(host.downloads(t.url), 1);
        }
        const manifest = fs.readFileSync(host.manifestPath(), "utf8");
        for (const t of tools) {
            const binarySha = sha256File(path.join(host.installDir, t.name));
            assert.ok(manifest.includes(`${t.name}|${t.version}|${t.sha256}|${binarySha}\n`), manifest);
        }
        assert.deepStrictEqual(fs.readdirSync(host.tmp), [], "staging directory removed");
        assert.match(r.stdout, /installed 4 of 4 tools/);
    });

    it("downloads through the configured proxy, in upper and lower case (curl reads the lower)", () => {
        const proxy = { http: "http://proxy.example:3128", https: "http://proxy.example:3129", noProxy: "localhost,10.96.0.0/16,.corp.example" };
        assertSuccess(host.run(tools, { http_proxy: "http://inherited.example:1" }, 2, proxy));
        const lines = host
            .curlLogText()
            .split("\n")
            .filter((l) => l.startsWith("proxy "));
        assert.strictEqual(lines.length, tools.length);
        for (const line of lines) {
            assert.ok(
                line.endsWith(
                    " http_proxy=http://proxy.example:3128 https_proxy=http://proxy.example:3129 no_proxy=localhost,10.96.0.0/16,.corp.example HTTPS_PROXY=http://proxy.example:3129",
                ),
                line,
            );
        }
    });

    it("downloads directly without a proxy, dropping an inherited one", () => {
        assertSuccess(host.run(tools, { http_proxy: "http://inherited.example:1", HTTPS_PROXY: "http://inherited.example:2" }));
        const lines = host
            .curlLogText()
            .split("\n")
            .filter((l) => l.startsWith("proxy "));
        assert.strictEqual(lines.length, tools.length);
        for (const line of lines) {
            assert.ok(line.endsWith(" http_proxy=- https_proxy=- no_proxy=- HTTPS_PROXY=-"), line);
        }
    });

    it("downloads with the hardened curl options", () => {
        assertSuccess(host.run(tools, {}, 3));
        const args = host
            .curlLogText()
            .split("\n")
            .filter((l) => l.startsWith("args "));
        assert.strictEqual(args.length, tools.length);
        for (const line of args) {
            for (const option of [
                "--fail",
                "--location",
                "--proto =https",
                "--tlsv1.2",
                "--retry 3",
                "--retry-all-errors",
                "--connect-timeout 20",
                "--max-time 600",
            ]) {
                assert.ok(line.includes(` ${option} `), `${option} missing in: ${line}`);
            }
        }
    });

    it("changes and downloads nothing on a second run", () => {
        assertSuccess(host.run(tools));
        const log = host.curlLogText();
        const before = host.snapshot();
        const r = host.run(tools);
        assertSuccess(r);
        assert.strictEqual(host.curlLogText(), log, "no download on the second run");
        assert.deepStrictEqual(host.snapshot(), before);
        assert.match(r.stdout, /already installed; nothing to do/);
        for (const t of tools) {
            assert.ok(r.stderr.includes(`skip ${t.name} ${t.version}`), r.stderr);
        }
    });

    it("downloads only the tool whose version changed", () => {
        assertSuccess(host.run(tools));
        const before = host.snapshot();
        const bumped = host.release("kubectl", "v1.0.1");
        const next = tools.map((t) => (t.name === "kubectl" ? bumped : t));
        const r = host.run(next);
        assertSuccess(r);
        assert.strictEqual(host.downloads(bumped.url), 1);
        for (const t of tools) {
            assert.strictEqual(host.downloads(t.url), 1, `${t.name} downloaded again`);
        }
        assert.strictEqual(host.exec("kubectl"), "kubectl v1.0.1\n");
        const after = host.snapshot();
        for (const name of ["kind", "helm", "flux"]) {
            const f = path.join(host.installDir, name);
            assert.strictEqual(after[f], before[f], `${name} untouched`);
        }
        assert.match(fs.readFileSync(host.manifestPath(), "utf8"), new RegExp(`^kubectl\\|v1\\.0\\.1\\|${bumped.sha256}\\|`, "m"));
        assert.match(r.stdout, /installed 1 of 4 tools/);
    });

    it("a tool added to the list (sonobuoy on a server that has the others) is the only download", () => {
        assertSuccess(host.run(tools));
        const before = host.snapshot();
        const added = host.release("sonobuoy", "v0.57.5", "sonobuoy");
        const r = host.run([...tools, added]);
        assertSuccess(r);
        assert.strictEqual(host.downloads(added.url), 1);
        for (const t of tools) {
            assert.strictEqual(host.downloads(t.url), 1, `${t.name} downloaded again`);
            const f = path.join(host.installDir, t.name);
            assert.strictEqual(host.snapshot()[f], before[f], `${t.name} untouched`);
            assert.ok(r.stderr.includes(`skip ${t.name} ${t.version}`), r.stderr);
        }
        assert.strictEqual(host.exec("sonobuoy"), "sonobuoy v0.57.5\n");
        assert.match(fs.readFileSync(host.manifestPath(), "utf8"), new RegExp(`^sonobuoy\\|v0\\.57\\.5\\|${added.sha256}\\|`, "m"));
        assert.match(r.stdout, /installed 1 of 5 tools/);
    });

    it("reinstalls a tool whose installed binary was changed by hand", () => {
        assertSuccess(host.run(tools));
        fs.writeFileSync(path.join(host.installDir, "kind"), "#!/bin/sh\necho tampered\n");
        assertSuccess(host.run(tools));
        assert.strictEqual(host.exec("kind"), "kind v0.1.0\n");
        assert.strictEqual(host.downloads(tools[0].url), 2);
        assert.strictEqual(host.downloads(tools[1].url), 1);
    });

    it("installs nothing when one checksum does not match", () => {
        const bad = { ...tools[2], sha256: WRONG_SHA };
        const actual = tools[2].sha256;
        const r = host.run([tools[0], tools[1], bad, tools[3]]);
        assertFailure(r);
        assert.match(r.stderr, /checksum mismatch for helm v3\.0\.0/);
        assert.ok(r.stderr.includes(bad.url), r.stderr);
        assert.ok(r.stderr.includes(`expected sha256 ${WRONG_SHA}`), r.stderr);
        assert.ok(r.stderr.includes(`actual sha256 ${actual}`), r.stderr);
        assert.match(r.stderr, /nothing was installed/);
        assert.deepStrictEqual(host.installed(), []);
        assert.ok(!fs.existsSync(host.manifestPath()));
        assert.deepStrictEqual(fs.readdirSync(host.tmp), [], "staging directory removed");
    });

    it("leaves an installed set unchanged when an update has a bad checksum", () => {
        assertSuccess(host.run(tools));
        const before = host.snapshot();
        const kind = host.release("kind", "v0.2.0");
        const helm = { ...host.release("helm", "v3.1.0", "linux-amd64/helm"), sha256: WRONG_SHA };
        const r = host.run([kind, tools[1], helm, tools[3]]);
        assertFailure(r);
        assert.match(r.stderr, /checksum mismatch for helm v3\.1\.0/);
        assert.deepStrictEqual(host.snapshot(), before);
        assert.strictEqual(host.exec("kind"), "kind v0.1.0\n");
    });

    it("installs nothing when a download fails, after RETRIES attempts", () => {
        const missing: ToolDownload = { ...tools[1], url: "https://downloads.example.test/kubectl/missing" };
        const r = host.run([tools[0], missing, tools[2], tools[3]], {}, 2);
        assertFailure(r);
        assert.match(r.stderr, /download failed after 2 attempts: kubectl \(https:\/\/downloads\.example\.test\/kubectl\/missing\)/);
        assert.strictEqual(host.downloads(missing.url), 2);
        assert.deepStrictEqual(host.installed(), []);
        assert.ok(!fs.existsSync(host.manifestPath()));
    });

    it("retries a failed download", () => {
        host.failNext(tools[0].url, 1);
        const r = host.run(tools, {}, 2);
        assertSuccess(r);
        assert.strictEqual(host.downloads(tools[0].url), 2);
        assert.match(r.stderr, /kind: download attempt 1\/2 of .* failed/);
        assert.strictEqual(host.exec("kind"), "kind v0.1.0\n");
    });

    it("downloads in parallel", () => {
        const r = host.run(tools, { FAKE_CURL_SLEEP: "1" });
        assertSuccess(r);
        const times = (kind: string): number[] =>
            host
                .curlLogText()
                .split("\n")
                .filter((l) => l.startsWith(`${kind} `))
                .map((l) => Number(l.split(" ")[2]));
        const starts = times("start");
        const ends = times("end");
        assert.strictEqual(starts.length, 4);
        assert.strictEqual(ends.length, 4);
        assert.ok(Math.max(...starts) < Math.min(...ends), "every download started before the first one finished");
    });

    it("refuses a machine that is not x86_64", () => {
        const r = host.run(tools, { FAKE_UNAME_M: "aarch64" });
        assertFailure(r);
        assert.match(r.stderr, /install-tools: ERROR: this server is aarch64.*only x86_64 is supported/);
        assert.strictEqual(host.curlLogText(), "");
        assert.deepStrictEqual(host.installed(), []);
    });
});

describe("test fakes: the virtual clock the script tests run on", () => {
    /** Runs `script` on a new clock; each line it prints is "<label> <virtual seconds since the start>". */
    function timeline(script: string): string[] {
        const clock = new FakeClock(makeTempDir("clock"));
        const r = clock.run(`start=$(date +%s)\nat() { echo "$1 $(($(date +%s) - start))"; }\n${script}`, { PATH: process.env.PATH! });
        assertSuccess(r);
        return r.stdout.trim().split("\n");
    }

    it("passes exactly the slept time, and parallel sleepers in lockstep", () => {
        const lines = timeline(`
sleep 5; at after-5
(sleep 3; at job-3) & (sleep 0.5; sleep 1.5; at job-2) & (sleep 1; at job-1) &
wait; at all-done`);
        assert.deepStrictEqual(lines, ["after-5 5", "job-1 6", "job-2 7", "job-3 8", "all-done 8"]);
    });

    it("stands still while any process of the script works, however long", () => {
        const lines = timeline(`
(sleep 1; at sleeper) &
for ((i = 0; i < 20000; i++)); do :; done
at busy-loop-done
wait; at end`);
        assert.deepStrictEqual(lines, ["busy-loop-done 0", "sleeper 1", "end 1"]);
    });
});
