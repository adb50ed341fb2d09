/**
 * The program's graph per `capi-mgmt:managementCluster.mode` (docs/self-hosted.md): what is
 * registered in each mode, on which Kubernetes provider, what waits for what, and so, as the
 * engine walks dependencies backwards, what `pulumi destroy` deletes in which order; what a
 * migration kind → selfHosted does to each resource (the replacement map's classifier); and the
 * gate on mode changes. Modelled: the mock engine records registrations, it neither diffs nor deletes.
 */
import "mocha";
import * as assert from "assert";
import { reveal, RecordedResource, valueOf } from "../render/engine";
import { classifyChanges, dangersOf, Registration } from "../src/lifecycle/replacementMap";
import { DEPLOYED_OUTPUT, DeployedState, lifecycleProblems, previousDeployment } from "../src/lifecycle/lifecycle";
import { SELF_HOSTED_ACTIVE_KUBECONFIG } from "../src/cluster/selfHostedScripts";
import { SERVER_KUBECONFIG } from "../src/host/hostScripts";
import { parseTestConfig, testConfigProblems } from "./fixtures";
import { Run, runStack } from "./harness";
import { registration as reg } from "./replacementMapChecks";

const COMMAND = "command:remote:Command";
const PROVIDER = "pulumi:providers:kubernetes";
const SELF_HOSTED = { managementCluster: JSON.stringify({ mode: "selfHosted" }) };

/** The `readonly NAME='value'` parameter of a rendered script. */
function param(script: string, name: string): string | undefined {
    return new RegExp(`^readonly ${name}='([^']*)'$`, "m").exec(script)?.[1];
}

