/**
 * The two management clusters of the pivot suites (test/integration/pivot.integration.ts,
 * test/integration/returnToKind.integration.ts): what the program puts on each cluster itself,
 * what `clusterctl init` leaves besides the providers, pivot.sh run as the orchestration runs it,
 * the dev stack applied to a cluster as the program and Flux apply it, a moved Cluster reported
 * running on its new cluster (simulated, as KCP and CAPO would), and the network rule.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    capoCredentialsSecret,
    capoIdentity,
    cloudConfigResourceData,
    cloudCredentialsData,
    namespace,
    orcCredentialsSecret,
} from "../../src/cluster/clusterObjects";
import { renderCloudConf, renderCloudsYaml } from "../../src/cluster/cloudCredentials";
import { CAPO_CREDENTIALS_SECRET, ORC_CREDENTIALS_SECRET } from "../../src/shared/contract";
import { HOST_SCRIPTS_DIR } from "../../src/host/hostScripts";
import { HostRun, inventory, labelProviderCrds, Poll, R } from "./backupBed";
import { ControlPlane, freePort, KubeObject } from "./harness/controlPlane";
import { requiredComponents } from "./harness/managementCluster";
import { at, conditionTrue, yamlStream } from "./harness/objects";
import { waitFor } from "./harness/processes";
import { patchStatus } from "./harness/simulated";
import { RenderedStack, renderStack } from "./harness/stack";
import { Testbed } from "./harness/testbed";

/** What the helpers need of a suite: the test bed, its work and home directories, the workload namespace. */
export interface PivotBed {
    testbed: Testbed;
    workDir: string;
    home: string;
    ns: string;
}

/** The test bed, or the suite skipped (`ctx.skip()`, saying why) when it lacks a component the pivot suites need. */
export function loadTestbed(ctx: Mocha.Context, suite: string): Testbed {
    const testbed = Testbed.load();
    const missing = testbed.missing([...requiredComponents(), "clusterctl", "orc"]);
    if (missing) {
        console.log(`      SKIPPED (${suite}): test bed incomplete: ${missing}`);
        ctx.skip();
    }
    return testbed;
}

/** A fresh work directory for suite `suite`, with a home directory in it (clusterctl's). */
export function makeWorkDir(suite: string): { workDir: string; home: string } {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `capi-mgmt-it-${suite}-`));
    const home = path.join(workDir, "home");
    fs.mkdirSync(home);
    return { workDir, home };
}

/** A clouds.yaml whose Keystone is a closed loopback port: ORC tries, and reaches nothing else. */
export async function loopbackCloudsYaml(): Promise<string> {
    return renderCloudsYaml({ authUrl: `http://127.0.0.1:${await freePort()}/v3`, id: "pivot-id", secret: "pivot-secret" });
}

/** A pivot suite's bed with the dev stack rendered in its work directory and the loopback credentials. */
export interface DevBed extends PivotBed {
    rendered: RenderedStack;
    cloudsYaml: string;
}

/** Prepares a {@link DevBed} for suite `suite` (skipped when the test bed lacks a component). */
export async function prepareDevBed(ctx: Mocha.Context, suite: string, ns: string): Promise<DevBed> {
    const testbed = loadTestbed(ctx, suite);
    const { workDir, home } = makeWorkDir(suite);
    return { testbed, workDir, home, ns, rendered: renderStack("dev", path.join(workDir, "render")), cloudsYaml: await loopbackCloudsYaml() };
}

/** The credential objects the program puts on each cluster itself: never moved. */
export function credentialObjects(ns: string, cloudsYaml: string): KubeObject[] {
    const data = cloudCredentialsData(cloudsYaml);
    return [namespace(ns), capoCredentialsSecret(data), orcCredentialsSecret(ns, data), capoIdentity(ns)] as KubeObject[];
}

/** The rendered manifests as the program creates them, with the loopback credentials. */
export function programObjects(rendered: RenderedStack, cloudsYaml: string): KubeObject[] {
    const cloudConf = cloudConfigResourceData(renderCloudConf({ authUrl: "https://keystone.example:5000/v3", id: "pivot-id", secret: "pivot-secret" }));
    return rendered.manifests
        .flatMap((m) => m.docs)
        .map((d) => {
            const type = (d as { type?: string }).type;
            if (d.kind === "Secret" && type === "addons.cluster.x-k8s.io/resource-set") {
                return { ...d, stringData: cloudConf };
            }
            if (d.kind === "Secret" && [CAPO_CREDENTIALS_SECRET, ORC_CREDENTIALS_SECRET].includes(d.metadata.name)) {
                return { ...d, stringData: cloudCredentialsData(cloudsYaml) };
            }
            return d;
        });
}

/**
 * What `clusterctl init` leaves besides the providers: the label on their CRDs, clusterctl's
 * inventory CRD (clusterctl itself creates it on any command against a cluster: a
 * `move --to-directory` of an empty namespace here) and its Provider objects (`version`
 * rewritten by `edit`).
 */
