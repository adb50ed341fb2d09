/**
 * src/host/scripts/pivot.sh under bash with a fake kubectl and clusterctl (test/fakes/pivot/):
 * its arguments, each refusal before anything moves, what it does around clusterctl, and its
 * re-runs. The real clusterctl and managers run it in test/integration/pivot.integration.ts.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { HOST_SCRIPTS_DIR, renderHostScript } from "../src/host/hostScripts";
import { hasShellcheck, installFake, makeTempDir, RunResult, shellcheck, skipTest } from "./fakes/shell";

const PROVIDERS = ["CoreProvider/cluster-api|v1.14.0", "InfrastructureProvider/openstack|v0.14.7", "AddonProvider/helm|v0.6.4"];
const MOVE = '"clusterctl.cluster.x-k8s.io/move":""';

/** One fake management cluster: its state files (see test/fakes/pivot/kubectl.sh). */
type Cluster = Partial<
    Record<"clusters" | "classes" | "machines" | "crds" | "orc" | "providers" | "idrefs" | "identities" | "secrets" | "objects" | "kustomizations", string[]>
>;

const healthySource = (): Cluster => ({
    clusters: ["alpha|false|true|True|true|False|"],
    classes: ["dev|"],
    machines: ["alpha-md-0-abc|node-1", "alpha-cp-xyz|node-2"],
    crds: ["clusters.cluster.x-k8s.io", "machines.cluster.x-k8s.io", "images.openstack.k-orc.cloud", "servergroups.openstack.k-orc.cloud"],
    orc: [
        "images.openstack.k-orc.cloud|ubuntu|unmanaged||openstack-credentials|",
        "servergroups.openstack.k-orc.cloud|alpha-workers|managed||openstack-credentials|",
    ],
    providers: PROVIDERS,
    idrefs: ["ClusterIdentity|openstack"],
    identities: ["openstack|capo-system/capi-mgmt-openstack-credentials"],
    secrets: [`capo-system/capi-mgmt-openstack-credentials|${MOVE}`, `clusters/openstack-credentials|${MOVE}`],
    objects: ["machines.cluster.x-k8s.io|machine.cluster.x-k8s.io/alpha-md-0-abc"],
    kustomizations: ["flux-system/flux-system|true", "flux-system/workload-clusters|true"],
});
const readyTarget = (): Cluster => ({
    crds: ["clusters.cluster.x-k8s.io", "machines.cluster.x-k8s.io", "images.openstack.k-orc.cloud", "servergroups.openstack.k-orc.cloud"],
    providers: PROVIDERS,
    identities: ["openstack|capo-system/capi-mgmt-openstack-credentials"],
    secrets: [`capo-system/capi-mgmt-openstack-credentials|${MOVE}`, `clusters/openstack-credentials|${MOVE}`],
});

interface Bed {
    dir: string;
    run(env?: Record<string, string>, args?: string[]): RunResult;
    read(cluster: "from" | "to", kind: keyof Cluster): string[];
    log(): string;
}

function bed(from: Cluster, to: Cluster): Bed {
    const dir = makeTempDir("pivot");
    const bin = path.join(dir, "bin");
    installFake(bin, "kubectl", "pivot/kubectl.sh");
    installFake(bin, "clusterctl", "pivot/clusterctl.sh");
    for (const [name, c] of [
        ["from", from],
        ["to", to],
    ] as const) {
        fs.mkdirSync(path.join(dir, name));
        fs.writeFileSync(path.join(dir, name, "kubeconfig"), `server: https://${name}.example:6443\n`);
        for (const [kind, lines] of Object.entries(c)) {
            fs.writeFileSync(path.join(dir, name, kind), lines.map((l) => `${l}\n`).join(""));
        }
    }
    const read = (cluster: "from" | "to", kind: keyof Cluster) => {
        const f = path.join(dir, cluster, kind);
        return fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean) : [];
    };
    return {
        dir,
        read,
        log: () => (fs.existsSync(path.join(dir, "log")) ? fs.readFileSync(path.join(dir, "log"), "utf8") : ""),
        run(env = {}, args = []) {
            const r = spawnSync("bash", [path.join(HOST_SCRIPTS_DIR, "pivot.sh"), ...args], {
                encoding: "utf8",
                env: {
                    PATH: `${bin}:/usr/bin:/bin`,
                    FAKE_LOG: path.join(dir, "log"),
                    FROM_KUBECONFIG: path.join(dir, "from", "kubeconfig"),
                    TO_KUBECONFIG: path.join(dir, "to", "kubeconfig"),
                    NAMESPACE: "clusters",
                    CLUSTERCTL: path.join(bin, "clusterctl"),
                    ...env,
                },
            });
            return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: 0 };
        },
    };
}

