import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { parseResourcesDocument, planChanges, planLines, registrationsOf, ResourcesDocument } from "../src/lifecycle/plan";
import { planStack } from "../render/plan";
import { renderStackReport } from "../render/render";
import { PROJECT_DIR } from "./harness";

/** Runs a command of render/ in a child process, as `npm run` does. */
function cli(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
    return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(PROJECT_DIR, "render", script), ...args], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
    });
}

/** A project directory holding Pulumi.dev.yaml with `settings` (capi-mgmt keys) set. */
function devWith(tmp: string, settings: Record<string, unknown>): string {
    const dir = fs.mkdtempSync(path.join(tmp, "project-"));
    const doc = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
    for (const [k, v] of Object.entries(settings)) {
        doc.config[`capi-mgmt:${k}`] = v;
    }
    fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), toYaml(doc));
    return dir;
}

/** The plan's per-resource lines, as `action Type name`. */
function actions(lines: string[]): string[] {
    return lines.filter((l) => /^ {2}(create|update|replace|delete) /.test(l)).map((l) => l.trim().split(":")[0].replace(/ +/, " "));
}

describe("plan: src/lifecycle/plan.ts (pure)", () => {
    const doc = (inputs: Record<string, unknown>, name = "fip"): ResourcesDocument => ({
        stack: "s",
        resources: [
            { type: "capi-mgmt:index:Top", name: "top", parent: null, dependsOn: [], options: {}, inputs: {} },
            { type: "capi-mgmt:index:Server", name: "server", parent: "capi-mgmt:index:Top::top", dependsOn: [], options: {}, inputs: {} },
            { type: "openstack:networking/floatingIp:FloatingIp", name, parent: "capi-mgmt:index:Server::server", dependsOn: [], options: {}, inputs },
        ],
    });

    it("identifies a resource by its ancestors' whole type chain and its name, as the engine's URN does", () => {
        assert.deepStrictEqual(
            registrationsOf(doc({})).map((r) => r.urn),
            [
                "capi-mgmt:index:Top::top",
                "capi-mgmt:index:Top$capi-mgmt:index:Server::server",
                "capi-mgmt:index:Top$capi-mgmt:index:Server$openstack:networking/floatingIp:FloatingIp::fip",
            ],
        );
    });

    it("names the replace-forcing input and its source; a new name is a create and a delete, paired", () => {
        const replaced = planLines(planChanges(doc({ pool: "a" }), doc({ pool: "b" })));
        assert.match(
            replaced[0],
            /^ {2}replace FloatingIp fip: pool \("a" → "b"\) forces a replacement: ForceNew in the provider \(terraform-provider-openstack v1\.54\.1 openstack\/resource_openstack_networking_floatingip_v2\.go\)$/,
        );
        const renamed = planLines(planChanges(doc({ pool: "a" }), doc({ pool: "a" }, "fip-2")));
        assert.deepStrictEqual(actions(renamed), ["create FloatingIp fip-2", "delete FloatingIp fip"]);
        assert.match(renamed[1], /delete +FloatingIp fip: replaced by fip-2 \(a new logical name\)/);
    });

    it('cannot see a secret change: equal by redaction, reported as "may change"', () => {
        const lines = planLines(planChanges(doc({ pool: "a", description: "[secret]" }), doc({ pool: "a", description: "[secret]" })));
        assert.deepStrictEqual(lines, [
            "no changes",
            'may change: secret inputs are compared as "[secret]" only, so a change of a secret value (a rotated key, a new password) is not seen; each would update or replace as its input decides:',
            "  description: FloatingIp fip",
            "summary: 0 to create, 0 to update, 0 to replace, 0 to delete, 1 unchanged",
        ]);
    });

    it("refuses a file that is not a render's resources.json, naming it", () => {
        assert.throws(() => parseResourcesDocument("{", "x/resources.json"), /^Error: x\/resources\.json: not JSON/);
        assert.throws(
            () => parseResourcesDocument('{"stack":"dev"}', "x/resources.json"),
            /x\/resources\.json: not a resources\.json written by `npm run render`/,
        );
    });
});

