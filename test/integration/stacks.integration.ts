/**
 * Both stacks against the real thing: a kube-apiserver with the pinned providers' CRDs, webhooks
 * and managers (see harness/managementCluster.ts). Each stack gets a fresh control plane.
 *
 * Expectations are read from the rendered output (the program's manifests, the GitOps tree as
 * Flux would apply it, the ClusterClass), not written down here, so the tests follow the tree as
 * it changes. The file contents the class's templates give the nodes: classNodeFiles.integration.ts.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { cloudConfigResourceData } from "../../src/cluster/clusterObjects";
import { renderCloudConf } from "../../src/cluster/cloudCredentials";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { requiredComponents, startManagementCluster } from "./harness/managementCluster";
import { argMap, at, clone, clusterVariables, conditionTrue, subsetDiff, yamlStream } from "./harness/objects";
import { waitFor } from "./harness/processes";
import { RenderedStack, renderStack } from "./harness/stack";
import { Testbed } from "./harness/testbed";

/** Resources by kind, with explicit versions (what the assertions read). */
const R = {
    Cluster: "clusters.v1beta2.cluster.x-k8s.io",
    ClusterClass: "clusterclasses.v1beta2.cluster.x-k8s.io",
    MachineDeployment: "machinedeployments.v1beta2.cluster.x-k8s.io",
    MachineHealthCheck: "machinehealthchecks.v1beta2.cluster.x-k8s.io",
    ClusterResourceSetBinding: "clusterresourcesetbindings.v1beta2.addons.cluster.x-k8s.io",
    KubeadmControlPlane: "kubeadmcontrolplanes.v1beta2.controlplane.cluster.x-k8s.io",
    KubeadmConfigTemplate: "kubeadmconfigtemplates.v1beta2.bootstrap.cluster.x-k8s.io",
    OpenStackCluster: "openstackclusters.v1beta1.infrastructure.cluster.x-k8s.io",
    OpenStackMachineTemplate: "openstackmachinetemplates.v1beta1.infrastructure.cluster.x-k8s.io",
    Kustomization: "kustomizations.v1.kustomize.toolkit.fluxcd.io",
};

/** Bound of one controller round trip (topology expansion, rollout) on a loaded machine. */
const CONTROLLER_TIMEOUT_MS = 180_000;

/** kubectl's message with the server's refusal, for `assert.match`. */
function refusal(cp: ControlPlane, args: string[], input?: string): string {
    const r = cp.kubectl(args, input);
    assert.notStrictEqual(r.status, 0, `expected the server to refuse kubectl ${args.join(" ")}, it accepted:\n${r.stdout}`);
    return r.stderr;
}

/** The one document of `kind` in a doc list. */
function only(docs: KubeObject[], kind: string): KubeObject {
    const found = docs.filter((d) => d.kind === kind);
    assert.strictEqual(found.length, 1, `expected one ${kind}, found ${found.length}`);
    return found[0];
}

/** A kubeconfig with embedded credentials (for the Cluster API "workload cluster" Secret). */
function embeddedKubeconfig(cp: ControlPlane): string {
    const b64 = (f: string) => fs.readFileSync(f).toString("base64");
    return toYaml({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "workload", cluster: { server: cp.server, "certificate-authority-data": b64(cp.pki.caCert) } }],
        users: [{ name: "admin", user: { "client-certificate-data": b64(cp.pki.adminCert), "client-key-data": b64(cp.pki.adminKey) } }],
        contexts: [{ name: "workload", context: { cluster: "workload", user: "admin" } }],
        "current-context": "workload",
    });
}

