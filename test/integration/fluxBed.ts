/**
 * The Flux suites' test bed (flux.integration.ts, fluxProd.integration.ts): a control plane with
 * the providers, Flux's controllers, a Git server and a repository for one stack; what the suites
 * need on the machine; and the hooks of a describe whose tests build on each other.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR } from "../harness";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { startManagementCluster, requiredComponents } from "./harness/managementCluster";
import { yamlStream } from "./harness/objects";
import { Testbed } from "./harness/testbed";
import { FLUX_BINARIES, FluxControllers } from "./fluxControllers";
import { artifactRevision, cond, GIT_REPOSITORY, KUSTOMIZATION, programObjects, ProgramObjects, simulateOrcAndCaaph, until } from "./fluxObjects";
import { GitServer, Repository } from "./gitServer";

/** Interval the test gives the GitRepository and root Kustomization (`gitops.interval`). */
export const INTERVAL = "5s";

/** Bound of one Flux step (clone, build, apply, health) on a loaded 2-core machine. */
export const STEP_MS = 180_000;

/** Bound of a pushed commit reaching the cluster (the "within the test's bound"). */
export const COMMIT_APPLIED_MS = 120_000;

/** The SOPS fixture: a Secret encrypted for a test-only age key (see its README). */
export const SOPS_DIR = path.join(__dirname, "fixtures", "sops");

export const FLUX_NS = "flux-system";
export const ROOT = "flux-system";
export const CHILDREN = ["cluster-classes", "node-images", "addons"];
export const WORKLOADS = "workload-clusters";
export const EXAMPLE = "workload-1";
export const EXAMPLE_FILE = "workloads/base/workload-1.yaml";
export const PROD_OVERLAY = "workloads/prod/kustomization.yaml";

/** kubectl resource of each kind FluxSync creates. */
export const RESOURCES: Record<string, string> = {
    Secret: "secrets",
    ConfigMap: "configmaps",
    GitRepository: GIT_REPOSITORY,
    Kustomization: KUSTOMIZATION,
};

/** A timestamp of an object's metadata (the harness's type leaves them out). */
export function stamp(obj: KubeObject, field: "creationTimestamp" | "deletionTimestamp"): string | undefined {
    return (obj.metadata as Record<string, unknown>)[field] as string | undefined;
}

/** Why the suite cannot run here, or undefined. */
export function missingPrerequisites(): string | undefined {
    const problems: string[] = [];
    try {
        const m = Testbed.load().missing([...requiredComponents(), ...FLUX_BINARIES]);
        if (m) {
            problems.push(m);
        }
    } catch (err) {
        problems.push((err as Error).message);
    }
    for (const [file, pkg] of [
        ["/usr/sbin/sshd", "openssh-server"],
        ["/usr/bin/git", "git"],
        ["/usr/bin/git-shell", "git"],
        ["/usr/bin/ssh-keygen", "openssh-client"],
    ]) {
        if (!fs.existsSync(file)) {
            problems.push(`${file} missing (apt-get install ${pkg})`);
        }
    }
    return problems.length ? problems.join("; ") : undefined;
}

/** A test bed for one stack: control plane with the providers, Flux, a Git server, a repository. */
export class FluxBed {
    private constructor(
        readonly stack: string,
        readonly cp: ControlPlane,
        readonly flux: FluxControllers,
        readonly git: GitServer,
        readonly repo: Repository,
        readonly scratch: string,
    ) {}

    static async start(stack: string): Promise<FluxBed> {
        const testbed = Testbed.load();
        const cp = await startManagementCluster(testbed, `flux-${stack}`);
        let flux: FluxControllers | undefined;
        let git: GitServer | undefined;
        try {
            flux = await FluxControllers.start(cp, testbed);
            git = await GitServer.start();
            const repo = git.createRepository("fleet", path.join(PROJECT_DIR, "gitops"));
            const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-flux-test-"));
            return new FluxBed(stack, cp, flux, git, repo, scratch);
        } catch (err) {
            await git?.stop();
            await flux?.stop();
            await cp.stop();
            throw err;
        }
    }

    async stop(): Promise<void> {
        await this.git.stop();
        await this.flux.stop();
        await this.cp.stop();
        fs.rmSync(this.scratch, { recursive: true, force: true });
    }

    /** The program's objects for this stack with the server's URL, known_hosts and key. */
    objects(o: { knownHosts?: string; deployKey?: string; sopsAgeKey?: string } = {}): Promise<ProgramObjects> {
        return programObjects(this.stack, {
            url: this.repo.url,
            knownHosts: o.knownHosts ?? this.git.knownHosts,
            deployKey: o.deployKey ?? this.git.deployKey.privateKey,
            sopsAgeKey: o.sopsAgeKey,
            interval: INTERVAL,
        });
    }

    /** Applies the workload namespace and FluxSync's objects as the program defines them. */
    apply(objs: ProgramObjects): void {
        this.cp.applyOk(yamlStream([objs.namespace.object, ...objs.flux.map((f) => f.object)]));
    }

