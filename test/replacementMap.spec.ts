import "mocha";
import * as assert from "assert";
import { REPLACEMENT_FACTS, needsFacts } from "../src/lifecycle/replacementFacts";
import { classifyChanges, dangersOf, Registration } from "../src/lifecycle/replacementMap";
import { readStackConfigFile } from "../render/render";
import { DOC_STACKS } from "../render/settingsDoc";
import { declaredSettingKeys, settingVariants } from "../render/settingVariants";
import { PROJECT_DIR, runStack } from "./harness";
import { registration as reg } from "./replacementMapChecks";

describe("replacement map: src/lifecycle/replacementMap.ts classifies (pure)", () => {
    const FIP = "openstack:networking/floatingIp:FloatingIp";
    const ASSOC = "openstack:networking/floatingIpAssociate:FloatingIpAssociate";

    it("an input the provider marks ForceNew replaces; any other updates; nothing changed is the same", () => {
        const a = reg("fip", FIP, { pool: "public", description: "x" });
        const changes = (inputs: Record<string, unknown>) => classifyChanges([a], [{ ...a, inputs }])[0];
        assert.deepStrictEqual(changes({ pool: "public-2", description: "x" }), {
            urn: a.urn,
            type: FIP,
            name: "fip",
            action: "replace",
            keys: ["pool"],
            deleteFirst: false,
            retained: false,
        });
        assert.strictEqual(changes({ pool: "public", description: "y" }).action, "update");
        assert.strictEqual(changes({ pool: "public", description: "x" }).action, "same");
    });

    it("ignoreChanges keeps the old value; replaceOnChanges forces a replacement", () => {
        const a = reg(
            "fip",
            FIP,
            { pool: "public", description: "x" },
            { options: { ignoreChanges: ["pool"], replaceOnChanges: ["description"], deleteBeforeReplace: true, retainOnDelete: false } },
        );
        const ignored = classifyChanges([a], [{ ...a, inputs: { pool: "public-2", description: "x" } }])[0];
        assert.deepStrictEqual(ignored.action === "same" && ignored.ignored, ["pool"]);
        const forced = classifyChanges([a], [{ ...a, inputs: { pool: "public", description: "y" } }])[0];
        assert.ok(forced.action === "replace" && forced.deleteFirst && forced.keys[0] === "description", JSON.stringify(forced));
    });

    it("an input taken from a replaced resource is changed (a new ID), and may replace in turn", () => {
        const fip = reg("fip", FIP, { pool: "public" });
        const assoc = reg("assoc", ASSOC, { floatingIp: "192.0.2.10", portId: "p" }, { propertyDependencies: { floatingIp: [fip.urn] } });
        const changes = classifyChanges([fip, assoc], [{ ...fip, inputs: { pool: "other" } }, assoc]);
        assert.deepStrictEqual(
            changes.map((c) => [c.name, c.action]),
            [
                ["fip", "replace"],
                ["assoc", "replace"],
            ],
        );
        assert.deepStrictEqual(dangersOf(changes).length, 2);
    });

    it("an input taken from an updated command's output is unknown in a preview: what it triggers is replaced, only if that output changes", () => {
        // Found by the real engine (test/integration/openstackEngine.integration.ts, versions.nodeImage):
        // pulumi-command marks stdout unknown when a Command is updated during a preview.
        const CMD = "command:remote:Command";
        const kind = reg("kind-cluster", CMD, { create: "kind v1" });
        const kubeconfig = reg("kubeconfig", CMD, { create: "cat", triggers: ["id-1"] }, { propertyDependencies: { triggers: [kind.urn] } });
        const prov = reg("k", "pulumi:providers:kubernetes", { kubeconfig: "k1" }, { propertyDependencies: { kubeconfig: [kubeconfig.urn] } });
        const secret = reg(
            "s",
            "kubernetes:core/v1:Secret",
            { metadata: { name: "s" } },
            { options: { provider: `${prov.urn}::id` } as Registration["options"] },
        );
        const other = reg("other", CMD, { create: "echo" }, { dependsOn: [kind.urn] } as Partial<Registration>);
        const changes = classifyChanges([kind, kubeconfig, prov, secret, other], [{ ...kind, inputs: { create: "kind v2" } }, kubeconfig, prov, secret, other]);
        assert.deepStrictEqual(
            changes.map((c) => [c.name, c.action, c.action === "replace" || c.action === "update" ? (c.onlyIf ?? []) : []]),
            [
                ["kind-cluster", "update", []],
                ["kubeconfig", "replace", ["Command kind-cluster"]],
                ["k", "replace", ["Command kind-cluster"]],
                ["s", "replace", ["Command kind-cluster"]],
                ["other", "same", []],
            ],
        );
        // A value that really changed besides makes it unconditional.
        const both = classifyChanges(
            [kind, kubeconfig],
            [
                { ...kind, inputs: { create: "kind v2" } },
                { ...kubeconfig, inputs: { create: "cat", triggers: ["id-2"] } },
            ],
        );
        assert.deepStrictEqual(both[1].action === "replace" && both[1].onlyIf, undefined);
        // Its other inputs, changed for certain, are updated when that output stays the same.
        const stdin = classifyChanges(
            [kind, kubeconfig],
            [
                { ...kind, inputs: { create: "kind v2" } },
                { ...kubeconfig, inputs: { create: "cat2", triggers: ["id-1"] } },
            ],
        );
        assert.deepStrictEqual(stdin[1].action === "replace" && [stdin[1].onlyIf, stdin[1].elseUpdates], [["Command kind-cluster"], ["create"]]);
        // A replaced command's dependents stay unconditional.
        const replaced = classifyChanges([kind, kubeconfig], [{ ...kind, inputs: { create: "kind v1", triggers: ["new"] } }, kubeconfig]);
        assert.deepStrictEqual(replaced[1].action === "replace" && replaced[1].onlyIf, undefined);
    });

    it("a new logical name is a create and a delete; a retained delete deletes nothing", () => {
        const ns = reg("ns", "kubernetes:core/v1:Namespace", { metadata: { name: "a" } }, { options: { retainOnDelete: true } as Registration["options"] });
        const changes = classifyChanges([ns], [{ ...ns, urn: `${ns.urn}-2`, name: "ns-2" }]);
        assert.deepStrictEqual(
            changes.map((c) => c.action),
            ["create", "delete"],
        );
        assert.deepStrictEqual(dangersOf(changes), []);
        const unretained = { ...ns, options: { ...ns.options, retainOnDelete: false } };
        assert.match(dangersOf(classifyChanges([unretained], []))[0], /^Namespace ns is deleted/);
    });

    it("a replaced provider replaces what it manages; a type without facts is flagged", () => {
        const prov = reg("k", "pulumi:providers:kubernetes", { kubeconfig: "a" });
        const secret = reg(
            "s",
            "kubernetes:core/v1:Secret",
            { metadata: { name: "s" } },
            { options: { provider: `${prov.urn}::id` } as Registration["options"] },
        );
        const changes = classifyChanges([prov, secret], [{ ...prov, inputs: { kubeconfig: "b" } }, secret]);
        assert.deepStrictEqual(
            changes.map((c) => c.action === "replace" && c.keys),
            [["kubeconfig"], ["provider"]],
        );
        assert.strictEqual(classifyChanges([], [reg("x", "example:index:Unknown", {})])[0].noFacts, true);
    });
});

