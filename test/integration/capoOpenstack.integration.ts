/**
 * CAPO v0.14.7 and the Cluster API v1.14 managers (core, kubeadm bootstrap and control plane,
 * all reconciling) against the RUNNING OpenStack test bed (docs/testbed-openstack.md), in a
 * project of the test's own, with the credential the program makes (src/cloud/appCredentials.ts,
 * src/cluster/clusterCredentials.ts), the dev environment's GitOps tree applied Kustomization by
 * Kustomization. Assertions are made on the OpenStack side. ORC's manager is replaced by
 * ORC's real manager (test/integration/harness/orc.ts). Nothing boots (Nova's
 * fake driver): the assertions stop before a node would join.
 *
 * Then the deletion (issue 21): what the cluster's OCCM and Cinder CSI would have left (a
 * `kube_service_<cluster>_...` load balancer with listener, pool and floating IP on the
 * cluster's network, a tagged volume), the Cluster removed from the tree and pruned, CAPO
 * seen blocked by that load balancer, src/host/scripts/lb-cleanup.sh run as its timer runs it, and the
 * project checked: nothing of the cluster but the kept volume, deleted too with the opt-in;
 * another cluster's and a foreign load balancer untouched.
 *
 * Runs only when the bed runs (`npm run -s testbed:openstack -- status`) and the test-bed cache
 * has the managers; skipped otherwise, with the reason.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { renderCloudConf, renderCloudsYaml } from "../../src/cluster/cloudCredentials";
import {
    capoCredentialsSecret,
    capoIdentity,
    cloudConfigResourceData,
    cloudConfigResourceSecret,
    cloudConfigResourceSet,
    cloudCredentialsData,
    fluxSettingsConfigMap,
    fluxSettingsData,
    namespace,
    orcCredentialsSecret,
} from "../../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../../src/shared/contract";
import { testbedFluxSubstituter } from "../../render/fluxEnvsubst";
import { Environment, readEnvironment, TreeObject } from "../../render/gitopsTree";
import { checkCapoCluster, checkFirstControlPlaneMachine, CapoExpectations, timed, timings } from "./capoChecks";
import { runDeletion } from "./capoDeletionFlow";
import { createAppCredential, createProject, describeInventory, destroyProject, inventory, Obj, OwnProject } from "./capoProject";
import { runTeardown } from "./capoTeardown";
import { ControlPlane } from "./harness/controlPlane";
import { PROVIDERS, requiredComponents, startManagementCluster } from "./harness/managementCluster";
import { at, conditionTrue } from "./harness/objects";
import { waitFor } from "./harness/processes";
import { dependencyOrder, PROJECT_DIR } from "./harness/stack";
import { startOrc } from "./harness/orc";
import { Testbed } from "./harness/testbed";
import { bedRunning, clouds, loopback, sockets } from "./openstackBed";

/** Managers that reconcile here (the others keep the idle watch filter: CAAPH would fetch Helm charts). */
const RECONCILING = ["capi-core", "capi-kubeadm-bootstrap", "capi-kubeadm-control-plane", "capo"];
/** Bound of one step that waits on CAPO and the bed (Octavia's worker is the slowest). */
const STEP_TIMEOUT_MS = 600_000;
const PREFIX = "capi-mgmt-dev";

