/**
 * Evaluates the program offline with Pulumi's mock engine: no cloud, no Pulumi CLI.
 * Records every resource registration (type, name, parent, dependencies, options, inputs)
 * so that tests can assert on the graph and `npm run render` can write it out.
 *
 * Only the SDK's public API: `pulumi.runtime.setMocks` installs the mock engine with the
 * simulated cloud (render/mockCloud.ts), the registrations are read off the resource monitor
 * `pulumi.runtime.getMonitor()` returns (the requests the engine itself would receive, with
 * the dependencies and options the SDK worked out), their inputs decoded with
 * `pulumi.runtime.deserializeProperties`, secrets told by `pulumi.runtime.isRpcSecret`, and
 * `pulumi.runtime.disconnect()` waits until every registration has been answered.
 */
import * as pulumi from "@pulumi/pulumi";
import { MockCloud, MockCloudOptions } from "./mockCloud";

export { MockCloud, MockCloudOptions, mockOpensshKeyPair, simulatedValues } from "./mockCloud";

/** What render writes in place of a secret. */
export const REDACTED = "[secret]";

/** One registered resource, as the engine saw it. */
export interface RecordedResource {
    /** The URN the mock engine gave it. */
    urn: string;
    /** Type token, e.g. `openstack:compute/instance:Instance`. */
    type: string;
    /** Logical name. */
    name: string;
    /** False for component resources. */
    custom: boolean;
    /** URN of the parent, if any. */
    parent?: string;
    /** URNs of explicit and implicit dependencies. */
    dependsOn: string[];
    /** Per input property, the URNs of the resources its value came from. */
    propertyDependencies: Record<string, string[]>;
    /** Inputs, with secrets still wrapped (see {@link isSecretValue}). */
    inputs: Record<string, unknown>;
    /** Resource options that matter for safety. */
    options: {
        deleteBeforeReplace: boolean;
        ignoreChanges: string[];
        replaceOnChanges: string[];
        additionalSecretOutputs: string[];
        deletedWith?: string;
        protect: boolean;
        retainOnDelete: boolean;
        provider?: string;
    };
}

/** True when `v` is a secret as Pulumi serializes it (its value under `value`). */
export function isSecretValue(v: unknown): v is { value: unknown } {
    return pulumi.runtime.isRpcSecret(v);
}

/** Deep copy with every secret replaced by {@link REDACTED}. */
export function redact(v: unknown): unknown {
    if (isSecretValue(v)) {
        return REDACTED;
    }
    if (Array.isArray(v)) {
        return v.map(redact);
    }
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x)]));
    }
    return v;
}

/**
 * Deep copy with every secret replaced by {@link REDACTED} leaf by leaf: a secret map
 * keeps its keys, so a redacted Secret manifest keeps its shape (and stays schema-valid).
 */
export function redactLeaves(v: unknown, inSecret = false): unknown {
    if (isSecretValue(v)) {
        return redactLeaves(v.value, true);
    }
    if (Array.isArray(v)) {
        return v.map((x) => redactLeaves(x, inSecret));
    }
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactLeaves(x, inSecret)]));
    }
    return inSecret ? REDACTED : v;
}

/** Deep copy with every secret unwrapped to its plain value. */
export function reveal(v: unknown): unknown {
    if (isSecretValue(v)) {
        return reveal(v.value);
    }
    if (Array.isArray(v)) {
        return v.map(reveal);
    }
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
    }
    return v;
}

/** How to evaluate a program. */
export interface EvaluateOptions {
    /** Stack name. */
    stack: string;
    /** Full config map (`ns:key` → string; objects as JSON). */
    config: Record<string, string>;
    /** Keys of `config` that are secret. */
    secretKeys?: string[];
    /** The simulated cloud. */
    cloud?: MockCloudOptions;
}

/** The outcome of an evaluation. */
export interface Evaluation<T> {
    /** What the build function returned. */
    result: T;
    /** Every registered resource, in registration order. */
    resources: RecordedResource[];
}

