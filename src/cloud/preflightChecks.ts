/**
 * Preflight: what the cloud must offer before the program creates anything, checked from
 * the provider's data sources (flavor, image, roles, quotas). Pure: the facts come in, the
 * problems go out, each naming the setting or the quota to change.
 */
import { CONFIG_NAMESPACE } from "../config";

/** Smallest flavor the management cluster runs on: vCPUs. */
export const MIN_VCPUS = 4;
/** Smallest flavor the management cluster runs on: RAM in MiB (16 GiB). */
export const MIN_RAM_MIB = 16 * 1024;

/** A flavor as Nova describes it. */
export interface FlavorFacts {
    /** Virtual CPUs. */
    vcpus: number;
    /** RAM in MiB. */
    ram: number;
    /** Root disk in GB (0: none, the server must boot from a volume); undefined when not known. */
    disk?: number;
}

/** Nova's absolute limits of the project (`-1` is unlimited). */
export interface ComputeLimits {
    /** Quota `instances`. */
    maxTotalInstances: number;
    /** Instances in use. */
    totalInstancesUsed: number;
    /** Quota `cores`. */
    maxTotalCores: number;
    /** vCPUs in use. */
    totalCoresUsed: number;
    /** Quota `ram`, MiB. */
    maxTotalRamSize: number;
    /** RAM in use, MiB. */
    totalRamUsed: number;
}

/** Neutron's quotas of the project (`-1` is unlimited). The data source reports limits, not usage. */
export interface NetworkQuota {
    /** Quota `network`. */
    network: number;
    /** Quota `router`. */
    router: number;
    /** Quota `floatingip`. */
    floatingip: number;
    /** Quota `security_group`. */
    securityGroup: number;
}

/** What this run is about to create. */
export interface PreflightNeeds {
    /** A management server is created (first `up`, or a new `serverGeneration`). */
    server: boolean;
    /** The one-off resources of a first `up` are created: floating IP, security group. */
    firstUp: boolean;
    /** A network and a router are created (first `up` without `existingNetwork`). */
    network: boolean;
}

/** What the data sources said; a field is undefined when it was not looked up. */
export interface PreflightFacts {
    /** The configured flavor, or null when Nova has no such flavor. */
    flavor?: FlavorFacts | null;
    /** Whether the configured image exists. */
    imageFound?: boolean;
    /** Nova's limits and usage. */
    compute?: ComputeLimits;
    /** Neutron's quotas. */
    network?: NetworkQuota;
    /** Roles the user holds on the project the credentials are created in. */
    rolesHeld?: string[];
    /**
     * The server this run would create exists already: an earlier `up` created it (its port,
     * named for the generation, is bound to an instance) and failed before recording the
     * deployment. It is counted in Nova's usage, and this run does not create it again.
     */
    ownServerExists?: boolean;
    /** The running server's flavor, when this run resizes it (null: not readable, not checked). */
    resizedFrom?: FlavorFacts | null;
}

/** The settings preflight reports against. */
export interface PreflightSettings {
    /** `capi-mgmt:flavor`. */
    flavor: string;
    /** `capi-mgmt:image`. */
    image: string;
    /** `capi-mgmt:rootVolumeSize` (0: the server boots from the flavor's disk). */
    rootVolumeSize: number;
    /** `capi-mgmt:appCredential.roles`. */
    roles: string[];
    /** `capi-mgmt:workloadProject.cloud`, when the credentials are created in that project. */
    workloadProjectCloud?: string;
}

function gib(mib: number): string {
    return `${Math.round((mib / 1024) * 10) / 10} GiB`;
}

/**
 * Problems with the roles: application credentials can only carry roles the user holds on
 * the project they are created in: the workload project's clouds.yaml entry
 * (`workloadProject`), when one is set, else the management server's.
 */
export function roleProblems(wanted: string[], held: string[], workloadProjectCloud?: string): string[] {
    const missing = wanted.filter((r) => !held.includes(r));
    if (missing.length === 0) {
        return [];
    }
    const project = workloadProjectCloud
        ? `the workload project (${CONFIG_NAMESPACE}:workloadProject.cloud "${workloadProjectCloud}"), where the credentials are created`
        : "this project";
    return [
        `${CONFIG_NAMESPACE}:appCredential.roles: ${missing.join(", ")} ` +
            `${missing.length === 1 ? "is not a role" : "are not roles"} you hold on ${project} ` +
            `(you hold: ${held.join(", ") || "none"}); application credentials can only carry a subset of your roles`,
    ];
}

/**
 * Warnings about the workload project as Keystone sees it: two clouds.yaml entries may
 * still authenticate to one project, which separates nothing.
 */
