import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderCloudProviderRestartScript } from "./credentialRotation";
import { HostSteps, ServerConnection } from "./hostStep";

/** Arguments of {@link CloudProviderRestart}. */
export interface CloudProviderRestartArgs {
    /** How to reach the server. */
    connection: ServerConnection;
    /** Namespace of the workload Clusters. */
    workloadNamespace: string;
    /** ID of the cloud-provider application credential: a new one (a rotation) re-runs the step. */
    credentialId: pulumi.Input<string>;
    /** What must be in the management cluster first: the Secret the ClusterResourceSet copies. */
    after: pulumi.Resource[];
}

/**
 * Restarts OCCM and Cinder CSI in every workload cluster once the rotated cloud-provider
 * credential has reached it (src/host/scripts/cloud-provider-restart.sh; why not a checksum annotation:
 * src/host/credentialRotation.ts). Clusters it cannot reach are reported, not fatal.
 *
 * Lifecycle (pulumi-command 1.2.1): keyed on the credential ID (`triggers`), so a rotation
 * replaces it: the new one runs, after the new cloud.conf is in the management cluster and
 * before `up` deletes the old credential at its end (create-before-delete); the old one's
 * delete does nothing. A second `up` changes nothing. It has no delete, so `destroy`, or a
 * server already gone, never runs anything. Created on the first `up` (no workload cluster
 * yet: nothing to do) and on the first `up` of a stack from before this step, which restarts
 * OCCM and Cinder CSI once everywhere (and so repairs clusters an earlier rotation left on a
 * deleted credential). A new kind cluster keeps the credential: nothing runs.
 */
export class CloudProviderRestart extends pulumi.ComponentResource {
    /** The step. */
    readonly command: command.remote.Command;

    constructor(name: string, args: CloudProviderRestartArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:CloudProviderRestart", name, {}, opts);
        // How the step runs: src/host/steps.ts.
        const steps = new HostSteps(this, "CloudProviderRestart", {
            connection: args.connection,
            given: args.after,
            triggers: { credential: [args.credentialId] },
        });
        this.command = steps.add(
            "cloud-provider-restart",
            pulumi
                .output(args.credentialId)
                .apply((credentialId) => renderCloudProviderRestartScript({ workloadNamespace: args.workloadNamespace, credentialId })),
        );
        this.registerOutputs({});
    }
}
