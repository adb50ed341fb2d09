/**
 * The tree's rules for what a Cluster's machines use: ORC node images (defined in the tree,
 * of the Cluster's Kubernetes version, with the move label) and Nova server groups (one of the
 * right policy per part of a cluster, created by ORC, used by no other cluster).
 */
import * as semver from "semver";
import { isDeepStrictEqual } from "util";
import { CLOUD_NAME, ORC_CREDENTIALS_SECRET } from "../src/shared/contract";
import { MOVE_LABEL, variablesOf, VERSION_LABEL } from "./gitopsEnv";
import type { TreeObject } from "./gitopsTree";
import { workersFitServerGroup } from "./clusterFitRules";

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
        const { roles, variables } = machineParts(cluster, all, problems);
        for (const role of roles) {
            const ref = variables.nodeImage;
            const image = images.find((i) => i.metadata.name === ref && i.metadata.namespace === cluster.metadata.namespace);
            if (image === undefined) {
                problems.push(`Cluster ${cluster.metadata.name}: ${role} uses ORC Image ${ref}, which the tree does not define`);
                continue;
            }
            if (image.metadata.labels?.[VERSION_LABEL] !== version) {
                problems.push(
                    `Cluster ${cluster.metadata.name}: Image ${ref} holds Kubernetes ${image.metadata.labels?.[VERSION_LABEL]}, not the Cluster's ${version}`,
                );
            }
            if (!(image.metadata.labels && MOVE_LABEL in image.metadata.labels)) {
                problems.push(`Image ${ref} has no ${MOVE_LABEL} label`);
            }
        }
    }
    return problems;
}

/**
 * The parts of a Cluster that get machines: its control plane and each worker class its
 * topology uses (`machineDeployment:<class>`), with the Cluster's variables. The rules read
 * the variables the class's patches copy into the parts' machine templates (`nodeImage`,
 * `controlPlaneServerGroup`, `workerServerGroup`); that the patches do so is proven by Cluster
 * API's real topology controller (test/integration/stacks.integration.ts), not computed here.
 */
function machineParts(cluster: TreeObject, all: TreeObject[], problems: string[]): { roles: string[]; variables: Record<string, unknown> } {
    const variables = variablesOf(cluster, all, problems);
    if (variables === undefined) return { roles: [], variables: {} };
    const classes = ((cluster.spec?.topology?.workers?.machineDeployments ?? []) as { class: string }[]).map((md) => `machineDeployment:${md.class}`);
    return { roles: ["controlPlane", ...new Set(classes)], variables };
}

/** The Nova server group policy each part of a cluster must have (SCS's defaults). */
const SERVER_GROUP_POLICY: Record<string, { variable: string; policy: string }> = {
    controlPlane: { variable: "controlPlaneServerGroup", policy: "anti-affinity" },
    "machineDeployment:default-worker": { variable: "workerServerGroup", policy: "soft-anti-affinity" },
};

/**
 * What is wrong with the placement of every Cluster among `all`: each part of a Cluster must
 * join, through its variable (which the class's patch copies into its machine template), the Nova server group an ORC ServerGroup of the Cluster's
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
        const { roles, variables } = machineParts(cluster, all, problems);
        for (const role of roles) {
            const want = SERVER_GROUP_POLICY[role];
            if (!want) {
                problems.push(`${name}: no placement rule for ${role}`);
                continue;
            }
            const value = variables[want.variable];
            if (value === undefined) {
                if (want.variable === "workerServerGroup" && !workersFitServerGroup(cluster)) continue; // too many for Nova's group quota
                problems.push(`${name}: ${role} joins no server group (variable ${want.variable} is not set)`);
                continue;
            }
            const group = groups.find((g) => novaName(g) === value && g.metadata.namespace === cluster.metadata.namespace);
            if (group === undefined) {
                problems.push(`${name}: ${role} joins server group ${value}, which no ORC ServerGroup of the tree creates`);
                continue;
            }
            const other = usedBy.get(group);
            if (other !== undefined && other !== cluster.metadata.name) {
                problems.push(`${name}: server group ${value} is Cluster ${other}'s too; each cluster needs groups of its own`);
            }
            usedBy.set(group, cluster.metadata.name);
            if (group.spec.resource?.policy !== want.policy) {
                problems.push(`${name}: ${role} joins server group ${value}, whose policy is ${group.spec.resource?.policy}, not ${want.policy}`);
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
