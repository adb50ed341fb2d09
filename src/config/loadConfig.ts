/**
 * Reads the stack's configuration from the Pulumi runtime and hands it to the pure parser.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, ConfigError, parseStackConfig, RawConfig, StackConfig } from ".";

/** The raw `capi-mgmt:*` values of the running stack, keyed without the namespace. */
export function readRawConfig(): RawConfig {
    const raw: Record<string, string> = {};
    const prefix = `${CONFIG_NAMESPACE}:`;
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) {
            raw[key.slice(prefix.length)] = value;
        }
    }
    return raw;
}

/** Every config key of the running stack outside our namespace (`ns:key`). */
export function readOtherKeys(): string[] {
    return Object.keys(pulumi.runtime.allConfig()).filter((k) => !k.startsWith(`${CONFIG_NAMESPACE}:`));
}

/**
 * The config keys the engine holds as secrets, from the variable through which the Pulumi
 * CLI's Node.js language host hands them to the program; undefined when it is not set
 * (the program then checks nothing about secret-ness).
 */
export function readSecretKeys(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
    const v = env.PULUMI_CONFIG_SECRET_KEYS;
    if (v === undefined || v === "") {
        return undefined;
    }
    const keys: unknown = JSON.parse(v);
    return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : undefined;
}

/**
 * Parses the running stack's configuration once. Bad input stops the program before any
 * resource is registered, with every problem listed and no stack trace.
 */
export function loadStackConfig(now: Date = new Date()): StackConfig {
    const openstack = new pulumi.Config("openstack");
    try {
        return parseStackConfig(readRawConfig(), {
            stack: pulumi.getStack(),
            now,
            openstack: { cloud: openstack.get("cloud"), region: openstack.get("region") },
            otherKeys: readOtherKeys(),
            secretKeys: readSecretKeys(),
        });
    } catch (e) {
        if (e instanceof ConfigError) {
            throw new pulumi.RunError(e.message);
        }
        throw e;
    }
}
