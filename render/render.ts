/**
 * Offline render: evaluates a stack's program with its config and no cloud, and writes
 * every artifact the program would send anywhere, for review and for validators.
 */
import * as fs from "fs";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { FLUX_ROOT_NAME } from "../src/shared/contract";
import { loadStackConfig } from "../src/config/loadConfig";
import { toolDownloads } from "../src/versions/versions";
import { program } from "../program";
import { preflightError } from "../src/cloud/preflight";
import { runCommand } from "./command";
import { PULUMI_CLI_MISSING } from "./secrets";
import { fluxEnvsubstPath, fluxSubstituter } from "./fluxEnvsubst";
import { readEnvironment, Substituter } from "./gitopsTree";
import { expandTopologies, topologyUnavailable } from "./topologyBed";
import { evaluate, MockCloudOptions, RecordedResource, redact, REDACTED, redactLeaves, reveal, simulatedValues, valueOf } from "./engine";
import { outputsDocument, previousOutputsFromFile, RENDER_HELP, replacementMapReport } from "./renderOutputs";
import { validateEnvironment } from "./validate";
import { settingsMap } from "./settingsMap";

import { readStackConfigFile } from "./stackFile";
import { plannedReleases } from "../src/versions/releaseCache";
export { readStackConfigFile, StackConfigFile } from "./stackFile";

/** A short, unique reference to a resource: `type::name`. */
function refOf(urn: string): string {
    const parts = urn.split("::");
    const types = parts[parts.length - 2] ?? "";
    return `${types.split("$").pop()}::${parts[parts.length - 1]}`;
}

/**
 * The resource options that shape what a change or a destroy does to a resource, for
 * reviewers: what is replaced (replaceOnChanges, triggers, deleteBeforeReplace), what is
 * never updated (ignoreChanges), what is kept (retainOnDelete, protect), what goes with
 * something else (deletedWith), which provider acts on it, and a provider's own settings.
 */
