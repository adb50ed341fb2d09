import "mocha";
import * as assert from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig, RawConfig, StackConfig } from "../src/config";
import { fluxInstallUrl } from "../src/cluster/clusterObjects";
import { downloadCache, downloadCacheDir, fluxInstallDownload, httpsGet, PinnedDownload } from "../src/versions/releaseCache";
import { DEFAULT_VERSIONS, KNOWN_MANIFEST_CHECKSUMS } from "../src/versions/versions";
import { ReleaseProxy } from "./integration/engineStandIns";
import { MINIMAL_RAW_CONFIG, problemsOf, TEST_NOW } from "./fixtures";

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");

/** A throw-away cache directory and a download stand-in that records every URL asked for. */
function fixture(body: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-release-cache-"));
    const asked: string[] = [];
    const served = { body };
    const source = downloadCache({
        dir,
        get: (url) => {
            asked.push(url);
            return Promise.resolve(Buffer.from(served.body));
        },
    });
    return { dir, asked, served, source };
}

const MANIFEST = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n";
const FILE: PinnedDownload = { what: "Flux v2.9.4 install.yaml", url: fluxInstallUrl("v2.9.4"), sha256: sha(MANIFEST), setting: "versions.flux" };

describe("release files the program applies itself: verified by SHA-256, cached by content (src/versions/releaseCache.ts)", () => {
    it("downloads a file once, checks it, and serves it from the cache afterwards without any request", async () => {
        const f = fixture(MANIFEST);
        const first = await f.source.verified(FILE);
        assert.strictEqual(first, path.join(f.dir, "sha256", FILE.sha256));
        assert.strictEqual(fs.readFileSync(first, "utf8"), MANIFEST);
        assert.deepStrictEqual(f.asked, [FILE.url]);
        // A release served differently now changes nothing: the cached copy is used, no request.
        f.served.body = "something else";
        assert.strictEqual(await f.source.verified(FILE), first);
        assert.deepStrictEqual(f.asked, [FILE.url]);
        // Another run of the program on this machine (a new source on the same directory) as well.
        const again = downloadCache({ dir: f.dir, get: () => Promise.reject(new Error("GitHub is down")) });
        assert.strictEqual(await again.verified(FILE), first);
    });

    it("refuses content with another SHA-256, naming the setting, the file, its version and both digests, and caches nothing", async () => {
        const tampered = MANIFEST + "---\nkind: ConfigMap\n";
        const f = fixture(tampered);
        await assert.rejects(f.source.verified(FILE), (err: Error) => {
            assert.strictEqual(
                err.message.split(": refused")[0],
                `capi-mgmt:versions.flux: Flux v2.9.4 install.yaml (${FILE.url}) has SHA-256 ${sha(tampered)}, expected ${FILE.sha256}`,
            );
            assert.match(err.message, /nothing of it was applied/);
            assert.match(err.message, /capi-mgmt:versions\.flux\.manifestSha256/);
            return true;
        });
        assert.deepStrictEqual(fs.existsSync(path.join(f.dir, "sha256")) ? fs.readdirSync(path.join(f.dir, "sha256")) : [], []);
    });

    it("never uses a cached file whose content is not its name: it is removed and downloaded again", async () => {
        const f = fixture(MANIFEST);
        const target = path.join(f.dir, "sha256", FILE.sha256);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, MANIFEST.slice(0, 20)); // a half-written or altered copy
        assert.strictEqual(await f.source.verified(FILE), target);
        assert.strictEqual(fs.readFileSync(target, "utf8"), MANIFEST);
        assert.deepStrictEqual(f.asked, [FILE.url]);
    });

    it("a failed first download names the setting, the reason and where the file is expected", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-release-cache-"));
        const source = downloadCache({ dir, get: () => Promise.reject(new Error("getaddrinfo ENOTFOUND github.com")) });
        await assert.rejects(source.verified(FILE), (err: Error) => {
            assert.match(err.message, /^capi-mgmt:versions\.flux: cannot download Flux v2\.9\.4 install\.yaml \(getaddrinfo ENOTFOUND github\.com\)/);
            assert.ok(err.message.includes(path.join(dir, "sha256")), err.message);
            assert.ok(err.message.includes(FILE.sha256), err.message);
            return true;
        });
    });

    it("the cache directory: $CAPI_MGMT_DOWNLOAD_CACHE, else under $XDG_CACHE_HOME, else ~/.cache", () => {
        assert.strictEqual(downloadCacheDir({ CAPI_MGMT_DOWNLOAD_CACHE: "/srv/cache", XDG_CACHE_HOME: "/x" }), "/srv/cache");
        assert.strictEqual(downloadCacheDir({ XDG_CACHE_HOME: "/x" }), "/x/capi-mgmt/downloads");
        assert.strictEqual(downloadCacheDir({}), path.join(os.homedir(), ".cache", "capi-mgmt", "downloads"));
    });

    it("Flux's install.yaml is the stack's Flux version's, pinned by versions.fluxManifestSha256", () => {
        assert.deepStrictEqual(fluxInstallDownload(DEFAULT_VERSIONS), {
            what: "Flux v2.9.4 install.yaml",
            url: "https://github.com/fluxcd/flux2/releases/download/v2.9.4/install.yaml",
            sha256: "9eb86c5f9d606b2ac2cfe71223ab2f23faa2d59ccb21df4e08e5610e54d535f8",
            setting: "versions.flux",
        });
    });

    describe("the HTTPS download, through a proxy on loopback (the engine tests' GitHub stand-in)", () => {
        let proxy: ReleaseProxy;
        const url = "https://github.com/fluxcd/flux2/releases/download/v9.9.9/install.yaml";
        before(async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-release-proxy-"));
            proxy = await ReleaseProxy.start(dir, { "https://github.com/objects/install.yaml": MANIFEST });
            proxy.redirect(url, "https://github.com/objects/install.yaml");
        });
        after(() => proxy.stop());

        it("goes through HTTPS_PROXY, follows the release's redirect and returns the body", async () => {
            const n = proxy.requests.length;
            const body = await httpsGet(url, { proxyEnv: proxy.env(), ca: fs.readFileSync(proxy.caFile) });
            assert.strictEqual(body.toString("utf8"), MANIFEST);
            assert.deepStrictEqual(
                proxy.requests.slice(n).map((r) => `${r.status} ${r.url}`),
                [`302 ${url}`, "200 https://github.com/objects/install.yaml"],
            );
        });

        it("rejects any answer but 200 (the provider's own fetch parsed an error page as YAML)", async () => {
            await assert.rejects(
                httpsGet("https://github.com/fluxcd/flux2/releases/download/v0.0.0/install.yaml", { proxyEnv: proxy.env(), ca: fs.readFileSync(proxy.caFile) }),
                /HTTP 404/,
            );
        });

        it("refuses plain http", async () => {
            await assert.rejects(httpsGet("http://github.com/x"), /only https:\/\/ is downloaded/);
        });
    });
});

