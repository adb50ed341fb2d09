/**
 * What a management cluster's controllers would report that the test bed does not run, written
 * as they would write it (simulated: no machine boots, no OpenStack answers). Each caller says
 * which controller it stands in for.
 */
import * as fs from "fs";
import { stringify as toYaml } from "yaml";
import type { ControlPlane } from "./controlPlane";

/** Writes an object's status as its controller would (simulated: the test bed runs no such controller for it). */
export function patchStatus(cp: ControlPlane, resource: string, name: string, namespace: string, status: Record<string, unknown>): void {
    cp.kubectlOk(["patch", resource, name, "-n", namespace, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
}

/**
 * A kubeconfig of `cp` with the credentials embedded, its cluster and context named `name`: by
 * default the "workload cluster" (for its Cluster API `<cluster>-kubeconfig` Secret), which is the
 * API server itself.
 */
export function embeddedKubeconfig(cp: ControlPlane, name = "workload"): string {
    const b64 = (f: string) => fs.readFileSync(f).toString("base64");
    return toYaml({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name, cluster: { server: cp.server, "certificate-authority-data": b64(cp.pki.caCert) } }],
        users: [{ name: "admin", user: { "client-certificate-data": b64(cp.pki.adminCert), "client-key-data": b64(cp.pki.adminKey) } }],
        contexts: [{ name, context: { cluster: name, user: "admin" } }],
        "current-context": name,
    });
}
