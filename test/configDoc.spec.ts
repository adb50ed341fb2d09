import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { CONFIG_KEYS, nestedSettingKeys, parseStackConfig, SETTINGS_SCHEMA, settingSchema } from "../src/config";
import { GENERATED_REGIONS, renderPulumiConfig, renderSettingsTable, withRegion } from "../render/configDoc";
import { MINIMAL_RAW_CONFIG, problemsOf, TEST_NOW } from "./fixtures";

const ROOT = path.join(__dirname, "..");

describe("settings schema: generated files", () => {
    for (const region of GENERATED_REGIONS) {
        it(`${region.file} matches what the schema generates (regenerate: npm run docs:config)`, () => {
            const text = fs.readFileSync(path.join(ROOT, region.file), "utf8");
            assert.strictEqual(text, withRegion(text, region), `${region.file} is out of date: run npm run docs:config`);
        });
    }

    it("notices a hand edit between the markers", () => {
        const region = GENERATED_REGIONS.find((r) => r.file === "Pulumi.yaml")!;
        const text = fs.readFileSync(path.join(ROOT, region.file), "utf8");
        const edited = text.replace("default: 10.0.0.0/24", "default: 10.1.0.0/24");
        assert.notStrictEqual(edited, text);
        assert.notStrictEqual(withRegion(edited, region), edited);
    });

    it("Pulumi.yaml declares each plain setting with the default the program applies", () => {
        const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, { type: string; default?: unknown }> };
        assert.deepStrictEqual(YAML.parse(renderPulumiConfig()).config, project.config);
        const parsed = parseStackConfig(MINIMAL_RAW_CONFIG, { stack: "dev", now: TEST_NOW }) as unknown as Record<string, unknown>;
        for (const [key, decl] of Object.entries(project.config)) {
            assert.ok((CONFIG_KEYS as string[]).includes(key), key);
            if (key in MINIMAL_RAW_CONFIG || decl.default === undefined) {
                continue;
            }
            // "" is Pulumi's spelling of unset; the program reads it as such.
            const expected = decl.default === "" ? (key === "prefix" ? "dev" : undefined) : decl.default;
            assert.deepStrictEqual(parsed[key], expected, `${key}: Pulumi.yaml's default differs from the program's`);
        }
    });

    it("the settings table has a row for every top-level key (or each of its nested keys)", () => {
        const table = renderSettingsTable();
        for (const key of CONFIG_KEYS) {
            const nested = settingSchema(key)?.["x-doc-nested"];
            const rows = nested ? nestedSettingKeys().filter((k) => k.startsWith(`${key}.`)) : [key];
            for (const row of rows) {
                assert.match(table, new RegExp(`^\\| \`${row.replace(/[.[\]]/g, "\\$&")}\` \\|`, "m"), row);
            }
        }
    });

    it("every top-level setting is described for both Pulumi.yaml and the docs", () => {
        for (const key of CONFIG_KEYS) {
            const node = settingSchema(key)!;
            const documented = node["x-doc-nested"] ? nestedSettingKeys().filter((k) => k.startsWith(`${key}.`)) : [key];
            for (const k of documented) {
                assert.ok(settingSchema(k)?.markdownDescription, `${k}: no markdownDescription`);
            }
            assert.ok(node["x-pulumi"] === false || node.description, `${key}: no description for Pulumi.yaml`);
        }
    });
});

describe("settings schema: validation", () => {
    function problems(raw: Record<string, string>): readonly string[] {
        return problemsOf(() => parseStackConfig(raw, { stack: "dev", now: TEST_NOW }));
    }

    it("reports every shape problem at once, each naming its key, worded from the schema", () => {
        const found = problems({
            ...MINIMAL_RAW_CONFIG,
            rootVolumeSize: "big",
            allowPublicAccess: "yes",
            teardownTimeoutMinutes: "3",
            environment: "staging",
            gitops: JSON.stringify({ url: 5, colour: "red" }),
            registryMirrors: JSON.stringify([7]),
        });
        const expected = [
            'capi-mgmt:rootVolumeSize: "big" is not an integer between 0 and 16384',
            'capi-mgmt:allowPublicAccess: "yes" is not a boolean (true or false)',
            'capi-mgmt:teardownTimeoutMinutes: "3" is not an integer between 5 and 240',
            'capi-mgmt:environment: "staging" must be "development" or "production"',
            "capi-mgmt:gitops.url: must be a string",
            `capi-mgmt:gitops.colour: is not a known setting (known: ${Object.keys(SETTINGS_SCHEMA.properties.gitops.properties).join(", ")})`,
            "capi-mgmt:gitops.knownHosts: is required: the Git host's known_hosts lines (ssh-keyscan <host>); host key checking is never disabled",
            "capi-mgmt:registryMirrors[0]: must be an object with registry and endpoints",
        ];
        for (const line of expected) {
            assert.ok(found.includes(line), `missing ${line}; got:\n${found.join("\n")}`);
        }
        assert.strictEqual(new Set(found).size, found.length, `a problem reported twice:\n${found.join("\n")}`);
    });

    it("a nested key the schema refuses does not hide the other problems of its object", () => {
        const found = problems({
            ...MINIMAL_RAW_CONFIG,
            appCredential: JSON.stringify({ colour: "red", expiresAt: "2020-01-01T00:00:00Z" }),
            registryMirrors: JSON.stringify([{ registry: "bad host", endpoints: [], mirror: true }]),
            gitops: JSON.stringify({ url: "git@github.com:org/repo", path: 7, branch: "a..b", knownHosts: "x" }),
        });
        for (const line of [
            "capi-mgmt:appCredential.colour: is not a known setting (known: roles, expiresAt, owner)",
            'capi-mgmt:appCredential.expiresAt: "2020-01-01T00:00:00Z" is not in the future (set a later expiry to rotate both credentials)',
            "capi-mgmt:registryMirrors[0].mirror: is not a known setting (known: registry, endpoints)",
            'capi-mgmt:registryMirrors[0].registry: "bad host" is not a registry host[:port] (e.g. docker.io, registry.example:5000)',
            "capi-mgmt:gitops.path: must be a string",
            'capi-mgmt:gitops.branch: "a..b" is not a valid branch name',
            'capi-mgmt:gitops.url: "git@github.com:org/repo" is the scp-like form, which Flux does not accept; write ssh://git@github.com/org/repo',
        ]) {
            assert.ok(found.includes(line), `missing ${line}; got:\n${found.join("\n")}`);
        }
        assert.ok(!found.some((l) => l.startsWith("capi-mgmt:gitops: set exactly one")), found.join("\n"));
    });

    it("an unknown key is refused even when its value is empty", () => {
        assert.ok(
            problems({ ...MINIMAL_RAW_CONFIG, flavour: "" }).some((l) =>
                l.startsWith("capi-mgmt:flavour: is not a known setting (known: prefix, environment,"),
            ),
        );
    });
});
