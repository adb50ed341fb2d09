import "mocha";
import * as assert from "assert";
import { parseStackConfig, SECRET_SETTINGS } from "../src/config";
import { MINIMAL_RAW_CONFIG, problemsOf, TEST_NOW } from "./fixtures";

/** The raw stack values of the minimal config with the dotted `key` (`top`, `top.nested`, `top[].nested`) set to `value`. */
function withSetting(key: string, value: string): Record<string, string> {
    const [first, ...rest] = key.split(".");
    const top = first.replace(/\[\]$/, "");
    if (rest.length === 0) {
        return { ...MINIMAL_RAW_CONFIG, [top]: value };
    }
    const inner = rest.reduceRight<unknown>((v, part) => ({ [part]: v }), value);
    return { ...MINIMAL_RAW_CONFIG, [top]: JSON.stringify(first.endsWith("[]") ? [inner] : inner) };
}

const PLAIN_TEXT = (key: string): string =>
    `capi-mgmt:${key}: is set in plain text; a private key must be a Pulumi secret. Remove it from the stack file and set it with ` +
    `\`pulumi config set --secret --path 'capi-mgmt:${key}' < FILE\` (the Pulumi CLI encrypts it with the ` +
    `stack's secrets provider; there is no way to write an encrypted value without it)`;

describe("config: secret settings", () => {
    it("the schema marks the deploy key and the age identity as secrets", () => {
        for (const key of ["gitops.deployKey", "gitops.sopsAgeKey"]) {
            assert.ok(SECRET_SETTINGS.includes(key), `${key} not in ${JSON.stringify(SECRET_SETTINGS)}`);
        }
    });

    // One case per key the schema marks `x-secret`: a new secret setting is checked without a hand list.
    for (const key of SECRET_SETTINGS) {
        it(`refuses ${key} in plain text, and accepts it held as a Pulumi secret`, () => {
            const raw = withSetting(key, "written in plain text");
            const problems = (secretKeys?: string[]) => problemsOf(() => parseStackConfig(raw, { stack: "dev", now: TEST_NOW, secretKeys }));
            assert.ok(problems([]).includes(PLAIN_TEXT(key)), `no plain-text refusal for ${key}:\n${problems([]).join("\n")}`);
            const top = key.split(".")[0].replace(/\[\]$/, "");
            const held = problems([`capi-mgmt:${top}`]).filter((p) => p.includes("is set in plain text"));
            assert.deepStrictEqual(held, [], `held as a secret (capi-mgmt:${top})`);
            // Secret keys unknown (not run by the Pulumi CLI): nothing is checked.
            assert.deepStrictEqual(
                problems(undefined).filter((p) => p.includes("is set in plain text")),
                [],
            );
        });
    }
});
