/**
 * The rules a GitOps repository laid out like `gitops/` must follow, as pure functions over
 * an environment that render/gitopsTree.ts built the way Flux builds it. Each returns the
 * problems it finds, each naming the object (and the cluster) it is about; `npm run
 * validate` runs them on any repository, `npm test` on the project's tree and on a fixture
 * repository with several clusters and deliberate mistakes.
 */
import * as ipaddr from "ipaddr.js";
import * as semver from "semver";
import { isDeepStrictEqual } from "util";
import { CLOUD_CONFIG_LABEL, FLUX_NAMESPACE, FLUX_ROOT_NAME, FLUX_SETTINGS_KEYS } from "../src/shared/contract";
import {
    ADDON_LABEL_PREFIX,
    CONTROL_PLANE_REPLICAS,
    dependencies,
    NEEDS_HEALTH_EXPRESSION,
    ofKind,
    SCS_FLAVOR,
    selectorKeys,
    selects,
    unitOf,
    variablesOf,
} from "./gitopsEnv";
import { Environment, isFluxKustomization, TreeObject } from "./gitopsTree";

export * from "./gitopsEnv";
export { imageProblems, imageReferenceProblems, placementProblems } from "./gitopsMachineRules";

/** `${WORKLOAD_NAMESPACE}`, as the tree writes it. */
export const WORKLOAD_NAMESPACE_REFERENCE = `\${${FLUX_SETTINGS_KEYS.workloadNamespace}}`;

/** `${MANAGEMENT_EGRESS_CIDR}`, as the tree writes it. */
export const MANAGEMENT_EGRESS_CIDR_REFERENCE = `\${${FLUX_SETTINGS_KEYS.managementEgressCidr}}`;

/** What the root and the Flux Kustomizations of an environment must be (source, pruning, health, namespace). */
export function fluxUnitProblems(env: Environment, workloadNamespace: string, pathExists: (p: string) => boolean): string[] {
    const problems: string[] = [];
    for (const d of env.root) {
        if (!isFluxKustomization(d.object)) {
            problems.push(`${d.file}: ${d.object.kind} ${d.object.metadata.name}: the environment's directory may hold Flux Kustomizations only`);
        }
    }
    for (const u of env.units) {
        const k = u.kustomization.object;
        const what = `${u.kustomization.file}: Kustomization ${k.metadata.name}`;
        if (k.metadata.namespace !== FLUX_NAMESPACE) problems.push(`${what} is not in ${FLUX_NAMESPACE}`);
        if (!isDeepStrictEqual(k.spec.sourceRef, { kind: "GitRepository", name: FLUX_ROOT_NAME })) {
            problems.push(`${what} does not sync from the program's GitRepository ${FLUX_ROOT_NAME}`);
        }
        if (k.spec.prune !== true) problems.push(`${what} does not prune: objects removed from Git would stay`);
        if (k.spec.wait !== true) problems.push(`${what} does not wait for what it applies to be healthy`);
        if (!/^\d+m$/.test(String(k.spec.timeout ?? ""))) problems.push(`${what} has no bounded timeout (such as 20m)`);
        // Read without Flux's substitution, the reference stands as written.
        const namespaces = env.substituted ? [workloadNamespace] : [workloadNamespace, WORKLOAD_NAMESPACE_REFERENCE];
        if (!namespaces.includes(k.spec.targetNamespace)) {
            problems.push(`${what} has targetNamespace ${k.spec.targetNamespace}, not ${namespaces.join(" or ")}`);
        }
        if (!pathExists(k.spec.path)) problems.push(`${what}: path ${k.spec.path} has no kustomization.yaml`);
        if (u.documents.length === 0) problems.push(`${what} applies nothing`);
        const exprs = (k.spec.healthCheckExprs ?? []) as { apiVersion: string; kind: string }[];
        for (const kind of new Set(
            u.documents
                .map((d) => d.object)
                .filter((o) => NEEDS_HEALTH_EXPRESSION.includes(o.kind))
                .map((o) => `${o.apiVersion} ${o.kind}`),
        )) {
            if (!exprs.some((e) => `${e.apiVersion} ${e.kind}` === kind)) {
                problems.push(`${what} has no healthCheckExprs for ${kind}: Flux cannot tell when it is ready`);
            }
        }
    }
    return problems;
}

