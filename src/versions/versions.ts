/**
 * Every pinned version of the management stack, and the SHA-256 of every binary the
 * program downloads onto the management server, in one place.
 *
 * A downloaded tool may only be installed at a version whose checksum is known: either
 * one listed in KNOWN_CHECKSUMS below, or one the stack config gives together with its
 * own `sha256` (see src/config/rules/versions.ts). Checksums are for linux/amd64, the only architecture
 * the management server supports.
 */

import { knownReleasePin, ReleaseChecksums, ReleaseComponent } from "./releaseFiles";

/** The command-line tools installed on the management server by the tools step. */
export const TOOL_NAMES = ["kind", "kubectl", "clusterctl", "helm", "flux", "sonobuoy"] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** The components installed into the management cluster (versions only, no binaries). */
export const COMPONENT_NAMES = ["clusterApi", "capo", "orc", "caaph", "certManager"] as const;
export type ComponentName = (typeof COMPONENT_NAMES)[number];

/** A tool pinned to a version and the SHA-256 of its release download. */
export interface ToolPin {
    /** Release version, always with a leading `v` (e.g. `v0.32.0`). */
    version: string;
    /** Lowercase hex SHA-256 of the downloaded file (the archive, for archived tools). */
    sha256: string;
}

/** Everything the stack pins, after defaults and overrides are merged. */
export interface Versions {
    /** kind node image, always pinned by digest: `kindest/node:v1.36.1@sha256:…`. */
    nodeImage: string;
    /** Kubernetes version of the management cluster, taken from the node image tag. */
    kubernetes: string;
    kind: ToolPin;
    kubectl: ToolPin;
    clusterctl: ToolPin;
    helm: ToolPin;
    flux: ToolPin;
    /**
     * SHA-256 of Flux's release `install.yaml` at `flux.version` (from
     * {@link KNOWN_MANIFEST_CHECKSUMS} or the stack config's `versions.flux.manifestSha256`):
     * the program refuses any other content before anything of it is applied
     * (lib/releaseCache.ts). Always pinned: a Flux version without one is refused.
     */
    fluxManifestSha256: string;
    /** sonobuoy, which runs the conformance check (`npm run check`) against a workload cluster. */
    sonobuoy: ToolPin;
    /** Cluster API core, kubeadm bootstrap and control-plane providers. */
    clusterApi: string;
    /** Cluster API Provider OpenStack. */
    capo: string;
    /** OpenStack Resource Controller (required by CAPO, not installed by clusterctl). */
    orc: string;
    /**
     * SHA-256 of ORC's release `install.yaml` at `orc`, when pinned (from
     * {@link KNOWN_MANIFEST_CHECKSUMS} or the stack config): the ORC step refuses a download
     * with another. Undefined: trusted on the server's first download (src/host/scripts/orc.sh).
     */
    orcManifestSha256?: string;
    /** Cluster API Add-on Provider Helm. */
    caaph: string;
    /** cert-manager, pinned through clusterctl's configuration file. */
    certManager: string;
    /**
     * SHA-256 of the release files clusterctl reads (src/versions/releaseFiles.ts), per component and
     * file name, at the versions above: from {@link KNOWN_RELEASE_CHECKSUMS} or the stack config.
     * A file not named is unpinned (trusted on first use on the server).
     */
    releaseSha256: Readonly<Record<ReleaseComponent, ReleaseChecksums>>;
}

/**
 * SHA-256 of the linux/amd64 release download of every tool version we have verified.
 * Adding a version here makes it selectable by version alone in `capi-mgmt:versions`.
 * The `renovate:` comments mark the default version's entry for Renovate (renovate.json),
 * which bumps it with its checksum where the release publishes one.
 */
