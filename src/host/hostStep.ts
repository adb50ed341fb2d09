/**
 * Builds the host steps of src/host/steps.ts as remote commands: the one place that turns a
 * registry entry into a `command.remote.Command` (its connection, the lifecycle commands that
 * run the script, triggers, what it waits for, its options). A component gives each step its
 * rendered script; everything else comes from the entry.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { DialBounds, SETUP_DIAL, TEARDOWN_DIAL } from "./sshDial";
import { HOST_STEPS, HostStep, HostStepComponent, HostStepTrigger } from "./steps";

/** How every step reaches the server: pinned host key, bounded dialing. */
export interface ServerConnection {
    /** Public address of the server. */
    host: pulumi.Input<string>;
    /** Login user. */
    user: string;
    /** Login private key (secret). */
    privateKey: pulumi.Input<string>;
    /** The server's host public key, `ssh-ed25519 AAAA…`; connections to any other key fail. */
    hostKey: pulumi.Input<string>;
}

/**
 * The connection block of a remote command, with the retry bounds applied: {@link SETUP_DIAL}
 * unless given (the teardown passes its own, src/host/sshDial.ts says why).
 *
 * Every command of the program also sets `addPreviousOutputInEnv: false`: no script reads
 * the previous run's `PULUMI_COMMAND_STDOUT`/`STDERR`, and the kubeconfig step's output is a
 * secret that would otherwise be sent as an SSH environment request on an update or delete.
 * (pulumi-command 1.2.1 has no client-side keepalive setting; sshd's ClientAlive* in the
 * user-data keeps quiet sessions up.)
 */
export function commandConnection(c: ServerConnection, bounds: DialBounds = SETUP_DIAL): command.types.input.remote.ConnectionArgs {
    return {
        host: c.host,
        user: c.user,
        privateKey: pulumi.secret(c.privateKey),
        hostKey: c.hostKey,
        dialErrorLimit: bounds.dialErrorLimit,
        perDialTimeout: bounds.perDialTimeout,
    };
}

/** What a component gives its steps. */
export interface HostStepsArgs {
    /** How to reach the server. */
    connection: ServerConnection;
    /** What the steps with `after: ["given"]` wait for. */
    given: pulumi.Input<pulumi.Resource>[];
    /** The values of the triggers the component's steps name; more may be set later with {@link HostSteps.trigger}. */
    triggers?: Partial<Record<HostStepTrigger, pulumi.Input<pulumi.Input<unknown>[]>>>;
}

/** The command lines of each kind of run (the script arrives on stdin). */
function commandLines(step: HostStep): Pick<command.remote.CommandArgs, "create" | "update" | "delete"> {
    const shell = step.root ? "sudo bash -s" : "bash -s";
    switch (step.run) {
        case "create-update":
            return { create: shell, update: shell };
        case "create":
            return { create: shell };
        case "delete":
            return { create: "bash -n", update: "bash -n", delete: shell };
    }
}

/**
 * The host steps of one component, registered in the order it adds them, each as the registry
 * has it. Adding a step of another component, an unknown step, one twice, or one before a step
 * it waits for throws.
 */
export class HostSteps {
    private readonly added = new Map<string, command.remote.Command>();
    private readonly triggers: Partial<Record<HostStepTrigger, pulumi.Input<pulumi.Input<unknown>[]>>>;

    constructor(
        private readonly parent: pulumi.ComponentResource,
        private readonly component: HostStepComponent,
        private readonly args: HostStepsArgs,
    ) {
        this.triggers = { ...args.triggers };
    }

    /** Sets the value of a trigger for the steps added from now on (e.g. the kind cluster's ID, known once its step exists). */
    trigger(name: HostStepTrigger, value: pulumi.Input<pulumi.Input<unknown>[]>): void {
        this.triggers[name] = value;
    }

    /**
     * Registers step `name` with its rendered script `stdin`. `protect` is the value of the
     * setting the entry's `protectedBy` names (only such a step takes one).
     */
    add(name: string, stdin: pulumi.Input<string>, extra: { protect?: boolean } = {}): command.remote.Command {
        const step = HOST_STEPS.find((s) => s.name === name);
        if (!step || step.component !== this.component) {
            throw new Error(`${this.component}: no host step ${JSON.stringify(name)} of this component in src/host/steps.ts`);
        }
        if (this.added.has(name)) {
            throw new Error(`${this.component}: host step ${name} added twice`);
        }
        if (extra.protect !== undefined && step.protectedBy === undefined) {
            throw new Error(`${this.component}: host step ${name} is not protected by a setting`);
        }
        const dependsOn = step.after.flatMap((a): pulumi.Input<pulumi.Resource>[] => {
            if (a === "given") {
                return this.args.given;
            }
            const before = this.added.get(a);
            if (!before) {
                throw new Error(`${this.component}: host step ${name} waits for ${a}, which is not added yet`);
            }
            return [before];
        });
        let triggers: pulumi.Input<pulumi.Input<unknown>[]> | undefined;
        if (step.trigger !== undefined) {
            triggers = this.triggers[step.trigger];
            if (triggers === undefined) {
                throw new Error(`${this.component}: host step ${name} is triggered by ${step.trigger}, which has no value`);
            }
        }
        const cmd = new command.remote.Command(
            step.name,
            {
                connection: commandConnection(this.args.connection, step.dial === "teardown" ? TEARDOWN_DIAL : SETUP_DIAL),
                addPreviousOutputInEnv: false,
                ...commandLines(step),
                stdin,
                ...(step.logging === "stderr" ? { logging: command.types.enums.remote.Logging.Stderr } : {}),
                ...(triggers !== undefined ? { triggers } : {}),
            },
            {
                parent: this.parent,
                dependsOn,
                ...(step.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
                ...(step.secretOutputs ? { additionalSecretOutputs: [...step.secretOutputs] } : {}),
                ...(extra.protect !== undefined ? { protect: extra.protect } : {}),
            },
        );
        this.added.set(name, cmd);
        return cmd;
    }
}
