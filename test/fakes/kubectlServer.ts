/**
 * The fake kubectl of the teardown tests (test/fakes/teardownFakes.ts): the objects it stores, the
 * calls it logs, and its server. The server is a Node program under test/fakes/kubectl-server/ run
 * by the Node binary running the tests: one long-lived process answers every call of every test (a
 * Node process per call would cost more than the rest of the suite); the `kubectl` on PATH is a
 * bash client (test/fakes/kubectl-client.sh) that sends it its arguments over a local TCP connection.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A Kubernetes object as stored by the fake; keys starting with `_` are fake-only. */
export interface FakeObject {
    apiVersion?: string;
    kind?: string;
    metadata: { name: string; namespace?: string; deletionTimestamp?: string; [key: string]: unknown };
    spec?: Record<string, unknown>;
    status?: Record<string, unknown>;
    data?: Record<string, string>;
    /** Virtual epoch milliseconds at which a deleted object disappears. */
    _deleteAt?: number;
    /** Virtual milliseconds between its deletion and its disappearance. */
    _deleteDelayMs?: number;
    /** A deleted object that never disappears. */
    _stuck?: boolean;
    [key: string]: unknown;
}

/** What the workload cluster still held when its Cluster was deleted. */
export interface WorkloadLeft {
    loadBalancers: number;
    claims: number;
    deleteVolumes: number;
    snapshots: number;
    claimWorkloads: number;
}

/** One fake kubectl call, as logged. */
export interface KubectlCall {
    /** Epoch milliseconds (fractional, real time) when the call started: orders the calls. */
    t: number;
    /** Virtual epoch milliseconds (test/fakes/clock.ts) of the call. */
    vt: number;
    /** Context: `mgmt` or `wl-<namespace>-<name>`. */
    ctx?: string;
    args: string[];
    /** Mode (octal) of the workload kubeconfig file and of its directory. */
    kubeconfigMode?: string;
    kubeconfigDirMode?: string;
    exit?: number;
    error?: string;
    /** For a Cluster deletion: when the Cluster will disappear, virtual epoch ms (null: never). */
    goneAt?: number | null;
    /** For a Cluster deletion: what its workload cluster still held. */
    workloadLeft?: WorkloadLeft;
    /** For a Cluster deletion: Flux Kustomizations and HelmReleases not suspended. */
    fluxUnsuspended?: number;
    /** For an ORC object's deletion: Clusters (deleted or not) still on the management cluster. */
    clustersLeft?: number;
}

export const CLUSTER_CRD = "clusters.cluster.x-k8s.io";
export const KUSTOMIZATION_CRD = "kustomizations.kustomize.toolkit.fluxcd.io";
export const HELMRELEASE_CRD = "helmreleases.helm.toolkit.fluxcd.io";
export const SNAPSHOT_CRD = "volumesnapshots.snapshot.storage.k8s.io";
export const ORC_IMAGE_CRD = "images.openstack.k-orc.cloud";

/** The server's program (it requires kubectl.cjs, resources.cjs and jsonpath.cjs beside it). */
const SERVER = path.join(__dirname, "kubectl-server", "server.cjs");

let serverPort: number | undefined;

/** Port of the fake kubectl's server, started on first use and ended with this process. */
export function kubectlServerPort(): number {
    if (serverPort === undefined) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-fake-kubectl-"));
        const portFile = path.join(dir, "port");
        const crds = { CLUSTER_CRD, KUSTOMIZATION_CRD, HELMRELEASE_CRD, SNAPSHOT_CRD };
        const child = spawn(process.execPath, [SERVER, portFile], { stdio: "ignore", env: { ...process.env, FAKE_KUBECTL_CRDS: JSON.stringify(crds) } });
        child.unref();
        process.on("exit", () => {
            child.kill();
            fs.rmSync(dir, { recursive: true, force: true });
        });
        // A guard against a server that cannot start, not a bound any test depends on.
        const giveUp = Date.now() + 60_000;
        while (!fs.existsSync(portFile)) {
            if (Date.now() > giveUp || child.exitCode !== null) {
                throw new Error("the fake kubectl's server did not start");
            }
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        }
        serverPort = Number(fs.readFileSync(portFile, "utf8"));
    }
    return serverPort;
}
