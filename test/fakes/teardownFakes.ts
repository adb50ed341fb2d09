/**
 * Fakes of `kind` and `kubectl` for running `src/host/scripts/teardown.sh` for real under bash.
 *
 * The fake kubectl (a bash client of one Node server process: test/fakes/kubectlServer.ts, its
 * program test/fakes/kubectl-server/*.cjs) keeps a small API server state in files: one directory
 * per context (`mgmt` for the management cluster, `wl-<namespace>-<name>` for a workload
 * cluster), one JSON file per object (`<context>/<resource>/<namespace>/<name>.json`, the
 * namespace `_` for cluster-scoped objects), so parallel calls need no lock. The context
 * of a call is the `current-context:` of the file passed with `--kubeconfig`. It evaluates
 * the subset of kubectl's jsonpath the script uses, and simulates what matters to the
 * teardown: a deleted Cluster goes away after a delay (or never), deleting a PVC makes its
 * PV with reclaim policy Delete go away after a delay, a LoadBalancer Service goes away
 * after its load balancer "is released". Every call is appended to a JSON-lines log with
 * a timestamp, its context and its arguments; deleting a Cluster also records what was
 * left in its workload cluster and how many Flux objects were not suspended at that time.
 */
import * as fs from "fs";
import * as path from "path";
import { FakeClock } from "./clock";
import { installFake, logLines, RunResult } from "./shell";
import { CLUSTER_CRD, FakeObject, HELMRELEASE_CRD, KubectlCall, kubectlServerPort, KUSTOMIZATION_CRD, ORC_IMAGE_CRD, SNAPSHOT_CRD } from "./kubectlServer";

export { CLUSTER_CRD, HELMRELEASE_CRD, KUSTOMIZATION_CRD, ORC_IMAGE_CRD, SNAPSHOT_CRD };
export type { FakeObject, KubectlCall, WorkloadLeft } from "./kubectlServer";

/** Options of a workload cluster in {@link FakeCapi.addCluster}. */
export interface FakeClusterOptions {
    /** Virtual milliseconds from the Cluster's deletion until it is gone (default 0). */
    deleteDelayMs?: number;
    /** The Cluster never goes away once deleted. */
    stuck?: boolean;
    /** The Cluster is already being deleted (gone `deleteDelayMs` after the start). */
    alreadyDeleting?: boolean;
    /** Whether its kubeconfig Secret exists (default true). */
    secret?: boolean;
    /** Its workload API refuses connections. */
    unreachable?: boolean;
    /** Its workload API never answers. */
    hangs?: boolean;
}

/** A workload cluster made by {@link FakeCapi.addCluster}. */
export interface FakeWorkload {
    namespace: string;
    name: string;
    /** Context of the workload cluster in the fake. */
    ctx: string;
    /** The bearer token in its kubeconfig: must never be printed or passed on a command line. */
    token: string;
    /** Its kubeconfig, base64 as in the Secret. */
    encodedKubeconfig: string;
}

/**
 * A fake server: fake `kind` and `kubectl` first on PATH, the management cluster's
 * kubeconfig, and the state of the management and workload clusters.
 */
export class FakeCapi {
    /** The virtual clock of the runs: the script's sleeps and the objects' delays are on it. */
    readonly clock: FakeClock;
    readonly bin: string;
    readonly state: string;
    readonly tmp: string;
    readonly kubectlLog: string;
    readonly kindLog: string;
    readonly mgmtKubeconfig: string;
    /** The file the user creates to say the workload clusters are gone (CLUSTERS_GONE_FILE). */
    readonly goneFile: string;
    /** Where the teardown writes its Flux resume script (FLUX_RESUME_SCRIPT). */
    readonly resumeScript: string;

