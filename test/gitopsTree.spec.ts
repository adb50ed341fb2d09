import "mocha";
import * as assert from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gunzipSync } from "zlib";
import * as ipaddr from "ipaddr.js";
import * as semver from "semver";
import { parse, parseAllDocuments, stringify } from "yaml";
import { capoIdentity, cloudConfigResourceSet, fluxSettingsData, orcCredentialsSecret } from "../src/cluster/clusterObjects";
import { ConfigError, parseStackConfig, RawConfig } from "../src/config";
import {
    CAPO_IDENTITY_NAME,
    CLOUD_CONFIG_LABEL,
    CLOUD_NAME,
    DEFAULT_WORKLOAD_NAMESPACE,
    FLUX_NAMESPACE,
    FLUX_ROOT_NAME,
    ORC_CREDENTIALS_SECRET,
    WORKLOAD_CLOUD_CONFIG_SECRET,
} from "../src/shared/contract";
import { classOf, classVariables, clusterVariables, CREATE_ONLY_RULE, schemaProblems, VariableSchema } from "../render/classVariables";
import { Environment, isFluxKustomization, kustomizeBuild, readEnvironment, substitute, TreeError, TreeObject } from "../render/gitopsTree";
import {
    dependencies,
    imageProblems,
    imageReferenceProblems,
    MOVE_LABEL,
    objectsOf,
    ofKind,
    placementProblems,
    SCS_FLAVOR,
    selects,
    selectorKeys,
    unitOf as unitOfObject,
    VERSION_LABEL,
} from "../render/gitopsRules";
import { readStackConfigFile } from "../render/render";
import { assertFailure, assertSuccess, envFileOf, hasShellcheck, installFake, makeTempDir, runScript, shellcheck, skipTest } from "./fakes/shell";
import { PROJECT_DIR } from "./harness";

const TREE = path.join(PROJECT_DIR, "gitops");
const STACKS = ["dev", "prod"];
const MANAGEMENT_ADDRESS = "192.0.2.10";
/** Exactly what the program's settings ConfigMap holds for the default namespace. */
const SETTINGS = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: MANAGEMENT_ADDRESS });

/**
 * OpenStackCluster spec paths CAPO v0.14.7's update webhook lets change
 * (pkg/webhooks/openstackcluster_webhook.go, ValidateUpdate); it refuses a change anywhere
 * else in spec ("cannot be modified"). Paths relative to spec.
 */
const CAPO_MUTABLE_CLUSTER_PATHS = [
    "/identityRef",
    "/bastion",
    "/managedSecurityGroups/allNodesSecurityGroupRules",
    "/managedSecurityGroups/controlPlaneNodesSecurityGroupRules",
    "/managedSecurityGroups/workerNodesSecurityGroupRules",
    "/managedSecurityGroups/allowAllInClusterTraffic",
    "/managedSubnets/0/dnsNameservers",
    "/apiServerLoadBalancer/allowedCIDRs",
    "/apiServerLoadBalancer/monitor",
    "/controlPlaneAvailabilityZones",
    "/controlPlaneOmitAvailabilityZone",
];

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

const objects = objectsOf;

/** The Flux Kustomization that applies an object. */
function unitOf(env: Environment, o: TreeObject): string {
    const unit = unitOfObject(env, o);
    assert.ok(unit, `${o.kind} ${o.metadata.name} is applied by no Kustomization`);
    return unit;
}

/**
 * A values template rendered for one choice, by the one construct the catalog's templates
 * branch with: whole lines `{{- if eq $<var> "<value>" }}`, `{{- else }}`, `{{- end }}`
 * (nested), `$<var>` being what `vars` gives. Any other action becomes a marker; any other
 * control action is refused, so a template this cannot read fails the test.
 */