describe("plan: npm run plan between two renders of dev (modelled)", function () {
    this.timeout(600000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-plan-"));
    const base = path.join(tmp, "base");

    before(async () => {
        await renderStackReport({ stack: "dev", outDir: base });
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it('prints "no changes" for the same config, says it is modelled first, and lists secrets as "may change"', async () => {
        const { lines, refused } = await planStack({ stack: "dev", against: base });
        assert.match(
            lines[0],
            /^modelled under the mock engine, not proven: what `pulumi up` on stack dev's current config would do, compared with the render in /,
        );
        assert.ok(lines.includes("no changes"), lines.join("\n"));
        assert.match(lines.find((l) => l.startsWith("  connection: "))!, /Command kind-cluster/);
        // userData is ignored after creation: a secret there cannot change anything.
        assert.ok(!lines.some((l) => l.startsWith("  userData: ")), lines.join("\n"));
        assert.match(lines[lines.length - 1], /^summary: 0 to create, 0 to update, 0 to replace, 0 to delete, \d+ unchanged$/);
        assert.strictEqual(refused, false);
    });

    it("a new teardownTimeoutMinutes updates the teardown step only", async () => {
        const { lines } = await planStack({ stack: "dev", against: base, projectDir: devWith(tmp, { teardownTimeoutMinutes: 45 }) });
        // return-to-kind bounds its deletion by the same timeout; it has no update command, so its new stdin runs nothing.
        assert.deepStrictEqual(actions(lines), ["update Command workload-teardown", "update Command return-to-kind"], lines.join("\n"));
        assert.match(lines.find((l) => l.includes("workload-teardown"))!, /changed: stdin; in place, but stdin: runs the step's script again on the server/);
        assert.match(lines[lines.length - 1], /^summary: 0 to create, 2 to update, 0 to replace, 0 to delete, \d+ unchanged$/);
    });

    it("a new serverGeneration creates server-g2 and port-g2, deletes the old ones, and replaces what runs on the server, with the reasons", async () => {
        const { lines, refused } = await planStack({ stack: "dev", against: base, projectDir: devWith(tmp, { serverGeneration: 2 }) });
        const text = lines.join("\n");
        assert.strictEqual(refused, false);
        assert.match(text, /\n {2}create +Port port-g2: a new logical name \(was port\): Pulumi creates it and deletes port\n/);
        assert.match(text, /\n {2}create +Instance server-g2: a new logical name \(was server\)/);
        assert.match(text, /\n {2}delete +Port port: replaced by port-g2 \(a new logical name\)\n/);
        assert.match(text, /\n {2}delete +Instance server: replaced by server-g2/);
        assert.match(
            text,
            /\n {2}update +FloatingIpAssociate floating-ip-association: changed: portId \("port-id" → "port-g2-id"; taken from Port port-g2 \(created\): known only once it exists\)\n/,
        );
        assert.match(
            text,
            /\n {2}replace Command kind-cluster: triggers \(\["server-id"\] → \["server-g2-id"\]; taken from Instance server-g2 \(created\): known only once it exists\) forces a replacement: the replaceOnChanges option; the old one is deleted first \(deleteBeforeReplace\)\n/,
        );
        // Known only once the replaced step has run: the provider, and with it every object it manages.
        assert.match(
            text,
            /\n {2}replace kubernetes management-cluster: kubeconfig \(taken from Command kubeconfig \(replaced\): known only once it exists\) forces a replacement/,
        );
        assert.match(
            text,
            /\n {2}replace Kustomization kustomization: its provider management-cluster is replaced .*; the old one is kept in the cloud or cluster \(retainOnDelete\)\n/,
        );
        assert.match(text, /\ndanger: the management server \(and its boot volume\) \(server\) is deleted\n/);
        const count = (a: string) => actions(lines).filter((x) => x.startsWith(`${a} `)).length;
        assert.match(
            lines[lines.length - 1],
            new RegExp(
                `^summary: ${count("create")} to create, ${count("update")} to update, ${count("replace")} to replace, ${count("delete")} to delete, \\d+ unchanged$`,
            ),
        );
        assert.ok(count("create") >= 3 && count("delete") >= 3 && count("replace") > 10, text);
    });

    it("says first when the gate, taking the previous render as deployed, would refuse the change, then what it would do", async () => {
        const { lines, refused } = await planStack({ stack: "dev", against: base, projectDir: devWith(tmp, { nodeCidr: "10.0.1.0/24" }) });
        const text = lines.join("\n");
        assert.strictEqual(refused, true);
        assert.match(
            lines[1],
            /^pulumi up would refuse this run \(the lifecycle gate, taking the previous render as what is deployed\): nothing would change; were it applied:\n {2}- capi-mgmt:nodeCidr: changing it from "10\.0\.0\.0\/24" to "10\.0\.1\.0\/24"/,
        );
        assert.match(text, /\n {2}replace Subnet subnet: cidr \("10\.0\.0\.0\/24" → "10\.0\.1\.0\/24"\) forces a replacement: ForceNew in the provider/);
    });

    it("with --deployed alone: the gate's verdict and what the recorded state says changes, and that nothing else is modelled", async () => {
        const file = path.join(tmp, "deployed.json");
        fs.writeFileSync(file, JSON.stringify((JSON.parse(fs.readFileSync(path.join(base, "outputs.json"), "utf8")) as { deployed: unknown }).deployed));
        const { lines } = await planStack({ stack: "dev", deployed: file, projectDir: devWith(tmp, { serverGeneration: 2 }) });
        const text = lines.join("\n");
        assert.match(lines[0], /^modelled under the mock engine, not proven: .* compared with the `deployed` output in /);
        assert.match(text, /\nthe lifecycle gate lets this run through/);
        assert.match(text, /no other input is in it, so no per-resource plan: render the config the stack was deployed with and use --against/);
        assert.match(text, /\n {2}serverGeneration: 1 → 2: a new port and server of the new generation .*\(creates port-g2, server-g2\)/);
        assert.doesNotMatch(text, /^ {2}(create|update|replace|delete) /m);
    });

    it("refuses a bad --against directory with a clear error naming it", async () => {
        const missing = path.join(tmp, "no-such-render");
        await assert.rejects(planStack({ stack: "dev", against: missing }), new RegExp(`^Error: --against ${missing}: no such directory`));
        const empty = fs.mkdtempSync(path.join(tmp, "empty-"));
        await assert.rejects(planStack({ stack: "dev", against: empty }), new RegExp(`^Error: --against ${empty}: it holds no resources\\.json`));
        fs.writeFileSync(path.join(empty, "resources.json"), "[]");
        await assert.rejects(planStack({ stack: "dev", against: empty }), /resources\.json: not a resources\.json written by `npm run render`/);
        const broken = fs.mkdtempSync(path.join(tmp, "broken-"));
        fs.copyFileSync(path.join(base, "resources.json"), path.join(broken, "resources.json"));
        fs.writeFileSync(path.join(broken, "outputs.json"), "{");
        await assert.rejects(planStack({ stack: "dev", against: broken }), new RegExp(`^Error: --against ${path.join(broken, "outputs.json")}: not JSON`));
        const r = cli("plan.ts", ["--stack", "prod", "--against", base]);
        assert.strictEqual(r.status, 1);
        assert.strictEqual(r.stderr.trim(), `plan failed: --against ${base}: a render of stack dev, not prod`);
        assert.strictEqual(r.stdout, "");
    });
});

describe("plan and render: --help", () => {
    for (const [script, usage] of [
        ["plan.ts", /^usage: npm run plan -- --stack <name> \(--against <dir> \| --deployed <file>\)\n/],
        ["render.ts", /^usage: npm run render -- --stack <name> \[--out <dir>\] \[--deployed <file>\] \[--map\] \[--topology\]\n/],
    ] as const) {
        it(`${script} --help prints the usage and exits 0, writing nothing`, () => {
            const r = cli(script, ["--help"]);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stdout, usage);
            assert.match(r.stdout, /--help +this text/);
            assert.strictEqual(r.stderr, "");
        });
    }
});