describe("replacement map: coverage of settings and resource types", function () {
    this.timeout(300000);

    it("has one variant for every setting the config module declares, and none for an unknown one", () => {
        const declared = declaredSettingKeys();
        for (const k of ["gitops.workloadNamespace", "existingNetwork.subnet", "versions.nodeImage", "registryMirrors[].endpoints", "openstack:cloud"]) {
            assert.ok(declared.includes(k), `the key derivation misses ${k}`);
        }
        for (const stack of DOC_STACKS) {
            const keys = settingVariants(stack, readStackConfigFile(PROJECT_DIR, stack, {}).config).map((v) => v.key);
            assert.deepStrictEqual(
                declared.filter((k) => !keys.includes(k)),
                [],
                `${stack}: settings without a variant`,
            );
            assert.deepStrictEqual(
                keys.filter((k) => !declared.includes(k)),
                [],
                `${stack}: variants of unknown settings`,
            );
            assert.strictEqual(new Set(keys).size, keys.length, `${stack}: a setting has two variants`);
        }
    });

    it("has a facts row for every resource type the program registers", async () => {
        for (const stack of DOC_STACKS) {
            const run = await runStack(stack, {
                proxy: JSON.stringify({ http: "http://proxy.example:3128" }),
                registryMirrors: JSON.stringify([{ registry: "docker.io", endpoints: ["https://m.example"] }]),
            });
            const types = [...new Set(run.resources.filter((r) => needsFacts(r.type, r.custom)).map((r) => r.type))];
            assert.deepStrictEqual(
                types.filter((t) => !REPLACEMENT_FACTS[t]),
                [],
                `${stack}: types without a row in src/lifecycle/replacementFacts.ts`,
            );
        }
    });
});
