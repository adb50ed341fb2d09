import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderLbCleanupInstallScript } from "./lbCleanupScript";
import { ProxyEnv } from "./proxy";
import { HostSteps, ServerConnection } from "./hostStep";

/** Arguments of {@link DeletionCleanup}. */
export interface DeletionCleanupArgs {
    /** How to reach the server. */
    connection: ServerConnection;
    /** ID of the server instance: a new server gets the cleanup installed again. */
    serverId: pulumi.Input<string>;
    /** Namespace of the workload Clusters. */
    workloadNamespace: string;
    /** The proxy the cleanup reaches the OpenStack APIs through; undefined: none. */
    proxy: pulumi.Input<ProxyEnv | undefined>;
    /** What must exist first (Cluster API's providers: the CRDs the cleanup lists, its kubeconfig and kubectl). */
    after: pulumi.Resource[];
}

/**
 * The deletion cleanup on the management server (docs/cluster-deletion.md): a systemd timer
 * that, every minute, deletes the Octavia load balancers and floating IPs a deleting workload
 * cluster's cloud controller manager left on its network, so that CAPO can delete the
 * network whichever way the deletion started (Git, `kubectl delete`, `pulumi destroy`), and
 * lists (or, on the Cluster's opt-in, deletes) its Cinder volumes.
 *
 * Lifecycle: a second `up` changes nothing; a change of the namespace or the proxy is an
 * update (the install script rewrites what differs and reloads systemd); a new server
 * replaces it (installed again there). It has no delete: on `destroy` the timer must keep
 * running through the workload teardown, and it goes with the server; nothing else holds it.
 */
export class DeletionCleanup extends pulumi.ComponentResource {
    /** The install step (idempotent; its stdin is the install script with everything in it). */
    readonly install: command.remote.Command;

    constructor(name: string, args: DeletionCleanupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:DeletionCleanup", name, {}, opts);

        // How the step runs: src/host/steps.ts.
        const steps = new HostSteps(this, "DeletionCleanup", { connection: args.connection, given: args.after, triggers: { server: [args.serverId] } });
        this.install = steps.add(
            "lb-cleanup",
            pulumi.output(args.proxy).apply((proxy) => renderLbCleanupInstallScript({ namespace: args.workloadNamespace, proxy })),
        );

        this.registerOutputs({});
    }
}
