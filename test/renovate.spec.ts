import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { RELEASE_COMPONENTS } from "../src/versions/releaseFiles";
import { COMPONENT_NAMES, DEFAULT_VERSIONS, TOOL_NAMES } from "../src/versions/versions";
import { PROJECT_DIR } from "./harness";

interface CustomManager {
    managerFilePatterns: string[];
    matchStrings: string[];
}

/** Every file of the project a pattern (`/regex/`, relative path) selects. */
function filesMatching(pattern: string, rel = ""): string[] {
    const re = new RegExp(pattern.replace(/^\/|\/$/g, ""));
    return fs.readdirSync(path.join(PROJECT_DIR, rel), { withFileTypes: true }).flatMap((e) => {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
            return ["node_modules", ".git", "rendered"].includes(e.name) ? [] : filesMatching(pattern, p);
        }
        return re.test(p) ? [p] : [];
    });
}

/** What Renovate's custom managers find: `file: currentValue` per match, with the digest if captured. */
function found(): { file: string; depName?: string; currentValue: string; currentDigest?: string }[] {
    const config = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "renovate.json"), "utf8")) as { customManagers: CustomManager[] };
    return config.customManagers.flatMap((m) =>
        m.managerFilePatterns
            .flatMap((p) => filesMatching(p))
            .flatMap((file) => {
                const text = fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
                return m.matchStrings.flatMap((s) => [...text.matchAll(new RegExp(s, "g"))].map((x) => ({ file, ...(x.groups as { currentValue: string }) })));
            }),
    );
}

describe("renovate.json: every pin is found", () => {
    const matches = found();
    const has = (file: string, value: string, digest?: string) =>
        matches.some((m) => m.file === file && m.currentValue === value && (digest === undefined || m.currentDigest === digest));

    it("every default tool version and its checksum, and every component version, in src/versions/versions.ts", () => {
        for (const tool of TOOL_NAMES) {
            const pin = DEFAULT_VERSIONS[tool];
            assert.ok(
                matches.filter((m) => m.file === "src/versions/versions.ts" && m.currentValue === pin.version).length >= 2,
                `${tool} ${pin.version}: default and checksum entry`,
            );
            assert.ok(has("src/versions/versions.ts", pin.version, pin.sha256), `${tool} ${pin.version}'s checksum is not found with it`);
        }
        for (const c of COMPONENT_NAMES) {
            assert.ok(has("src/versions/versions.ts", DEFAULT_VERSIONS[c]), `${c} ${DEFAULT_VERSIONS[c]}`);
        }
        const [image, digest] = DEFAULT_VERSIONS.nodeImage.split("@");
        assert.ok(has("src/versions/versions.ts", image.split(":")[1], digest), `node image ${DEFAULT_VERSIONS.nodeImage}`);
    });

    it("every default pin of a release file clusterctl reads (src/versions/releaseFiles.ts), with its version", () => {
        let pinned = 0;
        for (const c of RELEASE_COMPONENTS) {
            for (const [file, sum] of Object.entries(DEFAULT_VERSIONS.releaseSha256[c])) {
                pinned++;
                assert.ok(
                    has("src/versions/releaseFiles.ts", DEFAULT_VERSIONS[c], sum),
                    `${c} ${DEFAULT_VERSIONS[c]} ${file}: its SHA-256 is not found with the version`,
                );
            }
        }
        assert.ok(pinned >= 1, "no release file is pinned by default");
    });

    it("the SHA-256 of Flux's install.yaml with Flux's version (src/versions/versions.ts)", () => {
        assert.ok(has("src/versions/versions.ts", DEFAULT_VERSIONS.flux.version, DEFAULT_VERSIONS.fluxManifestSha256));
    });

    it("the SHA-256 of ORC's install.yaml with ORC's version (src/versions/versions.ts)", () => {
        assert.ok(DEFAULT_VERSIONS.orcManifestSha256, "ORC's manifest is pinned by default");
        assert.ok(has("src/versions/versions.ts", DEFAULT_VERSIONS.orc, DEFAULT_VERSIONS.orcManifestSha256));
    });

    it("every Helm chart and pinned upstream tag of gitops/", () => {
        const yamlFiles = filesMatching("/^gitops/.+\\.yaml$/");
        let charts = 0;
        for (const file of yamlFiles) {
            for (const doc of parseAllDocuments(fs.readFileSync(path.join(PROJECT_DIR, file), "utf8"))) {
                const o = doc.toJS() as { kind?: string; spec?: { version?: string; ref?: { tag?: string } } } | null;
                if (o?.kind === "HelmChartProxy") {
                    charts++;
                    assert.ok(has(file, String(o.spec?.version)), `${file}: chart version ${o.spec?.version}`);
                }
                if (o?.kind === "GitRepository" && o.spec?.ref?.tag) {
                    assert.ok(has(file, o.spec.ref.tag), `${file}: tag ${o.spec.ref.tag}`);
                }
            }
        }
        assert.ok(charts >= 7, `only ${charts} charts found in gitops/`);
    });

    it("the Node.js of the quick start", () => {
        const m = /CAPI_MGMT_NODE_VERSION="([^"]+)"/.exec(fs.readFileSync(path.join(PROJECT_DIR, "scripts/node22.sh"), "utf8"));
        assert.ok(m && has("scripts/node22.sh", m[1]));
    });
});
