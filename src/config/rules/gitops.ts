/**
 * Rules of `capi-mgmt:gitops` that JSON Schema cannot say: the URL (by the platform's URL
 * parser), branch or semver (exactly one; production follows tags; Flux's range syntax),
 * the path, the known_hosts lines and their cover of the URL's host, the deploy key and the
 * age identity. Shapes, types, the interval and the namespace are the schema's.
 */
import { DEFAULT_WORKLOAD_NAMESPACE } from "../../shared/contract";
import { knownHostKeyProblem, publicKeyOfPrivateKey } from "../../shared/opensshKey";
import { semverRangeProblem } from "../../gitops/semverRange";
import { Settings } from "../schema";
import { GitOpsSettings, GitRef, Problems, quote } from "../types";

const SCP_LIKE = /^[A-Za-z0-9._-]+@[^:/\s]+:[^\s]+$/;
/** Host key types of known_hosts lines (security-key types are user keys, never a server's). */
const KNOWN_HOST_KEY_TYPES = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))$/;
const AGE_SECRET_KEY = /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/;

/**
 * Host and port of an `ssh://user@host[:port]/path` URL, read by the platform's URL parser
 * (ports above 65535, spaces and stray characters are refused); undefined when it is not one.
 */
function parseSshUrl(url: string): { host: string; port?: string } | undefined {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        return undefined;
    }
    const userOk = /^[A-Za-z0-9._-]+$/.test(u.username) && u.password === "";
    const pathOk = u.pathname.length > 1 && !/\s/.test(url) && u.search === "" && u.hash === "";
    if (u.protocol !== "ssh:" || !userOk || u.hostname === "" || !pathOk) {
        return undefined;
    }
    return { host: u.hostname, port: u.port === "" ? undefined : u.port };
}

/** The host entry known_hosts must carry for a URL: `host`, or `[host]:port` off port 22. */
function knownHostsName(host: string, port?: string): string {
    return port && port !== "22" ? `[${host.replace(/^\[|\]$/g, "")}]:${port}` : host.replace(/^\[|\]$/g, "");
}

/** The known_hosts entry of `gitops.url`'s host, or undefined (with a problem) when the URL is not usable. */
function checkUrl(p: Problems, url: string): string | undefined {
    if (SCP_LIKE.test(url)) {
        const [userHost, repo] = url.split(/:(.*)/s);
        p.fail("gitops.url", `${quote(url)} is the scp-like form, which Flux does not accept; write ssh://${userHost}/${repo}`);
    } else if (/^https?:\/\//.test(url)) {
        p.fail("gitops.url", `${quote(url)}: use the ssh:// form (ssh://git@host/org/repo); Flux authenticates with the deploy key over SSH`);
    } else if (/^ssh:\/\/[^/@\s]*:[^/@\s]*@/.test(url)) {
        // Not echoed: it carries a password.
        p.fail("gitops.url", "carries a password; write ssh://git@host/org/repo (Flux authenticates with the deploy key)");
    } else {
        const parsed = parseSshUrl(url);
        if (!parsed) {
            p.fail("gitops.url", `${quote(url)} is not of the form ssh://git@host[:port]/org/repo`);
        } else {
            return knownHostsName(parsed.host, parsed.port);
        }
    }
    return undefined;
}

/** Branch xor semver; production follows released tags; a range as Flux reads it. */
function refOf(p: Problems, branch: string | undefined, semver: string | undefined, production: boolean): GitRef {
    if ((branch === undefined) === (semver === undefined)) {
        p.fail("gitops", "set exactly one of branch (follow a branch) or semver (follow tags in a semver range)");
        return { branch: "main" };
    }
    if (branch !== undefined) {
        if (production) {
            p.fail("gitops.branch", 'production follows released tags: set gitops.semver (e.g. ">=1.0.0") instead of a branch');
        }
        return { branch };
    }
    const problem = semverRangeProblem(semver!);
    if (problem !== undefined) {
        p.fail("gitops.semver", `${quote(semver)} is not a range Flux accepts: ${problem}`);
    }
    return { semver: semver! };
}

function checkKnownHosts(p: Problems, knownHosts: string, host: string | undefined): void {
    const lines = knownHosts
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
    if (lines.length === 0) {
        p.fail("gitops.knownHosts", "has no host key lines");
        return;
    }
    let covers = false;
    for (const line of lines) {
        const [hosts, type, key] = line.split(/\s+/);
        if (!hosts || !type || !key || !KNOWN_HOST_KEY_TYPES.test(type)) {
            p.fail("gitops.knownHosts", `${quote(line)} is not a known_hosts line (host key-type base64-key)`);
            continue;
        }
        const keyProblem = knownHostKeyProblem(type, key);
        if (keyProblem !== undefined) {
            p.fail("gitops.knownHosts", `the ${type} key of ${hosts} is unusable: ${keyProblem}`);
            continue;
        }
        if (host === undefined || hosts.startsWith("|1|") || hosts.split(",").includes(host)) {
            covers = true;
        }
    }
    if (!covers && host !== undefined) {
        p.fail("gitops.knownHosts", `has no key for ${host}, the host of gitops.url`);
    }
}

/**
 * `gitops` with its defaults filled in, or undefined when unset. `o` holds only the nested
 * keys the schema let through (their rules are not run on what it already refused).
 */
export function gitopsOf(
    p: Problems,
    o: Partial<NonNullable<Settings["gitops"]>> | undefined,
    ctx: { stack: string; production: boolean },
): GitOpsSettings | undefined {
    if (o === undefined) {
        return undefined;
    }
    const host = o.url !== undefined ? checkUrl(p, o.url) : undefined;
    const ref = refOf(p, o.branch, o.semver, ctx.production);

    const rawPath = o.path ?? `./clusters/${ctx.stack}`;
    const path = rawPath.startsWith("./") ? rawPath : `./${rawPath}`;
    if (rawPath.startsWith("/") || path.split("/").includes("..") || !/^[A-Za-z0-9._/-]+$/.test(path)) {
        p.fail("gitops.path", `${quote(rawPath)} must be a relative path inside the repository, without ..`);
    }
    if (o.knownHosts !== undefined) {
        checkKnownHosts(p, o.knownHosts, host);
    }
    if (o.deployKey !== undefined) {
        try {
            publicKeyOfPrivateKey(o.deployKey);
        } catch (e) {
            p.fail(
                "gitops.deployKey",
                `is not a usable SSH private key: ${(e as Error).message} (give an unencrypted OpenSSH key, or leave it unset to have one generated)`,
            );
        }
    }
    if (o.sopsAgeKey !== undefined) {
        const keys = o.sopsAgeKey
            .split("\n")
            .map((l) => l.trim())
            .filter((l) => l !== "" && !l.startsWith("#"));
        if (keys.length === 0 || !keys.every((k) => AGE_SECRET_KEY.test(k))) {
            p.fail("gitops.sopsAgeKey", "must be an age identity (AGE-SECRET-KEY-1…), as age-keygen writes it");
        }
    }
    return {
        url: o.url ?? "",
        ref,
        path,
        interval: o.interval ?? "1m",
        knownHosts: (o.knownHosts ?? "").trim() + "\n",
        deployKey: o.deployKey === undefined ? undefined : o.deployKey.replace(/\r\n/g, "\n").trim() + "\n",
        sopsAgeKey: o.sopsAgeKey === undefined ? undefined : o.sopsAgeKey.trim() + "\n",
        workloadNamespace: o.workloadNamespace ?? DEFAULT_WORKLOAD_NAMESPACE,
    };
}
