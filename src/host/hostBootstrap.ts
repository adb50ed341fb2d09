import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { CLOUD_INIT_DONE_MARKER, DOCKER_DAEMON_JSON_PATH } from "./cloudInit";
import { APT_PROXY_PATH, HOST_STATE_DIR, renderHostProxyScript, renderInstallToolsScript, renderWaitReadyScript } from "./hostScripts";
import { renderMetadataBlockInstallScript } from "./metadataBlock";
import { ProxyEnv } from "./proxy";
import { DialBounds, SETUP_DIAL } from "./sshDial";
import { toolDownloads, Versions } from "../versions/versions";

/** How long readiness waits for cloud-init to finish on the server. */
export const CLOUD_INIT_TIMEOUT_SECONDS = 1800;
/** Where the tools step installs binaries. */
export const TOOLS_INSTALL_DIR = "/usr/local/bin";
/** Download attempts per tool. */
export const TOOL_DOWNLOAD_RETRIES = 5;

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

/** Arguments of {@link HostBootstrap}. */
export interface HostBootstrapArgs {
    /** How to reach the server. */
    connection: ServerConnection;
    /** ID of the server instance: a new server runs both steps again. */
    serverId: pulumi.Input<string>;
    /** Pinned tool versions and checksums. */
    versions: Versions;
    /** What must exist before the server can be reached (association, security rules). */
    reachableAfter: pulumi.Resource[];
    /** The proxy of apt, Docker and the tool downloads (`capi-mgmt:proxy`); undefined: none. */
    proxy: pulumi.Input<ProxyEnv | undefined>;
    /** Docker's daemon.json as the user-data has it (src/host/cloudInit.ts), kept on a live server by the host-proxy step. */
    dockerDaemonJson: pulumi.Input<string>;
}

/**
 * Brings a fresh server to a known state over SSH: waits for cloud-init to finish
 * (readiness), keeps apt's and Docker's proxy as configured (host-proxy: the user-data sets
 * them on the first boot only), then installs the pinned, checksum-verified tools. A change
 * of tool versions or of the proxy updates these steps in place; it never touches the
 * server itself.
 */
export class HostBootstrap extends pulumi.ComponentResource {
    /** Readiness: SSH answers with the pinned host key and cloud-init has finished. */
    readonly readiness: command.remote.Command;
    /** The metadata service closed to the server's containers (src/host/metadataBlock.ts). */
    readonly metadataBlock: command.remote.Command;
    /** apt's and Docker's proxy as configured. */
    readonly hostProxy: command.remote.Command;
    /** Tools installed; later steps depend on this. */
    readonly tools: command.remote.Command;

    constructor(name: string, args: HostBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:HostBootstrap", name, {}, opts);

        const connection = commandConnection(args.connection);

        this.readiness = new command.remote.Command(
            "wait-ready",
            {
                connection,
                addPreviousOutputInEnv: false,
                create: "bash -s",
                update: "bash -s",
                stdin: renderWaitReadyScript({ marker: CLOUD_INIT_DONE_MARKER, timeoutSeconds: CLOUD_INIT_TIMEOUT_SECONDS }),
                triggers: [args.serverId],
            },
            { parent: this, dependsOn: args.reachableAfter },
        );

        // What cloud-init does on a new server, for servers created before it did: a new
        // resource on such a stack, created (run) once by its next `up`; unchanged on later
        // `up`s; run again on a new server (triggers); no delete (nothing to undo on destroy,
        // and nothing dials a server that is gone). Before anything else runs on the host.
        this.metadataBlock = new command.remote.Command(
            "metadata-block",
            {
                connection,
                addPreviousOutputInEnv: false,
                create: "sudo bash -s",
                update: "sudo bash -s",
                stdin: renderMetadataBlockInstallScript(),
                triggers: [args.serverId],
            },
            { parent: this, dependsOn: [this.readiness] },
        );

        // A new resource for stacks deployed before it existed: its create writes what
        // cloud-init wrote then (no proxy: nothing changes).
        this.hostProxy = new command.remote.Command(
            "host-proxy",
            {
                connection,
                addPreviousOutputInEnv: false,
                create: "sudo bash -s",
                update: "sudo bash -s",
                stdin: pulumi.all([args.proxy, args.dockerDaemonJson]).apply(([proxy, dockerDaemonJson]) =>
                    renderHostProxyScript({
                        aptProxyPath: APT_PROXY_PATH,
                        dockerDaemonJsonPath: DOCKER_DAEMON_JSON_PATH,
                        dockerDaemonJson,
                        proxy,
                        stateDir: HOST_STATE_DIR,
                    }),
                ),
                triggers: [args.serverId],
            },
            { parent: this, dependsOn: [this.metadataBlock] },
        );

        this.tools = new command.remote.Command(
            "install-tools",
            {
                connection,
                addPreviousOutputInEnv: false,
                create: "sudo bash -s",
                update: "sudo bash -s",
                stdin: pulumi.output(args.proxy).apply((proxy) =>
                    renderInstallToolsScript({
                        tools: toolDownloads(args.versions),
                        installDir: TOOLS_INSTALL_DIR,
                        stateDir: HOST_STATE_DIR,
                        retries: TOOL_DOWNLOAD_RETRIES,
                        proxy,
                    }),
                ),
                triggers: [args.serverId],
            },
            { parent: this, dependsOn: [this.hostProxy] },
        );

        this.registerOutputs({});
    }
}
