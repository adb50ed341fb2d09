import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderTeardownScript } from "./teardownScript";
import { HostSteps, ServerConnection } from "../host/hostStep";

/** Logical name of the teardown resource. Never rename it without an alias: a new name means delete, which IS the teardown. */
export const TEARDOWN_RESOURCE_NAME = "workload-teardown";

/** Arguments of {@link WorkloadTeardown}. */
export interface WorkloadTeardownArgs {
    /** How to reach the server (the stored connection is used on destroy). */
    connection: ServerConnection;
    /** kind cluster name. */
    clusterName: string;
    /** Overall bound of the teardown, seconds. */
    timeoutSeconds: number;
    /**
     * Everything the teardown must outlive: it is destroyed (its delete runs) before any of
     * these, since Pulumi deletes dependents first.
     */
    outlives: pulumi.Resource[];
    /**
     * Pulumi's `protect` (`capi-mgmt:protect`). Its delete is the first destructive step of a
     * `destroy` (everything else it could take with it is among what it outlives), and the
     * engine refuses a protected resource's delete before calling the provider, so nothing of
     * the teardown runs, also with `--skip-preview`; with `--exclude-protected` the engine keeps
     * it and everything it depends on. It has no triggers, so a bump never deletes it.
     */
    protect: boolean;
    /** selfHosted mode: the kubeconfig and the kept Cluster of src/lifecycle/teardownScript.ts's `selfHosted`. */
    selfHosted?: { kubeconfigPath: string; keepCluster: string };
}

/**
 * On `pulumi destroy`, removes every workload cluster, and the load balancers and volumes
 * their cloud integrations made, then ORC's objects (the node images in Glance), before
 * anything else of the stack goes. A management cluster that is gone fails it (keeping the
 * server) unless the user has created src/lifecycle/teardownScript.ts's `CLUSTERS_GONE_FILE`; the Flux
 * objects it suspends are resumed by its `FLUX_RESUME_SCRIPT` (src/host/scripts/teardown.sh says when). On `pulumi up`
 * it only syntax-checks the teardown script on the server (`bash -n`): it has no
 * triggers, so no config change can replace it (a replacement would run the teardown).
 * The script travels as the command's stdin, which the provider keeps in state and hands
 * to the delete, so it also works on a rebuilt server.
 *
 * Its connection has its own, shorter retry bounds ({@link TEARDOWN_DIAL}): the delete uses
 * the stored connection, so when the server is already gone it gives up after about
 * 3¼ minutes instead of 20, while a blip of a few minutes does not make a destroy skip
 * it. A change of these bounds is an update of this resource (its `update` only runs
 * `bash -n`); nothing is replaced.
 */
export class WorkloadTeardown extends pulumi.ComponentResource {
    /** The command whose delete is the teardown. */
    readonly command: command.remote.Command;

    constructor(name: string, args: WorkloadTeardownArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:WorkloadTeardown", name, {}, opts);

        const perCluster = Math.max(60, args.timeoutSeconds - 120);
        // How the step runs (its delete is the teardown, its dial bounds TEARDOWN_DIAL): src/host/steps.ts.
        const steps = new HostSteps(this, "WorkloadTeardown", { connection: args.connection, given: args.outlives });
        this.command = steps.add(
            TEARDOWN_RESOURCE_NAME,
            renderTeardownScript({
                clusterName: args.clusterName,
                timeoutSeconds: args.timeoutSeconds,
                perClusterTimeoutSeconds: perCluster,
                selfHosted: args.selfHosted,
            }),
            { protect: args.protect },
        );

        this.registerOutputs({});
    }
}
