/**
 * The replacement map's checks of one stack (test/replacementMap.<stack>.spec.ts run them,
 * one file per stack so that mocha's parallel workers share the ~45 renders of each).
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { DOC_STACKS, SETTINGS_DOC, settingsDocument, stackSection } from "../render/settingsDoc";
import { SettingEffect, settingsMap } from "../render/settingsMap";
import { Registration } from "../src/lifecycle/replacementMap";
import { PROJECT_DIR } from "./harness";

/** A registration (a custom resource in stack `s` of project `p`, default options) for the pure classifier tests. */
export function registration(name: string, type: string, inputs: Record<string, unknown>, extra: Partial<Registration> = {}): Registration {
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

/**
 * Settings whose rebuild of the server is the documented, deliberate way to rebuild it
 * (README): the map must show it (defect 4's guard against live workload clusters is
 * another check).
 */
const DELIBERATE: Readonly<Record<string, string>> = {
    serverGeneration: "the documented way to rebuild the management server",
};

/** Registers the replacement-map tests of `stack`. */
export function describeReplacementMap(stack: string): void {
    describe(`replacement map: every setting of stack ${stack} (mock engine)`, function () {
        // About 45 renders, one after the other (the mock engine is process-global).
        this.timeout(1800000);
        let effects: SettingEffect[] = [];

        before(async () => {
            effects = await settingsMap(stack);
        });

        it("classifies every change with a facts row", () => {
            const flagged = effects.flatMap((e) => e.changes.filter((c) => c.noFacts).map((c) => `${e.key}: ${c.type}`));
            assert.deepStrictEqual(flagged, [], "changes classified without facts");
        });

        it("renders every variant (each is a valid configuration)", () => {
            assert.deepStrictEqual(
                effects.filter((e) => e.invalid).map((e) => `${e.key}: ${e.invalid}`),
                [],
            );
        });

        it("lets no setting lose the server, its port, volume, floating IP, association or the kind step, or delete a Namespace or Flux object, unless the gate refuses it naming the setting", () => {
            const unguarded: string[] = [];
            for (const e of effects.filter((x) => x.dangers.length > 0 && !DELIBERATE[x.key])) {
                const top = e.key.includes(":") ? e.key : `capi-mgmt:${e.key.split(/[.[]/)[0]}`;
                const named = e.refusals.some((r) => r.startsWith(top) && /serverGeneration|Set it back/.test(r));
                if (!named) {
                    unguarded.push(
                        `${e.key} (${e.change}): ${e.dangers.join("; ")}${e.refusals.length ? ` [refused only as: ${e.refusals.join(" | ")}]` : ""}`,
                    );
                }
            }
            assert.deepStrictEqual(unguarded, []);
        });

        it("shows the deliberate rebuild for what it is: a new server and port, the old ones deleted", () => {
            const e = effects.find((x) => x.key === "serverGeneration")!;
            assert.ok(
                e.dangers.some((d) => /management server .* is deleted/.test(d)),
                e.dangers.join("; "),
            );
            assert.ok(e.changes.some((c) => c.action === "create" && c.type === "openstack:compute/instance:Instance"));
        });

        it(`matches its section of the checked-in ${SETTINGS_DOC} (regenerate: npm run docs:settings)`, () => {
            const doc = fs.readFileSync(path.join(PROJECT_DIR, SETTINGS_DOC), "utf8");
            const stale = `${SETTINGS_DOC} is out of date: run npm run docs:settings`;
            assert.ok(doc.startsWith(settingsDocument([])), stale);
            assert.deepStrictEqual(
                [...doc.matchAll(/^## Stack `([^`]+)`$/gm)].map((m) => m[1]),
                [...DOC_STACKS],
                stale,
            );
            const section = stackSection(stack, effects);
            const start = doc.indexOf(`## Stack \`${stack}\``);
            const next = doc.indexOf("\n## Stack `", start + 1);
            assert.strictEqual(doc.slice(start, next === -1 ? undefined : next), section, stale);
        });
    });
}
