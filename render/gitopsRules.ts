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
import { CLOUD_CONFIG_LABEL, CLOUD_NAME, FLUX_NAMESPACE, FLUX_ROOT_NAME, ORC_CREDENTIALS_SECRET } from "../lib/contract";
import { clusterVariables, classOf, Environment, isFluxKustomization, resolveTopology, TreeError, TreeObject } from "./gitopsTree";

/** Label `clusterctl move` looks for on an object to take it along (clusterctl v1.14 objectgraph.go). */
export const MOVE_LABEL = "clusterctl.cluster.x-k8s.io/move";
/** Label of an ORC Image: the Kubernetes version it holds. */
export const VERSION_LABEL = "capi-mgmt.io/kubernetes-version";
/** Prefix of the add-on catalog's opt-in labels. */
export const ADDON_LABEL_PREFIX = "capi-mgmt.io/addon-";
/** An SCS standard flavor name (scs-0100): cpus, RAM, and optionally a local disk. */
export const SCS_FLAVOR = /^SCS-\d+[LVTC]i?-\d+(\.\d+)?[uo]*(?<disk>-(\d+x)?\d+[nhsp]?)?(_.*)?$/;
/** Control plane sizes etcd keeps a quorum with (an even count adds a node and no failure tolerance). */
export const CONTROL_PLANE_REPLICAS = [1, 3, 5];
/** Kinds kstatus cannot read the health of: each needs a health-check expression. */
const NEEDS_HEALTH_EXPRESSION = ["ClusterClass", "Image", "HelmChartProxy", "Cluster", "ServerGroup"];

/** Every object an environment applies. */
export function objectsOf(env: Environment): TreeObject[] {
    return env.units.flatMap((u) => u.documents.map((d) => d.object));
}

/** The objects of one kind. */
export function ofKind(env: Environment, kind: string): TreeObject[] {
    return objectsOf(env).filter((o) => o.kind === kind);
}

/** Names of the Flux Kustomizations a unit waits for, directly or not. */
export function dependencies(env: Environment, name: string, seen = new Set<string>()): Set<string> {
    const unit = env.units.find((u) => u.kustomization.object.metadata.name === name);
    for (const d of (unit?.kustomization.object.spec.dependsOn ?? []) as { name: string }[]) {
        if (!seen.has(d.name)) {
            seen.add(d.name);
            dependencies(env, d.name, seen);
        }
    }
    return seen;
}

/** The Flux Kustomization that applies an object (undefined: none does). */
export function unitOf(env: Environment, o: TreeObject): string | undefined {
    return env.units.find((u) => u.documents.some((d) => d.object === o))?.kustomization.object.metadata.name;
}

/** A Kubernetes label selector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist), ANDed. */
export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

/** Whether a label selector selects an object, as apimachinery's LabelSelectorAsSelector does. */
export function selects(selector: LabelSelector, o: TreeObject): boolean {
    const labels = o.metadata.labels ?? {};
    const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
    return (
        byLabels &&
        (selector.matchExpressions ?? []).every((e) => {
            switch (e.operator) {
                case "In":
                    return e.key in labels && (e.values ?? []).includes(labels[e.key]);
                case "NotIn":
                    return !(e.key in labels) || !(e.values ?? []).includes(labels[e.key]);
                case "Exists":
                    return e.key in labels;
                case "DoesNotExist":
                    return !(e.key in labels);
                default:
                    throw new TreeError(`unknown selector operator ${String((e as { operator: string }).operator)}`);
            }
        })
    );
}

/** The label keys a selector reads. */
export function selectorKeys(selector: LabelSelector): string[] {
    return [...new Set([...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((e) => e.key)])].sort();
}

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
        if (k.spec.targetNamespace !== workloadNamespace) problems.push(`${what} has targetNamespace ${k.spec.targetNamespace}, not ${workloadNamespace}`);
        if (!pathExists(k.spec.path)) problems.push(`${what}: path ${k.spec.path} has no kustomization.yaml`);
        if (u.documents.length === 0) problems.push(`${what} applies nothing`);
        const exprs = (k.spec.healthCheckExprs ?? []) as { apiVersion: string; kind: string }[];
        for (const kind of new Set(u.documents.map((d) => d.object).filter((o) => NEEDS_HEALTH_EXPRESSION.includes(o.kind)).map((o) => `${o.apiVersion} ${o.kind}`))) {
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

/** The Cluster's variables with the class's defaults, or undefined when its class is missing. */
function variablesOf(cluster: TreeObject, all: TreeObject[], problems: string[]): Record<string, unknown> | undefined {
    try {
        return clusterVariables(cluster, classOf(cluster, all), problems);
    } catch (e) {
        problems.push(`Cluster ${cluster.metadata.name}: ${(e as Error).message}`);
        return undefined;
    }
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
            problems.push(`${name}: ${replicas} control plane nodes; use 1, 3 or 5 (etcd needs a majority: ${replicas} tolerates no more failures than ${replicas - 1})`);
        }
        const version = cluster.spec?.topology?.version;
        if (typeof version !== "string" || semver.valid(version) === null || !version.startsWith("v")) {
            problems.push(`${name}: spec.topology.version ${JSON.stringify(version)} is not a Kubernetes version such as v1.35.8`);
        }
        if (cluster.metadata.labels?.[CLOUD_CONFIG_LABEL.key] !== CLOUD_CONFIG_LABEL.value) {
            problems.push(`${name} lacks the label ${CLOUD_CONFIG_LABEL.key}: ${CLOUD_CONFIG_LABEL.value}: it would get no cloud config, CNI, cloud controller manager or CSI`);
        }
        variablesOf(cluster, all, problems);
    }
    return problems;
}