for (const env of (process.env.CAPO_BED_ENVS ?? "dev").split(",")) {
    describe(`CAPO and Cluster API against the OpenStack test bed, ${env} environment's tree`, function () {
        this.timeout(STEP_TIMEOUT_MS + 120_000);
        let cp: ControlPlane | undefined;
        let project: OwnProject | undefined;
        let workDir: string;
        let mgmtFip: Obj;
        let publicNet: Obj;
        let settings: Record<string, string>;
        let envTree: Environment;
        const ns = DEFAULT_WORKLOAD_NAMESPACE;
        const foreignPeers = new Set<string>();
        let sampler: NodeJS.Timeout | undefined;
        const c = () => {
            assert.ok(cp, "management cluster not started");
            return cp;
        };
        const p = () => {
            assert.ok(project, "project not created");
            return project;
        };
        const wait = () => ({ timeoutMs: STEP_TIMEOUT_MS, intervalMs: 3000, watched: c().processes });
        const units = () =>
            dependencyOrder(
                envTree.units.map((u) => ({
                    name: u.kustomization.object.metadata.name,
                    dependsOn: ((u.kustomization.object.spec?.dependsOn as { name: string }[]) ?? []).map((d) => d.name),
                    unit: u,
                })),
            );
        const treeClusters = () => envTree.units.flatMap((u) => u.documents.map((d) => d.object)).filter((o) => o.kind === "Cluster");
        /** src/host/scripts/teardown.sh run off the server (runTeardown), timed as `what`, its log printed indented. */
        const teardown = (what: string) => {
            const r = timed(what, Date.now(), runTeardown(c().kubeconfig, fs.mkdtempSync(path.join(workDir, "teardown-")), 300, 120));
            console.log(
                r.stderr
                    .split("\n")
                    .map((l) => `      | ${l}`)
                    .join("\n"),
            );
            return r;
        };

        before(async function () {
            this.timeout(20 * 60_000);
            const testbed = Testbed.load();
            const missing = testbed.missing([...requiredComponents(), "orc", "flux-envsubst"]);
            if (missing || !bedRunning()) {
                console.log(`      SKIPPED: ${missing ?? "the OpenStack test bed does not run (npm run testbed:openstack -- up)"}`);
                this.skip();
            }
            const t0 = Date.now();
            workDir = fs.mkdtempSync(path.join(os.tmpdir(), `capi-mgmt-capobed-${env}-`));
            project = await createProject(clouds().admin, `capobed-${env}`);
            const s = project.user;
            publicNet = (await s.call<{ networks: Obj[] }>("network", "GET", "/v2.0/networks?name=public")).networks[0];
            // The management server's floating IP (the program's server gets one on the external network).
            mgmtFip = (
                await s.call<{ floatingip: Obj }>("network", "POST", "/v2.0/floatingips", {
                    floatingip: { floating_network_id: publicNet.id, description: "stand-in for the management server's floating IP" },
                })
            ).floatingip;
            settings = fluxSettingsData({ workloadNamespace: ns, managementAddress: mgmtFip.floating_ip_address as string });
            envTree = readEnvironment(path.join(PROJECT_DIR, "gitops"), `./clusters/${env}`, settings, testbedFluxSubstituter());
            timed("project, user, floating IP", t0, undefined);
            const t1 = Date.now();
            cp = await startManagementCluster(
                testbed,
                `capobed-${env}`,
                PROVIDERS.map((x) => (RECONCILING.includes(x.name) ? { ...x, args: [] } : x)),
            );
            // ORC's real manager (v2.6.0), with the credential the program gives it (its Secret, applied with the tree's settings).
            await startOrc(cp, testbed);
            timed("management API server and managers started", t1, undefined);
            // Network rule: every TCP peer of the API server, etcd and the managers is on loopback.
            const pids = new Set(
                c()
                    .processes.map((x) => x.pid)
                    .filter((x): x is number => x !== undefined),
            );
            sampler = setInterval(() => {
                for (const sock of sockets()) {
                    if (sock.pids.some((x) => pids.has(x)) && sock.state !== "LISTEN" && !loopback(sock.peer)) {
                        foreignPeers.add(`${sock.state} ${sock.local} -> ${sock.peer}`);
                    }
                }
            }, 2000);
        });

        afterEach(function () {
            if (this.currentTest?.state === "failed" && cp) {
                console.log(cp.report(40));
            }
        });

        after(async function () {
            this.timeout(15 * 60_000);
            if (sampler) {
                clearInterval(sampler);
            }
            console.log(`      timings (s): ${timings.map(([w, s]) => `${w}: ${s}`).join("; ")}`);
            await cp?.stop();
            if (project) {
                await destroyProject(project);
            }
            if (workDir) {
                fs.rmSync(workDir, { recursive: true, force: true });
            }
        });

        it("puts the program's credential objects in the management cluster (application credential of the test's project)", async function () {
            const authUrl = clouds().admin.auth.auth_url;
            const region = p().cloud.region_name;
            const capi = await createAppCredential(p(), PREFIX, "capi");
            const cloudProvider = await createAppCredential(p(), PREFIX, "cloud-provider");
            const capiData = cloudCredentialsData(renderCloudsYaml({ authUrl, region, id: capi.id, secret: capi.secret }));
            const objects = [
                namespace(ns),
                capoCredentialsSecret(capiData),
                capoIdentity(ns),
                orcCredentialsSecret(ns, capiData),
                cloudConfigResourceSecret(
                    ns,
                    cloudConfigResourceData(renderCloudConf({ authUrl, region, id: cloudProvider.id, secret: cloudProvider.secret })),
                ),
                cloudConfigResourceSet(ns),
                fluxSettingsConfigMap(settings),
            ];
            for (const o of objects) {
                c().applyOk(toYaml(o));
            }
        });

        it("applies the GitOps tree Kustomization by Kustomization; ORC imports the node image from Glance and creates the server groups", async function () {
            const t0 = Date.now();
            const flux = (o: TreeObject, unit: string) => ({
                ...o,
                metadata: {
                    ...o.metadata,
                    labels: { ...(o.metadata.labels ?? {}), "kustomize.toolkit.fluxcd.io/name": unit, "kustomize.toolkit.fluxcd.io/namespace": "flux-system" },
                },
            });
            for (const d of envTree.root) {
                c().applyOk(toYaml(flux(d.object, "flux-system")), { fieldManager: "kustomize-controller" });
            }
            for (const { name, unit } of units()) {
                const docs = unit.documents.map((d) => flux(d.object, name));
                for (const d of docs) {
                    c().applyOk(toYaml(d), { fieldManager: "kustomize-controller" });
                }
                for (const cc of docs.filter((d) => d.kind === "ClusterClass")) {
                    await waitFor(
                        `ClusterClass ${cc.metadata.name} VariablesReady`,
                        () =>
                            conditionTrue(c().get("clusterclasses.v1beta2.cluster.x-k8s.io", cc.metadata.name, cc.metadata.namespace), "VariablesReady")
                                ? true
                                : undefined,
                        wait(),
                    );
                }
                for (const o of docs.filter((d) => d.apiVersion?.startsWith("openstack.k-orc.cloud/"))) {
                    const kind = `${o.kind.toLowerCase()}s.${o.apiVersion.split("/")[1]}.openstack.k-orc.cloud`;
                    const id = await waitFor(
                        `ORC ${o.kind} ${o.metadata.name} Available`,
                        () => {
                            const live = c().get(kind, o.metadata.name, o.metadata.namespace);
                            return conditionTrue(live, "Available") ? (at(live, "status.id") as string | undefined) : undefined;
                        },
                        wait(),
                    );
                    console.log(`      ORC: ${o.kind} ${o.metadata.name} -> ${id}`);
                }
            }
            assert.strictEqual(treeClusters().length, 1, "the tree's environment has one example Cluster");
            timed("tree applied", t0, undefined);
        });

        let expect: CapoExpectations;

        it("CAPO creates the cluster network, subnet, router (gateway on public), security groups and the API load balancer (amphora, allow-list, floating IP)", async function () {
            const t0 = Date.now();
            const cl = treeClusters()[0];
            expect = await checkCapoCluster({ cp: c(), s: p().user, cluster: cl, publicNet, mgmtAddress: mgmtFip.floating_ip_address as string, wait: wait() });
            timed("OpenStackCluster ready (network, router, security groups, API load balancer)", t0, undefined);
        });

        it("the first control-plane server has the class's flavor, root volume (or image boot), server group and availability zone", async function () {
            assert.ok(expect, "precondition: the OpenStackCluster check above passed");
            const t0 = Date.now();
            await checkFirstControlPlaneMachine({ cp: c(), s: p().user, expect, wait: wait() });
            timed("first control-plane server ACTIVE", t0, undefined);
        });

        it("host teardown (run off the server) refuses the cluster whose workload API does not answer: keeps it, deletes nothing, resumes Flux, exits 1", async function () {
            assert.ok(expect, "precondition: the OpenStackCluster check above passed");
            const before = describeInventory(await inventory(p().user)).sort();
            const r = teardown("teardown refusing an unreachable cluster");
            assert.strictEqual(r.status, 1, `teardown exit status\n${r.stdout}`);
            assert.match(r.stderr, new RegExp(`${ns}/${expect.clusterName}: the workload cluster's API cannot be reached`));
            const live = c().get("clusters.v1beta2.cluster.x-k8s.io", expect.clusterName, ns);
            assert.ok(live && !at(live, "metadata.deletionTimestamp"), "the Cluster is kept, not deleting");
            for (const k of c().list("kustomizations.v1.kustomize.toolkit.fluxcd.io")) {
                assert.notStrictEqual(at(k, "spec.suspend"), true, `Flux Kustomization ${k.metadata.name} resumed`);
            }
            assert.deepStrictEqual(describeInventory(await inventory(p().user)).sort(), before, "nothing deleted in OpenStack");
        });

        it("deleting the Cluster from Git completes with the project's cleanup: nothing of it is left but the kept volume, deleted too with the opt-in; nothing else is touched", async function () {
            this.timeout(40 * 60_000);
            assert.ok(expect, "precondition: the OpenStackCluster check above passed");
            await runDeletion({ cp: c(), s: p().user, expect, env, envTree, settings, workDir, publicNet, mgmtFip, wait: wait() });
        });

        it("host teardown after the deletion: no workload cluster left, ORC's objects deleted, exit 0; the shared node image stays in Glance", async function () {
            assert.ok(expect, "precondition: the OpenStackCluster check above passed");
            const r = teardown("teardown with no cluster left");
            assert.strictEqual(r.status, 0, `teardown exit status\n${r.stdout}`);
            assert.deepStrictEqual(
                c()
                    .list("images.v1alpha1.openstack.k-orc.cloud")
                    .map((o) => o.metadata.name),
                [],
                "ORC Images deleted",
            );
            const images = (await p().user.call<{ images: Obj[] }>("image", "GET", `/v2/images?name=${encodeURIComponent(expect.vars.nodeImage as string)}`))
                .images;
            assert.strictEqual(images.length, 1, "the node image (imported, unmanaged) stays in Glance");
        });

        it("no manager, API server or etcd talked to anything but loopback (the workload API's floating IP is a 127.100.x.x address)", function () {
            assert.ok(sampler, "precondition: the socket sampler ran");
            assert.deepStrictEqual([...foreignPeers], [], "TCP peers beyond loopback");
            assert.match(expect.apiAddress, /^127\.100\./, "the workload API address (the managers dial it) is on loopback");
        });
    });
}