    constructor(readonly root: string) {
        this.bin = path.join(root, "bin");
        this.state = path.join(root, "state");
        this.tmp = path.join(root, "tmp");
        this.kubectlLog = path.join(root, "kubectl.log");
        this.kindLog = path.join(root, "kind.log");
        this.mgmtKubeconfig = path.join(root, "var", "lib", "capi-mgmt", "kubeconfig");
        this.goneFile = path.join(root, "var", "lib", "capi-mgmt", "workload-clusters-gone");
        this.resumeScript = path.join(root, "var", "lib", "capi-mgmt", "resume-flux.sh");
        this.clock = new FakeClock(path.join(root, "clock"));
        for (const d of [this.bin, this.tmp, path.join(this.state, "mgmt"), path.dirname(this.mgmtKubeconfig)]) {
            fs.mkdirSync(d, { recursive: true });
        }
        installFake(this.bin, "kubectl", "kubectl-client.sh");
        installFake(this.bin, "kind", "fake-kind.sh");
        fs.writeFileSync(this.kubectlLog, "");
        fs.writeFileSync(this.kindLog, "");
        fs.writeFileSync(this.mgmtKubeconfig, "apiVersion: v1\nkind: Config\ncurrent-context: mgmt\n", { mode: 0o600 });
    }

    /** Environment for running the script (or the fake kubectl) against this fake, on its clock. */
    env(extra: Record<string, string> = {}): Record<string, string> {
        return this.clock.env({
            PATH: `${this.bin}:${process.env.PATH}`,
            TMPDIR: this.tmp,
            FAKE_STATE: this.state,
            FAKE_KUBECTL_LOG: this.kubectlLog,
            FAKE_KIND_LOG: this.kindLog,
            FAKE_KUBECTL_PORT: String(kubectlServerPort()),
            ...extra,
        });
    }

    /** Runs `script` under `bash -s` against this fake, on its virtual clock. */
    run(script: string, extra: Record<string, string> = {}): RunResult {
        return this.clock.run(script, this.env(extra));
    }

    /** The kind clusters `kind get clusters` lists. */
    setKindClusters(names: string[]): void {
        fs.writeFileSync(path.join(this.state, "_kind_clusters"), names.map((n) => `${n}\n`).join(""));
    }

    /** Makes the fake send `signal` to the script's root process on the next `verb` of `resource` in `ctx` (then answer as usual). */
    signalOn(ctx: string, verb: string, resource: string, signal = "SIGHUP"): void {
        fs.writeFileSync(path.join(this.state, ctx, `_signal-${verb}-${resource}`), signal);
    }

    /** Makes the fake fail `verb` on `resource` in `ctx` (`raw` for `get --raw`). */
    failOn(ctx: string, verb: string, resource: string, message = ""): void {
        fs.writeFileSync(path.join(this.state, ctx, `_fail-${verb}-${resource}`), message);
    }

    private file(ctx: string, resource: string, ns: string | undefined, name: string): string {
        return path.join(this.state, ctx, resource, ns ?? "_", `${name}.json`);
    }

