import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { REPLACEMENT_FACTS, needsFacts } from "../lib/replacementFacts";
import { classifyChanges, dangersOf, Registration } from "../lib/replacementMap";
import { readStackConfigFile } from "../render/render";
import { SETTINGS_DOC, settingsDocument, DOC_STACKS } from "../render/settingsDoc";
import { SettingEffect, settingsMap } from "../render/settingsMap";
import { declaredSettingKeys, settingVariants } from "../render/settingVariants";
import { PROJECT_DIR, runStack } from "./harness";

/**
 * Settings whose rebuild of the server is the documented, deliberate way to rebuild it
 * (README): the map must show it, and the gate lets it through (defect 4's guard against
 * live workload clusters is another check).
 */
const DELIBERATE: Readonly<Record<string, string>> = {
    serverGeneration: "the documented way to rebuild the management server",
};

/** A registration for the pure classifier tests. */
function reg(name: string, type: string, inputs: Record<string, unknown>, extra: Partial<Registration> = {}): Registration {
    return {
        urn: `urn:pulumi:s::p::${type}::${name}`,
        type,
        name,
        custom: true,
        inputs,
        propertyDependencies: {},
        ...extra,
        options: { ignoreChanges: [], replaceOnChanges: [], deleteBeforeReplace: false, retainOnDelete: false, ...extra.options },
    };
}

describe("replacement map: lib/replacementMap.ts classifies (pure)", () => {
    const FIP = "openstack:networking/floatingIp:FloatingIp";
    const ASSOC = "openstack:networking/floatingIpAssociate:FloatingIpAssociate";

    it("an input the provider marks ForceNew replaces; any other updates; nothing changed is the same", () => {
        const a = reg("fip", FIP, { pool: "public", description: "x" });
        const changes = (inputs: Record<string, unknown>) => classifyChanges([a], [{ ...a, inputs }])[0];
        assert.deepStrictEqual(changes({ pool: "public-2", description: "x" }), { urn: a.urn, type: FIP, name: "fip", action: "replace", keys: ["pool"], deleteFirst: false, retained: false });
        assert.strictEqual(changes({ pool: "public", description: "y" }).action, "update");
        assert.strictEqual(changes({ pool: "public", description: "x" }).action, "same");
    });

    it("ignoreChanges keeps the old value; replaceOnChanges forces a replacement", () => {
        const a = reg("fip", FIP, { pool: "public", description: "x" }, { options: { ignoreChanges: ["pool"], replaceOnChanges: ["description"], deleteBeforeReplace: true, retainOnDelete: false } });
        const ignored = classifyChanges([a], [{ ...a, inputs: { pool: "public-2", description: "x" } }])[0];
        assert.deepStrictEqual(ignored.action === "same" && ignored.ignored, ["pool"]);
        const forced = classifyChanges([a], [{ ...a, inputs: { pool: "public", description: "y" } }])[0];
        assert.ok(forced.action === "replace" && forced.deleteFirst && forced.keys[0] === "description", JSON.stringify(forced));
    });

    it("an input taken from a replaced resource is changed (a new ID), and may replace in turn", () => {
        const fip = reg("fip", FIP, { pool: "public" });
        const assoc = reg("assoc", ASSOC, { floatingIp: "192.0.2.10", portId: "p" }, { propertyDependencies: { floatingIp: [fip.urn] } });
        const changes = classifyChanges([fip, assoc], [{ ...fip, inputs: { pool: "other" } }, assoc]);
        assert.deepStrictEqual(changes.map((c) => [c.name, c.action]), [["fip", "replace"], ["assoc", "replace"]]);
        assert.deepStrictEqual(dangersOf(changes).length, 2);
    });

    it("a new logical name is a create and a delete; a retained delete deletes nothing", () => {
        const ns = reg("ns", "kubernetes:core/v1:Namespace", { metadata: { name: "a" } }, { options: { retainOnDelete: true } as Registration["options"] });
        const changes = classifyChanges([ns], [{ ...ns, urn: `${ns.urn}-2`, name: "ns-2" }]);
        assert.deepStrictEqual(changes.map((c) => c.action), ["create", "delete"]);
        assert.deepStrictEqual(dangersOf(changes), []);
        const unretained = { ...ns, options: { ...ns.options, retainOnDelete: false } };
        assert.match(dangersOf(classifyChanges([unretained], []))[0], /^Namespace ns is deleted/);
    });

    it("a replaced provider replaces what it manages; a type without facts is flagged", () => {
        const prov = reg("k", "pulumi:providers:kubernetes", { kubeconfig: "a" });
        const secret = reg("s", "kubernetes:core/v1:Secret", { metadata: { name: "s" } }, { options: { provider: `${prov.urn}::id` } as Registration["options"] });
        const changes = classifyChanges([prov, secret], [{ ...prov, inputs: { kubeconfig: "b" } }, secret]);
        assert.deepStrictEqual(changes.map((c) => c.action === "replace" && c.keys), [["kubeconfig"], ["provider"]]);
        assert.strictEqual(classifyChanges([], [reg("x", "example:index:Unknown", {})])[0].noFacts, true);
    });
});