describe("self-hosted mode: the program's graph per mode (modelled)", function () {
    this.timeout(300000);
    let kind: Run;
    let self: Run;
    before(async () => {
        kind = await runStack("dev");
        self = await runStack("dev", SELF_HOSTED);
    });

    const providerName = (run: Run, r: RecordedResource) => run.byUrn(r.options.provider!.split("::").slice(0, -1).join("::")).name;
    /** The custom resources under the component named `name` (its direct children). */
    const childrenOf = (run: Run, type: string, name: string) => {
        const parent = run.one(type, name).urn;
        const found = run.resources.filter((r) => r.custom && r.parent === parent);
        assert.ok(found.length > 0, `no children of ${name}`);
        return found;
    };
    const fluxObjects = (run: Run) => run.resources.filter((r) => r.custom && r.urn.includes("capi-mgmt:index:FluxSync$kubernetes:"));

    it("kind mode registers nothing of the self-hosted mode, and the teardown keeps no Cluster", () => {
        assert.deepStrictEqual(
            kind.resources.filter((r) => /SelfHosted|self-hosted/.test(r.urn)).map((r) => r.name),
            [],
        );
        assert.deepStrictEqual(
            kind.all(PROVIDER).map((p) => p.name),
            ["management-cluster"],
        );
        const teardown = String(reveal(kind.one(COMMAND, "workload-teardown").inputs.stdin));
        assert.strictEqual(param(teardown, "KEEP_CLUSTER"), undefined);
        assert.strictEqual(param(teardown, "KUBECONFIG_PATH"), SERVER_KUBECONFIG);
        assert.ok(fluxObjects(kind).length > 0 && fluxObjects(kind).every((r) => providerName(kind, r) === "management-cluster"));
    });

    it("selfHosted: the kind cluster keeps its provider and credentials; Flux and a second set of credentials go to the self-hosted cluster's provider", () => {
        assert.deepStrictEqual(
            self
                .all(PROVIDER)
                .map((p) => p.name)
                .sort(),
            ["management-cluster", "self-hosted-cluster"],
        );
        const provider = self.one(PROVIDER, "self-hosted-cluster");
        // Its kubeconfig is the server's copy, read by a step of its own after self-hosted-cluster
        // (test/selfHostedProviderKubeconfig.spec.ts: read again once per renewal).
        const reader = self.one(COMMAND, "self-hosted-provider-kubeconfig");
        assert.deepStrictEqual(provider.propertyDependencies.kubeconfig, [reader.urn], "its kubeconfig is the reading step's stdout");
        assert.ok(reader.dependsOn.includes(self.one(COMMAND, "self-hosted-cluster").urn));
        for (const name of ["self-hosted-cluster", "self-hosted-provider-kubeconfig"]) {
            assert.ok(self.one(COMMAND, name).options.additionalSecretOutputs.includes("stdout"), name);
        }
        const identities = self.all("kubernetes:infrastructure.cluster.x-k8s.io/v1alpha1:OpenStackClusterIdentity");
        assert.deepStrictEqual(identities.map((r) => providerName(self, r)).sort(), ["management-cluster", "self-hosted-cluster"]);
        const selfStep = self.one(COMMAND, "self-hosted-cluster").urn;
        for (const r of fluxObjects(self)) {
            assert.strictEqual(providerName(self, r), "self-hosted-cluster", r.name);
            assert.strictEqual(r.options.deletedWith, selfStep, `${r.name} goes with the self-hosted cluster`);
        }
        for (const r of childrenOf(self, "capi-mgmt:index:ClusterCredentials", "self-hosted-credentials")) {
            assert.strictEqual(r.options.deletedWith, selfStep, r.name);
        }
    });

    it("selfHosted up: builds with kind, installs ORC and Cluster API on it with its kubeconfig, puts the credentials there, then pivots; Flux syncs only after the pivot", () => {
        const step = (n: string) => self.one(COMMAND, n);
        const orc = String(reveal(step("self-hosted-orc").inputs.stdin));
        const providers = String(reveal(step("self-hosted-providers").inputs.stdin));
        assert.strictEqual(param(orc, "KUBECONFIG_PATH"), "/var/lib/capi-mgmt/self-hosted/kubeconfig");
        assert.strictEqual(param(providers, "KUBECONFIG_PATH"), "/var/lib/capi-mgmt/self-hosted/kubeconfig");
        // The same pinned versions as the kind cluster's.
        for (const p of ["CLUSTER_API_VERSION", "CAPO_VERSION", "CAAPH_VERSION", "CERT_MANAGER_VERSION", "RELEASE_FILES"]) {
            assert.strictEqual(param(providers, p), param(String(reveal(step("capi-providers").inputs.stdin)), p), p);
        }
        assert.ok(self.dependsOn(step("self-hosted-cluster"), step("capi-providers")), "kind's Cluster API builds it");
        const haIdentity = childrenOf(self, "capi-mgmt:index:ClusterCredentials", "self-hosted-credentials").find(
            (r) => r.name === "self-hosted-capo-identity",
        )!;
        assert.ok(self.dependsOn(haIdentity, step("self-hosted-providers")));
        assert.ok(self.dependsOn(step("self-hosted-pivot"), haIdentity), "the identity is there before CAPO on it reconciles what moves");
        assert.ok(self.dependsOn(step("self-hosted-pivot"), step("self-hosted-providers")));
        const kustomization = self.all("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization");
        assert.ok(kustomization.length > 0);
        for (const k of kustomization) {
            assert.ok(self.dependsOn(k, step("self-hosted-pivot")), `${k.name} syncs before the objects are there`);
        }
        const pivot = String(reveal(step("self-hosted-pivot").inputs.stdin));
        assert.strictEqual(param(pivot, "NAMESPACE"), "clusters");
        assert.strictEqual(param(pivot, "PIVOT_SCRIPT"), "/usr/local/lib/capi-mgmt/pivot.sh");
        assert.strictEqual(param(pivot, "CLUSTERCTL"), "/usr/local/bin/clusterctl");
    });

    it("selfHosted destroy (dependencies walked backwards): teardown, then self-hosted-unpivot, then the server, kind and the credentials", () => {
        const teardown = self.one(COMMAND, "workload-teardown");
        const unpivot = self.one(COMMAND, "self-hosted-unpivot");
        assert.ok(self.dependsOn(teardown, unpivot), "the teardown is deleted before the move back");
        for (const needed of [
            self.one("openstack:compute/instance:Instance"),
            self.one("openstack:networking/floatingIpAssociate:FloatingIpAssociate"),
            self.one(COMMAND, "kind-cluster"),
            self.one(COMMAND, "capi-providers"),
            self.one("openstack:identity/applicationCredential:ApplicationCredential", "capi"),
        ]) {
            assert.ok(self.dependsOn(unpivot, needed), `self-hosted-unpivot is deleted before ${needed.name}`);
        }
        assert.ok(!self.dependsOn(unpivot, teardown));
        // Only the teardown and the move back have a delete; both protected by capi-mgmt:protect like before.
        const deletes = self.all(COMMAND).filter((c) => c.inputs.delete !== undefined);
        assert.deepStrictEqual(deletes.map((c) => c.name).sort(), ["self-hosted-unpivot", "workload-teardown"]);
        assert.strictEqual(unpivot.options.protect, teardown.options.protect);
        const script = String(reveal(teardown.inputs.stdin));
        assert.strictEqual(param(script, "KEEP_CLUSTER"), "clusters/dev-management");
        assert.strictEqual(param(script, "KUBECONFIG_PATH"), SELF_HOSTED_ACTIVE_KUBECONFIG);
        assert.strictEqual(param(String(reveal(unpivot.inputs.stdin)), "CLUSTER"), "dev-management");
    });

    it("registers every URN once in each mode (the engine refuses a duplicate: a child's URN carries its parent's type, not its name)", () => {
        for (const run of [kind, self]) {
            const urns = run.resources.map((r) => r.urn);
            assert.deepStrictEqual(
                urns.filter((u, i) => urns.indexOf(u) !== i),
                [],
            );
        }
    });

    it("records the mode, and that the unpivot knows the way back, in `deployed` only in selfHosted mode", async () => {
        const d = (await valueOf(self.outputs.deployed)) as DeployedState;
        assert.strictEqual(d.managementClusterMode, "selfHosted");
        assert.strictEqual(d.unpivotKnowsReturn, true, "this version's self-hosted-unpivot knows return-to-kind's marker");
        const k = (await valueOf(kind.outputs.deployed)) as object;
        assert.ok(!("managementClusterMode" in k) && !("unpivotKnowsReturn" in k));
    });

    it("migration kind → selfHosted (modelled): the server, kind and its credentials stay; Flux's objects move to the self-hosted cluster, the old ones retained", () => {
        const changes = classifyChanges(kind.resources, self.resources);
        const by = (name: string) => changes.filter((c) => c.name === name);
        for (const name of ["server", "kind-cluster", "capi-providers", "capo-credentials", "workload-namespace"]) {
            assert.ok(
                by(name).some((c) => c.action === "same"),
                `${name}: ${JSON.stringify(by(name))}`,
            );
        }
        assert.deepStrictEqual(
            by("workload-teardown").map((c) => c.action),
            ["update"],
            "its update only runs bash -n",
        );
        for (const r of fluxObjects(kind)) {
            const c = changes.find((x) => x.urn === r.urn)!;
            assert.ok(c.action === "replace" && c.keys.includes("provider") && c.retained, `${r.name}: ${JSON.stringify(c)}`);
        }
        for (const name of ["self-hosted-cluster", "self-hosted-pivot", "self-hosted-unpivot", "self-hosted-cluster"]) {
            assert.ok(
                by(name).some((c) => c.action === "create"),
                name,
            );
        }
        assert.deepStrictEqual(dangersOf(changes), []);
    });
});

