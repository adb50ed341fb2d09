/**
 * testbed/build.sh with fake `go` and `kubectl` (test/fakes/testbed-*.sh): `TESTBED_ONLY` builds
 * only the named component, and the index (testbed.json) keeps the entries of components the
 * script does not list while their files exist, so that checkouts of different branches sharing
 * one cache do not drop each other's components.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { installFake, makeTempDir } from "./fakes/shell";

const script = path.join(__dirname, "..", "testbed", "build.sh");

interface Entry {
    kind: string;
    module: string;
    version?: string;
    path?: string;
    error?: string;
}

function run(cache: string, only: string) {
    const bin = makeTempDir("testbed-build-bin");
    installFake(bin, "go", "testbed-go.sh");
    installFake(bin, "kubectl", "testbed-kubectl.sh");
    const log = path.join(cache, "go.log");
    const r = spawnSync("bash", [script], {
        encoding: "utf8",
        timeout: 120_000,
        env: {
            ...process.env,
            PATH: `${bin}:${path.dirname(process.execPath)}:${process.env.PATH ?? ""}`,
            CAPI_MGMT_TESTBED_CACHE: cache,
            TESTBED_ONLY: only,
            FAKE_GO_LOG: log,
            FAKE_GO_MODDIR: makeTempDir("testbed-build-mod"),
        },
    });
    assert.strictEqual(r.status, 0, r.stderr);
    const index = JSON.parse(fs.readFileSync(path.join(cache, "testbed.json"), "utf8")) as Record<string, Entry | string>;
    const builds = fs
        .readFileSync(log, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("build "));
    return { index, builds };
}

describe("testbed/build.sh", function () {
    this.timeout(120_000);

    it("builds only TESTBED_ONLY's component, ORC's manager with its version linked in", function () {
        const cache = makeTempDir("testbed-build-cache");
        const { index, builds } = run(cache, "orc");
        assert.strictEqual(builds.length, 1, builds.join("\n"));
        assert.match(builds[0], /github\.com\/k-orc\/openstack-resource-controller\/v2\/internal\/version\.gitVersion=v1\.0\.0/);
        assert.match(builds[0], / github\.com\/k-orc\/openstack-resource-controller\/v2\/cmd\/manager$/);
        const orc = index.orc as Entry;
        assert.deepStrictEqual(orc, {
            kind: "binary",
            module: "github.com/k-orc/openstack-resource-controller/v2",
            version: "v1.0.0",
            path: path.join(cache, "orc-v1.0.0", "orc"),
        });
        assert.strictEqual((index.capo as Entry).error, "not built (TESTBED_ONLY)");
        assert.strictEqual((index["orc-manifests"] as Entry).path, path.join(cache, "manifests", "orc-v1.0.0.yaml"));
    });

    it("keeps another checkout's entries whose files exist, drops those whose files are gone", function () {
        const cache = makeTempDir("testbed-build-cache");
        const foreign = path.join(cache, "another-tool-v9", "another-tool");
        fs.mkdirSync(path.dirname(foreign));
        fs.writeFileSync(foreign, "");
        fs.writeFileSync(
            path.join(cache, "testbed.json"),
            JSON.stringify({
                go: "go1.0",
                "another-tool": { kind: "binary", module: "example.com/another", version: "v9", path: foreign },
                gone: { kind: "binary", module: "example.com/gone", version: "v1", path: path.join(cache, "gone-v1", "gone") },
                broken: { kind: "binary", module: "example.com/broken", error: "refused" },
                // An entry this script lists is rewritten, not kept.
                orc: { kind: "binary", module: "old", version: "v0", path: foreign },
            }),
        );
        const { index } = run(cache, "orc");
        assert.deepStrictEqual(index["another-tool"], { kind: "binary", module: "example.com/another", version: "v9", path: foreign });
        assert.strictEqual(index.go, "go1.26.0");
        assert.strictEqual((index.orc as Entry).path, path.join(cache, "orc-v1.0.0", "orc"));
        assert.deepStrictEqual(
            ["gone", "broken"].filter((k) => k in index),
            [],
        );
    });
});
