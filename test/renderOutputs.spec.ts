import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEPLOYED_OUTPUT, DeployedState } from "../src/lifecycle/lifecycle";
import { REDACTED, valueOf } from "../render/engine";
import { renderStackReport } from "../render/render";
import { previousOutputsFromFile, replacementMapReport } from "../render/renderOutputs";
import { PROJECT_DIR, runStack } from "./harness";

/** Runs `npm run render`'s main with `args` in a child process, as the command line does. */
function renderCli(args: string[]): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } {
    return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(PROJECT_DIR, "render/render.ts"), ...args], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
    }) as ReturnType<typeof spawnSync> & { stdout: string; stderr: string };
}

describe("render: outputs.json and --deployed", function () {
    this.timeout(300000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-outputs-"));
    let deployed: DeployedState;

    before(async () => {
        deployed = await valueOf((await runStack("dev")).outputs.deployed);
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("writes the stack outputs as index.ts exports them, secrets redacted, deployed included", async () => {
        const out = path.join(tmp, "dev");
        const report = await renderStackReport({ stack: "dev", outDir: out });
        assert.ok(report.files.includes("outputs.json"));
        const outputs = JSON.parse(fs.readFileSync(path.join(out, "outputs.json"), "utf8")) as Record<string, unknown>;
        const exported = [...fs.readFileSync(path.join(PROJECT_DIR, "index.ts"), "utf8").matchAll(/^export const (\w+) = /gm)].map((m) => m[1]);
        assert.deepStrictEqual(Object.keys(outputs).sort(), exported.sort());
        assert.strictEqual(outputs.sshPrivateKey, REDACTED);
        assert.strictEqual(outputs.kubeconfig, REDACTED);
        assert.strictEqual(outputs.floatingIp, "192.0.2.10");
        assert.deepStrictEqual(outputs[DEPLOYED_OUTPUT], deployed);
        assert.doesNotMatch(fs.readFileSync(path.join(out, "outputs.json"), "utf8"), /PRIVATE KEY/);
    });

    it("fails with the gate's message when --deployed records a state the config may not change", () => {
        const file = path.join(tmp, "deployed-other.json");
        fs.writeFileSync(file, JSON.stringify({ ...deployed, prefix: "other", serverNetwork: { created: true, nodeCidr: "10.1.0.0/24" } }));
        const out = path.join(tmp, "refused");
        const r = renderCli(["--stack", "dev", "--out", out, "--deployed", file, "--no-map"]);
        assert.strictEqual(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /render failed: preflight refused this run \(2 problems\); nothing was created or changed:/);
        assert.match(r.stderr, /\n {2}- capi-mgmt:prefix: changing it from "other" to "dev"/);
        assert.match(r.stderr, /\n {2}- capi-mgmt:nodeCidr: changing it from "10.1.0.0\/24" to "10.0.0.0\/24"/);
        assert.doesNotMatch(r.stdout, /rendered stack/);
        assert.ok(!fs.existsSync(out), "output was written");
    });

    it("renders a later up of the recorded state (no image look-up) when the config keeps it", () => {
        const file = path.join(tmp, "deployed-same.json");
        fs.writeFileSync(file, JSON.stringify({ [DEPLOYED_OUTPUT]: deployed, floatingIp: "192.0.2.10" }));
        const out = path.join(tmp, "same");
        const r = renderCli(["--stack", "dev", "--out", out, "--deployed", file, "--no-map"]);
        assert.strictEqual(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /previousDeployment: as given/);
        const resources = JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")) as {
            resources: { type: string; inputs: Record<string, unknown> }[];
        };
        // A later up does not resolve the image (it is ignored after creation): the setting itself is passed.
        assert.strictEqual(resources.resources.find((x) => x.type === "openstack:compute/instance:Instance")!.inputs.imageId, "Ubuntu 24.04");
    });

    it("reads what `pulumi stack output --json deployed` prints, or all outputs; refuses anything else", () => {
        const one = path.join(tmp, "one.json");
        fs.writeFileSync(one, JSON.stringify(deployed));
        assert.deepStrictEqual(previousOutputsFromFile(one), { [DEPLOYED_OUTPUT]: deployed });
        const all = path.join(tmp, "all.json");
        fs.writeFileSync(all, JSON.stringify({ floatingIp: "192.0.2.10", [DEPLOYED_OUTPUT]: deployed }));
        assert.deepStrictEqual(previousOutputsFromFile(all), { floatingIp: "192.0.2.10", [DEPLOYED_OUTPUT]: deployed });
        const bad = path.join(tmp, "bad.json");
        fs.writeFileSync(bad, JSON.stringify({ prefix: "dev" }));
        assert.throws(() => previousOutputsFromFile(bad), /--deployed .*bad.json: not a `deployed` output/);
    });

    it("summarises the replacement map: what the gate refuses, and what replaces or deletes unguarded", () => {
        const report = replacementMapReport("dev", [
            {
                key: "prefix",
                change: "x",
                changes: [
                    {
                        urn: "u1",
                        type: "openstack:compute/keypair:Keypair",
                        name: "keypair",
                        action: "replace",
                        keys: ["name"],
                        deleteFirst: false,
                        retained: false,
                    },
                ],
                dangers: [],
                refusals: ["capi-mgmt:prefix: no"],
            },
            {
                key: "gitops.deployKey",
                change: "y",
                changes: [{ urn: "u2", type: "tls:index/privateKey:PrivateKey", name: "deploy-key", action: "delete", retained: false }],
                dangers: [],
                refusals: [],
            },
            {
                key: "flavor",
                change: "z",
                changes: [
                    {
                        urn: "u3",
                        type: "openstack:compute/instance:Instance",
                        name: "server",
                        action: "update",
                        keys: ["flavorName"],
                        disruptive: [],
                        ignored: [],
                    },
                ],
                dangers: [],
                refusals: [],
            },
        ]);
        assert.deepStrictEqual(report.lines, [
            "replacement map (3 settings; replacement-map.md has every one):",
            "  refused by preflight on a running server: prefix",
            "  gitops.deployKey: deletes PrivateKey deploy-key",
        ]);
        assert.match(report.markdown, /\| `flavor` \| z \| updates Instance server \(flavorName\) \|/);
    });
});
