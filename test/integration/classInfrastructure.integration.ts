/**
 * What the ClusterClass's patches and variable rules make of a workload cluster's
 * infrastructure, judged by the real components (test bed: classBed.ts): Cluster API's
 * topology controller evaluates the patches' `enabledIf` Go templates and copies the
 * variables into the OpenStackCluster and machine templates; its webhook evaluates the
 * variables' CEL rules, transition rules (create-only variables) included; CAAPH executes the
 * add-ons' values templates (OCCM's cloud.conf, Cinder CSI's cluster tag, which the deletion
 * cleanup src/host/scripts/lb-cleanup.sh relies on). Moved here from test/gitopsTree.spec.ts,
 * gitopsLoadBalancers.spec.ts and gitopsIngressOvn.spec.ts, which evaluated them with
 * interpreters of their own.
 */
import * as assert from "assert";
import { parse, parseAllDocuments } from "yaml";
import { renderCloudsYaml } from "../../src/cluster/cloudCredentials";
import { cloudConfigResourceData } from "../../src/cluster/clusterObjects";
import { CLOUD_NAME, OCCM_CREDENTIALS_DIR, WORKLOAD_CLOUD_CONFIG_SECRET } from "../../src/shared/contract";
import { classOf, clusterVariables } from "../../render/classVariables";
import { TreeObject } from "../../render/gitopsTree";
import { classBedFor, MANAGEMENT_ADDRESS, withVariable } from "./classBed";

const ACK = "acknowledged";