export function clusterctlInit(bed: PivotBed, cp: ControlPlane, edit: (inv: string) => string = (x) => x): void {
    labelProviderCrds(cp);
    const dir = fs.mkdtempSync(path.join(bed.workDir, "init-"));
    const args = ["move", "--kubeconfig", cp.kubeconfig, "--namespace", "no-such-namespace", "--to-directory", dir];
    const r = spawnSync(bed.testbed.path("clusterctl"), args, {
        encoding: "utf8",
        env: { PATH: process.env.PATH, HOME: bed.home, CLUSTERCTL_DISABLE_VERSIONCHECK: "true" },
    });
    assert.strictEqual(r.status, 0, r.stdout + r.stderr);
    cp.kubectlOk(["wait", "--for=condition=Established", "--timeout=60s", "crd/providers.clusterctl.cluster.x-k8s.io"]);
    cp.applyOk(edit(inventory(bed.testbed)));
}

/** Runs src/host/scripts/pivot.sh from `from` to `to` (API servers or kubeconfig paths) as the orchestration does. */
export function runPivot(bed: PivotBed, from: ControlPlane | string, to: ControlPlane | string, env: Record<string, string> = {}): HostRun {
    const kubeconfig = (cp: ControlPlane | string) => (typeof cp === "string" ? cp : cp.kubeconfig);
    const r = spawnSync("bash", [path.join(HOST_SCRIPTS_DIR, "pivot.sh")], {
        encoding: "utf8",
        env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            HOME: bed.home,
            FROM_KUBECONFIG: kubeconfig(from),
            TO_KUBECONFIG: kubeconfig(to),
            NAMESPACE: bed.ns,
            CLUSTERCTL: bed.testbed.path("clusterctl"),
            ...env,
        },
        timeout: 600_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr + (r.error ? String(r.error) : "") };
}

/**
 * The dev stack on `cp`: the program's objects (loopback credentials), then the GitOps tree as
 * Flux's kustomize-controller applies it, Kustomization by Kustomization, each ClusterClass
 * waited for until Cluster API reports its variables ready.
 */
export async function applyDevStack(cp: ControlPlane, rendered: RenderedStack, cloudsYaml: string, poll: Poll): Promise<void> {
    cp.applyOk(yamlStream(programObjects(rendered, cloudsYaml)));
    const asFlux = { fieldManager: "kustomize-controller" };
    cp.applyOk(yamlStream(rendered.root.docs), asFlux);
    for (const k of rendered.kustomizations) {
        cp.applyOk(yamlStream(k.docs), asFlux);
        for (const cc of k.docs.filter((d) => d.kind === "ClusterClass")) {
            const ready = () => (conditionTrue(cp.get(R.ClusterClass, cc.metadata.name, cc.metadata.namespace), "VariablesReady") ? true : undefined);
            await waitFor(`ClusterClass ${cc.metadata.name} VariablesReady`, ready, poll);
        }
    }
}

/**
 * After a move onto `cp`: each Cluster of `ns` reported running as KCP and CAPO would (statuses
 * are not moved; no machine boots on the test bed), until `cp`'s own Cluster API reports its
 * control plane initialized and its infrastructure provisioned, and finds every Machine's Node.
 */
export async function reportMovedClustersRunning(cp: ControlPlane, ns: string, poll: Poll): Promise<void> {
    for (const live of cp.list(R.Cluster, { namespace: ns })) {
        const name = live.metadata.name;
        const reports: [string, string, unknown][] = [
            [
                R.KubeadmControlPlane,
                "spec.controlPlaneRef.name",
                { version: at(live, "spec.topology.version"), initialization: { controlPlaneInitialized: true } },
            ],
            [R.OpenStackCluster, "spec.infrastructureRef.name", { ready: true }],
        ];
        for (const [resource, ref, status] of reports) {
            patchStatus(cp, resource, at(live, ref) as string, ns, status as Record<string, unknown>);
        }
        const running = () => {
            const c = cp.get(R.Cluster, name, ns);
            return conditionTrue(c, "ControlPlaneInitialized") && at(c, "status.initialization.infrastructureProvisioned") === true ? true : undefined;
        };
        await waitFor(`${name} reported running by the Cluster API of ${cp.server}`, running, poll);
    }
    for (const m of cp.list(R.Machine, { namespace: ns })) {
        const found = () => (at(cp.get(R.Machine, m.metadata.name, ns), "status.nodeRef.name") ? true : undefined);
        await waitFor(`the Cluster API of ${cp.server} finds the Node of ${m.metadata.name}`, found, poll);
    }
}

/**
 * The network rule: every manager of `cps` and clusterctl reached loopback only (their logs'
 * connection attempts and name lookups), and each ORC really tried its loopback Keystone.
 */
export function assertLoopbackOnly(cps: ControlPlane[]): void {
    for (const cp of cps) {
        assert.match(fs.readFileSync(path.join(cp.dir, "orc.log"), "utf8"), /dial tcp 127\.0\.0\.1:\d+: connect: connection refused/);
        assert.match(cp.server, /^https:\/\/127\.0\.0\.1:\d+$/);
        for (const f of fs.readdirSync(cp.dir).filter((x) => x.endsWith(".log"))) {
            const text = fs.readFileSync(path.join(cp.dir, f), "utf8");
            const dials = [...text.matchAll(/dial tcp ([^\s:\]]+|\[[^\]]+\]):\d+/g)].map((m) => m[1]);
            const lookups = [...text.matchAll(/lookup ([a-z0-9.-]+)/gi)].map((m) => m[1]);
            const beyond = [...dials.filter((h) => !/^(127\.0\.0\.1|\[::1\]|localhost)$/.test(h)), ...lookups.filter((h) => h !== "localhost")];
            assert.deepStrictEqual(beyond, [], `${f} reached beyond loopback`);
        }
    }
}