/** dependsOn names Kustomizations that exist, without cycles; names are unique; Clusters wait for their class, images and add-ons. */
export function orderProblems(env: Environment): string[] {
    const problems: string[] = [];
    const names = env.units.map((u) => u.kustomization.object.metadata.name);
    for (const [i, n] of names.entries()) {
        if (names.indexOf(n) !== i) problems.push(`Kustomization ${n} is defined twice`);
    }
    for (const name of new Set(names)) {
        const deps = dependencies(env, name);
        for (const d of deps) {
            if (!names.includes(d)) problems.push(`Kustomization ${name} depends on ${d}, which the environment does not define`);
        }
        if (deps.has(name)) problems.push(`Kustomization ${name} depends on itself (a dependsOn cycle)`);
    }
    for (const cluster of ofKind(env, "Cluster")) {
        const unit = unitOf(env, cluster);
        const deps = unit ? dependencies(env, unit) : new Set<string>();
        const needed = [
            ...ofKind(env, "ClusterClass").filter((c) => c.metadata.name === cluster.spec?.topology?.classRef?.name),
            ...ofKind(env, "Image"),
            ...ofKind(env, "HelmChartProxy"),
        ];
        for (const o of needed) {
            const other = unitOf(env, o);
            if (other !== undefined && other !== unit && !deps.has(other)) {
                problems.push(`Cluster ${cluster.metadata.name} is applied by ${unit}, which does not wait for ${other} (${o.kind} ${o.metadata.name})`);
            }
        }
    }
    return problems;
}

/** Names, sizes, versions and variables of every Cluster, and the labels it needs. */
export function clusterProblems(all: TreeObject[]): string[] {
    const problems: string[] = [];
    const clusters = all.filter((o) => o.kind === "Cluster");
    const seen = new Set<string>();
    for (const cluster of clusters) {
        const name = `Cluster ${cluster.metadata.name}`;
        const key = `${cluster.metadata.namespace}/${cluster.metadata.name}`;
        if (seen.has(key)) problems.push(`${name} is defined twice in namespace ${cluster.metadata.namespace}`);
        seen.add(key);
        const replicas = cluster.spec?.topology?.controlPlane?.replicas ?? 1;
        if (!CONTROL_PLANE_REPLICAS.includes(replicas)) {
            problems.push(
                `${name}: ${replicas} control plane nodes; use 1, 3 or 5 (etcd needs a majority: ${replicas} tolerates no more failures than ${replicas - 1})`,
            );
        }
        const version = cluster.spec?.topology?.version;
        if (typeof version !== "string" || semver.valid(version) === null || !version.startsWith("v")) {
            problems.push(`${name}: spec.topology.version ${JSON.stringify(version)} is not a Kubernetes version such as v1.35.8`);
        }
        if (cluster.metadata.labels?.[CLOUD_CONFIG_LABEL.key] !== CLOUD_CONFIG_LABEL.value) {
            problems.push(
                `${name} lacks the label ${CLOUD_CONFIG_LABEL.key}: ${CLOUD_CONFIG_LABEL.value}: it would get no cloud config, CNI, cloud controller manager or CSI`,
            );
        }
        variablesOf(cluster, all, problems);
    }
    return problems;
}

/**
 * Every network of a Cluster parses and none overlaps another; the API admits the management
 * server (`managementAddress`/32 substituted, or `${MANAGEMENT_EGRESS_CIDR}` as written).
 */
