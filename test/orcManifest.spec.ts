/**
 * The optional SHA-256 pin of ORC's release manifest: `capi-mgmt:versions` → the ORC step's
 * script (src/host/scripts/orc.sh checks the download against it; test/clusterScriptsOrc.spec.ts runs that).
 */
import "mocha";
import * as assert from "assert";
import { DEFAULT_VERSIONS, KNOWN_MANIFEST_CHECKSUMS } from "../src/versions/versions";
import { RecordedResource, reveal } from "../render/engine";
import { parseTestConfig, testConfigProblems } from "./fixtures";
import { Run, runStack } from "./harness";

const PIN = "c".repeat(64);
/** ORC v2.6.0's release install.yaml (src/versions/versions.ts names the sources). */
const ORC_V260_SHA256 = "affe57ece8c81001d4dacd35fe3bd5bf35662ed6b5c4b1da59f334c685bba109";

function problems(versions: unknown): readonly string[] {
    return testConfigProblems({ versions: JSON.stringify(versions) });
}

function orcStdin(run: Run): string {
    return String(reveal(run.one("command:remote:Command", "orc").inputs.stdin));
}

function step(run: Run): RecordedResource {
    return run.one("command:remote:Command", "orc");
}

describe("ORC's manifest checksum", function () {
    this.timeout(60000);

    describe("config", () => {
        it("pins v2.6.0's install.yaml by default (src/versions/versions.ts, with its sources), and only that version's", () => {
            assert.deepStrictEqual(KNOWN_MANIFEST_CHECKSUMS.orc, { "v2.6.0": ORC_V260_SHA256 });
            assert.strictEqual(DEFAULT_VERSIONS.orc, "v2.6.0");
            assert.strictEqual(DEFAULT_VERSIONS.orcManifestSha256, ORC_V260_SHA256);
            assert.strictEqual(parseTestConfig().versions.orcManifestSha256, ORC_V260_SHA256);
            assert.strictEqual(parseTestConfig({ versions: JSON.stringify({ orc: "v2.6.0" }) }).versions.orcManifestSha256, ORC_V260_SHA256);
        });

        it("takes {version, sha256} for versions.orc, and a bare version without a known SHA-256 unpinned", () => {
            const pinned = parseTestConfig({ versions: JSON.stringify({ orc: { version: "v2.6.1", sha256: PIN } }) }).versions;
            assert.strictEqual(pinned.orc, "v2.6.1");
            assert.strictEqual(pinned.orcManifestSha256, PIN);
            const bare = parseTestConfig({ versions: JSON.stringify({ orc: "v2.6.1" }) }).versions;
            assert.strictEqual(bare.orc, "v2.6.1");
            assert.strictEqual(bare.orcManifestSha256, undefined);
        });

        it("reports every problem of a pin, naming the setting", () => {
            assert.deepStrictEqual(problems({ orc: { version: "2.6", sha256: "C".repeat(64), extra: 1 } }), [
                "capi-mgmt:versions.orc.extra: is not a known setting (known: version, sha256)",
                'capi-mgmt:versions.orc.version: "2.6" is not a version like v1.2.3',
                `capi-mgmt:versions.orc.sha256: "${"C".repeat(64)}" is not a SHA-256 (64 lowercase hex digits)`,
            ]);
            assert.deepStrictEqual(problems({ orc: ["v2.6.0"] }), [
                "capi-mgmt:versions.orc: must be a version (v1.2.3) or {version, sha256} (the SHA-256 of the release's install.yaml)",
            ]);
        });
    });

    describe("program (mock engine)", () => {
        let dev: Run;
        let pinned: Run;
        let unpinned: Run;

        before(async () => {
            dev = await runStack("dev");
            pinned = await runStack("dev", { versions: JSON.stringify({ orc: { version: "v2.6.0", sha256: PIN } }) });
            unpinned = await runStack("dev", { versions: JSON.stringify({ orc: "v2.6.1" }) });
        });

        it("hands the default pin, or the config's, to the ORC step's script; none for a version without a known one", () => {
            assert.match(orcStdin(dev), new RegExp(`^readonly ORC_MANIFEST_SHA256='${ORC_V260_SHA256}'$`, "m"));
            assert.match(orcStdin(pinned), new RegExp(`^readonly ORC_MANIFEST_SHA256='${PIN}'$`, "m"));
            assert.match(orcStdin(unpinned), /^readonly ORC_MANIFEST_SHA256=''$/m);
        });

        it("a changed pin re-runs the ORC step as an update (download, verify, re-apply), never a replacement", () => {
            assert.strictEqual(step(pinned).urn, step(dev).urn);
            assert.deepStrictEqual(reveal(step(pinned).inputs.triggers), reveal(step(dev).inputs.triggers));
            assert.strictEqual(reveal(step(pinned).inputs.update), "sudo bash -s");
            assert.notStrictEqual(orcStdin(pinned), orcStdin(dev));
        });
    });
});
