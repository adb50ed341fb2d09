import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { capoIdentity, cloudConfigResourceSet, fluxSettingsData, orcCredentialsSecret } from "../lib/clusterObjects";
import { ConfigError, parseStackConfig, RawConfig } from "../lib/config";
import {
    CAPO_IDENTITY_NAME,
    CLOUD_CONFIG_LABEL,
    CLOUD_NAME,
    DEFAULT_WORKLOAD_NAMESPACE,
    FLUX_NAMESPACE,
    FLUX_ROOT_NAME,
    ORC_CREDENTIALS_SECRET,
    WORKLOAD_CLOUD_CONFIG_SECRET,
} from "../lib/contract";
import {
    applyJsonPatch,
    Environment,
    kustomizeBuild,
    readEnvironment,
    resolveTopology,
    schemaProblems,
    substitute,
    TreeError,
    TreeObject,
} from "../render/gitopsTree";
import { readStackConfigFile } from "../render/render";
import { PROJECT_DIR } from "./harness";

const TREE = path.join(PROJECT_DIR, "gitops");
const STACKS = ["dev", "prod"];
const MANAGEMENT_ADDRESS = "192.0.2.10";
/** Exactly what the program's settings ConfigMap holds for the default namespace. */
const SETTINGS = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: MANAGEMENT_ADDRESS });

/** The `gitops.path` a stack's config file makes Flux reconcile (defaults applied by the real parser). */
function stackGitopsPath(stack: string): string {
    const file = readStackConfigFile(PROJECT_DIR, stack);
    const raw: RawConfig = Object.fromEntries(
        Object.entries(file.config)
            .filter(([key]) => key.startsWith("capi-mgmt:"))
            .map(([key, value]) => [key.slice("capi-mgmt:".length), value]),
    );
    try {
        const config = parseStackConfig(raw, { stack, now: new Date() });
        assert.ok(config.gitops, `Pulumi.${stack}.yaml configures no gitops`);
        return config.gitops.path;
    } catch (e) {
        assert.ok(!(e instanceof ConfigError), `Pulumi.${stack}.yaml: ${(e as Error).message}`);
        throw e;
    }
}

function objects(env: Environment): TreeObject[] {
    return env.units.flatMap((u) => u.documents.map((d) => d.object));
}

function ofKind(env: Environment, kind: string): TreeObject[] {
    return objects(env).filter((o) => o.kind === kind);
}

/** Names of the Flux Kustomizations a unit waits for, directly or not. */
function dependencies(env: Environment, name: string, seen = new Set<string>()): Set<string> {
    const unit = env.units.find((u) => u.kustomization.object.metadata.name === name);
    for (const d of (unit?.kustomization.object.spec.dependsOn ?? []) as { name: string }[]) {
        if (!seen.has(d.name)) {
            seen.add(d.name);
            dependencies(env, d.name, seen);
        }
    }
    return seen;
}

/** The Flux Kustomization that applies an object. */
function unitOf(env: Environment, o: TreeObject): string {
    const unit = env.units.find((u) => u.documents.some((d) => d.object === o));
    assert.ok(unit, `${o.kind} ${o.metadata.name} is applied by no Kustomization`);
    return unit.kustomization.object.metadata.name;
}

function selects(selector: { matchLabels?: Record<string, string> }, o: TreeObject): boolean {
    return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => o.metadata.labels?.[k] === v);
}

/** A Helm values template read as YAML, its Go template actions replaced by a marker. */
function valuesOf(hcp: TreeObject): Record<string, unknown> {
    return parse(String(hcp.spec.valuesTemplate).replace(/\{\{.*?\}\}/g, "TEMPLATE")) as Record<string, unknown>;
}

