/**
 * The SHA-256 pins of the release files clusterctl reads: src/versions/releaseFiles.ts and
 * `capi-mgmt:versions` → the providers step's script (src/host/scripts/capi-providers.sh checks every
 * download against them; the run below uses the fake server of test/fakes/clusterFakes.ts).
 */
import "mocha";
import * as assert from "assert";
import {
    checksumsByVersion,
    KNOWN_RELEASE_CHECKSUMS,
    knownReleasePin,
    RELEASE_COMPONENTS,
    ReleaseComponent,
    releaseFiles,
    ReleasePin,
} from "../src/versions/releaseFiles";
import { DEFAULT_VERSIONS, Versions } from "../src/versions/versions";
import { reveal } from "../render/engine";
import { ClusterFakes, fakeServersRemovedAfterAll } from "./fakes/clusterFakes";
import { fakeReleasePins } from "./fakes/releaseFakes";
import { assertFailure, assertSuccess } from "./fakes/shell";
import { parseTestConfig, testConfigProblems } from "./fixtures";
import { Run, runStack } from "./harness";

const CAPO_COMPONENTS_URL = "https://github.com/kubernetes-sigs/cluster-api-provider-openstack/releases/download/v0.14.7/infrastructure-components.yaml";

function problems(versions: unknown): readonly string[] {
    return testConfigProblems({ versions: JSON.stringify(versions) });
}

/** The release pins of merged `versions`, as the providers step gets them. */
function allPins(v: Versions): Record<ReleaseComponent, ReleasePin> {
    return Object.fromEntries(RELEASE_COMPONENTS.map((c) => [c, { version: v[c], sha256: v.releaseSha256[c] }])) as Record<ReleaseComponent, ReleasePin>;
}

function providersStdin(run: Run): string {
    return String(reveal(run.one("command:remote:Command", "capi-providers").inputs.stdin));
}

const newFakes = fakeServersRemovedAfterAll();