describe("test bed: the ClusterClass's infrastructure patches and variable rules, by Cluster API's topology controller and webhook", function () {
    this.timeout(300_000);
    const b = classBedFor("class-infra");
    const base = () => b().base;
    const variable = (c: TreeObject, name: string) => (c.spec.topology.variables as { name: string; value: unknown }[]).find((v) => v.name === name)?.value;

    it("copies the variables into the OpenStackCluster and both machine templates, leaving no placeholder", async () => {
        const k = await b().expand(base());
        const vars = Object.fromEntries(
            (k.cluster.spec as { topology: { variables: { name: string; value: unknown }[] } }).topology.variables.map((v) => [v.name, v.value]),
        );
        assert.deepStrictEqual(k.infrastructure.externalNetwork, vars.externalNetwork);
        assert.deepStrictEqual(k.infrastructure.apiServerLoadBalancer.allowedCIDRs, vars.apiAllowedCidrs);
        assert.ok((vars.apiAllowedCidrs as string[]).includes(`${MANAGEMENT_ADDRESS}/32`), "Flux's substitution of the management address");
        assert.deepStrictEqual(k.infrastructure.managedSubnets, [{ cidr: vars.nodeCidr, dnsNameservers: vars.dnsNameservers }]);
        assert.strictEqual(k.infrastructure.networkMTU, vars.mtu === 0 ? undefined : vars.mtu, "networkMTU");
        assert.strictEqual(k.machines.controlPlane.flavor, vars.controlPlaneFlavor);
        assert.strictEqual(k.machines.workers.flavor, vars.workerFlavor);
        for (const [role, m] of Object.entries(k.machines)) {
            assert.deepStrictEqual(m.rootVolume, vars.rootVolume, `${role} root volume`);
            assert.strictEqual(m.image.imageRef.name, vars.nodeImage, `${role} image`);
        }
        // Each part joins the server group its variable names (what render/gitopsMachineRules.ts reads).
        assert.deepStrictEqual(k.machines.controlPlane.serverGroup, { filter: { name: vars.controlPlaneServerGroup } });
        assert.deepStrictEqual(k.machines.workers.serverGroup, { filter: { name: vars.workerServerGroup } });
        assert.notStrictEqual(vars.controlPlaneServerGroup, vars.workerServerGroup);
        for (const o of [k.infrastructure, k.machines, k.controlPlane, k.workers]) {
            assert.doesNotMatch(JSON.stringify(o), /replaced-by-the/, "a placeholder of the templates survived the patches");
        }
        const mtu = await b().expand(withVariable(base(), "mtu", 1400));
        assert.strictEqual(mtu.infrastructure.networkMTU, 1400);
    });

    it("spreads the control plane over the availability zones a Cluster names, and leaves them to CAPO otherwise", async () => {
        assert.strictEqual((await b().expand(base())).infrastructure.controlPlaneAvailabilityZones, undefined);
        const zones = await b().expand(withVariable(base(), "controlPlaneAvailabilityZones", ["az1", "az2", "az3"]));
        assert.deepStrictEqual(zones.infrastructure.controlPlaneAvailabilityZones, ["az1", "az2", "az3"]);
    });

    describe("API load balancer provider (variable apiLoadBalancer)", () => {
        it("pins amphora when a Cluster says nothing, passes another provider through, and leaves cloud-default to Octavia", async () => {
            assert.strictEqual((await b().expand(base())).infrastructure.apiServerLoadBalancer.provider, "amphora");
            assert.strictEqual(
                (await b().expand(withVariable(base(), "apiLoadBalancer", { provider: "amphorav2" }))).infrastructure.apiServerLoadBalancer.provider,
                "amphorav2",
            );
            const ovn = await b().expand(withVariable(base(), "apiLoadBalancer", { provider: "ovn", allowListNotEnforced: ACK }));
            assert.strictEqual(ovn.infrastructure.apiServerLoadBalancer.provider, "ovn");
            const dflt = await b().expand(withVariable(base(), "apiLoadBalancer", { provider: "cloud-default", allowListNotEnforced: ACK }));
            assert.ok(!("provider" in dflt.infrastructure.apiServerLoadBalancer));
        });

        it("opens the workers' NodePorts to the clients an ovn cluster's load balancers forward, and only on such a cluster", async () => {
            const ovn = await b().expand(withVariable(base(), "apiLoadBalancer", { provider: "ovn", allowListNotEnforced: ACK }));
            assert.deepStrictEqual(ovn.infrastructure.managedSecurityGroups.workerNodesSecurityGroupRules, [
                {
                    name: "ovn-load-balancer-node-ports",
                    description: "NodePorts for the clients OVN load balancers forward",
                    direction: "ingress",
                    etherType: "IPv4",
                    protocol: "tcp",
                    portRangeMin: 30000,
                    portRangeMax: 32767,
                    remoteIPPrefix: "0.0.0.0/0",
                },
            ]);
            assert.strictEqual((await b().expand(base())).infrastructure.managedSecurityGroups.workerNodesSecurityGroupRules, undefined);
            const dflt = await b().expand(withVariable(base(), "apiLoadBalancer", { provider: "cloud-default", allowListNotEnforced: ACK }));
            assert.strictEqual(dflt.infrastructure.managedSecurityGroups.workerNodesSecurityGroupRules, undefined);
        });

        it("refuses ovn, and the cloud's default, unless the open API is acknowledged (the CEL rule)", () => {
            for (const provider of ["ovn", "cloud-default"]) {
                assert.match(
                    b().refusal(withVariable(base(), "apiLoadBalancer", { provider })),
                    /the ovn Octavia provider .* ignores apiAllowedCidrs/,
                    provider,
                );
            }
        });
    });

    describe("create-only variables (transition rules)", () => {
        /** Creates `from`, then re-applies it changed by `change`: the server's verdict. */
        const transition = async (from: TreeObject, change: (c: TreeObject) => TreeObject) => {
            const created = await b().create(from);
            const r = b().update(change(created));
            b().cp.kubectl(["delete", "clusters.v1beta2.cluster.x-k8s.io", created.metadata.name, "-n", created.metadata.namespace as string, "--wait=false"]);
            return r;
        };
        const refusedAs = async (from: TreeObject, change: (c: TreeObject) => TreeObject, message: RegExp, what: string) => {
            const r = await transition(from, change);
            assert.notStrictEqual(r.status, 0, `${what}: accepted`);
            assert.match(r.stderr, message, what);
        };
        const accepted = async (from: TreeObject, change: (c: TreeObject) => TreeObject, what: string) => {
            const r = await transition(from, change);
            assert.strictEqual(r.status, 0, `${what}: ${r.stderr}`);
        };

        it("refuses a change of each, and a removal, while other variables change freely", async () => {
            for (const [name, value] of [
                ["nodeCidr", "10.7.0.0/24"],
                ["mtu", 1400],
                ["externalNetwork", { id: "7a5e9c2f-3c1d-4d7e-9b0a-2f1e4c6d8a90" }],
            ] as [string, unknown][]) {
                await refusedAs(base(), (c) => withVariable(c, name, value), new RegExp(`${name} is create-only`), name);
            }
            await refusedAs(withVariable(base(), "mtu", 1400), (c) => withVariable(c, "mtu", undefined), /mtu is create-only/, "removing mtu");
            await refusedAs(
                withVariable(base(), "nodeCidr", "10.7.0.0/24"),
                (c) => withVariable(c, "nodeCidr", undefined),
                /nodeCidr is create-only/,
                "removing nodeCidr",
            );
            // Spelling out a default is no change.
            await accepted(base(), (c) => withVariable(c, "nodeCidr", variable(base(), "nodeCidr") ?? "10.6.0.0/24"), "spelling out nodeCidr's default");
            await accepted(
                base(),
                (c) => {
                    let other = withVariable(c, "dnsNameservers", ["1.1.1.1"]);
                    other = withVariable(other, "workerFlavor", "SCS-4V-16-100s");
                    other = withVariable(other, "apiAllowedCidrs", [`${MANAGEMENT_ADDRESS}/32`]);
                    other.spec.topology.workers.machineDeployments[0].replicas = 5;
                    return other;
                },
                "other variables",
            );
            // Not create-only: CAPO's webhook lets the zones change.
            await accepted(
                withVariable(base(), "controlPlaneAvailabilityZones", ["az1"]),
                (c) => withVariable(c, "controlPlaneAvailabilityZones", ["az1", "az2"]),
                "availability zones",
            );
        });

        it("apiLoadBalancer: changing the provider, or dropping back to the default, is refused; cloud-default stays reachable", async () => {
            const ovn = { provider: "ovn", allowListNotEnforced: ACK };
            const cloudDefault = { provider: "cloud-default", allowListNotEnforced: ACK };
            await refusedAs(base(), (c) => withVariable(c, "apiLoadBalancer", ovn), /apiLoadBalancer is create-only/, "amphora to ovn");
            await refusedAs(
                withVariable(base(), "apiLoadBalancer", ovn),
                (c) => withVariable(c, "apiLoadBalancer", undefined),
                /apiLoadBalancer is create-only/,
                "ovn to the default",
            );
            await accepted(base(), (c) => withVariable(c, "apiLoadBalancer", { provider: "amphora" }), "the default spelt out");
            // A Cluster made before the variable, defaulted to amphora by the webhook, can still say what its load balancer has.
            await accepted(base(), (c) => withVariable(c, "apiLoadBalancer", cloudDefault), "amphora to cloud-default");
            await refusedAs(
                withVariable(base(), "apiLoadBalancer", cloudDefault),
                (c) => withVariable(c, "apiLoadBalancer", undefined),
                /apiLoadBalancer is create-only/,
                "cloud-default to amphora",
            );
        });
    });

    describe("etcd's disk: the control plane boots from rootVolume only on a flavor without a local SSD", () => {
        it("workers keep rootVolume; the control plane takes it on SCS-4V-16, not on SCS-4V-16-100s (local SSD)", async () => {
            const vol = { sizeGiB: 50 };
            const onCinder = await b().expand(withVariable(withVariable(base(), "rootVolume", vol), "controlPlaneFlavor", "SCS-4V-16"));
            assert.deepStrictEqual(onCinder.machines.controlPlane.rootVolume, vol);
            assert.deepStrictEqual(onCinder.machines.workers.rootVolume, vol);
            const local = await b().expand(withVariable(withVariable(base(), "rootVolume", vol), "controlPlaneFlavor", "SCS-4V-16-100s"));
            assert.strictEqual(local.machines.controlPlane.rootVolume, undefined);
            assert.deepStrictEqual(local.machines.workers.rootVolume, vol);
        });
    });

    describe("OCCM and Cinder CSI values, rendered by CAAPH (what the deletion cleanup relies on)", () => {
        /** An INI file as OCCM's gcfg reads the keys the tree writes: section -> key -> value. */
        function ini(text: string): Record<string, Record<string, string>> {
            const out: Record<string, Record<string, string>> = {};
            let section = "";
            for (const line of text
                .split("\n")
                .map((l) => l.trim())
                .filter((l) => l && !l.startsWith("#"))) {
                const s = /^\[(\w+)\]$/.exec(line);
                if (s) {
                    section = s[1];
                    out[section] = {};
                    continue;
                }
                const kv = /^([\w-]+)\s*=\s*(\S+)$/.exec(line);
                assert.ok(kv && section, `not an INI line: ${line}`);
                assert.ok(!(kv[1] in out[section]), `${kv[1]} twice`);
                out[section][kv[1]] = kv[2];
            }
            return out;
        }
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const values = async (chart: string, c: TreeObject) => parse((await b().helmValues(c, chart)).values) as Record<string, any>;
        const OCCM = "openstack-cloud-controller-manager";

        it("gives OCCM its own cloud.conf with a [LoadBalancer] section from the cluster's own values; an ovn cluster's uses SOURCE_IP_PORT", async () => {
            const v = await values(OCCM, base());
            assert.deepStrictEqual(v.secret, { enabled: true, create: true, name: "occm-cloud-config" });
            const conf = ini(v.cloudConfigContents);
            assert.deepStrictEqual(conf.LoadBalancer, { "floating-network-id": "ext-1", "subnet-id": "subnet-1", "lb-provider": "amphora" });
            assert.deepStrictEqual(conf.Global, { "use-clouds": "true", "clouds-file": `${OCCM_CREDENTIALS_DIR}/clouds.yaml`, cloud: CLOUD_NAME });
            // ovn when the Cluster chose (and acknowledged) it for its API, with the only method OVN has.
            const ovn = ini((await values(OCCM, withVariable(base(), "apiLoadBalancer", { provider: "ovn", allowListNotEnforced: ACK }))).cloudConfigContents);
            assert.deepStrictEqual(ovn.LoadBalancer, {
                "floating-network-id": "ext-1",
                "subnet-id": "subnet-1",
                "lb-provider": "ovn",
                "lb-method": "SOURCE_IP_PORT",
            });
            // Nothing (OCCM's default, amphora) for cloud-default.
            const dflt = ini(
                (await values(OCCM, withVariable(base(), "apiLoadBalancer", { provider: "cloud-default", allowListNotEnforced: ACK }))).cloudConfigContents,
            );
            assert.ok(!("lb-provider" in dflt.LoadBalancer) && !("lb-method" in dflt.LoadBalancer), JSON.stringify(dflt.LoadBalancer));
        });

        it("mounts the distributed credential where that cloud.conf looks for it, keeping the chart's default volumes", async () => {
            const v = await values(OCCM, base());
            const vol = (v.extraVolumes as { name: string; secret?: { secretName: string } }[]).find((x) => x.secret);
            assert.strictEqual(vol?.secret?.secretName, WORKLOAD_CLOUD_CONFIG_SECRET.name);
            const mount = (v.extraVolumeMounts as { name: string; mountPath: string }[]).find((m) => m.name === vol!.name);
            assert.strictEqual(mount?.mountPath, OCCM_CREDENTIALS_DIR);
            assert.deepStrictEqual(
                (v.extraVolumes as { name: string }[]).map((x) => x.name),
                ["flexvolume-dir", "k8s-certs", vol!.name],
            );
            // The program puts a clouds.yaml in that Secret, whose CA path is inside that mount.
            const data = cloudConfigResourceData(
                "[Global]\n",
                "CA",
                renderCloudsYaml({ authUrl: "https://k.example/v3", id: "i", secret: "s", caFile: `${OCCM_CREDENTIALS_DIR}/ca.crt` }),
            );
            const secret = parse(Object.values(data)[0]) as { stringData: Record<string, string> };
            const clouds = parse(secret.stringData["clouds.yaml"]) as { clouds: Record<string, { cacert: string }> };
            assert.strictEqual(clouds.clouds.openstack.cacert, `${OCCM_CREDENTIALS_DIR}/ca.crt`);
        });

        it("Cinder CSI without volumeAvailabilityZone: the chart's topology, its two StorageClasses written out (Delete the default)", async () => {
            const v = await values("openstack-cinder-csi", base());
            assert.strictEqual(v.csi, undefined);
            assert.strictEqual(v.storageClass.enabled, false);
            assert.deepStrictEqual(
                parseAllDocuments(v.storageClass.custom).map((d) => d.toJS()),
                [
                    {
                        apiVersion: "storage.k8s.io/v1",
                        kind: "StorageClass",
                        metadata: { name: "csi-cinder-sc-delete", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
                        provisioner: "cinder.csi.openstack.org",
                        reclaimPolicy: "Delete",
                        allowVolumeExpansion: true,
                    },
                    {
                        apiVersion: "storage.k8s.io/v1",
                        kind: "StorageClass",
                        metadata: { name: "csi-cinder-sc-retain" },
                        provisioner: "cinder.csi.openstack.org",
                        reclaimPolicy: "Retain",
                        allowVolumeExpansion: true,
                    },
                ],
            );
        });

        it("Cinder CSI with volumeAvailabilityZone: no topology in the plugins and the provisioner, both StorageClasses in that Cinder zone", async () => {
            const plain = await values("openstack-cinder-csi", base());
            const v = await values("openstack-cinder-csi", withVariable(base(), "volumeAvailabilityZone", "storage-az1"));
            assert.strictEqual(v.csi.provisioner.topology, "false");
            // The chart (2.35.0) appends csi.plugin.extraArgs, a YAML list, to the node and controller plugins' args.
            assert.deepStrictEqual(parse(v.csi.plugin.extraArgs), ["--with-topology=false"]);
            assert.strictEqual(v.storageClass.enabled, false);
            const classes = parseAllDocuments(v.storageClass.custom).map((d) => d.toJS());
            assert.deepStrictEqual(
                classes.map((c) => [c.metadata.name, c.reclaimPolicy, c.parameters, c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"]]),
                [
                    ["csi-cinder-sc-delete", "Delete", { availability: "storage-az1" }, "true"],
                    ["csi-cinder-sc-retain", "Retain", { availability: "storage-az1" }, undefined],
                ],
            );
            assert.deepStrictEqual(v.secret, plain.secret);
        });

        it("names OCCM's load balancers after the Cluster (--cluster-name) and tags Cinder volumes with its name and uid", async () => {
            const occm = await b().helmValues(base(), OCCM);
            assert.strictEqual(parse(occm.values).cluster.name, occm.cluster.metadata.name);
            const csi = await b().helmValues(base(), "openstack-cinder-csi");
            assert.strictEqual(parse(csi.values).clusterID, `${csi.cluster.metadata.name}.${(csi.cluster.metadata as unknown as { uid: string }).uid}`);
        });
    });

    describe("ingress-nginx values, rendered by CAAPH", () => {
        const LABEL = "capi-mgmt.io/addon-ingress-nginx";
        const controller = async (mode: string) =>
            // eslint-disable-next-line @typescript-eslint/no-explicit-any
            parse((await b().helmValues(base(), "ingress-nginx", { [LABEL]: mode })).values).controller as Record<string, any>;

        // Moved from test/gitopsTree.spec.ts (now gitopsTreeAddons.spec.ts), which read the template's branches with a reader of its own.
        it("puts ingress-nginx behind an Octavia load balancer: plain, with the PROXY protocol, or OVN with the client's address", async () => {
            const octavia = await controller("octavia");
            assert.strictEqual(octavia.service.type, "LoadBalancer");
            assert.strictEqual(octavia.service.externalTrafficPolicy, "Cluster");
            assert.strictEqual(octavia.service.annotations, undefined);
            assert.strictEqual(octavia.config, undefined);
            const proxy = await controller("proxy-protocol");
            assert.deepStrictEqual(proxy.service.annotations, { "loadbalancer.openstack.org/proxy-protocol": "true" });
            assert.strictEqual(proxy.service.externalTrafficPolicy, "Cluster");
            // nginx must expect the header exactly when Octavia sends it, or every request fails; Octavia connects from the node subnet.
            const nodeCidr = clusterVariables(base(), classOf(base(), b().objects)).nodeCidr;
            assert.ok(nodeCidr);
            assert.deepStrictEqual(proxy.config, { "use-proxy-protocol": "true", "proxy-real-ip-cidr": nodeCidr });
            const ovn = await controller("ovn");
            assert.strictEqual(ovn.service.externalTrafficPolicy, "Local");
            // OVN: no PROXY protocol; SOURCE_IP_PORT is the one method it has; Local needs a health monitor.
            assert.deepStrictEqual(ovn.service.annotations, {
                "loadbalancer.openstack.org/lb-method": "SOURCE_IP_PORT",
                "loadbalancer.openstack.org/enable-health-monitor": "true",
            });
            assert.strictEqual(ovn.config, undefined);
        });
    });
});