export const KNOWN_CHECKSUMS: Readonly<Record<ToolName, Readonly<Record<string, string>>>> = {
    kind: {
        // renovate: datasource=github-release-attachments depName=kubernetes-sigs/kind
        "v0.32.0": "50030de23cf40a18505f20426f6a8506bedf13c6e509244bd1fa9463721b0f54",
    },
    kubectl: {
        // renovate: datasource=github-releases depName=kubernetes/kubernetes
        "v1.36.1": "629d3f410e09bf49b64ae7079f7f0bda1191efed311f7d37fdbab0ad5b0ec2b7",
        "v1.36.3": "ebbd080e7c2e275093b55915722043257eb24004363e20acb3c4d71919f88336",
        "v1.36.4": "8b8f088da2dab964f853b38464033b1be15ede2839eca751482357c45abdd05a",
    },
    clusterctl: {
        // clusterctl is released with Cluster API; v1.14.2 drives v1.14.x providers.
        // renovate: datasource=github-release-attachments depName=kubernetes-sigs/cluster-api
        "v1.14.2": "01122674fd3c47a33206ab1b8b81d437afbcf5dd25d126535564f24a2cdf676e",
    },
    helm: {
        // renovate: datasource=github-release-attachments depName=helm/helm
        "v3.18.4": "f8180838c23d7c7d797b208861fecb591d9ce1690d8704ed1e4cb8e2add966c1",
    },
    flux: {
        // renovate: datasource=github-release-attachments depName=fluxcd/flux2
        "v2.9.4": "c2c397a52930f52d2005c01d276116b059d062de379386d58e98115380a766a2",
    },
    sonobuoy: {
        // sonobuoy_<version>_linux_amd64.tar.gz, as the release's sonobuoy_<version>_checksums.txt lists it.
        "v0.57.3": "6728e04f62068465c56e2d317f4a5392520bf00c836aeaba970ae913f943718c",
        // renovate: datasource=github-release-attachments depName=vmware-tanzu/sonobuoy
        "v0.57.5": "7c5c2250e5103c98f4dad2bcab86baf954e319c57c419c113f28f5060e62f129",
    },
};

/**
 * SHA-256 of release manifests the program applies itself, per component and version. Only
 * from a checked source (neither project publishes checksums of its `install.yaml`); every
 * entry has a `// source:` comment (test/pinSources.spec.ts). Renovate bumps each with its
 * version (github-release-attachments hashes the new release's same-named asset).
 */
export const KNOWN_MANIFEST_CHECKSUMS: Readonly<{ flux: Readonly<Record<string, string>>; orc: Readonly<Record<string, string>> }> = {
    flux: {
        // source: found identically in three unrelated public repositories' verification scripts and fixture provenance
        //   (docs/verified-downloads.md, "Default pins and their sources").
        // renovate: datasource=github-release-attachments depName=fluxcd/flux2
        "v2.9.4": "9eb86c5f9d606b2ac2cfe71223ab2f23faa2d59ccb21df4e08e5610e54d535f8",
    },
    orc: {
        // source: github.com/k-orc/openstack-resource-controller/v2@v2.6.0's dist/install.yaml (489,216 bytes; module
        //   h1:KKmdPiec2rzXv8NWWF01qQT6pIp4pILhDTnj45Nq7Uc= from the Go checksum database): ORC's RELEASE.md generates
        //   dist/install.yaml, commits it, tags that commit and uploads that file (`gh release upload $VERSION dist/install.yaml`).
        //   The same SHA-256 is recorded for the downloaded v2.6.0 release asset by C5C3/cobaltcore hack/ci-deploy-korc.sh
        //   (commit 4e5dc3afee281b40c88ff3d6f0e10ebf2449fc7b, `KORC_INSTALL_SHA256`, checked by its CI before applying).
        // renovate: datasource=github-release-attachments depName=k-orc/openstack-resource-controller
        "v2.6.0": "affe57ece8c81001d4dacd35fe3bd5bf35662ed6b5c4b1da59f334c685bba109",
    },
};

function pin(tool: ToolName, version: string): ToolPin {
    return { version, sha256: KNOWN_CHECKSUMS[tool][version] };
}

