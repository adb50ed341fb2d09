/**
 * The CEL rules (`x-kubernetes-validations`) of ClusterClass variables that the tree reader
 * evaluates (render/gitopsTree.ts): only the forms the tree uses, anything else refused.
 */
import type { VariableSchema } from "./gitopsTree";
import { TreeError } from "./treeError";

/** `!(self.<field> in ['a', 'b']) || has(self.<other>)`: values of a field that need another field set. */
const IMPLICATION_RULE = /^!\(self\.([A-Za-z_]\w*) in \[((?:'[^'\\]*'(?:, )?)+)\]\) \|\| has\(self\.([A-Za-z_]\w*)\)$/;

/**
 * The CEL rules (`x-kubernetes-validations`) on `value` and below, of the forms the tree
 * uses besides transition rules: `!self.contains('<text>')` on a string, and on an object
 * `!(self.<field> in ['<a>', ...]) || has(self.<other>)`. Transition rules
 * (with `oldSelf`) are left to `transitionProblems` (render/gitopsTree.ts); any other rule is refused loudly
 * rather than misread.
 */
export function celProblems(value: unknown, schema: VariableSchema, at: string): string[] {
    const out: string[] = [];
    for (const rule of schema["x-kubernetes-validations"] ?? []) {
        if (/\boldSelf\b/.test(rule.rule)) {
            continue;
        }
        const m = /^!self\.contains\('([^'\\]*)'\)$/.exec(rule.rule);
        const implication = IMPLICATION_RULE.exec(rule.rule);
        if (m) {
            if (typeof value === "string" && value.includes(m[1])) {
                out.push(`${at}: ${rule.message ?? `failed rule: ${rule.rule}`}`);
            }
        } else if (implication) {
            // On a schema-valid object whose `field` is required (CEL would fail on a missing one).
            const [, field, list, other] = implication;
            const o = value as Record<string, unknown>;
            const listed = [...list.matchAll(/'([^'\\]*)'/g)].map((x) => x[1]);
            if (!(schema.required as string[] | undefined)?.includes(field)) {
                throw new TreeError(`${at}: CEL rule ${JSON.stringify(rule.rule)} reads ${field}, which the schema does not require`);
            }
            if (listed.includes(o[field] as string) && !(other in o)) {
                out.push(`${at}: ${rule.message ?? `failed rule: ${rule.rule}`}`);
            }
        } else {
            throw new TreeError(`${at}: CEL rule ${JSON.stringify(rule.rule)} is not understood by the tree reader`);
        }
    }
    if (Array.isArray(value) && schema.items) {
        value.forEach((v, i) => out.push(...celProblems(v, schema.items!, `${at}[${i}]`)));
    } else if (value !== null && typeof value === "object" && schema.properties) {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
            if (schema.properties[k]) out.push(...celProblems(v, schema.properties[k], `${at}.${k}`));
        }
    }
    return out;
}
