/**
 * Renders the scripts in `src/host/scripts/` that build the management cluster on the server: the kind
 * cluster, its kubeconfig, the API certificate's expiry, ORC and the Cluster API providers.
 *
 * Like src/host/hostScripts.ts, rendering is pure and deterministic, validates every input and
 * throws an Error naming the bad one. The scripts run as root (`sudo bash -s`, script on stdin).
 */
import { DOCKER_RESTART_PENDING } from "../host/bootstrapScripts";
import { proxyParams, renderHostScript, HOST_STATE_DIR, SERVER_KUBECONFIG } from "../host/hostScripts";
import {
    NODE_CONTAINERD_PROXY_DROP_IN,
    NODE_CONTAINERD_REGISTRY_CONFIG,
    NODE_REGISTRY_HOSTS_DIR,
    registryHostsParam,
    renderContainerdProxyDropIn,
} from "./kindConfig";
import { isHostPort } from "../shared/net";
import { ProxyEnv, RegistryMirror } from "../host/proxy";
import { ReleaseChecksums, ReleaseComponent, releaseFiles } from "../versions/releaseFiles";

/** Kind cluster id line prefix on stdout of the kind step. */
export const KIND_CLUSTER_ID_PREFIX = "kind-cluster-id: ";

/** Parameters of `src/host/scripts/kind-cluster.sh`. */
export interface KindClusterParams {
    /** kind cluster name (lowercase letters, digits, `.` and `-`; at most 50 characters). */
    clusterName: string;
    /** kind node image, e.g. `kindest/node:v1.36.1@sha256:…`; a new one recreates the cluster. */
    nodeImage: string;
    /** The kind config YAML (several lines); a change recreates the cluster. */
    kindConfig: string;
    /** The proxy (kind create's environment, the node's containerd); undefined: none. Changed in place. */
    proxy?: ProxyEnv;
    /** Registry mirrors of the node's containerd (hosts.toml); changed in place. */
    registryMirrors?: RegistryMirror[];
}

/** Parameters of `src/host/scripts/kubeconfig.sh`. */
export interface KubeconfigParams {
    /** kind cluster name. */
    clusterName: string;
    /** `host:port` the API is reached at from outside (IPv6 in brackets), e.g. `192.0.2.10:6443`. */
    apiEndpoint: string;
}

/** Parameters of `src/host/scripts/orc.sh`. */
export interface OrcParams {
    /** ORC release, e.g. `v2.6.0`. */
    version: string;
    /**
     * SHA-256 (lowercase hex) the release's `install.yaml` must have; a download with another is
     * refused. Undefined (a version src/versions/versions.ts knows no SHA-256 of, and none in the
     * config): trusted on the server's first download (ORC publishes no checksum),
     * its SHA-256 recorded there and printed; a later download with another is refused.
     */
    manifestSha256?: string;
    /** Bound, in seconds, of the download's and the apply's attempts and retries, and of the wait for the controller. */
    waitTimeoutSeconds: number;
    /** The proxy of kubectl's download and of ORC's controller; undefined: none. */
    proxy?: ProxyEnv;
    /** Admin kubeconfig of the cluster ORC goes to; default the kind cluster's ({@link SERVER_KUBECONFIG}). */
    kubeconfigPath?: string;
}

/** Parameters of `src/host/scripts/capi-providers.sh`. */
export interface CapiProvidersParams {
    /** Cluster API release of the core, kubeadm bootstrap and kubeadm control-plane providers. */
    clusterApi: string;
    /** Cluster API Provider OpenStack release. */
    capo: string;
    /** Cluster API Add-on Provider Helm release. */
    caaph: string;
    /** cert-manager release, pinned in clusterctl's configuration file. */
    certManager: string;
    /**
     * SHA-256 pins of the release files clusterctl reads, per component and file name
     * (src/versions/releaseFiles.ts); a file not named is trusted on the server's first download.
     */
    releaseSha256: Readonly<Record<ReleaseComponent, ReleaseChecksums>>;
    /** How long clusterctl waits for cert-manager and for each provider, in seconds. */
    waitTimeoutSeconds: number;
    /** The proxy of clusterctl and of the providers' controllers; undefined: none. */
    proxy?: ProxyEnv;
    /** Admin kubeconfig of the cluster the providers go to; default the kind cluster's ({@link SERVER_KUBECONFIG}). */
    kubeconfigPath?: string;
}

