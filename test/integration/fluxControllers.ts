/**
 * Flux's source-controller and kustomize-controller, built by testbed/build.sh, running as
 * processes against a test-bed control plane (whose CRDs the harness installs from the same
 * pinned releases).
 *
 * Speed-ups are flags of the controllers, never sleeps: kustomize-controller re-checks a
 * dependency that is not Ready every few seconds (`--requeue-dependency`) instead of 30 s, and
 * failed reconciles back off at most 10 s (`--max-retry-delay`) instead of 15 min. Intervals
 * come from the objects themselves.
 *
 * One flag changes behaviour, not speed: `CancelHealthCheckOnNewRevision`. The tree's
 * `workload-clusters` waits up to 40 minutes for every Cluster to be Available, which no Cluster
 * becomes without OpenStack; without the gate kustomize-controller would apply the next commit
 * only after that wait times out. (The same holds on a real management cluster while a
 * workload cluster is unhealthy: Flux v2.9's install leaves the gate off, so the program turns it
 * on; the flag here comes from the same function, src/cluster/clusterObjects.ts.)
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as net from "net";
import { kustomizeControllerFeatureGates, withFeatureGates } from "../../src/cluster/clusterObjects";
import { DEFAULT_VERSIONS } from "../../src/versions/versions";
import { ControlPlane, httpGet } from "./harness/controlPlane";
import { ManagedProcess, waitFor } from "./harness/processes";
import { BinaryName, Testbed } from "./harness/testbed";

/** Bound of a controller's start (caches synced, health endpoint up) on a loaded machine. */
export const FLUX_READY_TIMEOUT_MS = 180_000;

/** Namespace the controllers "run in" (events, leader election if it were on). */
const RUNTIME_NAMESPACE = "flux-system";

/** How kustomize-controller re-checks a Kustomization whose dependencies are not Ready yet. */
export const REQUEUE_DEPENDENCY = "2s";

/** The test-bed components the controllers need (testbed/build.sh, pinned in testbed/flux/). */
export const FLUX_BINARIES: BinaryName[] = ["flux-source-controller", "flux-kustomize-controller"];

/**
 * `n` different free ports on 127.0.0.1: each listener stays open until all are taken, so the
 * kernel cannot hand the same port out twice (as back-to-back bind-and-close calls can).
 */
export async function distinctFreePorts(n: number): Promise<number[]> {
    const servers: net.Server[] = [];
    try {
        for (let i = 0; i < n; i++) {
            const srv = net.createServer();
            await new Promise<void>((resolve, reject) => {
                srv.once("error", reject);
                srv.listen(0, "127.0.0.1", () => resolve());
            });
            servers.push(srv);
        }
        return servers.map((s) => (s.address() as net.AddressInfo).port);
    } finally {
        await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    }
}

/** The two controllers, running. */
export class FluxControllers {
    private constructor(
        readonly dir: string,
        readonly source: ManagedProcess,
        readonly kustomize: ManagedProcess,
    ) {}

    /** Both processes, for `waitFor(..., { watched })`. */
    get processes(): ManagedProcess[] {
        return [this.source, this.kustomize];
    }

    /**
     * Starts both against `cp` and waits until each reports ready. They are adopted by the
     * control plane, so `cp.stop()` stops them too; `stop()` stops them earlier.
     */
    static async start(cp: ControlPlane, testbed: Testbed): Promise<FluxControllers> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-flux-"));
        const env = { KUBECONFIG: cp.kubeconfig, RUNTIME_NAMESPACE };
        // source-controller refuses a storage path that does not exist.
        fs.mkdirSync(path.join(dir, "storage"));
        const [storagePort, sourceHealth, kustomizeHealth] = await distinctFreePorts(3);
        const common = [
            "--log-level=info",
            "--log-encoding=json",
            "--enable-leader-election=false",
            "--watch-all-namespaces=true",
            "--metrics-addr=0",
            "--max-retry-delay=10s",
        ];
        const source = new ManagedProcess({
            name: "source-controller",
            command: testbed.path("flux-source-controller"),
            logFile: path.join(dir, "source-controller.log"),
            env,
            args: [
                ...common,
                `--health-addr=127.0.0.1:${sourceHealth}`,
                `--storage-path=${path.join(dir, "storage")}`,
                // kustomize-controller downloads artifacts from the URL in the GitRepository's status.
                `--storage-addr=127.0.0.1:${storagePort}`,
                `--storage-adv-addr=127.0.0.1:${storagePort}`,
            ],
        });
        cp.adopt(source);
        const kustomize = new ManagedProcess({
            name: "kustomize-controller",
            command: testbed.path("flux-kustomize-controller"),
            logFile: path.join(dir, "kustomize-controller.log"),
            env,
            // The feature gates the program gives the install's kustomize-controller (the same function).
            args: withFeatureGates(
                [...common, `--health-addr=127.0.0.1:${kustomizeHealth}`, `--requeue-dependency=${REQUEUE_DEPENDENCY}`, "--no-remote-bases=true"],
                kustomizeControllerFeatureGates(DEFAULT_VERSIONS.flux.version),
            ),
        });
        cp.adopt(kustomize);
        const controllers = new FluxControllers(dir, source, kustomize);
        try {
            for (const [p, port] of [
                [source, sourceHealth],
                [kustomize, kustomizeHealth],
            ] as const) {
                await waitFor(`${p.spec.name} /readyz`, async () => ((await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), {
                    timeoutMs: FLUX_READY_TIMEOUT_MS,
                    watched: [source, kustomize],
                });
            }
        } catch (err) {
            await controllers.stop();
            throw err;
        }
        return controllers;
    }

    /** Log tails of both, for failure messages. */
    report(lines = 40): string {
        return `${this.source.report(lines)}\n${this.kustomize.report(lines)}`;
    }

    /** Stops both, removes their directory (kept with TESTBED_KEEP=1). */
    async stop(): Promise<void> {
        await Promise.all([this.kustomize.stop(), this.source.stop()]);
        if (process.env.TESTBED_KEEP !== "1") {
            fs.rmSync(this.dir, { recursive: true, force: true });
        }
    }
}
