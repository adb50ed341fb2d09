/**
 * A stand-in for the server that src/host/scripts/install-tools.sh installs the tools on
 * (test/hostScriptsInstallTools.spec.ts): fake curl and uname first on PATH, fake tool releases
 * published as fixtures, on a virtual clock.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { renderInstallToolsScript } from "../../src/host/bootstrapScripts";
import { ProxyEnv } from "../../src/host/proxy";
import { ToolDownload, ToolName } from "../../src/versions/versions";
import { installFake, makeTempDir, RunResult } from "./shell";
import { FakeClock } from "./clock";

function writeExecutable(file: string, text: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text, { mode: 0o755 });
}

export function sha256File(file: string): string {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}
/** A directory layout standing in for the server, with fake curl/uname first on PATH, on a virtual clock. */
export class FakeHost {
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

    /** The lines of the fake curl's log that start with `<prefix> ` (`start`, `end`, `args`, `proxy`, ...). */
    curlLogLines(prefix: string): string[] {
        return this.curlLogText()
            .split("\n")
            .filter((l) => l.startsWith(`${prefix} `));
    }

    /** How many downloads of `url` were started. */
    downloads(url: string): number {
        return this.curlLogLines(`start ${FakeHost.key(url)}`).length;
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
