/**
 * The real Pulumi engine in the test bed: the CLI and the Kubernetes provider that
 * testbed/pulumi/build.sh built into the cache (listed in pulumi.json), a throw-away PULUMI_HOME
 * with the provider installed as a plugin, a local file backend and the passphrase secrets
 * provider, all in one temp dir. Stacks are driven by the Automation API with inline programs:
 * the program runs inside this test process and the CLI talks to it over `--client`, so the
 * Node.js language host (which the module proxy refuses) is never needed.
 *
 * Nothing is ever downloaded: automatic plugin acquisition is off (a missing plugin fails the
 * operation), ambient plugins on PATH are ignored, update checks are off.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { automation } from "@pulumi/pulumi";
import { stringify as toYaml } from "yaml";
import { ControlPlane } from "./harness/controlPlane";
import { PROVIDERS, requiredComponents, startManagementCluster } from "./harness/managementCluster";
import { installProvider } from "./harness/providers";
import { BinaryName, cacheDir, ManifestName, Testbed } from "./harness/testbed";

// The Automation API through the SDK's public entry point.
const { LocalWorkspace, PulumiCommand } = automation;
type EngineEvent = automation.EngineEvent;
type OpType = automation.OpType;
type PreviewResult = automation.PreviewResult;
type PulumiFn = automation.PulumiFn;
type Stack = automation.Stack;
type UpResult = automation.UpResult;

/** One entry of pulumi.json. */
export interface EngineComponent {
    module: string;
    version?: string;
    /** Release the module version is (the provider is served as a pseudo-version). */
    release?: string;
    /** The pulumi-terraform-bridge version a bridged provider is built with. */
    bridge?: string;
    /** The CLI's install root (`bin/pulumi` below it). */
    root?: string;
    /** Present when usable. */
    path?: string;
    /** Versions tried for a refused module. */
    tried?: string;
    /** Present when not usable: the proxy's or the build's error. */
    error?: string;
}

/** Names pulumi.json lists. */
export type EngineComponentName =
    | "pulumi"
    | "pulumi-resource-kubernetes"
    | "pulumi-resource-openstack"
    | "pulumi-language-nodejs"
    | "pulumi-resource-command"
    | "pulumi-resource-tls";

/** Resource plugins the test bed builds: the pulumi.json entry and the SDK whose version the plugin takes. */
export const PLUGINS = {
    kubernetes: { component: "pulumi-resource-kubernetes", sdk: "@pulumi/kubernetes" },
    openstack: { component: "pulumi-resource-openstack", sdk: "@pulumi/openstack" },
} as const satisfies Record<string, { component: EngineComponentName; sdk: string }>;

/** A plugin name of {@link PLUGINS}. */
export type PluginName = keyof typeof PLUGINS;

/** The project's name (Pulumi.yaml) and the SDK packages whose plugins the engine loads. */
const PROJECT_DIR = path.resolve(__dirname, "..", "..");
const PROJECT_NAME = "capi-mgmt";

/**
 * The version of an npm package the project uses (the SDK asks the engine for this plugin version;
 * like the SDKs' own getVersion(), without the "v" some packages carry: @pulumi/openstack's is "v3.15.2").
 */
export function sdkVersion(pkg: string): string {
    const file = path.join(PROJECT_DIR, "node_modules", pkg, "package.json");
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version.replace(/^v/, "");
}

/** The index testbed/pulumi/build.sh writes. */
export class EngineBed {
    private constructor(readonly components: Record<string, EngineComponent>) {}

    /** Reads pulumi.json, or returns why it cannot. */
    static load(): EngineBed | string {
        const file = path.join(cacheDir(), "pulumi.json");
        if (!fs.existsSync(file)) {
            return `no ${file}: run testbed/pulumi/build.sh first`;
        }
        const components = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
        delete components.go;
        return new EngineBed(components as Record<string, EngineComponent>);
    }

    /** Why the named components cannot be used (module, version, error), or undefined. */
    missing(names: EngineComponentName[]): string | undefined {
        const problems = names.flatMap((n) => {
            const c = this.components[n];
            if (!c) {
                return [`${n}: not listed in pulumi.json`];
            }
            if (!c.path || !fs.existsSync(c.path)) {
                const tried = c.tried ? ` (also tried ${c.tried})` : "";
                return [`${n} (${c.module}@${c.version ?? "?"}${tried}): ${(c.error ?? "missing from the cache").trim().split("\n").slice(-2).join(" | ")}`];
            }
            return [];
        });
        return problems.length ? problems.join("; ") : undefined;
    }

    component(name: EngineComponentName): EngineComponent {
        const c = this.components[name];
        if (!c?.path) {
            throw new Error(`engine component ${name} is not available: ${c?.error ?? "not listed"}`);
        }
        return c;
    }
}