    /** Stores an object (namespace `_` directory for cluster-scoped ones). */
    put(ctx: string, resource: string, obj: FakeObject): void {
        const file = this.file(ctx, resource, obj.metadata.namespace, obj.metadata.name);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify(obj));
    }

    /** The stored objects of a resource (including deleted ones not yet gone). */
    objects(ctx: string, resource: string): FakeObject[] {
        const base = path.join(this.state, ctx, resource);
        if (!fs.existsSync(base)) {
            return [];
        }
        return fs
            .readdirSync(base)
            .sort()
            .flatMap((ns) =>
                fs
                    .readdirSync(path.join(base, ns))
                    .filter((f) => f.endsWith(".json"))
                    .sort()
                    .map((f) => JSON.parse(fs.readFileSync(path.join(base, ns, f), "utf8")) as FakeObject),
            );
    }

    /** Names (`namespace/name`, or `name` if cluster-scoped) of the objects not deleted or gone. */
    live(ctx: string, resource: string): string[] {
        return this.objects(ctx, resource)
            .filter((o) => o._deleteAt === undefined || o._deleteAt > this.clock.nowMs())
            .map((o) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name));
    }

    /** Installs a CRD in `ctx`. */
    installCrd(ctx: string, name: string): void {
        this.put(ctx, "customresourcedefinitions", {
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            metadata: { name },
        });
    }

    /** Installs Cluster API on the management cluster. */
    installClusterApi(): void {
        this.installCrd("mgmt", CLUSTER_CRD);
    }

    /** Installs ORC with node images (`namespace/name`) that take `deleteDelayMs` to go, or never. */
    installOrcImages(images: string[], opts: { deleteDelayMs?: number; stuck?: boolean } = {}): void {
        this.installCrd("mgmt", ORC_IMAGE_CRD);
        for (const id of images) {
            const [namespace, name] = id.split("/");
            this.put("mgmt", ORC_IMAGE_CRD, {
                apiVersion: "openstack.k-orc.cloud/v1alpha1",
                kind: "Image",
                metadata: { namespace, name },
                spec: { managementPolicy: "managed" },
                _deleteDelayMs: opts.deleteDelayMs,
                _stuck: opts.stuck,
            });
        }
    }

    /**
     * Installs Flux with Kustomizations and HelmReleases (`namespace/name`) in `ctx` (the
     * management cluster unless given); those in `suspended` are suspended already.
     */
    installFlux(kustomizations: string[], helmReleases: string[], ctx = "mgmt", suspended: string[] = []): void {
        this.installCrd(ctx, KUSTOMIZATION_CRD);
        this.installCrd(ctx, HELMRELEASE_CRD);
        const add = (resource: string, kind: string, apiVersion: string, id: string): void => {
            const [namespace, name] = id.split("/");
            const spec = { interval: "10m", prune: true, ...(suspended.includes(id) ? { suspend: true } : {}) };
            this.put(ctx, resource, { apiVersion, kind, metadata: { namespace, name }, spec });
        };
        kustomizations.forEach((id) => add(KUSTOMIZATION_CRD, "Kustomization", "kustomize.toolkit.fluxcd.io/v1", id));
        helmReleases.forEach((id) => add(HELMRELEASE_CRD, "HelmRelease", "helm.toolkit.fluxcd.io/v2", id));
    }

    /** Adds a workload Cluster, its kubeconfig Secret and an empty workload cluster. */
    addCluster(namespace: string, name: string, opts: FakeClusterOptions = {}): FakeWorkload {
        const ctx = `wl-${namespace}-${name}`;
        const token = `token-${name}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
        const kubeconfig = [
            "apiVersion: v1",
            "kind: Config",
            `clusters: [{name: ${name}, cluster: {server: "https://${ctx}.example.test:6443"}}]`,
            `users: [{name: ${name}-admin, user: {token: ${token}}}]`,
            `contexts: [{name: ${ctx}, context: {cluster: ${name}, user: ${name}-admin}}]`,
            `current-context: ${ctx}`,
            "",
        ].join("\n");
        const encodedKubeconfig = Buffer.from(kubeconfig).toString("base64");
        const cluster: FakeObject = {
            apiVersion: "cluster.x-k8s.io/v1beta2",
            kind: "Cluster",
            metadata: { namespace, name },
            spec: { topology: { classRef: { name: "openstack" }, version: "v1.33.1" } },
            _deleteDelayMs: opts.deleteDelayMs ?? 0,
            _stuck: opts.stuck ?? false,
        };
        if (opts.alreadyDeleting) {
            cluster.metadata.deletionTimestamp = new Date(this.clock.nowMs()).toISOString();
            cluster._deleteAt = opts.stuck ? Number.MAX_SAFE_INTEGER : this.clock.nowMs() + (opts.deleteDelayMs ?? 0);
        }
        this.put("mgmt", CLUSTER_CRD, cluster);
        if (opts.secret ?? true) {
            this.put("mgmt", "secrets", {
                apiVersion: "v1",
                kind: "Secret",
                metadata: { namespace, name: `${name}-kubeconfig`, labels: { "cluster.x-k8s.io/cluster-name": name } },
                type: "cluster.x-k8s.io/secret",
                data: { value: encodedKubeconfig },
            });
        }
        fs.mkdirSync(path.join(this.state, ctx), { recursive: true });
        this.put(ctx, "namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "kube-system" } });
        if (opts.unreachable) {
            fs.writeFileSync(path.join(this.state, ctx, "_unreachable"), "");
        }
        if (opts.hangs) {
            fs.writeFileSync(path.join(this.state, ctx, "_hang"), "");
        }
        return { namespace, name, ctx, token, encodedKubeconfig };
    }

    /** Adds a Service of the given type in a workload cluster. */
    addService(w: FakeWorkload, id: string, type: "LoadBalancer" | "ClusterIP", deleteDelayMs?: number): void {
        const [namespace, name] = id.split("/");
        this.put(w.ctx, "services", {
            apiVersion: "v1",
            kind: "Service",
            metadata: { namespace, name },
            spec: { type, ports: [{ port: 443 }] },
            _deleteDelayMs: deleteDelayMs,
        });
    }

    /** Adds a PVC bound to a PV with the given reclaim policy (PV name: `pv-<name>`). */
    addClaim(w: FakeWorkload, id: string, policy: "Delete" | "Retain", deleteDelayMs?: number): void {
        const [namespace, name] = id.split("/");
        this.put(w.ctx, "persistentvolumeclaims", {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            metadata: { namespace, name },
            spec: { accessModes: ["ReadWriteOnce"], volumeName: `pv-${name}` },
        });
        this.put(w.ctx, "persistentvolumes", {
            apiVersion: "v1",
            kind: "PersistentVolume",
            metadata: { name: `pv-${name}` },
            spec: {
                persistentVolumeReclaimPolicy: policy,
                claimRef: { namespace, name },
                csi: { driver: "cinder.csi.openstack.org", volumeHandle: `vol-${name}` },
            },
            status: { phase: "Bound" },
            _deleteDelayMs: deleteDelayMs,
        });
    }

    /** Adds a workload (`resource` e.g. `deployments`) whose pod template mounts `claims` (none: no PVC). */
    addWorkload(w: FakeWorkload, resource: string, id: string, claims: string[] = [], extraSpec: Record<string, unknown> = {}): void {
        const [namespace, name] = id.split("/");
        const kinds: Record<string, [string, string]> = {
            deployments: ["apps/v1", "Deployment"],
            statefulsets: ["apps/v1", "StatefulSet"],
            daemonsets: ["apps/v1", "DaemonSet"],
            replicasets: ["apps/v1", "ReplicaSet"],
            jobs: ["batch/v1", "Job"],
            cronjobs: ["batch/v1", "CronJob"],
            pods: ["v1", "Pod"],
        };
        const volumes = [
            { name: "config", configMap: { name: "config" } },
            ...claims.map((c, i) => ({ name: `data${i}`, persistentVolumeClaim: { claimName: c } })),
        ];
        const podSpec = { containers: [{ name: "app", image: "registry.example.test/app:1" }], volumes };
        let spec: Record<string, unknown>;
        if (resource === "pods") {
            spec = podSpec;
        } else if (resource === "cronjobs") {
            spec = { schedule: "*/5 * * * *", jobTemplate: { spec: { template: { spec: podSpec } } } };
        } else {
            spec = { template: { spec: podSpec } };
        }
        const [apiVersion, kind] = kinds[resource];
        this.put(w.ctx, resource, { apiVersion, kind, metadata: { namespace, name }, spec: { ...spec, ...extraSpec } });
    }

    /** Installs the VolumeSnapshot CRD in a workload cluster and adds snapshots (`namespace/name`). */
    addSnapshots(w: FakeWorkload, ids: string[]): void {
        this.installCrd(w.ctx, SNAPSHOT_CRD);
        for (const id of ids) {
            const [namespace, name] = id.split("/");
            this.put(w.ctx, SNAPSHOT_CRD, {
                apiVersion: "snapshot.storage.k8s.io/v1",
                kind: "VolumeSnapshot",
                metadata: { namespace, name },
                spec: { source: { persistentVolumeClaimName: "data" } },
            });
        }
    }

    /** The fake kubectl calls, in the order they started. */
    calls(): KubectlCall[] {
        return logLines(this.kubectlLog)
            .map((l) => JSON.parse(l) as KubectlCall)
            .sort((a, b) => a.t - b.t);
    }

    /** The fake kind calls (their arguments). */
    kindCalls(): string[] {
        return logLines(this.kindLog).map((l) => l.replace(/^\d+ /, ""));
    }
}
