/**
 * What a management cluster's controllers would report that the test bed does not run, written
 * as they would write it (simulated: no machine boots, no OpenStack answers). Each caller says
 * which controller it stands in for.
 */
import type { ControlPlane } from "./controlPlane";

/** Writes an object's status as its controller would (simulated: the test bed runs no such controller for it). */
export function patchStatus(cp: ControlPlane, resource: string, name: string, namespace: string, status: Record<string, unknown>): void {
    cp.kubectlOk(["patch", resource, name, "-n", namespace, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
}
