/**
 * Property values as the engine hands them to a provider that accepts secrets and outputs (what
 * `@pulumi/pulumi/provider`'s server tells the engine): secrets and output values arrive wrapped in
 * signature objects, unknown values as a sentinel string. The stand-in providers compare values
 * plainly and hand secrets back as secrets.
 */

/** Pulumi's special-signature key and the signatures of a secret and an output value. */
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
/** What an unknown (computed) value is during a preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

type Json = unknown;

/** The value with output values resolved (unknown ones to {@link UNKNOWN}) and secrets kept wrapped. */
export function normalize(v: Json): Json {
    if (Array.isArray(v)) {
        return v.map(normalize);
    }
    if (typeof v === "object" && v !== null) {
        const o = v as Record<string, unknown>;
        if (o[SIG] === SECRET_SIG) {
            return secret(normalize(o.value));
        }
        if (o[SIG] === OUTPUT_SIG) {
            if (!("value" in o)) {
                return UNKNOWN;
            }
            const inner = normalize(o.value);
            return o.secret === true ? secret(inner) : inner;
        }
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, normalize(x)]));
    }
    return v;
}

/** Wraps a value as a secret (what the engine keeps encrypted in the state). */
export function secret(value: Json): Json {
    return { [SIG]: SECRET_SIG, value };
}

/** The value with every secret unwrapped (to compare). */
export function plain(v: Json): Json {
    if (Array.isArray(v)) {
        return v.map(plain);
    }
    if (typeof v === "object" && v !== null) {
        const o = v as Record<string, unknown>;
        if (o[SIG] === SECRET_SIG) {
            return plain(o.value);
        }
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
    }
    return v;
}

/** True when the value is or holds an unknown. */
export function hasUnknown(v: Json): boolean {
    if (v === UNKNOWN) {
        return true;
    }
    if (Array.isArray(v)) {
        return v.some(hasUnknown);
    }
    if (typeof v === "object" && v !== null) {
        return Object.values(v as Record<string, unknown>).some(hasUnknown);
    }
    return false;
}

/** Stable JSON (sorted keys) of the plain value. */
function canonical(v: Json): string {
    const p = plain(v);
    return JSON.stringify(p, (_k, x: unknown) =>
        typeof x === "object" && x !== null && !Array.isArray(x)
            ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
            : x,
    );
}

/**
 * The input keys whose value differs between the old state and the new inputs: every key of
 * `news` and every key of `olds` but the provider's `outputOnly` ones; an unknown new value counts
 * as a change (its value is only known after the step that makes it), as does a key set on one
 * side only.
 */
export function changedKeys(olds: Record<string, unknown>, news: Record<string, unknown>, outputOnly: readonly string[]): string[] {
    const keys = new Set([...Object.keys(news), ...Object.keys(olds).filter((k) => !outputOnly.includes(k))]);
    return [...keys].filter((k) => hasUnknown(news[k]) || canonical(olds[k] ?? null) !== canonical(news[k] ?? null)).sort();
}

/** The logical name at the end of a URN. */
export function logicalName(urn: string): string {
    return urn.split("::").pop() ?? urn;
}
