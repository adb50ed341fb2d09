/**
 * `npm run plan`: what `pulumi up` on a stack's current config would do, before any `up`,
 * compared with a previous render (`--against DIR`, the main path: per resource create,
 * update, replace or delete, with the reason) or with what the stack's `deployed` output
 * records (`--deployed FILE`: the lifecycle gate's verdict and the recorded state's
 * changes, nothing more). Modelled under the mock engine (src/lifecycle/plan.ts), never proven.
 */
import * as fs from "fs";
import * as path from "path";
import { StackConfig } from "../src/config";
import { DEPLOYED_OUTPUT, DeployedState, lifecycleProblems, previousDeployment } from "../src/lifecycle/lifecycle";
import { loadStackConfig } from "../src/config/loadConfig";
import { parseResourcesDocument, planChanges, planLines, registrationsOf, ResourcesDocument } from "../src/lifecycle/plan";
import { program } from "../program";
import { preflightError } from "../src/cloud/preflight";
import { runCommand } from "./command";
import { PULUMI_CLI_MISSING } from "./secrets";
import { evaluate, MockCloudOptions, simulatedValues, valueOf } from "./engine";
import { readStackConfigFile, resourcesDocument } from "./render";
import { previousOutputsFromFile } from "./renderOutputs";
import { resolvedOf } from "./settingsMap";
import { plannedReleases } from "../src/versions/releaseCache";

export const USAGE = `usage: npm run plan -- --stack <name> (--against <dir> | --deployed <file>)

What \`pulumi up\` on the stack's current config would do, modelled offline (mock engine, no cloud):
  --against <dir>    compare with a previous \`npm run render\` output directory (its resources.json):
                     per resource create / update / replace / delete, with the reason, and a summary
  --deployed <file>  what \`pulumi stack output --json deployed\` prints: the lifecycle gate's verdict
                     (a refusal fails, as \`pulumi up\` would) and what the recorded state says changes
  --help             this text
Both may be given: the gate then judges against the file. See docs/render.md.`;

/** The command line. */
export type PlanArgs = { help: true } | { help: false; stack: string; against?: string; deployed?: string };

/** Parses the command line ({@link USAGE}). */
export function parseArgs(argv: string[]): PlanArgs {
    const args: { stack?: string; against?: string; deployed?: string } = {};
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--help" || argv[i] === "-h") {
            return { help: true };
        }
        const flag = ({ "--stack": "stack", "--against": "against", "--deployed": "deployed" } as const)[argv[i] as "--stack"];
        if (!flag || argv[i + 1] === undefined) {
            throw new Error(`${flag ? `${argv[i]} needs a value` : `unknown argument ${argv[i]}`}\n${USAGE}`);
        }
        args[flag] = argv[++i];
    }
    if (!args.stack || (!args.against && !args.deployed)) {
        throw new Error(USAGE);
    }
    return { help: false, ...args, stack: args.stack };
}

/** A previous render: its resources and, when it wrote one, its `deployed` output. */
interface PreviousRender {
    doc: ResourcesDocument;
    deployed?: DeployedState;
}

/** Reads a render's output directory, with errors naming it. */
export function readPreviousRender(dir: string, stack: string): PreviousRender {
    const file = path.join(dir, "resources.json");
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
        throw new Error(`--against ${dir}: no such directory (give the output directory of an earlier \`npm run render -- --stack ${stack}\`)`);
    }
    if (!fs.existsSync(file)) {
        throw new Error(`--against ${dir}: it holds no resources.json (not an \`npm run render\` output directory)`);
    }
    const doc = parseResourcesDocument(fs.readFileSync(file, "utf8"), `--against ${file}`);
    if (doc.stack !== stack) {
        throw new Error(`--against ${dir}: a render of stack ${doc.stack}, not ${stack}`);
    }
    const outputs = path.join(dir, "outputs.json");
    if (!fs.existsSync(outputs)) {
        return { doc };
    }
    let parsed: Record<string, unknown>;
    try {
        parsed = JSON.parse(fs.readFileSync(outputs, "utf8")) as Record<string, unknown>;
    } catch (e) {
        throw new Error(`--against ${outputs}: not JSON (${(e as Error).message})`);
    }
    const prev = previousDeployment(parsed);
    return { doc, deployed: prev.kind === "deployed" ? prev.state : undefined };
}

