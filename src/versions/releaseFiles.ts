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

/** A release file's pin: `[version, file name, SHA-256]`. */
export type ReleaseFileSha256 = readonly [version: string, file: string, sha256: string];

/**
 * SHA-256 of release files from a checked source, one row `[version, file, sha256]` per line
 * (so that Renovate can bump each file's version and digest on its own line). A file missing here is
 * unpinned by default: the step trusts its first download on a server and refuses a different
 * one later (see docs/verified-downloads.md), unless `capi-mgmt:versions` pins it
 * (`<component>: {version, sha256: {<file>: <sha256>}}`).
 *
 * Every entry has a `// source:` comment (test/pinSources.spec.ts fails without one): where the
 * value comes from, never invented and never taken from one unchecked download. Two kinds:
 * - recorded, identically, by unrelated public projects that verify the download;
 * - the file's bytes in the project's Go module at the release's tag, when the release recipe
 *   (Makefile and release workflow at that tag) uploads that file verbatim (`cp metadata.yaml
 *   out/`, then every file of `out/` to the GitHub release). The Go module proxy serves the
 *   module and the Go checksum database (sum.golang.org) authenticates it; the `h1:` sums
 *   below are the database's. That is how the module's `metadata.yaml` is the release asset.
 *
 * Components files are built by kustomize at release time, so they are not in the module. A third
 * kind of source is accepted for them: a reproduction from the module with the tag's release recipe,
 * when the same pipeline reproduces byte for byte a recorded release asset of the same project whose
 * recipe is unchanged (Cluster API v1.14.0: recipe proven exact on the recorded v1.14.2 assets;
 * testbed/release-repro/reproduce.sh). Not pinned: CAPO v0.14.7 `infrastructure-components.yaml`:
 * CAPO's recipe reproduces its recorded v0.6.4, v0.7.2 and v0.7.3 assets byte for byte, but those were
 * built by hand with kustomize v4 and another config layout, v0.14.7 by the release workflow with
 * kustomize v5.8.1, so they do not validate its reproduction (docs/verified-downloads.md).
 * CAAPH v0.6.4's `addon-components.yaml` is pinned: one recorded copy and the reproduction agree byte
 * for byte.
 *
 * The `renovate:` comment marks a default entry for Renovate (renovate.json): the
 * github-release-attachments datasource finds the release asset with the current SHA-256 and
 * bumps the version with the same asset's SHA-256 in the new release.
 */
