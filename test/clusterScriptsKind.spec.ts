import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { KindClusterParams, renderKindClusterScript } from "../src/cluster/clusterScripts";
import { ClusterFakes, fakeServersRemovedAfterAll } from "./fakes/clusterFakes";
import { assertFailure, assertSuccess, RunResult } from "./fakes/shell";
import { NODE_IMAGE, NEW_NODE_IMAGE, KIND_CONFIG, KIND_PARAMS, fileMode, expectedId } from "./clusterScriptParams";

/** Fake servers made by this file, removed after its tests. */
const newFakes = fakeServersRemovedAfterAll();

describe("src/host/scripts/kind-cluster.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("kind");
    });

    function run(p: Partial<KindClusterParams> = {}): RunResult {
        return fakes.run(renderKindClusterScript({ ...KIND_PARAMS, ...p }));
    }

    function configFile(): string {
        return path.join(fakes.stateDir, "kind-config.yaml");
    }

    function specFile(): string {
        return path.join(fakes.stateDir, "kind-cluster.spec");
    }

    function createsAndDeletes(): string[] {
        return fakes.calls().filter((l) => /^kind (create|delete) cluster/.test(l));
    }

    it("creates a fresh cluster, writes the config, records the spec, and prints only the id line", () => {
        const r = run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, expectedId(fakes));
        assert.match(r.stdout, /^kind-cluster-id: [0-9a-f]{64}\n$/);
        assert.deepStrictEqual(fakes.kindClusters(), ["mgmt"]);
        assert.strictEqual(fakes.kindImage("mgmt"), NODE_IMAGE);
        assert.strictEqual(fs.readFileSync(configFile(), "utf8"), KIND_CONFIG);
        assert.strictEqual(fileMode(configFile()), 0o600);
        assert.strictEqual(fileMode(fakes.stateDir), 0o700);
        assert.strictEqual(fileMode(fakes.kubeconfig), 0o600);
        assert.strictEqual(fs.readFileSync(fakes.kubeconfig, "utf8"), fakes.kindKubeconfig("mgmt"));
        const spec = fs.readFileSync(specFile(), "utf8");
        assert.match(spec, /^spec-sha256=[0-9a-f]{64}$/m);
        assert.ok(spec.includes(`node-image=${NODE_IMAGE}\n`), spec);
        assert.strictEqual(fileMode(specFile()), 0o600);
        const creates = fakes.callsOf("kind", "create cluster");
        assert.strictEqual(creates.length, 1);
        for (const arg of ["--name mgmt", `--image ${NODE_IMAGE}`, `--config ${configFile()}`, `--kubeconfig ${fakes.kubeconfig}`, "--wait 5m"]) {
            assert.ok(creates[0].includes(arg), `${arg} missing in: ${creates[0]}`);
        }
        assert.deepStrictEqual(fakes.callsOf("kubectl"), [], "a fresh cluster has nothing to check");
        assert.match(r.stderr, /kind-cluster: there is no kind cluster named mgmt; creating it/);
        assert.ok(!fs.existsSync("pwned") && !fs.existsSync(path.join(fakes.root, "pwned")));
    });

    it("changes nothing on a second run and prints the same id", () => {
        const first = run();
        assertSuccess(first);
        const config = fs.statSync(configFile()).mtimeMs;
        const spec = fs.readFileSync(specFile(), "utf8");
        fakes.clearCalls();
        const second = run();
        assertSuccess(second);
        assert.strictEqual(second.stdout, first.stdout);
        assert.deepStrictEqual(createsAndDeletes(), []);
        assert.deepStrictEqual(fakes.callsOf("kind", "export"), []);
        assert.deepStrictEqual(fakes.callsOf("kubectl"), []);
        assert.strictEqual(fs.statSync(configFile()).mtimeMs, config);
        assert.strictEqual(fs.readFileSync(specFile(), "utf8"), spec);
        assert.match(second.stderr, /nothing to change/);
    });

    it("exports the kubeconfig again when it is missing, without touching the cluster", () => {
        assertSuccess(run());
        fs.rmSync(fakes.kubeconfig);
        fakes.clearCalls();
        const r = run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, expectedId(fakes));
        assert.deepStrictEqual(createsAndDeletes(), []);
        assert.deepStrictEqual(fakes.callsOf("kind", "export kubeconfig"), [`kind export kubeconfig --name mgmt --kubeconfig ${fakes.kubeconfig}`]);
        assert.strictEqual(fs.readFileSync(fakes.kubeconfig, "utf8"), fakes.kindKubeconfig("mgmt"));
        assert.strictEqual(fileMode(fakes.kubeconfig), 0o600);
    });

    it("exports the kubeconfig again when the node's admin.conf holds a renewed client certificate (same CA)", () => {
        assertSuccess(run());
        const before = fs.readFileSync(fakes.kubeconfig, "utf8");
        // `kubeadm certs renew all` rewrites admin.conf, which kind reads: a new client certificate and key.
        const kindFile = path.join(fakes.state, "kind", "mgmt", "kubeconfig");
        fs.writeFileSync(
            kindFile,
            fakes
                .kindKubeconfig("mgmt")
                .replace(/client-certificate-data: \S+/, "client-certificate-data: cmVuZXdlZC1jZXJ0")
                .replace(/client-key-data: \S+/, "client-key-data: cmVuZXdlZC1rZXk="),
        );
        fakes.clearCalls();
        const r = run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, expectedId(fakes), "the cluster's id (its CA) is unchanged");
        assert.deepStrictEqual(createsAndDeletes(), []);
        assert.deepStrictEqual(fakes.callsOf("kind", "export kubeconfig"), [`kind export kubeconfig --name mgmt --kubeconfig ${fakes.kubeconfig}`]);
        const after = fs.readFileSync(fakes.kubeconfig, "utf8");
        assert.notStrictEqual(after, before);
        assert.match(after, /client-certificate-data: cmVuZXdlZC1jZXJ0\n/);
        assert.strictEqual(fileMode(fakes.kubeconfig), 0o600);
        // And a run after that changes nothing again.
        fakes.clearCalls();
        assertSuccess(run());
        assert.deepStrictEqual(fakes.callsOf("kind", "export"), []);
    });

    it("recreates the cluster for a new node image when it manages no Cluster API Cluster", () => {
        const first = run();
        assertSuccess(first);
        fakes.clearCalls();
        const r = run({ nodeImage: NEW_NODE_IMAGE });
        assertSuccess(r);
        assert.deepStrictEqual(
            createsAndDeletes().map((l) => l.split(" ").slice(0, 3).join(" ")),
            ["kind delete cluster", "kind create cluster"],
            "deleted, then created",
        );
        assert.strictEqual(fakes.kindImage("mgmt"), NEW_NODE_IMAGE);
        assert.strictEqual(r.stdout, expectedId(fakes));
        assert.notStrictEqual(r.stdout, first.stdout, "a new cluster has a new id");
        assert.ok(fs.readFileSync(specFile(), "utf8").includes(`node-image=${NEW_NODE_IMAGE}\n`));
        assert.match(r.stderr, new RegExp(`node image changes from ${NODE_IMAGE} to ${NEW_NODE_IMAGE}`.replace(/[.]/g, "\\.")));
        // Checked first: Cluster API's CRD is not there, so no Cluster can exist.
        assert.deepStrictEqual(fakes.callsOf("kubectl"), [
            `kubectl --kubeconfig ${fakes.kubeconfig} --request-timeout=30s get crd clusters.cluster.x-k8s.io --ignore-not-found -o name`,
        ]);
        // And idempotent afterwards.
        fakes.clearCalls();
        assertSuccess(run({ nodeImage: NEW_NODE_IMAGE }));
        assert.deepStrictEqual(createsAndDeletes(), []);
    });

    it("recreates the cluster for a changed config when Cluster API is installed but has no Cluster", () => {
        assertSuccess(run());
        fakes.setCapiClusters([]);
        fakes.clearCalls();
        const kindConfig = KIND_CONFIG.replace("192.0.2.10", "192.0.2.20");
        const r = run({ kindConfig });
        assertSuccess(r);
        assert.strictEqual(createsAndDeletes().length, 2);
        assert.strictEqual(fs.readFileSync(configFile(), "utf8"), kindConfig);
        assert.strictEqual(fakes.callsOf("kubectl", "--kubeconfig").filter((l) => l.includes(" get clusters.cluster.x-k8s.io -A --no-headers")).length, 1);
        assert.match(r.stderr, /kind config changed/);
    });

    it("refuses to recreate a cluster that manages Cluster API Clusters, naming them and changing nothing", () => {
        const first = run();
        assertSuccess(first);
        fakes.setCapiClusters(["default/wl-1", "team-a/wl-2"]);
        const config = fs.readFileSync(configFile(), "utf8");
        const spec = fs.readFileSync(specFile(), "utf8");
        const kubeconfig = fs.readFileSync(fakes.kubeconfig, "utf8");
        fakes.clearCalls();
        const r = run({ nodeImage: NEW_NODE_IMAGE });
        assertFailure(r);
        assert.strictEqual(r.stdout, "", "no id line: nothing new to read");
        assert.match(r.stderr, /kind cluster mgmt would have to be recreated/);
        assert.match(r.stderr, /default\/wl-1/);
        assert.match(r.stderr, /team-a\/wl-2/);
        assert.match(r.stderr, /would orphan them/);
        assert.match(r.stderr, /Nothing was changed/);
        assert.match(r.stderr, /revert capi-mgmt:versions\.nodeImage/);
        assert.match(r.stderr, /clusterctl move/);
        assert.match(r.stderr, /'Version bumps' \(nodeImage\) in docs\/operations\.md/);
        assert.deepStrictEqual(createsAndDeletes(), []);
        assert.strictEqual(fakes.kindImage("mgmt"), NODE_IMAGE);
        assert.strictEqual(fs.readFileSync(configFile(), "utf8"), config);
        assert.strictEqual(fs.readFileSync(specFile(), "utf8"), spec);
        assert.strictEqual(fs.readFileSync(fakes.kubeconfig, "utf8"), kubeconfig);
        // The old spec still applies cleanly.
        fakes.clearCalls();
        const back = run();
        assertSuccess(back);
        assert.strictEqual(back.stdout, first.stdout);
    });

    it("fails, changing nothing, when kubectl cannot tell whether Cluster API is installed", () => {
        assertSuccess(run());
        fakes.failKubectl("get crd");
        fakes.clearCalls();
        const r = run({ nodeImage: NEW_NODE_IMAGE });
        assertFailure(r);
        assert.match(r.stderr, /The connection to the server .* was refused/);
        assert.match(r.stderr, /kind-cluster: ERROR: cannot ask kind cluster mgmt whether Cluster API is installed.*nothing was changed/);
        assert.deepStrictEqual(createsAndDeletes(), []);
        assert.strictEqual(fakes.kindImage("mgmt"), NODE_IMAGE);
        assert.strictEqual(r.stdout, "");
    });

    it("fails, changing nothing, when listing the Clusters fails for another reason than a missing CRD", () => {
        assertSuccess(run());
        fakes.setCapiClusters([]);
        fakes.failKubectl("get clusters.cluster.x-k8s.io");
        fakes.clearCalls();
        const r = run({ nodeImage: NEW_NODE_IMAGE });
        assertFailure(r);
        assert.match(r.stderr, /cannot list the Cluster API Clusters in kind cluster mgmt.*nothing was changed/);
        assert.deepStrictEqual(createsAndDeletes(), []);
        assert.strictEqual(fakes.kindImage("mgmt"), NODE_IMAGE);
    });

    it("treats a cluster without a recorded spec as changed", () => {
        assertSuccess(run());
        fs.rmSync(specFile());
        fakes.setCapiClusters(["default/wl-1"]);
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /no spec is recorded/);
        assert.match(r.stderr, /default\/wl-1/);
        fakes.setCapiClusters([]);
        fakes.clearCalls();
        assertSuccess(run());
        assert.strictEqual(createsAndDeletes().length, 2);
    });

    it("cleans up and fails clearly when kind create fails", () => {
        fakes.failKindCreate("could not pull the node image");
        const r = run();
        assertFailure(r);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /could not pull the node image/);
        assert.match(r.stderr, /kind-cluster: ERROR: creating kind cluster mgmt failed/);
        assert.match(r.stderr, /docker ps -a/);
        assert.deepStrictEqual(fakes.kindClusters(), [], "the half-created cluster was deleted");
        assert.ok(!fs.existsSync(specFile()), "no spec recorded");
    });
});