/** The current config, evaluated as `pulumi up` would (config, then preflight and the gate). */
interface Current {
    doc: ResourcesDocument;
    /** Per identity, per input, the identities its value comes from. */
    dependencies: Record<string, Record<string, string[]>>;
    deployed: DeployedState;
    config: StackConfig;
    placeholders: string[];
}

async function evaluateCurrent(stack: string, projectDir: string, cloud: MockCloudOptions | undefined, env: NodeJS.ProcessEnv): Promise<Current> {
    const file = readStackConfigFile(projectDir, stack, env);
    let config: StackConfig | undefined;
    const { resources, result } = await evaluate({ stack, config: file.config, secretKeys: file.secretKeys, cloud }, () => {
        config = loadStackConfig();
        return program(config, plannedReleases());
    });
    const checked = await valueOf(result.preflight);
    if (checked.problems.length > 0) {
        throw preflightError(checked.problems);
    }
    const doc = resourcesDocument(stack, resources, config!, simulatedValues(cloud)) as ResourcesDocument;
    // The mock's URNs hold only the parent's type; the document's identities hold the whole chain, as the engine's do.
    const identities = new Map(registrationsOf(doc).map((r, i) => [resources[i].urn, r.urn]));
    const dependencies = Object.fromEntries(
        resources.map((r) => [
            identities.get(r.urn)!,
            Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, us]) => [k, us.map((u) => identities.get(u) ?? u)])),
        ]),
    );
    return {
        doc,
        dependencies,
        deployed: await valueOf(result.outputs.deployed),
        config: config!,
        placeholders: file.placeholders,
    };
}

/** What the recorded state's fields mean when they change (only those a gate lets through). */
const DEPLOYED_EFFECTS: Partial<Record<keyof DeployedState, string>> = {
    serverGeneration:
        "a new port and server of the new generation are created and the old ones deleted at the end of the run; every step on the server runs again (their triggers name the server), so the kind cluster and what runs in it are new",
    flavor: "the server is resized in place (a reboot)",
    gitops: "Flux is installed or removed",
    protect: "the resources' protection changes (a change of state only)",
    workloadProject: "CAPO's and the cloud provider's credentials move to another project (new application credentials)",
    appCredentialOwner: "the application credentials belong to another user (replaced)",
};

/** The `--deployed` part: what the recorded state says changes. */
function deployedLines(recorded: DeployedState, current: Current, perResource: boolean): string[] {
    const keys = [...new Set([...Object.keys(recorded), ...Object.keys(current.deployed)])] as (keyof DeployedState)[];
    const changed = keys.filter(
        (k) => JSON.stringify(recorded[k]) !== JSON.stringify(current.deployed[k]) && !(k === "availabilityZone" && current.deployed[k] === ""),
    );
    const servers = current.doc.resources
        .filter((r) => r.type === "openstack:compute/instance:Instance" || r.type === "openstack:networking/port:Port")
        .map((r) => r.name);
    const what = "`deployed` records only the server generation, prefix, flavor, zone, networks, GitOps, workload project, credential owner and protection";
    return [
        perResource
            ? `${what}; of these:`
            : `${what}; no other input is in it, so no per-resource plan: render the config the stack was deployed with and use --against for one (docs/render.md).`,
        ...(changed.length === 0
            ? ["  nothing it records changes"]
            : changed.map((k) => {
                  const effect = DEPLOYED_EFFECTS[k];
                  const extra = k === "serverGeneration" ? ` (creates ${servers.join(", ")})` : "";
                  return `  ${k}: ${JSON.stringify(recorded[k] ?? null)} → ${JSON.stringify(current.deployed[k] ?? null)}${effect ? `: ${effect}${extra}` : ""}`;
              })),
    ];
}

