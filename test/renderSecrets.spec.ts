/** The offline render of a stack file whose secrets were set with --path, opened by the (fake) Pulumi CLI. */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { mockOpensshKeyPair } from "../render/engine";
import { readStackConfigFile, renderStackReport } from "../render/render";
import { PULUMI_CLI_MISSING } from "../render/secrets";
import { fakePulumiCli, SECURE_LEAF } from "./fixtures";
import { PROJECT_DIR } from "./harness";
import { listFiles, renderSuiteTmp } from "./renderHelpers";

describe("offline render", function () {
    const tmp = renderSuiteTmp(this);
    describe("secrets set with --path (nested secure values), opened by the Pulumi CLI", () => {
        const AGE_KEY = `AGE-SECRET-KEY-1${"Q".repeat(58)}`;
        let dir: string;
        let deployKey: string;
        let gitops: Record<string, unknown>;
        before(() => {
            dir = fs.mkdtempSync(path.join(tmp, "secure-"));
            deployKey = mockOpensshKeyPair("a deploy key set with --path").privateKeyOpenssh;
            const dev = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> };
            gitops = dev.config["capi-mgmt:gitops"];
            // What `pulumi config set --secret --path 'capi-mgmt:gitops.deployKey'` leaves in the file.
            dev.config["capi-mgmt:gitops"] = { ...gitops, deployKey: SECURE_LEAF, sopsAgeKey: SECURE_LEAF };
            fs.writeFileSync(path.join(dir, "Pulumi.sec.yaml"), toYaml({ encryptionsalt: "v1:c2FsdA==:v1:bm9uY2U=:c2VhbGVk", config: dev.config }));
        });

        /** The fake CLI opening the gitops key as the real one does: the whole object, leaves decrypted. */
        function cli(env: Record<string, string> = {}) {
            return fakePulumiCli({ "capi-mgmt:gitops": { ...gitops, deployKey, sopsAgeKey: AGE_KEY } }, env);
        }

        it("reads them as the CLI opens them, in the project directory, for the stack, with the user's secrets settings: the key secret", () => {
            const fake = cli({ PULUMI_CONFIG_PASSPHRASE: "correct horse battery staple" });
            const file = readStackConfigFile(dir, "sec", fake.env);
            const opened = JSON.parse(file.config["capi-mgmt:gitops"]);
            assert.strictEqual(opened.deployKey, deployKey);
            assert.strictEqual(opened.sopsAgeKey, AGE_KEY);
            assert.strictEqual(opened.url, "ssh://git@github.com/example-org/capi-gitops");
            assert.deepStrictEqual(file.secretKeys, ["capi-mgmt:gitops"]);
            assert.deepStrictEqual(file.placeholders, []);
            // Keys without secure values are the file's own.
            assert.strictEqual(file.config["capi-mgmt:flavor"], "SCS-4V-16");
            assert.deepStrictEqual(fs.readFileSync(fake.log, "utf8").split("\n"), [
                "args: config --show-secrets --json --stack sec",
                `cwd: ${dir}`,
                "passphrase: set",
                "",
            ]);
        });

        it("fails with the CLI's own words when it cannot open them (a wrong passphrase), naming the file", () => {
            assert.throws(
                () => readStackConfigFile(dir, "sec", cli({ FAKE_PULUMI_FAIL: "incorrect passphrase" }).env),
                (e: Error) =>
                    e.message ===
                    `${path.join(dir, "Pulumi.sec.yaml")}: cannot open its secure values: pulumi config --show-secrets --json --stack sec failed (exit 255): incorrect passphrase`,
            );
        });

        it("without the CLI, reads placeholders of the right shape and says the CLI is missing; no CLI is asked for a stack without secrets", () => {
            const empty = fs.mkdtempSync(path.join(tmp, "no-cli-"));
            const file = readStackConfigFile(dir, "sec", { PATH: empty });
            assert.deepStrictEqual(file.placeholders, ["capi-mgmt:gitops.deployKey", "capi-mgmt:gitops.sopsAgeKey"]);
            assert.match(JSON.parse(file.config["capi-mgmt:gitops"]).deployKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
            const fake = cli({ FAKE_PULUMI_FAIL: "must not be asked" });
            assert.doesNotThrow(() => readStackConfigFile(PROJECT_DIR, "dev", fake.env));
            assert.ok(!fs.existsSync(fake.log), "the CLI was run for a stack without secure values");
        });

        it("renders with the CLI, and without it from placeholders, saying plainly what is missing", async () => {
            const withCli = await renderStackReport({ stack: "sec", outDir: path.join(dir, "out-a"), projectDir: dir, env: cli().env });
            assert.deepStrictEqual(
                withCli.warnings.filter((w) => /placeholder/.test(w)),
                [],
            );
            assert.ok(
                withCli.warnings.some((w) => /gitops\/topology\/ not written: .*real topology controller .*--topology/.test(w)),
                withCli.warnings.join("\n"),
            );
            assert.ok(withCli.files.some((f) => /sops-age/.test(f)));
            const without = await renderStackReport({
                stack: "sec",
                outDir: path.join(dir, "out-b"),
                projectDir: dir,
                env: { PATH: fs.mkdtempSync(path.join(tmp, "no-cli-")) },
            });
            assert.ok(
                without.warnings.some(
                    (w) =>
                        w ===
                        `secure values not decrypted: ${PULUMI_CLI_MISSING}; rendered with placeholders of the right shape: capi-mgmt:gitops.deployKey, capi-mgmt:gitops.sopsAgeKey`,
                ),
                without.warnings.join("\n"),
            );
            assert.match(PULUMI_CLI_MISSING, /Pulumi CLI \(`pulumi`\) is not installed/);
            const all = listFiles(path.join(dir, "out-a"))
                .map((f) => fs.readFileSync(path.join(dir, "out-a", f), "utf8"))
                .join("\n");
            assert.ok(!all.includes(deployKey.split("\n")[2]), "the deploy key was written out");
        });
    });
});
