/**
 * A stack's rendered output (`npm run render -- --stack X --out DIR`), read back for the test bed:
 * the program's manifests in apply order, and the GitOps documents grouped by the Flux
 * Kustomization that applies them, in Flux's dependsOn order.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { KubeObject, parseDocs } from "./controlPlane";

/** Project root (this file is test/integration/harness/stack.ts). */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..", "..");

/** Documents of one file. */
export interface DocSet {
    /** Path relative to the render directory. */
    file: string;
    docs: KubeObject[];
}

/** What a Flux Kustomization applies. */
export interface KustomizationDocs extends DocSet {
    /** The Kustomization. */
    kustomization: KubeObject;
    /** Names it depends on. */
    dependsOn: string[];
}

/** A rendered stack. */
export interface RenderedStack {
    stack: string;
    dir: string;
    /** manifests/*.yaml in file order (the program's creation order). */
    manifests: DocSet[];
    /** gitops/flux-system.yaml: what the root Kustomization applies. */
    root: DocSet;
    /** The root's Kustomizations' documents, dependencies first. */
    kustomizations: KustomizationDocs[];
    /** gitops/topology/<cluster>.yaml (render --topology): each Cluster as the test bed's topology controller expanded it. */
    topology: Record<string, KubeObject[]>;
}

/** Orders Kustomizations so that each comes after what it depends on (stable otherwise). */
export function dependencyOrder<T extends { name: string; dependsOn: string[] }>(items: T[]): T[] {
    const byName = new Map(items.map((i) => [i.name, i]));
    const done = new Set<string>();
    const visiting = new Set<string>();
    const out: T[] = [];
    const visit = (i: T) => {
        if (done.has(i.name)) {
            return;
        }
        if (visiting.has(i.name)) {
            throw new Error(`dependsOn cycle through ${i.name}`);
        }
        visiting.add(i.name);
        for (const d of i.dependsOn) {
            const dep = byName.get(d);
            if (!dep) {
                throw new Error(`${i.name} depends on unknown Kustomization ${d}`);
            }
            visit(dep);
        }
        visiting.delete(i.name);
        done.add(i.name);
        out.push(i);
    };
    items.forEach(visit);
    return out;
}

/** Runs `npm run render` for `stack` into `outDir` (with `extra` arguments, e.g. `--topology`) and reads the result. */
export function renderStack(stack: string, outDir: string, extra: string[] = []): RenderedStack {
    // --no-map: the replacement map (45 more renders) is not what the test bed reads.
    const r = spawnSync("npm", ["run", "--silent", "render", "--", "--stack", stack, "--out", outDir, "--no-map", ...extra], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        timeout: 300_000,
    });
    if (r.status !== 0) {
        throw new Error(`npm run render -- --stack ${stack} failed (${r.status}):\n${r.stderr}${r.stdout}`);
    }
    return readRendered(stack, outDir);
}

/** Reads a render directory. */
export function readRendered(stack: string, dir: string): RenderedStack {
    const read = (rel: string): DocSet => ({ file: rel, docs: parseDocs(fs.readFileSync(path.join(dir, rel), "utf8")) });
    const manifests = fs
        .readdirSync(path.join(dir, "manifests"))
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((f) => read(path.join("manifests", f)));
    const rootFile = path.join("gitops", "flux-system.yaml");
    if (!fs.existsSync(path.join(dir, rootFile))) {
        throw new Error(`render of ${stack} wrote no ${rootFile}: is the stack's gitops.path in this repository's gitops/ tree?`);
    }
    const root = read(rootFile);
    const ks = root.docs.filter((d) => d.kind === "Kustomization");
    const items = ks.map((k) => ({
        name: k.metadata.name,
        dependsOn: ((k.spec as { dependsOn?: { name: string }[] }).dependsOn ?? []).map((d) => d.name),
        kustomization: k,
        ...read(path.join("gitops", `${k.metadata.name}.yaml`)),
    }));
    const topology: Record<string, KubeObject[]> = {};
    const topoDir = path.join(dir, "gitops", "topology");
    if (fs.existsSync(topoDir)) {
        for (const f of fs.readdirSync(topoDir).filter((x) => x.endsWith(".yaml"))) {
            topology[f.replace(/\.yaml$/, "")] = read(path.join("gitops", "topology", f)).docs;
        }
    }
    return { stack, dir, manifests, root, kustomizations: dependencyOrder(items), topology };
}