/** Options of {@link planStack}. */
export interface PlanOptions {
    stack: string;
    /** A previous render's output directory. */
    against?: string;
    /** A file with the stack's `deployed` output. */
    deployed?: string;
    projectDir?: string;
    env?: NodeJS.ProcessEnv;
}

/** What {@link planStack} prints, and whether `pulumi up` would refuse the run. */
export interface PlanReport {
    lines: string[];
    refused: boolean;
}

/** The plan of a stack's current config ({@link USAGE}). Throws on bad input or a refusal `up` would print. */
export async function planStack(opts: PlanOptions): Promise<PlanReport> {
    const projectDir = opts.projectDir ?? path.resolve(__dirname, "..");
    const previous = opts.against ? readPreviousRender(opts.against, opts.stack) : undefined;
    const outputs = opts.deployed ? previousOutputsFromFile(opts.deployed) : undefined;
    // With --deployed the program's own gate runs (a refusal throws here, as `pulumi up` fails).
    const current = await evaluateCurrent(opts.stack, projectDir, outputs ? { previousOutputs: outputs } : undefined, opts.env ?? process.env);
    const lines = [
        `modelled under the mock engine, not proven: what \`pulumi up\` on stack ${opts.stack}'s current config would do, compared with ${
            previous ? `the render in ${opts.against}` : `the \`deployed\` output in ${opts.deployed}`
        } (no cloud asked, nothing run)`,
    ];
    if (current.placeholders.length > 0) {
        lines.push(`note: secure values not decrypted (${PULUMI_CLI_MISSING}), rendered with placeholders: ${current.placeholders.join(", ")}`);
    }
    let refused: string[] = [];
    if (outputs) {
        lines.push(`the lifecycle gate lets this run through (judged against ${opts.deployed})`);
    } else if (previous?.deployed) {
        // As the map does (render/settingsMap.ts): the previous render's `deployed` as the live stack.
        const live = { ...previous.deployed, availabilityZone: previous.deployed.availabilityZone || "nova" };
        refused = lifecycleProblems(previousDeployment({ [DEPLOYED_OUTPUT]: live }), current.config, resolvedOf(current.deployed));
        lines.push(
            refused.length === 0
                ? "the lifecycle gate, taking the previous render as what is deployed, lets this run through"
                : `pulumi up would refuse this run (the lifecycle gate, taking the previous render as what is deployed): nothing would change; were it applied:\n${refused.map((p) => `  - ${p}`).join("\n")}`,
        );
    }
    if (previous) {
        for (const [k, v] of Object.entries(current.doc.simulated ?? {})) {
            const was = previous.doc.simulated?.[k];
            if (was !== undefined && was !== v) {
                lines.push(`note: the previous render simulated ${k} as "${was}", this one as "${v}": differences may come from that, not from the config`);
            }
        }
        lines.push(...planLines(planChanges(previous.doc, current.doc, current.dependencies)));
    }
    if (outputs) {
        lines.push(...deployedLines(outputs[DEPLOYED_OUTPUT] as DeployedState, current, previous !== undefined));
    }
    return { lines, refused: refused.length > 0 };
}

/** The command. Exits 0 with the plan, 1 on bad input or when `pulumi up` would refuse the run. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
    await runCommand("plan", async () => {
        const args = parseArgs(argv);
        if (args.help) {
            console.log(USAGE);
            return;
        }
        // The program's own notes (pulumi.log.info prints them without an engine) go to stderr: stdout is the plan.
        const log = console.log;
        console.log = (...a: unknown[]) => console.error(...a);
        const report = await planStack(args).finally(() => (console.log = log));
        console.log(report.lines.join("\n"));
        process.exitCode = report.refused ? 1 : 0;
    });
}

if (require.main === module) {
    void main();
}
