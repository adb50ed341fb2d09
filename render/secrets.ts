/**
 * Secure config values in `Pulumi.<stack>.yaml`, for render: what the Pulumi engine hands
 * the program, without the Pulumi CLI.
 *
 * The engine decrypts every `secure:` value, at the top of a key or nested under it (what
 * `pulumi config set --secret --path 'capi-mgmt:gitops.deployKey'` writes), passes an object
 * key as JSON text with its secure leaves decrypted, and lists the whole key as secret.
 *
 * Render decrypts the way Pulumi's passphrase secrets provider does, when the stack file
 * has an `encryptionsalt` and `PULUMI_CONFIG_PASSPHRASE` (or `PULUMI_CONFIG_PASSPHRASE_FILE`)
 * is set: key = PBKDF2-SHA256(passphrase, salt, 1,000,000 rounds, 32 bytes); each value is
 * `v1:<base64 nonce>:<base64 AES-256-GCM ciphertext+tag>`; the salt line carries `pulumi`
 * encrypted with that key, which tells a wrong passphrase. Otherwise (no passphrase, or
 * another secrets provider: Pulumi Cloud, a KMS) render substitutes a placeholder of the
 * right shape and says so.
 */
import { createDecipheriv, createHash, pbkdf2Sync } from "crypto";
import * as fs from "fs";
import { mockOpensshKeyPair } from "./engine";
import { CONFIG_NAMESPACE, SECRET_SETTINGS } from "../src/config";

/** PBKDF2 rounds of Pulumi's passphrase provider. */
const PBKDF2_ROUNDS = 1_000_000;
/** AES-256 key size. */
const KEY_BYTES = 32;
/** GCM tag size (Go's default). */
const TAG_BYTES = 16;

/** Decrypts secure values of one stack file. */
export type Decrypter = (ciphertext: string) => string;

/** Decrypts one `v1:<nonce>:<ciphertext>` value with a key. */
export function decryptValue(key: Buffer, value: string): string {
    const parts = value.split(":");
    if (parts.length !== 3 || parts[0] !== "v1") {
        throw new Error("not a v1 secure value");
    }
    const nonce = Buffer.from(parts[1], "base64");
    const sealed = Buffer.from(parts[2], "base64");
    const decipher = createDecipheriv("aes-256-gcm", key, nonce);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]).toString("utf8");
}

/** The passphrase from the environment, as the Pulumi CLI reads it; undefined when unset. */
export function passphraseFromEnv(env: NodeJS.ProcessEnv): string | undefined {
    if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) {
        return env.PULUMI_CONFIG_PASSPHRASE;
    }
    if (env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        return fs.readFileSync(env.PULUMI_CONFIG_PASSPHRASE_FILE, "utf8");
    }
    return undefined;
}

/**
 * A decrypter for a stack file's `encryptionsalt` (`v1:<base64 salt>:v1:<nonce>:<ciphertext>`)
 * and a passphrase. Throws when the passphrase is wrong.
 */
export function passphraseDecrypter(encryptionSalt: string, passphrase: string): Decrypter {
    const m = /^v1:([^:]*):(v1:.*)$/.exec(encryptionSalt);
    if (!m) {
        throw new Error("the stack file's encryptionsalt is not of the form v1:<salt>:v1:<nonce>:<ciphertext>");
    }
    const key = pbkdf2Sync(passphrase, Buffer.from(m[1], "base64"), PBKDF2_ROUNDS, KEY_BYTES, "sha256");
    let check: string;
    try {
        check = decryptValue(key, m[2]);
    } catch {
        check = "";
    }
    if (check !== "pulumi") {
        throw new Error("incorrect passphrase: PULUMI_CONFIG_PASSPHRASE does not open this stack's secrets");
    }
    return (ciphertext) => decryptValue(key, ciphertext);
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
 * Replaces every secure leaf of a config value: decrypted when a decrypter is given,
 * else a placeholder. `keyPath` is `ns:key`, extended with `.field` / `[i]` while descending.
 */
export function resolveSecure(value: unknown, keyPath: string, decrypt?: Decrypter): ResolvedValue {
    if (isSecure(value)) {
        if (decrypt) {
            return { value: decrypt(value.secure), secret: true, placeholders: [] };
        }
        return { value: placeholderFor(keyPath), secret: true, placeholders: [keyPath] };
    }
    if (Array.isArray(value)) {
        const items = value.map((x, i) => resolveSecure(x, `${keyPath}[${i}]`, decrypt));
        return { value: items.map((x) => x.value), secret: items.some((x) => x.secret), placeholders: items.flatMap((x) => x.placeholders) };
    }
    if (typeof value === "object" && value !== null) {
        const entries = Object.entries(value).map(([k, x]) => [k, resolveSecure(x, `${keyPath}.${k}`, decrypt)] as const);
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
