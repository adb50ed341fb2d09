/**
 * Offline render: evaluates a stack's program with its config and no cloud, and writes
 * every artifact the program would send anywhere, for review and for validators.
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { fluxSettingsData } from "../lib/clusterObjects";
import { FLUX_ROOT_NAME } from "../lib/contract";
import { loadStackConfig } from "../lib/loadConfig";
import { toolDownloads } from "../lib/versions";
import { program } from "../program";
import { readEnvironment, resolveTopology, TreeObject } from "./gitopsTree";
import { evaluate, MockCloudOptions, RecordedResource, redact, REDACTED, redactLeaves, reveal, valueOf } from "./engine";

/** The project's config namespace, as Pulumi.yaml names it. */
const PROJECT = "capi-mgmt";

/** A stack's config file turned into what the Pulumi runtime would hold. */
export interface StackConfigFile {
    /** `ns:key` → value (objects as JSON text). */
    config: Record<string, string>;
    /** Keys whose values are encrypted in the file (render cannot read them). */
    secretKeys: string[];
}

/** Reads `Pulumi.<stack>.yaml` from the project directory. */
export function readStackConfigFile(projectDir: string, stack: string): StackConfigFile {
    const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`no stack config file ${file}`);
    }
    const doc = (parseYaml(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [rawKey, value] of Object.entries(doc.config ?? {})) {
        const key = rawKey.includes(":") ? rawKey : `${PROJECT}:${rawKey}`;
        if (typeof value === "object" && value !== null && "secure" in value) {
            config[key] = REDACTED;
            secretKeys.push(key);
        } else {
            config[key] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    return { config, secretKeys };
}

/** A short, unique reference to a resource: `type::name`. */
function refOf(urn: string): string {
    const parts = urn.split("::");
    const types = parts[parts.length - 2] ?? "";
    return `${types.split("$").pop()}::${parts[parts.length - 1]}`;
}

/** resources.json: one entry per resource in registration order, secrets redacted. */
export function resourcesDocument(stack: string, resources: RecordedResource[], config: ReturnType<typeof loadStackConfig>): unknown {
    return {
        stack,
        resources: resources.map((r) => ({
            type: r.type,
            name: r.name,
            parent: r.parent ? refOf(r.parent) : null,
            dependsOn: r.dependsOn.map(refOf).sort(),
            options: {
                ...(r.options.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
                ...(r.options.ignoreChanges.length ? { ignoreChanges: r.options.ignoreChanges } : {}),
                ...(r.options.replaceOnChanges.length ? { replaceOnChanges: r.options.replaceOnChanges } : {}),
                ...(r.options.deletedWith ? { deletedWith: refOf(r.options.deletedWith) } : {}),
                ...(r.options.protect ? { protect: true } : {}),
            },
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

/**
 * The environment's part of the GitOps tree as Flux will apply it, when the project's
 * `gitops/` holds the stack's path: what the root Kustomization applies, what each Flux
 * Kustomization applies (built, namespaced, substituted with the program's settings), and
 * for each workload Cluster the templates Cluster API derives from its class.
 */
export function gitopsArtifacts(treeDir: string, envPath: string, settings: Record<string, string>): { file: string; text: string }[] {
    if (!fs.existsSync(path.join(treeDir, envPath))) {
        return [];
    }
    const env = readEnvironment(treeDir, envPath, settings);
    const out = [{ file: `gitops/${FLUX_ROOT_NAME}.yaml`, text: yamlStream(env.root.map((d) => d.object)) }];
    const all: TreeObject[] = env.units.flatMap((u) => u.documents.map((d) => d.object));
    for (const u of env.units) {
        out.push({ file: `gitops/${u.kustomization.object.metadata.name}.yaml`, text: yamlStream(u.documents.map((d) => d.object)) });
    }
    for (const cluster of all.filter((o) => o.kind === "Cluster" && o.spec?.topology !== undefined)) {
        const topology = resolveTopology(cluster, all);
        out.push({ file: `gitops/topology/${cluster.metadata.name}.yaml`, text: yamlStream(topology.templates.map((t) => t.object)) });
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
}

/**
 * Evaluates the stack and writes its artifacts. Throws (with pulumi's RunError for bad
 * config) exactly where `pulumi up` would stop. Returns the list of files written.
 */
export async function renderStack(opts: RenderOptions): Promise<string[]> {
    const projectDir = opts.projectDir ?? path.resolve(__dirname, "..");
    const file = readStackConfigFile(projectDir, opts.stack);
    let config: ReturnType<typeof loadStackConfig> | undefined;
    const { resources, result } = await evaluate(
        { stack: opts.stack, config: file.config, secretKeys: file.secretKeys, cloud: opts.cloud },
        () => {
            config = loadStackConfig();
            return program(config);
        },
    );

    fs.rmSync(opts.outDir, { recursive: true, force: true });
    const written: string[] = [];
    const emit = (rel: string, text: string) => {
        write(path.join(opts.outDir, rel), text);
        written.push(rel);
    };

    emit("resources.json", JSON.stringify(resourcesDocument(opts.stack, resources, config!), null, 2) + "\n");

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
        const settings = fluxSettingsData({ workloadNamespace: config!.workloadNamespace, managementAddress: await valueOf(result.outputs.floatingIp) });
        for (const a of gitopsArtifacts(path.join(projectDir, "gitops"), config!.gitops.path, settings)) {
            emit(a.file, a.text);
        }
    }

    commandsInRunOrder(resources).forEach((cmd, i) => {
        const stdin = cmd.inputs.stdin;
        const text = typeof stdin === "string" ? stdin : `# ${REDACTED}: this step's script is secret\n`;
        emit(`scripts/${String(i + 1).padStart(2, "0")}-${cmd.name}.sh`, text);
    });

    return written;
}

/** Parses `--stack <name> [--out <dir>]`. */
function parseArgs(argv: string[]): { stack: string; out?: string } {
    let stack: string | undefined;
    let out: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--stack") {
            stack = argv[++i];
        } else if (argv[i] === "--out") {
            out = argv[++i];
        } else {
            throw new Error(`unknown argument ${argv[i]} (usage: npm run render -- --stack <name> [--out <dir>])`);
        }
    }
    if (!stack) {
        throw new Error("usage: npm run render -- --stack <name> [--out <dir>]");
    }
    return { stack, out };
}

async function main(): Promise<void> {
    try {
        const args = parseArgs(process.argv.slice(2));
        const outDir = path.resolve(args.out ?? path.join("rendered", args.stack));
        const files = await renderStack({ stack: args.stack, outDir });
        console.log(`rendered stack ${args.stack} into ${outDir}:\n${files.map((f) => `  ${f}`).join("\n")}`);
    } catch (e) {
        console.error(`render failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
    }
}

if (require.main === module) {
    void main();
}
