/**
 * Release files the program hands to a provider itself (Flux's `install.yaml`, which the
 * Kubernetes provider's `ConfigFile` applies), fetched on the machine that runs Pulumi, checked
 * against their pinned SHA-256 and kept in a content-addressed cache, so that:
 *
 * - nothing of a file is applied unless it has exactly the pinned content (a mismatch fails the
 *   run before anything is created or changed, naming the file, its version and both digests);
 * - once a file is in the cache, previews and `up`s read it from there and make no request: a
 *   GitHub outage does not break unrelated runs. The cache is per machine (see
 *   docs/verified-downloads.md): a machine that never ran the program (a new CI runner, another
 *   operator) downloads each file once, or is given the cache.
 *
 * The cache holds `<dir>/sha256/<hex>`, one file per content: a file whose content is not its
 * name (a half-written or altered file) is never used: it is removed and downloaded again.
 */
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { fluxInstallUrl } from "../cluster/clusterObjects";
import { Versions } from "./versions";

/** A release file with the SHA-256 it must have. */
export interface PinnedDownload {
    /** What it is, for messages, e.g. `Flux v2.9.4 install.yaml`. */
    what: string;
    /** HTTPS URL of the release asset. */
    url: string;
    /** Lowercase hex SHA-256 it must have. */
    sha256: string;
    /** The setting that pins it, for messages, e.g. `versions.flux`. */
    setting: string;
}

/** Where the program gets release files from. */
export interface ReleaseSource {
    /** Absolute path of a local file with exactly the pinned content; rejects with the reason otherwise. */
    verified(file: PinnedDownload): Promise<string>;
}

/** Flux's `install.yaml` at the stack's Flux version, with its pin. */
export function fluxInstallDownload(versions: Pick<Versions, "flux" | "fluxManifestSha256">): PinnedDownload {
    const version = versions.flux.version;
    return { what: `Flux ${version} install.yaml`, url: fluxInstallUrl(version), sha256: versions.fluxManifestSha256, setting: "versions.flux" };
}

/** Environment variable that overrides the cache directory. */
export const DOWNLOAD_CACHE_ENV = "CAPI_MGMT_DOWNLOAD_CACHE";

/** The cache directory: `$CAPI_MGMT_DOWNLOAD_CACHE`, else `$XDG_CACHE_HOME/capi-mgmt/downloads`, else `~/.cache/capi-mgmt/downloads`. */
export function downloadCacheDir(env: NodeJS.ProcessEnv = process.env): string {
    if (env[DOWNLOAD_CACHE_ENV]) {
        return path.resolve(env[DOWNLOAD_CACHE_ENV]);
    }
    const base = env.XDG_CACHE_HOME ? env.XDG_CACHE_HOME : path.join(os.homedir(), ".cache");
    return path.join(base, "capi-mgmt", "downloads");
}

/** How the cache downloads. */
export interface DownloadCacheOptions {
    /** Cache directory (default {@link downloadCacheDir}). */
    dir?: string;
    /**
     * Proxy variables (`HTTPS_PROXY`, `NO_PROXY`, lowercase too) for the download; default the
     * process environment. Node.js honours them from v22.21 / v24.5 (https.Agent `proxyEnv`).
     */
    proxyEnv?: NodeJS.ProcessEnv;
    /** CA certificates to trust instead of Node.js's bundle (default: the bundle and NODE_EXTRA_CA_CERTS). */
    ca?: string | Buffer;
    /** Replaces the HTTPS download (unit tests). */
    get?: (url: string) => Promise<Buffer>;
}

/** Largest release file accepted (Flux's install.yaml is about 1 MB). */
const MAX_BYTES = 32 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const TIMEOUT_MS = 60_000;

