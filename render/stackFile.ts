/**
 * A stack's config file (`Pulumi.<stack>.yaml`) read as the engine hands it to the program:
 * for `npm run render`, the tests and the tools that evaluate a stack offline.
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { Decrypter, passphraseDecrypter, passphraseFromEnv, resolveSecure } from "./secrets";

/** The project's config namespace, as Pulumi.yaml names it. */
const PROJECT = "capi-mgmt";

/** A stack's config file turned into what the Pulumi runtime would hold. */
export interface StackConfigFile {
    /** `ns:key` → value (objects as JSON text, secure leaves decrypted or placeholders). */
    config: Record<string, string>;
    /** Keys holding a secure value anywhere (the engine marks the whole key secret). */
    secretKeys: string[];
    /** `ns:key[.path]` of secure values render could not decrypt and replaced by a placeholder. */
    placeholders: string[];
}

/**
 * Reads `Pulumi.<stack>.yaml` from the project directory as the engine hands it to the
 * program (see render/secrets.ts): secure values decrypted with `PULUMI_CONFIG_PASSPHRASE`
 * when the stack uses the passphrase provider, placeholders of the right shape otherwise.
 */
export function readStackConfigFile(projectDir: string, stack: string, env: NodeJS.ProcessEnv = process.env): StackConfigFile {
    const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`no stack config file ${file}`);
    }
    let doc: { config?: Record<string, unknown>; encryptionsalt?: string };
    try {
        doc = (parseYaml(fs.readFileSync(file, "utf8")) ?? {}) as typeof doc;
    } catch (e) {
        // The yaml library's message carries the line and column; the reader needs the file too.
        throw new Error(`${file}: not valid YAML: ${(e as Error).message.split("\n")[0]}`);
    }
    const entries = Object.entries(doc.config ?? {}).map(([rawKey, value]) => [rawKey.includes(":") ? rawKey : `${PROJECT}:${rawKey}`, value] as const);
    const hasSecure = entries.some(([key, value]) => resolveSecure(value, key).secret);
    const passphrase = passphraseFromEnv(env);
    let decrypt: Decrypter | undefined;
    if (hasSecure && passphrase !== undefined && typeof doc.encryptionsalt === "string") {
        try {
            decrypt = passphraseDecrypter(doc.encryptionsalt, passphrase);
        } catch (e) {
            throw new Error(`${file}: ${(e as Error).message}`);
        }
    }
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const placeholders: string[] = [];
    for (const [key, value] of entries) {
        let resolved;
        try {
            resolved = resolveSecure(value, key, decrypt);
        } catch (e) {
            throw new Error(`${file}: ${key}: cannot decrypt (${(e as Error).message})`);
        }
        if (resolved.secret) {
            secretKeys.push(key);
        }
        placeholders.push(...resolved.placeholders);
        config[key] = typeof resolved.value === "string" ? resolved.value : JSON.stringify(resolved.value);
    }
    return { config, secretKeys, placeholders };
}
