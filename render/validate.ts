/**
 * `npm run validate -- <repository> [--path ./clusters/<env>]... [--workload-namespace <ns>]`:
 * checks a GitOps repository laid out like `gitops/` (a copy of it, with its clusters) by
 * every rule of render/gitopsRules.ts, environment by environment, built as Flux builds it
 * (`kubectl kustomize`, then Flux's substitution with the program's settings). Exits 1 with
 * every problem listed, each naming its environment and object; 0 when there are none.
 */
import * as fs from "fs";
import * as path from "path";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { addonReleaseProblems } from "./addonReleaseRules";
import { addonVersionProblems } from "./addonVersionRules";
import { etcdDiskProblems } from "./etcdDiskRules";
import { ingressProblems, serverGroupCountProblems, serverGroupSizeProblems } from "./clusterFitRules";
import { readEnvironment, TreeError } from "./gitopsTree";
import {
    addonLabelProblems,
    clusterProblems,
    flavorProblems,
    fluxUnitProblems,
    imageProblems,
    imageReferenceProblems,
    networkProblems,
    objectsOf,
    orderProblems,
    placementProblems,
    secretProblems,
} from "./gitopsRules";

/**
 * The management server's address the substitution fills in: validation never knows the
 * real one, and only checks that each Cluster's allow-list carries it (a documentation
 * address, never dialled).
 */
export const VALIDATION_MANAGEMENT_ADDRESS = "192.0.2.10";

/** What one environment of a repository violates. */
export interface EnvironmentReport {
    /** The environment's path, `./clusters/<env>`. */
    path: string;
    /** Every problem, each naming its object; empty when it passes. */
    problems: string[];
}

/** The environments of a repository: every directory under `clusters/` with a kustomization.yaml, but `base`. */
export function environmentsOf(repo: string): string[] {
    const clusters = path.join(repo, "clusters");
    if (!fs.existsSync(clusters)) {
        throw new TreeError(`${repo}: no clusters/ directory (a repository laid out like gitops/ keeps its environments there)`);
    }
    return fs
        .readdirSync(clusters, { withFileTypes: true })
        .filter((e) => e.isDirectory() && e.name !== "base" && fs.existsSync(path.join(clusters, e.name, "kustomization.yaml")))
        .map((e) => `./clusters/${e.name}`)
        .sort();
}

/** Every rule, on one environment of the repository. */
export function validateEnvironment(repo: string, envPath: string, workloadNamespace = DEFAULT_WORKLOAD_NAMESPACE): EnvironmentReport {
    const settings = fluxSettingsData({ workloadNamespace, managementAddress: VALIDATION_MANAGEMENT_ADDRESS });
    let env;
    try {
        env = readEnvironment(repo, envPath, settings);
    } catch (e) {
        if (e instanceof TreeError) {
            return { path: envPath, problems: [e.message] };
        }
        throw e;
    }
    const all = objectsOf(env);
    const problems = [
        ...fluxUnitProblems(env, workloadNamespace, (p) => fs.existsSync(path.join(repo, p, "kustomization.yaml"))),
        ...orderProblems(env),
        ...clusterProblems(all),
        ...networkProblems(all, VALIDATION_MANAGEMENT_ADDRESS),
        ...flavorProblems(all),
        ...etcdDiskProblems(all),
        ...all.filter((o) => o.kind === "Image").flatMap(imageProblems),
        ...imageReferenceProblems(all),
        ...placementProblems(all),
        ...serverGroupSizeProblems(all),
        ...serverGroupCountProblems(all),
        ...ingressProblems(all),
        ...addonVersionProblems(all),
        ...addonReleaseProblems(all),
        ...addonLabelProblems(all),
        ...secretProblems(all),
    ];
    return { path: envPath, problems: [...new Set(problems)] };
}

/** Every environment (or the ones named) of a repository. */
export function validateRepository(repo: string, envPaths?: string[], workloadNamespace?: string): EnvironmentReport[] {
    return (envPaths && envPaths.length > 0 ? envPaths : environmentsOf(repo)).map((p) => validateEnvironment(repo, p, workloadNamespace));
}

const USAGE = "usage: npm run validate -- <repository> [--path ./clusters/<env>]... [--workload-namespace <namespace>]";

/** Parses the command line; undefined for --help. */
function parseArgs(argv: string[]): { repo: string; paths: string[]; workloadNamespace?: string } | undefined {
    let repo: string | undefined;
    const paths: string[] = [];
    let workloadNamespace: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--help" || a === "-h") {
            return undefined;
        } else if (a === "--path") {
            paths.push(argv[++i] ?? "");
        } else if (a === "--workload-namespace") {
            workloadNamespace = argv[++i];
        } else if (a.startsWith("-") || repo !== undefined) {
            throw new Error(`unknown argument ${a} (${USAGE})`);
        } else {
            repo = a;
        }
    }
    if (repo === undefined) {
        throw new Error(USAGE);
    }
    return { repo, paths, workloadNamespace };
}

/** The command. */
export function main(argv: string[] = process.argv.slice(2)): number {
    try {
        const args = parseArgs(argv);
        if (args === undefined) {
            console.log(
                `${USAGE}\n\nChecks a GitOps repository laid out like this project's gitops/ tree (every environment under clusters/, or the ones named) by every rule of the tree's tests.`,
            );
            return 0;
        }
        const reports = validateRepository(path.resolve(args.repo), args.paths, args.workloadNamespace);
        let failed = 0;
        for (const r of reports) {
            if (r.problems.length === 0) {
                console.log(`${r.path}: ok`);
            } else {
                failed++;
                console.log(`${r.path}: ${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}`);
                r.problems.forEach((p) => console.log(`  - ${p}`));
            }
        }
        return failed === 0 ? 0 : 1;
    } catch (e) {
        console.error(`validate failed: ${e instanceof Error ? e.message : String(e)}`);
        return 2;
    }
}

if (require.main === module) {
    process.exitCode = main();
}
