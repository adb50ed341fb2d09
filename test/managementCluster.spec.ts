import "mocha";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { RecordedResource, reveal, valueOf } from "../render/engine";
import { dialGiveUpSeconds, DialBounds, SETUP_DIAL, TEARDOWN_DIAL } from "../src/host/sshDial";
import { Run, runStack } from "./harness";

const COMMAND = "command:remote:Command";

function input(r: RecordedResource, key: string): unknown {
    return reveal(r.inputs[key]);
}

/**
 * The order in which `pulumi destroy` deletes resources: a resource goes only after every
 * resource that depends on it (explicitly, through inputs, or as its child) is gone.
 * Among resources free to go at the same time, registration order breaks ties (reversed).
 */
function destroyOrder(resources: RecordedResource[]): RecordedResource[] {
    const dependents = new Map<string, Set<string>>(resources.map((r) => [r.urn, new Set<string>()]));
    for (const r of resources) {
        for (const d of [...r.dependsOn, ...(r.parent ? [r.parent] : [])]) {
            dependents.get(d)?.add(r.urn);
        }
    }
    const order: RecordedResource[] = [];
    const gone = new Set<string>();
    while (order.length < resources.length) {
        const next = [...resources].reverse().find((r) => !gone.has(r.urn) && [...dependents.get(r.urn)!].every((d) => gone.has(d)));
        assert.ok(next, "dependency cycle");
        gone.add(next.urn);
        order.push(next);
    }
    return order;
}

