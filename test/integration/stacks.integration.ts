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
import { ControlPlane } from "./harness/controlPlane";
import { requiredComponents, startManagementCluster } from "./harness/managementCluster";
import { argMap, at, clusterVariables, conditionTrue, subsetDiff, yamlStream } from "./harness/objects";
import { waitFor } from "./harness/processes";
import { patchStatus } from "./harness/simulated";
import { RenderedStack, renderStack } from "./harness/stack";
import { Testbed } from "./harness/testbed";
import { clusterChangeTests } from "./stacksClusterChanges";
import { R, CONTROLLER_TIMEOUT_MS, StackSuite } from "./stacksSuite";
import { serverJudgesTests } from "./stacksServerJudges";

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
                patchStatus(c(), R.KubeadmControlPlane, kcp.metadata.name, ns, { version: at(kcp, "spec.version") });

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

        const suite: StackSuite = { stack, c, rendered: () => rendered, workDir: () => workDir, gitopsDocs, settings, clusters, clusterClass, poll };
        clusterChangeTests(suite);
        serverJudgesTests(suite);
    });
}
