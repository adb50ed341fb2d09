/**
 * Fake release files of the Cluster API providers and cert-manager, served by the fake curl
 * of {@link ClusterFakes} (test/fakes/clusterFakes.ts) for src/host/scripts/capi-providers.sh's local
 * repository, and SHA-256 pins of them.
 */
import * as crypto from "crypto";
import { ReleaseChecksums, ReleaseComponent, releaseFiles, ReleaseFile } from "../../src/versions/releaseFiles";

/** The versions the cluster scripts' tests install (test/clusterScriptParams.ts PROVIDER_PARAMS). */
export const FAKE_RELEASE_VERSIONS: Readonly<Record<ReleaseComponent, string>> = {
    clusterApi: "v1.14.0",
    capo: "v0.14.7",
    caaph: "v0.6.4",
    certManager: "v1.21.1",
};

/** No file pinned: every file is trusted on first use. */
export const NO_RELEASE_PINS: Readonly<Record<ReleaseComponent, ReleaseChecksums>> = { clusterApi: {}, capo: {}, caaph: {}, certManager: {} };

/** What the fake curl serves for a release file's URL. */
export function fakeReleaseContent(url: string): string {
    return `# fake release file\n# ${url}\n`;
}

function sha256(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}

/** Every release file at `versions` (unpinned), as the providers step downloads them. */
export function fakeReleaseFiles(versions: Readonly<Record<ReleaseComponent, string>> = FAKE_RELEASE_VERSIONS): ReleaseFile[] {
    return releaseFiles({
        clusterApi: { version: versions.clusterApi, sha256: {} },
        capo: { version: versions.capo, sha256: {} },
        caaph: { version: versions.caaph, sha256: {} },
        certManager: { version: versions.certManager, sha256: {} },
    });
}

/** The SHA-256 pins of the fake release files at `versions`, per component and file. */
export function fakeReleasePins(
    versions: Readonly<Record<ReleaseComponent, string>> = FAKE_RELEASE_VERSIONS,
): Record<ReleaseComponent, Record<string, string>> {
    const pins: Record<ReleaseComponent, Record<string, string>> = { clusterApi: {}, capo: {}, caaph: {}, certManager: {} };
    for (const f of fakeReleaseFiles(versions)) {
        pins[componentOf(f.label)][f.file] = sha256(fakeReleaseContent(f.url));
    }
    return pins;
}

function componentOf(label: string): ReleaseComponent {
    if (label === "cert-manager") {
        return "certManager";
    }
    if (label === "infrastructure-openstack") {
        return "capo";
    }
    return label === "addon-helm" ? "caaph" : "clusterApi";
}
