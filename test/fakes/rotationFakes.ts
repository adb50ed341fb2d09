/**
 * A fake `kubectl` for `src/host/scripts/cloud-provider-restart.sh`: the management cluster (its
 * kubeconfig is the file the script is given) lists labelled Clusters and serves their
 * kubeconfig Secrets; each workload cluster (its kubeconfig is the text `workload <name>`)
 * serves Secret kube-system/cloud-config and records `rollout restart`. On the virtual clock.
 *
 * State per workload cluster under `$S/<name>/`: `cloud.conf` (what its Secret holds now),
 * `cloud.conf.next` and `polls` (the ClusterResourceSet's copy lands after that many reads),
 * `objects` (kind/name lines that exist), `restarts` (recorded), `down` (refuses every call).
 * The fake: test/fakes/rotation/kubectl.sh.
 */
import * as fs from "fs";
import * as path from "path";
import { FakeClock } from "./clock";
import { installFake, logLines, logLinesIfAny, makeTempDir, RunResult } from "./shell";

/** Fake management and workload clusters for the credential rotation step. */
export class RotationFakes {
    readonly root = makeTempDir("rotation");
    readonly state = path.join(this.root, "state");
    readonly bin = path.join(this.root, "bin");
    readonly callLog = path.join(this.root, "calls.log");
    readonly mgmtKubeconfig = path.join(this.root, "mgmt.kubeconfig");
    readonly clock = new FakeClock(path.join(this.root, "clock"));

    constructor() {
        fs.mkdirSync(this.bin, { recursive: true });
        fs.mkdirSync(this.state, { recursive: true });
        installFake(this.bin, "kubectl", "rotation/kubectl.sh");
        fs.writeFileSync(this.mgmtKubeconfig, "management\n");
        fs.writeFileSync(this.callLog, "");
    }

    /**
     * A labelled workload cluster in namespace `ns` whose cloud.conf holds `credential`; with
     * `next`, the ClusterResourceSet's copy of `next` lands after `polls` reads. `objects`: the
     * workloads installed there.
     */
    addCluster(ns: string, name: string, o: { credential: string; next?: string; polls?: number; objects?: string[]; down?: boolean }): void {
        fs.appendFileSync(path.join(this.state, "clusters"), `${name}\n`);
        fs.mkdirSync(path.join(this.state, "secrets", ns), { recursive: true });
        fs.writeFileSync(path.join(this.state, "secrets", ns, `${name}-kubeconfig`), Buffer.from(`workload ${name}\n`).toString("base64"));
        const dir = path.join(this.state, name);
        fs.mkdirSync(dir, { recursive: true });
        const conf = (id: string) =>
            `[Global]\nauth-url=https://keystone.example:5000/v3\napplication-credential-id=${id}\napplication-credential-secret=s3cret-${id}\n`;
        fs.writeFileSync(path.join(dir, "cloud.conf"), conf(o.credential));
        if (o.next) {
            fs.writeFileSync(path.join(dir, "cloud.conf.next"), conf(o.next));
            fs.writeFileSync(path.join(dir, "polls"), String(o.polls ?? 0));
        }
        fs.writeFileSync(path.join(dir, "objects"), (o.objects ?? []).map((x) => `${x}\n`).join(""));
        if (o.down) {
            fs.writeFileSync(path.join(dir, "down"), "");
        }
    }

    /** Removes a cluster's kubeconfig Secret. */
    dropKubeconfig(ns: string, name: string): void {
        fs.rmSync(path.join(this.state, "secrets", ns, `${name}-kubeconfig`));
    }

    /** Makes the management cluster refuse every call. */
    managementDown(): void {
        fs.writeFileSync(path.join(this.state, "mgmt-down"), "");
    }

    /** The `namespace kind/name` lines restarted in a workload cluster. */
    restarts(name: string): string[] {
        const file = path.join(this.state, name, "restarts");
        return logLinesIfAny(file);
    }

    /** Every recorded kubectl call: `kubectl <kubeconfig file name> <namespace> <args>`. */
    calls(): string[] {
        return logLines(this.callLog);
    }

    /** Runs the rendered script, its management kubeconfig pointed at the fake, on the virtual clock. */
    run(script: string, serverKubeconfig: string): RunResult {
        const from = `readonly KUBECONFIG_PATH='${serverKubeconfig}'\n`;
        if (script.split(from).length !== 2) {
            throw new Error(`expected exactly one ${from.trim()}`);
        }
        return this.clock.run(script.replace(from, `readonly KUBECONFIG_PATH='${this.mgmtKubeconfig}'\n`), {
            PATH: `${this.bin}:${process.env.PATH}`,
            HOME: this.root,
            FAKE_STATE: this.state,
            FAKE_CALL_LOG: this.callLog,
            FAKE_MGMT_KUBECONFIG: this.mgmtKubeconfig,
        });
    }
}
