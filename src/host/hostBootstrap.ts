import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostSteps, ServerConnection } from "./hostStep";
import { CLOUD_INIT_DONE_MARKER, DOCKER_DAEMON_JSON_PATH } from "./cloudInit";
import { APT_PROXY_PATH, renderHostProxyScript, renderInstallToolsScript, renderWaitReadyScript } from "./bootstrapScripts";
import { HOST_STATE_DIR } from "./hostScripts";
import { renderMetadataBlockInstallScript } from "./metadataBlock";
import { ProxyEnv } from "./proxy";
import { toolDownloads, Versions } from "../versions/versions";

/** How long readiness waits for cloud-init to finish on the server. */
export const CLOUD_INIT_TIMEOUT_SECONDS = 1800;
/** Where the tools step installs binaries. */
export const TOOLS_INSTALL_DIR = "/usr/local/bin";
/** Download attempts per tool. */
export const TOOL_DOWNLOAD_RETRIES = 5;

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

        // The steps and how they run: src/host/steps.ts.
        const steps = new HostSteps(this, "HostBootstrap", {
            connection: args.connection,
            given: args.reachableAfter,
            triggers: { server: [args.serverId] },
        });

        this.readiness = steps.add("wait-ready", renderWaitReadyScript({ marker: CLOUD_INIT_DONE_MARKER, timeoutSeconds: CLOUD_INIT_TIMEOUT_SECONDS }));

        // What cloud-init does on a new server, for servers created before it did: a new
        // resource on such a stack, created (run) once by its next `up`; unchanged on later
        // `up`s; run again on a new server (triggers); no delete (nothing to undo on destroy,
        // and nothing dials a server that is gone). Before anything else runs on the host.
        this.metadataBlock = steps.add("metadata-block", renderMetadataBlockInstallScript());

        // A new resource for stacks deployed before it existed: its create writes what
        // cloud-init wrote then (no proxy: nothing changes).
        this.hostProxy = steps.add(
            "host-proxy",
            pulumi.all([args.proxy, args.dockerDaemonJson]).apply(([proxy, dockerDaemonJson]) =>
                renderHostProxyScript({
                    aptProxyPath: APT_PROXY_PATH,
                    dockerDaemonJsonPath: DOCKER_DAEMON_JSON_PATH,
                    dockerDaemonJson,
                    proxy,
                    stateDir: HOST_STATE_DIR,
                }),
            ),
        );

        this.tools = steps.add(
            "install-tools",
            pulumi.output(args.proxy).apply((proxy) =>
                renderInstallToolsScript({
                    tools: toolDownloads(args.versions),
                    installDir: TOOLS_INSTALL_DIR,
                    stateDir: HOST_STATE_DIR,
                    retries: TOOL_DOWNLOAD_RETRIES,
                    proxy,
                }),
            ),
        );

        this.registerOutputs({});
    }
}
