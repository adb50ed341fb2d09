import "mocha";
import * as assert from "assert";
import { createHash } from "crypto";
import { appCredentialName } from "../src/cloud/appCredentials";
import { roleProblems } from "../src/cloud/preflightChecks";
import { mockOpensshKeyPair, valueOf } from "../render/engine";
import { parse as parseYaml } from "yaml";
import { Run, runStack } from "./harness";
import { devAndProd, T, input } from "./programParams";

describe("program (mock engine)", function () {
    this.timeout(30000);
    let dev: Run;
    let prod: Run;
    before(async () => ({ dev, prod } = await devAndProd()));

    describe("resources and their key inputs", () => {
        it("creates network, subnet with DNS servers, and a router on the external network", () => {
            for (const [run, cidr] of [
                [dev, "10.0.0.0/24"],
                [prod, "10.10.0.0/24"],
            ] as const) {
                const subnet = run.one(T.subnet);
                assert.strictEqual(input(subnet, "cidr"), cidr);
                assert.deepStrictEqual(input(subnet, "dnsNameservers"), ["9.9.9.9", "149.112.112.112"]);
                assert.strictEqual(input(run.one(T.router), "externalNetworkId"), "network-public-id");
                assert.ok(run.dependsOn(run.one(T.routerInterface), subnet));
            }
            assert.strictEqual(input(dev.one(T.network), "name"), "dev-mgmt");
            assert.strictEqual(input(prod.one(T.network), "name"), "capi-prod-mgmt");
        });

        it("lets in SSH, the API and ICMP from the configured CIDRs only", () => {
            const rules = prod.all(T.rule).map((r) => ({
                name: r.name,
                protocol: input(r, "protocol"),
                port: input(r, "portRangeMin"),
                cidr: input(r, "remoteIpPrefix"),
                direction: input(r, "direction"),
            }));
            assert.deepStrictEqual(
                rules.sort((a, b) => a.name.localeCompare(b.name)),
                [
                    { name: "api-198.51.100.0-28", protocol: "tcp", port: 6443, cidr: "198.51.100.0/28", direction: "ingress" },
                    { name: "api-203.0.113.0-24", protocol: "tcp", port: 6443, cidr: "203.0.113.0/24", direction: "ingress" },
                    { name: "icmp-198.51.100.0-28", protocol: "icmp", port: undefined, cidr: "198.51.100.0/28", direction: "ingress" },
                    { name: "icmp-203.0.113.0-24", protocol: "icmp", port: undefined, cidr: "203.0.113.0/24", direction: "ingress" },
                    { name: "ssh-198.51.100.0-28", protocol: "tcp", port: 22, cidr: "198.51.100.0/28", direction: "ingress" },
                ],
            );
        });

        it("uses IPv6 rule types for IPv6 CIDRs", async () => {
            const run = await runStack("dev", { sshAllowedCidrs: JSON.stringify(["2001:db8::/64"]) });
            const icmp = run.one(T.rule, "icmp-2001_db8__-64");
            assert.strictEqual(input(icmp, "ethertype"), "IPv6");
            assert.strictEqual(input(icmp, "protocol"), "ipv6-icmp");
            assert.strictEqual(input(run.one(T.rule, "ssh-2001_db8__-64"), "ethertype"), "IPv6");
        });

        it("authorizes a generated ED25519 login key through cloud-init (no Nova keypair) and generates a host key", () => {
            const keys = dev.all(T.key).filter((k) => k.name !== "deploy-key");
            assert.deepStrictEqual(
                keys.map((k) => [k.name, input(k, "algorithm")]),
                [
                    ["login", "ED25519"],
                    ["host", "ED25519"],
                ],
            );
            // A Nova keypair belongs to one Keystone user: another user's refresh dropped it from the state.
            assert.deepStrictEqual(dev.all(T.keypair), []);
            const server = dev.one(T.instance);
            assert.strictEqual(input(server, "keyPair"), undefined);
            // A server made with the old keypair keeps it (key_pair is ForceNew): not replaced.
            assert.ok(server.options.ignoreChanges?.includes("keyPair"));
            const userData = String(input(server, "userData"));
            const login = mockOpensshKeyPair("login");
            const doc = parseYaml(userData.replace(/^#cloud-config\n/, "")) as { ssh_authorized_keys?: string[] };
            assert.deepStrictEqual(doc.ssh_authorized_keys, [login.publicKeyOpenssh.trim()]);
            assert.ok(!userData.includes(login.privateKeyOpenssh.split("\n")[2]), "the login private key is not in the user-data");
        });

        it("creates two restricted application credentials with the configured roles and distinct names", () => {
            const creds = prod.all(T.appCred);
            assert.deepStrictEqual(
                creds.map((c) => c.name),
                ["capi", "cloud-provider"],
            );
            for (const c of creds) {
                assert.strictEqual(input(c, "unrestricted"), false);
                assert.deepStrictEqual(input(c, "roles"), ["member", "load-balancer_member"]);
                assert.match(String(input(c, "name")), new RegExp(`^capi-prod-${c.name}-[0-9a-f]{8}$`));
            }
            assert.notStrictEqual(input(creds[0], "name"), input(creds[1], "name"));
        });

        it("names a credential anew exactly when it would be replaced", () => {
            const a = appCredentialName("dev", "capi", { roles: ["member"] });
            assert.strictEqual(a, appCredentialName("dev", "capi", { roles: ["member"] }));
            assert.notStrictEqual(a, appCredentialName("dev", "capi", { roles: ["member"], expiresAt: "2027-01-01T00:00:00Z" }));
            assert.notStrictEqual(a, appCredentialName("dev", "capi", { roles: ["member", "reader"] }));
            assert.notStrictEqual(a, appCredentialName("prod", "capi", { roles: ["member"] }));
        });

        it("does not rename (rotate) the credentials for reordered roles or another spelling of the expiry", async () => {
            // The name a default stack had before roles were canonical: upgrading rotates nothing.
            assert.strictEqual(
                appCredentialName("dev", "capi", { roles: ["load-balancer_member", "member"] }),
                `dev-capi-${createHash("sha256")
                    .update(JSON.stringify({ purpose: "capi", roles: ["member", "load-balancer_member"], expiresAt: null }))
                    .digest("hex")
                    .slice(0, 8)}`,
            );
            const b = appCredentialName("dev", "capi", { roles: ["member", "reader"], expiresAt: "2027-01-01T00:00:00Z" });
            assert.strictEqual(appCredentialName("dev", "capi", { roles: ["reader", "member"], expiresAt: "2027-01-01T01:00:00+01:00" }), b);
            const one = await runStack("prod", {
                appCredential: JSON.stringify({ roles: ["member", "load-balancer_member"], expiresAt: "2027-12-31T01:00:00+01:00" }),
            });
            const two = await runStack("prod", {
                appCredential: JSON.stringify({ roles: ["load-balancer_member", "member"], expiresAt: "2027-12-31T00:00:00Z" }),
            });
            // Every argument of an application credential forces replacement: equal inputs mean no rotation.
            assert.deepStrictEqual(
                one.all(T.appCred).map((c) => c.inputs),
                two.all(T.appCred).map((c) => c.inputs),
            );
            assert.strictEqual(input(one.one(T.appCred, "capi"), "expiresAt"), "2027-12-31T00:00:00Z");
        });

        it("refuses roles the user does not hold, naming the setting", () => {
            assert.deepStrictEqual(roleProblems(["member"], ["member", "reader"]), []);
            assert.match(
                roleProblems(["member", "load-balancer_member"], ["member"]).join("\n"),
                /^capi-mgmt:appCredential.roles: load-balancer_member is not a role you hold/,
            );
        });

        it("boots the server from the resolved image, on a port with the security group", () => {
            for (const [run, size, az] of [
                [dev, 50, undefined],
                [prod, 100, "nova"],
            ] as const) {
                const server = run.one(T.instance);
                const imageId = input(server, "imageId");
                assert.match(String(imageId), /^image-[0-9a-f]{8}-id$/);
                assert.deepStrictEqual(input(server, "blockDevices"), [
                    { uuid: imageId, sourceType: "image", destinationType: "volume", volumeSize: size, bootIndex: 0, deleteOnTermination: true },
                ]);
                assert.strictEqual(input(server, "availabilityZone"), az);
                assert.deepStrictEqual(input(server, "networks"), [{ port: "port-id" }]);
                assert.deepStrictEqual(input(run.one(T.port), "securityGroupIds"), ["group-id"]);
            }
            assert.strictEqual(input(dev.one(T.instance), "flavorName"), "SCS-4V-16");
            assert.strictEqual(input(prod.one(T.instance), "flavorName"), "SCS-8V-32");
        });

        it("boots from the flavor's disk when rootVolumeSize is 0, and takes IDs as IDs", async () => {
            const id = "6b0d4e6c-1f7b-4c1e-9e0e-5d1a2b3c4d5e";
            const run = await runStack("dev", { rootVolumeSize: "0", image: id, flavor: id });
            const server = run.one(T.instance);
            assert.strictEqual(input(server, "blockDevices"), undefined);
            assert.strictEqual(input(server, "imageId"), id);
            assert.strictEqual(input(server, "flavorId"), id);
            assert.strictEqual(input(server, "flavorName"), undefined);
        });

        it("never replaces a running server for a new image behind the name or new user-data", () => {
            const server = dev.one(T.instance);
            for (const prop of ["imageId", "userData", "blockDevices"]) {
                assert.ok(server.options.ignoreChanges.includes(prop), `ignoreChanges lacks ${prop}`);
            }
        });

        it("rebuilds the server only when serverGeneration is bumped", async () => {
            const run = await runStack("dev", { serverGeneration: "2" });
            assert.strictEqual(run.one(T.instance).name, "server-g2");
            assert.strictEqual(run.one(T.port).name, "port-g2");
            assert.strictEqual(input(run.one(T.instance), "name"), "dev-mgmt-g2");
            assert.strictEqual(dev.one(T.instance).name, "server");
            assert.strictEqual(run.one(T.fipAssoc).options.deleteBeforeReplace, true);
        });

        it("uses an explicit OpenStack provider with the cloud entry and private CA", async () => {
            const run = await runStack("dev", { caCert: (await import("./fixtures")).TEST_CA_PEM });
            const provider = run.one(T.provider);
            assert.strictEqual(input(provider, "cloud"), "openstack-dev");
            assert.match(String(input(provider, "cacertFile")), /BEGIN CERTIFICATE/);
            assert.ok(run.one(T.instance).options.provider?.startsWith(provider.urn));
        });
    });

    describe("parents and dependencies", () => {
        it("parents every resource to its component", () => {
            const parentType = (r: { parent?: string }) => (r.parent ? dev.byUrn(r.parent).type : undefined);
            const expected: [string, string][] = [
                [T.network, T.component("Network")],
                [T.subnet, T.component("Network")],
                [T.router, T.component("Network")],
                [T.secGroup, T.component("ServerSecurityGroup")],
                [T.appCred, T.component("AppCredentials")],
                [T.instance, T.component("ManagementServer")],
                [T.fipAssoc, T.component("ManagementServer")],
            ];
            const commandParents: Record<string, string> = {
                "wait-ready": "HostBootstrap",
                "metadata-block": "HostBootstrap",
                "host-proxy": "HostBootstrap",
                "install-tools": "HostBootstrap",
                "kind-cluster": "ManagementCluster",
                "cert-renewal": "ManagementCluster",
                kubeconfig: "ManagementCluster",
                "api-cert-expiry": "ManagementCluster",
                orc: "ManagementCluster",
                "capi-providers": "ManagementCluster",
                "workload-teardown": "WorkloadTeardown",
                "cloud-provider-restart": "CloudProviderRestart",
                "lb-cleanup": "DeletionCleanup",
                "backup-volume": "ManagementBackup",
                backup: "ManagementBackup",
                "backup-before-upgrade": "ManagementBackup",
                "return-to-kind": "ReturnToKind",
            };
            assert.deepStrictEqual(
                dev
                    .all(T.command)
                    .map((c) => c.name)
                    .sort(),
                Object.keys(commandParents).sort(),
            );
            for (const c of dev.all(T.command)) {
                assert.strictEqual(parentType(c), T.component(commandParents[c.name]), c.name);
            }
            for (const [type, parent] of expected) {
                for (const r of dev.all(type)) {
                    assert.strictEqual(parentType(r), parent, `${type} ${r.name}`);
                }
            }
            for (const c of [
                "Network",
                "ServerSecurityGroup",
                "SshKeys",
                "AppCredentials",
                "ManagementServer",
                "HostBootstrap",
                "ManagementCluster",
                "WorkloadTeardown",
            ]) {
                assert.strictEqual(parentType(dev.one(T.component(c))), T.component("CapiManagement"));
            }
        });

        it("associates the floating IP only after the router interface exists", () => {
            assert.ok(dev.one(T.fipAssoc).dependsOn.includes(dev.one(T.routerInterface).urn));
        });

        it("waits for readiness after the instance, association and security rules; metadata block, host proxy, then tools after readiness", () => {
            const ready = dev.one(T.command, "wait-ready");
            const metadataBlock = dev.one(T.command, "metadata-block");
            const hostProxy = dev.one(T.command, "host-proxy");
            const tools = dev.one(T.command, "install-tools");
            for (const r of [dev.one(T.instance), dev.one(T.fipAssoc), ...dev.all(T.rule)]) {
                assert.ok(dev.dependsOn(ready, r), `readiness does not depend on ${r.name}`);
            }
            assert.ok(metadataBlock.dependsOn.includes(ready.urn));
            assert.ok(hostProxy.dependsOn.includes(metadataBlock.urn));
            assert.ok(tools.dependsOn.includes(hostProxy.urn));
        });

        it("connects with the pinned host key, the generated login key and bounded retries", async () => {
            const knownHosts = await valueOf(dev.outputs.sshKnownHosts);
            const loginPublicKey = mockOpensshKeyPair("login").publicKeyOpenssh.trim();
            for (const cmd of dev.all(T.command)) {
                const conn = input(cmd, "connection") as Record<string, unknown>;
                assert.strictEqual(conn.host, "192.0.2.10");
                assert.strictEqual(conn.user, "ubuntu");
                assert.match(String(conn.hostKey), /^ssh-ed25519 \S+$/);
                assert.strictEqual(`192.0.2.10 ${conn.hostKey}`, knownHosts);
                assert.notStrictEqual(conn.hostKey, loginPublicKey);
                assert.strictEqual(conn.privateKey, mockOpensshKeyPair("login").privateKeyOpenssh);
                assert.ok((conn.dialErrorLimit as number) > 0 && (conn.perDialTimeout as number) > 0);
            }
        });
    });
});
