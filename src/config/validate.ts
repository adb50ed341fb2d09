/**
 * Reads the raw stack values against the schema (./schema.ts): decodes each by its declared
 * type (strings trimmed, "" unset; numbers and booleans from text; objects and lists from
 * JSON), then validates the whole with ajv (allErrors: every problem at once) and words each
 * error from the schema's `x-errors` templates, naming its key.
 *
 * Placeholders of a template: `{value}` (the value, quoted as written), `{minimum}`,
 * `{maximum}` (from the schema node), `{defaulted}` (the node's `x-errors.defaulted` when the
 * value came from a default). Keyword `*` words any keyword without its own entry; an error
 * under a node without a wording climbs to the nearest ancestor that has one.
 */
import Ajv, { ErrorObject } from "ajv";
import { TSchema } from "@sinclair/typebox";
import { META_KEYWORDS, SETTINGS_SCHEMA, SettingMeta, Settings } from "./schema";
import { Problems, quote, RawConfig } from "./types";

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
for (const keyword of META_KEYWORDS) {
    ajv.addKeyword(keyword);
}
const check = ajv.compile(SETTINGS_SCHEMA);

type Node = TSchema & SettingMeta;

/** The decoded values, the raw text of each top-level scalar, and which keys failed validation. */
export interface Decoded {
    /** Values by key (only the keys that were set). */
    values: Partial<Settings> & Record<string, unknown>;
    /** Keys (dotted, `[i]` for list items) with a problem at or under them. */
    invalid: Set<string>;
    /** Keys (dotted) whose value has the wrong type: rules never see them. */
    mistyped: Set<string>;
}

/** Decodes `raw` and validates it; problems go to `problems`. `defaults` fill unset keys before validation (worded as defaulted). */
export function decodeAndValidate(raw: RawConfig, problems: Problems, defaults: Record<string, unknown> = {}): Decoded {
    const values: Record<string, unknown> = {};
    const text: Record<string, string> = {};
    const invalid = new Set<string>();
    const mistyped = new Set<string>();
    for (const [key, v] of Object.entries(raw)) {
        const node = SETTINGS_SCHEMA.properties[key as keyof Settings] as Node | undefined;
        if (node === undefined) {
            values[key] = v; // unknown, refused by the schema whatever its value
            continue;
        }
        if (v === undefined || v === "") {
            continue;
        }
        const s = v.trim();
        text[key] = s;
        const type = node.type;
        if (type === "integer") {
            values[key] = /^-?\d+$/.test(s) ? Number(s) : s;
        } else if (type === "boolean") {
            values[key] = s === "true" ? true : s === "false" ? false : s;
        } else if (type === "object" || type === "array") {
            try {
                values[key] = blankIsUnset(node, JSON.parse(s));
            } catch {
                problems.fail(key, `${quote(s)} is not valid structured config (expected a YAML list or object)`);
                invalid.add(key);
            }
        } else {
            values[key] = s;
        }
    }
    const defaulted = new Set<string>();
    for (const [key, v] of Object.entries(defaults)) {
        if (!(key in values) && !invalid.has(key)) {
            values[key] = v;
            defaulted.add(key);
        }
    }
    if (!check(values)) {
        for (const e of check.errors ?? []) {
            const worded = word(e, text, defaulted);
            if (worded) {
                problems.fail(worded.key, worded.message);
                invalid.add(worded.key);
                if (e.keyword === "type") {
                    mistyped.add(worded.key);
                }
            }
        }
    }
    for (const key of invalid) {
        // A problem under a key makes its value unusable; the top-level key is what rules look at.
        invalid.add(key.split(/[.[]/)[0]);
    }
    for (const key of defaulted) {
        delete values[key];
    }
    return { values: values as Decoded["values"], invalid, mistyped };
}

/** Properties that are null or "" dropped, strings trimmed, for a node marked `x-blank-is-unset`. */
function blankIsUnset(node: Node, v: unknown): unknown {
    if (!node["x-blank-is-unset"] || typeof v !== "object" || v === null || Array.isArray(v)) {
        return v;
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
        if (x !== null && x !== "") {
            out[k] = typeof x === "string" ? x.trim() : x;
        }
    }
    return out;
}

/** The key and wording of one ajv error, or undefined when a rule function words it (`x-rule`). */
function word(e: ErrorObject, text: Record<string, string>, defaulted: Set<string>): { key: string; message: string } | undefined {
    const segments = e.instancePath
        .split("/")
        .slice(1)
        .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    // The schema node of each instance path prefix (0: the root).
    const nodes: (Node | undefined)[] = [SETTINGS_SCHEMA as Node];
    for (const seg of segments) {
        const parent = nodes[nodes.length - 1];
        nodes.push(/^\d+$/.test(seg) && parent?.type === "array" ? parent.items : parent?.properties?.[seg]);
    }
    if (nodes.some((n) => n?.["x-rule"])) {
        return undefined;
    }
    const keyOf = (n: number) => segments.slice(0, n).reduce((k, seg) => (/^\d+$/.test(seg) ? `${k}[${seg}]` : k === "" ? seg : `${k}.${seg}`), "");
    const here = nodes[nodes.length - 1];
    if (e.keyword === "additionalProperties") {
        const prop = (e.params as { additionalProperty: string }).additionalProperty;
        const known = Object.keys(here?.properties ?? {}).join(", ");
        return { key: join(keyOf(segments.length), prop), message: `is not a known setting (known: ${known})` };
    }
    let at = nodes.length - 1;
    let node = here;
    let keyword = e.keyword;
    if (e.keyword === "required") {
        const prop = (e.params as { missingProperty: string }).missingProperty;
        const child = here?.properties?.[prop] as Node | undefined;
        const message = child?.["x-errors"]?.required ?? child?.["x-errors"]?.["*"] ?? "is required";
        return { key: join(keyOf(segments.length), prop), message };
    }
    if (e.keyword === "anyOf") {
        keyword = "type";
    }
    while (at > 0 && !(node?.["x-errors"]?.[keyword] ?? node?.["x-errors"]?.["*"])) {
        at--;
        node = nodes[at];
        keyword = "*";
    }
    const template = node?.["x-errors"]?.[keyword] ?? node?.["x-errors"]?.["*"] ?? ajvMessage(e);
    const key = keyOf(at);
    const data = at === segments.length ? e.data : undefined;
    const value = key in text ? quote(text[key]) : quote(data);
    const message = template
        .replace("{value}", value)
        .replace("{minimum}", String(node?.minimum))
        .replace("{maximum}", String(node?.maximum))
        .replace("{defaulted}", defaulted.has(key) ? (node?.["x-errors"]?.defaulted ?? "") : "");
    return { key, message };
}

function join(key: string, prop: string): string {
    return key === "" ? prop : `${key}.${prop}`;
}

function ajvMessage(e: ErrorObject): string {
    return e.message ?? e.keyword;
}
