/**
 * A stack's config file (`Pulumi.<stack>.yaml`) read as the engine hands it to the program:
 * for `npm run render`, the tests and the tools that evaluate a stack offline.
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { CliConfigValue, configFromCli, resolveSecure } from "./secrets";

/** The project's config namespace, as Pulumi.yaml names it. */
const PROJECT = "capi-mgmt";

/** A stack's config file turned into what the Pulumi runtime would hold. */
export interface StackConfigFile {
    /** `ns:key` → value (objects as JSON text, secure leaves decrypted or placeholders). */
    config: Record<string, string>;
    /** Keys holding a secure value anywhere (the engine marks the whole key secret). */
    secretKeys: string[];
    /** `ns:key[.path]` of secure values render could not decrypt (no Pulumi CLI) and replaced by a placeholder. */
    placeholders: string[];
}

/**
 * Reads `Pulumi.<stack>.yaml` from the project directory as the engine hands it to the
 * program (see render/secrets.ts): the keys holding secure values as the Pulumi CLI opens
 * them with the stack's secrets provider, placeholders of the right shape when the CLI is
 * not installed. A stack without secure values needs no CLI.
 */
export function readStackConfigFile(projectDir: string, stack: string, env: NodeJS.ProcessEnv = process.env): StackConfigFile {
    const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`no stack config file ${file}`);
    }
    let doc: { config?: Record<string, unknown> };
    try {
        doc = (parseYaml(fs.readFileSync(file, "utf8")) ?? {}) as typeof doc;
    } catch (e) {
        // The yaml library's message carries the line and column; the reader needs the file too.
        throw new Error(`${file}: not valid YAML: ${(e as Error).message.split("\n")[0]}`);
    }
    const entries = Object.entries(doc.config ?? {}).map(([rawKey, value]) => {
        const key = rawKey.includes(":") ? rawKey : `${PROJECT}:${rawKey}`;
        return [key, resolveSecure(value, key)] as const;
    });
    let opened: Record<string, CliConfigValue> | undefined;
    if (entries.some(([, resolved]) => resolved.secret)) {
        try {
            opened = configFromCli(projectDir, stack, env);
        } catch (e) {
            throw new Error(`${file}: cannot open its secure values: ${(e as Error).message}`);
        }
    }
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const placeholders: string[] = [];
    for (const [key, resolved] of entries) {
        if (resolved.secret) {
            secretKeys.push(key);
        }
        if (resolved.secret && opened) {
            const value = opened[key]?.value;
            if (typeof value !== "string") {
                throw new Error(`${file}: ${key}: the Pulumi CLI printed no value for it (pulumi config --show-secrets --json --stack ${stack})`);
            }
            config[key] = value;
        } else {
            placeholders.push(...resolved.placeholders);
            config[key] = typeof resolved.value === "string" ? resolved.value : JSON.stringify(resolved.value);
        }
    }
    return { config, secretKeys, placeholders };
}
