/**
 * The management cluster as the test bed builds it: a fresh API server with the pinned providers'
 * CRDs, the Cluster API managers (core with ClusterTopology, kubeadm bootstrap and control plane),
 * CAPO and CAAPH running with their webhooks, and the CRDs of Flux and ORC.
 *
 * Every controller except Cluster API core's is started with a watch filter that no object carries:
 * their webhooks (validation, defaulting, conversion) judge everything, but their controllers do
 * not try to reach OpenStack or boot machines, which the test bed does not have.
 */
import { ControlPlane } from "./controlPlane";
import { installProvider, ProviderSpec } from "./providers";
import { BinaryName, ManifestName, Testbed } from "./testbed";

/** Label value no object carries: controllers started with it reconcile nothing. */
export const IDLE_WATCH_FILTER = "capi-mgmt-testbed-idle";

/** Providers in install order. */
export const PROVIDERS: ProviderSpec[] = [
    { name: "flux-source-controller", manifests: "flux-source-controller-manifests" },
    { name: "flux-kustomize-controller", manifests: "flux-kustomize-controller-manifests" },
    { name: "orc", manifests: "orc-manifests" },
    { name: "capi-core", manifests: "capi-core-manifests", binary: "capi-core" },
    {
        name: "capi-kubeadm-bootstrap",
        manifests: "capi-kubeadm-bootstrap-manifests",
        binary: "capi-kubeadm-bootstrap",
        args: [`--watch-filter=${IDLE_WATCH_FILTER}`],
    },
    {
        name: "capi-kubeadm-control-plane",
        manifests: "capi-kubeadm-control-plane-manifests",
        binary: "capi-kubeadm-control-plane",
        args: [`--watch-filter=${IDLE_WATCH_FILTER}`],
    },
    { name: "capo", manifests: "capo-manifests", binary: "capo", args: [`--watch-filter=${IDLE_WATCH_FILTER}`] },
    { name: "caaph", manifests: "caaph-manifests", binary: "caaph", args: [`--watch-filter=${IDLE_WATCH_FILTER}`] },
];

/**
 * Managers the test bed can do without: their CRDs are then installed without webhooks (and with
 * conversion "None"), and a line says so. CAAPH's only job here is judging HelmChartProxies.
 */
export const OPTIONAL_MANAGERS: BinaryName[] = ["caaph"];

/** Everything the management cluster needs from the cache. */
export function requiredComponents(): (BinaryName | ManifestName)[] {
    return ["etcd", "kube-apiserver", ...PROVIDERS.flatMap((p) => [p.manifests, ...(p.binary && !OPTIONAL_MANAGERS.includes(p.binary) ? [p.binary] : [])])];
}

/** Namespaces Flux's own installation creates (the providers' manifests bring theirs). */
const FLUX_NAMESPACE = "flux-system";

/**
 * Starts a control plane and installs every provider (`providers`, {@link PROVIDERS} unless
 * given). On failure everything started is stopped and the error carries the log tails.
 */
export async function startManagementCluster(testbed: Testbed, name: string, providers: ProviderSpec[] = PROVIDERS): Promise<ControlPlane> {
    const cp = await ControlPlane.start(testbed, name);
    try {
        cp.applyOk(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${FLUX_NAMESPACE}\n`);
        for (const p of providers) {
            const absent = p.binary && OPTIONAL_MANAGERS.includes(p.binary) ? testbed.missing([p.binary]) : undefined;
            if (absent) {
                console.log(`      NOTE: ${p.name} runs without its manager (no webhooks): ${absent}`);
            }
            await installProvider(cp, testbed, absent ? { ...p, binary: undefined } : p);
        }
        return cp;
    } catch (err) {
        const report = cp.report();
        await cp.stop();
        throw new Error(`${(err as Error).message}\n${report}`);
    }
}
