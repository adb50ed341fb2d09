import "mocha";
import { USER_DATA_MAX_BYTES } from "../lib/cloudInit";
import * as assert from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gunzipSync } from "zlib";
import * as ipaddr from "ipaddr.js";
import * as semver from "semver";
import { parse, parseAllDocuments, stringify } from "yaml";
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
    classOf,
    classVariables,
    CREATE_ONLY_RULE,
    Environment,
    executeGoTemplate,
    isFluxKustomization,
    kustomizeBuild,
    readEnvironment,
    renderPatchTemplate,
    resolveTopology,
    schemaProblems,
    substitute,
    transitionProblems,
    TreeError,
    TreeObject,
    VariableSchema,
} from "../render/gitopsTree";
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
import { assertFailure, assertSuccess, hasShellcheck, installFake, makeTempDir, runScript, shellcheck, skipTest } from "./fakes/shell";
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
function remediationAllowed(triggerIf: { unhealthyLessThanOrEqualTo?: number | string; unhealthyInRange?: string } | undefined, expected: number, unhealthy: number): boolean {
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
    return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesOf(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]));
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

    each("gives each Cluster the management server's address in its API allow-list, and networks that parse and do not overlap", (env) => {
        for (const cluster of ofKind(env, "Cluster")) {
            const topology = resolveTopology(cluster, objects(env));
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
            assert.deepStrictEqual(machine("machineDeployment:default-worker").spec.template.spec.rootVolume, topology.variables.rootVolume, "workers' root volume");
            // The control plane boots from rootVolume only on a flavor without a local SSD (test/gitopsEtcdDisk.spec.ts).
            const localSsd = /-\d+[sp](_.*)?$/.test(String(topology.variables.controlPlaneFlavor));
            assert.deepStrictEqual(machine("controlPlane").spec.template.spec.rootVolume, localSsd ? undefined : topology.variables.rootVolume, "control plane's root volume");
            const infra = topology.templates.find((t) => t.role === "infrastructureCluster")!.object.spec.template.spec;
            assert.deepStrictEqual(infra.externalNetwork, topology.variables.externalNetwork);
            assert.deepStrictEqual(infra.apiServerLoadBalancer.allowedCIDRs, topology.variables.apiAllowedCidrs);
            assert.deepStrictEqual(infra.managedSubnets, [{ cidr: topology.variables.nodeCidr, dnsNameservers: topology.variables.dnsNameservers }]);
            assert.strictEqual(infra.networkMTU, topology.variables.mtu === 0 ? undefined : topology.variables.mtu, "networkMTU");
            for (const t of topology.templates) {
                assert.doesNotMatch(JSON.stringify(t.object), /replaced-by-the/, `${t.object.kind} ${t.object.metadata.name} keeps a placeholder`);
            }
        }
    });

    each("uses SCS standard flavors, with a root volume where the flavor has no disk", (env) => {
        for (const cluster of ofKind(env, "Cluster")) {
            const topology = resolveTopology(cluster, objects(env));
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
            const machines = resolveTopology(cluster, objects(env)).templates.filter((t) => t.object.kind === "OpenStackMachineTemplate");
            const groups = machines.map((t) => t.object.spec.template.spec.serverGroup.filter.name);
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
        assert.match(placementProblems([...others, withVariable(cluster, "workerServerGroup", undefined)]).join("\n"), /default-worker joins no server group .*workerServerGroup/);
        assert.match(placementProblems([...others, withVariable(cluster, "controlPlaneServerGroup", "workload-2-control-plane")]).join("\n"), /which no ORC ServerGroup of the tree creates/);
        const orphan = structuredClone(all.find((o) => o.kind === "ServerGroup")!);
        orphan.metadata.name = "old-group";
        assert.match(placementProblems([...all, orphan]).join("\n"), /ServerGroup old-group serves no Cluster/);
        const twin = structuredClone(orphan);
        twin.spec.resource.name = "workload-1-workers";
        assert.match(placementProblems([...all, twin]).join("\n"), /two ServerGroups create Nova server group clusters\/workload-1-workers/);
    });

    each("spreads the control plane over the availability zones a Cluster names, and leaves them to CAPO otherwise", (env) => {
        const cluster = ofKind(env, "Cluster")[0];
        const infra = (c: TreeObject) => resolveTopology(c, objects(env)).templates.find((t) => t.role === "infrastructureCluster")!.object.spec.template.spec;
        assert.strictEqual(infra(cluster).controlPlaneAvailabilityZones, undefined);
        assert.deepStrictEqual(infra(withVariable(cluster, "controlPlaneAvailabilityZones", ["az1", "az2", "az3"])).controlPlaneAvailabilityZones, ["az1", "az2", "az3"]);
        const clusterClass = classOf(cluster, objects(env));
        // Not create-only: CAPO's webhook lets the zones change.
        assert.deepStrictEqual(transitionProblems(withVariable(cluster, "controlPlaneAvailabilityZones", ["az1"]), withVariable(cluster, "controlPlaneAvailabilityZones", ["az1", "az2"]), clusterClass), []);
        assert.throws(() => resolveTopology(withVariable(cluster, "controlPlaneAvailabilityZones", []), objects(env)), /controlPlaneAvailabilityZones: must NOT have fewer than 1 items/);
    });


    it("refuses a Cluster whose image is not in the tree, or is of another Kubernetes version", () => {
        const all = objects(envs.get("dev")!);
        const cluster = all.find((o) => o.kind === "Cluster")!;
        const others = all.filter((o) => o !== cluster);
        const missing = withVariable(cluster, "nodeImage", "ubuntu-capi-image-v1.36.2");
        assert.match(imageReferenceProblems([...others, missing]).join("\n"), /uses ORC Image ubuntu-capi-image-v1.36.2, which the tree does not define/);
        const newer = structuredClone(cluster);
        newer.spec.topology.version = "v1.36.2";
        assert.match(imageReferenceProblems([...others, newer]).join("\n"), /Image ubuntu-capi-image-v1.35.8 holds Kubernetes v1.35.8, not the Cluster's v1.36.2/);
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
            [...envs.values()].flatMap((env) => ofKind(env, "Image").filter((i) => i.spec.managementPolicy !== "unmanaged" && imageProblems(i).length === 0).map((i) => i.spec.resource.content.download.hash.value as string)),
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
                assert.deepStrictEqual(list.find((a) => a.name === "cloud-provider"), { name: "cloud-provider", value: "external" }, t.metadata.name);
            }
        }
    });

    each("labels every Cluster for the program's cloud config, and the add-ons every cluster needs select every Cluster", (env) => {
        const crs = cloudConfigResourceSet(DEFAULT_WORKLOAD_NAMESPACE) as unknown as { metadata: { namespace: string }; spec: { clusterSelector: { matchLabels: Record<string, string> } } };
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
                assert.ok(selects(p.spec.clusterSelector, cluster) && p.metadata.namespace === cluster.metadata.namespace, `${p.metadata.name} misses ${cluster.metadata.name}`);
            }
        }
    });

    describe("add-on catalog", () => {
        const readmeAll = () => readmeCatalog(fs.readFileSync(path.join(TREE, "README.md"), "utf8"));
        /** The add-ons CAAPH installs (HelmChartProxies, selecting Clusters by label). */
        const readme = () => readmeAll().filter((a) => !FLUX_ADDONS.includes(a.name));
        /** The catalog's add-ons: HelmChartProxies, and ClusterResourceSets for plain manifests. */
        const catalog = (env: Environment) => [...ofKind(env, "HelmChartProxy").filter((p) => !BASE_ADDONS.includes(p.metadata.name)), ...ofKind(env, "ClusterResourceSet")];
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
            assert.deepStrictEqual(catalog(env).map((p) => p.metadata.name).sort(), listed.map((a) => a.name).sort());
            assert.deepStrictEqual(readmeAll().map((a) => a.name).sort(), CATALOG);
            for (const a of listed) {
                const p = catalog(env).find((x) => x.metadata.name === a.name)!;
                assert.strictEqual(versionOf(env, p), a.version, `${a.name}: the README says ${a.version}`);
                assert.deepStrictEqual(selectorKeys(p.spec.clusterSelector), [a.label], `${a.name} selects by other labels than its own`);
                assert.strictEqual(a.label, `capi-mgmt.io/addon-${a.name}`, a.name);
                for (const v of a.values) {
                    assert.ok(selects(p.spec.clusterSelector, labelled(ofKind(env, "Cluster")[0], { [a.label]: v })), `${a.name}: ${a.label}=${v} is not selected`);
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
                assert.deepStrictEqual(on, stack === "dev" ? ["gateway-api", "ingress-nginx", "metrics-server"] : ["ingress-nginx", "metrics-server"], `Cluster ${c.metadata.name}`);
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
                assert.ok(!selects(catalog(env).find((p) => p.metadata.name === a.name)!.spec.clusterSelector, labelled(base, { [a.label]: "disabled" })), `${a.name}: ${a.label}=disabled is selected`);
            }
            assert.deepStrictEqual(catalog(env).filter((p) => selects(p.spec.clusterSelector, labelled(base, {}))), []);
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
            assert.deepStrictEqual(ovn.service.annotations, { "loadbalancer.openstack.org/lb-method": "SOURCE_IP_PORT", "loadbalancer.openstack.org/enable-health-monitor": "true" });
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

        each("applies the Gateway API CRDs, from the pinned upstream release, to exactly the Clusters that carry its label, and keeps them on removal", (env) => {
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
                assert.ok(source && k.spec.sourceRef.kind === "GitRepository", `${what}: source ${JSON.stringify(k.spec.sourceRef)} is not in the environment`);
                assert.strictEqual(source.spec.url, "https://github.com/kubernetes-sigs/gateway-api", what);
                assert.deepStrictEqual(Object.keys(source.spec.ref), ["tag"], `${what}: not pinned to a release tag`);
                assert.strictEqual(source.spec.ref.tag, a.version, "the README's version is the source's tag");
                assert.ok(semver.valid(source.spec.ref.tag) !== null && /^v\d+\.\d+\.\d+$/.test(source.spec.ref.tag), source.spec.ref.tag);
            }
            // The source only where a Cluster opts in; and no HelmChartProxy selects by the label.
            assert.strictEqual(sources.some((s) => s.metadata.name === "gateway-api"), optedIn.length > 0);
            for (const p of ofKind(env, "HelmChartProxy")) {
                assert.ok(!selectorKeys(p.spec.clusterSelector).includes(a.label), p.metadata.name);
            }
        });

        it("keeps only Gateway API's CRD directory of the upstream repository, and no copy of it in the tree", () => {
            const source = ofKind(envs.get("dev")!, "GitRepository").find((s) => s.metadata.name === "gateway-api")!;
            const rules = String(source.spec.ignore).trim().split("\n").map((l) => l.trim());
            assert.deepStrictEqual(rules, ["/*", "!/config/", "/config/*", "!/config/crd/"]);
            for (const f of filesOf(TREE)) {
                assert.doesNotMatch(fs.readFileSync(path.join(TREE, f), "utf8"), /gateway\.networking\.k8s\.io\/bundle-version/, `${f} carries upstream Gateway API objects`);
            }
        });

        each("installs cert-manager with CRDs it keeps", (env) => {
            const cm = valuesOf(catalog(env).find((x) => x.metadata.name === "cert-manager")!);
            assert.deepStrictEqual(cm.crds, { enabled: true, keep: true });
        });
    });

    each("pins every chart, follows the Clusters' Kubernetes minor with the cloud provider's charts, and points them at the distributed cloud-config Secret", (env) => {
        for (const p of ofKind(env, "HelmChartProxy")) {
            // One exact version (some charts, like cert-manager's, spell it with a "v").
            assert.ok(semver.valid(p.spec.version) !== null && /^v?\d+\.\d+\.\d+$/.test(p.spec.version), `${p.metadata.name}: ${p.spec.version} is not a pinned chart version`);
            assert.match(p.spec.repoURL, /^(https|oci):\/\//, p.metadata.name);
            assert.strictEqual(p.spec.reconcileStrategy, undefined, `${p.metadata.name}: upgrades and uninstalls follow Git only with the default (Continuous)`);
        }
        for (const name of ["openstack-cloud-controller-manager", "openstack-cinder-csi"]) {
            const p = ofKind(env, "HelmChartProxy").find((x) => x.spec.chartName === name)!;
            assert.strictEqual(p.spec.namespace, WORKLOAD_CLOUD_CONFIG_SECRET.namespace, name);
            // OCCM writes its own (credential-free) cloud.conf and mounts the distributed Secret beside it: test/gitopsLoadBalancers.spec.ts.
            const mounted = name === "openstack-cinder-csi" ? (valuesOf(p).secret as Record<string, unknown>).name : (valuesOf(p).extraVolumes as { secret?: { secretName: string } }[]).find((v) => v.secret)?.secret?.secretName;
            assert.deepStrictEqual(mounted, WORKLOAD_CLOUD_CONFIG_SECRET.name, name);
            assert.strictEqual((valuesOf(p).secret as Record<string, unknown>).create, name !== "openstack-cinder-csi", `${name}: who writes its cloud config`);
            // cloud-provider-openstack's chart 2.<minor>.x is built for Kubernetes 1.<minor>.
            for (const cluster of ofKind(env, "Cluster")) {
                assert.strictEqual(semver.minor(p.spec.version), semver.minor(cluster.spec.topology.version), `${name} ${p.spec.version} for Cluster ${cluster.metadata.name} at ${cluster.spec.topology.version}`);
            }
        }
        // The default StorageClass (written out in storageClass.custom: test/gitopsVolumeZone.spec.ts).
        const csiProxy = ofKind(env, "HelmChartProxy").find((x) => x.spec.chartName === "openstack-cinder-csi")!;
        const csi = parse(executeGoTemplate(String(csiProxy.spec.valuesTemplate), { Cluster: { ...ofKind(env, "Cluster")[0], metadata: { ...ofKind(env, "Cluster")[0].metadata, uid: "uid-1" } } }, "openstack-cinder-csi")) as { storageClass: { custom: string } };
        const classes = parseAllDocuments(csi.storageClass.custom).map((d) => d.toJS());
        assert.deepStrictEqual(classes.filter((c) => c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true").map((c) => [c.metadata.name, c.reclaimPolicy, c.allowVolumeExpansion]), [["csi-cinder-sc-delete", "Delete", true]]);
    });

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
                .map((u) => ({ kustomization: { ...u.kustomization.object, spec: { ...u.kustomization.object.spec, path: undefined } }, documents: u.documents.map((d) => d.object) }));
        assert.deepStrictEqual(infra("prod"), infra("dev"));
        const nodeImagesPath = (stack: string) => envs.get(stack)!.units.find((u) => u.kustomization.object.metadata.name === "node-images")!.kustomization.object.spec.path;
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
        const TIMER = "/etc/systemd/system/capi-mgmt-etcd-maintenance.timer";
        const SETTINGS_FILE = "/etc/default/capi-mgmt-etcd-maintenance";
        type KubeadmFile = { path: string; owner: string; permissions: string; content: string };
        /** The control plane's kubeadm config spec and the workers' kubeadm config, after the class's patches. */
        const kubeadm = (env: Environment, cluster: TreeObject) => {
            const templates = resolveTopology(cluster, objects(env)).templates;
            return {
                controlPlane: templates.find((t) => t.object.kind === "KubeadmControlPlaneTemplate")!.object.spec.template.spec.kubeadmConfigSpec,
                workers: templates.find((t) => t.object.kind === "KubeadmConfigTemplate")!.object.spec.template.spec,
            };
        };
        const file = (files: KubeadmFile[], p: string) => {
            const f = files.find((x) => x.path === p);
            assert.ok(f, `no file ${p}`);
            return f;
        };
        const devCluster = () => ofKind(envs.get("dev")!, "Cluster")[0];

        each("puts the timer, its service, the script and its settings on every control plane node by default, and nothing on workers", (env) => {
            for (const cluster of ofKind(env, "Cluster")) {
                const { controlPlane, workers } = kubeadm(env, cluster);
                const files = controlPlane.files as KubeadmFile[];
                assert.deepStrictEqual(files.map((f) => f.path).sort(), [SETTINGS_FILE, SERVICE, TIMER, SCRIPT].sort());
                assert.strictEqual(file(files, SCRIPT).permissions, "0755");
                for (const f of files) {
                    assert.strictEqual(f.owner, "root:root", f.path);
                    if (f.path !== SCRIPT) assert.strictEqual(f.permissions, "0644", f.path);
                }
                assert.match(file(files, TIMER).content, /^OnCalendar=\*-\*-\* 02:30:00$/m);
                assert.match(file(files, SETTINGS_FILE).content, /^SNAPSHOTS_KEPT=7$/m);
                assert.match(file(files, SERVICE).content, new RegExp(`^ExecStart=${SCRIPT}$`, "m"));
                assert.match(file(files, SERVICE).content, new RegExp(`^EnvironmentFile=${SETTINGS_FILE}$`, "m"));
                assert.deepStrictEqual(controlPlane.postKubeadmCommands, ["systemctl daemon-reload", "systemctl enable --now capi-mgmt-etcd-maintenance.timer"]);
                assert.strictEqual(workers.files, undefined);
                assert.strictEqual(workers.postKubeadmCommands, undefined);
            }
        });

        it("follows the variables: off, retention, time of day", () => {
            const env = envs.get("dev")!;
            const off = kubeadm(env, withVariable(devCluster(), "etcdMaintenance", false)).controlPlane;
            assert.strictEqual(off.files, undefined);
            assert.strictEqual(off.postKubeadmCommands, undefined);
            let tuned = withVariable(devCluster(), "etcdSnapshotsKept", 14);
            tuned = withVariable(tuned, "etcdMaintenanceTime", "04:05");
            const files = kubeadm(env, tuned).controlPlane.files as KubeadmFile[];
            assert.match(file(files, SETTINGS_FILE).content, /^SNAPSHOTS_KEPT=14$/m);
            assert.match(file(files, TIMER).content, /^OnCalendar=\*-\*-\* 04:05:00$/m);
            for (const [name, value] of [["etcdMaintenanceTime", "24:00"], ["etcdMaintenanceTime", "2:30"], ["etcdSnapshotsKept", 0]] as [string, unknown][]) {
                assert.throws(() => kubeadm(env, withVariable(devCluster(), name, value)), new RegExp(`variable ${name}`), `${name} ${value}`);
            }
        });

        each("writes no Jinja delimiters into a file (cloud-init renders Cluster API's user data as a Jinja template)", (env) => {
            for (const cluster of ofKind(env, "Cluster")) {
                for (const f of kubeadm(env, cluster).controlPlane.files as KubeadmFile[]) {
                    assert.doesNotMatch(f.content, /\{\{|\{%|\{#/, f.path);
                }
            }
        });

        it("renders patch templates with variables and builtins only", () => {
            const cluster = devCluster();
            assert.deepStrictEqual(renderPatchTemplate("a: {{ .x }}\nb: {{ .builtin.cluster.name }}\n", { x: 3 }, cluster, "t"), { a: 3, b: cluster.metadata.name });
            assert.throws(() => renderPatchTemplate("a: {{ .x | quote }}", { x: 3 }, cluster, "t"), /not understood by the tree reader/);
            assert.throws(() => renderPatchTemplate("a: {{ .y }}", { x: 3 }, cluster, "t"), /variable y, which has no value/);
            assert.throws(() => renderPatchTemplate("a: {{ .x }}", { x: [1] }, cluster, "t"), /no scalar value/);
        });

        it("executes Go templates as Cluster API does, for the subset the class uses, refusing the rest", () => {
            const data = { l: ["a", "b"], m: { k: "v" }, e: [], n: 2, s: "docker.io" };
            const run = (t: string) => executeGoTemplate(t, data, "t");
            assert.strictEqual(run("x{{ range .l }},{{ . }}{{ end }}"), "x,a,b");
            assert.strictEqual(run("{{ range .e }}x{{ else }}none{{ end }}|{{ range .missing }}x{{ end }}"), "none|");
            assert.strictEqual(run("{{ with .m }}{{ .k }}{{ end }}{{ with .missing }}x{{ else }}y{{ end }}"), "vy");
            assert.strictEqual(run("a\n  {{- if .missing }}x{{ end }}\n  {{- if eq .s \"docker.io\" }} hub {{- end }}  \nb"), "a hub  \nb");
            assert.strictEqual(run('{{ if and .missing (gt (len .missing) 0) }}x{{ else }}short-circuit{{ end }}'), "short-circuit");
            assert.strictEqual(run('{{ if or .missing .n }}{{ (index .l 1) }}{{ end }}{{ if not .e }}!{{ end }}'), "b!");
            assert.strictEqual(run('{{ with index .l 0 }}{{ . }}{{ end }}{{ if regexMatch "^https?://[^/]+/." "https://h/p" }}P{{ end }}'), "aP");
            assert.strictEqual(run("{{ $.n }}{{ range .l }}{{ $.s }}{{ end }}"), "2docker.iodocker.io");
            // Go: a field of a missing key is an error, not nil.
            assert.throws(() => run("{{ range .missing.x }}{{ end }}"), /nil pointer evaluating/);
            assert.throws(() => run("{{ index .l 2 }}"), /index out of range/);
            assert.throws(() => run("{{ len .missing }}"), /len of nil/);
            assert.throws(() => run('{{ eq .n "2" }}'), /incompatible/);
            for (const t of ["{{ .s | upper }}", "{{ $x := .s }}", "{{ upper .s }}", "{{ if .n }}x", "{{ end }}", '{{ template "x" }}', "{{ else if .n }}"]) {
                assert.throws(() => run(t), /not understood by the tree reader/, t);
            }
            const cluster = devCluster();
            assert.deepStrictEqual(
                renderPatchTemplate("{{ range .builtin.cluster.network.pods }}{{ . }} {{ end }}{{ range .builtin.cluster.network.services }}{{ . }} {{ end }}", {}, cluster, "t"),
                [...cluster.spec.clusterNetwork.pods.cidrBlocks, ...cluster.spec.clusterNetwork.services.cidrBlocks].join(" "),
            );
        });

        describe("systemd units", () => {
            before(function () {
                if (spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" }).status !== 0 || !fs.existsSync("/usr/lib/systemd/system/timers.target")) {
                    skipTest(this, "systemd-analyze verify of the etcd timer", "systemd-analyze and systemd's units (package systemd)");
                }
            });

            /** `systemd-analyze verify` of the timer and service in a root holding them, the script and systemd's own units. */
            const verify = (files: KubeadmFile[]) => {
                const root = makeTempDir("systemd-root");
                fs.cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
                for (const f of files) {
                    fs.mkdirSync(path.join(root, path.dirname(f.path)), { recursive: true });
                    fs.writeFileSync(path.join(root, f.path), f.content, { mode: parseInt(f.permissions, 8) });
                }
                return spawnSync("systemd-analyze", ["verify", `--root=${root}`, TIMER, SERVICE], { encoding: "utf8" });
            };

            each("are valid: systemd-analyze verify finds nothing to say", (env) => {
                for (const cluster of ofKind(env, "Cluster")) {
                    const r = verify(kubeadm(env, cluster).controlPlane.files);
                    assert.strictEqual(r.status, 0, r.stderr);
                    assert.doesNotMatch(r.stderr, /capi-mgmt-etcd-maintenance/, r.stderr);
                }
            });

            it("would catch a broken unit (the check can fail)", () => {
                const files = structuredClone(kubeadm(envs.get("dev")!, devCluster()).controlPlane.files as KubeadmFile[]);
                file(files, TIMER).content = file(files, TIMER).content.replace(/^OnCalendar=.*$/m, "OnCalendar=*-*-* 25:30:00");
                assert.notStrictEqual(verify(files).status, 0);
                const typo = structuredClone(kubeadm(envs.get("dev")!, devCluster()).controlPlane.files as KubeadmFile[]);
                file(typo, SERVICE).content += "Nicee=10\n";
                assert.match(verify(typo).stderr, /Unknown key 'Nicee'/);
            });
        });

        describe("the script", () => {
            /** Member IDs above 2^63, as etcd's are: shell arithmetic would break on them. */
            const LOCAL_ID = 17237436991929493444n;
            const PEER_A = 12146726434712346599n;
            const PEER_B = 9372538179322589801n;
            const status = (endpoint: string, member: bigint, leader: bigint) => `{"Endpoint":"${endpoint}","Status":{"header":{"cluster_id":14841639068965178418,"member_id":${member},"revision":42,"raft_term":3},"version":"3.6.5","dbSize":2097152,"leader":${leader},"raftIndex":99,"raftTerm":3}}`;
            let dir: string;
            let script: string;
            beforeEach(() => {
                dir = makeTempDir("etcd-maintenance");
                fs.mkdirSync(path.join(dir, "bin"));
                fs.mkdirSync(path.join(dir, "data"));
                installFake(path.join(dir, "bin"), "crictl", "gitops/crictl.sh");
                script = file(kubeadm(envs.get("dev")!, devCluster()).controlPlane.files, SCRIPT).content;
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
                assert.deepStrictEqual(r.calls.filter((c) => / (defrag|move-leader)/.test(c)), ["https://127.0.0.1:2379 defrag"]);
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
        type KubeadmFile = { path: string; owner: string; permissions: string; content: string };
        const ENV_FILE = "/etc/default/capi-mgmt-proxy";
        const KUBELET_ENV_FILE = "/etc/default/capi-mgmt-proxy-kubelet";
        const CONTAINERD_DROPIN = "/etc/systemd/system/containerd.service.d/http-proxy.conf";
        const KUBELET_DROPIN = "/etc/systemd/system/kubelet.service.d/http-proxy.conf";
        const ENDPOINT_SCRIPT = "/usr/local/sbin/capi-mgmt-proxy-api-endpoint";
        const PROXY_FILES = [ENV_FILE, CONTAINERD_DROPIN, KUBELET_DROPIN, ENDPOINT_SCRIPT];
        const MIRRORS_SCRIPT = "/usr/local/sbin/capi-mgmt-registry-mirrors";
        const PROXY = { http: "http://proxy.example.com:3128", https: "http://proxy.example.com:3129", noProxy: [".corp.example", "10.20.0.0/16", "registry.example"] };
        const MIRRORS = [
            { registry: "docker.io", endpoints: ["https://mirror-a.example", "https://harbor.example/v2/dockerhub"] },
            { registry: "registry.example:5000", endpoints: ["http://10.1.2.3:5000"] },
        ];
        const base = () => ofKind(envs.get("dev")!, "Cluster")[0];
        const clusterClass = () => ofKind(envs.get("dev")!, "ClusterClass")[0];
        /** The control plane's kubeadm config spec and the workers' kubeadm config, after the class's patches. */
        const kubeadm = (cluster: TreeObject) => {
            const templates = resolveTopology(cluster, objects(envs.get("dev")!)).templates;
            return {
                controlPlane: templates.find((t) => t.object.kind === "KubeadmControlPlaneTemplate")!.object.spec.template.spec.kubeadmConfigSpec,
                workers: templates.find((t) => t.object.kind === "KubeadmConfigTemplate")!.object.spec.template.spec,
            };
        };
        const with_ = (vars: Record<string, unknown>, cluster = base()) => Object.entries(vars).reduce((c, [k, v]) => withVariable(c, k, v), cluster);
        const fileOf = (files: KubeadmFile[] | undefined, p: string): KubeadmFile => {
            const f = (files ?? []).find((x) => x.path === p);
            assert.ok(f, `no file ${p} among ${JSON.stringify((files ?? []).map((x) => x.path))}`);
            return f;
        };
        /** KEY=value lines of an environment file (comments skipped), every key once. */
        const envOf = (content: string): Record<string, string> => {
            const out: Record<string, string> = {};
            for (const line of content.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"))) {
                const m = /^([A-Za-z_]+)=(\S+)$/.exec(line);
                assert.ok(m, `not a KEY=value line: ${JSON.stringify(line)}`);
                assert.ok(!(m[1] in out), `${m[1]} twice`);
                out[m[1]] = m[2];
            }
            return out;
        };
        /** Both kubeadm configs of a Cluster: [where, files, preKubeadmCommands]. */
        const nodes = (cluster: TreeObject): [string, KubeadmFile[] | undefined, string[] | undefined][] => {
            const k = kubeadm(cluster);
            return [
                ["control plane", k.controlPlane.files, k.controlPlane.preKubeadmCommands],
                ["workers", k.workers.files, k.workers.preKubeadmCommands],
            ];
        };

        each("puts no proxy or mirror file on the example Clusters' nodes (they set neither variable)", (env) => {
            for (const cluster of ofKind(env, "Cluster")) {
                assert.strictEqual(variable(cluster, "proxy"), undefined);
                assert.strictEqual(variable(cluster, "registryMirrors"), undefined);
                const templates = resolveTopology(cluster, objects(env)).templates;
                const cp = templates.find((t) => t.object.kind === "KubeadmControlPlaneTemplate")!.object.spec.template.spec.kubeadmConfigSpec;
                const w = templates.find((t) => t.object.kind === "KubeadmConfigTemplate")!.object.spec.template.spec;
                assert.ok(!(cp.files as KubeadmFile[]).some((f) => PROXY_FILES.includes(f.path) || f.path.startsWith("/etc/containerd/")), cluster.metadata.name);
                assert.strictEqual(cp.preKubeadmCommands, undefined);
                assert.strictEqual(w.files, undefined);
                assert.strictEqual(w.preKubeadmCommands, undefined);
            }
        });

        for (const etcd of [true, false]) {
            it(`gives containerd and kubelet the proxy on control plane and workers, NO_PROXY covering the cluster, with etcdMaintenance ${etcd ? "on" : "off"}`, () => {
                const cluster = with_({ proxy: PROXY, etcdMaintenance: etcd });
                const net = cluster.spec.clusterNetwork;
                const nodeCidr = (variable(cluster, "nodeCidr") ?? classVariables(clusterClass()).find((d) => d.name === "nodeCidr")!.schema.openAPIV3Schema.default) as string;
                const required = ["localhost", "127.0.0.1", ".svc", ".cluster.local", "169.254.169.254", nodeCidr, ...net.pods.cidrBlocks, ...net.services.cidrBlocks, ...PROXY.noProxy];
                for (const [where, files, pre] of nodes(cluster)) {
                    const env = envOf(fileOf(files, ENV_FILE).content);
                    assert.strictEqual(env.HTTP_PROXY, PROXY.http, where);
                    assert.strictEqual(env.http_proxy, PROXY.http, where);
                    assert.strictEqual(env.HTTPS_PROXY, PROXY.https, where);
                    assert.strictEqual(env.https_proxy, PROXY.https, where);
                    assert.strictEqual(env.no_proxy, env.NO_PROXY, where);
                    const list = env.NO_PROXY.split(",");
                    for (const r of required) {
                        assert.ok(list.includes(r), `${where}: NO_PROXY ${env.NO_PROXY} lacks ${r}`);
                    }
                    assert.strictEqual(new Set(list).size, list.length, `${where}: NO_PROXY repeats an entry: ${env.NO_PROXY}`);
                    // Both services read the settings through a drop-in; kubelet then its NO_PROXY with the API endpoint.
                    assert.match(fileOf(files, CONTAINERD_DROPIN).content, new RegExp(`^\\[Service\\]\\nEnvironmentFile=${ENV_FILE}\\n$`));
                    const kubeletUnits = fileOf(files, KUBELET_DROPIN).content.split("\n").filter((l) => l.startsWith("EnvironmentFile="));
                    assert.deepStrictEqual(kubeletUnits, [`EnvironmentFile=${ENV_FILE}`, `EnvironmentFile=${KUBELET_ENV_FILE}`], where);
                    assert.strictEqual(fileOf(files, ENDPOINT_SCRIPT).permissions, "0755");
                    for (const p of PROXY_FILES) {
                        assert.strictEqual(fileOf(files, p).owner, "root:root", p);
                        assert.ok(/^\/etc\/|^\/usr\/local\/sbin\//.test(p));
                    }
                    // Before kubeadm: the endpoint, then systemd reads the drop-ins and containerd restarts with them.
                    assert.deepStrictEqual(pre, [ENDPOINT_SCRIPT, "systemctl daemon-reload", "systemctl restart containerd"], where);
                    for (const f of files ?? []) {
                        assert.doesNotMatch(f.content, /\{\{|\{%|\{#/, `${where}: ${f.path} has Jinja delimiters`);
                    }
                }
                // The etcd timer's files stay exactly as without the proxy.
                const cpFiles = kubeadm(cluster).controlPlane.files as KubeadmFile[];
                const etcdFiles = (kubeadm(with_({ etcdMaintenance: etcd })).controlPlane.files ?? []) as KubeadmFile[];
                assert.deepStrictEqual(cpFiles.slice(0, etcdFiles.length), etcdFiles);
                assert.deepStrictEqual(cpFiles.slice(etcdFiles.length).map((f) => f.path), PROXY_FILES);
                assert.deepStrictEqual(kubeadm(cluster).workers.files.map((f: KubeadmFile) => f.path), PROXY_FILES);
            });
        }

        it("sets only the proxies given, and still the whole NO_PROXY without a noProxy", () => {
            for (const [given, absent] of [["http", "https"], ["https", "http"]] as const) {
                const cluster = with_({ proxy: { [given]: PROXY[given] } });
                for (const [where, files] of nodes(cluster)) {
                    const env = envOf(fileOf(files, ENV_FILE).content);
                    assert.strictEqual(env[`${given.toUpperCase()}_PROXY`], PROXY[given], where);
                    assert.strictEqual(env[`${absent.toUpperCase()}_PROXY`], undefined, where);
                    assert.strictEqual(env[`${absent}_proxy`], undefined, where);
                    assert.ok(env.NO_PROXY.split(",").includes(".svc") && env.NO_PROXY.split(",").includes("169.254.169.254"), env.NO_PROXY);
                }
            }
        });

        it("refuses bad proxy settings, naming the variable (a credential, a path, another scheme, no proxy at all, a bad noProxy entry)", () => {
            const bad: unknown[] = [
                { http: "http://user:secret@proxy.example.com:3128" },
                { https: "https://token@proxy.example.com" },
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
                assert.throws(() => kubeadm(with_({ proxy: value })), /variable proxy/, JSON.stringify(value));
            }
            // A user or password passes the pattern and meets the CEL rule's message, as on the real webhook.
            assert.throws(() => kubeadm(with_({ proxy: { http: "http://user:secret@proxy.example.com:3128" } })), /variable proxy\.http: proxy\.http must not carry a user or password/);
            assert.throws(() => kubeadm(with_({ proxy: { https: "https://token@proxy.example.com" } })), /variable proxy\.https: proxy\.https must not carry a user or password/);
            assert.throws(() => schemaProblems("x", { type: "string", "x-kubernetes-validations": [{ rule: "self.size() < 3" }] }, "v"), /CEL rule .* is not understood by the tree reader/);
            for (const ok of [{ http: "http://10.0.0.1:3128/" }, { https: "https://[fd00::1]:3128" }, { http: "http://proxy:8080", noProxy: ["localhost", ".a.example", "10.0.0.0/8", "fd00::/8", "192.0.2.1"] }]) {
                assert.doesNotThrow(() => kubeadm(with_({ proxy: ok })), JSON.stringify(ok));
            }
        });

        /**
         * Runs a node's registry mirror script under bash with its directory in a new temp dir:
         * the files it wrote there, relative path to content, and their modes.
         */
        const runMirrors = (script: string): { files: Record<string, string>; modes: Record<string, number>; stdout: string } => {
            const dir = makeTempDir("registry-mirrors");
            const r = runScript(script, { PATH: process.env.PATH ?? "/usr/bin:/bin", CERTS_DIR: dir });
            assertSuccess(r);
            const files: Record<string, string> = {};
            const modes: Record<string, number> = {};
            for (const rel of (fs.readdirSync(dir, { recursive: true }) as string[]).sort()) {
                const p = path.join(dir, rel);
                if (fs.statSync(p).isFile()) {
                    files[rel] = fs.readFileSync(p, "utf8");
                    modes[rel] = fs.statSync(p).mode & 0o777;
                }
            }
            return { files, modes, stdout: r.stdout };
        };
        /** hosts.toml as containerd gets it (the same bytes the six per-entry patches wrote before). */
        const DOCKER_HOSTS = [
            "# containerd's hosts for docker.io (ClusterClass variable registryMirrors):",
            "# the mirrors in order, then the registry itself.",
            'server = "https://registry-1.docker.io"',
            "",
            '[host."https://mirror-a.example"]',
            '  capabilities = ["pull", "resolve"]',
            "",
            '[host."https://harbor.example/v2/dockerhub"]',
            '  capabilities = ["pull", "resolve"]',
            "  override_path = true",
            "",
        ].join("\n");
        const LOCAL_HOSTS = [
            "# containerd's hosts for registry.example:5000 (ClusterClass variable registryMirrors):",
            "# the mirrors in order, then the registry itself.",
            'server = "https://registry.example:5000"',
            "",
            '[host."http://10.1.2.3:5000"]',
            '  capabilities = ["pull", "resolve"]',
            "",
        ].join("\n");

        for (const etcd of [true, false]) {
            it(`appends one script writing a hosts.toml per registry (mirrors in order, pull and resolve) and runs it before kubeadm, with etcdMaintenance ${etcd ? "on" : "off"}`, () => {
                const cluster = with_({ registryMirrors: MIRRORS, etcdMaintenance: etcd });
                const scripts: string[] = [];
                for (const [where, files, pre] of nodes(cluster)) {
                    const script = fileOf(files, MIRRORS_SCRIPT);
                    assert.strictEqual(script.permissions, "0755");
                    assert.strictEqual(script.owner, "root:root");
                    // One file only: no hosts.toml in the user data any more.
                    assert.deepStrictEqual((files ?? []).filter((f) => f.path.includes("containerd") || f.path.includes("registry")).map((f) => f.path), [MIRRORS_SCRIPT], where);
                    // containerd reads certs.d on each pull: the script, no restart.
                    assert.deepStrictEqual(pre, [MIRRORS_SCRIPT], where);
                    for (const f of files ?? []) {
                        assert.doesNotMatch(f.content, /\{\{|\{%|\{#/, `${where}: ${f.path} has Jinja delimiters`);
                    }
                    const ran = runMirrors(script.content);
                    assert.deepStrictEqual(ran.files, { "docker.io/hosts.toml": DOCKER_HOSTS, "registry.example:5000/hosts.toml": LOCAL_HOSTS }, where);
                    assert.deepStrictEqual(ran.modes, { "docker.io/hosts.toml": 0o644, "registry.example:5000/hosts.toml": 0o644 }, where);
                    // Again (cloud-init re-running it): the same files, nothing left over.
                    assert.deepStrictEqual(runMirrors(script.content + "\n" + script.content).files, ran.files, where);
                    scripts.push(script.content);
                }
                assert.strictEqual(scripts[0], scripts[1], "control plane and workers get the same script");
                // Appended: the etcd timer's files stay first, exactly as without mirrors.
                const etcdFiles = (kubeadm(with_({ etcdMaintenance: etcd })).controlPlane.files ?? []) as KubeadmFile[];
                const cpFiles = kubeadm(cluster).controlPlane.files as KubeadmFile[];
                assert.deepStrictEqual(cpFiles.slice(0, etcdFiles.length), etcdFiles);
                assert.deepStrictEqual(cpFiles.slice(etcdFiles.length).map((f) => f.path), [MIRRORS_SCRIPT]);
                assert.strictEqual(etcdFiles.some((f) => f.path.includes("etcd-maintenance")), etcd);
            });

            it(`puts no mirror script and no command on the nodes without the variable, with etcdMaintenance ${etcd ? "on" : "off"} (with and without the proxy)`, () => {
                for (const vars of [{ etcdMaintenance: etcd }, { etcdMaintenance: etcd, proxy: PROXY }]) {
                    for (const [where, files, pre] of nodes(with_(vars))) {
                        assert.ok(!(files ?? []).some((f) => f.path === MIRRORS_SCRIPT || f.path.startsWith("/etc/containerd/certs.d/")), `${where} ${JSON.stringify(vars)}`);
                        assert.ok(!(pre ?? []).includes(MIRRORS_SCRIPT), `${where} ${JSON.stringify(vars)}`);
                        assert.strictEqual(pre === undefined, vars.proxy === undefined, `${where}: a preKubeadmCommands list only for the proxy`);
                    }
                }
            });
        }

        it("passes shellcheck (the rendered script, two registries and one)", function () {
            if (!hasShellcheck()) {
                skipTest(this, "shellcheck of the registry mirror script", "shellcheck");
            }
            const dir = makeTempDir("registry-mirrors-check");
            const files: string[] = [];
            for (const [i, mirrors] of [MIRRORS, MIRRORS.slice(1)].entries()) {
                const f = path.join(dir, `capi-mgmt-registry-mirrors-${i}`);
                fs.writeFileSync(f, fileOf(kubeadm(with_({ registryMirrors: mirrors })).workers.files as KubeadmFile[], MIRRORS_SCRIPT).content);
                files.push(f);
            }
            shellcheck(files);
        });

        it("has one mirror patch for the whole list, takes as many registries as the variable allows next to the proxy, and refuses one more", () => {
            const cc = clusterClass();
            const names = (cc.spec.patches as { name: string }[]).map((p) => p.name).filter((n) => n.startsWith("registry-mirror"));
            assert.deepStrictEqual(names, ["registry-mirrors"]);
            const max = classVariables(cc).find((d) => d.name === "registryMirrors")!.schema.openAPIV3Schema.maxItems as number;
            assert.strictEqual(max, 8);
            const all = Array.from({ length: max }, (_, i) => ({ registry: `r${i}.example:${5000 + i}`, endpoints: [`https://m${i}.example`, `https://h${i}.example/v2/r${i}`] }));
            for (const [where, files, pre] of nodes(with_({ registryMirrors: all, proxy: { http: "http://p.example:3128" } }))) {
                // Appended after the proxy's (and the etcd timer's), which stay whole.
                assert.deepStrictEqual((files ?? []).map((f) => f.path).filter((p) => !p.includes("etcd-maintenance")), [...PROXY_FILES, MIRRORS_SCRIPT], where);
                assert.deepStrictEqual(pre, [ENDPOINT_SCRIPT, "systemctl daemon-reload", "systemctl restart containerd", MIRRORS_SCRIPT], where);
                const ran = runMirrors(fileOf(files, MIRRORS_SCRIPT).content);
                assert.deepStrictEqual(Object.keys(ran.files), all.map((m) => `${m.registry}/hosts.toml`).sort(), where);
                for (const [i, m] of all.entries()) {
                    assert.strictEqual(ran.files[`${m.registry}/hosts.toml`], [
                        `# containerd's hosts for ${m.registry} (ClusterClass variable registryMirrors):`,
                        "# the mirrors in order, then the registry itself.",
                        `server = "https://${m.registry}"`,
                        "",
                        `[host."https://m${i}.example"]`,
                        '  capabilities = ["pull", "resolve"]',
                        "",
                        `[host."https://h${i}.example/v2/r${i}"]`,
                        '  capabilities = ["pull", "resolve"]',
                        "  override_path = true",
                        "",
                    ].join("\n"), m.registry);
                }
            }
            assert.throws(() => kubeadm(with_({ registryMirrors: [...all, { registry: "one.more", endpoints: ["https://m.example"] }] })), /variable registryMirrors/);
        });

        it("fits the schema's largest proxy and mirror lists, etcd care on, into a control plane node's user data with room for Cluster API's own", () => {
            // Nova takes at most 65535 characters of base64 user data (lib/cloudInit.ts). Cluster
            // API's control plane user data also carries the cluster's CA, etcd CA, front-proxy CA
            // and service-account keys (4 certificates and 4 keys of a few KiB) and the kubeadm
            // configuration: 16 KiB is reserved for them, the rest is the class's.
            const budget = USER_DATA_MAX_BYTES - 16 * 1024;
            /** The limits of a variable's schema, each of which must be set. */
            interface Limits {
                maxItems?: number;
                maxLength?: number;
                items?: Limits;
                properties?: Record<string, Limits>;
            }
            const schemaOf = (name: string) => classVariables(clusterClass()).find((d) => d.name === name)!.schema.openAPIV3Schema as unknown as Limits;
            const limit = (n: number | undefined, what: string): number => {
                assert.ok(n !== undefined, `${what} has no limit: the user data has no bound`);
                return n;
            };
            const proxySchema = schemaOf("proxy").properties!;
            const mirrorSchema = schemaOf("registryMirrors");
            const mirrorItem = mirrorSchema.items!.properties!;
            const longLabel = (n: number) => "a" + "b".repeat(n - 1);
            const proxyUrl = "http://" + longLabel(limit(proxySchema.http.maxLength, "proxy.http") - "http://".length - ":3128".length) + ":3128";
            const noProxyLength = limit(proxySchema.noProxy.items?.maxLength, "proxy.noProxy[]");
            const noProxy = Array.from({ length: limit(proxySchema.noProxy.maxItems, "proxy.noProxy") }, (_, i) => `.${i}${longLabel(noProxyLength - 1 - String(i).length)}`);
            const registryLength = limit(mirrorItem.registry.maxLength, "registryMirrors[].registry");
            const endpointLength = limit(mirrorItem.endpoints.items?.maxLength, "registryMirrors[].endpoints[]");
            const mirrors = Array.from({ length: limit(mirrorSchema.maxItems, "registryMirrors") }, (_, i) => ({
                registry: `r${i}${longLabel(registryLength - 1 - String(i).length)}`,
                endpoints: Array.from({ length: limit(mirrorItem.endpoints.maxItems, "registryMirrors[].endpoints") }, (_, j) => {
                    const head = `https://m${j}.example/`;
                    return head + "p".repeat(endpointLength - head.length);
                }),
            }));
            const cluster = with_({ proxy: { http: proxyUrl, https: proxyUrl, noProxy }, registryMirrors: mirrors, etcdMaintenance: true });
            const spec = kubeadm(cluster).controlPlane;
            const size = Buffer.byteLength(JSON.stringify(spec), "utf8");
            assert.ok(size <= budget, `the class's part of the user data takes ${size} bytes at the schema's limits, more than ${budget}`);
        });

        it("writes a registry listed twice once, the later entry winning (as the gitops README says)", () => {
            const twice = [
                { registry: "ghcr.io", endpoints: ["https://first.example"] },
                { registry: "docker.io", endpoints: ["https://mirror-a.example", "https://harbor.example/v2/dockerhub"] },
                { registry: "ghcr.io", endpoints: ["https://second.example/ghcr"] },
            ];
            const ran = runMirrors(fileOf(kubeadm(with_({ registryMirrors: twice })).workers.files as KubeadmFile[], MIRRORS_SCRIPT).content);
            assert.deepStrictEqual(Object.keys(ran.files), ["docker.io/hosts.toml", "ghcr.io/hosts.toml"]);
            assert.strictEqual(ran.files["docker.io/hosts.toml"], DOCKER_HOSTS);
            assert.match(ran.files["ghcr.io/hosts.toml"], /\[host\."https:\/\/second\.example\/ghcr"\]\n {2}capabilities = \["pull", "resolve"\]\n {2}override_path = true\n$/);
            assert.doesNotMatch(ran.files["ghcr.io/hosts.toml"], /first\.example/);
            const readme = fs.readFileSync(path.join(TREE, "README.md"), "utf8");
            assert.match(readme, /listed twice[^.]*later/);
        });

        it("keeps whatever the schema lets through inside the heredocs and the directory (names like EOF, dots and dashes, paths with dots)", () => {
            const odd = [
                { registry: "EOF", endpoints: ["https://EOF/EOF", "http://[fd00::1]:5000/a.b/_~-/..", "https://x-1.example/"] },
                { registry: "a-1.b-2.c:1", endpoints: ["https://m.example/v2/x"] },
            ];
            const ran = runMirrors(fileOf(kubeadm(with_({ registryMirrors: odd })).workers.files as KubeadmFile[], MIRRORS_SCRIPT).content);
            assert.deepStrictEqual(Object.keys(ran.files), ["EOF/hosts.toml", "a-1.b-2.c:1/hosts.toml"]);
            const hosts = ran.files["EOF/hosts.toml"].split("\n").filter((l) => l.startsWith("[host."));
            assert.deepStrictEqual(hosts, ['[host."https://EOF/EOF"]', '[host."http://[fd00::1]:5000/a.b/_~-/.."]', '[host."https://x-1.example/"]']);
            assert.match(ran.files["EOF/hosts.toml"], /^server = "https:\/\/EOF"$/m);
            assert.strictEqual(ran.files["EOF/hosts.toml"].match(/override_path = true/g)?.length, 2);
            // What could leave the directory or the heredoc never reaches the script.
            for (const registry of ["..", "a..b", ".docker.io", "docker.io.", "a/../b", "a'b", "a b", "docker.io\nEOF", "$(id)", "-x.example", "x-.example"]) {
                assert.throws(() => kubeadm(with_({ registryMirrors: [{ registry, endpoints: ["https://m.example"] }] })), /variable registryMirrors/, JSON.stringify(registry));
            }
            for (const endpoint of ["https://m.example/a'b", 'https://m.example/a"b', "https://m.example/a b", "https://m.example/a\nEOF", "https://m.example/$(id)", "https://m.example/`id`", "https://m.example/a\\b"]) {
                assert.throws(() => kubeadm(with_({ registryMirrors: [{ registry: "docker.io", endpoints: [endpoint] }] })), /variable registryMirrors/, JSON.stringify(endpoint));
            }
        });

        it("refuses bad registry mirrors, naming the variable", () => {
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
                assert.throws(() => kubeadm(with_({ registryMirrors: value })), /variable registryMirrors/, JSON.stringify(value));
            }
        });

        it("puts no CEL rule at or under an array variable (Cluster API v1.14's webhook refuses the ClusterClass: \"unable to convert structural schema to CEL declarations\")", () => {
            const underArray = (schema: VariableSchema, inArray: boolean, at: string): string[] => [
                ...(inArray && schema["x-kubernetes-validations"] !== undefined ? [at] : []),
                ...(schema.items ? underArray(schema.items, true, `${at}.items`) : []),
                ...Object.entries(schema.properties ?? {}).flatMap(([k, v]) => underArray(v, inArray, `${at}.${k}`)),
            ];
            const found = classVariables(clusterClass()).flatMap((d) => underArray(d.schema.openAPIV3Schema, d.schema.openAPIV3Schema.type === "array", d.name));
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
                const files = kubeadm(with_({ proxy: PROXY })).workers.files as KubeadmFile[];
                script = fileOf(files, ENDPOINT_SCRIPT).content;
                fs.writeFileSync(path.join(dir, "proxy.env"), fileOf(files, ENV_FILE).content);
            });
            const run = () =>
                runScript(script, { PATH: process.env.PATH ?? "/usr/bin:/bin", PROXY_ENV: path.join(dir, "proxy.env"), KUBELET_ENV: path.join(dir, "kubelet.env"), KUBEADM_DIR: path.join(dir, "kubeadm") });
            const kubeletEnv = () => envOf(fs.readFileSync(path.join(dir, "kubelet.env"), "utf8"));
            const base = () => envOf(fs.readFileSync(path.join(dir, "proxy.env"), "utf8")).NO_PROXY;

            it("passes shellcheck", function () {
                if (!hasShellcheck()) {
                    skipTest(this, "shellcheck of the proxy endpoint script", "shellcheck");
                }
                const f = path.join(dir, "capi-mgmt-proxy-api-endpoint");
                fs.writeFileSync(f, script);
                shellcheck([f]);
            });

            it("adds the control plane endpoint of kubeadm init's configuration to kubelet's NO_PROXY", () => {
                fs.writeFileSync(path.join(dir, "kubeadm/kubeadm.yaml"), "---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncontrolPlaneEndpoint: 203.0.113.7:6443\nnetworking:\n  podSubnet: 192.168.0.0/16\n---\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 10.6.0.10\n");
                const r = run();
                assertSuccess(r);
                assert.deepStrictEqual(kubeletEnv(), { NO_PROXY: `${base()},203.0.113.7`, no_proxy: `${base()},203.0.113.7` });
                assert.strictEqual(fs.statSync(path.join(dir, "kubelet.env")).mode & 0o777, 0o644);
                // Again (cloud-init re-running it) changes nothing.
                assertSuccess(run());
                assert.strictEqual(kubeletEnv().NO_PROXY, `${base()},203.0.113.7`);
            });

            it("reads kubeadm join's discovery endpoint, and IPv6 in brackets", () => {
                fs.writeFileSync(path.join(dir, "kubeadm/kubeadm-join-config.yaml"), "---\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: '[2001:db8::7]:6443'\n    token: abc\n");
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

    it("maps SCS's settings in gitops/README.md, \"SCS users\": every catalog label, the placement, etcd, proxy and mirror variables, and the program-side items", () => {
        const readme = fs.readFileSync(path.join(TREE, "README.md"), "utf8");
        const section = readme.split(/^## /m).find((s) => s.startsWith("SCS users"));
        assert.ok(section, 'gitops/README.md has no section "SCS users"');
        const catalog = readmeCatalog(readme);
        assert.ok(catalog.length > 0);
        for (const a of catalog) {
            assert.ok(section.includes(`\`${a.label}`), `${a.label} is not mapped`);
        }
        for (const v of ["controlPlaneServerGroup", "workerServerGroup", "controlPlaneAvailabilityZones", "etcdMaintenance", "etcdSnapshotsKept", "etcdMaintenanceTime", "proxy", "registryMirrors"]) {
            assert.ok(classVariables(ofKind(envs.get("dev")!, "ClusterClass")[0]).some((d) => d.name === v), `the ClusterClass has no variable ${v}`);
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
                        download: { url: over.url ?? "https://images.example.org/ubuntu-2404-kube-v1.35.8.qcow2", ...(over.hash === undefined ? {} : { hash: over.hash }) },
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
                ["name without version", { hash: { algorithm: "sha256", value: digest }, name: `ubuntu-2404-kube-${digest.slice(0, 12)}` }, /does not carry its version/],
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
                .filter((v) => (v.schema.openAPIV3Schema["x-kubernetes-validations"] ?? []).some((r) => r.rule === CREATE_ONLY_RULE || r.rule.startsWith(`${CREATE_ONLY_RULE} || `)))
                .map((v) => v.name)
                .sort();

        it("carry the rule on every variable that feeds an OpenStackCluster field CAPO's webhook refuses to change", () => {
            const feeding = new Set<string>();
            for (const patch of clusterClass.spec.patches as { definitions: { selector: { matchResources: { infrastructureCluster?: boolean } }; jsonPatches: { path: string; valueFrom?: { variable?: string } }[] }[] }[]) {
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

        it("refuses a change of each, and a removal, while other variables change freely", () => {
            const changed: [string, unknown][] = [
                ["nodeCidr", "10.7.0.0/24"],
                ["mtu", 1400],
                ["externalNetwork", { id: "7a5e9c2f-3c1d-4d7e-9b0a-2f1e4c6d8a90" }],
            ];
            for (const [name, value] of changed) {
                assert.match(transitionProblems(cluster, withVariable(cluster, name, value), clusterClass).join("\n"), new RegExp(`variable ${name}: ${name} is create-only`), name);
            }
            const withMtu = withVariable(cluster, "mtu", 1400);
            assert.match(transitionProblems(withMtu, withVariable(withMtu, "mtu", undefined), clusterClass).join("\n"), /mtu is create-only/, "removing mtu");
            const withCidr = withVariable(cluster, "nodeCidr", "10.7.0.0/24");
            assert.match(transitionProblems(withCidr, withVariable(withCidr, "nodeCidr", undefined), clusterClass).join("\n"), /nodeCidr is create-only/, "removing nodeCidr");
            // Spelling out a default is no change.
            assert.deepStrictEqual(transitionProblems(cluster, withVariable(cluster, "nodeCidr", "10.6.0.0/24"), clusterClass), []);
            let other = withVariable(cluster, "dnsNameservers", ["1.1.1.1"]);
            other = withVariable(other, "workerFlavor", "SCS-4V-16-100s");
            other = withVariable(other, "apiAllowedCidrs", [`${MANAGEMENT_ADDRESS}/32`]);
            other.spec.topology.workers.machineDeployments[0].replicas = 5;
            assert.deepStrictEqual(transitionProblems(cluster, other, clusterClass), []);
        });

        it("reads no other transition rule than `self == oldSelf`", () => {
            const odd = structuredClone(clusterClass);
            classVariables(odd).find((v) => v.name === "nodeCidr")!.schema.openAPIV3Schema["x-kubernetes-validations"] = [{ rule: "self == oldSelf || oldSelf == ''" }];
            assert.throws(() => transitionProblems(cluster, cluster, odd), /not understood by the tree reader/);
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
            const remediation = clusterClass.spec.workers.machineDeployments.find((c: { class: string }) => c.class === "default-worker").healthCheck.remediation;
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
                "resources: [../base]\npatches:\n  - target: {kind: ConfigMap, name: two}\n    patch: |-\n      - op: test\n        path: /data/a\n        value: \"1\"\n      - op: replace\n        path: /data/a\n        value: \"2\"\n",
            );
            assert.deepStrictEqual(kustomizeBuild(dir, "overlay").map((d) => [d.object.metadata.name, d.object.data.a, d.object.metadata.namespace]), [["one", "1", undefined], ["two", "2", undefined]]);
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
            assert.throws(() => kustomizeBuild(dir, "m"), (e: Error) => e instanceof TreeError && /^m: kubectl kustomize failed: .*missing.yaml/s.test(e.message));
            write("t/kustomization.yaml", "resources: [a.yaml]\npatches:\n  - target: {kind: ConfigMap, name: a}\n    patch: |-\n      - {op: test, path: /data/a, value: \"9\"}\n");
            write("t/a.yaml", cm("a"));
            assert.throws(() => kustomizeBuild(dir, "t"), /^TreeError: t: kubectl kustomize failed: .*test/s);
            assert.throws(() => kustomizeBuild(dir, "nowhere"), /nowhere: no such directory/);
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
            assert.throws(() => applyJsonPatch(doc, [{ op: "add", path: "/x/y", value: 1 }]), /add \/x\/y/);
            assert.throws(() => applyJsonPatch(doc, [{ op: "test", path: "/a/b/0", value: 2 }]), /expected 2/);
        });

        it("checks variable values against their schemas, refusing unknown fields", () => {
            const schema = { type: "object" as const, properties: { id: { type: "string" as const, minLength: 1 } }, minProperties: 1 };
            assert.deepStrictEqual(schemaProblems({ id: "abc" }, schema, "v"), []);
            assert.deepStrictEqual(schemaProblems({}, schema, "v"), ["v: must NOT have fewer than 1 properties"]);
            assert.deepStrictEqual(schemaProblems({ name: "x" }, schema, "v"), ["v: unknown field name"]);
            assert.deepStrictEqual(schemaProblems({ name: "x" }, { ...schema, "x-kubernetes-preserve-unknown-fields": true }, "v"), []);
            assert.deepStrictEqual(schemaProblems(["10.0.0.0/8", "x"], { type: "array", items: { type: "string", pattern: "/" } }, "v"), ['v.1: must match pattern "/"']);
            assert.deepStrictEqual(schemaProblems(1500.5, { type: "integer" }, "v"), ["v: must be integer"]);
        });

        it("refuses a Cluster whose variables the class does not accept", () => {
            const env = envs.get("dev")!;
            const cluster = structuredClone(ofKind(env, "Cluster")[0]);
            cluster.spec.topology.variables = cluster.spec.topology.variables
                .filter((v: { name: string }) => v.name !== "workerFlavor")
                .concat([{ name: "mtu", value: 100 }, { name: "flavour", value: "x" }]);
            assert.throws(
                () => resolveTopology(cluster, objects(env)),
                (e: Error) =>
                    /variable flavour is not declared/.test(e.message) &&
                    /required variable workerFlavor is not set/.test(e.message) &&
                    /variable mtu: must be >= 1280/.test(e.message),
            );
            cluster.spec.topology.classRef.name = "nope";
            assert.throws(() => resolveTopology(cluster, objects(env)), /ClusterClass clusters\/nope is not in the environment/);
        });
    });
});
