/**
 * The GitOps tree (gitops/) as Flux reconciles it, read as the tree writes it (no substitution:
 * test/gitopsTreeHelpers.ts): its structure, the order Flux applies it in, the Clusters' networks,
 * classes, flavors and placement, the identity and cloud config they get, the secrets, the
 * environments' differences and gitops/README.md's SCS mapping. The other concerns:
 * gitopsTreeAddons, gitopsTreeImages, gitopsTreeEtcd, gitopsTreeProxy, gitopsTreeClass and
 * gitopsTreeReader (*.spec.ts); Flux's substitution of the tree: fluxEnvsubst.integration.ts.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ipaddr from "ipaddr.js";
import { stringify } from "yaml";
import { capoIdentity, cloudConfigResourceSet } from "../src/cluster/clusterObjects";
import { CAPO_IDENTITY_NAME, CLOUD_CONFIG_LABEL, CLOUD_NAME, FLUX_NAMESPACE, FLUX_ROOT_NAME } from "../src/shared/contract";
import { classOf, classVariables, clusterVariables, schemaProblems } from "../render/classVariables";
import { TreeObject, variableUses } from "../render/gitopsTree";
import { dependencies, imageReferenceProblems, objectsOf as objects, ofKind, placementProblems, SCS_FLAVOR, selects } from "../render/gitopsRules";
import {
    BASE_ADDONS,
    each,
    environment,
    MANAGEMENT_EGRESS_CIDR_REFERENCE,
    readmeCatalog,
    SETTINGS,
    stackGitopsPath,
    STACKS,
    TREE,
    unitOf,
    variable,
    withVariable,
    WORKLOAD_NAMESPACE_REFERENCE,
} from "./gitopsTreeHelpers";

describe("GitOps tree (gitops/)", () => {
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
            // As the tree writes it: Flux puts the program's gitops.workloadNamespace there (fluxEnvsubst.integration.ts).
            assert.strictEqual(k.spec.targetNamespace, WORKLOAD_NAMESPACE_REFERENCE, what);
            assert.ok(fs.existsSync(path.join(TREE, k.spec.path, "kustomization.yaml")), `${what}: path ${k.spec.path} has no kustomization.yaml`);
            assert.ok(u.documents.length > 0, `${what} applies nothing`);
            for (const d of u.documents) {
                assert.strictEqual(d.object.metadata.namespace, WORKLOAD_NAMESPACE_REFERENCE, `${d.file}: ${d.object.kind}`);
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
            // As the tree writes it: Flux puts the server's address there (fluxEnvsubst.integration.ts).
            assert.ok(allowed.includes(MANAGEMENT_EGRESS_CIDR_REFERENCE), `Cluster ${cluster.metadata.name}: ${allowed}`);
            for (const c of allowed.filter((a) => a !== MANAGEMENT_EGRESS_CIDR_REFERENCE)) {
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
        const all = objects(environment("prod"));
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
        assert.match(placementProblems([...all, twin]).join("\n"), /two ServerGroups create Nova server group \$\{WORKLOAD_NAMESPACE\}\/workload-1-workers/);
    });

    it("takes no empty list of availability zones (the schema; the zones reaching the OpenStackCluster: classInfrastructure.integration.ts)", () => {
        const cluster = ofKind(environment("dev"), "Cluster")[0];
        const schema = classVariables(classOf(cluster, objects(environment("dev")))).find((v) => v.name === "controlPlaneAvailabilityZones")!.schema
            .openAPIV3Schema;
        assert.deepStrictEqual(schemaProblems([], schema, "controlPlaneAvailabilityZones"), [
            "controlPlaneAvailabilityZones: must NOT have fewer than 1 items",
        ]);
        assert.deepStrictEqual(schemaProblems(["az1", "az2"], schema, "controlPlaneAvailabilityZones"), []);
    });

    each("points every cluster template at the program's identity, which admits the workload namespace", (env) => {
        const identity = capoIdentity(WORKLOAD_NAMESPACE_REFERENCE) as unknown as { spec: { namespaceSelector: { matchLabels: Record<string, string> } } };
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
        const crs = cloudConfigResourceSet(WORKLOAD_NAMESPACE_REFERENCE) as unknown as {
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

    each("holds no secret in clear", (env) => {
        for (const o of [...env.root.map((d) => d.object), ...objects(env)]) {
            if (o.kind === "Secret") {
                assert.ok(o.sops !== undefined, `Secret ${o.metadata.name} is not SOPS-encrypted`);
            }
        }
    });

    it("differs between dev and prod only by the overlays' patches", () => {
        const cluster = (stack: string) => ofKind(environment(stack), "Cluster").find((c) => c.metadata.name === "workload-1")!;
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
            environment(stack)
                .units.filter((u) => u.kustomization.object.metadata.name !== "workload-clusters")
                .map((u) => ({
                    kustomization: { ...u.kustomization.object, spec: { ...u.kustomization.object.spec, path: undefined } },
                    documents: u.documents.map((d) => d.object),
                }));
        assert.deepStrictEqual(infra("prod"), infra("dev"));
        const nodeImagesPath = (stack: string) =>
            environment(stack).units.find((u) => u.kustomization.object.metadata.name === "node-images")!.kustomization.object.spec.path;
        assert.strictEqual(nodeImagesPath("dev"), "./infrastructure/node-images/dev");
        assert.strictEqual(nodeImagesPath("prod"), "./infrastructure/node-images/prod");
    });

    it("uses no ${NAME} in what Flux substitutes but the program's settings, and each of them", () => {
        // Flux substitutes the root's objects and those of Kustomizations with postBuild; the
        // names only are scanned here (what Flux makes of them: fluxEnvsubst.integration.ts).
        const used = new Set<string>();
        for (const stack of STACKS) {
            const env = environment(stack);
            const substituted = [...env.root, ...env.units.filter((u) => u.kustomization.object.spec.postBuild !== undefined).flatMap((u) => u.documents)];
            for (const d of substituted) {
                for (const u of variableUses(stringify(d.object))) {
                    assert.ok(u.name in SETTINGS, `${d.file}: \${${u.name}} is not a setting of the program's ConfigMap`);
                    used.add(u.name);
                }
            }
        }
        assert.deepStrictEqual([...used].sort(), Object.keys(SETTINGS).sort());
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
                classVariables(ofKind(environment("dev"), "ClusterClass")[0]).some((d) => d.name === v),
                `the ClusterClass has no variable ${v}`,
            );
            assert.ok(section.includes(`\`${v}\``), `variable ${v} is not mapped`);
        }
        for (const scs of ["http_proxy", "containerd_registry_files", "make check"]) {
            assert.match(section, new RegExp(`\`${scs}[^|]*\\|[^|]*\\*\\*see README\\*\\*`), `${scs} does not point at the README`);
        }
    });
});