export function lifecycleOptions(r: RecordedResource): Record<string, unknown> {
    const o = r.options;
    const triggers = r.type === "command:remote:Command" ? r.inputs.triggers : undefined;
    const isProvider = r.type.startsWith("pulumi:providers:");
    return {
        ...(o.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
        ...(o.ignoreChanges.length ? { ignoreChanges: o.ignoreChanges } : {}),
        ...(o.replaceOnChanges.length ? { replaceOnChanges: o.replaceOnChanges } : {}),
        ...(triggers !== undefined ? { triggers: redact(triggers) } : {}),
        ...(o.deletedWith ? { deletedWith: refOf(o.deletedWith) } : {}),
        ...(o.retainOnDelete ? { retainOnDelete: true } : {}),
        ...(o.protect ? { protect: true } : {}),
        ...(o.provider ? { provider: refOf(o.provider.split("::").slice(0, -1).join("::")) } : {}),
        ...(isProvider ? { providerSettings: redact(r.inputs) } : {}),
    };
}

/** resources.json: one entry per resource in registration order, secrets redacted. */
export function resourcesDocument(
    stack: string,
    resources: RecordedResource[],
    config: ReturnType<typeof loadStackConfig>,
    simulated: Record<string, string> = simulatedValues(),
): unknown {
    return {
        stack,
        simulated,
        resources: resources.map((r) => ({
            type: r.type,
            name: r.name,
            parent: r.parent ? refOf(r.parent) : null,
            dependsOn: r.dependsOn.map(refOf).sort(),
            options: lifecycleOptions(r),
            inputs: redact(r.inputs),
        })),
        downloads: toolDownloads(config.versions),
        versions: config.versions,
    };
}

/** Remote commands in run order: dependencies first, registration order among equals. */
export function commandsInRunOrder(resources: RecordedResource[]): RecordedResource[] {
    const commands = resources.filter((r) => r.type === "command:remote:Command");
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const ordered: RecordedResource[] = [];
    const seen = new Set<string>();
    // Transitive dependencies through components are followed via parents' dependencies too.
    const visit = (r: RecordedResource) => {
        if (seen.has(r.urn)) {
            return;
        }
        seen.add(r.urn);
        for (const d of r.dependsOn) {
            const dep = byUrn.get(d);
            if (dep) {
                visit(dep);
            }
        }
        if (r.type === "command:remote:Command") {
            ordered.push(r);
        }
    };
    commands.forEach(visit);
    return ordered;
}

/**
 * The Kubernetes objects the program itself defines (not those of release manifests, which
 * resources.json lists by URL), with secret values redacted leaf by leaf.
 */
export function manifestsOf(resources: RecordedResource[]): { file: string; object: Record<string, unknown> }[] {
    return resources
        .filter((r) => r.custom && r.type.startsWith("kubernetes:") && typeof r.inputs.kind === "string")
        .map((r, i) => {
            const object = redactLeaves(r.inputs) as Record<string, unknown>;
            const kind = String(object.kind).toLowerCase();
            return { file: `manifests/${String(i + 1).padStart(2, "0")}-${kind}-${r.name}.yaml`, object };
        });
}

/** Several objects as one multi-document YAML file. */
function yamlStream(objects: unknown[]): string {
    return objects.map((o) => toYaml(o)).join("---\n");
}

/** The first line of each gitops/ file render writes without Flux's substitution. */
export const UNSUBSTITUTED_NOTE =
    "# NOT substituted: ${NAME}s stand as the tree writes them; Flux fills them from the program's settings (render substitutes with Flux's own code when the test bed has built flux-envsubst)";

/**
 * The environment's part of the GitOps tree as Flux will apply it, when the project's
 * `gitops/` holds the stack's path: what the root Kustomization applies, what each Flux
 * Kustomization applies (built, namespaced, substituted with the program's settings by Flux's
 * code when `substituteDocs` is given, else as the tree writes them), and
 * with `topology`, each workload Cluster's objects as Cluster API's real topology controller
 * expands them in the test bed (render/topologyBed.ts).
 */
export async function gitopsArtifacts(
    treeDir: string,
    envPath: string,
    settings: Record<string, string>,
    topology = false,
    substituteDocs?: Substituter,
): Promise<{ file: string; text: string }[]> {
    if (!fs.existsSync(path.join(treeDir, envPath))) {
        return [];
    }
    const env = readEnvironment(treeDir, envPath, settings, substituteDocs);
    const note = env.substituted ? "" : `${UNSUBSTITUTED_NOTE}\n`;
    const out = [{ file: `gitops/${FLUX_ROOT_NAME}.yaml`, text: note + yamlStream(env.root.map((d) => d.object)) }];
    for (const u of env.units) {
        out.push({ file: `gitops/${u.kustomization.object.metadata.name}.yaml`, text: note + yamlStream(u.documents.map((d) => d.object)) });
    }
    if (topology) {
        for (const [cluster, objects] of await expandTopologies(env.units.flatMap((u) => u.documents.map((d) => d.object)))) {
            out.push({ file: `gitops/topology/${cluster}.yaml`, text: yamlStream(objects) });
        }
    }
    return out;
}

/** Writes a file, creating its directory. */
function write(file: string, text: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
}

/** Options of {@link renderStack}. */
export interface RenderOptions {
    /** Stack name (reads `Pulumi.<stack>.yaml`). */
    stack: string;
    /** Output directory (emptied first). */
    outDir: string;
    /** Project directory; defaults to the repository root. */
    projectDir?: string;
    /** The simulated cloud. */
    cloud?: MockCloudOptions;
    /** Environment (the passphrase); defaults to the process's. */
    env?: NodeJS.ProcessEnv;
    /** Also compute the replacement map (every setting changed once: about 45 more renders). */
    map?: boolean;
    /** Also write gitops/topology/: the workload Clusters as the test bed's real topology controller expands them. */
    topology?: boolean;
}

/** What a render wrote and what the reader must know about it. */
export interface RenderReport {
    /** Files written, relative to the output directory. */
    files: string[];
    /** Things that are not as on a real `up` (placeholders, missing GitOps path). */
    warnings: string[];
    /** Values the simulated cloud made up. */
    simulated: Record<string, string>;
    /** What render prints about the replacement map, when computed. */
    map?: string[];
}

/** A render that must not write anything: the problems, listed. */
export class RenderError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "RenderError";
    }
}