export function networkProblems(all: TreeObject[], managementAddress: string): string[] {
    const problems: string[] = [];
    for (const cluster of all.filter((o) => o.kind === "Cluster")) {
        const name = `Cluster ${cluster.metadata.name}`;
        const vars = variablesOf(cluster, all, []);
        if (!vars) continue;
        const allowed = (vars.apiAllowedCidrs ?? []) as string[];
        if (!allowed.includes(`${managementAddress}/32`) && !allowed.includes(MANAGEMENT_EGRESS_CIDR_REFERENCE)) {
            problems.push(`${name}: apiAllowedCidrs lacks \${MANAGEMENT_EGRESS_CIDR}, the management server's address: Cluster API could not reach its API`);
        }
        const networks: [string, unknown][] = [
            ["nodeCidr", vars.nodeCidr],
            ...((cluster.spec?.clusterNetwork?.pods?.cidrBlocks ?? []) as string[]).map((c): [string, unknown] => ["pods", c]),
            ...((cluster.spec?.clusterNetwork?.services?.cidrBlocks ?? []) as string[]).map((c): [string, unknown] => ["services", c]),
        ];
        const valid = networks.filter(([what, cidr]) => {
            const ok = typeof cidr === "string" && ipaddr.isValidCIDR(cidr);
            if (!ok) problems.push(`${name}: ${what} ${JSON.stringify(cidr)} is not a CIDR`);
            return ok;
        }) as [string, string][];
        for (const [i, [aWhat, a]] of valid.entries()) {
            for (const [bWhat, b] of valid.slice(i + 1)) {
                const [an, ab] = ipaddr.parseCIDR(a);
                const [bn, bb] = ipaddr.parseCIDR(b);
                if (an.kind() === bn.kind() && (an.match(bn, bb) || bn.match(an, ab))) {
                    problems.push(`${name}: ${aWhat} ${a} overlaps ${bWhat} ${b}`);
                }
            }
        }
    }
    return problems;
}

/** Flavors are SCS names, with a root volume where the flavor has no disk. */
export function flavorProblems(all: TreeObject[]): string[] {
    const problems: string[] = [];
    for (const cluster of all.filter((o) => o.kind === "Cluster")) {
        const vars = variablesOf(cluster, all, []);
        for (const key of ["controlPlaneFlavor", "workerFlavor"]) {
            const flavor = String(vars?.[key]);
            const m = SCS_FLAVOR.exec(flavor);
            if (!m) {
                problems.push(`Cluster ${cluster.metadata.name}: ${key} ${flavor} is not an SCS standard flavor name (such as SCS-2V-4-20s)`);
            } else if (m.groups?.disk === undefined && !vars?.rootVolume) {
                problems.push(`Cluster ${cluster.metadata.name}: ${key} ${flavor} has no disk, and rootVolume is not set`);
            }
        }
    }
    return problems;
}

/**
 * Every add-on label on a Cluster means something: a HelmChartProxy of the tree selects the
 * Cluster by it, or a Flux Kustomization of the tree carries it (add-ons Flux applies).
 * A misspelt label or value would otherwise install nothing, silently.
 */
export function addonLabelProblems(all: TreeObject[]): string[] {
    const problems: string[] = [];
    const proxies = all.filter((o) => o.kind === "HelmChartProxy");
    const fluxAddons = all.filter((o) => isFluxKustomization(o) && Object.keys(o.metadata.labels ?? {}).some((l) => l.startsWith(ADDON_LABEL_PREFIX)));
    for (const cluster of all.filter((o) => o.kind === "Cluster")) {
        for (const [label, value] of Object.entries(cluster.metadata.labels ?? {}).filter(([l]) => l.startsWith(ADDON_LABEL_PREFIX))) {
            const byChart = proxies.some((p) => selectorKeys(p.spec.clusterSelector ?? {}).includes(label) && selects(p.spec.clusterSelector, cluster));
            const byFlux = fluxAddons.some(
                (k) => k.metadata.labels?.[label] === value && k.spec?.kubeConfig?.secretRef?.name === `${cluster.metadata.name}-kubeconfig`,
            );
            if (!byChart && !byFlux) {
                const known = [
                    ...new Set(proxies.flatMap((p) => selectorKeys(p.spec.clusterSelector ?? {})).filter((k) => k.startsWith(ADDON_LABEL_PREFIX))),
                ].sort();
                problems.push(
                    `Cluster ${cluster.metadata.name}: label ${label}=${value} installs nothing (no add-on of the tree selects it; the catalog's labels: ${known.join(", ")})`,
                );
            }
        }
    }
    return problems;
}

/** No Secret in clear: a Secret in the tree must be SOPS-encrypted. */
export function secretProblems(all: TreeObject[]): string[] {
    return all
        .filter((o) => o.kind === "Secret" && o.sops === undefined && (o.data !== undefined || o.stringData !== undefined))
        .map((o) => `Secret ${o.metadata.name} is in clear: encrypt it with SOPS (gitops/README.md, "Secrets in the tree")`);
}