for (const stack of ["dev", "prod"]) {
    describe(`test bed, ${stack} stack: real API server, CRDs, webhooks and topology controller`, function () {
        this.timeout(CONTROLLER_TIMEOUT_MS + 60_000);
        let cp: ControlPlane | undefined;
        let rendered: RenderedStack;
        let workDir: string;

        /** All GitOps documents of every Kustomization. */
        const gitopsDocs = () => rendered.kustomizations.flatMap((k) => k.docs);
        const settings = () => {
            const cm = rendered.manifests.flatMap((m) => m.docs).find((d) => d.kind === "ConfigMap" && d.metadata.name === "capi-mgmt-settings");
            assert.ok(cm, "rendered manifests have no ConfigMap capi-mgmt-settings");
            return (cm as unknown as { data: Record<string, string> }).data;
        };
        const clusters = () => gitopsDocs().filter((d) => d.kind === "Cluster");
        const clusterClass = (name: string) => {
            const cc = gitopsDocs().find((d) => d.kind === "ClusterClass" && d.metadata.name === name);
            assert.ok(cc, `the GitOps tree has no ClusterClass ${name}`);
            return cc;
        };
        const c = () => {
            assert.ok(cp, "control plane not started");
            return cp;
        };
        /** Bounds of a wait on a controller; fails early, with its log, if a server or manager dies. */
        const poll = () => ({ timeoutMs: CONTROLLER_TIMEOUT_MS, intervalMs: 2000, watched: c().processes });

        before(async function () {
            this.timeout(20 * 60_000);
            const testbed = Testbed.load();
            const missing = testbed.missing(requiredComponents());
            if (missing) {
                console.log(`      SKIPPED (${stack}): test bed incomplete: ${missing}`);
                this.skip();
            }
            workDir = fs.mkdtempSync(path.join(os.tmpdir(), `capi-mgmt-it-${stack}-`));
            rendered = renderStack(stack, path.join(workDir, "render"));
            cp = await startManagementCluster(testbed, stack);
        });

        afterEach(function () {
            if (this.currentTest?.state === "failed" && cp) {
                console.log(cp.report(25));
            }
        });

        after(async function () {
            this.timeout(120_000);
            await cp?.stop();
            if (workDir) {
                fs.rmSync(workDir, { recursive: true, force: true });
            }
        });

        it("creates every object of the rendered manifests/ by server-side apply, in the program's order", function () {
            assert.ok(rendered.manifests.length > 0, "render wrote no manifests");
            for (const m of rendered.manifests) {
                const r = c().apply(yamlStream(m.docs));
                assert.strictEqual(r.status, 0, `${m.file} refused:\n${r.stderr}`);
                for (const d of m.docs) {
                    const resource = d.apiVersion.includes("/") ? `${d.kind}.${d.apiVersion.split("/").reverse().join(".")}` : d.kind;
                    const got = c().get(resource, d.metadata.name, d.metadata.namespace);
                    assert.ok(got, `${m.file}: ${d.kind} ${d.metadata.name} not found after apply`);
                }
            }
        });

        it("creates every document of the GitOps tree, Kustomization by Kustomization in dependsOn order", async function () {
            // What the root Kustomization applies (the Flux Kustomizations), then what each applies.
            const r = c().apply(yamlStream(rendered.root.docs), { fieldManager: "kustomize-controller" });
            assert.strictEqual(r.status, 0, `${rendered.root.file} refused:\n${r.stderr}`);
            for (const k of rendered.kustomizations) {
                for (const d of k.docs) {
                    const res = c().apply(toYaml(d), { fieldManager: "kustomize-controller" });
                    assert.strictEqual(res.status, 0, `${k.file}: ${d.kind} ${d.metadata.name} refused:\n${res.stderr}`);
                }
                // Flux waits for a Kustomization's health before its dependants; the ClusterClass
                // is healthy once Cluster API has read its variables (the Cluster webhook needs them).
                for (const cc of k.docs.filter((d) => d.kind === "ClusterClass")) {
                    await waitFor(
                        `ClusterClass ${cc.metadata.name} VariablesReady`,
                        () => {
                            const got = c().get(R.ClusterClass, cc.metadata.name, cc.metadata.namespace);
                            return conditionTrue(got, "VariablesReady") ? true : undefined;
                        },
                        poll(),
                    );
                }
            }
            assert.ok(clusters().length > 0, "the GitOps tree has no example Cluster");
        });

        it("expands each example Cluster through the real topology controller", async function () {
            for (const cl of clusters()) {
                const ns = cl.metadata.namespace as string;
                const name = cl.metadata.name;
                const vars = clusterVariables(cl);
                const cc = clusterClass(at(cl, "spec.topology.classRef.name") as string);

                const live = await waitFor(
                    `Cluster ${name} refs set by the topology controller`,
                    () => {
                        const got = c().get(R.Cluster, name, ns);
                        return at(got, "spec.infrastructureRef.name") && at(got, "spec.controlPlaneRef.name") ? got : undefined;
                    },
                    poll(),
                );

                // OpenStackCluster: external network, allow-list with the management egress CIDR, identity.
                const osc = c().get(R.OpenStackCluster, at(live, "spec.infrastructureRef.name") as string, ns);
                assert.ok(osc, "no OpenStackCluster");
                assert.deepStrictEqual(at(osc, "spec.externalNetwork"), vars.externalNetwork, "externalNetwork");
                const allowed = at(osc, "spec.apiServerLoadBalancer.allowedCIDRs") as string[];
                assert.ok(
                    Array.isArray(allowed) && allowed.includes(settings().MANAGEMENT_EGRESS_CIDR),
                    `allowedCIDRs ${JSON.stringify(allowed)} lack the management egress CIDR ${settings().MANAGEMENT_EGRESS_CIDR}`,
                );
                // The provider that enforces the allow-list, by the class's default (OVN would ignore it).
                assert.strictEqual(at(osc, "spec.apiServerLoadBalancer.provider"), "amphora", "API load balancer provider");
                const identity = rendered.manifests.flatMap((m) => m.docs).find((d) => d.kind === "OpenStackClusterIdentity");
                assert.ok(identity, "rendered manifests have no OpenStackClusterIdentity");
                assert.strictEqual(at(osc, "spec.identityRef.type"), "ClusterIdentity");
                assert.strictEqual(at(osc, "spec.identityRef.name"), identity.metadata.name);

                // KubeadmControlPlane: replicas, version, external cloud provider, machine template.
                const kcp = c().get(R.KubeadmControlPlane, at(live, "spec.controlPlaneRef.name") as string, ns);
                assert.ok(kcp, "no KubeadmControlPlane");
                assert.strictEqual(at(kcp, "spec.replicas"), at(cl, "spec.topology.controlPlane.replicas"), "control plane replicas");
                assert.strictEqual(at(kcp, "spec.version"), at(cl, "spec.topology.version"), "control plane version");
                for (const phase of ["initConfiguration", "joinConfiguration"]) {
                    const args = argMap(at(kcp, `spec.kubeadmConfigSpec.${phase}.nodeRegistration.kubeletExtraArgs`));
                    assert.strictEqual(args["cloud-provider"], "external", `${phase} kubelet cloud-provider`);
                }
                const cpOsmt = c().get(R.OpenStackMachineTemplate, at(kcp, "spec.machineTemplate.spec.infrastructureRef.name") as string, ns);
                assert.ok(cpOsmt, "no control plane OpenStackMachineTemplate");
                assert.strictEqual(at(cpOsmt, "spec.template.spec.flavor"), vars.controlPlaneFlavor, "control plane flavor");
                assert.strictEqual(at(cpOsmt, "spec.template.spec.image.imageRef.name"), vars.nodeImage, "control plane ORC image reference");
                if (vars.rootVolume !== undefined) {
                    // etcd's disk: the control plane boots from rootVolume only on a flavor without a local SSD or NVMe disk (gitops/README.md).
                    const localDisk = /-\d+[sp](_.*)?$/.test(String(vars.controlPlaneFlavor));
                    assert.deepStrictEqual(at(cpOsmt, "spec.template.spec.rootVolume"), localDisk ? undefined : vars.rootVolume, "control plane root volume");
                }

                // The topology controller creates workers once the control plane has been provisioned.
                // No machines boot here: report the control plane provisioned, as KCP would (simulated).
                c().kubectlOk([
                    "patch",
                    R.KubeadmControlPlane,
                    kcp.metadata.name,
                    "-n",
                    ns,
                    "--subresource=status",
                    "--type=merge",
                    "-p",
                    JSON.stringify({ status: { version: at(kcp, "spec.version") } }),
                ]);

                const mdTopologies = (at(cl, "spec.topology.workers.machineDeployments") as { name: string; class: string; replicas?: number }[]) ?? [];
                assert.ok(mdTopologies.length > 0, "the example Cluster has no MachineDeployment topology");
                for (const mdt of mdTopologies) {
                    const md = await waitFor(
                        `MachineDeployment ${mdt.name} of ${name}`,
                        () => {
                            const mds = c().list(R.MachineDeployment, {
                                namespace: ns,
                                selector: `cluster.x-k8s.io/cluster-name=${name},topology.cluster.x-k8s.io/deployment-name=${mdt.name}`,
                            });
                            return mds.length === 1 ? mds[0] : undefined;
                        },
                        poll(),
                    );
                    assert.strictEqual(at(md, "spec.replicas"), mdt.replicas, `${mdt.name} replicas`);
                    assert.strictEqual(at(md, "spec.template.spec.version"), at(cl, "spec.topology.version"), `${mdt.name} version`);
                    const osmt = c().get(R.OpenStackMachineTemplate, at(md, "spec.template.spec.infrastructureRef.name") as string, ns);
                    assert.ok(osmt, `${mdt.name}: no OpenStackMachineTemplate`);
                    assert.strictEqual(at(osmt, "spec.template.spec.flavor"), vars.workerFlavor, `${mdt.name} flavor`);
                    assert.strictEqual(at(osmt, "spec.template.spec.image.imageRef.name"), vars.nodeImage, `${mdt.name} ORC image reference`);
                    if (vars.rootVolume !== undefined) {
                        assert.deepStrictEqual(at(osmt, "spec.template.spec.rootVolume"), vars.rootVolume, `${mdt.name} root volume`);
                    }
                    const kct = c().get(R.KubeadmConfigTemplate, at(md, "spec.template.spec.bootstrap.configRef.name") as string, ns);
                    assert.ok(kct, `${mdt.name}: no KubeadmConfigTemplate`);
                    assert.strictEqual(
                        argMap(at(kct, "spec.template.spec.joinConfiguration.nodeRegistration.kubeletExtraArgs"))["cloud-provider"],
                        "external",
                        `${mdt.name} kubelet cloud-provider`,
                    );
                }

                // MachineHealthChecks: one per health check the ClusterClass defines, with its checks.
                const expected: { what: string; selectorLabel: string; hc: unknown }[] = [];
                if (at(cc, "spec.controlPlane.healthCheck")) {
                    expected.push({ what: "control plane", selectorLabel: "cluster.x-k8s.io/control-plane", hc: at(cc, "spec.controlPlane.healthCheck") });
                }
                const mdClasses =
                    (at(cc, "spec.workers.machineDeployments") as { class: string; healthCheck?: { remediation?: { maxInFlight?: unknown } } }[]) ?? [];
                for (const mdt of mdTopologies) {
                    const classHc = mdClasses.find((m) => m.class === mdt.class)?.healthCheck;
                    if (classHc) {
                        // A worker class's remediation.maxInFlight is the MachineDeployment's to
                        // enforce (spec.remediation.maxInFlight), not the MachineHealthCheck's.
                        const hc = structuredClone(classHc);
                        const maxInFlight = hc.remediation?.maxInFlight;
                        delete hc.remediation?.maxInFlight;
                        if (maxInFlight !== undefined) {
                            const md = c().list(R.MachineDeployment, {
                                namespace: ns,
                                selector: `cluster.x-k8s.io/cluster-name=${name},topology.cluster.x-k8s.io/deployment-name=${mdt.name}`,
                            })[0];
                            assert.deepStrictEqual(
                                at(md, "spec.remediation.maxInFlight"),
                                maxInFlight,
                                `${mdt.name}: MachineDeployment remediation.maxInFlight`,
                            );
                        }
                        expected.push({ what: `workers ${mdt.name}`, selectorLabel: "topology.cluster.x-k8s.io/deployment-name", hc });
                    }
                }
                const mhcs = await waitFor(
                    `MachineHealthChecks of ${name}`,
                    () => {
                        const got = c().list(R.MachineHealthCheck, { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${name}` });
                        return got.length >= expected.length ? got : undefined;
                    },
                    poll(),
                );
                assert.strictEqual(mhcs.length, expected.length, "MachineHealthCheck count");
                for (const e of expected) {
                    const mhc = mhcs.find((m) => (at(m, "spec.selector.matchLabels") as Record<string, string> | undefined)?.[e.selectorLabel] !== undefined);
                    assert.ok(mhc, `no MachineHealthCheck for the ${e.what}`);
                    assert.deepStrictEqual(subsetDiff(mhc.spec, e.hc), [], `MachineHealthCheck for the ${e.what} differs from the ClusterClass`);
                }
            }
        });

        it("render --topology writes each Cluster as the topology controller expands it (the same as here, but for generated names)", function () {
            this.timeout(20 * 60_000);
            // Render starts a management cluster of its own from the test bed (render/topologyBed.ts).
            const withTopology = renderStack(stack, path.join(workDir, "render-topology"), ["--topology"]);
            for (const cl of clusters()) {
                const ns = cl.metadata.namespace as string;
                const rendered = withTopology.topology[cl.metadata.name];
                assert.ok(rendered, `render --topology wrote no gitops/topology/${cl.metadata.name}.yaml`);
                const live = c().get(R.Cluster, cl.metadata.name, ns);
                const kcp = c().get(R.KubeadmControlPlane, at(live, "spec.controlPlaneRef.name") as string, ns);
                const osc = c().get(R.OpenStackCluster, at(live, "spec.infrastructureRef.name") as string, ns);
                const cpOsmt = c().get(R.OpenStackMachineTemplate, at(kcp, "spec.machineTemplate.spec.infrastructureRef.name") as string, ns);
                const md = c().list(R.MachineDeployment, { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${cl.metadata.name}` })[0];
                const wOsmt = c().get(R.OpenStackMachineTemplate, at(md, "spec.template.spec.infrastructureRef.name") as string, ns);
                const kct = c().get(R.KubeadmConfigTemplate, at(md, "spec.template.spec.bootstrap.configRef.name") as string, ns);
                const osmts = rendered.filter((d) => d.kind === "OpenStackMachineTemplate");
                assert.strictEqual(osmts.length, 2, "render's OpenStackMachineTemplates: control plane, then the workers'");
                // This test's own re-apply (above) changed nothing yet: the Cluster is as the tree has it.
                assert.deepStrictEqual(only(rendered, "OpenStackCluster").spec, osc?.spec, "OpenStackCluster.spec");
                assert.deepStrictEqual(
                    at(only(rendered, "KubeadmControlPlane"), "spec.kubeadmConfigSpec"),
                    at(kcp, "spec.kubeadmConfigSpec"),
                    "KubeadmControlPlane kubeadmConfigSpec",
                );
                assert.deepStrictEqual(at(osmts[0], "spec.template"), at(cpOsmt, "spec.template"), "control plane OpenStackMachineTemplate");
                assert.deepStrictEqual(at(osmts[1], "spec.template"), at(wOsmt, "spec.template"), "worker OpenStackMachineTemplate");
                assert.deepStrictEqual(at(only(rendered, "KubeadmConfigTemplate"), "spec.template"), at(kct, "spec.template"), "worker KubeadmConfigTemplate");
            }
        });

        it("rolls the workers out when a Cluster's worker flavor and replicas change in Git (re-apply)", async function () {
            for (const cl of clusters()) {
                const ns = cl.metadata.namespace as string;
                const changed = clone(cl);
                const vars = at(changed, "spec.topology.variables") as { name: string; value: unknown }[];
                const flavor = vars.find((v) => v.name === "workerFlavor");
                assert.ok(flavor, "the example Cluster sets no workerFlavor");
                const newFlavor = `${String(flavor.value)}-resized`;
                flavor.value = newFlavor;
                const mdt = (at(changed, "spec.topology.workers.machineDeployments") as { name: string; replicas: number }[])[0];
                const newReplicas = (mdt.replicas ?? 1) + 1;
                mdt.replicas = newReplicas;
                const selector = `cluster.x-k8s.io/cluster-name=${cl.metadata.name},topology.cluster.x-k8s.io/deployment-name=${mdt.name}`;
                const before = c().list(R.MachineDeployment, { namespace: ns, selector })[0];
                const oldTemplate = at(before, "spec.template.spec.infrastructureRef.name");

                const r = c().apply(toYaml(changed), { fieldManager: "kustomize-controller" });
                assert.strictEqual(r.status, 0, `re-apply refused:\n${r.stderr}`);
                const after = await waitFor(
                    `MachineDeployment ${mdt.name} rolled to a new template`,
                    () => {
                        const md = c().list(R.MachineDeployment, { namespace: ns, selector })[0];
                        return at(md, "spec.template.spec.infrastructureRef.name") !== oldTemplate && at(md, "spec.replicas") === newReplicas ? md : undefined;
                    },
                    poll(),
                );
                const osmt = c().get(R.OpenStackMachineTemplate, at(after, "spec.template.spec.infrastructureRef.name") as string, ns);
                assert.strictEqual(at(osmt, "spec.template.spec.flavor"), newFlavor, "new template's flavor");
                // The control plane keeps its machines: its template is unchanged.
                const live = c().get(R.Cluster, cl.metadata.name, ns);
                const kcp = c().get(R.KubeadmControlPlane, at(live, "spec.controlPlaneRef.name") as string, ns);
                const cpOsmt = c().get(R.OpenStackMachineTemplate, at(kcp, "spec.machineTemplate.spec.infrastructureRef.name") as string, ns);
                assert.notStrictEqual(at(cpOsmt, "spec.template.spec.flavor"), newFlavor, "control plane flavor must not follow workerFlavor");
            }
        });

        it("gives a Cluster's proxy and registry mirrors to its KubeadmControlPlane and KubeadmConfigTemplate files, with etcd care on and off, and none without", async function () {
            const base = clusters()[0];
            const ns = base.metadata.namespace as string;
            const proxy = { http: "http://proxy.example.com:3128", https: "http://proxy.example.com:3128", noProxy: [".example.com", "10.20.0.0/16"] };
            const registryMirrors = [
                { registry: "docker.io", endpoints: ["https://mirror.example.com", "https://harbor.example.com/v2/dockerhub"] },
                { registry: "ghcr.io", endpoints: ["https://mirror.example.com"] },
            ];
            type File = { path: string; content: string };
            const paths = (files: unknown) => ((files as File[] | undefined) ?? []).map((f) => f.path);
            const isEgressFile = (p: string) => p.startsWith("/etc/containerd/certs.d/") || /http-proxy|capi-mgmt-proxy|capi-mgmt-registry-mirrors/.test(p);
            const MIRRORS_SCRIPT = "/usr/local/sbin/capi-mgmt-registry-mirrors";
            // The proxy's files and commands, then the one mirror script and the command running it.
            const egressFiles = [
                "/etc/default/capi-mgmt-proxy",
                "/etc/systemd/system/containerd.service.d/http-proxy.conf",
                "/etc/systemd/system/kubelet.service.d/http-proxy.conf",
                "/usr/local/sbin/capi-mgmt-proxy-api-endpoint",
                MIRRORS_SCRIPT,
            ];
            const egressCommands = ["/usr/local/sbin/capi-mgmt-proxy-api-endpoint", "systemctl daemon-reload", "systemctl restart containerd", MIRRORS_SCRIPT];

            // The examples set neither variable: no such file on their nodes, no command before kubeadm.
            for (const cl of clusters()) {
                const live = c().get(R.Cluster, cl.metadata.name, cl.metadata.namespace);
                const kcp = c().get(R.KubeadmControlPlane, at(live, "spec.controlPlaneRef.name") as string, cl.metadata.namespace);
                assert.deepStrictEqual(paths(at(kcp, "spec.kubeadmConfigSpec.files")).filter(isEgressFile), [], `${cl.metadata.name}: control plane`);
                assert.strictEqual(at(kcp, "spec.kubeadmConfigSpec.preKubeadmCommands"), undefined);
                const md = c().list(R.MachineDeployment, {
                    namespace: cl.metadata.namespace,
                    selector: `cluster.x-k8s.io/cluster-name=${cl.metadata.name}`,
                })[0];
                const kct = c().get(R.KubeadmConfigTemplate, at(md, "spec.template.spec.bootstrap.configRef.name") as string, cl.metadata.namespace);
                assert.strictEqual(at(kct, "spec.template.spec.files"), undefined, `${cl.metadata.name}: workers`);
                assert.strictEqual(at(kct, "spec.template.spec.preKubeadmCommands"), undefined, `${cl.metadata.name}: workers`);
            }

            for (const etcdMaintenance of [true, false]) {
                // A copy of the example without labels (no add-on, no resource set selects it).
                const cl = clone(base);
                cl.metadata.name = `${base.metadata.name}-egress${etcdMaintenance ? "" : "-noetcd"}`;
                cl.metadata.labels = {};
                const vars = (at(cl, "spec.topology.variables") as { name: string; value: unknown }[]).filter(
                    (v) => !["proxy", "registryMirrors", "etcdMaintenance"].includes(v.name),
                );
                vars.push(
                    { name: "proxy", value: proxy },
                    { name: "registryMirrors", value: registryMirrors },
                    { name: "etcdMaintenance", value: etcdMaintenance },
                );
                (cl.spec as { topology: { variables: unknown } }).topology.variables = vars;
                const r = c().apply(toYaml(cl), { fieldManager: "kustomize-controller" });
                assert.strictEqual(r.status, 0, `${cl.metadata.name} refused:\n${r.stderr}`);

                const live = await waitFor(
                    `Cluster ${cl.metadata.name} expanded`,
                    () => {
                        const got = c().get(R.Cluster, cl.metadata.name, ns);
                        return at(got, "spec.controlPlaneRef.name") ? got : undefined;
                    },
                    poll(),
                );
                const kcp = await waitFor(
                    `KubeadmControlPlane of ${cl.metadata.name}`,
                    () => c().get(R.KubeadmControlPlane, at(live, "spec.controlPlaneRef.name") as string, ns),
                    poll(),
                );
                assert.deepStrictEqual(
                    paths(at(kcp, "spec.kubeadmConfigSpec.files")).filter((p) => p.includes("etcd-maintenance")).length > 0,
                    etcdMaintenance,
                    "etcd care files follow etcdMaintenance",
                );
                assert.deepStrictEqual(
                    paths(at(kcp, "spec.kubeadmConfigSpec.files")).filter(isEgressFile),
                    egressFiles,
                    "control plane: the proxy's files, then the mirror script (appended after etcd care's)",
                );
                assert.deepStrictEqual(
                    at(kcp, "spec.kubeadmConfigSpec.preKubeadmCommands"),
                    egressCommands,
                    "control plane: the proxy's commands, then the mirror script",
                );
                const cpScript = (at(kcp, "spec.kubeadmConfigSpec.files") as File[]).find((f) => f.path === MIRRORS_SCRIPT)!.content;
                for (const m of registryMirrors) {
                    assert.ok(cpScript.includes(`write_hosts '${m.registry}' <<'EOF'`), `the mirror script writes ${m.registry}`);
                }

                c().kubectlOk([
                    "patch",
                    R.KubeadmControlPlane,
                    kcp.metadata.name,
                    "-n",
                    ns,
                    "--subresource=status",
                    "--type=merge",
                    "-p",
                    JSON.stringify({ status: { version: at(kcp, "spec.version") } }),
                ]);
                const md = await waitFor(
                    `MachineDeployment of ${cl.metadata.name}`,
                    () => {
                        const mds = c().list(R.MachineDeployment, { namespace: ns, selector: `cluster.x-k8s.io/cluster-name=${cl.metadata.name}` });
                        return mds.length > 0 ? mds[0] : undefined;
                    },
                    poll(),
                );
                const kct = c().get(R.KubeadmConfigTemplate, at(md, "spec.template.spec.bootstrap.configRef.name") as string, ns);
                assert.deepStrictEqual(paths(at(kct, "spec.template.spec.files")), egressFiles, "workers: the proxy's files, then the mirror script");
                assert.deepStrictEqual(
                    at(kct, "spec.template.spec.preKubeadmCommands"),
                    egressCommands,
                    "workers: the proxy's commands, then the mirror script",
                );
                assert.strictEqual(
                    (at(kct, "spec.template.spec.files") as File[]).find((f) => f.path === MIRRORS_SCRIPT)!.content,
                    cpScript,
                    "workers: the control plane's mirror script",
                );
            }
        });

        it("refuses bad proxy, registry mirror and API load balancer values (Cluster API's webhook: the class's schema, and CEL rules on the proxy and apiLoadBalancer)", function () {
            const cases: [string, unknown, RegExp][] = [
                ["apiLoadBalancer", { provider: "ovn" }, /ignores apiAllowedCidrs/],
                ["apiLoadBalancer", { provider: "cloud-default" }, /ignores apiAllowedCidrs/],
                ["apiLoadBalancer", { provider: "ovn", allowListNotEnforced: "yes" }, /Unsupported value|enum/i],
                ["proxy", { http: "http://user:secret@proxy.example.com:3128" }, /must not carry a user or password/],
                ["proxy", { http: "http://proxy.example.com:3128/path" }, /should match|pattern/i],
                ["proxy", { https: "https://token@proxy.example.com" }, /must not carry a user or password/],
                ["proxy", { noProxy: [".example.com"] }, /required|anyOf|http/i],
                ["proxy", { http: "http://proxy.example.com:3128", noProxy: ["not a host"] }, /should match|pattern/i],
                ["registryMirrors", [{ registry: "https://docker.io", endpoints: ["https://a.example"] }], /should match|pattern/i],
                ["registryMirrors", [{ registry: "docker.io", endpoints: ["https://user:pw@a.example"] }], /should match|pattern/i],
                ["registryMirrors", [{ registry: "a..b.example", endpoints: ["https://a.example"] }], /should match|pattern/i],
                [
                    "registryMirrors",
                    Array.from({ length: 9 }, (_, i) => ({ registry: `r${i}.example`, endpoints: ["https://m.example"] })),
                    /must have at most 8 items|maxItems|Too many/i,
                ],
            ];
            for (const [i, [name, value, message]] of cases.entries()) {
                const cl = clone(clusters()[0]);
                cl.metadata.name = `${cl.metadata.name}-bad-${i}`;
                cl.metadata.labels = {};
                const vars = (at(cl, "spec.topology.variables") as { name: string; value: unknown }[]).filter((v) => v.name !== name);
                vars.push({ name, value });
                (cl.spec as { topology: { variables: unknown } }).topology.variables = vars;
                const msg = refusal(c(), ["apply", "--server-side", "-f", "-"], toYaml(cl));
                assert.match(msg, new RegExp(`spec\\.topology\\.variables\\[${name}\\]`), `${name} ${JSON.stringify(value)}: ${msg}`);
                assert.match(msg, message, `${name} ${JSON.stringify(value)}: ${msg}`);
            }
        });

        it("ClusterResourceSet selects every example Cluster and delivers its Secret's manifest", async function () {
            const crs = rendered.manifests.flatMap((m) => m.docs).find((d) => d.kind === "ClusterResourceSet");
            assert.ok(crs, "rendered manifests have no ClusterResourceSet");
            const ns = crs.metadata.namespace as string;
            const matchLabels = at(crs, "spec.clusterSelector.matchLabels") as Record<string, string>;
            const selector = Object.entries(matchLabels)
                .map(([k, v]) => `${k}=${v}`)
                .join(",");
            const selected = c()
                .list(R.Cluster, { namespace: ns, selector })
                .map((x) => x.metadata.name)
                .sort();
            assert.deepStrictEqual(
                selected,
                clusters()
                    .filter((x) => x.metadata.namespace === ns)
                    .map((x) => x.metadata.name)
                    .sort(),
                "the ClusterResourceSet's selector must select exactly the example Clusters",
            );

            // The rendered Secret has its value redacted; fill it the way the program does.
            const resources = at(crs, "spec.resources") as { kind: string; name: string }[];
            const secretDoc = rendered.manifests
                .flatMap((m) => m.docs)
                .find((d) => d.kind === "Secret" && d.metadata.name === resources[0].name && d.metadata.namespace === ns);
            assert.ok(secretDoc, `no rendered Secret ${resources[0].name}`);
            const filled = clone(secretDoc) as KubeObject & { stringData: Record<string, string> };
            filled.stringData = cloudConfigResourceData(
                renderCloudConf({ authUrl: "https://keystone.example:5000/v3", id: "testbed-id", secret: "testbed-secret" }),
            );
            assert.deepStrictEqual(
                Object.keys(filled.stringData).sort(),
                Object.keys((secretDoc as unknown as { stringData: object }).stringData).sort(),
                "the program's data keys differ from the rendered Secret's",
            );
            const r = c().apply(toYaml(filled));
            assert.strictEqual(r.status, 0, `resource-set Secret refused:\n${r.stderr}`);

            // Cluster API applies the resources once it can reach the cluster: infrastructure
            // provisioned, control plane initialized, kubeconfig Secret. Simulated here, as CAPO and
            // KCP would report it; the "workload cluster" is this API server itself.
            const apiPort = Number(new URL(c().server).port);
            for (const name of selected) {
                const live = c().get(R.Cluster, name, ns);
                const osc = at(live, "spec.infrastructureRef.name") as string;
                c().kubectlOk([
                    "patch",
                    R.OpenStackCluster,
                    osc,
                    "-n",
                    ns,
                    "--type=merge",
                    "-p",
                    JSON.stringify({ spec: { controlPlaneEndpoint: { host: "127.0.0.1", port: apiPort } } }),
                ]);
                c().kubectlOk([
                    "patch",
                    R.OpenStackCluster,
                    osc,
                    "-n",
                    ns,
                    "--subresource=status",
                    "--type=merge",
                    "-p",
                    JSON.stringify({ status: { ready: true } }),
                ]);
                c().applyOk(
                    toYaml({
                        apiVersion: "v1",
                        kind: "Secret",
                        type: "cluster.x-k8s.io/secret",
                        metadata: { name: `${name}-kubeconfig`, namespace: ns, labels: { "cluster.x-k8s.io/cluster-name": name } },
                        stringData: { value: embeddedKubeconfig(c()) },
                    }),
                );
                c().kubectlOk([
                    "patch",
                    R.KubeadmControlPlane,
                    at(live, "spec.controlPlaneRef.name") as string,
                    "-n",
                    ns,
                    "--subresource=status",
                    "--type=merge",
                    "-p",
                    JSON.stringify({ status: { initialization: { controlPlaneInitialized: true } } }),
                ]);
            }
            const target = (await import("yaml")).parse(filled.stringData[Object.keys(filled.stringData)[0]]) as KubeObject;
            await waitFor(
                `${target.metadata.namespace}/${target.metadata.name} delivered by the ClusterResourceSet`,
                () => {
                    return c().get("secrets", target.metadata.name, target.metadata.namespace) ? true : undefined;
                },
                poll(),
            );
            for (const name of selected) {
                const binding = await waitFor(
                    `ClusterResourceSetBinding of ${name}`,
                    () => {
                        const b = c().get(R.ClusterResourceSetBinding, name, ns);
                        const applied = ((at(b, "spec.bindings") as { clusterResourceSetName: string; resources?: { applied: boolean }[] }[]) ?? []).find(
                            (x) => x.clusterResourceSetName === crs.metadata.name,
                        );
                        return applied?.resources?.every((x) => x.applied) && applied.resources.length > 0 ? b : undefined;
                    },
                    poll(),
                );
                assert.ok(binding);
            }
            const delivered = c().get("secrets", target.metadata.name, target.metadata.namespace) as unknown as { data: Record<string, string> };
            assert.deepStrictEqual(Object.keys(delivered.data).sort(), Object.keys((target as unknown as { stringData: object }).stringData).sort());
        });

        describe("negative controls: the server judges", function () {
            it("refuses a change of an immutable ORC Image field", function () {
                const img = gitopsDocs().find((d) => d.kind === "Image");
                assert.ok(img, "the GitOps tree has no ORC Image");
                // The Image as the tree has it must exist (and be accepted) for an update to be judged.
                const base = c().apply(toYaml(img), { fieldManager: "kustomize-controller" });
                assert.strictEqual(base.status, 0, `precondition: the tree's Image is refused:\n${base.stderr}`);
                const changed = clone(img) as KubeObject & { spec: { managementPolicy?: string } };
                changed.spec.managementPolicy = changed.spec.managementPolicy === "unmanaged" ? "managed" : "unmanaged";
                const msg = refusal(c(), ["apply", "--server-side", "--field-manager=kustomize-controller", "-f", "-"], toYaml(changed));
                assert.match(msg, /managementPolicy is immutable/);
                const content = at(img, "spec.resource.content");
                if (content) {
                    const c2 = clone(img);
                    (at(c2, "spec.resource.content.download") as { url: string }).url += "?changed";
                    assert.match(
                        refusal(c(), ["apply", "--server-side", "--field-manager=kustomize-controller", "-f", "-"], toYaml(c2)),
                        /content is immutable/,
                    );
                }
            });

            it("refuses a change of a create-only OpenStackCluster field (CAPO's webhook)", function () {
                const cl = clusters()[0];
                const live = c().get(R.Cluster, cl.metadata.name, cl.metadata.namespace);
                const name = at(live, "spec.infrastructureRef.name") as string | undefined;
                assert.ok(name, `precondition: Cluster ${cl.metadata.name} has no OpenStackCluster (topology not expanded, see above)`);
                const msg = refusal(c(), [
                    "patch",
                    R.OpenStackCluster,
                    name,
                    "-n",
                    cl.metadata.namespace as string,
                    "--type=merge",
                    "-p",
                    JSON.stringify({ spec: { externalNetwork: { filter: { name: "another-external-network" } } } }),
                ]);
                // CAPO's validating webhook (pkg/webhooks) is the only judge that says this.
                assert.match(msg, new RegExp(`OpenStackCluster "${name}" is invalid: spec: Forbidden: cannot be modified`));
            });

            it("refuses a Cluster variable outside the ClusterClass schema (Cluster API's webhook)", function () {
                // Cluster API defers the check while the class has not been read: it must have been.
                const className = at(clusters()[0], "spec.topology.classRef.name") as string;
                const cc = c().get(R.ClusterClass, className, clusters()[0].metadata.namespace);
                assert.ok(conditionTrue(cc, "VariablesReady"), `precondition: ClusterClass ${className} missing or its variables not read (refused above?)`);
                const cl = clone(clusters()[0]);
                cl.metadata.name = `${cl.metadata.name}-invalid`;
                const vars = at(cl, "spec.topology.variables") as { name: string; value: unknown }[];
                vars.push({ name: "notAClassVariable", value: "x" });
                const msg = refusal(c(), ["apply", "--server-side", "-f", "-"], toYaml(cl));
                // Cluster API's Cluster webhook checks the variables against the ClusterClass's status.
                assert.match(msg, /Cluster ".*-invalid" is invalid: spec\.topology\.variables\[notAClassVariable\]: Invalid value: .*variable is not defined/);

                const wrongType = clone(clusters()[0]);
                wrongType.metadata.name = `${wrongType.metadata.name}-wrongtype`;
                const v = (at(wrongType, "spec.topology.variables") as { name: string; value: unknown }[]).find((x) => x.name === "apiAllowedCidrs");
                assert.ok(v, "the example Cluster sets no apiAllowedCidrs");
                v.value = ["not-a-cidr"];
                const msg2 = refusal(c(), ["apply", "--server-side", "-f", "-"], toYaml(wrongType));
                assert.match(msg2, /spec\.topology\.variables\[apiAllowedCidrs\]/);
                assert.match(msg2, /should match|pattern/i);
            });

            it("refuses a Flux Kustomization with an unknown field (strict field validation)", function () {
                const k = clone(rendered.kustomizations[0].kustomization) as KubeObject & { spec: Record<string, unknown> };
                k.spec.notAField = true;
                const msg = refusal(c(), ["apply", "--server-side", "--field-manager=kustomize-controller", "-f", "-"], toYaml(k));
                assert.match(msg, /unknown field "spec.notAField"|field not declared in schema/);
                // The same object without the field is accepted: the refusal is about the field.
                const ok = c().apply(toYaml(rendered.kustomizations[0].kustomization), { fieldManager: "kustomize-controller" });
                assert.strictEqual(ok.status, 0, ok.stderr);
                assert.ok(c().get(R.Kustomization, k.metadata.name, k.metadata.namespace));
            });
        });
    });
}