/** Every network of a Cluster parses and none overlaps another; the API admits the management server. */
export function networkProblems(all: TreeObject[], managementAddress: string): string[] {
    const problems: string[] = [];
    for (const cluster of all.filter((o) => o.kind === "Cluster")) {
        const name = `Cluster ${cluster.metadata.name}`;
        const vars = variablesOf(cluster, all, []);
        if (!vars) continue;
        const allowed = (vars.apiAllowedCidrs ?? []) as string[];
        if (!allowed.includes(`${managementAddress}/32`)) {
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
 * The tree's rules for an ORC node image. Imported (the default): an existing Glance image
 * by name. Uploaded (opt-in): an https URL and the operator's SHA-256, which the name
 * carries. Either way the names carry the Kubernetes version, so a new image is a new
 * object, and the object has the move label and the program's ORC credentials.
 */
export function imageProblems(image: TreeObject): string[] {
    const problems: string[] = [];
    const name = image.metadata.name;
    const fail = (msg: string) => problems.push(`Image ${name}: ${msg}`);
    const version = image.metadata.labels?.[VERSION_LABEL];
    if (version === undefined || semver.valid(version) === null || !version.startsWith("v")) {
        fail(`label ${VERSION_LABEL} is not a Kubernetes version (${version})`);
    } else if (!name.includes(version)) {
        fail(`the name does not carry its version ${version}`);
    }
    if (image.metadata.labels?.[MOVE_LABEL] === undefined) {
        fail(`no label ${MOVE_LABEL}: clusterctl move would leave it behind`);
    }
    if (!isDeepStrictEqual(image.spec?.cloudCredentialsRef, { secretName: ORC_CREDENTIALS_SECRET, cloudName: CLOUD_NAME })) {
        fail(`cloudCredentialsRef is not the program's ${ORC_CREDENTIALS_SECRET}/${CLOUD_NAME}`);
    }
    const policy = image.spec?.managementPolicy ?? "managed";
    if (policy === "unmanaged") {
        const glanceName = image.spec.import?.filter?.name;
        if (typeof glanceName !== "string" || glanceName.length === 0) {
            fail("an import needs spec.import.filter.name (the Glance image's name)");
        } else if (version !== undefined && !glanceName.includes(version)) {
            fail(`imports Glance image "${glanceName}", whose name does not carry ${version}`);
        }
        return problems;
    }
    const download = image.spec.resource?.content?.download;
    let url: URL | undefined;
    try {
        url = new URL(String(download?.url));
    } catch {
        url = undefined;
    }
    if (url === undefined || url.protocol !== "https:") {
        fail(`an upload needs an https URL (${download?.url})`);
    }
    const hash = download?.hash;
    if (hash?.algorithm !== "sha256") {
        fail("an upload needs the operator's SHA-256 (hash.algorithm sha256)");
    } else if (typeof hash.value !== "string" || !/^[0-9a-f]{64}$/.test(hash.value)) {
        fail(`hash.value ${JSON.stringify(hash.value)} is not 64 lowercase hex digits`);
    } else if (/^0+$/.test(hash.value)) {
        fail("hash.value is all zeros: a placeholder, not a digest");
    } else if (!name.includes(hash.value.slice(0, 12))) {
        fail(`the name does not carry the digest's first 12 digits (${hash.value.slice(0, 12)})`);
    }
    return problems;
}

/** Every machine template of every Cluster uses an ORC Image of the tree with the Cluster's version and the move label. */
export function imageReferenceProblems(all: TreeObject[]): string[] {
    const problems: string[] = [];
    const images = all.filter((o) => o.kind === "Image");
    for (const cluster of all.filter((o) => o.kind === "Cluster")) {
        const version = cluster.spec.topology.version;
        for (const t of machineTemplates(cluster, all, problems)) {
            const ref = t.object.spec.template.spec.image?.imageRef?.name;
            const image = images.find((i) => i.metadata.name === ref && i.metadata.namespace === cluster.metadata.namespace);
            if (image === undefined) {
                problems.push(`Cluster ${cluster.metadata.name}: ${t.role} uses ORC Image ${ref}, which the tree does not define`);
                continue;
            }
            if (image.metadata.labels?.[VERSION_LABEL] !== version) {
                problems.push(`Cluster ${cluster.metadata.name}: Image ${ref} holds Kubernetes ${image.metadata.labels?.[VERSION_LABEL]}, not the Cluster's ${version}`);
            }
            if (!(image.metadata.labels && MOVE_LABEL in image.metadata.labels)) {
                problems.push(`Image ${ref} has no ${MOVE_LABEL} label`);
            }
        }
    }
    return problems;
}

/** A Cluster's machine templates after its class's patches (none when its topology cannot be resolved). */
function machineTemplates(cluster: TreeObject, all: TreeObject[], problems: string[]): { role: string; object: TreeObject }[] {
    try {
        return resolveTopology(cluster, all).templates.filter((x) => x.object.kind === "OpenStackMachineTemplate");
    } catch (e) {
        problems.push(`Cluster ${cluster.metadata.name}: ${(e as Error).message}`);
        return [];
    }
}

/** The Nova server group policy each part of a cluster must have (SCS's defaults). */
const SERVER_GROUP_POLICY: Record<string, { variable: string; policy: string }> = {
    controlPlane: { variable: "controlPlaneServerGroup", policy: "anti-affinity" },
    "machineDeployment:default-worker": { variable: "workerServerGroup", policy: "soft-anti-affinity" },
};

/**
 * What is wrong with the placement of every Cluster among `all`: each machine template must
 * join, through its variable, the Nova server group an ORC ServerGroup of the Cluster's
 * namespace creates (ORC names the Nova group after the object unless resource.name says
 * otherwise), with the policy of its part, named after the Cluster, used by no other
 * Cluster; every ServerGroup serves a Cluster, carries the move label and the program's
 * ORC credentials.
 */
export function placementProblems(all: TreeObject[]): string[] {
    const problems: string[] = [];
    const groups = all.filter((o) => o.kind === "ServerGroup");
    const novaName = (g: TreeObject) => (g.spec.resource?.name as string | undefined) ?? g.metadata.name;
    const usedBy = new Map<TreeObject, string>();
    for (const cluster of all.filter((o) => o.kind === "Cluster")) {
        const name = `Cluster ${cluster.metadata.name}`;
        const variables = variablesOf(cluster, all, []) ?? {};
        for (const t of machineTemplates(cluster, all, problems)) {
            const want = SERVER_GROUP_POLICY[t.role];
            if (!want) {
                problems.push(`${name}: no placement rule for ${t.role}`);
                continue;
            }
            const ref = t.object.spec.template.spec.serverGroup;
            const value = variables[want.variable];
            if (value === undefined) {
                problems.push(`${name}: ${t.role} joins no server group (variable ${want.variable} is not set)`);
                continue;
            }
            if (!isDeepStrictEqual(ref, { filter: { name: value } })) {
                problems.push(`${name}: ${t.role}'s machine template refers to server group ${JSON.stringify(ref)}, not ${want.variable} ${value}`);
                continue;
            }
            const group = groups.find((g) => novaName(g) === value && g.metadata.namespace === cluster.metadata.namespace);
            if (group === undefined) {
                problems.push(`${name}: ${t.role} joins server group ${value}, which no ORC ServerGroup of the tree creates`);
                continue;
            }
            const other = usedBy.get(group);
            if (other !== undefined && other !== cluster.metadata.name) {
                problems.push(`${name}: server group ${value} is Cluster ${other}'s too; each cluster needs groups of its own`);
            }
            usedBy.set(group, cluster.metadata.name);
            if (group.spec.resource?.policy !== want.policy) {
                problems.push(`${name}: ${t.role} joins server group ${value}, whose policy is ${group.spec.resource?.policy}, not ${want.policy}`);
            }
            if (!String(value).startsWith(`${cluster.metadata.name}-`)) {
                problems.push(`${name}: server group ${value} is not named after the cluster`);
            }
        }
    }
    for (const g of groups) {
        if (!usedBy.has(g)) problems.push(`ServerGroup ${g.metadata.name} serves no Cluster`);
        if (g.spec.managementPolicy !== "managed" || g.spec.import !== undefined) {
            problems.push(`ServerGroup ${g.metadata.name}: ORC must create it (managementPolicy managed)`);
        }
        if (!isDeepStrictEqual(g.spec.cloudCredentialsRef, { secretName: ORC_CREDENTIALS_SECRET, cloudName: CLOUD_NAME })) {
            problems.push(`ServerGroup ${g.metadata.name}: cloudCredentialsRef is not the program's ${ORC_CREDENTIALS_SECRET}/${CLOUD_NAME}`);
        }
        if (!(g.metadata.labels && MOVE_LABEL in g.metadata.labels)) {
            problems.push(`ServerGroup ${g.metadata.name} has no ${MOVE_LABEL} label`);
        }
    }
    const names = groups.map((g) => `${g.metadata.namespace}/${novaName(g)}`);
    for (const [i, n] of names.entries()) {
        if (names.indexOf(n) !== i) problems.push(`two ServerGroups create Nova server group ${n} (CAPO refuses a name that finds several)`);
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
            const byFlux = fluxAddons.some((k) => k.metadata.labels?.[label] === value && k.spec?.kubeConfig?.secretRef?.name === `${cluster.metadata.name}-kubeconfig`);
            if (!byChart && !byFlux) {
                const known = [...new Set(proxies.flatMap((p) => selectorKeys(p.spec.clusterSelector ?? {})).filter((k) => k.startsWith(ADDON_LABEL_PREFIX)))].sort();
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