    get(resource: string, name: string, ns = FLUX_NS): KubeObject | undefined {
        return this.cp.get(resource, name, ns);
    }

    until<T>(what: string, probe: () => T | undefined, timeoutMs = STEP_MS): Promise<T> {
        return until(this.cp, [...this.flux.processes, ...this.cp.processes, this.git.process], what, timeoutMs, probe);
    }

    /** Asks Flux to reconcile now, as `flux reconcile` does (annotation, no waiting). */
    requestReconcile(resource: string, name: string): void {
        this.cp.kubectlOk(["annotate", "--overwrite", "-n", FLUX_NS, resource, name, `reconcile.fluxcd.io/requestedAt=${new Date().toISOString()}`]);
    }

    /** Waits until the GitRepository is Ready at `revision` and the root Kustomization applied it. */
    async synced(revision: string): Promise<void> {
        await this.until(`GitRepository at ${revision}`, () => {
            const g = this.get(GIT_REPOSITORY, ROOT);
            return cond(g, "Ready")?.status === "True" && artifactRevision(g) === revision ? true : undefined;
        });
        await this.until(`root Kustomization applied ${revision}`, () => {
            const k = this.get(KUSTOMIZATION, ROOT);
            return cond(k, "Ready")?.status === "True" && k?.status?.lastAppliedRevision === revision ? true : undefined;
        });
    }

    /** The example Cluster (undefined while absent). */
    cluster(ns: string, name = EXAMPLE): KubeObject | undefined {
        return this.cp.get("clusters.cluster.x-k8s.io", name, ns);
    }

    /** Worker replicas the Cluster's topology asks for (md-0). */
    static workerReplicas(cluster: KubeObject | undefined): number | undefined {
        const mds =
            (cluster?.spec?.topology as { workers?: { machineDeployments?: { name: string; replicas?: number }[] } } | undefined)?.workers
                ?.machineDeployments ?? [];
        return mds.find((m) => m.name === "md-0")?.replicas;
    }

    /** The topology controller's MachineDeployment for md-0 of the example. */
    machineDeployment(ns: string): KubeObject | undefined {
        return this.cp
            .list("machinedeployments.cluster.x-k8s.io", {
                namespace: ns,
                selector: `cluster.x-k8s.io/cluster-name=${EXAMPLE},topology.cluster.x-k8s.io/deployment-name=md-0`,
            })
            .at(0);
    }

    /** Brings the whole tree up: children Ready (ORC and CAAPH simulated), the example Cluster applied. */
    async treeUp(ns: string): Promise<void> {
        await this.until("children Ready (ORC's Image and CAAPH's HelmChartProxies stood in for)", () => {
            simulateOrcAndCaaph(this.cp, ns);
            return CHILDREN.every((c) => cond(this.get(KUSTOMIZATION, c), "Ready")?.status === "True") ? true : undefined;
        });
        await this.until(`Cluster ${ns}/${EXAMPLE} applied by ${WORKLOADS}`, () => this.cluster(ns));
    }

    /**
     * Rewrites the example's md-0 replicas in the work tree where the stack sets them: dev takes
     * the base Cluster as it is, prod's overlay replaces the replicas with a patch.
     */
    setWorkerReplicas(from: number, to: number): void {
        const [file, re] =
            this.stack === "prod"
                ? [PROD_OVERLAY, new RegExp(`(path: /spec/topology/workers/machineDeployments/0/replicas\\n\\s+value: )${from}\\b`)]
                : [EXAMPLE_FILE, new RegExp(`(name: md-0\\n\\s+replicas: )${from}\\b`)];
        const text = this.repo.read(file);
        assert.match(text, re, `${file} no longer sets md-0's replicas to ${from} where this test expects it`);
        this.repo.write(file, text.replace(re, `$1${to}`));
    }
}

/**
 * Hooks for a describe whose tests build on each other: after a test fails, its controllers'
 * and Git server's log tails are printed, and the later tests skip, naming the failed one.
 */
export function failureChain(bed: () => FluxBed | undefined): { beforeEach: (this: Mocha.Context) => void; afterEach: (this: Mocha.Context) => void } {
    let failed: string | undefined;
    return {
        beforeEach(this: Mocha.Context) {
            if (failed) {
                console.log(`      SKIPPED: builds on "${failed}", which failed`);
                this.skip();
            }
        },
        afterEach(this: Mocha.Context) {
            if (this.currentTest?.state === "failed") {
                failed ??= this.currentTest.title;
                const b = bed();
                if (b) {
                    console.log(`${b.flux.report(30)}\n${b.git.report(10)}`);
                }
            }
        },
    };
}

/** The revision Flux reports for a branch or tag at a commit. */
export function rev(ref: string, sha: string): string {
    return `${ref}@sha1:${sha}`;
}

/** Milliseconds since `t0`, as seconds with one decimal, for the measured times in the log. */
export function secs(t0: number): string {
    return `${((Date.now() - t0) / 1000).toFixed(1)} s`;
}