describe("replacement map: every setting of both stacks (mock engine)", function () {
    // About 45 renders per stack, one after the other (the mock engine is process-global).
    this.timeout(1800000);
    const maps: { stack: string; effects: SettingEffect[] }[] = [];

    before(async () => {
        for (const stack of DOC_STACKS) {
            maps.push({ stack, effects: await settingsMap(stack) });
        }
    });

    it("has one variant for every setting the config module declares, and none for an unknown one", () => {
        const declared = declaredSettingKeys();
        for (const k of ["gitops.workloadNamespace", "existingNetwork.subnet", "versions.nodeImage", "registryMirrors[].endpoints", "openstack:cloud"]) {
            assert.ok(declared.includes(k), `the key derivation misses ${k}`);
        }
        for (const stack of DOC_STACKS) {
            const keys = settingVariants(stack, readStackConfigFile(PROJECT_DIR, stack, {}).config).map((v) => v.key);
            assert.deepStrictEqual(declared.filter((k) => !keys.includes(k)), [], `${stack}: settings without a variant`);
            assert.deepStrictEqual(keys.filter((k) => !declared.includes(k)), [], `${stack}: variants of unknown settings`);
            assert.strictEqual(new Set(keys).size, keys.length, `${stack}: a setting has two variants`);
        }
    });

    it("has a facts row for every resource type the program registers", async () => {
        for (const stack of DOC_STACKS) {
            const run = await runStack(stack, { proxy: JSON.stringify({ http: "http://proxy.example:3128" }), registryMirrors: JSON.stringify([{ registry: "docker.io", endpoints: ["https://m.example"] }]) });
            const types = [...new Set(run.resources.filter((r) => needsFacts(r.type, r.custom)).map((r) => r.type))];
            assert.deepStrictEqual(types.filter((t) => !REPLACEMENT_FACTS[t]), [], `${stack}: types without a row in lib/replacementFacts.ts`);
        }
        for (const { stack, effects } of maps) {
            const flagged = effects.flatMap((e) => e.changes.filter((c) => c.noFacts).map((c) => `${e.key}: ${c.type}`));
            assert.deepStrictEqual(flagged, [], `${stack}: changes classified without facts`);
        }
    });

    it("renders every variant (each is a valid configuration)", () => {
        for (const { stack, effects } of maps) {
            assert.deepStrictEqual(effects.filter((e) => e.invalid).map((e) => `${e.key}: ${e.invalid}`), [], stack);
        }
    });

    it("lets no setting lose the server, its port, volume, floating IP, association or the kind step, or delete a Namespace or Flux object, unless the gate refuses it naming the setting", () => {
        const unguarded: string[] = [];
        for (const { stack, effects } of maps) {
            for (const e of effects.filter((x) => x.dangers.length > 0 && !DELIBERATE[x.key])) {
                const top = e.key.includes(":") ? e.key : `capi-mgmt:${e.key.split(/[.[]/)[0]}`;
                const named = e.refusals.some((r) => r.startsWith(top) && /serverGeneration|Set it back/.test(r));
                if (!named) {
                    unguarded.push(`${stack} ${e.key} (${e.change}): ${e.dangers.join("; ")}${e.refusals.length ? ` [refused only as: ${e.refusals.join(" | ")}]` : ""}`);
                }
            }
        }
        assert.deepStrictEqual(unguarded, []);
    });

    it("shows the deliberate rebuild for what it is: a new server and port, the old ones deleted", () => {
        for (const { stack, effects } of maps) {
            const e = effects.find((x) => x.key === "serverGeneration")!;
            assert.ok(e.dangers.some((d) => /management server .* is deleted/.test(d)), `${stack}: ${e.dangers.join("; ")}`);
            assert.ok(e.changes.some((c) => c.action === "create" && c.type === "openstack:compute/instance:Instance"), stack);
        }
    });

    it("matches the checked-in docs/settings-lifecycle.md (regenerate: npm run docs:settings)", () => {
        const checkedIn = fs.readFileSync(path.join(PROJECT_DIR, SETTINGS_DOC), "utf8");
        assert.strictEqual(checkedIn, settingsDocument(maps), `${SETTINGS_DOC} is out of date: run npm run docs:settings`);
    });
});