const refusedBeforeMoving = (b: Bed, r: RunResult) => {
    assert.strictEqual(r.status, 1, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(b.log(), /^clusterctl /m, "clusterctl ran");
    assert.doesNotMatch(b.log(), / (annotate|patch|label) /, "something changed before the refusal");
};

describe("src/host/scripts/pivot.sh (fake kubectl and clusterctl)", () => {
    it("passes shellcheck, as a file and as rendered (the shared lib included)", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of pivot.sh", "shellcheck");
        }
        const dir = makeTempDir("pivot-sc");
        fs.writeFileSync(path.join(dir, "pivot.sh"), renderHostScript("pivot.sh", {}));
        shellcheck([path.join(HOST_SCRIPTS_DIR, "pivot.sh"), path.join(HOST_SCRIPTS_DIR, "lib", "capi-move.sh"), path.join(dir, "pivot.sh")]);
    });

    describe("bad arguments: exit 2, naming the problem, nothing run", () => {
        const cases: [string, Record<string, string>, string[], RegExp][] = [
            ["an argument", {}, ["--force"], /takes no arguments \(got: --force\)/],
            ["NAMESPACE unset", { NAMESPACE: "" }, [], /NAMESPACE is not set/],
            ["a bad NAMESPACE", { NAMESPACE: "Clusters;x" }, [], /NAMESPACE must be a Kubernetes namespace name, got 'Clusters;x'/],
            [
                "no source kubeconfig",
                { FROM_KUBECONFIG: "/nonexistent/kubeconfig" },
                [],
                /FROM_KUBECONFIG: no readable kubeconfig at \/nonexistent\/kubeconfig/,
            ],
            ["no clusterctl", { CLUSTERCTL: "/nonexistent/clusterctl" }, [], /CLUSTERCTL: no executable clusterctl at \/nonexistent\/clusterctl/],
        ];
        for (const [what, env, args, message] of cases) {
            it(what, () => {
                const b = bed(healthySource(), readyTarget());
                const r = b.run(env, args);
                assert.strictEqual(r.status, 2, r.stderr);
                assert.match(r.stderr, message);
                assert.match(r.stderr, /usage: FROM_KUBECONFIG=<path> TO_KUBECONFIG=<path> NAMESPACE=<namespace> CLUSTERCTL=<path> bash pivot.sh/);
                assert.strictEqual(b.log(), "");
            });
        }
        it("the same API server on both sides", () => {
            const b = bed(healthySource(), readyTarget());
            const r = b.run({ TO_KUBECONFIG: path.join(b.dir, "from", "kubeconfig") });
            assert.strictEqual(r.status, 2);
            assert.match(r.stderr, /FROM_KUBECONFIG and TO_KUBECONFIG point at the same API server \(https:\/\/from.example:6443\)/);
        });
    });

    describe("refuses before moving anything, each with its message", () => {
        const cases: [string, (s: Cluster, t: Cluster) => void, RegExp[]][] = [
            [
                "a provider missing on the target, another at another version",
                (_s, t) => (t.providers = ["CoreProvider/cluster-api|v1.14.1", "AddonProvider/helm|v0.6.4"]),
                [
                    /REFUSED: provider CoreProvider\/cluster-api is v1\.14\.0 on the source but v1\.14\.1 on the target: install the same version on the target first/,
                    /REFUSED: provider InfrastructureProvider\/openstack v0\.14\.7 is not installed on the target \(clusterctl's inventory there has: CoreProvider\/cluster-api AddonProvider\/helm\)/,
                ],
            ],
            [
                "a paused Cluster (spec or annotation) and a paused ClusterClass",
                (s) => {
                    s.clusters = ["alpha|true|true|True|true|False|", 'beta||true|True|true|False|{"cluster.x-k8s.io/paused":""}'];
                    s.classes = ['dev|{"cluster.x-k8s.io/paused":"true"}'];
                },
                [
                    /REFUSED: Cluster\(s\) paused: clusters\/alpha, clusters\/beta\. clusterctl does not move a paused Cluster \(spec\.paused or the cluster\.x-k8s\.io\/paused annotation\)\. Unpause it when whoever paused it is done: kubectl -n clusters patch cluster <name> --type merge -p '\{"spec":\{"paused":false\}\}'/,
                    /REFUSED: ClusterClass\(es\) paused: clusters\/dev\. clusterctl does not move while a ClusterClass has the cluster\.x-k8s\.io\/paused annotation/,
                ],
            ],
            [
                "mid-provisioning, mid-rollout, Machines without NodeRefs",
                (s) => {
                    s.clusters = ["alpha|false|true|True|true|True|", "beta|false|false||||", "gamma|false|true|False|false||"];
                    s.machines = ["alpha-md-0-new|", "alpha-md-0-old|node-1"];
                },
                [
                    /REFUSED: a Cluster or Machine is still being created \(a cluster being built, or a rollout or scale-up under way: a Machine without its node yet\): Cluster clusters\/alpha is rolling out \(its RollingOut condition is True\); Cluster clusters\/beta is still provisioning its infrastructure; Machine clusters\/alpha-md-0-new has no node yet; the control plane of Cluster clusters\/gamma is not yet initialized\. clusterctl does not move then; pivot once 'kubectl -n clusters get machines' shows every Machine Running/,
                ],
            ],
            [
                "the identity and the credential Secrets missing on the target",
                (_s, t) => {
                    t.identities = [];
                    t.secrets = [];
                },
                [
                    /REFUSED: the OpenStackClusterIdentity openstack the Clusters use is not on the target: clusterctl does not move it \(cluster-scoped\)\. Create it there first/,
                    /REFUSED: the credential Secret capo-system\/capi-mgmt-openstack-credentials is not on the target/,
                    /REFUSED: the credential Secret clusters\/openstack-credentials is not on the target/,
                ],
            ],
            [
                "Flux on the source not suspended (it would apply the moved objects there again)",
                (s) => (s.kustomizations = ["flux-system/flux-system|", "flux-system/workload-clusters|false", "flux-system/addons|true"]),
                [
                    /REFUSED: Flux on the source is not suspended \(Kustomization\(s\) flux-system\/flux-system flux-system\/workload-clusters\): it would apply the moved objects there again from Git, and the source's Cluster API would build the Clusters a second time\. Suspend it first/,
                ],
            ],
            [
                "Clusters of the namespace already on the target",
                (_s, t) => (t.clusters = ["alpha|false|true|True|true||", "other|false|true|True|true||"]),
                [
                    /REFUSED: the target already has Clusters in namespace clusters: alpha other\. A move would give Cluster API a second copy of the source's Clusters \(alpha\)/,
                ],
            ],
        ];
        for (const [what, edit, messages] of cases) {
            it(what, () => {
                const s = healthySource();
                const t = readyTarget();
                edit(s, t);
                const b = bed(s, t);
                const r = b.run();
                refusedBeforeMoving(b, r);
                for (const m of messages) {
                    assert.match(r.stderr, m);
                }
            });
        }
        it("a source it cannot reach: exit 1 naming it", () => {
            const b = bed(healthySource(), readyTarget());
            fs.writeFileSync(path.join(b.dir, "from", "unreachable"), "");
            const r = b.run();
            refusedBeforeMoving(b, r);
            assert.match(r.stderr, /FAILED: cannot list the Clusters of namespace clusters on the source \(.*from\/kubeconfig\)/);
        });
    });

    it("moves: credential Secrets unlabelled for clusterctl and labelled again, managed ORC objects detached for it and restored on the target, marks removed", () => {
        const b = bed(healthySource(), readyTarget());
        const r = b.run();
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(
            r.stdout,
            "pivot: moved Cluster(s) alpha of namespace clusters from https://from.example:6443 to https://to.example:6443; the target's Cluster API manages them now, the source has none\n",
        );
        const log = b.log();
        assert.match(
            log,
            new RegExp(`^clusterctl move --kubeconfig ${b.dir}/from/kubeconfig --to-kubeconfig ${b.dir}/to/kubeconfig --namespace clusters$`, "m"),
        );
        assert.match(log, /^clusterctl sees labelled Secrets: $/m, "clusterctl saw the credential Secrets without the move label");
        assert.match(
            log,
            /^clusterctl sees ORC objects: images.openstack.k-orc.cloud\|ubuntu\| servergroups.openstack.k-orc.cloud\|alpha-workers\|detach$/m,
            "the managed ServerGroup detached for the move",
        );
        assert.deepStrictEqual(
            b.read("from", "secrets"),
            [`capo-system/capi-mgmt-openstack-credentials|${MOVE}`, `clusters/openstack-credentials|${MOVE}`],
            "labels back",
        );
        assert.deepStrictEqual(b.read("to", "orc"), healthySource().orc, "onDelete and annotations on the target as they were on the source");
        assert.deepStrictEqual(b.read("to", "clusters"), ["alpha|false|true|True|true|False|"], "no mark left");
        assert.deepStrictEqual(b.read("to", "classes"), ["dev|"]);
        assert.deepStrictEqual(b.read("from", "clusters"), []);
        // Before the move, the source's Clusters were marked (a paused one with the mark is this pivot's).
        assert.match(log, /annotate clusters.v1beta2.cluster.x-k8s.io --all --overwrite capi-mgmt.io\/pivot=to https:\/\/to.example:6443/);
    });

    it("an ORC object clusterctl does not take (no move label) keeps its onDelete on the source", () => {
        const s = healthySource();
        s.orc = [...(s.orc ?? []), 'servergroups.openstack.k-orc.cloud|local|managed|delete|openstack-credentials|"nomove":"x"'];
        const b = bed(s, readyTarget());
        const r = b.run();
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(b.read("from", "orc"), ['servergroups.openstack.k-orc.cloud|local|managed|delete|openstack-credentials|"nomove":"x"']);
    });

    it("a re-run after a completed move moves nothing again and exits 0", () => {
        const b = bed(healthySource(), readyTarget());
        assert.strictEqual(b.run().status, 0);
        fs.writeFileSync(path.join(b.dir, "log"), "");
        const r = b.run();
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(
            r.stdout,
            "pivot: already done: Cluster(s) alpha of namespace clusters are on the target (https://to.example:6443), none on the source\n",
        );
        assert.doesNotMatch(b.log(), /^clusterctl /m);
    });

    it("clusterctl refuses (a Cluster paused since the check): the user's message, the source as it was", () => {
        const b = bed(healthySource(), readyTarget());
        const r = b.run({ FAKE_CLUSTERCTL_MODE: "paused" });
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /pivot: REFUSED: Cluster\(s\) paused: clusters\/alpha\. clusterctl does not move a paused Cluster/);
        assert.deepStrictEqual(b.read("from", "clusters"), ["alpha|false|true|True|true|False|"], "unmarked");
        assert.deepStrictEqual(b.read("from", "orc"), healthySource().orc, "ORC's onDelete back");
        assert.deepStrictEqual(b.read("from", "secrets"), healthySource().secrets, "labels back");
    });

    it("clusterctl fails after pausing, before creating: the source resumed; a re-run moves", () => {
        const b = bed(healthySource(), readyTarget());
        const r = b.run({ FAKE_CLUSTERCTL_MODE: "early" });
        assert.strictEqual(r.status, 1);
        assert.match(
            r.stderr,
            /FAILED: clusterctl move failed before creating anything on the target \(exit code 1, its output above\); the source is as it was/,
        );
        assert.match(r.stderr, /resuming Cluster clusters\/alpha, paused by clusterctl during this pivot/);
        assert.deepStrictEqual(b.read("from", "clusters"), ["alpha|false|true|True|true|False|"]);
        assert.strictEqual(b.run().status, 0);
    });

    it("a re-run after clusterctl stopped before creating (the source's Clusters paused with the mark): resumes them and moves", () => {
        const s = healthySource();
        s.clusters = ['alpha|true|true|True|true|False|"capi-mgmt.io/pivot":"to x"'];
        const b = bed(s, readyTarget());
        const r = b.run();
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stderr, /an earlier pivot stopped before creating anything on the target: resuming the source's Clusters it paused, then moving/);
        assert.deepStrictEqual(b.read("to", "clusters"), ["alpha|false|true|True|true|False|"]);
    });

    it("a paused Cluster without the mark is someone else's: refused, not resumed", () => {
        const s = healthySource();
        s.clusters = ['alpha|true|true|True|true|False|"other":"x"'];
        const b = bed(s, readyTarget());
        refusedBeforeMoving(b, b.run());
    });

    it("clusterctl stopped while creating on the target: a re-run resumes the complete source and moves again", () => {
        const b = bed(healthySource(), readyTarget());
        const r = b.run({ FAKE_CLUSTERCTL_MODE: "midway" });
        assert.strictEqual(r.status, 1);
        assert.match(
            r.stderr,
            /FAILED: clusterctl move stopped midway \(exit code 1, its output above\): the Clusters are paused on both sides, so nothing reconciles them\. Fix the cause and run pivot\.sh again/,
        );
        assert.deepStrictEqual(b.read("from", "secrets"), healthySource().secrets, "labels back after a failure too");
        const again = b.run();
        assert.strictEqual(again.status, 0, again.stderr);
        assert.match(
            again.stderr,
            /an earlier pivot stopped while creating on the target \(3 object\(s\) not there yet, e\.g\. machine.cluster.x-k8s.io\/alpha-md-0-abc\); the source is complete/,
        );
        assert.deepStrictEqual(b.read("from", "clusters"), []);
    });

    it("clusterctl stopped while deleting from the source: refused with the commands that finish it", () => {
        const s = healthySource();
        s.clusters = ['alpha|true|true|True|true|False|"capi-mgmt.io/pivot":"to x"'];
        const t = readyTarget();
        t.clusters = ['alpha|true|true|True|true|False|"capi-mgmt.io/pivot":"to x"'];
        t.objects = s.objects;
        t.orc = s.orc;
        const b = bed(s, t);
        const r = b.run();
        assert.strictEqual(r.status, 1);
        assert.match(
            r.stderr,
            /REFUSED: an earlier pivot stopped while clusterctl deleted the moved objects from the source: everything left in clusters on the source is also on the target/,
        );
        assert.match(
            r.stderr,
            /for o in machine.cluster.x-k8s.io\/alpha-md-0-abc images.openstack.k-orc.cloud\/ubuntu servergroups.openstack.k-orc.cloud\/alpha-workers; do kubectl --kubeconfig \S+\/from\/kubeconfig -n clusters annotate \$o clusterctl.cluster.x-k8s.io\/delete-for-move= && .* delete \$o --wait=false && .* patch \$o --type merge -p '\{"metadata":\{"finalizers":\[\]\}\}'; done; then run pivot.sh again/,
        );
        assert.doesNotMatch(b.log(), /^clusterctl /m);
    });
});