function renderBranches(template: string, vars: Record<string, string>): Record<string, unknown> {
    const out: string[] = [];
    const stack: { taken: boolean; active: boolean }[] = [];
    const active = () => stack.every((f) => f.active);
    for (const line of template.split("\n")) {
        const ctl = /^\s*\{\{-?\s*(if eq \$(\w+) "([^"]*)"|else|end)\s*-?\}\}\s*$/.exec(line);
        if (ctl) {
            if (ctl[1].startsWith("if")) {
                assert.ok(ctl[2] in vars, `the template branches on $${ctl[2]}, which the test does not set`);
                const taken = vars[ctl[2]] === ctl[3];
                stack.push({ taken, active: taken });
            } else if (ctl[1] === "else") {
                const top = stack[stack.length - 1];
                assert.ok(top, "else without if");
                top.active = !top.taken;
            } else {
                assert.ok(stack.pop(), "end without if");
            }
            continue;
        }
        assert.doesNotMatch(line, /\{\{-?\s*(if|else|range|with|define|template|block)\b/, `a control action the test cannot follow: ${line}`);
        if (/^\s*\{\{-?\s*\$\w+\s*:=.*\}\}\s*$/.test(line)) {
            continue;
        }
        if (active()) {
            out.push(line.replace(/\{\{.*?\}\}/g, "TEMPLATE"));
        }
    }
    assert.strictEqual(stack.length, 0, "an if without end");
    return (parse(out.join("\n")) ?? {}) as Record<string, unknown>;
}

/** The catalog's add-ons as gitops/README.md's table lists them: name, chart version, label, label values. */
function readmeCatalog(readme: string): { name: string; version: string; label: string; values: string[] }[] {
    const section = readme.split(/^## /m).find((s) => s.startsWith("Add-on catalog"));
    assert.ok(section, 'gitops/README.md has no section "Add-on catalog"');
    return [...section.matchAll(/^\| ([\w-]+) \| `([^`]+)` \| `([\w./-]+)`: ((?:`[\w-]+`(?:, | or )?)+) \|/gm)].map((m) => ({
        name: m[1],
        version: m[2],
        label: m[3],
        values: [...m[4].matchAll(/`([\w-]+)`/g)].map((v) => v[1]),
    }));
}

/** A Helm values template read as YAML: lines of Go template actions only dropped (both branches kept), other actions replaced by a marker. */
function valuesOf(hcp: TreeObject): Record<string, unknown> {
    const text = String(hcp.spec.valuesTemplate).replace(/^\s*(\{\{[^}]*\}\})+\s*\n/gm, "");
    return parse(text.replace(/\{\{.*?\}\}/g, "TEMPLATE")) as Record<string, unknown>;
}

function variable(cluster: TreeObject, name: string): unknown {
    return (cluster.spec.topology.variables as { name: string; value: unknown }[]).find((v) => v.name === name)?.value;
}

function withVariable(cluster: TreeObject, name: string, value: unknown): TreeObject {
    const out = structuredClone(cluster);
    const vars = (out.spec.topology.variables as { name: string; value: unknown }[]).filter((v) => v.name !== name);
    out.spec.topology.variables = value === undefined ? vars : [...vars, { name, value }];
    return out;
}

/**
 * CAPI v1.14's arithmetic for a MachineHealthCheck's remediation limit
 * (core/reconcilers/machinehealthcheck: isAllowedRemediation, getMaxUnhealthy): unhealthy =
 * expected - healthy (machines still starting count); `unhealthyInRange` "[a-b]" allows
 * a <= unhealthy <= b; else `unhealthyLessThanOrEqualTo` (default 100%), a percentage
 * scaled to the expected machines and rounded down (intstr.GetScaledValueFromIntOrPercent,
 * roundUp false), allows unhealthy <= limit.
 */
function remediationAllowed(
    triggerIf: { unhealthyLessThanOrEqualTo?: number | string; unhealthyInRange?: string } | undefined,
    expected: number,
    unhealthy: number,
): boolean {
    if (triggerIf?.unhealthyInRange) {
        const m = /^\[(\d+)-(\d+)\]$/.exec(triggerIf.unhealthyInRange);
        assert.ok(m, `unhealthyInRange ${triggerIf.unhealthyInRange}`);
        return unhealthy >= Number(m[1]) && unhealthy <= Number(m[2]);
    }
    const limit = triggerIf?.unhealthyLessThanOrEqualTo ?? "100%";
    let max: number;
    if (typeof limit === "number") {
        max = limit;
    } else {
        const m = /^(\d+)%$/.exec(limit);
        assert.ok(m, `unhealthyLessThanOrEqualTo ${limit} is neither a number nor a percentage`);
        max = Math.floor((Number(m[1]) * expected) / 100);
    }
    return unhealthy <= max;
}

/** Variables a README section lists, as `name` in the first column of its table. */
function readmeVariables(readme: string, heading: string): string[] {
    const section = readme.split(/^## /m).find((s) => s.startsWith(heading));
    assert.ok(section, `no section "${heading}"`);
    return [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]).sort();
}

/** Every file of a directory, recursively, relative to it. */
function filesOf(dir: string, rel = ""): string[] {
    return fs
        .readdirSync(path.join(dir, rel), { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? filesOf(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]));
}

/** The add-ons every labelled cluster gets (by the cloud config's label). */
const BASE_ADDONS = ["cilium", "openstack-cinder-csi", "openstack-cloud-controller-manager"];
/** The catalog: each add-on selected by its own label only. */
const CATALOG = ["cert-manager", "flux", "gateway-api", "ingress-nginx", "metrics-server"];
/**
 * Add-ons of the catalog Flux applies (no chart fits): per opted-in Cluster a Flux
 * Kustomization carrying the add-on's label, in the same environment as the Cluster.
 */
const FLUX_ADDONS = ["gateway-api"];

/** A file of the ClusterClass's kubeadm config that one of its patches adds as a literal value (JSON patch structure: no template is read). */
function literalFile(clusterClass: TreeObject, patchName: string, filePath: string): { path: string; owner: string; permissions: string; content: string } {
    const patch = (clusterClass.spec.patches as { name: string; definitions: { jsonPatches: { value?: unknown }[] }[] }[]).find((p) => p.name === patchName);
    assert.ok(patch, `the class has no patch ${patchName}`);
    const values = patch.definitions.flatMap((d) => d.jsonPatches.flatMap((j) => (Array.isArray(j.value) ? j.value : [j.value])));
    const f = values.find((v) => (v as { path?: string } | undefined)?.path === filePath);
    assert.ok(f, `patch ${patchName} adds no literal file ${filePath}`);
    return f as { path: string; owner: string; permissions: string; content: string };
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
            assert.ok(fs.existsSync(path.join(TREE, k.spec.path, "kustomization.yaml")), `${what}: path ${k.spec.path} has no kustomization.yaml`);
            assert.ok(u.documents.length > 0, `${what} applies nothing`);
            for (const d of u.documents) {
                assert.strictEqual(d.object.metadata.namespace, DEFAULT_WORKLOAD_NAMESPACE, `${d.file}: ${d.object.kind}`);
                // kstatus cannot read these kinds' health; each needs its own expression.
                if (["ClusterClass", "Image", "HelmChartProxy", "Cluster", "ServerGroup"].includes(d.object.kind)) {
                    const exprs = (k.spec.healthCheckExprs ?? []) as { apiVersion: string; kind: string; current: string }[];
                    const expr = exprs.find((e) => e.apiVersion === d.object.apiVersion && e.kind === d.object.kind);
                    assert.ok(expr, `${what} has no healthCheckExprs for ${d.object.apiVersion} ${d.object.kind}`);
                    // A missing conditions list reads as "not yet" (optional chaining), and one
                    // condition must be True (`exists`: `all` would be true on an empty list).
                    assert.match(
                        expr.current,
                        /^status\.\?conditions\.orValue\(\[\]\)\.exists\(c, c\.type == '\w+' && c\.status == 'True'\)$/,
                        `${what}: ${expr.current}`,
                    );
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

    each("gives each Cluster the management server's address in its API allow-list, and networks that parse and do not overlap", (env) => {
        for (const cluster of ofKind(env, "Cluster")) {
            const topology = { variables: clusterVariables(cluster, classOf(cluster, objects(env))) };
            const allowed = topology.variables.apiAllowedCidrs as string[];
            assert.ok(allowed.includes(`${MANAGEMENT_ADDRESS}/32`), `Cluster ${cluster.metadata.name}: ${allowed}`);
            for (const c of allowed) {
                assert.ok(ipaddr.isValidCIDR(c), `apiAllowedCidrs: ${c} is not a CIDR`);
            }
            for (const dns of topology.variables.dnsNameservers as string[]) {
                assert.ok(ipaddr.isValid(dns), `dnsNameservers: ${dns}`);
            }
            const networks: [string, string][] = [
                ["nodeCidr", topology.variables.nodeCidr as string],
                ...(cluster.spec.clusterNetwork.pods.cidrBlocks as string[]).map((c): [string, string] => ["pods", c]),
                ...(cluster.spec.clusterNetwork.services.cidrBlocks as string[]).map((c): [string, string] => ["services", c]),
            ];
            for (const [what, cidr] of networks) {
                assert.ok(ipaddr.isValidCIDR(cidr), `${what}: ${cidr} is not a CIDR`);
            }
            for (const [i, [aWhat, a]] of networks.entries()) {
                for (const [bWhat, b] of networks.slice(i + 1)) {
                    const [an, ab] = ipaddr.parseCIDR(a);
                    const [bn, bb] = ipaddr.parseCIDR(b);
                    const overlap = an.kind() === bn.kind() && (an.match(bn, bb) || bn.match(an, ab));
                    assert.ok(!overlap, `Cluster ${cluster.metadata.name}: ${aWhat} ${a} overlaps ${bWhat} ${b}`);
                }
            }
        }
    });

    // What the patches make of the templates: test/integration/classInfrastructure.integration.ts (real topology controller).
    each("names in every Cluster's class the five templates its topology needs, each in the environment, and accepts the Cluster's variables", (env) => {
        for (const cluster of ofKind(env, "Cluster")) {
            const cc = classOf(cluster, objects(env));
            const refs = [
                cc.spec.infrastructure.templateRef,
                cc.spec.controlPlane.templateRef,
                cc.spec.controlPlane.machineInfrastructure.templateRef,
                ...(cc.spec.workers.machineDeployments as { bootstrap: { templateRef: unknown }; infrastructure: { templateRef: unknown } }[]).flatMap((m) => [
                    m.bootstrap.templateRef,
                    m.infrastructure.templateRef,
                ]),
            ] as { apiVersion: string; kind: string; name: string }[];
            assert.deepStrictEqual(refs.map((r) => r.kind).sort(), [
                "KubeadmConfigTemplate",
                "KubeadmControlPlaneTemplate",
                "OpenStackClusterTemplate",
                "OpenStackMachineTemplate",
                "OpenStackMachineTemplate",
            ]);
            for (const r of refs) {
                assert.ok(
                    objects(env).some(
                        (o) =>
                            o.apiVersion === r.apiVersion && o.kind === r.kind && o.metadata.name === r.name && o.metadata.namespace === cc.metadata.namespace,
                    ),
                    `${r.kind} ${r.name} is not in the environment`,
                );
            }
            const problems: string[] = [];
            clusterVariables(cluster, cc, problems);
            assert.deepStrictEqual(problems, [], cluster.metadata.name);
        }
    });

    each("uses SCS standard flavors, with a root volume where the flavor has no disk", (env) => {
        for (const cluster of ofKind(env, "Cluster")) {
            const topology = { variables: clusterVariables(cluster, classOf(cluster, objects(env))) };
            for (const key of ["controlPlaneFlavor", "workerFlavor"]) {
                const flavor = String(topology.variables[key]);
                const m = SCS_FLAVOR.exec(flavor);
                assert.ok(m, `Cluster ${cluster.metadata.name}: ${key} ${flavor} is not an SCS flavor name`);
                if (m.groups?.disk === undefined) {
                    assert.ok(topology.variables.rootVolume, `Cluster ${cluster.metadata.name}: ${key} ${flavor} has no disk, and rootVolume is not set`);
                }
            }
        }
    });

    each("references, from every machine template, an ORC Image of the tree with the Cluster's Kubernetes version and the move label", (env) => {
        assert.deepStrictEqual(imageReferenceProblems(objects(env)), []);
    });

    each("places the control plane in a hard and the workers in a soft anti-affinity server group of their own Cluster, created by ORC", (env) => {
        assert.ok(ofKind(env, "ServerGroup").length >= 2);
        assert.deepStrictEqual(placementProblems(objects(env)), []);
        for (const cluster of ofKind(env, "Cluster")) {
            // The machine templates join them through these variables: classInfrastructure.integration.ts.
            const groups = [variable(cluster, "controlPlaneServerGroup"), variable(cluster, "workerServerGroup")];
            assert.strictEqual(new Set(groups).size, 2, `Cluster ${cluster.metadata.name}: control plane and workers share a server group`);
            // The group is applied with the Cluster: same Kustomization, so Flux prunes both together.
            for (const g of ofKind(env, "ServerGroup")) {
                assert.strictEqual(unitOf(env, g), unitOf(env, cluster));
            }
        }
    });

    it("refuses swapped, missing, unknown and shared server groups", () => {
        const all = objects(envs.get("prod")!);
        const cluster = all.find((o) => o.kind === "Cluster")!;
        const others = all.filter((o) => o !== cluster);
        let swapped = withVariable(cluster, "controlPlaneServerGroup", "workload-1-workers");
        swapped = withVariable(swapped, "workerServerGroup", "workload-1-control-plane");
        const text = placementProblems([...others, swapped]).join("\n");
        assert.match(text, /controlPlane joins server group workload-1-workers, whose policy is soft-anti-affinity, not anti-affinity/);
        assert.match(text, /default-worker joins server group workload-1-control-plane, whose policy is anti-affinity, not soft-anti-affinity/);
        assert.match(
            placementProblems([...others, withVariable(cluster, "workerServerGroup", undefined)]).join("\n"),
            /default-worker joins no server group .*workerServerGroup/,
        );
        assert.match(
            placementProblems([...others, withVariable(cluster, "controlPlaneServerGroup", "workload-2-control-plane")]).join("\n"),
            /which no ORC ServerGroup of the tree creates/,
        );
        const orphan = structuredClone(all.find((o) => o.kind === "ServerGroup")!);
        orphan.metadata.name = "old-group";
        assert.match(placementProblems([...all, orphan]).join("\n"), /ServerGroup old-group serves no Cluster/);
        const twin = structuredClone(orphan);
        twin.spec.resource.name = "workload-1-workers";
        assert.match(placementProblems([...all, twin]).join("\n"), /two ServerGroups create Nova server group clusters\/workload-1-workers/);
    });

    it("takes no empty list of availability zones (the schema; the zones reaching the OpenStackCluster: classInfrastructure.integration.ts)", () => {
        const cluster = ofKind(envs.get("dev")!, "Cluster")[0];
        const schema = classVariables(classOf(cluster, objects(envs.get("dev")!))).find((v) => v.name === "controlPlaneAvailabilityZones")!.schema
            .openAPIV3Schema;
        assert.deepStrictEqual(schemaProblems([], schema, "controlPlaneAvailabilityZones"), [
            "controlPlaneAvailabilityZones: must NOT have fewer than 1 items",
        ]);
        assert.deepStrictEqual(schemaProblems(["az1", "az2"], schema, "controlPlaneAvailabilityZones"), []);
    });

    it("refuses a Cluster whose image is not in the tree, or is of another Kubernetes version", () => {
        const all = objects(envs.get("dev")!);
        const cluster = all.find((o) => o.kind === "Cluster")!;
        const others = all.filter((o) => o !== cluster);
        const missing = withVariable(cluster, "nodeImage", "ubuntu-capi-image-v1.36.2");
        assert.match(imageReferenceProblems([...others, missing]).join("\n"), /uses ORC Image ubuntu-capi-image-v1.36.2, which the tree does not define/);
        const newer = structuredClone(cluster);
        newer.spec.topology.version = "v1.36.2";
        assert.match(
            imageReferenceProblems([...others, newer]).join("\n"),
            /Image ubuntu-capi-image-v1.35.8 holds Kubernetes v1.35.8, not the Cluster's v1.36.2/,
        );
        const removed = all.filter((o) => o.kind !== "Image");
        assert.match(imageReferenceProblems(removed).join("\n"), /which the tree does not define/);
    });

    each("imports every node image from Glance by a name that carries its version, with the program's ORC credentials", (env) => {
        const images = ofKind(env, "Image");
        assert.ok(images.length > 0);
        const credentials = orcCredentialsSecret(DEFAULT_WORKLOAD_NAMESPACE, {}).metadata;
        for (const image of images) {
            assert.strictEqual(image.apiVersion, "openstack.k-orc.cloud/v1alpha1");
            assert.strictEqual(image.metadata.namespace, credentials.namespace);
            assert.deepStrictEqual(imageProblems(image), []);
            // The repository ships imports only: no download, so no digest nobody verified.
            assert.strictEqual(image.spec.managementPolicy, "unmanaged", `Image ${image.metadata.name}`);
            assert.strictEqual(image.spec.resource, undefined);
        }
    });

    it("holds no digest in the tree but of an upload that passes the rules, and never an all-zero one", () => {
        const digests = new Set<string>();
        for (const f of filesOf(TREE)) {
            const text = fs.readFileSync(path.join(TREE, f), "utf8");
            assert.doesNotMatch(text, /0{32}/, `${f} holds a run of zeros (a placeholder digest?)`);
            assert.doesNotMatch(text, /placeholder/i, `${f} mentions a placeholder`);
            for (const m of text.matchAll(/\b[0-9a-fA-F]{64}\b/g)) {
                digests.add(m[0]);
            }
        }
        const uploaded = new Set(
            [...envs.values()].flatMap((env) =>
                ofKind(env, "Image")
                    .filter((i) => i.spec.managementPolicy !== "unmanaged" && imageProblems(i).length === 0)
                    .map((i) => i.spec.resource.content.download.hash.value as string),
            ),
        );
        for (const d of digests) {
            assert.ok(uploaded.has(d), `digest ${d} is not the hash of a valid upload Image`);
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
                assert.deepStrictEqual(
                    list.find((a) => a.name === "cloud-provider"),
                    { name: "cloud-provider", value: "external" },
                    t.metadata.name,
                );
            }
        }
    });

    each("labels every Cluster for the program's cloud config, and the add-ons every cluster needs select every Cluster", (env) => {
        const crs = cloudConfigResourceSet(DEFAULT_WORKLOAD_NAMESPACE) as unknown as {
            metadata: { namespace: string };
            spec: { clusterSelector: { matchLabels: Record<string, string> } };
        };
        assert.deepStrictEqual(crs.spec.clusterSelector.matchLabels, { [CLOUD_CONFIG_LABEL.key]: CLOUD_CONFIG_LABEL.value });
        const proxies = ofKind(env, "HelmChartProxy").filter((p) => BASE_ADDONS.includes(p.metadata.name));
        assert.deepStrictEqual(proxies.map((p) => p.spec.chartName).sort(), BASE_ADDONS);
        for (const p of proxies) {
            assert.deepStrictEqual(p.spec.clusterSelector, crs.spec.clusterSelector, `${p.metadata.name} selects by another label than the cloud config's`);
        }
        for (const cluster of ofKind(env, "Cluster")) {
            assert.ok(selects(crs.spec.clusterSelector, cluster), `Cluster ${cluster.metadata.name} gets no cloud config`);
            assert.strictEqual(cluster.metadata.namespace, crs.metadata.namespace);
            for (const p of proxies) {
                assert.ok(
                    selects(p.spec.clusterSelector, cluster) && p.metadata.namespace === cluster.metadata.namespace,
                    `${p.metadata.name} misses ${cluster.metadata.name}`,
                );
            }
        }
    });

    describe("add-on catalog", () => {
        const readmeAll = () => readmeCatalog(fs.readFileSync(path.join(TREE, "README.md"), "utf8"));
        /** The add-ons CAAPH installs (HelmChartProxies, selecting Clusters by label). */
        const readme = () => readmeAll().filter((a) => !FLUX_ADDONS.includes(a.name));
        /** The catalog's add-ons: HelmChartProxies, and ClusterResourceSets for plain manifests. */
        const catalog = (env: Environment) => [
            ...ofKind(env, "HelmChartProxy").filter((p) => !BASE_ADDONS.includes(p.metadata.name)),
            ...ofKind(env, "ClusterResourceSet"),
        ];
        /** The objects a ClusterResourceSet applies, in order: every document of every data value of its ConfigMaps. */
        const appliedCache = new WeakMap<TreeObject, TreeObject[]>();
        const applied = (env: Environment, crs: TreeObject): TreeObject[] => {
            const cached = appliedCache.get(crs);
            if (cached) return cached;
            const objs = (crs.spec.resources as { kind: string; name: string }[]).flatMap((r) => {
                assert.strictEqual(r.kind, "ConfigMap", `${crs.metadata.name}: ${r.kind} ${r.name}`);
                const cm = ofKind(env, "ConfigMap").find((c) => c.metadata.name === r.name && c.metadata.namespace === crs.metadata.namespace);
                assert.ok(cm, `ClusterResourceSet ${crs.metadata.name} names ConfigMap ${r.name}, which the tree does not define`);
                return Object.values(cm.data as Record<string, string>).flatMap((text) => parseAllDocuments(text).map((d) => d.toJS() as TreeObject));
            });
            appliedCache.set(crs, objs);
            return objs;
        };
        /** An add-on's version: the chart's, or the one bundle version of what a ClusterResourceSet applies. */
        const versionOf = (env: Environment, addon: TreeObject): string => {
            if (addon.kind === "HelmChartProxy") return addon.spec.version;
            const versions = new Set(applied(env, addon).map((o) => o.metadata.annotations?.["gateway.networking.k8s.io/bundle-version"]));
            assert.strictEqual(versions.size, 1, `${addon.metadata.name} applies several versions: ${[...versions]}`);
            return [...versions][0]!;
        };
        /** A Cluster like `base` with only the cloud config's label and `labels`. */
        const labelled = (base: TreeObject, labels: Record<string, string>): TreeObject => {
            const c = structuredClone(base);
            c.metadata.labels = { [CLOUD_CONFIG_LABEL.key]: CLOUD_CONFIG_LABEL.value, ...labels };
            return c;
        };

        each("offers exactly the add-ons gitops/README.md lists, with its versions and labels", (env) => {
            const listed = readme();
            assert.deepStrictEqual(
                catalog(env)
                    .map((p) => p.metadata.name)
                    .sort(),
                listed.map((a) => a.name).sort(),
            );
            assert.deepStrictEqual(
                readmeAll()
                    .map((a) => a.name)
                    .sort(),
                CATALOG,
            );
            for (const a of listed) {
                const p = catalog(env).find((x) => x.metadata.name === a.name)!;
                assert.strictEqual(versionOf(env, p), a.version, `${a.name}: the README says ${a.version}`);
                assert.deepStrictEqual(selectorKeys(p.spec.clusterSelector), [a.label], `${a.name} selects by other labels than its own`);
                assert.strictEqual(a.label, `capi-mgmt.io/addon-${a.name}`, a.name);
                for (const v of a.values) {
                    assert.ok(
                        selects(p.spec.clusterSelector, labelled(ofKind(env, "Cluster")[0], { [a.label]: v })),
                        `${a.name}: ${a.label}=${v} is not selected`,
                    );
                }
            }
        });

        each("selects, with each add-on, exactly the example Clusters that carry its label", (env, stack) => {
            const clusters = ofKind(env, "Cluster");
            for (const a of readme()) {
                const p = catalog(env).find((x) => x.metadata.name === a.name)!;
                const selected = clusters.filter((c) => selects(p.spec.clusterSelector, c)).map((c) => c.metadata.name);
                const optedIn = clusters.filter((c) => a.values.includes(c.metadata.labels?.[a.label] ?? "")).map((c) => c.metadata.name);
                assert.deepStrictEqual(selected, optedIn, a.name);
            }
            // The example opts in to what SCS installed by default, and dev's to the Gateway API CRDs too
            // (a user's further clusters choose their own: npm run validate checks their labels).
            for (const c of clusters.filter((x) => x.metadata.name === "workload-1")) {
                const on = readmeAll()
                    .filter((a) => c.metadata.labels?.[a.label] !== undefined)
                    .map((a) => a.name)
                    .sort();
                assert.deepStrictEqual(
                    on,
                    stack === "dev" ? ["gateway-api", "ingress-nginx", "metrics-server"] : ["ingress-nginx", "metrics-server"],
                    `Cluster ${c.metadata.name}`,
                );
            }
        });

        each("selects a Cluster that carries one add-on's label with that add-on alone, and none without a label or with another value", (env) => {
            const base = ofKind(env, "Cluster")[0];
            for (const a of readme()) {
                for (const v of a.values) {
                    const c = labelled(base, { [a.label]: v });
                    assert.deepStrictEqual(
                        catalog(env)
                            .filter((p) => selects(p.spec.clusterSelector, c))
                            .map((p) => p.metadata.name),
                        [a.name],
                        `${a.label}=${v}`,
                    );
                }
                assert.ok(
                    !selects(catalog(env).find((p) => p.metadata.name === a.name)!.spec.clusterSelector, labelled(base, { [a.label]: "disabled" })),
                    `${a.name}: ${a.label}=disabled is selected`,
                );
            }
            assert.deepStrictEqual(
                catalog(env).filter((p) => selects(p.spec.clusterSelector, labelled(base, {}))),
                [],
            );
        });

        each("puts ingress-nginx behind an Octavia load balancer: plain, with the PROXY protocol, or OVN with the client's address", (env) => {
            const p = catalog(env).find((x) => x.metadata.name === "ingress-nginx")!;
            const values = (mode: string) => renderBranches(p.spec.valuesTemplate, { mode }).controller as Record<string, Record<string, unknown>>;
            const octavia = values("octavia");
            assert.strictEqual(octavia.service.type, "LoadBalancer");
            assert.strictEqual(octavia.service.externalTrafficPolicy, "Cluster");
            assert.strictEqual(octavia.service.annotations, undefined);
            assert.strictEqual(octavia.config, undefined);
            const proxy = values("proxy-protocol");
            assert.deepStrictEqual(proxy.service.annotations, { "loadbalancer.openstack.org/proxy-protocol": "true" });
            assert.strictEqual(proxy.service.externalTrafficPolicy, "Cluster");
            // nginx must expect the header exactly when Octavia sends it, or every request fails.
            assert.deepStrictEqual(proxy.config, { "use-proxy-protocol": "true", "proxy-real-ip-cidr": "TEMPLATE" });
            const ovn = values("ovn");
            assert.strictEqual(ovn.service.externalTrafficPolicy, "Local");
            // OVN: no PROXY protocol; SOURCE_IP_PORT is the one method it has; Local needs a health monitor.
            assert.deepStrictEqual(ovn.service.annotations, {
                "loadbalancer.openstack.org/lb-method": "SOURCE_IP_PORT",
                "loadbalancer.openstack.org/enable-health-monitor": "true",
            });
            assert.strictEqual(ovn.config, undefined);
            assert.deepStrictEqual([...p.spec.clusterSelector.matchExpressions[0].values].sort(), ["octavia", "ovn", "proxy-protocol"]);
        });

        it("reads only the branches it understands", () => {
            const t = '{{- $m := x }}\na: 1\n{{- if eq $m "y" }}\nb: 2\n{{- else }}\nc: "{{ .X }}"\n{{- end }}\n';
            assert.deepStrictEqual(renderBranches(t, { m: "y" }), { a: 1, b: 2 });
            assert.deepStrictEqual(renderBranches(t, { m: "z" }), { a: 1, c: "TEMPLATE" });
            assert.throws(() => renderBranches("{{- range .X }}\na: 1\n{{- end }}\n", {}), /cannot follow/);
            assert.throws(() => renderBranches('{{- if eq $m "y" }}\na: 1\n', { m: "y" }), /without end/);
        });

        each(
            "applies the Gateway API CRDs, from the pinned upstream release, to exactly the Clusters that carry its label, and keeps them on removal",
            (env) => {
                const a = readmeAll().find((x) => x.name === "gateway-api")!;
                assert.strictEqual(a.label, "capi-mgmt.io/addon-gateway-api");
                assert.deepStrictEqual(a.values, ["enabled"]);
                const clusters = ofKind(env, "Cluster");
                const optedIn = clusters.filter((c) => c.metadata.labels?.[a.label] === "enabled").map((c) => c.metadata.name);
                const kustomizations = objects(env).filter((o) => isFluxKustomization(o) && o.metadata.labels?.[a.label] !== undefined);
                // Exactly one per opted-in Cluster, next to it, through its kubeconfig Secret.
                assert.deepStrictEqual(kustomizations.map((k) => k.spec.kubeConfig?.secretRef?.name).sort(), optedIn.map((n) => `${n}-kubeconfig`).sort());
                const sources = ofKind(env, "GitRepository");
                for (const k of kustomizations) {
                    const what = `Kustomization ${k.metadata.name}`;
                    assert.strictEqual(k.metadata.labels![a.label], "enabled", what);
                    const cluster = clusters.find((c) => `${c.metadata.name}-kubeconfig` === k.spec.kubeConfig.secretRef.name)!;
                    assert.strictEqual(k.metadata.namespace, cluster.metadata.namespace, what);
                    assert.strictEqual(k.spec.kubeConfig.secretRef.key, "value", `${what}: Cluster API's kubeconfig Secret holds it under "value"`);
                    assert.strictEqual(k.spec.path, "./config/crd", what);
                    assert.strictEqual(k.spec.prune, false, `${what} would delete the CRDs, and every Gateway and route with them, on removal`);
                    assert.strictEqual(k.spec.deletionPolicy, "Orphan", what);
                    assert.strictEqual(k.spec.targetNamespace, undefined, what);
                    const source = sources.find((s) => s.metadata.name === k.spec.sourceRef.name && s.metadata.namespace === k.metadata.namespace);
                    assert.ok(
                        source && k.spec.sourceRef.kind === "GitRepository",
                        `${what}: source ${JSON.stringify(k.spec.sourceRef)} is not in the environment`,
                    );
                    assert.strictEqual(source.spec.url, "https://github.com/kubernetes-sigs/gateway-api", what);
                    assert.deepStrictEqual(Object.keys(source.spec.ref), ["tag"], `${what}: not pinned to a release tag`);
                    assert.strictEqual(source.spec.ref.tag, a.version, "the README's version is the source's tag");
                    assert.ok(semver.valid(source.spec.ref.tag) !== null && /^v\d+\.\d+\.\d+$/.test(source.spec.ref.tag), source.spec.ref.tag);
                }
                // The source only where a Cluster opts in; and no HelmChartProxy selects by the label.
                assert.strictEqual(
                    sources.some((s) => s.metadata.name === "gateway-api"),
                    optedIn.length > 0,
                );
                for (const p of ofKind(env, "HelmChartProxy")) {
                    assert.ok(!selectorKeys(p.spec.clusterSelector).includes(a.label), p.metadata.name);
                }
            },
        );

        it("keeps only Gateway API's CRD directory of the upstream repository, and no copy of it in the tree", () => {
            const source = ofKind(envs.get("dev")!, "GitRepository").find((s) => s.metadata.name === "gateway-api")!;
            const rules = String(source.spec.ignore)
                .trim()
                .split("\n")
                .map((l) => l.trim());
            assert.deepStrictEqual(rules, ["/*", "!/config/", "/config/*", "!/config/crd/"]);
            for (const f of filesOf(TREE)) {
                assert.doesNotMatch(
                    fs.readFileSync(path.join(TREE, f), "utf8"),
                    /gateway\.networking\.k8s\.io\/bundle-version/,
                    `${f} carries upstream Gateway API objects`,
                );
            }
        });

        each("installs cert-manager with CRDs it keeps", (env) => {
            const cm = valuesOf(catalog(env).find((x) => x.metadata.name === "cert-manager")!);
            assert.deepStrictEqual(cm.crds, { enabled: true, keep: true });
        });
    });

    each(
        "pins every chart, follows the Clusters' Kubernetes minor with the cloud provider's charts, and points them at the distributed cloud-config Secret",
        (env) => {
            for (const p of ofKind(env, "HelmChartProxy")) {
                // One exact version (some charts, like cert-manager's, spell it with a "v").
                assert.ok(
                    semver.valid(p.spec.version) !== null && /^v?\d+\.\d+\.\d+$/.test(p.spec.version),
                    `${p.metadata.name}: ${p.spec.version} is not a pinned chart version`,
                );
                assert.match(p.spec.repoURL, /^(https|oci):\/\//, p.metadata.name);
                assert.strictEqual(
                    p.spec.reconcileStrategy,
                    undefined,
                    `${p.metadata.name}: upgrades and uninstalls follow Git only with the default (Continuous)`,
                );
            }
            for (const name of ["openstack-cloud-controller-manager", "openstack-cinder-csi"]) {
                const p = ofKind(env, "HelmChartProxy").find((x) => x.spec.chartName === name)!;
                assert.strictEqual(p.spec.namespace, WORKLOAD_CLOUD_CONFIG_SECRET.namespace, name);
                // OCCM writes its own (credential-free) cloud.conf and mounts the distributed Secret beside it: test/gitopsLoadBalancers.spec.ts.
                const mounted =
                    name === "openstack-cinder-csi"
                        ? (valuesOf(p).secret as Record<string, unknown>).name
                        : (valuesOf(p).extraVolumes as { secret?: { secretName: string } }[]).find((v) => v.secret)?.secret?.secretName;
                assert.deepStrictEqual(mounted, WORKLOAD_CLOUD_CONFIG_SECRET.name, name);
                assert.strictEqual(
                    (valuesOf(p).secret as Record<string, unknown>).create,
                    name !== "openstack-cinder-csi",
                    `${name}: who writes its cloud config`,
                );
                // cloud-provider-openstack's chart 2.<minor>.x is built for Kubernetes 1.<minor>.
                for (const cluster of ofKind(env, "Cluster")) {
                    assert.strictEqual(
                        semver.minor(p.spec.version),
                        semver.minor(cluster.spec.topology.version),
                        `${name} ${p.spec.version} for Cluster ${cluster.metadata.name} at ${cluster.spec.topology.version}`,
                    );
                }
            }
        },
    );

    each("holds no secret in clear", (env) => {
        for (const o of [...env.root.map((d) => d.object), ...objects(env)]) {
            if (o.kind === "Secret") {
                assert.ok(o.sops !== undefined, `Secret ${o.metadata.name} is not SOPS-encrypted`);
            }
        }
    });

    it("differs between dev and prod only by the overlays' patches", () => {
        const cluster = (stack: string) => ofKind(envs.get(stack)!, "Cluster").find((c) => c.metadata.name === "workload-1")!;
        const dev = cluster("dev");
        const prod = cluster("prod");
        assert.strictEqual(dev.spec.topology.controlPlane.replicas, 1);
        assert.strictEqual(prod.spec.topology.controlPlane.replicas, 3);
        const strip = (c: TreeObject) => ({ ...c.spec.topology, controlPlane: undefined, workers: undefined, variables: undefined });
        assert.deepStrictEqual(strip(prod), strip(dev));
        // dev's example also opts in to the Gateway API CRDs (its overlay's patch).
        const labels = { ...dev.metadata.labels };
        delete labels["capi-mgmt.io/addon-gateway-api"];
        assert.deepStrictEqual(prod.metadata, { ...dev.metadata, labels });
        for (const name of ["externalNetwork", "nodeCidr", "mtu", "nodeImage"]) {
            assert.deepStrictEqual(variable(prod, name), variable(dev, name), name);
        }
        // Shared infrastructure: the same objects; node-images reads each environment's overlay.
        const infra = (stack: string) =>
            envs
                .get(stack)!
                .units.filter((u) => u.kustomization.object.metadata.name !== "workload-clusters")
                .map((u) => ({
                    kustomization: { ...u.kustomization.object, spec: { ...u.kustomization.object.spec, path: undefined } },
                    documents: u.documents.map((d) => d.object),
                }));
        assert.deepStrictEqual(infra("prod"), infra("dev"));
        const nodeImagesPath = (stack: string) =>
            envs.get(stack)!.units.find((u) => u.kustomization.object.metadata.name === "node-images")!.kustomization.object.spec.path;
        assert.strictEqual(nodeImagesPath("dev"), "./infrastructure/node-images/dev");
        assert.strictEqual(nodeImagesPath("prod"), "./infrastructure/node-images/prod");
    });

    it("follows the workload namespace the program is configured with", () => {
        const env = readEnvironment(TREE, "./clusters/dev", fluxSettingsData({ workloadNamespace: "team-a", managementAddress: MANAGEMENT_ADDRESS }));
        for (const o of objects(env)) {
            assert.strictEqual(o.metadata.namespace, "team-a", `${o.kind} ${o.metadata.name}`);
        }
    });

    describe("etcd care", () => {
        const SCRIPT = "/usr/local/sbin/capi-mgmt-etcd-maintenance";
        const SERVICE = "/etc/systemd/system/capi-mgmt-etcd-maintenance.service";
        const SETTINGS_FILE = "/etc/default/capi-mgmt-etcd-maintenance";
        const devCluster = () => ofKind(envs.get("dev")!, "Cluster")[0];
        const devClass = () => classOf(devCluster(), objects(envs.get("dev")!));
        // The files Cluster API renders from the class's templates (timer, settings), their units
        // under systemd-analyze and the variables they follow: test/integration/classNodeFiles.integration.ts.

        it("adds the script and its service as literal files, with no Jinja delimiters (cloud-init renders the user data as a Jinja template)", () => {
            for (const p of [SCRIPT, SERVICE]) {
                const f = literalFile(devClass(), "etcd-maintenance", p);
                assert.strictEqual(f.owner, "root:root", p);
                assert.doesNotMatch(f.content, /\{\{|\{%|\{#/, p);
            }
            assert.strictEqual(literalFile(devClass(), "etcd-maintenance", SCRIPT).permissions, "0755");
            assert.match(literalFile(devClass(), "etcd-maintenance", SERVICE).content, new RegExp(`^ExecStart=${SCRIPT}$`, "m"));
            assert.match(literalFile(devClass(), "etcd-maintenance", SERVICE).content, new RegExp(`^EnvironmentFile=${SETTINGS_FILE}$`, "m"));
        });

        it("takes a time of day HH:MM and a retention of at least one snapshot (the schema)", () => {
            const schema = (name: string) => classVariables(devClass()).find((v) => v.name === name)!.schema.openAPIV3Schema;
            for (const [name, value] of [
                ["etcdMaintenanceTime", "24:00"],
                ["etcdMaintenanceTime", "2:30"],
                ["etcdSnapshotsKept", 0],
            ] as [string, unknown][]) {
                assert.notDeepStrictEqual(schemaProblems(value, schema(name), name), [], `${name} ${value}`);
            }
            assert.deepStrictEqual(schemaProblems("04:05", schema("etcdMaintenanceTime"), "t"), []);
            assert.deepStrictEqual(schemaProblems(14, schema("etcdSnapshotsKept"), "k"), []);
        });

        describe("the script", () => {
            /** Member IDs above 2^63, as etcd's are: shell arithmetic would break on them. */
            const LOCAL_ID = 17237436991929493444n;
            const PEER_A = 12146726434712346599n;
            const PEER_B = 9372538179322589801n;
            const status = (endpoint: string, member: bigint, leader: bigint) =>
                `{"Endpoint":"${endpoint}","Status":{"header":{"cluster_id":14841639068965178418,"member_id":${member},"revision":42,"raft_term":3},"version":"3.6.5","dbSize":2097152,"leader":${leader},"raftIndex":99,"raftTerm":3}}`;
            let dir: string;
            let script: string;
            beforeEach(() => {
                dir = makeTempDir("etcd-maintenance");
                fs.mkdirSync(path.join(dir, "bin"));
                fs.mkdirSync(path.join(dir, "data"));
                installFake(path.join(dir, "bin"), "crictl", "gitops/crictl.sh");
                script = literalFile(devClass(), "etcd-maintenance", SCRIPT).content;
            });
            const run = (opts: { leader: bigint; members: [string, bigint][]; health?: number; container?: string; kept?: string }) => {
                fs.writeFileSync(path.join(dir, "local.json"), `[${status("https://127.0.0.1:2379", LOCAL_ID, opts.leader)}]`);
                fs.writeFileSync(path.join(dir, "cluster.json"), `[${opts.members.map(([ep, id]) => status(ep, id, opts.leader)).join(",")}]`);
                fs.writeFileSync(path.join(dir, "log"), "");
                const r = runScript(script, {
                    PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
                    FAKE_DIR: dir,
                    FAKE_LOG: path.join(dir, "log"),
                    FAKE_CONTAINER: opts.container ?? "c0ffee",
                    FAKE_HEALTH_EXIT: String(opts.health ?? 0),
                    SNAPSHOT_DIR: path.join(dir, "backups"),
                    SNAPSHOTS_KEPT: opts.kept ?? "7",
                    ETCD_DATA_DIR: path.join(dir, "data"),
                });
                const calls = fs
                    .readFileSync(path.join(dir, "log"), "utf8")
                    .split("\n")
                    .filter((l) => l.startsWith("etcdctl "))
                    .map((l) => l.replace(/^etcdctl /, ""));
                return { ...r, calls };
            };
            const three: [string, bigint][] = [
                ["https://10.6.0.11:2379", PEER_A],
                ["https://10.6.0.10:2379", LOCAL_ID],
                ["https://10.6.0.12:2379", PEER_B],
            ];
            const snapshots = () => (fs.existsSync(path.join(dir, "backups")) ? fs.readdirSync(path.join(dir, "backups")).sort() : []);

            it("passes shellcheck", function () {
                if (!hasShellcheck()) {
                    skipTest(this, "shellcheck of the etcd maintenance script", "shellcheck");
                }
                const f = path.join(dir, "capi-mgmt-etcd-maintenance");
                fs.writeFileSync(f, script);
                shellcheck([f]);
            });

            it("on the leader's node: snapshots, then defragments the followers one by one, hands leadership over, and defragments its own member last", () => {
                const r = run({ leader: LOCAL_ID, members: three });
                assertSuccess(r);
                assert.deepStrictEqual(r.calls, [
                    `https://127.0.0.1:2379 snapshot save ${path.join(dir, "data/capi-mgmt-snapshot.db")}`,
                    "https://127.0.0.1:2379 endpoint status -w json",
                    "https://127.0.0.1:2379 endpoint health --cluster",
                    "https://127.0.0.1:2379 endpoint status --cluster -w json",
                    // Leadership is checked again right before each step (test/gitopsEtcdLeaderRace.spec.ts).
                    "https://127.0.0.1:2379 endpoint status -w json",
                    "https://10.6.0.11:2379 defrag",
                    "https://127.0.0.1:2379 endpoint status -w json",
                    "https://10.6.0.12:2379 defrag",
                    "https://127.0.0.1:2379 endpoint status -w json",
                    `https://127.0.0.1:2379 move-leader ${PEER_A.toString(16)}`,
                    "https://127.0.0.1:2379 endpoint status -w json",
                    "https://127.0.0.1:2379 defrag",
                ]);
                const [snap] = snapshots();
                assert.match(snap, /^etcd-\d{8}T\d{6}Z\.db\.gz$/);
                const file = path.join(dir, "backups", snap);
                assert.strictEqual(gunzipSync(fs.readFileSync(file)).toString(), "snapshot of https://127.0.0.1:2379\n");
                assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
                assert.strictEqual(fs.statSync(path.join(dir, "backups")).mode & 0o777, 0o700);
                assert.deepStrictEqual(fs.readdirSync(path.join(dir, "data")), [], "the snapshot was left in etcd's data directory");
            });

            it("on a follower's node: snapshots only", () => {
                const r = run({ leader: PEER_A, members: three });
                assertSuccess(r);
                assert.match(r.stdout, /this member follows/);
                assert.ok(!r.calls.some((c) => / (defrag|move-leader|endpoint health)/.test(c)), r.calls.join("\n"));
                assert.strictEqual(snapshots().length, 1);
            });

            it("alone: defragments its member without moving leadership", () => {
                const r = run({ leader: LOCAL_ID, members: [["https://10.6.0.10:2379", LOCAL_ID]] });
                assertSuccess(r);
                assert.deepStrictEqual(
                    r.calls.filter((c) => / (defrag|move-leader)/.test(c)),
                    ["https://127.0.0.1:2379 defrag"],
                );
            });

            it("with an unhealthy member: fails after the snapshot, defragmenting nothing", () => {
                const r = run({ leader: LOCAL_ID, members: three, health: 1 });
                assertFailure(r);
                assert.match(r.stderr, /unhealthy: no defragmentation \(the snapshot was taken\)/);
                assert.ok(!r.calls.some((c) => / (defrag|move-leader)/.test(c)));
                assert.strictEqual(snapshots().length, 1);
            });

            it("keeps the newest SNAPSHOTS_KEPT snapshots and nothing else of its own", () => {
                fs.mkdirSync(path.join(dir, "backups"));
                const old = Array.from({ length: 9 }, (_, i) => `etcd-2026010${i + 1}T023000Z.db.gz`);
                for (const f of [...old, "notes.txt"]) fs.writeFileSync(path.join(dir, "backups", f), "x");
                assertSuccess(run({ leader: PEER_A, members: three, kept: "3" }));
                const left = snapshots();
                assert.strictEqual(left.length, 4);
                assert.deepStrictEqual(left.slice(0, 2), ["etcd-20260108T023000Z.db.gz", "etcd-20260109T023000Z.db.gz"]);
                assert.match(left[2], /^etcd-\d{8}T\d{6}Z\.db\.gz$/);
                assert.strictEqual(left[3], "notes.txt");
            });

            it("does nothing where no etcd runs, and refuses a retention that is not a number", () => {
                const none = run({ leader: LOCAL_ID, members: three, container: "" });
                assertSuccess(none);
                assert.match(none.stdout, /no etcd container runs on this node/);
                assert.deepStrictEqual(none.calls, []);
                const bad = run({ leader: LOCAL_ID, members: three, kept: "seven" });
                assertFailure(bad);
                assert.match(bad.stderr, /SNAPSHOTS_KEPT must be a whole number, not 'seven'/);
            });
        });
    });

    describe("proxy and registry mirrors", () => {
        const ENDPOINT_SCRIPT = "/usr/local/sbin/capi-mgmt-proxy-api-endpoint";
        const clusterClass = () => ofKind(envs.get("dev")!, "ClusterClass")[0];
        const schema = (name: string) => classVariables(clusterClass()).find((d) => d.name === name)!.schema.openAPIV3Schema;
        // What the class's templates put on the nodes (the proxy's environment file, the mirror
        // script, run under bash; the user data's size at the schema's limits; a user or password
        // refused by the CEL rule), rendered by Cluster API's topology controller and judged by its
        // webhook: test/integration/classNodeFiles.integration.ts.

        each("sets no proxy or mirror variable on the example Clusters", (env) => {
            for (const cluster of ofKind(env, "Cluster")) {
                assert.strictEqual(variable(cluster, "proxy"), undefined);
                assert.strictEqual(variable(cluster, "registryMirrors"), undefined);
            }
        });

        it("refuses bad proxy settings by the schema (a path, another scheme, no proxy at all, a bad noProxy entry)", () => {
            const bad: unknown[] = [
                { http: "http://proxy.example.com:3128/path" },
                { http: "http://proxy.example.com:3128?x=1" },
                { http: "socks5://proxy.example.com:1080" },
                { http: "proxy.example.com:3128" },
                { noProxy: [".example.com"] },
                { http: "http://proxy.example.com:3128", noProxy: ["a b"] },
                { http: "http://proxy.example.com:3128", noProxy: ["http://x.example"] },
                { http: "http://proxy.example.com:3128", user: "me" },
                "http://proxy.example.com:3128",
            ];
            for (const value of bad) {
                assert.notDeepStrictEqual(schemaProblems(value, schema("proxy"), "proxy"), [], JSON.stringify(value));
            }
            for (const ok of [
                { http: "http://10.0.0.1:3128/" },
                { https: "https://[fd00::1]:3128" },
                { http: "http://proxy:8080", noProxy: ["localhost", ".a.example", "10.0.0.0/8", "fd00::/8", "192.0.2.1"] },
            ]) {
                assert.deepStrictEqual(schemaProblems(ok, schema("proxy"), "proxy"), [], JSON.stringify(ok));
            }
        });

        it("has one mirror patch for the whole list, of at most 8 registries", () => {
            const names = (clusterClass().spec.patches as { name: string }[]).map((p) => p.name).filter((n) => n.startsWith("registry-mirror"));
            assert.deepStrictEqual(names, ["registry-mirrors"]);
            assert.strictEqual(schema("registryMirrors").maxItems, 8);
            const all = Array.from({ length: 8 }, (_, i) => ({ registry: `r${i}.example:${5000 + i}`, endpoints: [`https://m${i}.example`] }));
            assert.deepStrictEqual(schemaProblems(all, schema("registryMirrors"), "registryMirrors"), []);
            assert.notDeepStrictEqual(
                schemaProblems([...all, { registry: "one.more", endpoints: ["https://m.example"] }], schema("registryMirrors"), "registryMirrors"),
                [],
            );
        });

        it("lets nothing that could leave the directory or the heredoc reach the mirror script (the schema)", () => {
            const odd = [
                { registry: "EOF", endpoints: ["https://EOF/EOF", "http://[fd00::1]:5000/a.b/_~-/..", "https://x-1.example/"] },
                { registry: "a-1.b-2.c:1", endpoints: ["https://m.example/v2/x"] },
            ];
            assert.deepStrictEqual(schemaProblems(odd, schema("registryMirrors"), "registryMirrors"), []);
            for (const registry of ["..", "a..b", ".docker.io", "docker.io.", "a/../b", "a'b", "a b", "docker.io\nEOF", "$(id)", "-x.example", "x-.example"]) {
                assert.notDeepStrictEqual(
                    schemaProblems([{ registry, endpoints: ["https://m.example"] }], schema("registryMirrors"), "registryMirrors"),
                    [],
                    JSON.stringify(registry),
                );
            }
            for (const endpoint of [
                "https://m.example/a'b",
                'https://m.example/a"b',
                "https://m.example/a b",
                "https://m.example/a\nEOF",
                "https://m.example/$(id)",
                "https://m.example/`id`",
                "https://m.example/a\\b",
            ]) {
                assert.notDeepStrictEqual(
                    schemaProblems([{ registry: "docker.io", endpoints: [endpoint] }], schema("registryMirrors"), "registryMirrors"),
                    [],
                    JSON.stringify(endpoint),
                );
            }
            assert.match(fs.readFileSync(path.join(TREE, "README.md"), "utf8"), /listed twice[^.]*later/);
        });

        it("refuses bad registry mirrors (the schema)", () => {
            const bad: unknown[] = [
                [],
                [{ registry: "docker.io", endpoints: [] }],
                [{ registry: "docker.io" }],
                [{ registry: "https://docker.io", endpoints: ["https://m.example"] }],
                [{ registry: "docker.io/library", endpoints: ["https://m.example"] }],
                [{ registry: "docker.io", endpoints: ["https://user:pw@m.example"] }],
                [{ registry: "docker.io", endpoints: ["https://m.example/?q=1"] }],
                [{ registry: "docker.io", endpoints: ["ftp://m.example"] }],
                [{ registry: "docker.io", endpoints: ["https://m.example"], auth: "x" }],
            ];
            for (const value of bad) {
                assert.notDeepStrictEqual(schemaProblems(value, schema("registryMirrors"), "registryMirrors"), [], JSON.stringify(value));
            }
        });

        it('puts no CEL rule at or under an array variable (Cluster API v1.14\'s webhook refuses the ClusterClass: "unable to convert structural schema to CEL declarations")', () => {
            const underArray = (schema: VariableSchema, inArray: boolean, at: string): string[] => [
                ...(inArray && schema["x-kubernetes-validations"] !== undefined ? [at] : []),
                ...(schema.items ? underArray(schema.items, true, `${at}.items`) : []),
                ...Object.entries(schema.properties ?? {}).flatMap(([k, v]) => underArray(v, inArray, `${at}.${k}`)),
            ];
            const found = classVariables(clusterClass()).flatMap((d) =>
                underArray(d.schema.openAPIV3Schema, d.schema.openAPIV3Schema.type === "array", d.name),
            );
            assert.deepStrictEqual(found, []);
            // The proxy's rules sit on strings of an object, which the webhook accepts.
            assert.ok(classVariables(clusterClass()).find((d) => d.name === "proxy")!.schema.openAPIV3Schema.properties!.http["x-kubernetes-validations"]);
        });

        describe("the API endpoint script", () => {
            let dir: string;
            let script: string;
            beforeEach(() => {
                dir = makeTempDir("proxy-endpoint");
                fs.mkdirSync(path.join(dir, "kubeadm"));
                // The script is a literal of the class's proxy patch; the environment file it reads is
                // rendered from a template (its real content: classNodeFiles.integration.ts).
                script = literalFile(clusterClass(), "proxy", ENDPOINT_SCRIPT).content;
                fs.writeFileSync(
                    path.join(dir, "proxy.env"),
                    "HTTP_PROXY=http://proxy.example.com:3128\nNO_PROXY=localhost,127.0.0.1,.svc,10.6.0.0/24\nno_proxy=localhost,127.0.0.1,.svc,10.6.0.0/24\n",
                );
            });
            const run = () =>
                runScript(script, {
                    PATH: process.env.PATH ?? "/usr/bin:/bin",
                    PROXY_ENV: path.join(dir, "proxy.env"),
                    KUBELET_ENV: path.join(dir, "kubelet.env"),
                    KUBEADM_DIR: path.join(dir, "kubeadm"),
                });
            const kubeletEnv = () => envFileOf(fs.readFileSync(path.join(dir, "kubelet.env"), "utf8"));
            const base = () => envFileOf(fs.readFileSync(path.join(dir, "proxy.env"), "utf8")).NO_PROXY;

            it("passes shellcheck", function () {
                if (!hasShellcheck()) {
                    skipTest(this, "shellcheck of the proxy endpoint script", "shellcheck");
                }
                const f = path.join(dir, "capi-mgmt-proxy-api-endpoint");
                fs.writeFileSync(f, script);
                shellcheck([f]);
            });

            it("adds the control plane endpoint of kubeadm init's configuration to kubelet's NO_PROXY", () => {
                fs.writeFileSync(
                    path.join(dir, "kubeadm/kubeadm.yaml"),
                    "---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncontrolPlaneEndpoint: 203.0.113.7:6443\nnetworking:\n  podSubnet: 192.168.0.0/16\n---\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 10.6.0.10\n",
                );
                const r = run();
                assertSuccess(r);
                assert.deepStrictEqual(kubeletEnv(), { NO_PROXY: `${base()},203.0.113.7`, no_proxy: `${base()},203.0.113.7` });
                assert.strictEqual(fs.statSync(path.join(dir, "kubelet.env")).mode & 0o777, 0o644);
                // Again (cloud-init re-running it) changes nothing.
                assertSuccess(run());
                assert.strictEqual(kubeletEnv().NO_PROXY, `${base()},203.0.113.7`);
            });

            it("reads kubeadm join's discovery endpoint, and IPv6 in brackets", () => {
                fs.writeFileSync(
                    path.join(dir, "kubeadm/kubeadm-join-config.yaml"),
                    "---\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: '[2001:db8::7]:6443'\n    token: abc\n",
                );
                assertSuccess(run());
                assert.strictEqual(kubeletEnv().NO_PROXY, `${base()},2001:db8::7`);
            });

            it("fails, writing nothing, when kubeadm's configuration names no endpoint", () => {
                fs.writeFileSync(path.join(dir, "kubeadm/kubeadm-join-config.yaml"), "kind: JoinConfiguration\n");
                const r = run();
                assertFailure(r);
                assert.match(r.stderr, /no controlPlaneEndpoint or apiServerEndpoint/);
                assert.ok(!fs.existsSync(path.join(dir, "kubelet.env")));
            });
        });
    });

    it('maps SCS\'s settings in gitops/README.md, "SCS users": every catalog label, the placement, etcd, proxy and mirror variables, and the program-side items', () => {
        const readme = fs.readFileSync(path.join(TREE, "README.md"), "utf8");
        const section = readme.split(/^## /m).find((s) => s.startsWith("SCS users"));
        assert.ok(section, 'gitops/README.md has no section "SCS users"');
        const catalog = readmeCatalog(readme);
        assert.ok(catalog.length > 0);
        for (const a of catalog) {
            assert.ok(section.includes(`\`${a.label}`), `${a.label} is not mapped`);
        }
        for (const v of [
            "controlPlaneServerGroup",
            "workerServerGroup",
            "controlPlaneAvailabilityZones",
            "etcdMaintenance",
            "etcdSnapshotsKept",
            "etcdMaintenanceTime",
            "proxy",
            "registryMirrors",
        ]) {
            assert.ok(
                classVariables(ofKind(envs.get("dev")!, "ClusterClass")[0]).some((d) => d.name === v),
                `the ClusterClass has no variable ${v}`,
            );
            assert.ok(section.includes(`\`${v}\``), `variable ${v} is not mapped`);
        }
        for (const scs of ["http_proxy", "containerd_registry_files", "make check"]) {
            assert.match(section, new RegExp(`\`${scs}[^|]*\\|[^|]*\\*\\*see README\\*\\*`), `${scs} does not point at the README`);
        }
    });

    describe("node image upload (opt-in)", () => {
        let dir: string;
        const digest = createHash("sha256").update("a node image the operator downloaded and checked").digest("hex");
        const upload = (over: { name?: string; url?: string; hash?: unknown }) => ({
            apiVersion: "openstack.k-orc.cloud/v1alpha1",
            kind: "Image",
            metadata: { name: over.name ?? `ubuntu-2404-kube-v1.35.8-${digest.slice(0, 12)}`, labels: { [VERSION_LABEL]: "v1.35.8", [MOVE_LABEL]: "" } },
            spec: {
                cloudCredentialsRef: { secretName: ORC_CREDENTIALS_SECRET, cloudName: CLOUD_NAME },
                managementPolicy: "managed",
                resource: {
                    name: over.name ?? `ubuntu-2404-kube-v1.35.8-${digest.slice(0, 12)}`,
                    visibility: "private",
                    content: {
                        diskFormat: "qcow2",
                        download: {
                            url: over.url ?? "https://images.example.org/ubuntu-2404-kube-v1.35.8.qcow2",
                            ...(over.hash === undefined ? {} : { hash: over.hash }),
                        },
                    },
                },
            },
        });
        /**
         * The managed Images of dev's node images in a copy of the tree, with `image` uploaded
         * by dev's overlay: through the whole environment (`full`), or just that directory.
         */
        const devWith = (image: unknown, full = false): TreeObject[] => {
            fs.writeFileSync(path.join(dir, "infrastructure/node-images/dev/upload.yaml"), stringify(image));
            const k = path.join(dir, "infrastructure/node-images/dev/kustomization.yaml");
            const kustomization = parse(fs.readFileSync(k, "utf8"));
            kustomization.resources = [...new Set([...kustomization.resources, "upload.yaml"])];
            fs.writeFileSync(k, stringify(kustomization));
            const documents = full
                ? readEnvironment(dir, "./clusters/dev", SETTINGS).units.find((u) => u.kustomization.object.metadata.name === "node-images")!.documents
                : kustomizeBuild(dir, "infrastructure/node-images/dev", DEFAULT_WORKLOAD_NAMESPACE);
            return documents.map((d) => d.object).filter((o) => o.spec.managementPolicy === "managed");
        };
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-upload-"));
            fs.cpSync(TREE, dir, { recursive: true });
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("accepts an https URL with the operator's SHA-256, the digest in the name", () => {
            const [image] = devWith(upload({ hash: { algorithm: "sha256", value: digest } }), true);
            assert.strictEqual(image.metadata.namespace, DEFAULT_WORKLOAD_NAMESPACE);
            assert.deepStrictEqual(imageProblems(image), []);
        });

        it("refuses a missing, all-zero or malformed digest, a plain-http URL, and a name without the digest", () => {
            const refused: [string, Parameters<typeof upload>[0], RegExp][] = [
                ["no digest", {}, /needs the operator's SHA-256/],
                ["all zeros", { hash: { algorithm: "sha256", value: "0".repeat(64) }, name: "ubuntu-2404-kube-v1.35.8-000000000000" }, /all zeros/],
                ["63 digits", { hash: { algorithm: "sha256", value: digest.slice(1) } }, /not 64 lowercase hex/],
                ["upper case", { hash: { algorithm: "sha256", value: digest.toUpperCase() } }, /not 64 lowercase hex/],
                ["md5", { hash: { algorithm: "md5", value: digest.slice(0, 32) } }, /needs the operator's SHA-256/],
                ["http", { hash: { algorithm: "sha256", value: digest }, url: "http://images.example.org/x-v1.35.8.qcow2" }, /https URL/],
                ["name without digest", { hash: { algorithm: "sha256", value: digest }, name: "ubuntu-2404-kube-v1.35.8" }, /first 12 digits/],
                [
                    "name without version",
                    { hash: { algorithm: "sha256", value: digest }, name: `ubuntu-2404-kube-${digest.slice(0, 12)}` },
                    /does not carry its version/,
                ],
            ];
            for (const [title, over, expected] of refused) {
                const [image] = devWith(upload(over));
                assert.match(imageProblems(image).join("\n"), expected, title);
            }
        });

        it("refuses an import without a Glance name, or whose name lacks the version, and images without the move label", () => {
            const env = envs.get("dev")!;
            const imported = ofKind(env, "Image")[0];
            const noName = structuredClone(imported);
            noName.spec.import = { filter: { visibility: "public" } };
            assert.match(imageProblems(noName).join("\n"), /needs spec.import.filter.name/);
            const oldName = structuredClone(imported);
            oldName.spec.import.filter.name = "ubuntu-capi-image v1.34.2";
            assert.match(imageProblems(oldName).join("\n"), /does not carry v1.35.8/);
            const unlabelled = structuredClone(imported);
            delete unlabelled.metadata.labels![MOVE_LABEL];
            assert.match(imageProblems(unlabelled).join("\n"), /clusterctl move would leave it behind/);
        });
    });

    describe("create-only variables", () => {
        let env: Environment;
        let cluster: TreeObject;
        let clusterClass: TreeObject;
        before(() => {
            env = envs.get("dev")!;
            cluster = ofKind(env, "Cluster")[0];
            clusterClass = classOf(cluster, objects(env));
        });
        const ruled = () =>
            classVariables(clusterClass)
                .filter((v) =>
                    (v.schema.openAPIV3Schema["x-kubernetes-validations"] ?? []).some(
                        (r) => r.rule === CREATE_ONLY_RULE || r.rule.startsWith(`${CREATE_ONLY_RULE} || `),
                    ),
                )
                .map((v) => v.name)
                .sort();

        it("carry the rule on every variable that feeds an OpenStackCluster field CAPO's webhook refuses to change", () => {
            const feeding = new Set<string>();
            for (const patch of clusterClass.spec.patches as {
                definitions: {
                    selector: { matchResources: { infrastructureCluster?: boolean } };
                    jsonPatches: { path: string; valueFrom?: { variable?: string } }[];
                }[];
            }[]) {
                for (const def of patch.definitions.filter((d) => d.selector.matchResources.infrastructureCluster)) {
                    for (const p of def.jsonPatches) {
                        const field = p.path.replace(/^\/spec\/template\/spec/, "");
                        const mutable = CAPO_MUTABLE_CLUSTER_PATHS.some((m) => field === m || field.startsWith(`${m}/`));
                        if (!mutable && p.valueFrom?.variable) {
                            // A field of an object variable (apiLoadBalancer.provider): the rule is on the variable.
                            feeding.add(p.valueFrom.variable.split(".")[0]);
                        }
                    }
                }
            }
            assert.deepStrictEqual([...feeding].sort(), ["apiLoadBalancer", "externalNetwork", "mtu", "nodeCidr"]);
            assert.deepStrictEqual(ruled(), [...feeding].sort());
        });

        it("are listed in gitops/README.md, with nothing else", () => {
            assert.deepStrictEqual(readmeVariables(fs.readFileSync(path.join(TREE, "README.md"), "utf8"), "Create-only variables"), ruled());
        });

        // Cluster API's webhook evaluating the rules on a change: classInfrastructure.integration.ts.
        it("carry no other transition rule than create-only (apiLoadBalancer: but for a change to cloud-default)", () => {
            const rules = classVariables(clusterClass).flatMap((v) =>
                (v.schema.openAPIV3Schema["x-kubernetes-validations"] ?? []).filter((r) => /\boldSelf\b/.test(r.rule)).map((r) => `${v.name}: ${r.rule}`),
            );
            assert.deepStrictEqual(rules.sort(), [
                `apiLoadBalancer: ${CREATE_ONLY_RULE} || self.provider == 'cloud-default'`,
                `externalNetwork: ${CREATE_ONLY_RULE}`,
                `mtu: ${CREATE_ONLY_RULE}`,
                `nodeCidr: ${CREATE_ONLY_RULE}`,
            ]);
        });

        it("keeps mtu 0 (the cloud's) or 1280 to 9000", () => {
            const schema = classVariables(clusterClass).find((v) => v.name === "mtu")!.schema.openAPIV3Schema;
            for (const ok of [0, 1280, 1450, 9000]) {
                assert.deepStrictEqual(schemaProblems(ok, schema, "mtu"), [], String(ok));
            }
            for (const bad of [1, 1279, 9001, -1, 1500.5]) {
                assert.notDeepStrictEqual(schemaProblems(bad, schema, "mtu"), [], String(bad));
            }
        });
    });

    describe("remediation", () => {
        let clusterClass: TreeObject;
        before(() => {
            const env = envs.get("prod")!;
            clusterClass = classOf(ofKind(env, "Cluster")[0], objects(env));
        });

        it("computes the limit as Cluster API v1.14 does (40% of one worker is none)", () => {
            assert.strictEqual(remediationAllowed({ unhealthyLessThanOrEqualTo: "40%" }, 1, 1), false);
            assert.strictEqual(remediationAllowed({ unhealthyLessThanOrEqualTo: "40%" }, 3, 1), true);
            assert.strictEqual(remediationAllowed({ unhealthyLessThanOrEqualTo: "40%" }, 10, 4), true);
            assert.strictEqual(remediationAllowed({ unhealthyLessThanOrEqualTo: "40%" }, 10, 5), false);
            assert.strictEqual(remediationAllowed(undefined, 1, 1), true);
            assert.strictEqual(remediationAllowed({ unhealthyInRange: "[1-2]" }, 10, 3), false);
        });

        it("replaces a failed worker in pools of 1, 2, 3 and 10, one at a time, and stops when many fail at once", () => {
            const remediation = clusterClass.spec.workers.machineDeployments.find((c: { class: string }) => c.class === "default-worker").healthCheck
                .remediation;
            assert.strictEqual(remediation.maxInFlight, 1);
            for (const workers of [1, 2, 3, 10]) {
                assert.ok(remediationAllowed(remediation.triggerIf, workers, 1), `${workers} workers, one unhealthy: not replaced`);
            }
            // A rollout's new machine (still starting) and a failed one: still replaced.
            assert.ok(remediationAllowed(remediation.triggerIf, 10, 2));
            assert.ok(!remediationAllowed(remediation.triggerIf, 3, 3), "3 of 3 workers unhealthy: the cloud, not the nodes");
            assert.ok(!remediationAllowed(remediation.triggerIf, 10, 5), "half the pool unhealthy: the cloud, not the nodes");
        });

        // KubeadmControlPlane then decides: one machine at a time, never losing etcd quorum, and
        // not at all for a single initialized control plane machine (remediation.go, v1.14).
        it("sets no health-check limit on the control plane, leaving remediation to KubeadmControlPlane", () => {
            const triggerIf = clusterClass.spec.controlPlane.healthCheck.remediation?.triggerIf;
            for (const replicas of [1, 3]) {
                assert.ok(remediationAllowed(triggerIf, replicas, 1), `${replicas} control plane machines`);
            }
        });
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

        it("builds with kubectl kustomize: resources in order, JSON patches with test, targetNamespace", () => {
            write("base/kustomization.yaml", "resources: [one.yaml, two.yaml]\n");
            write("base/one.yaml", cm("one"));
            write("base/two.yaml", cm("two"));
            write(
                "overlay/kustomization.yaml",
                'resources: [../base]\npatches:\n  - target: {kind: ConfigMap, name: two}\n    patch: |-\n      - op: test\n        path: /data/a\n        value: "1"\n      - op: replace\n        path: /data/a\n        value: "2"\n',
            );
            assert.deepStrictEqual(
                kustomizeBuild(dir, "overlay").map((d) => [d.object.metadata.name, d.object.data.a, d.object.metadata.namespace]),
                [
                    ["one", "1", undefined],
                    ["two", "2", undefined],
                ],
            );
            write("ns/kustomization.yaml", "resources: [cm.yaml, namespace.yaml]\n");
            write("ns/cm.yaml", cm("x", "---\n" + cm("y").replace("name: y", "name: y\n  namespace: elsewhere")));
            write("ns/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: keep\n");
            assert.deepStrictEqual(
                kustomizeBuild(dir, "ns", "team-a").map((d) => `${d.object.kind}/${d.object.metadata.name} ${d.object.metadata.namespace}`),
                // kustomize's namespace transformer (and so Flux's targetNamespace) renames a Namespace.
                ["Namespace/team-a undefined", "ConfigMap/x team-a", "ConfigMap/y team-a"],
            );
        });

        it("refuses what it cannot build faithfully, naming the directory", () => {
            write("plain/x.yaml", cm("x"));
            assert.throws(() => kustomizeBuild(dir, "plain"), /plain: no kustomization.yaml/);
            write("m/kustomization.yaml", "resources: [missing.yaml]\n");
            assert.throws(
                () => kustomizeBuild(dir, "m"),
                (e: Error) => e instanceof TreeError && /^m: kubectl kustomize failed: .*missing.yaml/s.test(e.message),
            );
            write(
                "t/kustomization.yaml",
                'resources: [a.yaml]\npatches:\n  - target: {kind: ConfigMap, name: a}\n    patch: |-\n      - {op: test, path: /data/a, value: "9"}\n',
            );
            write("t/a.yaml", cm("a"));
            assert.throws(() => kustomizeBuild(dir, "t"), /^TreeError: t: kubectl kustomize failed: .*test/s);
            assert.throws(() => kustomizeBuild(dir, "nowhere"), /nowhere: no such directory/);
        });

        it("substitutes like Flux's postBuild, and refuses a variable with no value", () => {
            const doc = {
                file: "f.yaml",
                object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "${A}", b: "${B:=dflt}", c: "$${A}" } },
            };
            assert.deepStrictEqual(substitute(doc, { A: "x" }).object.data, { a: "x", b: "dflt", c: "${A}" });
            assert.throws(() => substitute(doc, {}), /f.yaml: \$\{A\} has no value/);
        });

        it("checks variable values against their schemas, refusing unknown fields", () => {
            const schema = { type: "object" as const, properties: { id: { type: "string" as const, minLength: 1 } }, minProperties: 1 };
            assert.deepStrictEqual(schemaProblems({ id: "abc" }, schema, "v"), []);
            assert.deepStrictEqual(schemaProblems({}, schema, "v"), ["v: must NOT have fewer than 1 properties"]);
            assert.deepStrictEqual(schemaProblems({ name: "x" }, schema, "v"), ["v: unknown field name"]);
            assert.deepStrictEqual(schemaProblems({ name: "x" }, { ...schema, "x-kubernetes-preserve-unknown-fields": true }, "v"), []);
            assert.deepStrictEqual(schemaProblems(["10.0.0.0/8", "x"], { type: "array", items: { type: "string", pattern: "/" } }, "v"), [
                'v.1: must match pattern "/"',
            ]);
            assert.deepStrictEqual(schemaProblems(1500.5, { type: "integer" }, "v"), ["v: must be integer"]);
        });

        it("refuses a Cluster whose variables the class does not accept", () => {
            const env = envs.get("dev")!;
            const cluster = structuredClone(ofKind(env, "Cluster")[0]);
            cluster.spec.topology.variables = cluster.spec.topology.variables
                .filter((v: { name: string }) => v.name !== "workerFlavor")
                .concat([
                    { name: "mtu", value: 100 },
                    { name: "flavour", value: "x" },
                ]);
            const problems: string[] = [];
            clusterVariables(cluster, classOf(cluster, objects(env)), problems);
            assert.match(problems.join("\n"), /variable flavour is not declared/);
            assert.match(problems.join("\n"), /required variable workerFlavor is not set/);
            assert.match(problems.join("\n"), /variable mtu: must be >= 1280/);
            cluster.spec.topology.classRef.name = "nope";
            assert.throws(() => classOf(cluster, objects(env)), /ClusterClass clusters\/nope is not in the environment/);
        });
    });
});