/** The versions a stack gets when `capi-mgmt:versions` says nothing (`renovate:` comments: renovate.json). */
export const DEFAULT_VERSIONS: Readonly<Versions> = Object.freeze({
    nodeImage: "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5",
    kubernetes: "v1.36.1",
    kind: pin("kind", "v0.32.0"), // renovate: datasource=github-release-attachments depName=kubernetes-sigs/kind
    kubectl: pin("kubectl", "v1.36.1"), // renovate: datasource=github-releases depName=kubernetes/kubernetes
    clusterctl: pin("clusterctl", "v1.14.2"), // renovate: datasource=github-release-attachments depName=kubernetes-sigs/cluster-api
    helm: pin("helm", "v3.18.4"), // renovate: datasource=github-release-attachments depName=helm/helm
    flux: pin("flux", "v2.9.4"), // renovate: datasource=github-release-attachments depName=fluxcd/flux2
    fluxManifestSha256: KNOWN_MANIFEST_CHECKSUMS.flux["v2.9.4"], // renovate: datasource=github-release-attachments depName=fluxcd/flux2
    sonobuoy: pin("sonobuoy", "v0.57.5"), // renovate: datasource=github-release-attachments depName=vmware-tanzu/sonobuoy
    clusterApi: "v1.14.0", // renovate: datasource=github-releases depName=kubernetes-sigs/cluster-api
    capo: "v0.14.7", // renovate: datasource=github-releases depName=kubernetes-sigs/cluster-api-provider-openstack
    orc: "v2.6.0", // renovate: datasource=github-releases depName=k-orc/openstack-resource-controller
    orcManifestSha256: KNOWN_MANIFEST_CHECKSUMS.orc["v2.6.0"], // renovate: datasource=github-release-attachments depName=k-orc/openstack-resource-controller
    caaph: "v0.6.4", // renovate: datasource=github-releases depName=kubernetes-sigs/cluster-api-addon-provider-helm
    certManager: "v1.21.1", // renovate: datasource=github-releases depName=cert-manager/cert-manager
    // Pinned only where src/versions/releaseFiles.ts knows a checked value (every metadata.yaml and
    // cert-manager's manifest at these versions; the components files of Cluster API, CAPO and CAAPH
    // are not); a Renovate bump moves those pins with the version (github-release-attachments).
    releaseSha256: Object.freeze({
        clusterApi: knownReleasePin("clusterApi", "v1.14.0").sha256,
        capo: knownReleasePin("capo", "v0.14.7").sha256,
        caaph: knownReleasePin("caaph", "v0.6.4").sha256,
        certManager: knownReleasePin("certManager", "v1.21.1").sha256,
    }),
});

/**
 * Oldest Cluster API minor each CAPO minor works with (CAPO's compatibility table).
 * A CAPO minor missing here is refused: its requirements are not known.
 */
export const CAPO_MIN_CLUSTER_API: Readonly<Record<string, string>> = {
    "0.12": "1.9",
    "0.13": "1.11",
    "0.14": "1.12",
};

/**
 * Kubernetes minors Cluster API supports for the management cluster, per Cluster API minor
 * (inclusive range). A Cluster API minor missing here is refused.
 */
export const CLUSTER_API_MANAGEMENT_KUBERNETES: Readonly<Record<string, readonly [string, string]>> = {
    "1.14": ["1.33", "1.36"],
};

/** How a tool's release is downloaded: the URL, and the file inside an archive if any. */
export interface ToolDownload {
    /** Tool (and installed binary) name. */
    name: ToolName;
    /** Pinned version with leading `v`. */
    version: string;
    /** HTTPS URL of the release file. */
    url: string;
    /** Expected SHA-256 of the file at `url`. */
    sha256: string;
    /** Path of the binary inside a `.tar.gz`, or undefined when `url` is the binary. */
    archiveMember?: string;
}

/** Where each tool's linux/amd64 release lives. */
export function toolDownload(name: ToolName, p: ToolPin): ToolDownload {
    const v = p.version;
    switch (name) {
        case "kind":
            return { name, ...p, url: `https://github.com/kubernetes-sigs/kind/releases/download/${v}/kind-linux-amd64` };
        case "kubectl":
            return { name, ...p, url: `https://dl.k8s.io/release/${v}/bin/linux/amd64/kubectl` };
        case "clusterctl":
            return { name, ...p, url: `https://github.com/kubernetes-sigs/cluster-api/releases/download/${v}/clusterctl-linux-amd64` };
        case "helm":
            return { name, ...p, url: `https://get.helm.sh/helm-${v}-linux-amd64.tar.gz`, archiveMember: "linux-amd64/helm" };
        case "flux":
            return {
                name,
                ...p,
                url: `https://github.com/fluxcd/flux2/releases/download/${v}/flux_${v.slice(1)}_linux_amd64.tar.gz`,
                archiveMember: "flux",
            };
        case "sonobuoy":
            return {
                name,
                ...p,
                url: `https://github.com/vmware-tanzu/sonobuoy/releases/download/${v}/sonobuoy_${v.slice(1)}_linux_amd64.tar.gz`,
                archiveMember: "sonobuoy",
            };
    }
}

/** The downloads of every tool, in a stable order. */
export function toolDownloads(versions: Versions): ToolDownload[] {
    return TOOL_NAMES.map((name) => toolDownload(name, versions[name]));
}