/**
 * The part of a registration request (the resource monitor's RegisterResourceRequest) the
 * recorder reads: what the SDK sends the engine for one resource.
 */
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getCustom(): boolean;
    getParent(): string;
    getObject(): Parameters<typeof pulumi.runtime.deserializeProperties>[0];
    getDependenciesList(): string[];
    getPropertydependenciesMap(): { forEach(f: (v: { getUrnsList(): string[] }, key: string) => void): void };
    getDeletebeforereplace(): boolean;
    getIgnorechangesList(): string[];
    getReplaceonchangesList(): string[];
    getAdditionalsecretoutputsList(): string[];
    getDeletedwith(): string;
    getProtect(): boolean | undefined;
    getRetainondelete(): boolean | undefined;
    getProvider(): string;
}

/** The resource monitor's registration call, as the recorder wraps it. */
interface RegisteringMonitor {
    registerResource(req: RegisterRequest, callback: (err: unknown, resp?: { getUrn(): string }) => void): unknown;
}

/** What the engine is told of a resource, as the recorder keeps it (its URN comes with the answer). */
function recordOf(req: RegisterRequest): RecordedResource {
    const propertyDeps: string[] = [];
    const byProperty: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((v, key) => {
        propertyDeps.push(...v.getUrnsList());
        byProperty[key] = v.getUrnsList();
    });
    return {
        urn: "",
        type: req.getType(),
        name: req.getName(),
        custom: req.getCustom(),
        parent: req.getParent() || undefined,
        dependsOn: [...new Set([...req.getDependenciesList(), ...propertyDeps])],
        propertyDependencies: byProperty,
        inputs: pulumi.runtime.deserializeProperties(req.getObject()),
        options: {
            deleteBeforeReplace: req.getDeletebeforereplace(),
            ignoreChanges: req.getIgnorechangesList(),
            replaceOnChanges: req.getReplaceonchangesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            deletedWith: req.getDeletedwith() || undefined,
            protect: req.getProtect() === true,
            retainOnDelete: req.getRetainondelete() === true,
            provider: req.getProvider() || undefined,
        },
    };
}

/** Sets up the mock engine and records every registration made afterwards. */
async function installRecorder(opts: EvaluateOptions): Promise<RecordedResource[]> {
    const recorded: RecordedResource[] = [];
    await pulumi.runtime.setMocks(new MockCloud(opts.cloud), "capi-mgmt", opts.stack, false, "organization");
    pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);
    // As the CLI's language host hands them over (src/config/loadConfig.ts reads them from there).
    if (opts.secretKeys) {
        process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(opts.secretKeys);
    } else {
        delete process.env.PULUMI_CONFIG_SECRET_KEYS;
    }
    const monitor = pulumi.runtime.getMonitor() as unknown as RegisteringMonitor | undefined;
    if (!monitor) {
        throw new Error("pulumi.runtime.setMocks installed no resource monitor");
    }
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        const entry = recordOf(req);
        recorded.push(entry);
        return register(req, (err, resp) => {
            if (resp) {
                entry.urn = resp.getUrn();
            }
            callback(err, resp);
        });
    };
    return recorded;
}

/**
 * Runs `build` under the mock engine with the given config and waits until every
 * registration has completed (`disconnect` drains the SDK's queue of calls to the engine;
 * the next evaluation installs a new mock engine). Errors thrown by `build` (bad config)
 * propagate unchanged.
 */
export async function evaluate<T>(opts: EvaluateOptions, build: () => T): Promise<Evaluation<T>> {
    const resources = await installRecorder(opts);
    const result = build();
    await pulumi.runtime.disconnect();
    return { result, resources };
}

/** Resolves an Output's value (non-preview mocks always resolve). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) =>
        o.apply((v) => {
            resolve(v);
            return v;
        }),
    );
}

/** Resolves whether an Output is secret. */
export function secretnessOf<T>(o: pulumi.Output<T>): Promise<boolean> {
    return pulumi.isSecret(o);
}