/**
 * Evaluates the stack, checks it as `pulumi up` would (config, then preflight), and only
 * then writes its artifacts: a failure writes nothing and leaves the output directory as it
 * was. Throws pulumi's RunError (bad config, preflight) or {@link RenderError}.
 */
export async function renderStackReport(opts: RenderOptions): Promise<RenderReport> {
    const projectDir = opts.projectDir ?? path.resolve(__dirname, "..");
    const file = readStackConfigFile(projectDir, opts.stack, opts.env ?? process.env);
    let config: ReturnType<typeof loadStackConfig> | undefined;
    const { resources, result } = await evaluate({ stack: opts.stack, config: file.config, secretKeys: file.secretKeys, cloud: opts.cloud }, () => {
        config = loadStackConfig();
        return program(config, plannedReleases());
    });
    const checked = await valueOf(result.preflight);
    if (checked.problems.length > 0) {
        throw preflightError(checked.problems);
    }

    const simulated = simulatedValues(opts.cloud);
    const warnings: string[] = [];
    if (file.placeholders.length > 0) {
        warnings.push(`secure values not decrypted: ${PULUMI_CLI_MISSING}; rendered with placeholders of the right shape: ${file.placeholders.join(", ")}`);
    }
    const out: { rel: string; text: string }[] = [];
    const emit = (rel: string, text: string) => out.push({ rel, text });

    emit("resources.json", JSON.stringify(resourcesDocument(opts.stack, resources, config!, simulated), null, 2) + "\n");
    emit("outputs.json", JSON.stringify(await outputsDocument(result.outputs), null, 2) + "\n");

    const instance = resources.find((r) => r.type === "openstack:compute/instance:Instance");
    if (instance) {
        // The only private value in user-data is the host key, a placeholder offline.
        emit("user-data.yaml", String(reveal(instance.inputs.userData)));
    }

    emit("kind-config.yaml", await valueOf(result.artifacts.kindConfig));

    for (const m of manifestsOf(resources)) {
        emit(m.file, toYaml(m.object));
    }

    if (config!.gitops) {
        const treeDir = path.join(projectDir, "gitops");
        if (!fs.existsSync(path.join(treeDir, config!.gitops.path))) {
            warnings.push(
                `gitops.path ${config!.gitops.path} is not in this project's gitops/ tree: render wrote no gitops/ files, and Flux will apply whatever the repository holds there`,
            );
        }
        const settings = fluxSettingsData({ workloadNamespace: config!.workloadNamespace, managementAddress: await valueOf(result.outputs.floatingIp) });
        if (fs.existsSync(path.join(treeDir, config!.gitops.path))) {
            // The tree's rules, as `npm run validate` applies them to any repository.
            const tree = validateEnvironment(treeDir, config!.gitops.path, config!.workloadNamespace);
            if (tree.problems.length > 0) {
                throw new Error(
                    `gitops/${config!.gitops.path.replace(/^\.\//, "")} breaks the tree's rules (npm run validate -- gitops):\n` +
                        tree.problems.map((p) => `  - ${p}`).join("\n"),
                );
            }
        }
        const envsubst = fluxEnvsubstPath();
        if (envsubst.missing) {
            warnings.push(
                `gitops/ NOT substituted: the objects stand as the tree writes them (\${WORKLOAD_NAMESPACE}, \${MANAGEMENT_EGRESS_CIDR} ...); Flux's own substitution needs the test bed's flux-envsubst (${envsubst.missing})`,
            );
        }
        const substituteDocs = envsubst.path ? fluxSubstituter(envsubst.path) : undefined;
        // The topology controller needs real namespaces and addresses: substituted objects only.
        const unavailable = opts.topology ? (topologyUnavailable() ?? (substituteDocs ? undefined : "the objects are not substituted")) : undefined;
        if (!opts.topology || unavailable) {
            warnings.push(
                `gitops/topology/ not written: the workload Clusters' expanded objects come from Cluster API's real topology controller (${unavailable ? `the test bed cannot run it: ${unavailable}` : "ask with --topology; needs the test bed"}, docs/render.md)`,
            );
        }
        for (const a of await gitopsArtifacts(treeDir, config!.gitops.path, settings, opts.topology === true && !unavailable, substituteDocs)) {
            emit(a.file, a.text);
        }
    }

    commandsInRunOrder(resources).forEach((cmd, i) => {
        const stdin = cmd.inputs.stdin;
        const text = typeof stdin === "string" ? stdin : `# ${REDACTED}: this step's script is secret\n`;
        emit(`scripts/${String(i + 1).padStart(2, "0")}-${cmd.name}.sh`, text);
    });

    let map: string[] | undefined;
    if (opts.map) {
        const report = replacementMapReport(opts.stack, await settingsMap(opts.stack, { projectDir }));
        emit("replacement-map.md", report.markdown);
        map = report.lines;
    }

    // Everything is computed: only now is the output directory replaced.
    fs.rmSync(opts.outDir, { recursive: true, force: true });
    for (const f of out) {
        write(path.join(opts.outDir, f.rel), f.text);
    }
    return { files: out.map((f) => f.rel), warnings, simulated, map };
}

