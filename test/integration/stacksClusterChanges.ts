/**
 * The stack suite's tests of what follows a change to a Cluster (registered by
 * stacks.integration.ts on its control plane, after the tree is applied): render --topology, a
 * worker rollout, the proxy and mirror files on the nodes, and the webhook refusing bad values.
 */
import * as assert from "assert";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { at, clone } from "./harness/objects";
import { waitFor } from "./harness/processes";
import { patchStatus } from "./harness/simulated";
import { renderStack } from "./harness/stack";
import { R, refusal, only, StackSuite } from "./stacksSuite";

/** Registers these tests in the calling stack suite (stacks.integration.ts), in this order. */
export function clusterChangeTests(s: StackSuite): void {
    const { stack, c, poll, clusters } = s;
    it("render --topology writes each Cluster as the topology controller expands it (the same as here, but for generated names)", function () {
        this.timeout(20 * 60_000);
        // Render starts a management cluster of its own from the test bed (render/topologyBed.ts).
        const withTopology = renderStack(stack, path.join(s.workDir(), "render-topology"), ["--topology"]);
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

            patchStatus(c(), R.KubeadmControlPlane, kcp.metadata.name, ns, { version: at(kcp, "spec.version") });
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
            assert.deepStrictEqual(at(kct, "spec.template.spec.preKubeadmCommands"), egressCommands, "workers: the proxy's commands, then the mirror script");
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
}
