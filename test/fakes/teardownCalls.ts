/**
 * Helpers of the tests of src/host/scripts/teardown.sh (test/teardown*.spec.ts): running the rendered
 * script against the fakes, and reading the fake kubectl's call log.
 */
import * as assert from "assert";
import * as fs from "fs";
import { renderHostScript } from "../../src/host/hostScripts";
import { makeTempDir, RunResult } from "./shell";
import { FakeCapi, FakeWorkload, KubectlCall } from "./teardownFakes";

/** Name of the kind management cluster in the tests. */
export const KIND_CLUSTER = "capi-dev";

/**
 * Runs the teardown on the fake's virtual clock: the bounds are virtual seconds, polls every 5 s.
 * `env` is the run's environment beyond the fake's; `params`, parameters of the script beyond the
 * ones every run sets (e.g. KEEP_CLUSTER).
 */
export function runTeardown(
    fake: FakeCapi,
    timeoutSeconds = 600,
    perClusterTimeoutSeconds = 300,
    env: Record<string, string> = {},
    params: Record<string, string> = {},
): RunResult {
    const script = renderHostScript("teardown.sh", {
        CLUSTER_NAME: KIND_CLUSTER,
        KUBECONFIG_PATH: fake.mgmtKubeconfig,
        TIMEOUT_SECONDS: String(timeoutSeconds),
        PER_CLUSTER_TIMEOUT_SECONDS: String(perClusterTimeoutSeconds),
        CLUSTERS_GONE_FILE: fake.goneFile,
        FLUX_RESUME_SCRIPT: fake.resumeScript,
        ...params,
    });
    return fake.run(script, env);
}

/** A management cluster with Cluster API and the given workload clusters (`namespace/name`), each populated. */
export function managementWith(fake: FakeCapi, ...names: string[]): FakeWorkload[] {
    fake.setKindClusters(["other", KIND_CLUSTER]);
    fake.installClusterApi();
    return names.map((id) => {
        const [ns, name] = id.split("/");
        const w = fake.addCluster(ns, name, { deleteDelayMs: 1500 });
        populate(fake, w);
        return w;
    });
}

/**
 * The fake server of one suite of teardown tests: call it in a `describe`; it makes a new
 * FakeCapi before each test of that suite (a mocha `beforeEach`), and `run` and `managementWith`
 * act on the current one.
 */
export class TeardownSuite {
    private current?: FakeCapi;

    constructor() {
        beforeEach(() => {
            this.current = new FakeCapi(makeTempDir("teardown"));
        });
    }

    /** The current test's fake server. */
    get fake(): FakeCapi {
        assert.ok(this.current, "TeardownSuite.fake used outside a test");
        return this.current;
    }

    /** {@link runTeardown} against the current fake. */
    readonly run = (timeoutSeconds?: number, perClusterTimeoutSeconds?: number, env: Record<string, string> = {}): RunResult =>
        runTeardown(this.fake, timeoutSeconds, perClusterTimeoutSeconds, env);

    /** {@link managementWith} on the current fake. */
    readonly managementWith = (...names: string[]): FakeWorkload[] => managementWith(this.fake, ...names);
}

/** The positional words of a kubectl call (its flags and their values left out). */
export function words(c: KubectlCall): string[] {
    const withValue = new Set(["--kubeconfig", "-n", "--namespace", "-o", "--output", "-p", "--patch", "--raw", "--request-timeout"]);
    const result: string[] = [];
    for (let i = 0; i < c.args.length; i++) {
        const a = c.args[i];
        if (withValue.has(a)) {
            i++;
        } else if (!a.startsWith("-")) {
            result.push(a);
        }
    }
    return result;
}

/** The value of flag `-n` of a call. */
export function namespaceOf(c: KubectlCall): string | undefined {
    const i = c.args.indexOf("-n");
    return i >= 0 ? c.args[i + 1] : undefined;
}

/** True when `c` is `kubectl <verb> <resource> ...` in context `ctx`. */
export function is(c: KubectlCall, ctx: string, verb: string, resource?: string): boolean {
    const w = words(c);
    return c.ctx === ctx && w[0] === verb && (resource === undefined || w[1] === resource);
}

const MUTATING = new Set(["delete", "patch", "apply", "create", "replace", "scale", "annotate", "label", "edit"]);

export function mutations(calls: KubectlCall[]): KubectlCall[] {
    return calls.filter((c) => MUTATING.has(words(c)[0]));
}

/** Index of the call deleting Cluster `w` on the management cluster (fails if none). */
export function clusterDeletion(calls: KubectlCall[], w: FakeWorkload): number {
    const i = calls.findIndex((c) => is(c, "mgmt", "delete", "cluster.cluster.x-k8s.io") && words(c)[2] === w.name && namespaceOf(c) === w.namespace);
    assert.ok(i >= 0, `Cluster ${w.namespace}/${w.name} was not deleted`);
    return i;
}

export function lastIndex(calls: KubectlCall[], pred: (c: KubectlCall) => boolean): number {
    for (let i = calls.length - 1; i >= 0; i--) {
        if (pred(calls[i])) {
            return i;
        }
    }
    return -1;
}

/** Kinds of workload the fake workload clusters hold (and whether the teardown must delete them). */
export const CLAIM_WORKLOADS = ["cronjobs", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "pods"];

/** Fills a workload cluster with what a real one holds: LBs, PVC workloads, snapshots, volumes. */
export function populate(fake: FakeCapi, w: FakeWorkload): void {
    fake.addService(w, "apps/web", "LoadBalancer");
    fake.addService(w, "ingress/controller", "LoadBalancer", 400);
    fake.addService(w, "apps/internal", "ClusterIP");
    fake.addWorkload(w, "deployments", "apps/db-client", ["data"]);
    fake.addWorkload(w, "replicasets", "apps/db-client-5d8f", ["data"]);
    fake.addWorkload(w, "deployments", "apps/stateless");
    fake.addWorkload(w, "statefulsets", "apps/db", [], { volumeClaimTemplates: [{ metadata: { name: "pgdata" } }] });
    fake.addWorkload(w, "daemonsets", "kube-system/node-agent");
    fake.addWorkload(w, "cronjobs", "apps/backup", ["backup"]);
    fake.addWorkload(w, "jobs", "apps/migrate", ["data"]);
    fake.addWorkload(w, "pods", "apps/debug", ["data", "backup"]);
    fake.addClaim(w, "apps/data", "Delete", 500);
    fake.addClaim(w, "apps/backup", "Delete");
    fake.addClaim(w, "apps/pgdata-db-0", "Delete");
    fake.addClaim(w, "apps/archive", "Retain");
    fake.addSnapshots(w, ["apps/data-nightly", "apps/backup-weekly"]);
}

/** Asserts that no credential of `workloads` shows in the output or on any command line. */
export function assertNoCredentialLeak(fake: FakeCapi, r: RunResult, workloads: FakeWorkload[]): void {
    const argv = fs.readFileSync(fake.kubectlLog, "utf8") + fs.readFileSync(fake.kindLog, "utf8");
    for (const w of workloads) {
        for (const secret of [w.token, w.encodedKubeconfig, w.encodedKubeconfig.slice(0, 40)]) {
            assert.ok(!r.stdout.includes(secret), "a kubeconfig was printed on stdout");
            assert.ok(!r.stderr.includes(secret), "a kubeconfig was printed on stderr");
            assert.ok(!argv.includes(secret), "a kubeconfig was passed on a command line");
        }
    }
}