export const KNOWN_RELEASE_FILE_SHA256: Readonly<Record<ReleaseComponent, readonly ReleaseFileSha256[]>> = {
    clusterApi: [
        // source: sigs.k8s.io/cluster-api@v1.14.0's metadata.yaml (1,048 bytes; module h1:Cu0WV9dSdL+Do22q2LJ4OBZdm+d/6ep/L04yqFnifuM=,
        //   tag commit 560d4acf507bc7cac34b2da449fa5cd53eaeb149); the release copies it verbatim (Makefile `release-manifests`:
        //   `cp metadata.yaml $(RELEASE_DIR)/metadata.yaml`; .github/workflows/release.yaml uploads `out/*`). The same SHA-256 is
        //   recorded for the v1.14.2 release's metadata.yaml (byte-identical in module v1.14.2) by captf-io/cluster-api-provider-terraform
        //   test/framework/versions.go (d6986f46) and rosenhouse/capi-dagger-dev-env internal/devenv/platform/platform.go, which download
        //   and verify it: so the release adds nothing to the module's file.
        // renovate: datasource=github-release-attachments depName=kubernetes-sigs/cluster-api
        ["v1.14.0", "metadata.yaml", "c470906f551ac3e3e9aedc9a3e733b5a5994428693df43e95f65ea67c035f9fe"],
        // source: reproduced with a recipe proven exact on recorded release assets, not recorded themselves. Module
        //   sigs.k8s.io/cluster-api@v1.14.0 (h1:Cu0WV9dSdL+Do22q2LJ4OBZdm+d/6ep/L04yqFnifuM=, Go checksum database; tag commit
        //   560d4acf507bc7cac34b2da449fa5cd53eaeb149) with the tag's release recipe: Makefile `manifest-modification
        //   REGISTRY=registry.k8s.io/cluster-api` (image `<registry>/<name>:v1.14.0`, imagePullPolicy IfNotPresent), then `kustomize build`
        //   of core/config/default, bootstrap/kubeadm/config/default and controlplane/kubeadm/config/default with kustomize v5.7.0
        //   (KUSTOMIZE_VER) built from its Go module (h1:dqZGF+ZLNb0HYrInmEfZR7rStkWrivYO6fwH7QC1RG8=). Control: the same pipeline on
        //   module v1.14.2 (h1:o3GFNaeNFAOEEMpDPfhCK+2CjmV6gtQ8yLEcUwCg7bA=) gives, byte for byte, the four v1.14.2 assets recorded below.
        //   The recipe is unchanged between the tags: their Makefiles differ only in GO_VERSION (1.26.5 / 1.26.6) and
        //   KUBEBUILDER_ENVTEST_KUBERNETES_VERSION, .github/workflows/release.yaml is identical; each v1.14.0 file differs from its v1.14.2
        //   reproduction only in the controller image's tag line. Rebuild: testbed/release-repro/reproduce.sh capi v1.14.2 v1.14.0.
        // renovate: datasource=github-release-attachments depName=kubernetes-sigs/cluster-api
        ["v1.14.0", "core-components.yaml", "d925404ef6da63fbac1799ca1c73230e39f4f7ac0f71b8b3bb0b02ddad29fbd2"],
        // source: as core-components.yaml above (599,260 bytes; reproduced, recipe proven exact on the recorded v1.14.2 assets)
        // renovate: datasource=github-release-attachments depName=kubernetes-sigs/cluster-api
        ["v1.14.0", "bootstrap-components.yaml", "ff809e73c2340b9151147172c5d322527a7294ac012ba59c7af6e22db51b5013"],
        // source: as core-components.yaml above (736,855 bytes; reproduced, recipe proven exact on the recorded v1.14.2 assets)
        // renovate: datasource=github-release-attachments depName=kubernetes-sigs/cluster-api
        ["v1.14.0", "control-plane-components.yaml", "ae8c141459c187e1f83c1ad4d40eb62f0e02e8d16fd0646c9a5a646192be21b6"],
        // Not the default version. Each recorded identically by captf-io/cluster-api-provider-terraform test/framework/versions.go
        // (d6986f46, "download each CAPI release asset ... record sha256sum") and rosenhouse/capi-dagger-dev-env
        // internal/devenv/platform/platform.go (verified downloads); each reproduced byte for byte from module sigs.k8s.io/cluster-api@v1.14.2
        // (h1:o3GFNaeNFAOEEMpDPfhCK+2CjmV6gtQ8yLEcUwCg7bA=) with the release recipe (kustomize v5.7.0, image registry.k8s.io/cluster-api).
        // source: captf-io/cluster-api-provider-terraform and rosenhouse/capi-dagger-dev-env (1,174,593 bytes)
        ["v1.14.2", "core-components.yaml", "b2fff42cb5e35440ed963a463c5ab128004481b5a4336ea0005812be2ff7e2a8"],
        // source: captf-io/cluster-api-provider-terraform and rosenhouse/capi-dagger-dev-env (599,260 bytes)
        ["v1.14.2", "bootstrap-components.yaml", "2a2d24f83244a6dae60e35d9e72e93c6ac3c209eedc467184737bb8eecfd63bb"],
        // source: captf-io/cluster-api-provider-terraform and rosenhouse/capi-dagger-dev-env (736,855 bytes)
        ["v1.14.2", "control-plane-components.yaml", "7aa827b43eee898d8597bb39b7db5cf755c872c7a4da68b05cc3a9f35c459c93"],
        // source: the same two, and module v1.14.2's metadata.yaml (1,048 bytes, identical to v1.14.0's)
        ["v1.14.2", "metadata.yaml", "c470906f551ac3e3e9aedc9a3e733b5a5994428693df43e95f65ea67c035f9fe"],
    ],
    capo: [
        // source: sigs.k8s.io/cluster-api-provider-openstack@v0.14.7's metadata.yaml (504 bytes; module
        //   h1:paxhYMaCVkoOBBL3IL02Su2x+/ocXOxqNgZ0AyG2KSI=, tag commit a4694b46b3fd2b31e3e6fb08f8ada6bc09be2643); the release copies it
        //   verbatim (Makefile `release-manifests`: `cp metadata.yaml $(RELEASE_DIR)/metadata.yaml`; release.yaml uploads `out/*`).
        // renovate: datasource=github-release-attachments depName=kubernetes-sigs/cluster-api-provider-openstack
        ["v0.14.7", "metadata.yaml", "2c1d791168a7dc4ca13cfa3d19acd186f39a51a02f5f1967c857c6e0a01cbddc"],
    ],
    caaph: [
        // source: sigs.k8s.io/cluster-api-addon-provider-helm@v0.6.4's metadata.yaml (611 bytes; module
        //   h1:Hc2B7KrnDSJEYzau/SBkft55c72ulSl8j+fHpPtMLD4=, tag commit 825662962a26dc339f3871184c91ed4bd2f83a4f); the release copies it
        //   verbatim (Makefile `release-metadata`: `cp metadata.yaml $(RELEASE_DIR)/metadata.yaml`; release.yml uploads `out/*`).
        // renovate: datasource=github-release-attachments depName=kubernetes-sigs/cluster-api-addon-provider-helm
        ["v0.6.4", "metadata.yaml", "d50a44ee0db2f0368699d15ff011b9b5a61d9969483de1c4f6e4e6046390530f"],
        // source: two independent lines of evidence that agree byte for byte (55,263 bytes): the v0.6.4 release asset kept by
        //   openkubes/openkubes (architecture/spikes/ADR-Platform-030/m0a-installation/caaph-v0.6.4-addon-components.yaml), and this
        //   project's reproduction from module sigs.k8s.io/cluster-api-addon-provider-helm@v0.6.4 (authenticated by the Go checksum
        //   database, h1:Hc2B7KrnDSJEYzau/SBkft55c72ulSl8j+fHpPtMLD4=) with the tag's release recipe (its image patches, then
        //   `kustomize build` with the kustomize its Makefile pins, built from its Go module). Neither alone would be a default.
        // renovate: datasource=github-release-attachments depName=kubernetes-sigs/cluster-api-addon-provider-helm
        ["v0.6.4", "addon-components.yaml", "a70f4eb77eac626231daca1e2a046b4b069bb84320efa327cc8c56a9c4ca03e6"],
    ],
    certManager: [
        // source: recorded identically (1,034,400 bytes) in, among others, a Cluster API provider's test framework pins
        //   (captf-io/cluster-api-provider-terraform test/framework/versions.go `CertManagerManifest`), a smolvm guest script building a
        //   clusterctl local repository, a staging bootstrap script with its byte size, and a k3s bootstrap script.
        // renovate: datasource=github-release-attachments depName=cert-manager/cert-manager
        ["v1.21.1", "cert-manager.yaml", "5f6a499b8c1857d57f560f536e0dcc830914b45c420899fe7ad0692c8624e408"],
    ],
};

/**
 * `rows` per version and file name. A row repeated with the same SHA-256 is accepted (a Renovate
 * bump onto a version already listed leaves one); a file with two different SHA-256 is refused.
 */
export function checksumsByVersion(rows: readonly ReleaseFileSha256[]): Record<string, Record<string, string>> {
    const byVersion: Record<string, Record<string, string>> = {};
    for (const [version, file, sha256] of rows) {
        const known = (byVersion[version] ??= {});
        if (known[file] !== undefined && known[file] !== sha256) {
            throw new Error(`src/versions/releaseFiles.ts: ${version} ${file} is pinned to two SHA-256: ${known[file]} and ${sha256}`);
        }
        known[file] = sha256;
    }
    return byVersion;
}

/** {@link KNOWN_RELEASE_FILE_SHA256} per component, version and file name. */
export const KNOWN_RELEASE_CHECKSUMS: Readonly<Record<ReleaseComponent, Readonly<Record<string, ReleaseChecksums>>>> = Object.fromEntries(
    RELEASE_COMPONENTS.map((c) => [c, checksumsByVersion(KNOWN_RELEASE_FILE_SHA256[c])]),
) as Record<ReleaseComponent, Record<string, ReleaseChecksums>>;

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
