import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { skipTest } from "./fakes/shell";
import { renderUserData, UserDataParams } from "../src/host/cloudInit";
import { CA_CERT_A, CA_CERT_B, PROXY, params } from "./cloudInitParams";

describe("renderUserData", () => {
    describe("cloud-init schema", () => {
        const available = !spawnSync("cloud-init", ["--version"], { encoding: "utf8" }).error;
        let dir = "";

        before(() => {
            dir = mkdtempSync(join(tmpdir(), "cloud-init-schema-"));
        });

        after(() => {
            rmSync(dir, { recursive: true, force: true });
        });

        const cases: Array<[string, string | undefined, UserDataParams["proxy"]?]> = [
            ["without a CA", undefined],
            ["with a CA", CA_CERT_A],
            ["with a CA bundle", CA_CERT_A + CA_CERT_B],
            ["with a proxy", undefined, PROXY],
            ["with only an https proxy", undefined, { https: PROXY.https, noProxy: PROXY.noProxy }],
        ];
        for (const [what, caCert, proxy] of cases) {
            it(`accepts the user-data ${what}, without deprecations`, function () {
                if (!available) {
                    skipTest(this, "the user-data's schema check", "cloud-init");
                }
                const file = join(dir, "user-data.yaml");
                writeFileSync(file, renderUserData(params({ caCert, proxy })));
                const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
                const output = `${result.stdout}${result.stderr}`;
                assert.strictEqual(result.status, 0, `cloud-init schema failed:\n${output}`);
                assert.doesNotMatch(output, /deprecat/i, `cloud-init schema reported deprecations:\n${output}`);
            });
        }
    });
});
