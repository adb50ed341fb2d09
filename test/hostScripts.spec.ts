import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderInstallToolsScript, renderWaitReadyScript } from "../src/host/bootstrapScripts";
import { HOST_INCLUDES_DIR, HOST_SCRIPT_INCLUDES, HOST_SCRIPTS_DIR, renderHostScript } from "../src/host/hostScripts";
import { DEFAULT_VERSIONS, ToolDownload, ToolName, toolDownloads } from "../src/versions/versions";
import { hasShellcheck, makeTempDir, shellcheck, skipTest } from "./fakes/shell";
import { sampleInstallParams } from "./hostScriptParams";

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
