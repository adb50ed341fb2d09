/**
 * The proxies, the registry mirrors and the kind parameters the proxy specs
 * (test/proxyScripts*.spec.ts) render and run the management server's scripts with.
 */
import { KindClusterParams, renderCapiProvidersScript } from "../src/cluster/clusterScripts";
import { renderKindConfig } from "../src/cluster/kindConfig";
import { ProxyEnv, RegistryMirror } from "../src/host/proxy";
import { DEFAULT_VERSIONS } from "../src/versions/versions";
import { NO_RELEASE_PINS } from "./fakes/releaseFakes";

export const PROXY: ProxyEnv = {
    http: "http://proxy.example:3128",
    https: "http://proxy.example:3129",
    noProxy: "localhost,127.0.0.1,::1,0.0.0.0,169.254.169.254,.svc,.cluster.local,10.96.0.0/16,10.244.0.0/16,10.0.0.0/24",
};
export const OTHER_PROXY: ProxyEnv = { https: "http://other-proxy.example:8080", noProxy: "localhost,.corp.example" };

/** What a process must see with PROXY. */
export const PROXY_VARS = {
    HTTP_PROXY: PROXY.http!,
    HTTPS_PROXY: PROXY.https!,
    NO_PROXY: PROXY.noProxy,
    http_proxy: PROXY.http!,
    https_proxy: PROXY.https!,
    no_proxy: PROXY.noProxy,
};

export const MIRRORS: RegistryMirror[] = [
    { registry: "docker.io", endpoints: ["https://mirror.example", "http://10.0.0.5:5000"] },
    { registry: "quay.io", endpoints: ["https://quay-mirror.example"] },
];

export const NODE_IMAGE = DEFAULT_VERSIONS.nodeImage;
export const KIND_CONFIG = renderKindConfig({ name: "mgmt", nodeImage: NODE_IMAGE, apiServerCertSans: ["192.0.2.10"] });
export const KIND_PARAMS: KindClusterParams = { clusterName: "mgmt", nodeImage: NODE_IMAGE, kindConfig: KIND_CONFIG };
/** An inherited proxy the scripts must drop when none is configured. */
export const INHERITED = { HTTPS_PROXY: "http://inherited.example:1", http_proxy: "http://inherited.example:2" };

/** capi-providers.sh as the proxy specs render it (no checksum pins), with `proxy` or without one. */
export function providersScript(proxy?: ProxyEnv): string {
    return renderCapiProvidersScript({
        clusterApi: "v1.14.0",
        capo: "v0.14.7",
        caaph: "v0.6.4",
        certManager: "v1.21.1",
        releaseSha256: NO_RELEASE_PINS,
        waitTimeoutSeconds: 5,
        proxy,
    });
}
