/**
 * Upstream providers on the test-bed control plane: their CRDs and webhook configurations from the
 * pinned modules (kustomized by build.sh), pointed at managers running as local processes with
 * their webhooks on loopback ports, served with the run's CA.
 */
import * as fs from "fs";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { ControlPlane, freePort, httpGet, KubeObject, parseDocs } from "./controlPlane";
import { at } from "./objects";
import { ManagedProcess, waitFor } from "./processes";
import { BinaryName, ManifestName, Testbed } from "./testbed";

/** Bound of a manager's start (webhook server serving, caches synced) on a loaded machine. */
export const MANAGER_READY_TIMEOUT_MS = 240_000;

/**
 * clusterctl variables as the program sets them (src/host/scripts/capi-providers.sh writes CLUSTER_TOPOLOGY
 * into clusterctl's config); every other `${VAR:=default}` in a manager's flags takes its default.
 */
export const CLUSTERCTL_VARIABLES: Record<string, string> = { CLUSTER_TOPOLOGY: "true" };

/**
 * The `--feature-gates` flag of the provider's own Deployment (what clusterctl would install),
 * with clusterctl's variables substituted.
 */
export function upstreamFeatureGates(docs: KubeObject[], vars: Record<string, string>): string[] {
    const deployments = docs.filter((d) => d.kind === "Deployment");
    const args = deployments.flatMap((d) =>
        ((at(d, "spec.template.spec.containers") as { name: string; args?: string[] }[] | undefined) ?? [])
            .filter((c) => c.name === "manager")
            .flatMap((c) => c.args ?? []),
    );
    return args
        .filter((a) => a.startsWith("--feature-gates="))
        .map((a) => a.replace(/\$\{([A-Z0-9_]+):=([^}]*)\}/g, (_m, name: string, def: string) => vars[name] ?? def));
}

/** How a provider runs on the test bed. */
export interface ProviderSpec {
    /** Short name (logs, messages). */
    name: string;
    /** Manifest set in the cache. */
    manifests: ManifestName;
    /** Manager binary; without one the CRDs are installed with conversion "None" and no webhooks. */
    binary?: BinaryName;
    /** Extra manager flags (watch filter); feature gates come from the upstream Deployment. */
    args?: string[];
}

/** What `install` keeps from an upstream manifest set. */
const INSTALLED_KINDS = new Set(["Namespace", "CustomResourceDefinition", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]);

/** A provider's objects rewritten for the test bed: webhooks and conversion at `https://127.0.0.1:<port>`. */
export function localizeManifests(docs: KubeObject[], webhookPort: number | undefined, caBundle: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const doc of docs) {
        if (!INSTALLED_KINDS.has(doc.kind)) {
            continue;
        }
        const obj = JSON.parse(JSON.stringify(doc)) as KubeObject;
        // cert-manager's CA injection does not run here; the caBundle is set directly.
        delete obj.metadata.annotations?.["cert-manager.io/inject-ca-from"];
        if (obj.kind === "CustomResourceDefinition") {
            const spec = obj.spec as {
                conversion?: { strategy: string; webhook?: { clientConfig?: Record<string, unknown>; conversionReviewVersions?: string[] } };
            };
            if (spec.conversion?.strategy === "Webhook") {
                if (webhookPort === undefined) {
                    spec.conversion = { strategy: "None" };
                } else {
                    const cc = spec.conversion.webhook?.clientConfig ?? {};
                    const svcPath = (cc.service as { path?: string } | undefined)?.path ?? "/convert";
                    spec.conversion.webhook = {
                        ...spec.conversion.webhook,
                        clientConfig: { url: `https://127.0.0.1:${webhookPort}${svcPath}`, caBundle },
                    };
                }
            }
        } else if (obj.kind.endsWith("WebhookConfiguration")) {
            if (webhookPort === undefined) {
                continue;
            }
            const hooks =
                (obj as unknown as { webhooks?: { clientConfig: { service?: { path?: string }; url?: string; caBundle?: string } }[] }).webhooks ?? [];
            for (const h of hooks) {
                const p = h.clientConfig.service?.path ?? "/";
                h.clientConfig = { url: `https://127.0.0.1:${webhookPort}${p}`, caBundle };
            }
        }
        out.push(obj);
    }
    return out;
}

/** A provider installed (and, with a binary, running). */
export class Provider {
    constructor(
        readonly spec: ProviderSpec,
        readonly manager?: ManagedProcess,
        readonly webhookPort?: number,
    ) {}
}

/**
 * Installs a provider's CRDs (and webhook configurations), starts its manager when it has one and
 * waits until the manager reports ready (webhook server started). The manager is adopted by the
 * control plane, so `cp.stop()` stops it.
 */
export async function installProvider(cp: ControlPlane, testbed: Testbed, spec: ProviderSpec): Promise<Provider> {
    const docs = parseDocs(fs.readFileSync(testbed.path(spec.manifests), "utf8"));
    const webhookPort = spec.binary ? await freePort() : undefined;
    const objects = localizeManifests(docs, webhookPort, cp.pki.caBundle);
    const ordered = [...objects.filter((o) => o.kind === "Namespace"), ...objects.filter((o) => o.kind === "CustomResourceDefinition")];
    cp.applyOk(ordered.map((o) => toYaml(o)).join("---\n"));
    const crdNames = objects.filter((o) => o.kind === "CustomResourceDefinition").map((o) => `crd/${o.metadata.name}`);
    if (crdNames.length) {
        cp.kubectlOk(["wait", "--for=condition=Established", "--timeout=120s", ...crdNames]);
    }
    let manager: ManagedProcess | undefined;
    if (spec.binary && webhookPort !== undefined) {
        const healthPort = await freePort();
        manager = new ManagedProcess({
            name: spec.name,
            command: testbed.path(spec.binary),
            logFile: path.join(cp.dir, `${spec.name}.log`),
            env: { KUBECONFIG: cp.kubeconfig },
            args: [
                `--webhook-port=${webhookPort}`,
                `--webhook-cert-dir=${cp.pki.webhookCertDir}`,
                `--health-addr=127.0.0.1:${healthPort}`,
                "--diagnostics-address=0",
                "--leader-elect=false",
                ...upstreamFeatureGates(docs, CLUSTERCTL_VARIABLES),
                ...(spec.args ?? []),
            ],
        });
        cp.adopt(manager);
        const m = manager;
        await waitFor(
            `${spec.name} readyz`,
            async () => {
                const r = await httpGet(`http://127.0.0.1:${healthPort}/readyz`);
                return r.status === 200 ? true : undefined;
            },
            { timeoutMs: MANAGER_READY_TIMEOUT_MS, intervalMs: 1000, watched: [m] },
        );
    }
    // Webhook configurations last: the server behind them is up now.
    const hooks = objects.filter((o) => o.kind.endsWith("WebhookConfiguration"));
    if (hooks.length) {
        cp.applyOk(hooks.map((o) => toYaml(o)).join("---\n"));
    }
    return new Provider(spec, manager, webhookPort);
}