describe("release files of clusterctl: SHA-256 pins", function () {
    this.timeout(60000);

    describe("defaults and config", () => {
        it("pins by default exactly what src/versions/releaseFiles.ts knows at the default versions: every metadata.yaml, Cluster API's and CAAPH's components (not CAPO's) and cert-manager's manifest", () => {
            for (const c of RELEASE_COMPONENTS) {
                assert.deepStrictEqual(DEFAULT_VERSIONS.releaseSha256[c], knownReleasePin(c, DEFAULT_VERSIONS[c]).sha256, c);
            }
            assert.deepStrictEqual(DEFAULT_VERSIONS.releaseSha256, {
                clusterApi: {
                    "core-components.yaml": "d925404ef6da63fbac1799ca1c73230e39f4f7ac0f71b8b3bb0b02ddad29fbd2",
                    "bootstrap-components.yaml": "ff809e73c2340b9151147172c5d322527a7294ac012ba59c7af6e22db51b5013",
                    "control-plane-components.yaml": "ae8c141459c187e1f83c1ad4d40eb62f0e02e8d16fd0646c9a5a646192be21b6",
                    "metadata.yaml": "c470906f551ac3e3e9aedc9a3e733b5a5994428693df43e95f65ea67c035f9fe",
                },
                capo: { "metadata.yaml": "2c1d791168a7dc4ca13cfa3d19acd186f39a51a02f5f1967c857c6e0a01cbddc" },
                caaph: {
                    "addon-components.yaml": "a70f4eb77eac626231daca1e2a046b4b069bb84320efa327cc8c56a9c4ca03e6",
                    "metadata.yaml": "d50a44ee0db2f0368699d15ff011b9b5a61d9969483de1c4f6e4e6046390530f",
                },
                certManager: { "cert-manager.yaml": "5f6a499b8c1857d57f560f536e0dcc830914b45c420899fe7ad0692c8624e408" },
            });
            assert.deepStrictEqual(parseTestConfig().versions.releaseSha256, DEFAULT_VERSIONS.releaseSha256);
        });

        it("knows every file of Cluster API v1.14.2 (not the default): a bare `clusterApi: v1.14.2` pins all four", () => {
            const v = parseTestConfig({ versions: JSON.stringify({ clusterApi: "v1.14.2" }) }).versions;
            assert.deepStrictEqual(Object.keys(v.releaseSha256.clusterApi).sort(), [
                "bootstrap-components.yaml",
                "control-plane-components.yaml",
                "core-components.yaml",
                "metadata.yaml",
            ]);
            assert.strictEqual(v.releaseSha256.clusterApi["metadata.yaml"], DEFAULT_VERSIONS.releaseSha256.clusterApi["metadata.yaml"], "same file in v1.14.0");
            const files = releaseFiles({ ...allPins(v), clusterApi: { version: "v1.14.2", sha256: v.releaseSha256.clusterApi } }).filter(
                (f) => f.version === "v1.14.2",
            );
            assert.strictEqual(files.length, 6, "three providers, each with its components file and metadata.yaml");
            assert.ok(files.every((f) => f.sha256 !== undefined));
        });

        it("reads the table row by row: a repeated row (a Renovate bump onto a listed version) is accepted, two SHA-256 of one file refused", () => {
            const a = "a".repeat(64);
            const b = "b".repeat(64);
            assert.deepStrictEqual(
                checksumsByVersion([
                    ["v1.0.0", "metadata.yaml", a],
                    ["v1.0.0", "core-components.yaml", b],
                    ["v1.0.1", "metadata.yaml", a],
                    ["v1.0.0", "metadata.yaml", a],
                ]),
                { "v1.0.0": { "metadata.yaml": a, "core-components.yaml": b }, "v1.0.1": { "metadata.yaml": a } },
            );
            assert.throws(
                () =>
                    checksumsByVersion([
                        ["v1.0.0", "metadata.yaml", a],
                        ["v1.0.0", "metadata.yaml", b],
                    ]),
                new RegExp(`v1\\.0\\.0 metadata\\.yaml is pinned to two SHA-256: ${a} and ${b}`),
            );
        });

        it("takes {version, sha256: {<file>: <sha256>}}; a bare version gets the known pins of that version", () => {
            const pin = "c".repeat(64);
            const v = parseTestConfig({
                versions: JSON.stringify({ capo: { version: "v0.14.8", sha256: { "infrastructure-components.yaml": pin } } }),
            }).versions;
            assert.strictEqual(v.capo, "v0.14.8");
            assert.deepStrictEqual(v.releaseSha256.capo, { "infrastructure-components.yaml": pin });
            assert.deepStrictEqual(v.releaseSha256.certManager, DEFAULT_VERSIONS.releaseSha256.certManager, "others keep theirs");
            const bare = parseTestConfig({ versions: JSON.stringify({ certManager: "v1.21.2" }) }).versions;
            assert.strictEqual(bare.certManager, "v1.21.2");
            assert.deepStrictEqual(bare.releaseSha256.certManager, {}, "no known pin of v1.21.2");
            assert.deepStrictEqual(KNOWN_RELEASE_CHECKSUMS.certManager["v1.21.2"], undefined);
        });

        it("reports every problem of a pin, naming the setting", () => {
            assert.deepStrictEqual(
                problems({
                    clusterApi: { version: "1.14", sha256: { "core-components.yaml": "C".repeat(64), "cluster-template.yaml": "c".repeat(64) }, extra: 1 },
                }),
                [
                    "capi-mgmt:versions.clusterApi.extra: is not a known setting (known: version, sha256)",
                    'capi-mgmt:versions.clusterApi.version: "1.14" is not a version like v1.2.3',
                    `capi-mgmt:versions.clusterApi.sha256.core-components.yaml: "${"C".repeat(64)}" is not a SHA-256 (64 lowercase hex digits)`,
                    "capi-mgmt:versions.clusterApi.sha256.cluster-template.yaml: is not a release file clusterctl reads (known: core-components.yaml, bootstrap-components.yaml, control-plane-components.yaml, metadata.yaml)",
                ],
            );
            assert.deepStrictEqual(problems({ caaph: { version: "v0.6.4", sha256: "c".repeat(64) } }), [
                "capi-mgmt:versions.caaph.sha256: must map release file names (addon-components.yaml, metadata.yaml) to their SHA-256",
            ]);
        });
    });

    describe("program (mock engine) and the rendered step on a fake server", () => {
        const pins = fakeReleasePins();
        let dev: Run;
        let capoPinned: Run;
        let allPinned: Run;

        before(async () => {
            dev = await runStack("dev");
            capoPinned = await runStack("dev", { versions: JSON.stringify({ capo: { version: "v0.14.7", sha256: pins.capo } }) });
            allPinned = await runStack("dev", {
                versions: JSON.stringify({
                    clusterApi: { version: "v1.14.0", sha256: pins.clusterApi },
                    capo: { version: "v0.14.7", sha256: pins.capo },
                    caaph: { version: "v0.6.4", sha256: pins.caaph },
                    certManager: { version: "v1.21.1", sha256: pins.certManager },
                }),
            });
        });

        function fakeServer(name: string): ClusterFakes {
            const fakes = newFakes(name);
            fakes.placeKubeconfig();
            return fakes;
        }

        it("hands a pin from the stack config to the step, and the step refuses a download that differs from it", () => {
            const stdin = providersStdin(capoPinned);
            assert.ok(stdin.includes(`infrastructure-components.yaml ${CAPO_COMPONENTS_URL} ${pins.capo["infrastructure-components.yaml"]}\n`), "pin rendered");
            const fakes = fakeServer("release-pins");
            fakes.publish(CAPO_COMPONENTS_URL, "tampered\n");
            const r = fakes.run(stdin);
            assertFailure(r);
            assert.match(
                r.stderr,
                /refused: https:\/\/github\.com\/kubernetes-sigs\/cluster-api-provider-openstack\/releases\/download\/v0\.14\.7\/infrastructure-components\.yaml has SHA-256 [0-9a-f]{64}, but [0-9a-f]{64} is pinned/,
            );
            // The default pin of cert-manager v1.21.1 (the real release's SHA-256) refuses the fake manifest too.
            assert.match(
                r.stderr,
                /cert-manager\.yaml has SHA-256 [0-9a-f]{64}, but 5f6a499b8c1857d57f560f536e0dcc830914b45c420899fe7ad0692c8624e408 is pinned/,
            );
            assert.deepStrictEqual(fakes.callsOf("clusterctl"), []);
            assert.deepStrictEqual(fakes.callsOf("kubectl"), []);
        });

        it("a new pin re-runs the step as an update (same triggers, same resource), never a replacement (modelled)", () => {
            const step = (run: Run) => run.one("command:remote:Command", "capi-providers");
            assert.strictEqual(step(capoPinned).urn, step(dev).urn);
            assert.deepStrictEqual(reveal(step(capoPinned).inputs.triggers), reveal(step(dev).inputs.triggers));
            assert.strictEqual(reveal(step(capoPinned).inputs.update), "sudo bash -s");
            assert.notStrictEqual(providersStdin(capoPinned), providersStdin(dev));
        });

        it("runs clusterctl once every file matches the pins the program rendered", () => {
            const fakes = fakeServer("release-pins-ok");
            const r = fakes.run(providersStdin(allPinned));
            assertSuccess(r);
            assert.strictEqual(fakes.callsOf("clusterctl").length, 1);
            assert.doesNotMatch(r.stdout, /unpinned/);
        });
    });
});