/** An engine event as recorded, with the operation it carried (if a step event). */
export interface StepRecord {
    op: OpType;
    urn: string;
    type: string;
    /** Keys that caused a replacement. */
    keys?: string[];
    diffs?: string[];
    /** Order in the event stream. */
    sequence: number;
}

/** Steps of an operation, from the resource pre-events (one per step the engine takes). */
export function steps(events: EngineEvent[]): StepRecord[] {
    return events.flatMap((e) => (e.resourcePreEvent ? [{ ...pick(e.resourcePreEvent.metadata), sequence: e.sequence }] : []));
}

function pick(m: { op: OpType; urn: string; type: string; keys?: string[]; diffs?: string[] }): Omit<StepRecord, "sequence"> {
    return { op: m.op, urn: m.urn, type: m.type, keys: m.keys, diffs: m.diffs };
}

/** The logical name at the end of a URN. */
export function nameOf(urn: string): string {
    return urn.split("::").pop() ?? urn;
}

/**
 * A throw-away engine installation: PULUMI_HOME with the test bed's plugins, a file backend and the
 * passphrase provider, in a temp dir removed by `dispose()`.
 */
export class EngineHome {
    readonly home: string;
    readonly backend: string;
    readonly workDir: string;
    /** Every engine event of every operation, one JSON per line (what the secrets test reads). */
    readonly eventLog: string;
    /** CLI output of every operation. */
    readonly outputLog: string;
    private readonly passphrase = `test-passphrase-${process.pid}-${Date.now()}`;

    private constructor(
        readonly dir: string,
        readonly bed: EngineBed,
        readonly extraEnv: Record<string, string>,
    ) {
        this.home = path.join(dir, "pulumi-home");
        this.backend = path.join(dir, "state");
        this.workDir = path.join(dir, "project");
        this.eventLog = path.join(dir, "events.jsonl");
        this.outputLog = path.join(dir, "output.log");
        for (const d of [this.home, this.backend, this.workDir]) {
            fs.mkdirSync(d, { recursive: true });
        }
    }

    /**
     * Creates the temp dir and installs each plugin (default: `kubernetes`) at the version its SDK
     * asks for (`pulumi plugin install resource NAME VERSION --file BINARY`).
     */
    static create(bed: EngineBed, extraEnv: Record<string, string> = {}, plugins: PluginName[] = ["kubernetes"]): EngineHome {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-engine-"));
        const h = new EngineHome(dir, bed, extraEnv);
        for (const name of plugins) {
            const provider = bed.component(PLUGINS[name].component);
            const r = spawnSync(h.cli, ["plugin", "install", "resource", name, sdkVersion(PLUGINS[name].sdk), "--file", provider.path as string], {
                env: h.env(),
                encoding: "utf8",
                timeout: 120_000,
            });
            if (r.status !== 0) {
                throw new Error(`pulumi plugin install ${name} failed (${r.status}): ${r.stderr}${r.stdout}${r.error ?? ""}`);
            }
        }
        return h;
    }

    /** Where `pulumi plugin install` put a plugin's binary (the engine loads it from there). */
    pluginPath(name: PluginName): string {
        return path.join(this.home, "plugins", `resource-${name}-v${sdkVersion(PLUGINS[name].sdk)}`, `pulumi-resource-${name}`);
    }

    get cli(): string {
        return path.join(this.bed.component("pulumi").root as string, "bin", "pulumi");
    }

    /** Environment of every CLI run: nothing reaches out, nothing is downloaded. */
    env(): Record<string, string> {
        return {
            ...stringEnv(process.env),
            PULUMI_HOME: this.home,
            PULUMI_BACKEND_URL: `file://${this.backend}`,
            PULUMI_CONFIG_PASSPHRASE: this.passphrase,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "false",
            NO_PROXY: "127.0.0.1,localhost",
            ...this.extraEnv,
        };
    }

    /** A stack of the project with an inline program. */
    async stack(stackName: string, program: PulumiFn): Promise<EngineStack> {
        const pulumiCommand = await PulumiCommand.get({ root: this.bed.component("pulumi").root });
        const stack = await LocalWorkspace.createOrSelectStack(
            { stackName, projectName: PROJECT_NAME, program },
            {
                workDir: this.workDir,
                pulumiHome: this.home,
                pulumiCommand,
                envVars: this.env(),
                secretsProvider: "passphrase",
                projectSettings: { name: PROJECT_NAME, runtime: "nodejs", backend: { url: `file://${this.backend}` } },
            },
        );
        return new EngineStack(this, stack);
    }

    /** The stack's state file in the file backend. */
    stateFile(stackName: string): string {
        return path.join(this.backend, ".pulumi", "stacks", PROJECT_NAME, `${stackName}.json`);
    }

