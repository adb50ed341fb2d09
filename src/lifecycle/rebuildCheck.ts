import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { REBUILD_CHECK_KEY_ENV, RebuildCheckPlan, renderRebuildCheckScript } from "./rebuild";
import { generationSuffix } from "../cloud/server";

/** Arguments of {@link RebuildCheck}. */
export interface RebuildCheckArgs {
    /** What preflight decided (src/lifecycle/rebuild.ts rebuildCheckPlan): no bump, an acknowledged one, or a bump to check. */
    plan: pulumi.Input<RebuildCheckPlan>;
    /** The generation this run deploys: the check is named after it, one per generation. */
    generation: number;
    /** Login private key of the running server (secret; the same for every generation). */
    loginPrivateKey: pulumi.Input<string>;
    /** The running server's host public key, pinned (the same for every generation). */
    hostPublicKey: pulumi.Input<string>;
    /** Login user of the server. */
    loginUser: string;
}

/**
 * The `serverGeneration` bump guard: before the new generation's port and server are created,
 * `src/host/scripts/rebuild-check.sh` runs on the machine running Pulumi and asks the RUNNING server (over
 * SSH at the floating IP, which still points at it) whether its management cluster holds
 * Cluster objects; it fails the `up` if so, or if it cannot tell within its bounds (about 30 s
 * to give up on a lost server), unless `capi-mgmt:rebuildWithClusters` acknowledges this
 * generation. The new port depends on {@link gate}, which holds the check only when this run
 * bumps a recorded deployment.
 *
 * What the real engine does with it (modelled from pulumi-command 1.2.1, not run on it):
 * - the command is named by generation (`check`, `check-g2`, …) and ignores changes of its
 *   inputs, so it runs once, when its generation is first deployed: a bump creates
 *   `check-g<N>` (create runs the script, during `up` only: a preview never runs it), a second
 *   `up` of the same generation finds it unchanged (its script, now with MODE none, is an
 *   ignored change) and runs nothing;
 * - a refused check leaves no resource (its create failed), so the next `up` checks again,
 *   e.g. after `rebuildWithClusters` was set;
 * - the previous generation's check is deleted at the end of the bump's `up`: it has no
 *   delete command, so nothing runs; `destroy` likewise runs nothing.
 * - if a bump's `up` fails after the check passed but before the old server is deleted, the
 *   next `up` does not check again (the check of that generation exists): Clusters created in
 *   between are not seen.
 */
export class RebuildCheck extends pulumi.ComponentResource {
    /** The local command running the check. */
    readonly command: command.local.Command;
    /** What the new generation's port waits for: the check on a bump, nothing otherwise. */
    readonly gate: pulumi.Output<pulumi.Resource[]>;

    constructor(name: string, args: RebuildCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:RebuildCheck", name, {}, opts);

        const plan = pulumi.output(args.plan);
        this.command = new command.local.Command(
            `check${generationSuffix(args.generation)}`,
            {
                create: "bash -s",
                stdin: pulumi.all([plan, args.hostPublicKey]).apply(([p, hostKey]) => renderRebuildCheckScript(p, hostKey, args.loginUser)),
                environment: { [REBUILD_CHECK_KEY_ENV]: pulumi.secret(args.loginPrivateKey) },
                addPreviousOutputInEnv: false,
            },
            { parent: this, ignoreChanges: ["stdin", "environment"] },
        );
        const check = this.command;
        this.gate = plan.apply((p): pulumi.Resource[] => (p.mode === "none" ? [] : [check]));

        this.registerOutputs({});
    }
}
