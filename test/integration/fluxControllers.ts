/**
 * Flux's source-controller and kustomize-controller, built by testbed/flux/build.sh, running as
 * processes against a test-bed control plane (whose CRDs the harness installs from the same
 * pinned releases).
 *
 * Speed-ups are flags of the controllers, never sleeps: kustomize-controller re-checks a
 * dependency that is not Ready every few seconds (`--requeue-dependency`) instead of 30 s.
 * Everything else (intervals, retries) comes from the objects themselves.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ControlPlane, freePort, httpGet } from "./harness/controlPlane";
import { ManagedProcess, waitFor } from "./harness/processes";
import { cacheDir } from "./harness/testbed";

/** The repository root. */
const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** Bound of a controller's start (caches synced, health endpoint up) on a loaded machine. */
export const FLUX_READY_TIMEOUT_MS = 180_000;

/** Namespace the controllers "run in" (events, leader election if it were on). */
const RUNTIME_NAMESPACE = "flux-system";

/** How kustomize-controller re-checks a Kustomization whose dependencies are not Ready yet. */
export const REQUEUE_DEPENDENCY = "2s";

/** The binaries testbed/flux/build.sh makes. */
export type FluxBinary = "source-controller" | "kustomize-controller";

/** Go module of each binary; its version in testbed/flux/<name>/go.mod keys the cache. */
const MODULES: Record<FluxBinary, string> = {
    "source-controller": "github.com/fluxcd/source-controller",
    "kustomize-controller": "github.com/fluxcd/kustomize-controller",
};

/** The version testbed/flux/<name>/go.mod pins. */
export function pinnedVersion(name: FluxBinary): string {
    const gomod = fs.readFileSync(path.join(PROJECT_DIR, "testbed", "flux", name, "go.mod"), "utf8");
    const m = new RegExp(`^\\s*${MODULES[name].replace(/\./g, "\\.")}\\s+(v\\S+)`, "m").exec(gomod);
    if (!m) {
        throw new Error(`testbed/flux/${name}/go.mod requires no version of ${MODULES[name]}`);
    }
    return m[1];
}

/** Where build.sh puts a binary (`<cache>/flux/<name>/<version>/<name>`). */
export function binaryPath(name: FluxBinary): string {
    return path.join(cacheDir(), "flux", name, pinnedVersion(name), name);
}

/** Why the controllers cannot run (not built, or the build failed), or undefined when they can. */
export function fluxMissing(): string | undefined {
    const problems = (Object.keys(MODULES) as FluxBinary[]).flatMap((name) => {
        const bin = binaryPath(name);
        if (fs.existsSync(bin)) {
            return [];
        }
        const errLog = path.join(path.dirname(bin), "build-error.log");
        const why = fs.existsSync(errLog)
            ? fs.readFileSync(errLog, "utf8").trim().split("\n").slice(-3).join(" | ")
            : "not built (run testbed/flux/build.sh)";
        return [`${MODULES[name]}@${pinnedVersion(name)}: ${why}`];
    });
    return problems.length ? problems.join("; ") : undefined;
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
    static async start(cp: ControlPlane): Promise<FluxControllers> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-flux-"));
        const env = { KUBECONFIG: cp.kubeconfig, RUNTIME_NAMESPACE };
        const [storagePort, sourceHealth, kustomizeHealth] = [await freePort(), await freePort(), await freePort()];
        const common = ["--log-level=debug", "--log-encoding=json", "--enable-leader-election=false", "--watch-all-namespaces=true", "--metrics-addr=0"];
        const source = new ManagedProcess({
            name: "source-controller",
            command: binaryPath("source-controller"),
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
            command: binaryPath("kustomize-controller"),
            logFile: path.join(dir, "kustomize-controller.log"),
            env,
            args: [...common, `--health-addr=127.0.0.1:${kustomizeHealth}`, `--requeue-dependency=${REQUEUE_DEPENDENCY}`, "--no-remote-bases=true"],
        });
        cp.adopt(kustomize);
        const controllers = new FluxControllers(dir, source, kustomize);
        try {
            for (const [p, port] of [[source, sourceHealth], [kustomize, kustomizeHealth]] as const) {
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
