/**
 * `capi-mgmt:versions`: overrides merged over src/versions/versions.ts's pins (a tool by a version
 * with a known checksum or by `{version, sha256}`), then the compatibility rules between
 * Cluster API, CAPO, Kubernetes, clusterctl and kubectl, reported against the keys a user
 * would change.
 */
import {
    CAPO_MIN_CLUSTER_API,
    CLUSTER_API_MANAGEMENT_KUBERNETES,
    COMPONENT_NAMES,
    ComponentName,
    DEFAULT_VERSIONS,
    KNOWN_CHECKSUMS,
    KNOWN_MANIFEST_CHECKSUMS,
    TOOL_NAMES,
    ToolName,
    ToolPin,
    Versions,
} from "../../versions/versions";
import { NODE_IMAGE_PATTERN, VERSION_PATTERN } from "../schema";
import { Problems, quote } from "../types";
import { parseReleasePin, RELEASE_COMPONENTS, ReleaseComponent } from "../../versions/releaseFiles";

const VERSION = new RegExp(VERSION_PATTERN);
const NODE_IMAGE = new RegExp(NODE_IMAGE_PATTERN);
const SHA256 = /^[0-9a-f]{64}$/;

interface SemVer {
    major: number;
    minor: number;
    patch: number;
}

function semver(v: string): SemVer | undefined {
    const m = VERSION.exec(v);
    return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

function minorOf(v: SemVer): string {
    return `${v.major}.${v.minor}`;
}

function compareMinor(a: string, b: string): number {
    const [a1, a2] = a.split(".").map(Number);
    const [b1, b2] = b.split(".").map(Number);
    return a1 !== b1 ? a1 - b1 : a2 - b2;
}

/** The pinned versions with the overrides (already shape-checked by the schema) applied, then checked together. */
export function versionsOf(p: Problems, overrides: Record<string, unknown> | undefined): Versions {
    const versions: Versions = { ...DEFAULT_VERSIONS };
    for (const [k, val] of Object.entries(overrides ?? {})) {
        const key = `versions.${k}`;
        if (k === "nodeImage") {
            const m = typeof val === "string" ? NODE_IMAGE.exec(val) : null;
            if (m) {
                versions.nodeImage = val as string;
                versions.kubernetes = m[1];
            } // else the schema refused it
        } else if (k === "flux") {
            const pin = fluxPin(p, key, val);
            if (pin) {
                versions.flux = { version: pin.version, sha256: pin.sha256 };
                versions.fluxManifestSha256 = pin.manifestSha256;
            }
        } else if ((TOOL_NAMES as readonly string[]).includes(k)) {
            const pin = toolPin(p, key, k as ToolName, val);
            if (pin) {
                versions[k as ToolName] = pin;
            }
        } else if (k === "orc") {
            const pin = orcPin(p, key, val);
            if (pin) {
                versions.orc = pin.version;
                versions.orcManifestSha256 = pin.sha256;
            }
        } else if ((RELEASE_COMPONENTS as readonly string[]).includes(k)) {
            const c = k as ReleaseComponent;
            const pin = parseReleasePin(
                c,
                key,
                val,
                (x) => semver(x) !== undefined,
                (fk, m) => p.fail(fk, m),
            );
            if (pin) {
                versions[c] = pin.version;
                versions.releaseSha256 = { ...versions.releaseSha256, [c]: pin.sha256 };
            }
        } else if ((COMPONENT_NAMES as readonly string[]).includes(k)) {
            if (typeof val !== "string" || !semver(val)) {
                p.fail(key, `${quote(val)} is not a version like v1.2.3`);
            } else {
                versions[k as ComponentName] = val;
            }
        }
    }
    checkCompatibility(p, versions);
    return versions;
}

function toolPin(p: Problems, key: string, tool: ToolName, val: unknown): ToolPin | undefined {
    if (typeof val === "string") {
        if (!semver(val)) {
            p.fail(key, `${quote(val)} is not a version like v1.2.3`);
            return undefined;
        }
        const sha256 = KNOWN_CHECKSUMS[tool][val];
        if (!sha256) {
            const known = Object.keys(KNOWN_CHECKSUMS[tool]).join(", ");
            p.fail(key, `${tool} ${val} has no known checksum (known: ${known}); give {version: ${val}, sha256: <sha256 of the linux-amd64 download>}`);
            return undefined;
        }
        return { version: val, sha256 };
    }
    return versionAndSha256(p, key, val, "");
}

/**
 * `versions.flux`: the CLI (tool step) and the release's `install.yaml` (applied by the
 * program, lib/releaseCache.ts) at one version, both pinned: a version whose two SHA-256
 * lib/versions.ts knows, or `{version, sha256, manifestSha256}` (`manifestSha256` may be left
 * out only for a version whose manifest lib/versions.ts knows).
 */
function fluxPin(p: Problems, key: string, val: unknown): { version: string; sha256: string; manifestSha256: string } | undefined {
    const manifestFor = (version: string, given: unknown): string | undefined => {
        if (given !== undefined) {
            if (typeof given !== "string" || !SHA256.test(given)) {
                p.fail(`${key}.manifestSha256`, `${quote(given)} is not a SHA-256 (64 lowercase hex digits)`);
                return undefined;
            }
            return given;
        }
        const known = KNOWN_MANIFEST_CHECKSUMS.flux[version];
        if (!known) {
            p.fail(
                key,
                `Flux ${version}'s install.yaml has no known SHA-256 (known: ${Object.keys(KNOWN_MANIFEST_CHECKSUMS.flux).join(", ")}); ` +
                    `give {version: ${version}, sha256: <sha256 of the CLI's linux-amd64 download>, manifestSha256: <sha256 of the release's install.yaml>}`,
            );
        }
        return known;
    };
    if (typeof val === "object" && val !== null && !Array.isArray(val) && "manifestSha256" in val) {
        const { manifestSha256, ...rest } = val as Record<string, unknown>;
        const tool = versionAndSha256(p, key, rest, "");
        const manifest = tool ? manifestFor(tool.version, manifestSha256) : undefined;
        return tool && manifest ? { ...tool, manifestSha256: manifest } : undefined;
    }
    const tool = toolPin(p, key, "flux", val);
    const manifest = tool ? manifestFor(tool.version, undefined) : undefined;
    return tool && manifest ? { ...tool, manifestSha256: manifest } : undefined;
}

/** `{version, sha256}` at `key`, both checked (every problem reported); `what` says what the SHA-256 is of. */
function versionAndSha256(p: Problems, key: string, val: unknown, what: string): { version: string; sha256: string } | undefined {
    if (typeof val !== "object" || val === null || Array.isArray(val)) {
        p.fail(key, `must be a version (v1.2.3) or {version, sha256}${what}`);
        return undefined;
    }
    const o = val as Record<string, unknown>;
    let ok = true;
    for (const k of Object.keys(o)) {
        if (k !== "version" && k !== "sha256") {
            p.fail(`${key}.${k}`, "is not a known setting (known: version, sha256)");
            ok = false;
        }
    }
    if (typeof o.version !== "string" || !semver(o.version)) {
        p.fail(`${key}.version`, `${quote(o.version)} is not a version like v1.2.3`);
        ok = false;
    }
    if (typeof o.sha256 !== "string" || !SHA256.test(o.sha256)) {
        p.fail(`${key}.sha256`, `${quote(o.sha256)} is not a SHA-256 (64 lowercase hex digits)`);
        ok = false;
    }
    return ok ? { version: o.version as string, sha256: o.sha256 as string } : undefined;
}

/**
 * `versions.orc`: a version (its manifest's SHA-256 pinned when src/versions/versions.ts knows one,
 * else trusted on the server's first download: ORC publishes none) or `{version, sha256}` (the
 * SHA-256 of the release's install.yaml).
 */
function orcPin(p: Problems, key: string, val: unknown): { version: string; sha256?: string } | undefined {
    if (typeof val === "string") {
        if (!semver(val)) {
            p.fail(key, `${quote(val)} is not a version like v1.2.3`);
            return undefined;
        }
        return { version: val, sha256: KNOWN_MANIFEST_CHECKSUMS.orc[val] };
    }
    return versionAndSha256(p, key, val, " (the SHA-256 of the release's install.yaml)");
}

/** Cross-checks of the merged versions. Reports against the keys a user would change. */
function checkCompatibility(p: Problems, v: Versions): void {
    const capi = semver(v.clusterApi);
    const capo = semver(v.capo);
    const k8s = semver(v.kubernetes);
    if (capo && capi) {
        const min = CAPO_MIN_CLUSTER_API[minorOf(capo)];
        if (min === undefined) {
            p.fail(
                "versions.capo",
                `${v.capo}: compatibility with Cluster API is not known (known CAPO minors: ${Object.keys(CAPO_MIN_CLUSTER_API).join(", ")})`,
            );
        } else if (compareMinor(minorOf(capi), min) < 0) {
            p.fail("versions.clusterApi", `${v.clusterApi} is too old for CAPO ${v.capo}, which needs Cluster API v${min} or newer`);
        }
    }
    if (capi && k8s) {
        const range = CLUSTER_API_MANAGEMENT_KUBERNETES[minorOf(capi)];
        if (range === undefined) {
            p.fail(
                "versions.clusterApi",
                `${v.clusterApi}: the Kubernetes range it supports for a management cluster is not known (known Cluster API minors: ${Object.keys(CLUSTER_API_MANAGEMENT_KUBERNETES).join(", ")})`,
            );
        } else if (compareMinor(minorOf(k8s), range[0]) < 0 || compareMinor(minorOf(k8s), range[1]) > 0) {
            p.fail(
                "versions.nodeImage",
                `Kubernetes ${v.kubernetes} is outside the range Cluster API ${v.clusterApi} supports for a management cluster (v${range[0]}–v${range[1]})`,
            );
        }
    }
    const ctl = semver(v.clusterctl.version);
    if (ctl && capi && (minorOf(ctl) !== minorOf(capi) || ctl.patch < capi.patch)) {
        p.fail(
            "versions.clusterctl",
            `${v.clusterctl.version} cannot drive Cluster API ${v.clusterApi}: use clusterctl v${minorOf(capi)}.${capi.patch} or a later v${minorOf(capi)} patch`,
        );
    }
    const kubectl = semver(v.kubectl.version);
    if (kubectl && k8s && Math.abs(kubectl.minor - k8s.minor) > 1) {
        p.fail("versions.kubectl", `${v.kubectl.version} is more than one minor version away from the cluster's Kubernetes ${v.kubernetes}`);
    }
}