export function workloadProjectWarnings(managementProjectId: string, workloadProjectId: string, workloadProjectCloud: string): string[] {
    if (managementProjectId !== workloadProjectId) {
        return [];
    }
    return [
        `${CONFIG_NAMESPACE}:workloadProject.cloud "${workloadProjectCloud}" authenticates to the management server's own project ` +
            `(${managementProjectId}): the workload clusters' credentials can reach the management server; point the entry at a separate project`,
    ];
}

/** Room left under a limit (`-1`: unlimited). */
function roomProblem(quota: string, max: number, used: number, need: number, unit = ""): string | undefined {
    if (max < 0 || used + need <= max) {
        return undefined;
    }
    return (
        `OpenStack quota ${quota}: ${used}${unit} of ${max}${unit} used, and this run needs ${need}${unit} more ` +
        `(free some, or ask the cloud's admins to raise the project's quota)`
    );
}

/** Every problem found; empty when the run may go ahead. */
export function preflightProblems(settings: PreflightSettings, needs: PreflightNeeds, facts: PreflightFacts): string[] {
    const problems: string[] = [];
    if (facts.rolesHeld !== undefined) {
        problems.push(...roleProblems(settings.roles, facts.rolesHeld, settings.workloadProjectCloud));
    }
    if (facts.flavor === null) {
        problems.push(`${CONFIG_NAMESPACE}:flavor: Nova has no flavor "${settings.flavor}" visible to this project`);
    } else if (facts.flavor !== undefined && (facts.flavor.vcpus < MIN_VCPUS || facts.flavor.ram < MIN_RAM_MIB)) {
        problems.push(
            `${CONFIG_NAMESPACE}:flavor: "${settings.flavor}" has ${facts.flavor.vcpus} vCPUs and ${gib(facts.flavor.ram)} of RAM; ` +
                `the management server needs at least ${MIN_VCPUS} vCPUs and ${gib(MIN_RAM_MIB)}`,
        );
    }
    if (needs.server && facts.flavor && facts.flavor.disk === 0 && settings.rootVolumeSize === 0) {
        problems.push(
            `${CONFIG_NAMESPACE}:rootVolumeSize: 0 boots the server from the flavor's disk, but ${CONFIG_NAMESPACE}:flavor ` +
                `"${settings.flavor}" has none (disk 0), and Nova refuses image-backed servers on such flavors ("Only ` +
                `volume-backed servers are allowed for flavors with zero disk": policy ` +
                `os_compute_api:servers:create:zero_disk_flavor, admin only by default). Set ${CONFIG_NAMESPACE}:rootVolumeSize ` +
                `to 20 or more (a boot volume), or pick a flavor with a disk`,
        );
    }
    if (facts.imageFound === false) {
        problems.push(`${CONFIG_NAMESPACE}:image: Glance has no image "${settings.image}" visible to this project`);
    }
    const c = facts.compute;
    const flavor = facts.flavor ?? { vcpus: 0, ram: 0 };
    // A new server needs a whole flavor, unless it is the stack's own, left by a failed `up` and in the
    // usage already; a resize needs what the new flavor has more than the running one (Nova checks an upsize).
    const from = needs.server ? (facts.ownServerExists ? flavor : { vcpus: 0, ram: 0 }) : facts.resizedFrom;
    if (c && from) {
        const need = { instances: needs.server && !facts.ownServerExists ? 1 : 0, cores: flavor.vcpus - from.vcpus, ram: flavor.ram - from.ram };
        for (const p of [
            need.instances > 0 ? roomProblem("instances", c.maxTotalInstances, c.totalInstancesUsed, need.instances) : undefined,
            need.cores > 0 ? roomProblem("cores", c.maxTotalCores, c.totalCoresUsed, need.cores) : undefined,
            need.ram > 0 ? roomProblem("ram", c.maxTotalRamSize, c.totalRamUsed, need.ram, " MiB") : undefined,
        ]) {
            if (p) {
                problems.push(p);
            }
        }
    }
    const n = facts.network;
    if (n) {
        const wanted: [string, number, number][] = [];
        if (needs.firstUp) {
            wanted.push(["floatingip", n.floatingip, 1], ["security_group", n.securityGroup, 1]);
        }
        if (needs.network) {
            wanted.push(["network", n.network, 1], ["router", n.router, 1]);
        }
        for (const [quota, limit, need] of wanted) {
            if (limit >= 0 && limit < need) {
                problems.push(`OpenStack quota ${quota}: the project's limit is ${limit}, and this stack needs ${need} (ask the cloud's admins to raise it)`);
            }
        }
    }
    return problems;
}
