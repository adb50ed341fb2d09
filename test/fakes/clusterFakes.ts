/**
 * Fake `kind`, `kubectl`, `clusterctl` and `docker` (test/fakes/cluster/*.sh) for running the cluster scripts in `src/host/scripts/`
 * under bash without a server: {@link ClusterFakes} puts them first on PATH, records every
 * call (one line, `<tool> <args>`, in one shared log) and simulates the state the real
 * tools would see in a temp directory: kind clusters, CRDs and their labels, Cluster API
 * Clusters, installed providers, cert-manager's version, ORC's deployment.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HOST_STATE_DIR, SERVER_KUBECONFIG } from "../../src/host/hostScripts";
import { FakeClock } from "./clock";
import { fakeReleaseContent, fakeReleaseFiles } from "./releaseFakes";
import { installFake, logLines, logLinesIfAny, RunResult } from "./shell";

/** An installed Cluster API provider, as clusterctl's inventory records it. */
export interface FakeProvider {
    /** `CoreProvider`, `BootstrapProvider`, `ControlPlaneProvider`, `InfrastructureProvider`, `AddonProvider`. */
    type: string;
    /** `providerName`, e.g. `cluster-api`, `kubeadm`, `openstack`, `helm`. */
    name: string;
    /** Installed version, e.g. `v1.14.0`. */
    version: string;
    /** Namespace of the provider object. */
    namespace: string;
}

/**
 * The CRDs the fake ORC manifest defines: a few of ORC v2.6.0's (config/crd/bases), all in
 * its API group `openstack.k-orc.cloud`, none labelled (the release manifest sets no label).
 */
export const FAKE_ORC_CRDS = ["images", "networks", "ports", "servergroups", "servers", "subnets"].map((p) => `${p}.openstack.k-orc.cloud`);

/** Where ORC's release manifest is downloaded from (src/host/scripts/orc.sh), per version. */
export function orcManifestUrl(version: string): string {
    return `https://github.com/k-orc/openstack-resource-controller/releases/download/${version}/install.yaml`;
}

/** The fake ORC v2.6.0 release manifest the fake server's curl serves (its CRDs: {@link FAKE_ORC_CRDS}). */
export const FAKE_ORC_MANIFEST =
    FAKE_ORC_CRDS.map((n) => `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: ${n}\n`).join("---\n") +
    "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: orc-system\n";

/** A fake management server: the fakes first on PATH, their state and one call log. */
export class ClusterFakes {
    /** Everything of this fake server lives under here. */
    readonly root: string;
    /** The virtual clock of the runs (test/fakes/clock.ts): sleeps and `date +%s` are on it. */
    readonly clock: FakeClock;
    /** Directory with the fake commands. */
    readonly bin: string;
    /** Simulated state of the tools. */
    readonly state: string;
    /** Every call of a fake, one `<tool> <args>` line each, in order. */
    readonly callLog: string;
    /** Stands in for HOST_STATE_DIR (/var/lib/capi-mgmt). */
    readonly stateDir: string;
    /** Stands in for SERVER_KUBECONFIG (/var/lib/capi-mgmt/kubeconfig). */
    readonly kubeconfig: string;