/** kind's own rule for cluster names, also kept from starting with `-` or `.`. */
const KIND_CLUSTER_NAME = /^[a-z0-9][a-z0-9.-]{0,49}$/;
/** An image reference: repository, optional tag, optional digest; no spaces or quotes. */
const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$/;
/** A release tag like `v1.2.3` or `v1.2.3-rc.1`. */
const RELEASE_VERSION = /^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/;
/** Longest wait a step may be given: one day. */
const MAX_WAIT_SECONDS = 24 * 3600;

function checkClusterName(name: string): void {
    if (typeof name !== "string" || !KIND_CLUSTER_NAME.test(name)) {
        throw new Error(`clusterName must be a kind cluster name (lowercase letters, digits, "." and "-", at most 50 characters), got ${JSON.stringify(name)}`);
    }
}

function checkVersion(what: string, version: string): void {
    if (typeof version !== "string" || !RELEASE_VERSION.test(version)) {
        throw new Error(`${what} must be a release like v1.2.3, got ${JSON.stringify(version)}`);
    }
}

/** The kubeconfig a step is given: an absolute path on the server, by default the kind cluster's. */
function kubeconfigPathOf(p: string | undefined): string {
    if (p !== undefined && !/^\/[A-Za-z0-9._/-]+$/.test(p)) {
        throw new Error(`kubeconfigPath must be an absolute path, got ${JSON.stringify(p)}`);
    }
    return p ?? SERVER_KUBECONFIG;
}

function checkWaitSeconds(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > MAX_WAIT_SECONDS) {
        throw new Error(`waitTimeoutSeconds must be a whole number from 1 to ${MAX_WAIT_SECONDS}, got ${n}`);
    }
}

/**
 * Renders `src/host/scripts/kind-cluster.sh`: creates the kind cluster, keeps it when nothing changed,
 * recreates it for a new node image or config only when it manages no Cluster API Cluster
 * (otherwise it refuses and changes nothing). The config is kept in {@link HOST_STATE_DIR},
 * the admin kubeconfig in {@link SERVER_KUBECONFIG}. Its stdout is exactly one line,
 * {@link KIND_CLUSTER_ID_PREFIX} followed by the SHA-256 of the cluster's CA data.
 */
export function renderKindClusterScript(p: KindClusterParams): string {
    checkClusterName(p.clusterName);
    if (typeof p.nodeImage !== "string" || !IMAGE_REFERENCE.test(p.nodeImage) || p.nodeImage.length > 512) {
        throw new Error(`nodeImage must be an image reference like kindest/node:v1.36.1@sha256:<digest>, got ${JSON.stringify(p.nodeImage)}`);
    }
    if (typeof p.kindConfig !== "string" || p.kindConfig.trim() === "") {
        throw new Error("kindConfig must be a non-empty kind config (YAML)");
    }
    const mirrors = p.registryMirrors ?? [];
    return renderHostScript(
        "kind-cluster.sh",
        {
            CLUSTER_NAME: p.clusterName,
            NODE_IMAGE: p.nodeImage,
            KIND_CONFIG: p.kindConfig,
            STATE_DIR: HOST_STATE_DIR,
            KUBECONFIG_PATH: SERVER_KUBECONFIG,
            ...proxyParams(p.proxy),
            CONTAINERD_PROXY_DROP_IN: renderContainerdProxyDropIn(p.proxy),
            CONTAINERD_PROXY_DROP_IN_PATH: NODE_CONTAINERD_PROXY_DROP_IN,
            REGISTRY_HOSTS_DIR: NODE_REGISTRY_HOSTS_DIR,
            ...(mirrors.length > 0 ? { REGISTRY_HOSTS: registryHostsParam(mirrors), NODE_REGISTRY_CONFIG: NODE_CONTAINERD_REGISTRY_CONFIG } : {}),
            RESTART_PENDING_FILE: DOCKER_RESTART_PENDING,
        },
        { multiLine: ["KIND_CONFIG", "CONTAINERD_PROXY_DROP_IN", "REGISTRY_HOSTS", "NODE_REGISTRY_CONFIG"] },
    );
}

/**
 * Renders `src/host/scripts/kubeconfig.sh`: prints (only) the kind cluster's admin kubeconfig with every
 * `server:` set to `https://<apiEndpoint>`. Its stdout is a secret.
 */
