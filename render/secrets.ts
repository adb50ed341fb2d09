/**
 * Secure config values in `Pulumi.<stack>.yaml`, for render: what the Pulumi engine hands
 * the program.
 *
 * The engine decrypts every `secure:` value, at the top of a key or nested under it (what
 * `pulumi config set --secret --path 'capi-mgmt:gitops.deployKey'` writes), passes an object
 * key as JSON text with its secure leaves decrypted, and lists the whole key as secret.
 *
 * Render does not decrypt anything itself: it asks the Pulumi CLI, which opens the stack's
 * secrets with whatever secrets provider the stack uses and the user has (a passphrase in
 * `PULUMI_CONFIG_PASSPHRASE` or `PULUMI_CONFIG_PASSPHRASE_FILE`, Pulumi Cloud, a KMS):
 * `pulumi config --show-secrets --json --stack <stack>` in the project directory, whose
 * `value` per key is what the engine hands the program. When `pulumi` is not installed,
 * render substitutes a placeholder of the right shape and says that the CLI is missing.
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import { mockOpensshKeyPair } from "./mockCloud";
import { CONFIG_NAMESPACE, SECRET_SETTINGS } from "../src/config";

/** Why render used placeholders: the one thing it lacks to decrypt. */
export const PULUMI_CLI_MISSING =
    "the Pulumi CLI (`pulumi`) is not installed (not on PATH); install it to render with the stack's real secrets (it opens them with the stack's secrets provider, e.g. PULUMI_CONFIG_PASSPHRASE)";

/** One key as `pulumi config --show-secrets --json` prints it. */
export interface CliConfigValue {
    /** The value as the engine hands it to the program (an object as JSON text). */
    value?: string;
    /** Whether the key is secret. */
    secret: boolean;
}

/** Bound of one CLI run (it may ask a secrets service over the network). */
const CLI_TIMEOUT_MS = 120_000;

/**
 * The stack's config with its secrets opened, as the Pulumi CLI prints it (`ns:key` → value),
 * run in `projectDir` with `env` (the user's secrets provider settings); undefined when
 * `pulumi` is not on env's PATH. Throws with the CLI's own message when it fails (a wrong
 * passphrase, no passphrase, a stack the backend does not know).
 */
export function configFromCli(projectDir: string, stack: string, env: NodeJS.ProcessEnv): Record<string, CliConfigValue> | undefined {
    const args = ["config", "--show-secrets", "--json", "--stack", stack];
    const command = `pulumi ${args.join(" ")}`;
    // No stdin: the CLI must not wait for a passphrase typed at a prompt.
    const r = spawnSync("pulumi", args, { cwd: projectDir, env, encoding: "utf8", timeout: CLI_TIMEOUT_MS, stdio: ["ignore", "pipe", "pipe"] });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
        return undefined;
    }
    if (r.error || r.status !== 0) {
        const said = `${r.stderr ?? ""}${r.stdout ?? ""}`.trim().replace(/^error: /, "");
        throw new Error(`${command} failed${r.status !== null ? ` (exit ${r.status})` : ""}: ${said || r.error?.message || "no message"}`);
    }
    try {
        return JSON.parse(r.stdout) as Record<string, CliConfigValue>;
    } catch {
        throw new Error(`${command} printed no JSON: ${r.stdout.slice(0, 200)}`);
    }
}

/** A valid-looking age identity derived from a name (not a secret: anyone can derive it). */
function placeholderAgeKey(seed: string): string {
    const alphabet = "0123456789ACDEFGHJKLMNPQRSTUVWXYZ";
    const digest = createHash("sha256").update(`capi-mgmt render placeholder: ${seed}`).digest();
    let body = "";
    for (let i = 0; body.length < 58; i++) {
        body += alphabet[digest[i % digest.length] % alphabet.length];
    }
    return `AGE-SECRET-KEY-1${body}`;
}

/**
 * What render uses for a secure value it cannot decrypt: for the keys the program knows, a
 * value of the right shape (so that render still validates everything else); for others a
 * marker the config validation will name.
 */
export function placeholderFor(keyPath: string): string {
    if (keyPath === "capi-mgmt:gitops.deployKey") {
        return mockOpensshKeyPair("render placeholder for gitops.deployKey").privateKeyOpenssh;
    }
    if (keyPath === "capi-mgmt:gitops.sopsAgeKey") {
        return placeholderAgeKey(keyPath) + "\n";
    }
    return "[secret: not decrypted by render]";
}

/** True when a YAML value is a `secure:` leaf. */
function isSecure(v: unknown): v is { secure: string } {
    return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { secure?: unknown }).secure === "string";
}

/** What resolving one key's value found. */
export interface ResolvedValue {
    /** The value with every secure leaf replaced. */
    value: unknown;
    /** Whether any leaf was secure (the key is then secret). */
    secret: boolean;
    /** Paths whose values are placeholders. */
    placeholders: string[];
}

/**
 * Replaces every secure leaf of a config value with a placeholder. `keyPath` is `ns:key`,
 * extended with `.field` / `[i]` while descending.
 */
export function resolveSecure(value: unknown, keyPath: string): ResolvedValue {
    if (isSecure(value)) {
        return { value: placeholderFor(keyPath), secret: true, placeholders: [keyPath] };
    }
    if (Array.isArray(value)) {
        const items = value.map((x, i) => resolveSecure(x, `${keyPath}[${i}]`));
        return { value: items.map((x) => x.value), secret: items.some((x) => x.secret), placeholders: items.flatMap((x) => x.placeholders) };
    }
    if (typeof value === "object" && value !== null) {
        const entries = Object.entries(value).map(([k, x]) => [k, resolveSecure(x, `${keyPath}.${k}`)] as const);
        return {
            value: Object.fromEntries(entries.map(([k, x]) => [k, x.value])),
            secret: entries.some(([, x]) => x.secret),
            placeholders: entries.flatMap(([, x]) => x.placeholders),
        };
    }
    return { value, secret: false, placeholders: [] };
}

/**
 * A stack's config with values replaced or removed (undefined) by `overrides` (keys without
 * a namespace are `capi-mgmt:` keys), and the keys held as secrets: an override that carries
 * a secret setting stands for `pulumi config set --secret --path`, so its key is secret.
 */
export function withOverrides(
    file: { config: Record<string, string>; secretKeys: string[] },
    overrides: Record<string, string | undefined>,
): { config: Record<string, string>; secretKeys: string[] } {
    const config = { ...file.config };
    const secretKeys = new Set(file.secretKeys);
    for (const [k, v] of Object.entries(overrides)) {
        const key = k.includes(":") ? k : `${CONFIG_NAMESPACE}:${k}`;
        if (v === undefined) {
            delete config[key];
            continue;
        }
        config[key] = v;
        const carriesSecret = SECRET_SETTINGS.some((s) => {
            const [top, leaf] = s.split(".");
            return key === `${CONFIG_NAMESPACE}:${top}` && v.includes(`"${leaf}"`);
        });
        if (carriesSecret) {
            secretKeys.add(key);
        }
    }
    return { config, secretKeys: [...secretKeys] };
}