    constructor(prefix = "cluster") {
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), `capi-mgmt-${prefix}-`));
        this.bin = path.join(this.root, "bin");
        this.state = path.join(this.root, "state");
        this.callLog = path.join(this.root, "calls.log");
        this.stateDir = path.join(this.root, "var", "lib", "capi-mgmt");
        this.kubeconfig = path.join(this.stateDir, "kubeconfig");
        for (const d of [this.bin, this.state, path.join(this.state, "kind"), path.join(this.state, "crds")]) {
            fs.mkdirSync(d, { recursive: true });
        }
        // The fakes (test/fakes/cluster/*.sh, each sourcing preamble.sh, which installFake puts beside it); curl logs the call, then runs curl-serve.
        for (const tool of ["kind", "kubectl", "clusterctl", "docker", "systemctl", "curl"]) {
            installFake(this.bin, tool, `cluster/${tool}.sh`);
        }
        installFake(this.bin, "curl-serve", "curl.sh");
        fs.writeFileSync(path.join(this.state, "orc-crds"), FAKE_ORC_CRDS.join("\n") + "\n");
        fs.mkdirSync(path.join(this.state, "downloads"));
        this.publish(orcManifestUrl("v2.6.0"), FAKE_ORC_MANIFEST);
        for (const f of fakeReleaseFiles()) {
            this.publish(f.url, fakeReleaseContent(f.url));
        }
        fs.writeFileSync(this.callLog, "");
        this.clock = new FakeClock(path.join(this.root, "clock"));
    }

    /** Puts a kubeconfig (a placeholder) in the server's state directory, as the kind step leaves it, for the steps after it. */
    placeKubeconfig(): void {
        fs.mkdirSync(this.stateDir, { recursive: true });
        fs.writeFileSync(this.kubeconfig, "apiVersion: v1\nkind: Config\n");
    }

    /** Removes everything of this fake server. */
    cleanup(): void {
        fs.rmSync(this.root, { recursive: true, force: true });
    }

    /**
     * Points a rendered script at this fake server: swaps its `readonly STATE_DIR=` and
     * `readonly KUBECONFIG_PATH=` lines (the server paths) for the temp ones. Fails the test
     * when a rendered line is not the expected server path.
     */
    relocate(script: string): string {
        const swaps: Array<[string, string]> = [
            [`readonly STATE_DIR='${HOST_STATE_DIR}'\n`, `readonly STATE_DIR='${this.stateDir}'\n`],
            [`readonly KUBECONFIG_PATH='${SERVER_KUBECONFIG}'\n`, `readonly KUBECONFIG_PATH='${this.kubeconfig}'\n`],
        ];
        let out = script;
        for (const [from, to] of swaps) {
            const name = from.split("=")[0];
            if (script.includes(`\n${name}=`)) {
                assert.strictEqual(script.split(from).length, 2, `expected exactly one ${from.trim()}`);
                out = out.replace(from, to);
            }
        }
        return out;
    }

    /** Environment for a script run: the fakes first on PATH, on this server's virtual clock. */
    env(extra: Record<string, string> = {}): Record<string, string> {
        return this.clock.env({
            PATH: `${this.bin}:${process.env.PATH}`,
            HOME: this.root,
            FAKE_STATE: this.state,
            FAKE_CALL_LOG: this.callLog,
            FAKE_CURL_FIXTURES: path.join(this.state, "downloads"),
            FAKE_CURL_LOG: path.join(this.root, "curl.log"),
            ...extra,
        });
    }

    /** Pipes a rendered script, relocated to this fake server, to `bash -s` like the program does, on the virtual clock. */
    run(script: string, extra: Record<string, string> = {}): RunResult {
        return this.clock.run(this.relocate(script), this.env(extra));
    }

    /** Every recorded call, in order. */
    calls(): string[] {
        return logLines(this.callLog);
    }

    /** The recorded calls of one tool whose arguments start with `args` (all of them when omitted). */
    callsOf(tool: string, args = ""): string[] {
        return this.calls().filter((l) => l.startsWith(`${tool} ${args}`));
    }

    /** Forgets the calls recorded so far. */
    clearCalls(): void {
        fs.writeFileSync(this.callLog, "");
        fs.writeFileSync(`${this.callLog}.env`, "");
    }

    /**
     * The proxy variables each recorded call of `tool` saw, in call order: name to value, for
     * the set ones only.
     */
    proxyEnvOf(tool: string): Array<Record<string, string>> {
        const file = `${this.callLog}.env`;
        const lines = fs.existsSync(file)
            ? fs
                  .readFileSync(file, "utf8")
                  .split("\n")
                  .filter((l) => l.startsWith(`${tool} `))
            : [];
        return lines.map((l) => {
            const vars: Record<string, string> = {};
            for (const pair of l.split(" ").slice(1)) {
                const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
                if (value !== "-") {
                    vars[name] = value;
                }
            }
            return vars;
        });
    }

    /** A file in the kind node of `cluster`, or undefined when it does not exist. */
    nodeFile(cluster: string, file: string): string | undefined {
        const p = path.join(this.state, "node", cluster, file);
        return fs.existsSync(p) ? fs.readFileSync(p, "utf8") : undefined;
    }

    /** The recorded `kubectl set env` calls: "namespace target args" lines. */
    setEnvCalls(): string[] {
        const file = path.join(this.state, "set-env");
        return logLinesIfAny(file);
    }

    /** Names of the existing kind clusters. */
    kindClusters(): string[] {
        return fs.readdirSync(path.join(this.state, "kind")).sort();
    }

    /** Node image a kind cluster was created with. */
    kindImage(name: string): string {
        return fs.readFileSync(path.join(this.state, "kind", name, "image"), "utf8").trim();
    }

    /** The admin kubeconfig kind keeps for a cluster. */
    kindKubeconfig(name: string): string {
        return fs.readFileSync(path.join(this.state, "kind", name, "kubeconfig"), "utf8");
    }

    /** Defines a CRD in the fake cluster, with `labels`. */
    defineCrd(name: string, labels: Record<string, string> = {}): void {
        const lines = Object.entries(labels).map(([k, v]) => `${k}=${v}\n`);
        fs.writeFileSync(path.join(this.state, "crds", name), lines.join(""));
    }

    /** Names of the CRDs defined in the fake cluster. */
    crds(): string[] {
        return fs.readdirSync(path.join(this.state, "crds")).sort();
    }

    /** The labels of a defined CRD. */
    crdLabels(name: string): Record<string, string> {
        const text = fs.readFileSync(path.join(this.state, "crds", name), "utf8");
        const labels: Record<string, string> = {};
        for (const line of text.split("\n").filter((l) => l !== "")) {
            const eq = line.indexOf("=");
            labels[line.slice(0, eq)] = line.slice(eq + 1);
        }
        return labels;
    }

    /** Puts Cluster API Clusters (`namespace/name`) into the fake cluster, defining their CRD. */
    setCapiClusters(clusters: string[]): void {
        this.defineCrd("clusters.cluster.x-k8s.io");
        fs.writeFileSync(path.join(this.state, "capi-clusters"), clusters.map((c) => `${c.replace("/", " ")}\n`).join(""));
    }

    /** Sets the installed providers, defining clusterctl's Provider CRD. */
    setProviders(providers: FakeProvider[]): void {
        this.defineCrd("providers.clusterctl.cluster.x-k8s.io");
        const lines = providers.map((p) => `${p.type} ${p.name} ${p.version} ${p.namespace}\n`);
        fs.writeFileSync(path.join(this.state, "providers"), lines.join(""));
    }

    /** The installed providers. */
    providers(): FakeProvider[] {
        const file = path.join(this.state, "providers");
        if (!fs.existsSync(file)) {
            return [];
        }
        return logLines(file).map((l) => {
            const [type, name, version, namespace] = l.split(" ");
            return { type, name, version, namespace };
        });
    }

    /** Sets the version clusterctl annotated its cert-manager with. */
    setCertManagerVersion(version: string): void {
        fs.writeFileSync(path.join(this.state, "cert-manager-version"), `${version}\n`);
    }

    /** cert-manager's version, or undefined when not installed. */
    certManagerVersion(): string | undefined {
        const file = path.join(this.state, "cert-manager-version");
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : undefined;
    }

    /** Makes every kubectl call whose arguments contain `pattern` fail as if the API server were down. */
    failKubectl(pattern: string): void {
        fs.writeFileSync(path.join(this.state, "kubectl.fail"), pattern);
    }

    /** Makes the next `count` `kubectl apply` calls fail. */
    failApplies(count: number): void {
        fs.writeFileSync(path.join(this.state, "kubectl-apply.fail"), `${count}\n`);
    }

    /** Makes ORC's deployment never become available. */
    orcNeverReady(): void {
        fs.writeFileSync(path.join(this.state, "orc-unready"), "");
    }

    /** The content of the file last applied with kubectl, if any. */
    orcApplied(): string | undefined {
        const file = path.join(this.state, "orc-applied");
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    }

    private download(url: string): string {
        return path.join(this.state, "downloads", url.replace(/[^A-Za-z0-9]/g, "_"));
    }

    /** Makes the fake curl serve `content` for `url` (the fake ORC v2.6.0 manifest is served from the start). */
    publish(url: string, content: string): void {
        fs.writeFileSync(this.download(url), content);
    }

    /** Makes the next `count` downloads of `url` fail. */
    failDownloads(url: string, count: number): void {
        fs.writeFileSync(`${this.download(url)}.fail`, `${count}\n`);
    }

    /** Makes clusterctl fail with `message`. */
    failClusterctl(message: string): void {
        fs.writeFileSync(path.join(this.state, "clusterctl.fail"), message);
    }

    /** Makes clusterctl hang for `seconds` before doing anything. */
    hangClusterctl(seconds: number): void {
        fs.writeFileSync(path.join(this.state, "clusterctl.sleep"), String(seconds));
    }

    /** Makes `kind create cluster` fail with `message`. */
    failKindCreate(message: string): void {
        fs.writeFileSync(path.join(this.state, "kind-create.fail"), message);
    }

    /** Sets the API server certificate (PEM) the control-plane container holds. */
    setApiServerCertificate(pem: string): void {
        fs.writeFileSync(path.join(this.state, "apiserver.crt"), pem);
    }
}

/**
 * Makes fake servers for one spec file and removes every one it made after the file's tests:
 * call it at the file's top level, where it registers that root `after` hook.
 */
export function fakeServersRemovedAfterAll(): (prefix: string) => ClusterFakes {
    const made: ClusterFakes[] = [];
    after(() => {
        for (const f of made.splice(0)) {
            f.cleanup();
        }
    });
    return (prefix) => {
        const f = new ClusterFakes(prefix);
        made.push(f);
        return f;
    };
}