export function renderKubeconfigScript(p: KubeconfigParams): string {
    checkClusterName(p.clusterName);
    if (!isHostPort(p.apiEndpoint, "required")) {
        throw new Error(`apiEndpoint must be host:port (IPv6 in brackets), e.g. 192.0.2.10:6443, got ${JSON.stringify(p.apiEndpoint)}`);
    }
    return renderHostScript("kubeconfig.sh", { CLUSTER_NAME: p.clusterName, API_ENDPOINT: p.apiEndpoint });
}

/**
 * Renders `src/host/scripts/api-cert-expiry.sh`: prints (only) the notAfter of the cluster's API server
 * certificate as RFC 3339 UTC, e.g. `2027-11-22T13:00:00Z`.
 */
export function renderApiCertExpiryScript(p: { clusterName: string }): string {
    checkClusterName(p.clusterName);
    return renderHostScript("api-cert-expiry.sh", { CLUSTER_NAME: p.clusterName });
}

/**
 * Renders `src/host/scripts/orc.sh`: downloads ORC's release manifest, checks it against the pinned
 * SHA-256 if any, server-side applies it (each retried, bounded) with the admin kubeconfig
 * {@link SERVER_KUBECONFIG} and waits, bounded, for its controller.
 */
export function renderOrcScript(p: OrcParams): string {
    checkVersion("ORC version", p.version);
    if (p.manifestSha256 !== undefined && !/^[0-9a-f]{64}$/.test(p.manifestSha256)) {
        throw new Error(`ORC manifest SHA-256 must be 64 lowercase hex digits, got ${JSON.stringify(p.manifestSha256)}`);
    }
    checkWaitSeconds(p.waitTimeoutSeconds);
    return renderHostScript("orc.sh", {
        ORC_VERSION: p.version,
        ORC_MANIFEST_SHA256: p.manifestSha256 ?? "",
        KUBECONFIG_PATH: kubeconfigPathOf(p.kubeconfigPath),
        WAIT_TIMEOUT_SECONDS: String(p.waitTimeoutSeconds),
        STATE_DIR: HOST_STATE_DIR,
        ...proxyParams(p.proxy),
    });
}

/**
 * Renders `src/host/scripts/capi-providers.sh`: installs the missing Cluster API providers
 * (`clusterctl init`), upgrades the ones at other versions (`clusterctl upgrade apply`), or
 * changes nothing, with ClusterTopology on and cert-manager pinned through clusterctl's
 * configuration file in {@link HOST_STATE_DIR}, every provider and cert-manager read from a
 * local repository of release files each checked against its SHA-256 before clusterctl runs.
 */
export function renderCapiProvidersScript(p: CapiProvidersParams): string {
    checkVersion("Cluster API version", p.clusterApi);
    checkVersion("CAPO version", p.capo);
    checkVersion("CAAPH version", p.caaph);
    checkVersion("cert-manager version", p.certManager);
    checkWaitSeconds(p.waitTimeoutSeconds);
    const sums = p.releaseSha256;
    for (const [component, files] of Object.entries(sums)) {
        for (const [file, sum] of Object.entries(files)) {
            if (!/^[0-9a-f]{64}$/.test(sum)) {
                throw new Error(`SHA-256 of ${component}'s ${file} must be 64 lowercase hex digits, got ${JSON.stringify(sum)}`);
            }
        }
    }
    const files = releaseFiles({
        clusterApi: { version: p.clusterApi, sha256: sums.clusterApi },
        capo: { version: p.capo, sha256: sums.capo },
        caaph: { version: p.caaph, sha256: sums.caaph },
        certManager: { version: p.certManager, sha256: sums.certManager },
    });
    return renderHostScript(
        "capi-providers.sh",
        {
            CLUSTER_API_VERSION: p.clusterApi,
            CAPO_VERSION: p.capo,
            CAAPH_VERSION: p.caaph,
            CERT_MANAGER_VERSION: p.certManager,
            STATE_DIR: HOST_STATE_DIR,
            KUBECONFIG_PATH: kubeconfigPathOf(p.kubeconfigPath),
            WAIT_TIMEOUT_SECONDS: String(p.waitTimeoutSeconds),
            RELEASE_FILES: files.map((f) => `${f.label} ${f.version} ${f.file} ${f.url} ${f.sha256 ?? "-"}`).join("\n"),
            ...proxyParams(p.proxy),
        },
        { multiLine: ["RELEASE_FILES"] },
    );
}