describe("management cluster (mock engine)", function () {
    this.timeout(30000);
    let dev: Run;

    before(async () => {
        dev = await runStack("dev");
    });

    const step = (run: Run, name: string) => run.one(COMMAND, name);

    describe("steps", () => {
        it("run in order: tools → kind → (kubeconfig, certificate expiry, ORC) → Cluster API providers", () => {
            const tools = step(dev, "install-tools");
            const ready = step(dev, "wait-ready");
            const kind = step(dev, "kind-cluster");
            assert.ok(kind.dependsOn.includes(tools.urn));
            assert.ok(dev.dependsOn(kind, ready));
            for (const name of ["kubeconfig", "api-cert-expiry", "orc"]) {
                assert.ok(step(dev, name).dependsOn.includes(kind.urn), name);
            }
            assert.ok(step(dev, "capi-providers").dependsOn.includes(step(dev, "orc").urn));
        });

        it("all run as root over the pinned connection", () => {
            for (const name of ["kind-cluster", "kubeconfig", "api-cert-expiry", "orc", "capi-providers"]) {
                const cmd = step(dev, name);
                assert.strictEqual(input(cmd, "create"), "sudo bash -s", name);
                const conn = input(cmd, "connection") as Record<string, unknown>;
                assert.strictEqual(conn.host, "192.0.2.10");
                assert.match(String(conn.hostKey), /^ssh-ed25519 /);
            }
        });

        it("creates kind from a config with the floating IP in the API certificate", () => {
            const stdin = String(input(step(dev, "kind-cluster"), "stdin"));
            assert.match(stdin, /certSANs:\n\s+- 192\.0\.2\.10/);
            assert.match(stdin, /kindest\/node:v1\.36\.1@sha256:3489c767/);
        });

        it("installs the deletion cleanup's timer as root once Cluster API is installed, again on a new server, never removing it (it must outlive the teardown)", async () => {
            const cleanup = step(dev, "lb-cleanup");
            assert.strictEqual(input(cleanup, "create"), "sudo bash -s");
            assert.strictEqual(input(cleanup, "update"), "sudo bash -s");
            assert.strictEqual(input(cleanup, "delete"), undefined);
            assert.deepStrictEqual(input(cleanup, "triggers"), ["server-id"]);
            assert.ok(cleanup.dependsOn.includes(step(dev, "capi-providers").urn));
            assert.strictEqual(dev.byUrn(cleanup.parent!).type, "capi-mgmt:index:DeletionCleanup");
            const stdin = String(input(cleanup, "stdin"));
            assert.match(stdin, /^readonly UNIT='capi-mgmt-lb-cleanup'$/m);
            assert.match(stdin, /^readonly NAMESPACE='\\''clusters'\\''$/m);
            const proxied = await runStack("dev", { proxy: JSON.stringify({ http: "http://proxy.example:3128", https: "http://proxy.example:3128" }) });
            assert.match(String(input(step(proxied, "lb-cleanup"), "stdin")), /^readonly PROXY_HTTPS='\\''http:\/\/proxy\.example:3128'\\''$/m);
        });

        it("replaces the kind cluster only for a new server, and has no delete (the server takes the cluster with it)", () => {
            const kind = step(dev, "kind-cluster");
            assert.strictEqual(kind.options.deleteBeforeReplace, true);
            assert.deepStrictEqual(input(kind, "triggers"), ["server-id"]);
            assert.strictEqual(input(kind, "delete"), undefined);
        });

        it("pins every provider version and cert-manager in the providers step", () => {
            const stdin = String(input(step(dev, "capi-providers"), "stdin"));
            for (const v of ["v1.14.0", "v0.14.7", "v0.6.4", "v1.21.1"]) {
                assert.ok(stdin.includes(v), v);
            }
            assert.ok(String(input(step(dev, "orc"), "stdin")).includes("v2.6.0"));
        });
    });

    describe("pulumi destroy when the server is already gone", () => {
        const bounds = (r: RecordedResource): DialBounds => {
            const conn = input(r, "connection") as Record<string, unknown>;
            return { dialErrorLimit: conn.dialErrorLimit as number, perDialTimeout: conn.perDialTimeout as number };
        };

        it("dials SSH only for the teardown: no other step has a delete", () => {
            for (const run of [dev]) {
                const deleting = run.all(COMMAND).filter((r) => input(r, "delete") !== undefined);
                assert.deepStrictEqual(
                    deleting.map((r) => r.name),
                    ["workload-teardown"],
                );
            }
        });

        it("gives the teardown up within about 3¼ minutes when nothing answers, yet rides out a blip of 2", () => {
            const teardown = bounds(step(dev, "workload-teardown"));
            assert.deepStrictEqual(teardown, TEARDOWN_DIAL);
            const silent = dialGiveUpSeconds(teardown);
            assert.ok(silent <= 210, `the teardown dials for ${silent}s when the server is gone`);
            assert.ok(silent >= 120, `the teardown gives up after ${silent}s: a reboot or network blip would skip it`);
            assert.ok(dialGiveUpSeconds(teardown, 0) >= 30, "refused dials are retried for half a minute at least");
        });

        it("keeps the long bounds of the steps that build the server (it may still be booting)", () => {
            for (const r of dev.all(COMMAND).filter((c) => c.name !== "workload-teardown")) {
                assert.deepStrictEqual(bounds(r), SETUP_DIAL, r.name);
            }
            assert.ok(dialGiveUpSeconds(SETUP_DIAL) > 1100, "about 20 minutes");
        });

        it("models pulumi-command 1.2.1: dialErrorLimit + 1 dials, waits from 0.1 s growing 1.5 times up to 5 s", () => {
            assert.strictEqual(dialGiveUpSeconds({ dialErrorLimit: 0, perDialTimeout: 15 }), 15);
            assert.ok(Math.abs(dialGiveUpSeconds({ dialErrorLimit: 2, perDialTimeout: 10 }) - (30 + 0.1 + 0.15)) < 1e-9);
            // The provider's defaults (10 failed dials of 15 s): 11 dials and 10 waits, 0.1 s to 3.84 s.
            assert.ok(Math.abs(dialGiveUpSeconds({ dialErrorLimit: 10, perDialTimeout: 15 }) - (165 + 0.2 * (1.5 ** 10 - 1))) < 1e-9);
            // Two more: their waits (5.77 s, 8.65 s) are capped at 5 s.
            assert.ok(Math.abs(dialGiveUpSeconds({ dialErrorLimit: 12, perDialTimeout: 0 }) - (0.2 * (1.5 ** 10 - 1) + 10)) < 1e-9);
        });
    });

    describe("kubeconfig", () => {
        it("is a secret output, read without logging stdout", async () => {
            const cmd = step(dev, "kubeconfig");
            assert.strictEqual(input(cmd, "logging"), "stderr");
            assert.ok(cmd.options.additionalSecretOutputs.includes("stdout"));
            assert.strictEqual(await pulumi.isSecret(dev.outputs.kubeconfig), true);
            assert.ok(!(await pulumi.isSecret(dev.outputs.apiServerCertExpiry)));
            assert.ok(String(input(cmd, "stdin")).includes("192.0.2.10:6443"));
        });

        it("is re-read whenever the kind step reports another cluster", () => {
            assert.deepStrictEqual(input(step(dev, "kubeconfig"), "triggers"), [""]);
            assert.ok(step(dev, "kubeconfig").dependsOn.includes(step(dev, "kind-cluster").urn));
        });
    });

    describe("version bumps update in place", () => {
        const same = (a: RecordedResource, b: RecordedResource) => assert.deepStrictEqual(a.inputs, b.inputs, `${a.name} changed`);

        it("new Cluster API, CAPO, CAAPH and cert-manager versions change only the providers step", async () => {
            const bumped = await runStack("dev", {
                versions: JSON.stringify({ clusterApi: "v1.14.2", capo: "v0.14.8", caaph: "v0.6.5", certManager: "v1.21.2" }),
            });
            for (const t of ["openstack:compute/instance:Instance"]) {
                same(bumped.one(t), dev.one(t));
            }
            for (const name of ["wait-ready", "install-tools", "kind-cluster", "kubeconfig", "orc", "workload-teardown"]) {
                same(step(bumped, name), step(dev, name));
            }
            const before = step(dev, "capi-providers");
            const after = step(bumped, "capi-providers");
            assert.notDeepStrictEqual(after.inputs.stdin, before.inputs.stdin);
            assert.deepStrictEqual(input(after, "triggers"), input(before, "triggers"));
            assert.strictEqual(input(after, "update"), "sudo bash -s");
            assert.ok(String(input(after, "stdin")).includes("v0.14.8"));
        });

        it("a new ORC version re-applies ORC as an update", async () => {
            const bumped = await runStack("dev", { versions: JSON.stringify({ orc: "v2.6.1" }) });
            const after = step(bumped, "orc");
            assert.ok(String(input(after, "stdin")).includes("v2.6.1"));
            assert.deepStrictEqual(input(after, "triggers"), input(step(dev, "orc"), "triggers"));
            assert.strictEqual(input(after, "update"), "sudo bash -s");
            same(step(bumped, "kind-cluster"), step(dev, "kind-cluster"));
        });

        it("a new kind binary needs no new cluster", async () => {
            const bumped = await runStack("dev", { versions: JSON.stringify({ kind: { version: "v0.33.0", sha256: "a".repeat(64) } }) });
            same(step(bumped, "kind-cluster"), step(dev, "kind-cluster"));
            assert.notDeepStrictEqual(step(bumped, "install-tools").inputs, step(dev, "install-tools").inputs);
        });

        it("a new node image is an update of the kind step (which refuses while Clusters exist), not a replacement", async () => {
            const image = `kindest/node:v1.35.2@sha256:${"b".repeat(64)}`;
            const bumped = await runStack("dev", { versions: JSON.stringify({ nodeImage: image }) });
            const kind = step(bumped, "kind-cluster");
            assert.ok(String(input(kind, "stdin")).includes(image));
            assert.deepStrictEqual(input(kind, "triggers"), input(step(dev, "kind-cluster"), "triggers"));
            assert.strictEqual(input(kind, "update"), "sudo bash -s");
            same(bumped.one("openstack:compute/instance:Instance"), dev.one("openstack:compute/instance:Instance"));
        });
    });

    describe("teardown on destroy", () => {
        it("depends directly on everything it must outlive", () => {
            const teardown = step(dev, "workload-teardown");
            const mustOutlive = [
                dev.one("openstack:compute/instance:Instance"),
                dev.one("openstack:networking/floatingIpAssociate:FloatingIpAssociate"),
                ...dev.all("openstack:networking/secGroupRule:SecGroupRule"),
                ...dev.all("openstack:identity/applicationCredential:ApplicationCredential"),
                step(dev, "kind-cluster"),
            ];
            assert.strictEqual(mustOutlive.filter((r) => r.type.endsWith("ApplicationCredential")).length, 2);
            for (const r of mustOutlive) {
                assert.ok(teardown.dependsOn.includes(r.urn), `teardown does not depend on ${r.type} ${r.name}`);
            }
        });

        it("is created as soon as the kind cluster exists, before ORC, Cluster API, the credentials and Flux", () => {
            for (const run of [dev]) {
                const teardown = step(run, "workload-teardown");
                for (const later of [
                    step(run, "orc"),
                    step(run, "capi-providers"),
                    ...run.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:")),
                ]) {
                    assert.ok(!run.dependsOn(teardown, later), `the teardown waits for ${later.type} ${later.name}`);
                }
                assert.ok(run.dependsOn(teardown, step(run, "kind-cluster")));
            }
        });

        it("runs on destroy before anything Pulumi really deletes; what goes before it is only dropped from the state", () => {
            const order = destroyOrder(dev.resources);
            const teardown = step(dev, "workload-teardown");
            const kind = step(dev, "kind-cluster");
            const before = order.slice(
                0,
                order.findIndex((r) => r.urn === teardown.urn),
            );
            const harmless = (r: RecordedResource): boolean =>
                !r.custom ||
                r.type.startsWith("pulumi:") ||
                // Kubernetes objects: skipped while their kind cluster is deleted in the same run.
                (r.type.startsWith("kubernetes:") && r.options.deletedWith === kind.urn) ||
                // Commands without a delete (ORC, Cluster API, kubeconfig, …) do nothing when deleted.
                (r.type === COMMAND && input(r, "delete") === undefined) ||
                // Keys only live in the state.
                r.type === "tls:index/privateKey:PrivateKey";
            assert.ok(
                before.some((r) => r.type === COMMAND),
                "nothing runs before the teardown? the order is suspicious",
            );
            for (const r of before) {
                assert.ok(harmless(r), `${r.type} ${r.name} is really deleted before the teardown runs`);
            }
        });

        it("is deleted by pulumi destroy before the server, credentials, network and cluster steps", () => {
            const order = destroyOrder(dev.resources);
            const at = (r: RecordedResource) => order.findIndex((x) => x.urn === r.urn);
            const teardown = step(dev, "workload-teardown");
            const outlived = dev.resources.filter((r) => dev.dependsOn(teardown, r) && r.custom);
            const types = new Set(outlived.map((r) => r.type));
            for (const t of [
                "openstack:compute/instance:Instance",
                "openstack:networking/network:Network",
                "openstack:identity/applicationCredential:ApplicationCredential",
                "tls:index/privateKey:PrivateKey",
                COMMAND,
            ]) {
                assert.ok(types.has(t), `teardown does not outlive any ${t}`);
            }
            for (const r of outlived) {
                assert.ok(at(teardown) < at(r), `${r.type} ${r.name} would be deleted before the teardown`);
            }
        });

        it("runs the teardown only on delete; up merely syntax-checks it", () => {
            const teardown = step(dev, "workload-teardown");
            assert.strictEqual(input(teardown, "create"), "bash -n");
            assert.strictEqual(input(teardown, "update"), "bash -n");
            assert.strictEqual(input(teardown, "delete"), "sudo bash -s");
            assert.match(String(input(teardown, "stdin")), /^#!\/usr\/bin\/env bash\n/);
        });

        it("can never be replaced by a config change: no triggers, stable name", async () => {
            const changed = await runStack("dev", {
                versions: JSON.stringify({ capo: "v0.14.8", nodeImage: `kindest/node:v1.35.2@sha256:${"b".repeat(64)}` }),
                teardownTimeoutMinutes: "45",
                apiAllowedCidrs: JSON.stringify(["203.0.113.0/24", "198.51.100.0/24"]),
                serverGeneration: "2",
            });
            for (const run of [dev, changed]) {
                const teardown = step(run, "workload-teardown");
                // The command SDK always asks for replacement on trigger changes; without triggers, nothing can.
                assert.strictEqual(teardown.inputs.triggers, undefined);
                assert.ok(
                    teardown.options.replaceOnChanges.every((p) => p.startsWith("triggers")),
                    "replaceOnChanges beyond triggers",
                );
                assert.strictEqual(teardown.options.deleteBeforeReplace, false);
                assert.strictEqual(run.byUrn(teardown.parent!).type, "capi-mgmt:index:WorkloadTeardown");
            }
            assert.strictEqual(step(changed, "workload-teardown").urn, step(dev, "workload-teardown").urn);
            assert.ok(String(input(step(changed, "workload-teardown"), "stdin")).includes("2700"));
        });
    });

    it("renders a kind config that names the cluster and pins the image", async () => {
        const run = dev as Run;
        const kindStdin = String(input(step(run, "kind-cluster"), "stdin"));
        const kindConfig = await valueOf(run.evaluation.result.artifacts.kindConfig);
        assert.strictEqual(parse(kindConfig).name, "dev");
        for (const line of kindConfig.trim().split("\n")) {
            assert.ok(kindStdin.includes(line), `kind step lacks config line ${line}`);
        }
    });
});