describe("GitOps tree (gitops/)", () => {
    const envs = new Map<string, Environment>();
    before(() => {
        for (const stack of STACKS) {
            envs.set(stack, readEnvironment(TREE, stackGitopsPath(stack), SETTINGS));
        }
    });
    const each = (title: string, fn: (env: Environment, stack: string) => void) => {
        for (const stack of STACKS) {
            it(`${title} (${stack})`, () => fn(envs.get(stack)!, stack));
        }
    };

    each("is where the stack points Flux, and holds Flux Kustomizations only", (env, stack) => {
        assert.strictEqual(stackGitopsPath(stack), `./clusters/${stack}`);
        assert.ok(env.root.length >= 2);
        for (const d of env.root) {
            assert.strictEqual(d.object.apiVersion, "kustomize.toolkit.fluxcd.io/v1", `${d.file}: ${d.object.kind}`);
            assert.strictEqual(d.object.kind, "Kustomization");
        }
    });

    each("syncs every Kustomization from Flux's own source, pruning, with health checks, into the workload namespace", (env) => {
        for (const u of env.units) {
            const k = u.kustomization.object;
            const what = `Kustomization ${k.metadata.name}`;
            assert.strictEqual(k.metadata.namespace, FLUX_NAMESPACE, what);
            assert.deepStrictEqual(k.spec.sourceRef, { kind: "GitRepository", name: FLUX_ROOT_NAME }, what);
            assert.strictEqual(k.spec.prune, true, what);
            assert.strictEqual(k.spec.wait, true, `${what} does not wait for what it applies to be healthy`);
            assert.ok(/^\d+m$/.test(k.spec.timeout), `${what} has no bounded timeout`);
            assert.strictEqual(k.spec.targetNamespace, DEFAULT_WORKLOAD_NAMESPACE, what);
            assert.ok(fs.statSync(path.join(TREE, k.spec.path)).isDirectory(), `${what}: path ${k.spec.path} does not exist`);
            assert.ok(u.documents.length > 0, `${what} applies nothing`);
            for (const d of u.documents) {
                assert.strictEqual(d.object.metadata.namespace, DEFAULT_WORKLOAD_NAMESPACE, `${d.file}: ${d.object.kind}`);
                // kstatus cannot read these kinds' health; each needs its own expression.
                if (["ClusterClass", "Image", "HelmChartProxy", "Cluster"].includes(d.object.kind)) {
                    const exprs = (k.spec.healthCheckExprs ?? []) as { apiVersion: string; kind: string; current: string }[];
                    const expr = exprs.find((e) => e.apiVersion === d.object.apiVersion && e.kind === d.object.kind);
                    assert.ok(expr, `${what} has no healthCheckExprs for ${d.object.apiVersion} ${d.object.kind}`);
                    assert.match(expr.current, /^status\.\?conditions\.orValue\(\[\]\)\.exists\(c, c\.type == '\w+' && c\.status == 'True'\)$/, `${what}: ${expr.current}`);
                }
            }
        }
    });

    each("orders Kustomizations with dependsOn that name existing ones, without cycles", (env) => {
        const names = env.units.map((u) => u.kustomization.object.metadata.name);
        assert.strictEqual(new Set(names).size, names.length, `duplicate names: ${names}`);
        for (const name of names) {
            const deps = dependencies(env, name);
            for (const d of deps) {
                assert.ok(names.includes(d), `${name} depends on ${d}, which the environment does not define`);
            }
            assert.ok(!deps.has(name), `${name} depends on itself`);
        }
    });

    each("applies every workload Cluster after its class, node images and add-ons", (env) => {
        const clusters = ofKind(env, "Cluster");
        assert.ok(clusters.length > 0, "no example Cluster");
        for (const cluster of clusters) {
            const deps = dependencies(env, unitOf(env, cluster));
            const needed = [
                ...ofKind(env, "ClusterClass").filter((c) => c.metadata.name === cluster.spec.topology.classRef.name),
                ...ofKind(env, "Image"),
                ...ofKind(env, "HelmChartProxy"),
            ];
            for (const o of needed) {
                assert.ok(deps.has(unitOf(env, o)), `Cluster ${cluster.metadata.name} does not wait for ${o.kind} ${o.metadata.name}`);
            }
        }
    });

    each("gives each Cluster the management server's address in its API allow-list", (env) => {
        for (const cluster of ofKind(env, "Cluster")) {
            const cidrs = cluster.spec.topology.variables.find((v: { name: string }) => v.name === "apiAllowedCidrs").value;
            assert.ok(cidrs.includes(`${MANAGEMENT_ADDRESS}/32`), `Cluster ${cluster.metadata.name}: ${cidrs}`);
        }
    });

    each("resolves every Cluster's topology: class, templates, variables, patches", (env) => {
        for (const cluster of ofKind(env, "Cluster")) {
            const topology = resolveTopology(cluster, objects(env));
            const roles = topology.templates.map((t) => `${t.role} ${t.object.kind}`).sort();
            assert.deepStrictEqual(roles, [
                "controlPlane KubeadmControlPlaneTemplate",
                "controlPlane OpenStackMachineTemplate",
                "infrastructureCluster OpenStackClusterTemplate",
                "machineDeployment:default-worker KubeadmConfigTemplate",
                "machineDeployment:default-worker OpenStackMachineTemplate",
            ]);
            const machine = (role: string) => topology.templates.find((t) => t.role === role && t.object.kind === "OpenStackMachineTemplate")!.object;
            assert.strictEqual(machine("controlPlane").spec.template.spec.flavor, topology.variables.controlPlaneFlavor);
            assert.strictEqual(machine("machineDeployment:default-worker").spec.template.spec.flavor, topology.variables.workerFlavor);
            const infra = topology.templates.find((t) => t.role === "infrastructureCluster")!.object.spec.template.spec;
            assert.deepStrictEqual(infra.externalNetwork, topology.variables.externalNetwork);
            assert.deepStrictEqual(infra.apiServerLoadBalancer.allowedCIDRs, topology.variables.apiAllowedCidrs);
            assert.deepStrictEqual(infra.managedSubnets, [{ cidr: topology.variables.nodeCidr, dnsNameservers: topology.variables.dnsNameservers }]);
            for (const t of topology.templates) {
                assert.doesNotMatch(JSON.stringify(t.object), /replaced-by-the/, `${t.object.kind} ${t.object.metadata.name} keeps a placeholder`);
            }
        }
    });

    each("uses a node image of the tree whose Kubernetes version is the Cluster's", (env) => {
        const images = ofKind(env, "Image");
        for (const cluster of ofKind(env, "Cluster")) {
            const topology = resolveTopology(cluster, objects(env));
            for (const t of topology.templates.filter((x) => x.object.kind === "OpenStackMachineTemplate")) {
                const ref = t.object.spec.template.spec.image.imageRef.name;
                const image = images.find((i) => i.metadata.name === ref && i.metadata.namespace === cluster.metadata.namespace);
                assert.ok(image, `${t.role} uses ORC Image ${ref}, which the tree does not define`);
                assert.strictEqual(image.metadata.labels?.["capi-mgmt.io/kubernetes-version"], cluster.spec.topology.version, `Image ${ref}`);
            }
        }
    });

    each("downloads node images from pinned URLs, checked against their SHA-256, with the program's ORC credentials", (env) => {
        const credentials = orcCredentialsSecret(DEFAULT_WORKLOAD_NAMESPACE, {}).metadata;
        const images = ofKind(env, "Image");
        assert.ok(images.length > 0);
        for (const image of images) {
            assert.strictEqual(image.apiVersion, "openstack.k-orc.cloud/v1alpha1");
            assert.deepStrictEqual(image.spec.cloudCredentialsRef, { secretName: ORC_CREDENTIALS_SECRET, cloudName: CLOUD_NAME });
            assert.strictEqual(image.metadata.namespace, credentials.namespace);
            assert.strictEqual(image.spec.managementPolicy, "managed");
            const download = image.spec.resource.content.download;
            assert.match(download.url, /^https:\/\/[^\s]+\.qcow2$/);
            assert.ok(download.url.includes(image.metadata.labels?.["capi-mgmt.io/kubernetes-version"] ?? "no label"), `${download.url} is not the labelled version`);
            assert.strictEqual(download.hash.algorithm, "sha256");
            assert.match(download.hash.value, /^[0-9a-f]{64}$/);
        }
    });

    each("points every cluster template at the program's identity, which admits the workload namespace", (env) => {
        const identity = capoIdentity(DEFAULT_WORKLOAD_NAMESPACE) as unknown as { spec: { namespaceSelector: { matchLabels: Record<string, string> } } };
        for (const t of ofKind(env, "OpenStackClusterTemplate")) {
            assert.deepStrictEqual(t.spec.template.spec.identityRef, { type: "ClusterIdentity", name: CAPO_IDENTITY_NAME, cloudName: CLOUD_NAME });
            assert.deepStrictEqual(identity.spec.namespaceSelector.matchLabels, { "kubernetes.io/metadata.name": t.metadata.namespace });
        }
    });

    each("runs kubelets with the external cloud provider", (env) => {
        const args = (o: TreeObject) => {
            const spec = o.kind === "KubeadmControlPlaneTemplate" ? o.spec.template.spec.kubeadmConfigSpec : o.spec.template.spec;
            return ["initConfiguration", "joinConfiguration"]
                .filter((k) => spec[k] !== undefined)
                .map((k) => spec[k].nodeRegistration.kubeletExtraArgs as { name: string; value: string }[]);
        };
        const templates = [...ofKind(env, "KubeadmControlPlaneTemplate"), ...ofKind(env, "KubeadmConfigTemplate")];
        assert.ok(templates.length >= 2);
        for (const t of templates) {
            const lists = args(t);
            assert.ok(lists.length > 0, t.metadata.name);
            for (const list of lists) {
                assert.deepStrictEqual(list.find((a) => a.name === "cloud-provider"), { name: "cloud-provider", value: "external" }, t.metadata.name);
            }
        }
    });

    each("labels every Cluster for the program's cloud config, and every add-on selects every Cluster", (env) => {
        const crs = cloudConfigResourceSet(DEFAULT_WORKLOAD_NAMESPACE) as unknown as { metadata: { namespace: string }; spec: { clusterSelector: { matchLabels: Record<string, string> } } };
        assert.deepStrictEqual(crs.spec.clusterSelector.matchLabels, { [CLOUD_CONFIG_LABEL.key]: CLOUD_CONFIG_LABEL.value });
        const proxies = ofKind(env, "HelmChartProxy");
        assert.deepStrictEqual(proxies.map((p) => p.spec.chartName).sort(), ["cilium", "openstack-cinder-csi", "openstack-cloud-controller-manager"]);
        for (const cluster of ofKind(env, "Cluster")) {
            assert.ok(selects(crs.spec.clusterSelector, cluster), `Cluster ${cluster.metadata.name} gets no cloud config`);
            assert.strictEqual(cluster.metadata.namespace, crs.metadata.namespace);
            for (const p of proxies) {
                assert.ok(selects(p.spec.clusterSelector, cluster) && p.metadata.namespace === cluster.metadata.namespace, `${p.metadata.name} misses ${cluster.metadata.name}`);
            }
        }
    });

    each("pins every chart and points the cloud provider's charts at the distributed cloud-config Secret", (env) => {
        for (const p of ofKind(env, "HelmChartProxy")) {
            assert.match(p.spec.version, /^\d+\.\d+\.\d+$/, `${p.metadata.name} is not pinned`);
            assert.match(p.spec.repoURL, /^https:\/\//);
        }
        for (const name of ["openstack-cloud-controller-manager", "openstack-cinder-csi"]) {
            const p = ofKind(env, "HelmChartProxy").find((x) => x.spec.chartName === name)!;
            assert.strictEqual(p.spec.namespace, WORKLOAD_CLOUD_CONFIG_SECRET.namespace, name);
            assert.deepStrictEqual((valuesOf(p).secret as Record<string, unknown>).name, WORKLOAD_CLOUD_CONFIG_SECRET.name, name);
            assert.strictEqual((valuesOf(p).secret as Record<string, unknown>).create, false, `${name} would create its own cloud config`);
        }
        const csi = valuesOf(ofKind(env, "HelmChartProxy").find((x) => x.spec.chartName === "openstack-cinder-csi")!);
        assert.deepStrictEqual((csi.storageClass as { delete: unknown }).delete, { isDefault: true, allowVolumeExpansion: true });
    });

    each("holds no secret in clear", (env) => {
        for (const o of [...env.root.map((d) => d.object), ...objects(env)]) {
            if (o.kind === "Secret") {
                assert.ok(o.sops !== undefined, `Secret ${o.metadata.name} is not SOPS-encrypted`);
            }
        }
    });

    it("differs between dev and prod only by the overlay's patches", () => {
        const cluster = (stack: string) => ofKind(envs.get(stack)!, "Cluster").find((c) => c.metadata.name === "workload-1")!;
        const dev = cluster("dev");
        const prod = cluster("prod");
        assert.strictEqual(dev.spec.topology.controlPlane.replicas, 1);
        assert.strictEqual(prod.spec.topology.controlPlane.replicas, 3);
        const strip = (c: TreeObject) => ({ ...c.spec.topology, controlPlane: undefined, workers: undefined, variables: undefined });
        assert.deepStrictEqual(strip(prod), strip(dev));
        assert.deepStrictEqual(prod.metadata, dev.metadata);
        const infra = (stack: string) => envs.get(stack)!.units.filter((u) => u.kustomization.object.metadata.name !== "workload-clusters");
        assert.deepStrictEqual(infra("prod"), infra("dev"));
    });

    it("follows the workload namespace the program is configured with", () => {
        const env = readEnvironment(TREE, "./clusters/dev", fluxSettingsData({ workloadNamespace: "team-a", managementAddress: MANAGEMENT_ADDRESS }));
        for (const o of objects(env)) {
            assert.strictEqual(o.metadata.namespace, "team-a", `${o.kind} ${o.metadata.name}`);
        }
    });

    describe("reader", () => {
        let dir: string;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-tree-"));
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
        const write = (rel: string, text: string) => {
            fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
            fs.writeFileSync(path.join(dir, rel), text);
        };
        const cm = (name: string, extra = "") => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: "1"\n${extra}`;

        it("builds like kustomize: resources in order, JSON patches with test, generated kustomizations", () => {
            write("base/kustomization.yaml", "resources: [one.yaml, two.yaml]\n");
            write("base/one.yaml", cm("one"));
            write("base/two.yaml", cm("two"));
            write(
                "overlay/kustomization.yaml",
                "resources: [../base]\npatches:\n  - target: {kind: ConfigMap, name: two}\n    patch: |-\n      - op: test\n        path: /data/a\n        value: \"1\"\n      - op: replace\n        path: /data/a\n        value: \"2\"\n",
            );
            assert.deepStrictEqual(kustomizeBuild(dir, "overlay").map((d) => [d.object.metadata.name, d.object.data.a]), [["one", "1"], ["two", "2"]]);
            write("plain/x.yaml", cm("x"));
            write("plain/sub/kustomization.yaml", "resources: [../../base/one.yaml]\n");
            assert.deepStrictEqual(kustomizeBuild(dir, "plain").map((d) => d.object.metadata.name), ["one", "x"]);
        });

        it("refuses what it cannot read faithfully, naming the file", () => {
            write("k/kustomization.yaml", "resources: [a.yaml]\nnamePrefix: x-\n");
            write("k/a.yaml", cm("a"));
            assert.throws(() => kustomizeBuild(dir, "k"), /k\/kustomization.yaml: namePrefix not supported/);
            write("m/kustomization.yaml", "resources: [missing.yaml]\n");
            assert.throws(() => kustomizeBuild(dir, "m"), /resource missing.yaml does not exist/);
            write("t/kustomization.yaml", "resources: [a.yaml]\npatches:\n  - target: {kind: ConfigMap, name: a}\n    patch: |-\n      - {op: test, path: /data/a, value: \"9\"}\n");
            write("t/a.yaml", cm("a"));
            assert.throws(() => kustomizeBuild(dir, "t"), /test \/data\/a: expected "9"/);
            write("n/kustomization.yaml", "resources: [a.yaml]\npatches:\n  - target: {kind: ConfigMap, name: b}\n    patch: |-\n      - {op: remove, path: /data}\n");
            write("n/a.yaml", cm("a"));
            assert.throws(() => kustomizeBuild(dir, "n"), /matches nothing/);
        });

        it("substitutes like Flux's postBuild, and refuses a variable with no value", () => {
            const doc = { file: "f.yaml", object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "${A}", b: "${B:=dflt}", c: "$${A}" } } };
            assert.deepStrictEqual(substitute(doc, { A: "x" }).object.data, { a: "x", b: "dflt", c: "${A}" });
            assert.throws(() => substitute(doc, {}), /f.yaml: \$\{A\} has no value/);
        });

        it("applies JSON patches as RFC 6902 says", () => {
            const doc = { a: { b: [1, 2] } };
            assert.deepStrictEqual(applyJsonPatch(doc, [{ op: "add", path: "/a/b/-", value: 3 }, { op: "add", path: "/a/c", value: "x" }]), { a: { b: [1, 2, 3], c: "x" } });
            assert.deepStrictEqual(doc, { a: { b: [1, 2] } }, "the input was changed");
            assert.throws(() => applyJsonPatch(doc, [{ op: "replace", path: "/a/d", value: 1 }]), TreeError);
            assert.throws(() => applyJsonPatch(doc, [{ op: "add", path: "/x/y", value: 1 }]), /x does not exist/);
        });

        it("checks variable values against their schemas", () => {
            const schema = { type: "object" as const, properties: { id: { type: "string" as const, minLength: 1 } }, minProperties: 1 };
            assert.deepStrictEqual(schemaProblems({ id: "abc" }, schema, "v"), []);
            assert.deepStrictEqual(schemaProblems({}, schema, "v"), ["v: fewer than 1 fields"]);
            assert.deepStrictEqual(schemaProblems({ name: "x" }, schema, "v"), ["v: unknown field name"]);
            assert.deepStrictEqual(schemaProblems(["10.0.0.0/8", "x"], { type: "array", items: { type: "string", pattern: "/" } }, "v"), ['v[1]: "x" does not match /']);
            assert.deepStrictEqual(schemaProblems(1500.5, { type: "integer" }, "v"), ["v: 1500.5 is not of type integer"]);
        });

        it("refuses a Cluster whose variables the class does not accept", () => {
            const env = readEnvironment(TREE, "./clusters/dev", SETTINGS);
            const cluster = structuredClone(ofKind(env, "Cluster")[0]);
            cluster.spec.topology.variables = cluster.spec.topology.variables
                .filter((v: { name: string }) => v.name !== "workerFlavor")
                .concat([{ name: "mtu", value: 100 }, { name: "flavour", value: "x" }]);
            assert.throws(
                () => resolveTopology(cluster, objects(env)),
                (e: Error) =>
                    /variable flavour is not declared/.test(e.message) &&
                    /required variable workerFlavor is not set/.test(e.message) &&
                    /variable mtu: 100 is below 1280/.test(e.message),
            );
            cluster.spec.topology.classRef.name = "nope";
            assert.throws(() => resolveTopology(cluster, objects(env)), /ClusterClass clusters\/nope is not in the environment/);
        });
    });
});
