/**
 * Reads the stack's configuration from the Pulumi runtime and hands it to the pure parser.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, ConfigError, parseStackConfig, RawConfig, StackConfig } from "./config";

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
        });
    } catch (e) {
        if (e instanceof ConfigError) {
            throw new pulumi.RunError(e.message);
        }
        throw e;
    }
}
