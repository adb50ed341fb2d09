/**
 * Reads the GitOps tree (`gitops/`) the way Flux applies it, offline: the environment's
 * directory, then every Flux Kustomization found there, each built like kustomize-controller
 * does: `kubectl kustomize` (the real kustomize) on the Kustomization's path with its
 * `targetNamespace`, then `postBuild` substitution from the program's settings by Flux's own
 * code when the test bed has built it (render/fluxEnvsubst.ts), else none: the objects as
 * written, their `${NAME}`s checked by name only.
 *
 * A ClusterClass's variables: render/classVariables.ts. What Cluster API's topology controller
 * makes of a Cluster (its patches' Go templates, its CEL rules) is not computed here: render
 * asks the real controller in the test bed (render/topologyBed.ts).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments, stringify } from "yaml";
import { FLUX_SETTINGS_CONFIGMAP } from "../src/shared/contract";
import { TreeError } from "./treeError";

/** A Kubernetes object as read from the tree. */
export interface TreeObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    [field: string]: any;
}

/** An object and where it came from: the directory kustomize built (relative to the tree's root). */
export interface TreeDocument {
    file: string;
    object: TreeObject;
}

/** One Flux Kustomization of an environment and what it applies. */
export interface FluxUnit {
    /** The Kustomization object itself (after the root's substitution, if any). */
    kustomization: TreeDocument;
    /** The objects it applies, built (and substituted, if the environment is). */
    documents: TreeDocument[];
}

/** An environment as Flux sees it. */
export interface Environment {
    /** Objects the root Kustomization applies (the environment's directory). */
    root: TreeDocument[];
    /** Every Flux Kustomization among them, with what it applies. */
    units: FluxUnit[];
    /** True when Flux's code substituted the variables; false: the objects stand as written. */
    substituted: boolean;
}

export { TreeError } from "./treeError";

/** The kubectl that builds the tree (`kubectl kustomize`); `KUBECTL` overrides. */
export function kubectlPath(): string {
    return process.env.KUBECTL ?? "kubectl";
}

/** Every object of a multi-document YAML text (empty documents skipped); `origin` names it in errors. */
export function parseObjects(text: string, origin: string): TreeDocument[] {
    const out: TreeDocument[] = [];
    for (const doc of parseAllDocuments(text)) {
        if (doc.errors.length > 0) {
            throw new TreeError(`${origin}: ${doc.errors[0].message}`);
        }
        const object = doc.toJS() as TreeObject | null;
        if (object === null || object === undefined) {
            continue;
        }
        if (typeof object.apiVersion !== "string" || typeof object.kind !== "string" || typeof object.metadata?.name !== "string") {
            throw new TreeError(`${origin}: a document without apiVersion, kind or metadata.name`);
        }
        out.push({ file: origin, object });
    }
    return out;
}

/**
 * Builds a directory of the tree with `kubectl kustomize`, as kustomize-controller does for
 * a Kustomization's path: with `namespace` set (its `targetNamespace`), kustomize's namespace
 * transformer puts every namespaced object there. `dir` is relative to `root`, and must hold
 * a kustomization.yaml: Flux would generate one for a directory without, but this tree always
 * writes its own, so that `kubectl kustomize` builds exactly what Flux applies.
 */
