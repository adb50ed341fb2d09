/**
 * `npm run diagram`: writes docs/architecture.md, Mermaid diagrams of what `pulumi up` and
 * `pulumi destroy` do and of the GitOps tree, drawn from the program's real dependency graph
 * (the dev stack under the mock engine) and from the tree as Flux builds it, and the shape of
 * the code (./codeLayout.ts). A test
 * regenerates the file and fails when the checked-in one differs, so it cannot go stale.
 */
import * as fs from "fs";
import * as path from "path";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { loadStackConfig } from "../src/config/loadConfig";
import { program } from "../program";
import { codeLayoutSection } from "./codeLayout";
import { runCommand } from "./command";
import { evaluate, RecordedResource } from "./engine";
import { Environment, readEnvironment } from "./gitopsTree";
import { commandsInRunOrder, readStackConfigFile } from "./render";
import { plannedReleases } from "../src/versions/releaseCache";

/** The program's root component: its children are the diagram's nodes. */
const ROOT_TYPE = "capi-mgmt:index:CapiManagement";

/** `type::name` of a resource, its node id. */
function keyOf(r: RecordedResource): string {
    const kind = r.type.startsWith("pulumi:providers:") ? `${r.type.split(":").pop()} provider` : r.type.split(":").pop();
    return `${kind}::${r.name}`;
}

/** A Mermaid node id: letters, digits and underscores. */
function idOf(key: string): string {
    return key.replace(/[^A-Za-z0-9]+/g, "_");
}

/** A node's label: the component's kind and logical name. */
function labelOf(key: string): string {
    const [kind, name] = key.split("::");
    return `${kind}<br/>${name}`;
}

/**
 * The children of the root component, and which depends on which: an edge A → B when any
 * resource under B depends on any resource under A.
 */
export function componentGraph(resources: RecordedResource[]): { nodes: string[]; edges: [string, string][] } {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const root = resources.find((r) => r.type === ROOT_TYPE);
    if (!root) {
        throw new Error(`no ${ROOT_TYPE} in the program`);
    }
    /** The child of the root a resource belongs to (undefined: outside the root). */
    const top = (r: RecordedResource | undefined): RecordedResource | undefined => {
        let cur = r;
        while (cur && cur.parent !== root.urn) {
            cur = cur.parent ? byUrn.get(cur.parent) : undefined;
        }
        return cur;
    };
    const nodes = resources.filter((r) => r.parent === root.urn).map(keyOf);
    const edges = new Map<string, [string, string]>();
    for (const r of resources) {
        const to = top(r);
        for (const d of r.dependsOn) {
            const from = top(byUrn.get(d));
            if (to && from && from !== to) {
                const e: [string, string] = [keyOf(from), keyOf(to)];
                edges.set(e.join(" "), e);
            }
        }
    }
    return { nodes, edges: [...edges.values()].sort((a, b) => a.join(" ").localeCompare(b.join(" "))) };
}

function flowchart(direction: "TD" | "LR", nodes: string[], edges: [string, string][]): string {
    return [
        "```mermaid",
        `flowchart ${direction}`,
        ...nodes.map((n) => `    ${idOf(n)}["${labelOf(n)}"]`),
        ...edges.map(([a, b]) => `    ${idOf(a)} --> ${idOf(b)}`),
        "```",
    ].join("\n");
}

/** The Flux Kustomizations of an environment, in dependency order, with the kinds each applies. */
function gitopsFlowchart(env: Environment): string {
    const units = env.units.map((u) => {
        const kinds = [...new Set(u.documents.map((d) => d.object.kind))].sort();
        return {
            name: u.kustomization.object.metadata.name as string,
            kinds,
            deps: ((u.kustomization.object.spec.dependsOn ?? []) as { name: string }[]).map((d) => d.name),
        };
    });
    return [
        "```mermaid",
        "flowchart LR",
        ...units.map((u) => `    ${idOf(u.name)}["Kustomization ${u.name}<br/>${u.kinds.join(", ")}"]`),
        ...units.flatMap((u) => u.deps.map((d) => `    ${idOf(d)} --> ${idOf(u.name)}`)),
        "```",
    ].join("\n");
}

/** docs/architecture.md, from the dev stack's graph and its GitOps environment. */
export async function architectureDocument(projectDir: string): Promise<string> {
    const file = readStackConfigFile(projectDir, "dev", {});
    let gitopsPath: string | undefined;
    const { resources } = await evaluate({ stack: "dev", config: file.config, secretKeys: file.secretKeys }, () => {
        const config = loadStackConfig();
        gitopsPath = config.gitops?.path;
        return program(config, plannedReleases());
    });
    if (gitopsPath === undefined) {
        throw new Error("the dev stack configures no gitops");
    }
    const graph = componentGraph(resources);
    const steps = commandsInRunOrder(resources).map((c) => c.name);
    const settings = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });
    const env = readEnvironment(path.join(projectDir, "gitops"), gitopsPath, settings);
    return [
        "# Architecture",
        "",
        "<!-- Generated by `npm run diagram` from the dev stack's resource graph (mock engine) and its",
        "     GitOps environment; test/diagram.spec.ts fails when this file is stale. Do not edit. -->",
        "",
        "## `pulumi up`",
        "",
        "The program's components; an arrow A → B: something of B waits for something of A.",
        "Preflight has no arrows: every component waits for its gate, which fails the run with every",
        "problem before anything is created, and holds no resource when it passes.",
        "",
        flowchart("TD", graph.nodes, graph.edges),
        "",
        "The steps on the server, in the order they run:",
        "",
        ...steps.map((s, i) => `${i + 1}. \`${s}\``),
        "",
        "## `pulumi destroy`",
        "",
        "The same graph walked backwards: an arrow A → B: A is deleted before B. The teardown, which",
        "depends on everything its run needs, goes first: it deletes the workload clusters while the",
        'server, its credentials and the kind cluster still exist (docs/operations.md, "What `pulumi',
        'destroy` does").',
        "",
        flowchart(
            "TD",
            graph.nodes,
            graph.edges.map(([a, b]): [string, string] => [b, a]),
        ),
        "",
        "## The GitOps tree (dev)",
        "",
        "Flux's Kustomizations and what each applies; an arrow A → B: B waits for A to be healthy.",
        "",
        gitopsFlowchart(env),
        "",
        ...codeLayoutSection(projectDir),
    ].join("\n");
}

/** The file the command writes. */
export const ARCHITECTURE_FILE = path.join("docs", "architecture.md");

if (require.main === module) {
    const projectDir = path.join(__dirname, "..");
    void runCommand("diagram", async () => {
        fs.writeFileSync(path.join(projectDir, ARCHITECTURE_FILE), await architectureDocument(projectDir));
        console.log(`wrote ${ARCHITECTURE_FILE}`);
    });
}
