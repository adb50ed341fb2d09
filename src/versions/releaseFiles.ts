/**
 * The release files clusterctl installs the Cluster API providers and cert-manager from, where
 * each is downloaded, where it lies in clusterctl's local repository on the server, and the
 * SHA-256 it must have.
 *
 * clusterctl (v1.14, cmd/clusterctl/client/repository/repository_local.go) reads a provider
 * whose `providers:` URL is a local path from `{basepath}/{provider-label}/{version}/{file}`,
 * where the label is the provider's ManifestLabel (`cluster-api`, `bootstrap-kubeadm`,
 * `control-plane-kubeadm`, `infrastructure-openstack`, `addon-helm`; cert-manager's fake
 * provider: `cert-manager`). Each provider directory needs its components file and the
 * release's `metadata.yaml` (clusterctl reads it for the version's contract); cert-manager
 * needs only `cert-manager.yaml`. The providers step (src/host/scripts/capi-providers.sh) downloads these
 * files, verifies them and only then runs clusterctl with `file://` URLs.
 */

/** The components whose release files clusterctl reads. */
export const RELEASE_COMPONENTS = ["clusterApi", "capo", "caaph", "certManager"] as const;
export type ReleaseComponent = (typeof RELEASE_COMPONENTS)[number];

/** SHA-256 per release file name (as {@link RELEASE_FILE_NAMES} lists them). */
export type ReleaseChecksums = Readonly<Record<string, string>>;

/** The file names of each component's release that clusterctl reads. */
export const RELEASE_FILE_NAMES: Readonly<Record<ReleaseComponent, readonly string[]>> = {
    clusterApi: ["core-components.yaml", "bootstrap-components.yaml", "control-plane-components.yaml", "metadata.yaml"],
    capo: ["infrastructure-components.yaml", "metadata.yaml"],
    caaph: ["addon-components.yaml", "metadata.yaml"],
    certManager: ["cert-manager.yaml"],
};

/**
 * SHA-256 of release files from a checked source, per component, version and file. A file
 * missing here is unpinned by default: the step trusts its first download on a server and
 * refuses a different one later (see docs/verified-downloads.md), unless `capi-mgmt:versions`
 * pins it (`<component>: {version, sha256: {<file>: <sha256>}}`).
 *
 * Sources (each value found recorded, identically, in several unrelated public repositories
 * that verify the download before applying it; none of these projects publishes checksums):
 * - cert-manager v1.21.1 `cert-manager.yaml` (1,034,400 bytes): e.g. a CAPI test framework's
 *   pins (`CertManagerManifest`), a smolvm guest script building a clusterctl local repository,
 *   a staging bootstrap script with its byte size, a k3s bootstrap.
 * - Cluster API v1.14.0, CAPO v0.14.7, CAAPH v0.6.4: no recorded SHA-256 found (values exist
 *   for CAPI v1.14.2, not the pinned v1.14.0); unpinned by default. Searched again for issue 20
 *   (Renovate digests, package recipes, air-gap mirrors, SBOMs, checksums files, clusterctl local
 *   repositories): the v1.14.0 files are downloaded by several public scripts, none records a
 *   SHA-256; no CAPO v0.14.7 or CAAPH v0.6.4 release file is recorded anywhere searched.
 *
 * The `renovate:` comment marks a pinned entry for Renovate (renovate.json): the
 * github-release-attachments datasource finds the release asset with the current SHA-256 and
 * bumps the version with the same asset's SHA-256 in the new release.
 */
export const KNOWN_RELEASE_CHECKSUMS: Readonly<Record<ReleaseComponent, Readonly<Record<string, ReleaseChecksums>>>> = {
    clusterApi: {},
    capo: {},
    caaph: {},
    certManager: {
        // renovate: datasource=github-release-attachments depName=cert-manager/cert-manager
        "v1.21.1": { "cert-manager.yaml": "5f6a499b8c1857d57f560f536e0dcc830914b45c420899fe7ad0692c8624e408" },
    },
};

/** One release file of clusterctl's local repository. */
export interface ReleaseFile {
    /** clusterctl's ManifestLabel of the provider (its directory in the repository). */
    label: string;
    /** Release version, e.g. `v1.14.0`. */
    version: string;
    /** File name, e.g. `core-components.yaml`. */
    file: string;
    /** HTTPS URL of the release asset. */
    url: string;
    /** Pinned SHA-256 (lowercase hex); undefined: unpinned (trusted on first use on the server). */
    sha256?: string;
}

/** A component at a version, with the SHA-256 pins of its files (from the defaults or the stack config). */
export interface ReleasePin {
    /** Release version with leading `v`. */
    version: string;
    /** SHA-256 per file name; a file not named is unpinned. */
    sha256: ReleaseChecksums;
}

