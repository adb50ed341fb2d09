import "mocha";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { isSecretValue, mockOpensshKeyPair, valueOf } from "../render/engine";
import { Run, runStack } from "./harness";
import { T, input } from "./programParams";

describe("program (mock engine)", function () {
    this.timeout(30000);
    let dev: Run;
    before(async () => {
        dev = await runStack("dev");
    });

    describe("existing network", () => {
        let run: Run;
        before(async () => {
            run = await runStack(
                "dev",
                { nodeCidr: undefined, dnsNameservers: undefined, existingNetwork: JSON.stringify({ network: "shared", subnet: "shared-v4" }) },
                { existingNetworkMtu: 1400 },
            );
        });

        it("creates no network, subnet or router and puts the port on the existing subnet", () => {
            for (const t of [T.network, T.subnet, T.router, T.routerInterface]) {
                assert.strictEqual(run.all(t).length, 0, t);
            }
            const port = run.one(T.port);
            assert.strictEqual(input(port, "networkId"), "network-shared-id");
            assert.deepStrictEqual(input(port, "fixedIps"), [{ subnetId: "subnet-shared-v4-id" }]);
        });

        it("takes Docker's MTU from the existing network", () => {
            assert.match(String(input(run.one(T.instance), "userData")), /"mtu": ?1400/);
        });
    });

    describe("secrets", () => {
        it("keeps user-data (with the host key) and the SSH private keys secret", () => {
            assert.ok(isSecretValue(dev.one(T.instance).inputs.userData));
            for (const cmd of dev.all(T.command)) {
                const conn = cmd.inputs.connection as Record<string, unknown>;
                assert.ok(isSecretValue(conn) || isSecretValue(conn.privateKey), `${cmd.name} private key not secret`);
            }
        });

        it("sends no previous output as an SSH environment request (the kubeconfig step's is a secret)", () => {
            assert.ok(dev.all(T.command).length >= 8);
            for (const cmd of dev.all(T.command)) {
                assert.strictEqual(input(cmd, "addPreviousOutputInEnv"), false, cmd.name);
            }
        });

        it("marks every secret-bearing output secret", async () => {
            assert.strictEqual(await pulumi.isSecret(dev.outputs.sshPrivateKey), true);
            assert.strictEqual(await pulumi.isSecret(dev.outputs.floatingIp), false);
            assert.match(await valueOf(dev.outputs.sshKnownHosts), /^192\.0\.2\.10 ssh-ed25519 /);
        });

        it("puts no credential into user-data", () => {
            const userData = String(input(dev.one(T.instance), "userData"));
            for (const forbidden of [/mock-app-credential-secret/, /application_credential/, /clouds\.yaml/, /kubeconfig/i]) {
                assert.doesNotMatch(userData, forbidden);
            }
            const login = mockOpensshKeyPair("login");
            const host = mockOpensshKeyPair("host");
            for (const line of login.privateKeyOpenssh.split("\n").slice(2, -2)) {
                assert.ok(!userData.includes(line), "the login private key is in user-data");
            }
            // Only the login key's public half, authorized for the default user (no Nova keypair).
            assert.ok(userData.includes(`ssh_authorized_keys:\n  - ${login.publicKeyOpenssh.trim()}`), "the login public key is not authorized");
            assert.ok(userData.includes(host.privateKeyOpenssh.split("\n")[2]), "the host key is missing from user-data");
        });
    });

    describe("updates", () => {
        it("a version bump changes only the tools step, never the server or readiness", async () => {
            const bumped = await runStack("dev", { versions: JSON.stringify({ kubectl: "v1.36.4" }) });
            assert.deepStrictEqual(bumped.one(T.instance).inputs, dev.one(T.instance).inputs);
            assert.deepStrictEqual(bumped.one(T.command, "wait-ready").inputs, dev.one(T.command, "wait-ready").inputs);
            const before = String(input(dev.one(T.command, "install-tools"), "stdin"));
            const after = String(input(bumped.one(T.command, "install-tools"), "stdin"));
            assert.notStrictEqual(before, after);
            assert.match(after, /v1\.36\.4/);
            // An update, not a replacement: only `triggers` replace a command, and they did not change.
            assert.strictEqual(input(bumped.one(T.command, "install-tools"), "update"), "sudo bash -s");
            assert.deepStrictEqual(input(bumped.one(T.command, "install-tools"), "triggers"), input(dev.one(T.command, "install-tools"), "triggers"));
        });

        it("installs sonobuoy with the other tools, pinned by checksum; a new sonobuoy is an in-place update too", async () => {
            const stdin = String(input(dev.one(T.command, "install-tools"), "stdin"));
            assert.ok(
                stdin.includes(
                    "sonobuoy|v0.57.5|https://github.com/vmware-tanzu/sonobuoy/releases/download/v0.57.5/sonobuoy_0.57.5_linux_amd64.tar.gz|" +
                        "7c5c2250e5103c98f4dad2bcab86baf954e319c57c419c113f28f5060e62f129|sonobuoy",
                ),
                stdin,
            );
            const older = await runStack("dev", { versions: JSON.stringify({ sonobuoy: "v0.57.3" }) });
            assert.deepStrictEqual(older.one(T.instance).inputs, dev.one(T.instance).inputs);
            assert.deepStrictEqual(older.one(T.command, "wait-ready").inputs, dev.one(T.command, "wait-ready").inputs);
            const tools = older.one(T.command, "install-tools");
            assert.match(String(input(tools, "stdin")), /sonobuoy\|v0\.57\.3\|.*\|6728e04f62068465c56e2d317f4a5392520bf00c836aeaba970ae913f943718c\|sonobuoy/);
            // Only `triggers` replace a command: the tool list is stdin, so adding sonobuoy to a live
            // stack's list (or changing its version) runs the tools step's `update` in place.
            assert.deepStrictEqual(input(tools, "triggers"), input(dev.one(T.command, "install-tools"), "triggers"));
            assert.strictEqual(input(tools, "update"), "sudo bash -s");
        });

        it("the same config evaluates to identical inputs (no timestamps or randomness)", async () => {
            const again = await runStack("dev");
            assert.deepStrictEqual(
                again.resources.map((r) => [r.type, r.name, r.inputs]),
                dev.resources.map((r) => [r.type, r.name, r.inputs]),
            );
        });
    });

    describe("bad config", () => {
        it("stops before any resource with every problem named", async () => {
            await assert.rejects(
                runStack("prod", { nodeCidr: "10.0.0.0/33", sshAllowedCidrs: JSON.stringify(["0.0.0.0/0"]) }),
                (e: Error) =>
                    e instanceof pulumi.RunError &&
                    /capi-mgmt:nodeCidr: "10.0.0.0\/33" is not a valid IPv4 CIDR/.test(e.message) &&
                    /capi-mgmt:sshAllowedCidrs: "0.0.0.0\/0" opens SSH to the whole internet/.test(e.message),
            );
        });
    });
});
