/**
 * The flags of the operator commands run on this machine (`npm run check`, `npm run backup`,
 * `npm run restore`): `--flag value` or `--flag=value`, switches alone (`--force`), `--help` or
 * `-h` anywhere. One parser, so the three commands refuse the same mistakes with the same words;
 * each command's own checks (ranges, formats) stay next to its usage text.
 */

/** A Pulumi stack name, possibly qualified (`org/project/stack`). */
export const STACK_NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+){0,2}$/;

/** One command's flags: {@link parseFlags} refuses everything else. */
export interface FlagSpec<V extends string, S extends string> {
    /** Flags that take a value, in the order the "known:" list of an unknown flag's message names them. */
    values: readonly V[];
    /** Flags that stand alone (e.g. `force`), named after the value flags in that list. */
    switches?: readonly S[];
    /** Flags no longer accepted, each with the message saying why. */
    removed?: Readonly<Record<string, string>>;
    /** The command's usage error (a message naming the flag). */
    error: (message: string) => Error;
}

/** What {@link parseFlags} read. */
export interface ParsedFlags<V extends string, S extends string> {
    /** The value of each value flag given. */
    values: Partial<Record<V, string>>;
    /** The switches given. */
    switches: ReadonlySet<S>;
}

/**
 * Reads `argv` as `spec` says; `undefined` when help was asked for (before any later mistake).
 * Throws `spec.error(…)` naming the flag: an argument that is no flag, an unknown or removed
 * flag, a flag given twice, a value flag without a value (none follows, or a flag follows).
 */
export function parseFlags<V extends string, S extends string = never>(argv: readonly string[], spec: FlagSpec<V, S>): ParsedFlags<V, S> | undefined {
    const switchNames: readonly string[] = spec.switches ?? [];
    const known = [...spec.values, ...switchNames].map((f) => `--${f}`).join(", ");
    const values: Partial<Record<V, string>> = {};
    const switches = new Set<S>();
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--help" || arg === "-h") {
            return undefined;
        }
        const removed = Object.entries(spec.removed ?? {}).find(([name]) => arg === `--${name}`);
        if (removed) {
            throw spec.error(`${arg}: ${removed[1]}`);
        }
        const switchName = switchNames.find((s) => arg === `--${s}`) as S | undefined;
        if (switchName !== undefined) {
            if (switches.has(switchName)) {
                throw spec.error(`${arg}: given twice`);
            }
            switches.add(switchName);
            continue;
        }
        const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
        if (!m) {
            const every = switchNames.length > 0 ? "every argument is a --flag" : "every argument is a --flag with a value";
            throw spec.error(`unexpected argument ${JSON.stringify(arg)}: ${every}`);
        }
        const flag = m[1] as V;
        if (!spec.values.includes(flag)) {
            throw spec.error(`--${m[1]}: unknown flag (known: ${known})`);
        }
        if (values[flag] !== undefined) {
            throw spec.error(`--${flag}: given twice`);
        }
        let value = m[2];
        if (value === undefined) {
            value = argv[i + 1];
            if (value === undefined || value.startsWith("--")) {
                throw spec.error(`--${flag}: needs a value`);
            }
            i++;
        }
        values[flag] = value;
    }
    return { values, switches };
}

/** The `--stack` value; throws `error(…)` when it is missing or no stack name. */
export function requiredStack(stack: string | undefined, error: (message: string) => Error): string {
    if (stack === undefined) {
        throw error("--stack: required (the Pulumi stack, e.g. --stack dev)");
    }
    if (!STACK_NAME.test(stack)) {
        throw error(`--stack: ${JSON.stringify(stack)} is not a stack name`);
    }
    return stack;
}

/**
 * `value` of `--<flag>` as a whole number from `min` to `max` (digits only); throws `error(…)`
 * saying the range (and the `unit`, when given) otherwise.
 */
export function wholeNumberFlag(flag: string, value: string, min: number, max: number, error: (message: string) => Error, unit?: string): number {
    const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
        throw error(`--${flag}: must be a whole number${unit ? ` of ${unit}` : ""} from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
}