describe("capi-mgmt:versions.flux pins the CLI and the release's install.yaml", () => {
    const parse = (versions: unknown): StackConfig =>
        parseStackConfig({ ...MINIMAL_RAW_CONFIG, versions: JSON.stringify(versions) } as RawConfig, { stack: "dev", now: TEST_NOW });
    const problems = (versions: unknown): readonly string[] => problemsOf(() => parse(versions));

    it("by default: Flux v2.9.4's install.yaml, by the SHA-256 src/versions/versions.ts records", () => {
        assert.strictEqual(DEFAULT_VERSIONS.fluxManifestSha256, KNOWN_MANIFEST_CHECKSUMS.flux["v2.9.4"]);
        assert.strictEqual(parse({}).versions.fluxManifestSha256, "9eb86c5f9d606b2ac2cfe71223ab2f23faa2d59ccb21df4e08e5610e54d535f8");
        assert.strictEqual(parse({ flux: "v2.9.4" }).versions.fluxManifestSha256, DEFAULT_VERSIONS.fluxManifestSha256);
    });

    it("{version, sha256, manifestSha256} pins both", () => {
        const v = parse({ flux: { version: "v2.9.5", sha256: "a".repeat(64), manifestSha256: "b".repeat(64) } }).versions;
        assert.deepStrictEqual(v.flux, { version: "v2.9.5", sha256: "a".repeat(64) });
        assert.strictEqual(v.fluxManifestSha256, "b".repeat(64));
    });

    it("a version whose install.yaml has no known SHA-256 is refused, saying what to give", () => {
        assert.deepStrictEqual(problems({ flux: { version: "v2.9.5", sha256: "a".repeat(64) } }), [
            "capi-mgmt:versions.flux: Flux v2.9.5's install.yaml has no known SHA-256 (known: v2.9.4); give {version: v2.9.5, sha256: <sha256 of the CLI's linux-amd64 download>, manifestSha256: <sha256 of the release's install.yaml>}",
        ]);
    });

    it("a malformed manifestSha256 is refused under its own key", () => {
        const found = problems({ flux: { version: "v2.9.4", sha256: "a".repeat(64), manifestSha256: "abc" } });
        assert.deepStrictEqual(found, ['capi-mgmt:versions.flux.manifestSha256: "abc" is not a SHA-256 (64 lowercase hex digits)']);
    });
});