/** GET over HTTPS, following redirects, through the proxy `proxyEnv` names; rejects on any status but 200. */
export function httpsGet(url: string, opts: Pick<DownloadCacheOptions, "proxyEnv" | "ca"> = {}): Promise<Buffer> {
    // `proxyEnv` is in Node.js's https.Agent since v22.21 / v24.5 (@types/node 20 does not know it).
    const agent = new https.Agent({ proxyEnv: opts.proxyEnv ?? process.env, ...(opts.ca ? { ca: opts.ca } : {}) } as https.AgentOptions);
    const once = (u: string, left: number): Promise<Buffer> =>
        new Promise((resolve, reject) => {
            if (!u.startsWith("https://")) {
                reject(new Error(`${u}: only https:// is downloaded`));
                return;
            }
            const req = https.get(u, { agent, timeout: TIMEOUT_MS }, (res) => {
                const status = res.statusCode ?? 0;
                if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
                    res.resume();
                    if (left === 0) {
                        reject(new Error(`${url}: more than ${MAX_REDIRECTS} redirects`));
                        return;
                    }
                    resolve(once(new URL(res.headers.location, u).toString(), left - 1));
                    return;
                }
                if (status !== 200) {
                    res.resume();
                    reject(new Error(`${u}: HTTP ${status}`));
                    return;
                }
                const chunks: Buffer[] = [];
                let size = 0;
                res.on("data", (c: Buffer) => {
                    size += c.length;
                    if (size > MAX_BYTES) {
                        req.destroy(new Error(`${u}: larger than ${MAX_BYTES} bytes`));
                        return;
                    }
                    chunks.push(c);
                });
                res.on("end", () => resolve(Buffer.concat(chunks)));
                res.on("error", reject);
            });
            req.on("timeout", () => req.destroy(new Error(`${u}: no answer in ${TIMEOUT_MS / 1000} s`)));
            req.on("error", reject);
        });
    return once(url, MAX_REDIRECTS).finally(() => agent.destroy());
}

function sha256Of(data: Buffer): string {
    return createHash("sha256").update(data).digest("hex");
}

/** The message of a download whose content is not the pinned one. */
export function mismatchMessage(file: PinnedDownload, actual: string): string {
    return (
        `capi-mgmt:${file.setting}: ${file.what} (${file.url}) has SHA-256 ${actual}, expected ${file.sha256}: ` +
        "refused, nothing of it was applied. If the release was really re-published, check the new file and pin its SHA-256 " +
        `(capi-mgmt:${file.setting}${file.setting === "versions.flux" ? ".manifestSha256" : ""}).`
    );
}

/**
 * The content-addressed cache on this machine (see the file comment). A file already cached with
 * its pinned content is returned without any request.
 */
export function downloadCache(opts: DownloadCacheOptions = {}): ReleaseSource {
    const dir = path.join(opts.dir ?? downloadCacheDir(), "sha256");
    const get = opts.get ?? ((url: string) => httpsGet(url, opts));
    return {
        async verified(file: PinnedDownload): Promise<string> {
            if (!/^[0-9a-f]{64}$/.test(file.sha256)) {
                throw new Error(`capi-mgmt:${file.setting}: ${file.what}: ${JSON.stringify(file.sha256)} is not a SHA-256`);
            }
            const target = path.join(dir, file.sha256);
            if (fs.existsSync(target)) {
                if (sha256Of(fs.readFileSync(target)) === file.sha256) {
                    return target;
                }
                fs.rmSync(target, { force: true });
            }
            let data: Buffer;
            try {
                data = await get(file.url);
            } catch (err) {
                throw new Error(
                    `capi-mgmt:${file.setting}: cannot download ${file.what} (${(err as Error).message}); it is downloaded once per machine ` +
                        `into ${dir} (or put it there as ${file.sha256}, see docs/verified-downloads.md)`,
                );
            }
            const actual = sha256Of(data);
            if (actual !== file.sha256) {
                throw new Error(mismatchMessage(file, actual));
            }
            fs.mkdirSync(dir, { recursive: true });
            const tmp = path.join(dir, `.${file.sha256}.${process.pid}.${randomBytes(4).toString("hex")}`);
            fs.writeFileSync(tmp, data, { mode: 0o644 });
            fs.renameSync(tmp, target);
            return target;
        },
    };
}

/** The placeholder directory {@link plannedReleases} names (never read). */
export const PLANNED_CACHE_DIR = "$CAPI_MGMT_DOWNLOAD_CACHE";

/**
 * For `npm run render` and the mock-engine tests, which apply nothing: the path a verified file
 * would have, under a placeholder directory, without reading or downloading anything.
 */
export function plannedReleases(): ReleaseSource {
    return { verified: (file) => Promise.resolve(`${PLANNED_CACHE_DIR}/sha256/${file.sha256}`) };
}
