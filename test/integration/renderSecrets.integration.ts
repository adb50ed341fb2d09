/**
 * Render opens a stack's secrets through the real Pulumi CLI (render/secrets.ts): the CLI the
 * test bed builds (testbed/pulumi/build.sh) sets them with `pulumi config set --secret --path`
 * on a passphrase stack in a file backend, and render reads them back with
 * `pulumi config --show-secrets --json` exactly as they were set; a wrong passphrase fails with
 * the CLI's words. No plugin, no program run: only the CLI's config commands.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { mockOpensshKeyPair } from "../../render/mockCloud";
import { readStackConfigFile, renderStackReport } from "../../render/render";
import { EngineBed, EngineHome } from "./engineBed";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");

describe("render's secrets through the real Pulumi CLI", function () {
    const AGE_KEY = `AGE-SECRET-KEY-1${"P".repeat(58)}`;
    const deployKey = mockOpensshKeyPair("a deploy key set with the real CLI").privateKeyOpenssh;
    let home: EngineHome | undefined;
    let env: NodeJS.ProcessEnv;

    /** Runs the test bed's CLI in the stack's project directory; fails the test on a non-zero exit. */
    function pulumi(h: EngineHome, ...args: string[]): string {
        const r = spawnSync(h.cli, args, { cwd: h.workDir, env: h.env(), encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] });
        assert.strictEqual(r.status, 0, `pulumi ${args.join(" ")}: ${r.stderr}${r.stdout}${r.error ?? ""}`);
        return r.stdout;
    }

    before(function () {
        const bed = EngineBed.load();
        const missing = typeof bed === "string" ? bed : bed.missing(["pulumi"]);
        if (missing || typeof bed === "string") {
            console.log(`      SKIPPED: ${missing}`);
            this.skip();
        }
        const h = EngineHome.create(bed, {}, []);
        home = h;
        fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(h.workDir, "Pulumi.yaml"));
        pulumi(h, "stack", "init", "sec", "--secrets-provider", "passphrase");
        // The dev stack's settings under the salt `stack init` wrote, then the secrets as a user sets them.
        const file = path.join(h.workDir, "Pulumi.sec.yaml");
        const created = parseYaml(fs.readFileSync(file, "utf8")) as { encryptionsalt: string };
        const dev = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
        fs.writeFileSync(file, toYaml({ encryptionsalt: created.encryptionsalt, config: dev.config }));
        // "--": the key starts with dashes.
        pulumi(h, "config", "set", "--secret", "--path", "--", "capi-mgmt:gitops.deployKey", deployKey);
        pulumi(h, "config", "set", "--secret", "--path", "capi-mgmt:gitops.sopsAgeKey", AGE_KEY);
        const written = fs.readFileSync(file, "utf8");
        assert.ok(!written.includes(AGE_KEY) && /sopsAgeKey:\n\s+secure: v1:/.test(written), written);
        // The CLI on PATH, as a user has it, with the stack's passphrase and backend.
        env = { ...h.env(), PATH: `${path.dirname(h.cli)}:${process.env.PATH ?? "/usr/bin:/bin"}` };
    });

    after(() => home?.dispose());

    it("reads the secure values the CLI set, as the engine hands them over: the object with its leaves opened, the key secret", () => {
        const file = readStackConfigFile(home!.workDir, "sec", env);
        const gitops = JSON.parse(file.config["capi-mgmt:gitops"]) as Record<string, unknown>;
        assert.strictEqual(gitops.deployKey, deployKey);
        assert.strictEqual(gitops.sopsAgeKey, AGE_KEY);
        assert.strictEqual(gitops.url, "ssh://git@github.com/example-org/capi-gitops");
        assert.deepStrictEqual(file.secretKeys, ["capi-mgmt:gitops"]);
        assert.deepStrictEqual(file.placeholders, []);
    });

    it("renders with them: no placeholder, the SOPS key's Secret written, no secret in the output", async () => {
        const out = path.join(home!.dir, "rendered");
        const report = await renderStackReport({ stack: "sec", outDir: out, projectDir: home!.workDir, env });
        assert.deepStrictEqual(
            report.warnings.filter((w) => /placeholder|not decrypted/.test(w)),
            [],
        );
        assert.ok(
            report.files.some((f) => /sops-age/.test(f)),
            report.files.join("\n"),
        );
        const all = report.files.map((f) => fs.readFileSync(path.join(out, f), "utf8")).join("\n");
        assert.ok(!all.includes(AGE_KEY) && !all.includes(deployKey.split("\n")[2]), "a secret was written out");
    });

    it("fails with the CLI's words on a wrong passphrase, naming the stack file", () => {
        assert.throws(
            () => readStackConfigFile(home!.workDir, "sec", { ...env, PULUMI_CONFIG_PASSPHRASE: "not the passphrase" }),
            (e: Error) =>
                e.message.startsWith(`${path.join(home!.workDir, "Pulumi.sec.yaml")}: cannot open its secure values: pulumi config`) &&
                /incorrect passphrase/.test(e.message),
        );
    });
});
