/**
 * src/host/scripts/teardown.sh (the destroy step of the management server, src/lifecycle/teardownScript.ts) run off
 * the server: with bash on the test runner against the test-bed API server, the parameters
 * from the environment (the script takes them from there when not rendered in), and `kind`
 * replaced by test/fakes/fake-kind.sh (the test bed's management cluster is a bare API server,
 * not a kind cluster: the fake lists it by name; the kubeconfig is the test bed's).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderHostScript } from "../../src/host/hostScripts";

/** The result of one teardown run. */
export interface TeardownRun {
    status: number | null;
    stdout: string;
    stderr: string;
    seconds: number;
}

/** Runs the teardown once against `kubeconfig`, in `dir` (its work files), bounded by the given seconds. */
export function runTeardown(kubeconfig: string, dir: string, timeoutSeconds: number, perClusterSeconds: number): TeardownRun {
    const bin = path.join(dir, "bin");
    const state = path.join(dir, "kind-state");
    fs.mkdirSync(bin, { recursive: true });
    fs.mkdirSync(state, { recursive: true });
    fs.copyFileSync(path.join(__dirname, "..", "fakes", "fake-kind.sh"), path.join(bin, "kind"));
    fs.chmodSync(path.join(bin, "kind"), 0o755);
    const clusterName = "capi-mgmt";
    fs.writeFileSync(path.join(state, "_kind_clusters"), `${clusterName}\n`);
    const script = path.join(dir, "teardown.sh");
    fs.writeFileSync(
        script,
        renderHostScript("teardown.sh", {
            CLUSTER_NAME: clusterName,
            KUBECONFIG_PATH: kubeconfig,
            TIMEOUT_SECONDS: String(timeoutSeconds),
            PER_CLUSTER_TIMEOUT_SECONDS: String(perClusterSeconds),
            CLUSTERS_GONE_FILE: path.join(dir, "clusters-gone"),
            FLUX_RESUME_SCRIPT: path.join(dir, "flux-resume.sh"),
        }),
        { mode: 0o700 },
    );
    const t0 = Date.now();
    const r = spawnSync("bash", [script], {
        encoding: "utf8",
        timeout: (timeoutSeconds + 120) * 1000,
        env: {
            ...process.env,
            PATH: `${bin}:${process.env.PATH ?? ""}`,
            FAKE_STATE: state,
            FAKE_KIND_LOG: path.join(dir, "kind.log"),
            TEARDOWN_POLL_SECONDS: "2",
        },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: Math.round((Date.now() - t0) / 1000) };
}
