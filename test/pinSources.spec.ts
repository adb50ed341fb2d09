/**
 * Every default SHA-256 pin of a release file or manifest (src/versions/releaseFiles.ts,
 * src/versions/versions.ts) is 64 lowercase hex digits and says where it comes from: a
 * `// source:` comment in the comment block right above its entry. A pin without a source
 * cannot be checked by a reviewer, and a wrong pin breaks every deployment.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { KNOWN_RELEASE_FILE_SHA256, RELEASE_COMPONENTS } from "../src/versions/releaseFiles";
import { DEFAULT_VERSIONS, KNOWN_MANIFEST_CHECKSUMS } from "../src/versions/versions";
import { PROJECT_DIR } from "./harness";

const RELEASE_FILES_TS = "src/versions/releaseFiles.ts";
const VERSIONS_TS = "src/versions/versions.ts";

interface Entry {
    /** Where the entry is declared (relative path). */
    file: string;
    /** Its name in messages: `<version>/<file>` or `<version>`. */
    key: string;
    sha256: string;
    /** How its line starts (after indentation). */
    line: string;
}

/** Every pinned entry of the two tables. */
function entries(): Entry[] {
    return [
        ...RELEASE_COMPONENTS.flatMap((c) =>
            KNOWN_RELEASE_FILE_SHA256[c].map(([version, name, sha256]) => ({
                file: RELEASE_FILES_TS,
                key: `${version}/${name}`,
                sha256,
                line: `["${version}", "${name}", "${sha256}"]`,
            })),
        ),
        ...(["flux", "orc"] as const).flatMap((m) =>
            Object.entries(KNOWN_MANIFEST_CHECKSUMS[m]).map(([key, sha256]) => ({ file: VERSIONS_TS, key, sha256, line: `"${key}": "${sha256}"` })),
        ),
    ];
}

/**
 * The problems of `entries` in the source texts (`texts[file]`): an entry whose line is not
 * found, or whose comment block (the `//` lines directly above it) has no `// source: <text>`.
 */
function sourceProblems(texts: Readonly<Record<string, string>>, list: readonly Entry[]): string[] {
    const problems: string[] = [];
    for (const e of list) {
        const lines = texts[e.file].split("\n");
        const at = lines.findIndex((l) => l.trim().startsWith(e.line));
        if (at < 0) {
            problems.push(`${e.file}: ${e.key}: entry line not found`);
            continue;
        }
        let hasSource = false;
        for (let i = at - 1; i >= 0 && lines[i].trim().startsWith("//"); i--) {
            hasSource ||= /^\/\/ source: \S/.test(lines[i].trim());
        }
        if (!hasSource) {
            problems.push(`${e.file}: ${e.key}: no "// source:" comment above the pin`);
        }
    }
    return problems;
}

function read(file: string): string {
    return fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
}

describe("default SHA-256 pins: well formed, each with its source", () => {
    const list = entries();
    const texts = { [RELEASE_FILES_TS]: read(RELEASE_FILES_TS), [VERSIONS_TS]: read(VERSIONS_TS) };

    it("every pinned value is 64 lowercase hex digits", () => {
        assert.ok(list.length >= 6, `only ${list.length} pins found`);
        for (const e of list) {
            assert.match(e.sha256, /^[0-9a-f]{64}$/, `${e.file}: ${e.key}`);
        }
    });

    it("every default pin comes from these tables (none set elsewhere)", () => {
        const known = new Set(list.map((e) => e.sha256));
        for (const c of RELEASE_COMPONENTS) {
            for (const [file, sum] of Object.entries(DEFAULT_VERSIONS.releaseSha256[c])) {
                assert.ok(known.has(sum), `${c} ${file}`);
                assert.ok(
                    KNOWN_RELEASE_FILE_SHA256[c].some(([v, f, s]) => v === DEFAULT_VERSIONS[c] && f === file && s === sum),
                    `${c} ${file}`,
                );
            }
        }
        assert.strictEqual(DEFAULT_VERSIONS.fluxManifestSha256, KNOWN_MANIFEST_CHECKSUMS.flux[DEFAULT_VERSIONS.flux.version]);
        assert.strictEqual(DEFAULT_VERSIONS.orcManifestSha256, KNOWN_MANIFEST_CHECKSUMS.orc[DEFAULT_VERSIONS.orc]);
    });

    it("every pin has a `// source:` comment right above it", () => {
        assert.deepStrictEqual(sourceProblems(texts, list), []);
    });

    it("the check reports a pin whose source comment is gone, or separated from it", () => {
        const orc = list.find((e) => e.file === VERSIONS_TS && e.key === "v2.6.0");
        assert.ok(orc, "ORC v2.6.0's pin");
        const withoutSource = texts[VERSIONS_TS].replace(/^(\s*)\/\/ source: github\.com\/k-orc/m, "$1// from: github.com/k-orc");
        assert.notStrictEqual(withoutSource, texts[VERSIONS_TS]);
        assert.deepStrictEqual(sourceProblems({ ...texts, [VERSIONS_TS]: withoutSource }, [orc]), [
            `${VERSIONS_TS}: v2.6.0: no "// source:" comment above the pin`,
        ]);
        const separated = texts[VERSIONS_TS].replace(/^(\s*)(\/\/ renovate: .*k-orc\/openstack-resource-controller\n\s*"v2\.6\.0")/m, "$1const x = 1;\n$1$2");
        assert.notStrictEqual(separated, texts[VERSIONS_TS]);
        assert.deepStrictEqual(sourceProblems({ ...texts, [VERSIONS_TS]: separated }, [orc]), [
            `${VERSIONS_TS}: v2.6.0: no "// source:" comment above the pin`,
        ]);
    });
});
