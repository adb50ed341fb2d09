import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ToolDownload } from "../src/versions/versions";
import { assertFailure, assertSuccess } from "./fakes/shell";
import { sha256File, FakeHost } from "./fakes/installToolsHost";
import { WRONG_SHA } from "./hostScriptParams";

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
        const lines = host.curlLogLines("proxy");
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
        const lines = host.curlLogLines("proxy");
        assert.strictEqual(lines.length, tools.length);
        for (const line of lines) {
            assert.ok(line.endsWith(" http_proxy=- https_proxy=- no_proxy=- HTTPS_PROXY=-"), line);
        }
    });

    it("downloads with the hardened curl options", () => {
        assertSuccess(host.run(tools, {}, 3));
        const args = host.curlLogLines("args");
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
        const times = (kind: string): number[] => host.curlLogLines(kind).map((l) => Number(l.split(" ")[2]));
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