describe("replacement map: a resource moved to a provider created in the run (pure)", () => {
    it("is replaced when that provider's kubeconfig comes from a resource created in the run, although the values look the same under mocks", () => {
        const K8S = "pulumi:providers:kubernetes";
        const step = reg("self-hosted-cluster", "command:remote:Command", { create: "x" });
        const kindProvider = reg("management-cluster", K8S, { kubeconfig: "" });
        const selfProvider = reg("self-hosted-cluster", K8S, { kubeconfig: "" }, { propertyDependencies: { kubeconfig: [step.urn] } });
        const cm = (provider: Registration) =>
            reg(
                "settings",
                "kubernetes:core/v1:ConfigMap",
                { data: { a: "b" } },
                { options: { provider: `${provider.urn}::id`, retainOnDelete: true } as Registration["options"] },
            );
        const changes = classifyChanges([kindProvider, cm(kindProvider)], [kindProvider, step, selfProvider, cm(selfProvider)]);
        const c = changes.find((x) => x.name === "settings")!;
        assert.ok(c.action === "replace" && c.keys[0] === "provider" && c.retained, JSON.stringify(c));
    });
});

describe("self-hosted mode: the setting and the gate on a running stack", () => {
    const live = (mode?: "selfHosted", serverGeneration = 1) =>
        previousDeployment({
            [DEPLOYED_OUTPUT]: {
                serverGeneration,
                prefix: "capi",
                availabilityZone: "nova",
                flavor: "SCS-4V-16",
                workloadNamespace: "clusters",
                gitops: true,
                // As this version records it (test/selfHostedGate.spec.ts: an older version's record).
                ...(mode ? { managementClusterMode: mode, unpivotKnowsReturn: true } : {}),
            },
        });
    const gitops = {
        gitops: JSON.stringify({
            url: "ssh://git@git.example/org/repo",
            branch: "main",
            knownHosts: "git.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpl6qtx0Fi5m7XlV8mw0gXx7qrqbSJ0bJIRPB2uO/IU",
        }),
    };

    it("defaults to kind; selfHosted takes the server's flavor unless set; selfHosted without gitops is refused, naming the key", () => {
        assert.deepStrictEqual(parseTestConfig().managementCluster, {
            mode: "kind",
            flavor: parseTestConfig().flavor,
            kubernetesVersion: "v1.35.8",
            image: "ubuntu-capi-image-v1.35.8",
        });
        assert.strictEqual(
            parseTestConfig({ ...gitops, managementCluster: JSON.stringify({ mode: "selfHosted", flavor: "SCS-8V-32" }) }).managementCluster.flavor,
            "SCS-8V-32",
        );
        assert.deepStrictEqual(
            testConfigProblems({ managementCluster: JSON.stringify({ mode: "selfHosted" }) }).filter((p) => p.includes("managementCluster")),
            [
                "capi-mgmt:managementCluster.mode: selfHosted needs capi-mgmt:gitops: the self-hosted cluster's Flux syncs the ClusterClass it is built from and the workload clusters it manages. Set gitops, or leave managementCluster.mode at kind",
            ],
        );
        assert.ok(
            testConfigProblems({ managementCluster: JSON.stringify({ mode: "ha" }) }).some(
                (p) => p.startsWith("capi-mgmt:managementCluster.mode:") && p.includes('"ha"'),
            ),
        );
    });

    it("lets kind → selfHosted through (the migration) and selfHosted → kind (the way back, the return-to-kind step)", () => {
        const selfHosted = parseTestConfig({ ...gitops, prefix: "capi", flavor: "SCS-4V-16", managementCluster: JSON.stringify({ mode: "selfHosted" }) });
        const kindCfg = parseTestConfig({ ...gitops, prefix: "capi", flavor: "SCS-4V-16" });
        assert.deepStrictEqual(lifecycleProblems(live(), selfHosted), []);
        assert.deepStrictEqual(lifecycleProblems(live("selfHosted"), selfHosted), []);
        assert.deepStrictEqual(lifecycleProblems(live("selfHosted"), kindCfg), []);
        // Leaving the mode and rebuilding the server in one `up` stays refused: the new server would not know the pivot.
        const both = parseTestConfig({ ...gitops, prefix: "capi", flavor: "SCS-4V-16", serverGeneration: "2" });
        const problems = lifecycleProblems(live("selfHosted"), both);
        assert.strictEqual(problems.length, 1);
        assert.match(problems[0], /^capi-mgmt:serverGeneration: the management cluster is self-hosted.*leave the mode first \(an `up` with mode kind/);
    });

    it("refuses a serverGeneration bump in selfHosted mode, not in kind mode", () => {
        const bump = parseTestConfig({
            ...gitops,
            prefix: "capi",
            flavor: "SCS-4V-16",
            serverGeneration: "2",
            managementCluster: JSON.stringify({ mode: "selfHosted" }),
        });
        const problems = lifecycleProblems(live("selfHosted"), bump);
        assert.strictEqual(problems.length, 1);
        assert.match(problems[0], /^capi-mgmt:serverGeneration: the management cluster is self-hosted.*Set it back\s+to 1/);
        assert.deepStrictEqual(lifecycleProblems(live(), bump), []);
    });
});