    dispose(): void {
        if (process.env.TESTBED_KEEP !== "1") {
            fs.rmSync(this.dir, { recursive: true, force: true });
        }
    }
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
    return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** What one operation did. */
export interface Operation {
    events: EngineEvent[];
    steps: StepRecord[];
    output: string;
}

/** A stack whose operations record their engine events and output. */
export class EngineStack {
    constructor(
        readonly home: EngineHome,
        readonly stack: Stack,
    ) {}

    private recorder(kind: string): { events: EngineEvent[]; onEvent: (e: EngineEvent) => void; onOutput: (s: string) => void; out: string[] } {
        const events: EngineEvent[] = [];
        const out: string[] = [];
        return {
            events,
            out,
            onEvent: (e) => {
                events.push(e);
                fs.appendFileSync(this.home.eventLog, JSON.stringify({ operation: kind, ...e }) + "\n");
            },
            onOutput: (s) => {
                out.push(s);
                fs.appendFileSync(this.home.outputLog, s);
            },
        };
    }

    async up(): Promise<Operation & { result: UpResult }> {
        const r = this.recorder("up");
        try {
            const result = await this.stack.up({ onEvent: r.onEvent, onOutput: r.onOutput });
            return { result, events: r.events, steps: steps(r.events), output: r.out.join("") };
        } catch (err) {
            throw withOutput(err, r.out);
        }
    }

    /** An `up` that must fail: its error and what the engine did before failing. */
    async upFailing(): Promise<Operation & { error: Error }> {
        const r = this.recorder("up");
        try {
            await this.stack.up({ onEvent: r.onEvent, onOutput: r.onOutput });
        } catch (err) {
            return { error: err as Error, events: r.events, steps: steps(r.events), output: r.out.join("") };
        }
        throw new Error(`up succeeded but should have failed:\n${r.out.join("").split("\n").slice(-40).join("\n")}`);
    }

    async preview(): Promise<Operation & { result: PreviewResult }> {
        const r = this.recorder("preview");
        try {
            const result = await this.stack.preview({ onEvent: r.onEvent, onOutput: r.onOutput, diff: true });
            return { result, events: r.events, steps: steps(r.events), output: r.out.join("") };
        } catch (err) {
            throw withOutput(err, r.out);
        }
    }

    async destroy(): Promise<Operation> {
        const r = this.recorder("destroy");
        try {
            await this.stack.destroy({ onEvent: r.onEvent, onOutput: r.onOutput });
            return { events: r.events, steps: steps(r.events), output: r.out.join("") };
        } catch (err) {
            throw withOutput(err, r.out);
        }
    }

    /** The stack's resources in its state (via `pulumi stack export`). */
    async resources(): Promise<{ urn: string; type: string; id?: string; retainOnDelete?: boolean; deletedWith?: string }[]> {
        const d = await this.stack.exportStack();
        return ((d.deployment as { resources?: unknown[] }).resources ?? []) as { urn: string; type: string }[];
    }
}

function withOutput(err: unknown, out: string[]): Error {
    const e = err instanceof Error ? err : new Error(String(err));
    e.message = `${e.message}\n--- engine output (tail) ---\n${out.join("").split("\n").slice(-60).join("\n")}`;
    return e;
}

/** What the engine tests need of the test bed at least: the API server and every provider's CRDs. */
export function minimalTestbedComponents(): (BinaryName | ManifestName)[] {
    return ["etcd", "kube-apiserver", ...PROVIDERS.map((p) => p.manifests)];
}

/**
 * The management cluster for the engine tests: the test bed's full one (CRDs, webhooks, managers)
 * when every manager is built; otherwise the API server with the providers' CRDs only (no webhooks,
 * conversion off), and `limits` says what is missing; `crdsOnly` asks for the latter (for tests that
 * need the API server and the kinds, not the controllers).
 */
export async function startEngineCluster(testbed: Testbed, name: string, crdsOnly = false): Promise<{ cp: ControlPlane; limits?: string }> {
    const limits = crdsOnly ? "CRDs only, as asked" : testbed.missing(requiredComponents());
    if (!limits) {
        return { cp: await startManagementCluster(testbed, name) };
    }
    const cp = await ControlPlane.start(testbed, name);
    try {
        cp.applyOk(toYaml({ apiVersion: "v1", kind: "Namespace", metadata: { name: "flux-system" } }));
        for (const p of PROVIDERS) {
            await installProvider(cp, testbed, { ...p, binary: undefined });
        }
        return { cp, limits: `CRDs only, no webhooks or managers: ${limits}` };
    } catch (err) {
        const report = cp.report();
        await cp.stop();
        throw new Error(`${(err as Error).message}\n${report}`);
    }
}