const RELEASE_BASE: Readonly<Record<ReleaseComponent, string>> = {
    clusterApi: "https://github.com/kubernetes-sigs/cluster-api/releases/download",
    capo: "https://github.com/kubernetes-sigs/cluster-api-provider-openstack/releases/download",
    caaph: "https://github.com/kubernetes-sigs/cluster-api-addon-provider-helm/releases/download",
    certManager: "https://github.com/cert-manager/cert-manager/releases/download",
};

/** Provider label → its components file, per component (metadata.yaml goes to every label but cert-manager's). */
const LABELS: Readonly<Record<ReleaseComponent, ReadonlyArray<readonly [string, string]>>> = {
    clusterApi: [
        ["cluster-api", "core-components.yaml"],
        ["bootstrap-kubeadm", "bootstrap-components.yaml"],
        ["control-plane-kubeadm", "control-plane-components.yaml"],
    ],
    capo: [["infrastructure-openstack", "infrastructure-components.yaml"]],
    caaph: [["addon-helm", "addon-components.yaml"]],
    certManager: [["cert-manager", "cert-manager.yaml"]],
};

/** The pin of `component` at `version` known to {@link KNOWN_RELEASE_CHECKSUMS} (possibly none). */
export function knownReleasePin(component: ReleaseComponent, version: string): ReleasePin {
    return { version, sha256: KNOWN_RELEASE_CHECKSUMS[component][version] ?? {} };
}

/** Every file of clusterctl's local repository for these pins, in a stable order. */
export function releaseFiles(pins: Readonly<Record<ReleaseComponent, ReleasePin>>): ReleaseFile[] {
    return RELEASE_COMPONENTS.flatMap((c) => {
        const { version, sha256 } = pins[c];
        const url = (file: string) => `${RELEASE_BASE[c]}/${version}/${file}`;
        return LABELS[c].flatMap(([label, components]) => {
            const files = c === "certManager" ? [components] : [components, "metadata.yaml"];
            return files.map((file) => ({ label, version, file, url: url(file), ...(sha256[file] ? { sha256: sha256[file] } : {}) }));
        });
    });
}

/**
 * Reads `versions.<component>` for a release component: a version (its files pinned as
 * {@link KNOWN_RELEASE_CHECKSUMS} knows them) or `{version, sha256: {<file>: <sha256>}}`.
 * Reports every problem through `fail(key, message)`; returns undefined when there was one.
 */
export function parseReleasePin(
    component: ReleaseComponent,
    key: string,
    val: unknown,
    isVersion: (v: string) => boolean,
    fail: (key: string, message: string) => void,
): ReleasePin | undefined {
    const names = RELEASE_FILE_NAMES[component];
    if (typeof val === "string") {
        if (!isVersion(val)) {
            fail(key, `${JSON.stringify(val)} is not a version like v1.2.3`);
            return undefined;
        }
        return knownReleasePin(component, val);
    }
    if (typeof val !== "object" || val === null || Array.isArray(val)) {
        fail(key, `must be a version (v1.2.3) or {version, sha256: {<file>: <sha256>}} (files: ${names.join(", ")})`);
        return undefined;
    }
    const o = val as Record<string, unknown>;
    let ok = true;
    for (const k of Object.keys(o)) {
        if (k !== "version" && k !== "sha256") {
            fail(`${key}.${k}`, "is not a known setting (known: version, sha256)");
            ok = false;
        }
    }
    if (typeof o.version !== "string" || !isVersion(o.version)) {
        fail(`${key}.version`, `${JSON.stringify(o.version)} is not a version like v1.2.3`);
        ok = false;
    }
    const sha256: Record<string, string> = {};
    if (typeof o.sha256 !== "object" || o.sha256 === null || Array.isArray(o.sha256)) {
        fail(`${key}.sha256`, `must map release file names (${names.join(", ")}) to their SHA-256`);
        ok = false;
    } else {
        for (const [file, sum] of Object.entries(o.sha256 as Record<string, unknown>)) {
            if (!names.includes(file)) {
                fail(`${key}.sha256.${file}`, `is not a release file clusterctl reads (known: ${names.join(", ")})`);
                ok = false;
            } else if (typeof sum !== "string" || !/^[0-9a-f]{64}$/.test(sum)) {
                fail(`${key}.sha256.${file}`, `${JSON.stringify(sum)} is not a SHA-256 (64 lowercase hex digits)`);
                ok = false;
            } else {
                sha256[file] = sum;
            }
        }
    }
    return ok ? { version: o.version as string, sha256 } : undefined;
}