export function kustomizeBuild(root: string, dir: string, namespace?: string): TreeDocument[] {
    const rel = path.normalize(dir);
    const abs = path.resolve(root, rel);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
        throw new TreeError(`${rel}: no such directory`);
    }
    if (!fs.existsSync(path.join(abs, "kustomization.yaml"))) {
        throw new TreeError(`${rel}: no kustomization.yaml (every path Flux builds in this tree has one)`);
    }
    let target = abs;
    let wrapper: string | undefined;
    if (namespace !== undefined) {
        // What kustomize-controller does for targetNamespace: a kustomization that sets it.
        wrapper = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-kustomize-"));
        fs.writeFileSync(
            path.join(wrapper, "kustomization.yaml"),
            stringify({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", namespace, resources: [path.relative(wrapper, abs)] }),
        );
        target = wrapper;
    }
    try {
        // A built tree can exceed execFileSync's 1 MiB default output.
        const text = execFileSync(kubectlPath(), ["kustomize", target], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
        return parseObjects(text, rel);
    } catch (e) {
        if (e instanceof TreeError) {
            throw e;
        }
        const err = e as NodeJS.ErrnoException & { stderr?: string };
        if (err.code === "ENOENT") {
            throw new TreeError(`${kubectlPath()} not found: the tree is built with \`kubectl kustomize\``);
        }
        throw new TreeError(`${rel}: kubectl kustomize failed: ${String(err.stderr ?? err.message).trim()}`);
    } finally {
        if (wrapper !== undefined) {
            fs.rmSync(wrapper, { recursive: true, force: true });
        }
    }
}

/** One `${NAME}` of a text, as Flux's postBuild substitution would see it. */
export interface VariableUse {
    name: string;
    /** `${NAME:=x}`, `${NAME:-x}` or `${NAME=x}`: Flux never finds it missing (`${NAME-x}` it cannot parse). */
    hasDefault: boolean;
}

/**
 * The `${NAME}` references of a text, by name only: `$${` escapes one, and what the reference
 * becomes is never worked out here (that is Flux's code: render/fluxEnvsubst.ts, proven in
 * test/integration/fluxEnvsubst.integration.ts).
 */
export function variableUses(text: string): VariableUse[] {
    return [...text.matchAll(/(\$?)\$\{([_a-zA-Z][_a-zA-Z0-9]*)(:[=-]|=)?/g)]
        .filter((m) => m[1] === "")
        .map((m) => ({ name: m[2], hasDefault: m[3] !== undefined }));
}

/** True for a value that is one whole `${NAME}` reference (what Flux puts there is not known offline). */
export function isVariableReference(value: unknown): boolean {
    return typeof value === "string" && /^\$\{[_a-zA-Z][_a-zA-Z0-9]*\}$/.test(value);
}

/**
 * The variables of `text` Flux's strict substitution would find without a value: each
 * `${NAME}` without a default that `provided` lacks (a name scan; with nothing provided Flux
 * substitutes nothing, and nothing is missing). test/integration/fluxEnvsubst.integration.ts
 * holds it to Flux's own verdicts.
 */
export function missingVariables(text: string, provided: string[]): string[] {
    if (provided.length === 0) {
        return [];
    }
    return [
        ...new Set(
            variableUses(text)
                .filter((u) => !u.hasDefault && !provided.includes(u.name))
                .map((u) => u.name),
        ),
    ];
}

/** Documents as the tree writes them, each refused (as Flux's strict mode does) when a variable has no value. */
function asWritten(docs: TreeDocument[], provided: string[]): TreeDocument[] {
    for (const d of docs) {
        const missing = missingVariables(stringify(d.object, { lineWidth: 0 }), provided);
        if (missing.length > 0) {
            throw new TreeError(
                `${d.file}: \${${missing.join("}, ${")}} has no value: neither the program's settings (${FLUX_SETTINGS_CONFIGMAP}) nor postBuild.substitute provide it, and it has no default`,
            );
        }
    }
    return docs;
}

/** True for a Flux Kustomization (not a kustomize one). */
export function isFluxKustomization(o: TreeObject): boolean {
    return o.kind === "Kustomization" && o.apiVersion.startsWith("kustomize.toolkit.fluxcd.io/");
}

/** Flux's postBuild substitution of the documents of one directory with `vars`. */
export type Substituter = (docs: TreeDocument[], vars: Record<string, string>) => TreeDocument[];

/**
 * The environment Flux reconciles at `envPath` (relative to the tree's root, e.g.
 * `./clusters/dev`), with the values the program's settings ConfigMap provides. With
 * `substituteDocs` (Flux's own code, built by the test bed: render/fluxEnvsubst.ts) they are
 * substituted; without, every object stands as the tree writes it (`${WORKLOAD_NAMESPACE}`
 * as a namespace, `${MANAGEMENT_EGRESS_CIDR}` in a list), `substituted` is false, and only the
 * names are checked: each variable without a default must be provided.
 */
export function readEnvironment(root: string, envPath: string, settings: Record<string, string>, substituteDocs?: Substituter): Environment {
    const substitute: Substituter = substituteDocs ?? ((docs, vars) => asWritten(docs, Object.keys(vars)));
    const rootDocs = substitute(kustomizeBuild(root, envPath), settings);
    const units = rootDocs
        .filter((d) => isFluxKustomization(d.object))
        .map((k) => {
            const spec = k.object.spec as {
                path?: string;
                targetNamespace?: string;
                postBuild?: { substitute?: Record<string, string>; substituteFrom?: { kind: string; name: string }[] };
            };
            if (spec.path === undefined) {
                throw new TreeError(`${k.file}: Kustomization ${k.object.metadata.name} has no path`);
            }
            let documents = kustomizeBuild(root, spec.path, spec.targetNamespace);
            if (spec.postBuild !== undefined) {
                let vars: Record<string, string> = {};
                for (const from of spec.postBuild.substituteFrom ?? []) {
                    if (from.kind !== "ConfigMap" || from.name !== FLUX_SETTINGS_CONFIGMAP) {
                        throw new TreeError(`${k.file}: substituteFrom ${from.kind}/${from.name} is not the program's settings (${FLUX_SETTINGS_CONFIGMAP})`);
                    }
                    vars = { ...vars, ...settings };
                }
                vars = { ...vars, ...(spec.postBuild.substitute ?? {}) };
                documents = substitute(documents, vars);
            }
            return { kustomization: k, documents };
        });
    return { root: rootDocs, units, substituted: substituteDocs !== undefined };
}
