/**
 * The bed of the self-hosted mode's script tests (test/selfHostedScripts.spec.ts,
 * test/returnToKind.spec.ts): a server with a kind cluster, the fake tools of
 * test/fakes/selfhosted/ (kubectl, flux, and a fake of the pivot script's contract), the mode's
 * state directory, and the virtual clock.
 */
import * as fs from "fs";
import * as path from "path";
import { renderHostScript } from "../src/host/hostScripts";
import {
    renderReturnToKindScript,
    renderSelfHostedClusterScript,
    renderSelfHostedPivotScript,
    renderSelfHostedUnpivotScript,
} from "../src/cluster/selfHostedScripts";
import { FakeClock } from "./fakes/clock";
import { installFake, makeTempDir, RunResult } from "./fakes/shell";

export const NS = "clusters";
export const CLUSTER = "dev-management";

/** A server with a kind cluster, the fake tools, and the self-hosted mode's state directory. */
export class Bed {
    readonly root = makeTempDir("self-hosted");
    readonly clock = new FakeClock(path.join(this.root, "clock"));
    readonly fake = path.join(this.root, "fake");
    readonly bin = path.join(this.root, "bin");
    readonly state = path.join(this.root, "state", "self-hosted");
    readonly kindKubeconfig = path.join(this.root, "kubeconfig");
    readonly pivot = path.join(this.root, "pivot.sh");
    readonly clusterctl = path.join(this.bin, "clusterctl");

    constructor() {
        installFake(this.bin, "kubectl", "selfhosted/kubectl.sh");
        fs.mkdirSync(this.fake, { recursive: true });
        installFake(this.bin, "flux", "selfhosted/flux.sh");
        installFake(this.bin, "clusterctl", "selfhosted/flux.sh");
        fs.copyFileSync(path.join(__dirname, "fakes", "selfhosted", "pivot.sh"), this.pivot);
        fs.writeFileSync(this.kindKubeconfig, "kind\n");
        this.set("kind", "capi", "orc", "flux");
    }

    /** Creates the fact files `<cluster>.<fact>`. */
    set(cluster: "kind" | "self", ...facts: string[]): void {
        facts.forEach((f) => fs.writeFileSync(path.join(this.fake, `${cluster}.${f}`), f === "available" ? "True" : ""));
    }
    has(cluster: "kind" | "self", fact: string): boolean {
        return fs.existsSync(path.join(this.fake, `${cluster}.${fact}`));
    }
    /** The phase the scripts recorded ("kind" when none). */
    phase(): string {
        const f = path.join(this.state, "phase");
        return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim() : "kind";
    }
    setPhase(p: string): void {
        fs.mkdirSync(this.state, { recursive: true });
        fs.writeFileSync(path.join(this.state, "phase"), `${p}\n`);
    }
    /** The self-hosted cluster exists with a kubeconfig on the server (after the cluster step). */
    selfBuilt(): void {
        fs.mkdirSync(this.state, { recursive: true });
        fs.writeFileSync(path.join(this.state, "kubeconfig"), "apiVersion: v1\nserver: https://203.0.113.7:6443\n", { mode: 0o600 });
        this.set("self", "api-up", "capi", "orc");
    }
    /**
     * A pivoted stack in use: the self-hosted Cluster (and `extra` facts) on the self-hosted
     * cluster, its Flux running, kind's removed; the teardown's kubeconfig the self-hosted one.
     */
    static pivoted(...extra: string[]): Bed {
        const bed = new Bed();
        bed.selfBuilt();
        bed.setPhase("pivoted");
        fs.writeFileSync(path.join(bed.state, "active.kubeconfig"), "x");
        fs.rmSync(path.join(bed.fake, "kind.flux"));
        bed.set("self", "flux", "self-cluster", "kubeconfig-secret", "available", ...extra);
        return bed;
    }
    pivotExits(...lines: string[]): void {
        fs.writeFileSync(path.join(this.fake, "pivot-exits"), lines.map((l) => `${l}\n`).join(""));
    }
    calls(): string[] {
        const f = path.join(this.fake, "calls");
        return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n") : [];
    }
    run(script: string): RunResult {
        return this.clock.run(script, {
            PATH: `${this.bin}:${process.env.PATH}`,
            FAKE_DIR: this.fake,
            FAKE_KIND_KUBECONFIG: this.kindKubeconfig,
            FAKE_STATE_DIR: this.state,
        });
    }
    clusterStep(waitSeconds = 600): RunResult {
        const rendered = renderSelfHostedClusterScript({
            cluster: CLUSTER,
            namespace: NS,
            manifest: "kind: Cluster\n",
            bootstrap: "kind: ClusterClass\n",
            waitTimeoutSeconds: waitSeconds,
        });
        return this.run(this.withPaths(rendered));
    }
    pivotStep(): RunResult {
        return this.run(this.withPaths(renderSelfHostedPivotScript({ namespace: NS })));
    }
    unpivotStep(timeoutSeconds = 600): RunResult {
        return this.run(this.withPaths(renderSelfHostedUnpivotScript({ cluster: CLUSTER, namespace: NS, timeoutSeconds })));
    }
    returnStep(timeoutSeconds = 600): RunResult {
        return this.run(this.withPaths(renderReturnToKindScript({ cluster: CLUSTER, namespace: NS, timeoutSeconds })));
    }
    /** The rendered script with this bed's paths instead of the server's (the same parameters, re-rendered). */
    private withPaths(rendered: string): string {
        return withParams(rendered, {
            KIND_KUBECONFIG: this.kindKubeconfig,
            STATE_DIR: this.state,
            CLUSTERCTL: this.clusterctl,
            PIVOT_SCRIPT: this.pivot,
            GONE_FILE: path.join(this.state, "gone"),
        });
    }
}

/**
 * A rendered self-hosted script (self-hosted-*.sh, return-to-kind.sh) re-rendered with the
 * parameters of `values` it has replaced (e.g. the server's paths by a test's), the others as the
 * program rendered them.
 */
export function withParams(rendered: string, values: Record<string, string>): string {
    const file = /^# ((?:self-hosted-[a-z]+|return-to-kind)\.sh):/m.exec(rendered)![1];
    const params: Record<string, string> = {};
    for (const m of rendered.matchAll(/^readonly ([A-Z_]+)='((?:[^']|'\\'')*)'$/gm)) {
        params[m[1]] = m[2].replace(/'\\''/g, "'");
    }
    for (const [k, v] of Object.entries(values)) {
        if (k in params) {
            params[k] = v;
        }
    }
    return renderHostScript(file, params, { multiLine: ["MANIFEST", "BOOTSTRAP"] });
}
