/**
 * The metadata service is closed to the management server's containers.
 *
 * Why: the server's user-data carries its SSH host private key (src/host/cloudInit.ts: the key is
 * pinned from the very first connection, so it must be on the server before anyone can
 * connect), and the metadata service at 169.254.169.254 hands the user-data to any process
 * on the server that asks, every pod of the kind cluster included (their traffic leaves
 * through the kind node's container). A pod able to read the host key could impersonate the
 * server to the program's SSH steps. The key is not delivered another way because there is
 * no other channel that is both authenticated before the first connection and closed to the
 * pods: the first SSH connection itself needs the key to be pinned.
 *
 * How: an iptables rule in Docker's DOCKER-USER chain rejects every forwarded packet to the
 * metadata address (src/host/scripts/metadata-block.sh), installed by a systemd unit that runs on every
 * boot before Docker and that Docker requires: without the rule, Docker (and the kind node)
 * does not start (fail closed). The kind node needs no metadata: nothing in the management
 * cluster reads it (CAPO and ORC talk to the OpenStack APIs). The host itself still reaches
 * the metadata service (cloud-init reads it on every boot). Pure: no Pulumi runtime here.
 */
import { renderHostScript } from "./hostScripts";

/** The metadata service's IPv4 address (OpenStack's, as EC2's). */
export const METADATA_ADDRESS = "169.254.169.254";
/** Where cloud-init installs src/host/scripts/metadata-block.sh. */
export const METADATA_BLOCK_SCRIPT_PATH = "/usr/local/sbin/capi-mgmt-metadata-block";
/** The systemd unit that runs it. */
export const METADATA_BLOCK_UNIT = "capi-mgmt-metadata-block.service";
/** Where the unit file is written. */
export const METADATA_BLOCK_UNIT_PATH = `/etc/systemd/system/${METADATA_BLOCK_UNIT}`;

/** Where {@link renderMetadataBlockInstallScript} installs the files (tests point them elsewhere). */
export interface MetadataBlockPaths {
    /** The rule's script. */
    scriptPath: string;
    /** The unit file. */
    unitPath: string;
}

/**
 * The metadata-block step's script (src/host/scripts/metadata-block-install.sh): installs and runs what
 * cloud-init installs on a new server, for servers created before it did (their user-data
 * is never applied again).
 */
export function renderMetadataBlockInstallScript(
    paths: MetadataBlockPaths = { scriptPath: METADATA_BLOCK_SCRIPT_PATH, unitPath: METADATA_BLOCK_UNIT_PATH },
): string {
    const rendered = renderHostScript(
        "metadata-block-install.sh",
        {
            SCRIPT_PATH: paths.scriptPath,
            SCRIPT: renderMetadataBlockScript(),
            UNIT_PATH: paths.unitPath,
            UNIT: renderMetadataBlockUnit(),
            UNIT_NAME: METADATA_BLOCK_UNIT,
        },
        { multiLine: ["SCRIPT", "UNIT"] },
    );
    // SCRIPT is a script's text: its `$` stay literal on purpose (shellcheck's SC2016, for that assignment only).
    return rendered.replace(/^readonly SCRIPT=/m, "# shellcheck disable=SC2016 # the text of a script, written out as is\nreadonly SCRIPT=");
}

/** src/host/scripts/metadata-block.sh with its parameter, as installed on the server. */
export function renderMetadataBlockScript(): string {
    return renderHostScript("metadata-block.sh", { METADATA_ADDRESS });
}

/**
 * The unit: a oneshot on every boot, ordered before Docker and required by it (enabling it
 * links it into docker.service.requires), so Docker's containers never run without the rule.
 */
export function renderMetadataBlockUnit(): string {
    // The path in the first line is frozen from before the move to src/ (a changed byte of
    // the user-data replaces the server; test/graphIdentity.spec.ts).
    return [
        "# Written by capi-mgmt cloud-init user-data (lib/metadataBlock.ts).",
        "[Unit]",
        `Description=capi-mgmt: keep containers away from the metadata service ${METADATA_ADDRESS}`,
        "Before=docker.service",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        `ExecStart=${METADATA_BLOCK_SCRIPT_PATH}`,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "RequiredBy=docker.service",
        "",
    ].join("\n");
}