/** {@link renderStackReport}, returning the files written. */
export async function renderStack(opts: RenderOptions): Promise<string[]> {
    return (await renderStackReport(opts)).files;
}

const USAGE = "npm run render -- --stack <name> [--out <dir>] [--deployed <file>] [--map] [--topology]";

/** Parses the command line ({@link USAGE}); `--help` (or `-h`) asks for {@link RENDER_HELP}. */
export function parseArgs(argv: string[]): { stack: string; out?: string; deployed?: string; map: boolean; topology?: true; help?: true } {
    const args: { stack?: string; out?: string; deployed?: string; map: boolean; topology?: true } = { map: false };
    if (argv.includes("--help") || argv.includes("-h")) {
        return { stack: "", map: false, help: true };
    }
    for (let i = 0; i < argv.length; i++) {
        const flag = ({ "--stack": "stack", "--out": "out", "--deployed": "deployed" } as const)[argv[i] as "--stack"];
        if (flag) {
            args[flag] = argv[++i];
        } else if (argv[i] === "--map" || argv[i] === "--no-map") {
            // The map is ~45 more renders: asked for (--no-map, once the default, is still accepted).
            args.map = argv[i] === "--map";
        } else if (argv[i] === "--topology") {
            args.topology = true;
        } else {
            throw new Error(`unknown argument ${argv[i]} (usage: ${USAGE})`);
        }
    }
    if (!args.stack) {
        throw new Error(`usage: ${USAGE}`);
    }
    return { ...args, stack: args.stack };
}

/** The report printed after a successful render. */
export function reportText(stack: string, outDir: string, report: RenderReport): string {
    return [
        `rendered stack ${stack} into ${outDir}:`,
        ...report.files.map((f) => `  ${f}`),
        "simulated (no cloud was asked; a real up gets these from OpenStack):",
        ...Object.entries(report.simulated).map(([k, v]) => `  ${k}: ${v}`),
        ...(report.map ?? []),
        ...report.warnings.map((w) => `warning: ${w}`),
    ].join("\n");
}

/**
 * The command ({@link USAGE}). Exits non-zero on any failure. `--deployed FILE`: the
 * self-StackReference returns that `deployed` output, so a change the lifecycle gate
 * refuses on that stack fails render with the gate's message, as `pulumi up` would.
 */
export async function main(argv: string[] = process.argv.slice(2), projectDir?: string): Promise<void> {
    await runCommand("render", async () => {
        const args = parseArgs(argv);
        if (args.help) {
            return console.log(RENDER_HELP);
        }
        const outDir = path.resolve(args.out ?? path.join("rendered", args.stack));
        const cloud = args.deployed ? { previousOutputs: previousOutputsFromFile(args.deployed) } : undefined;
        const report = await renderStackReport({ stack: args.stack, outDir, projectDir, cloud, map: args.map, topology: args.topology });
        console.log(reportText(args.stack, outDir, report));
    });
}

if (require.main === module) {
    void main();
}
