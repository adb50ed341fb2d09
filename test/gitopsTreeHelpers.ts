/**
 * What the specs of the GitOps tree (test/gitopsTree*.spec.ts) share: the project's
 * environments as the tree writes them (read by render/gitopsTree.ts with `kubectl kustomize`,
 * not substituted: `${WORKLOAD_NAMESPACE}` stands as the namespace, `${MANAGEMENT_EGRESS_CIDR}`
 * in the allow-lists; Flux's own substitution of them is proven in
 * test/integration/fluxEnvsubst.integration.ts), and small readers of their objects and of
 * gitops/README.md.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { ConfigError, parseStackConfig, RawConfig } from "../src/config";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { Environment, readEnvironment, TreeObject } from "../render/gitopsTree";
import { unitOf as unitOfObject } from "../render/gitopsRules";
import { readStackConfigFile } from "../render/render";
import { hasShellcheck, shellcheck, skipTest } from "./fakes/shell";
import { PROJECT_DIR } from "./harness";

export { MANAGEMENT_EGRESS_CIDR_REFERENCE, WORKLOAD_NAMESPACE_REFERENCE } from "../render/gitopsRules";

export const TREE = path.join(PROJECT_DIR, "gitops");
export const STACKS = ["dev", "prod"];
/** Exactly what the program's settings ConfigMap holds for the default namespace (its names are what the tree may use). */
export const SETTINGS = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });

/** The add-ons every labelled cluster gets (by the cloud config's label). */
export const BASE_ADDONS = ["cilium", "openstack-cinder-csi", "openstack-cloud-controller-manager"];
/** The catalog: each add-on selected by its own label only. */
export const CATALOG = ["cert-manager", "flux", "gateway-api", "ingress-nginx", "metrics-server"];
/**
 * Add-ons of the catalog Flux applies (no chart fits): per opted-in Cluster a Flux
 * Kustomization carrying the add-on's label, in the same environment as the Cluster.
 */
export const FLUX_ADDONS = ["gateway-api"];

/** The `gitops.path` a stack's config file makes Flux reconcile (defaults applied by the real parser). */
export function stackGitopsPath(stack: string): string {
    const file = readStackConfigFile(PROJECT_DIR, stack);
    const raw: RawConfig = Object.fromEntries(
        Object.entries(file.config)
            .filter(([key]) => key.startsWith("capi-mgmt:"))
            .map(([key, value]) => [key.slice("capi-mgmt:".length), value]),
    );
    try {
        const config = parseStackConfig(raw, { stack, now: new Date() });
        assert.ok(config.gitops, `Pulumi.${stack}.yaml configures no gitops`);
        return config.gitops.path;
    } catch (e) {
        assert.ok(!(e instanceof ConfigError), `Pulumi.${stack}.yaml: ${(e as Error).message}`);
        throw e;
    }
}

const environments = new Map<string, Environment>();

/** The environment a stack points Flux at, read once per process. */
export function environment(stack: string): Environment {
    let env = environments.get(stack);
    if (env === undefined) {
        env = readEnvironment(TREE, stackGitopsPath(stack), SETTINGS);
        environments.set(stack, env);
    }
    return env;
}

/** A test per stack, on its environment. */
export function each(title: string, fn: (env: Environment, stack: string) => void): void {
    for (const stack of STACKS) {
        it(`${title} (${stack})`, () => fn(environment(stack), stack));
    }
}

/** The Flux Kustomization that applies an object. */
export function unitOf(env: Environment, o: TreeObject): string {
    const unit = unitOfObject(env, o);
    assert.ok(unit, `${o.kind} ${o.metadata.name} is applied by no Kustomization`);
    return unit;
}

/** The catalog's add-ons as gitops/README.md's table lists them: name, chart version, label, label values. */
export function readmeCatalog(readme: string): { name: string; version: string; label: string; values: string[] }[] {
    const section = readme.split(/^## /m).find((s) => s.startsWith("Add-on catalog"));
    assert.ok(section, 'gitops/README.md has no section "Add-on catalog"');
    return [...section.matchAll(/^\| ([\w-]+) \| `([^`]+)` \| `([\w./-]+)`: ((?:`[\w-]+`(?:, | or )?)+) \|/gm)].map((m) => ({
        name: m[1],
        version: m[2],
        label: m[3],
        values: [...m[4].matchAll(/`([\w-]+)`/g)].map((v) => v[1]),
    }));
}

/** A Helm values template read as YAML: lines of Go template actions only dropped (both branches kept), other actions replaced by a marker. */
export function valuesOf(hcp: TreeObject): Record<string, unknown> {
    const text = String(hcp.spec.valuesTemplate).replace(/^\s*(\{\{[^}]*\}\})+\s*\n/gm, "");
    return parse(text.replace(/\{\{.*?\}\}/g, "TEMPLATE")) as Record<string, unknown>;
}

/** A Cluster's value of a variable. */
export function variable(cluster: TreeObject, name: string): unknown {
    return (cluster.spec.topology.variables as { name: string; value: unknown }[]).find((v) => v.name === name)?.value;
}

/** A copy of a Cluster with a variable set (or, with `undefined`, removed). */
export function withVariable(cluster: TreeObject, name: string, value: unknown): TreeObject {
    const out = structuredClone(cluster);
    const vars = (out.spec.topology.variables as { name: string; value: unknown }[]).filter((v) => v.name !== name);
    out.spec.topology.variables = value === undefined ? vars : [...vars, { name, value }];
    return out;
}

/** Every file of a directory, recursively, relative to it. */
export function filesOf(dir: string, rel = ""): string[] {
    return fs
        .readdirSync(path.join(dir, rel), { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? filesOf(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]));
}

/** Shellchecks a script of the class (a literal file) written to `file`; skips, saying so, without shellcheck. */
export function shellcheckLiteral(ctx: Mocha.Context, what: string, file: string, script: string): void {
    if (!hasShellcheck()) {
        skipTest(ctx, `shellcheck of ${what}`, "shellcheck");
    }
    fs.writeFileSync(file, script);
    shellcheck([file]);
}

/** A file of the ClusterClass's kubeadm config that one of its patches adds as a literal value (JSON patch structure: no template is read). */
export function literalFile(
    clusterClass: TreeObject,
    patchName: string,
    filePath: string,
): { path: string; owner: string; permissions: string; content: string } {
    const patch = (clusterClass.spec.patches as { name: string; definitions: { jsonPatches: { value?: unknown }[] }[] }[]).find((p) => p.name === patchName);
    assert.ok(patch, `the class has no patch ${patchName}`);
    const values = patch.definitions.flatMap((d) => d.jsonPatches.flatMap((j) => (Array.isArray(j.value) ? j.value : [j.value])));
    const f = values.find((v) => (v as { path?: string } | undefined)?.path === filePath);
    assert.ok(f, `patch ${patchName} adds no literal file ${filePath}`);
    return f as { path: string; owner: string; permissions: string; content: string };
}
