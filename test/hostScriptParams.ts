/**
 * The small valid parameters the host-script specs (test/hostScripts*.spec.ts) render with.
 */
import { InstallToolsParams } from "../src/host/bootstrapScripts";
import { DEFAULT_VERSIONS, toolDownloads } from "../src/versions/versions";

/** A hex string of 64 digits that is nobody's checksum. */
export const WRONG_SHA = "0".repeat(64);

/** Small valid parameters, for renderer tests. */
export function sampleInstallParams(overrides: Partial<InstallToolsParams> = {}): InstallToolsParams {
    return {
        tools: toolDownloads(DEFAULT_VERSIONS),
        installDir: "/usr/local/bin",
        stateDir: "/var/lib/capi-mgmt",
        retries: 3,
        ...overrides,
    };
}
