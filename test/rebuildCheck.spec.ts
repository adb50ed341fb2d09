import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseTestConfig } from "./fixtures";
import { DeployedState } from "../src/lifecycle/lifecycle";
import { SERVER_KUBECONFIG } from "../src/host/hostScripts";
import {
    REBUILD_CHECK_CONNECT_TIMEOUT_SECONDS,
    REBUILD_CHECK_CONNECTION_ATTEMPTS,
    rebuildCheckPlan,
    rebuildProblems,
    renderRebuildCheckScript,
} from "../src/lifecycle/rebuild";
import { assertFailure, assertSuccess, hasShellcheck, runScript, shellcheck, skipTest } from "./fakes/shell";
import { FAKES_DIR, SCRIPT, HOST_KEY, CHECK, Workstation } from "./rebuildParams";

describe("serverGeneration bump guard: plan and protection (pure)", () => {
    const state: DeployedState = { serverGeneration: 1, prefix: "dev", availabilityZone: "", flavor: "SCS-4V-16", workloadNamespace: "clusters", gitops: true };
    const deployed = { kind: "deployed" as const, state };

    it("checks only a bump over a recorded deployment, at the floating IP the last up exported", () => {
        assert.deepStrictEqual(rebuildCheckPlan({ kind: "none" }, parseTestConfig({ serverGeneration: "2" }), ""), { mode: "none" });
        assert.deepStrictEqual(rebuildCheckPlan({ kind: "legacy", gitops: true }, parseTestConfig(), "192.0.2.10"), { mode: "none" });
        assert.deepStrictEqual(rebuildCheckPlan(deployed, parseTestConfig(), "192.0.2.10"), { mode: "none" });
        assert.deepStrictEqual(rebuildCheckPlan(deployed, parseTestConfig({ serverGeneration: "2" }), "192.0.2.10"), CHECK);
    });

    it("skips the check only when rebuildWithClusters names the target generation", () => {
        assert.deepStrictEqual(rebuildCheckPlan(deployed, parseTestConfig({ serverGeneration: "2", rebuildWithClusters: "2" }), "192.0.2.10"), {
            mode: "acknowledged",
            previousGeneration: 1,
            targetGeneration: 2,
            host: "192.0.2.10",
        });
        // An acknowledgement of an earlier bump does not cover this one.
        const later = { kind: "deployed" as const, state: { ...state, serverGeneration: 2 } };
        assert.deepStrictEqual(rebuildCheckPlan(later, parseTestConfig({ serverGeneration: "3", rebuildWithClusters: "2" }), "192.0.2.10"), {
            ...CHECK,
            previousGeneration: 2,
            targetGeneration: 3,
        });
    });

    it("refuses a bump over a protected server, naming serverGeneration, protect and the way out; nothing else", () => {
        const protectedState = { kind: "deployed" as const, state: { ...state, protect: true } };
        const [problem, ...rest] = rebuildProblems(protectedState, parseTestConfig({ serverGeneration: "2" }));
        assert.deepStrictEqual(rest, []);
        assert.match(problem, /^capi-mgmt:serverGeneration: generation 1's server is protected \(capi-mgmt:protect/);
        assert.match(problem, /run `pulumi up` with capi-mgmt:serverGeneration still 1 and capi-mgmt:protect: false/);
        assert.deepStrictEqual(rebuildProblems(protectedState, parseTestConfig()), [], "the same generation");
        assert.deepStrictEqual(rebuildProblems(deployed, parseTestConfig({ serverGeneration: "2" })), [], "not protected");
        assert.deepStrictEqual(rebuildProblems({ kind: "none" }, parseTestConfig({ serverGeneration: "2" })), []);
    });

    it("renders the script with the plan, the pinned host key and the bounds; nothing secret", () => {
        const script = renderRebuildCheckScript(CHECK, `${HOST_KEY}\n`, "ubuntu");
        for (const line of [
            "readonly MODE='check'",
            "readonly PREVIOUS_GENERATION='1'",
            "readonly TARGET_GENERATION='2'",
            "readonly HOST='192.0.2.10'",
            `readonly HOST_PUBLIC_KEY='${HOST_KEY}'`,
            `readonly SERVER_KUBECONFIG_PATH='${SERVER_KUBECONFIG}'`,
            `readonly CONNECT_TIMEOUT_SECONDS='${REBUILD_CHECK_CONNECT_TIMEOUT_SECONDS}'`,
        ]) {
            assert.ok(script.split("\n").includes(line), line);
        }
        assert.doesNotMatch(script, /PRIVATE KEY/);
        assert.ok(REBUILD_CHECK_CONNECT_TIMEOUT_SECONDS * REBUILD_CHECK_CONNECTION_ATTEMPTS <= 60, "a lost server must be given up on within a minute");
    });
});

describe("serverGeneration bump guard: src/host/scripts/rebuild-check.sh under bash with fake ssh, sudo, docker, kubectl", function () {
    this.timeout(120000);

    it("passes shellcheck, with its fakes", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of src/host/scripts/rebuild-check.sh", "shellcheck");
        }
        shellcheck([SCRIPT, ...fs.readdirSync(FAKES_DIR).map((f) => path.join(FAKES_DIR, f)), path.join(FAKES_DIR, "..", "ssh-args.sh")]);
    });

    it("no bump (MODE none): exits at once and contacts nothing", () => {
        const w = new Workstation();
        const r = w.run({ mode: "none" });
        assertSuccess(r);
        assert.strictEqual(r.stdout + r.stderr, "");
        assert.deepStrictEqual(w.calls(), []);
    });

    it("an acknowledged bump: passes without asking the server for its Clusters, saying so (the backup before it: test/backupBefore.spec.ts)", () => {
        const w = new Workstation();
        const r = w.run({ mode: "acknowledged", previousGeneration: 1, targetGeneration: 2, host: "192.0.2.10" });
        assertSuccess(r);
        assert.match(r.stdout, /generation 2 is acknowledged by capi-mgmt:rebuildWithClusters: 2; .*generation 1 is not checked/);
        assert.ok(!w.calls().some((c) => c.startsWith("kubectl")), w.calls().join("\n"));
    });

    it("no Cluster: passes, over ssh with the pinned host key, the key in a private file removed after, bounded, kubectl bounded", () => {
        const w = new Workstation();
        const r = w.run(CHECK, { FAKE_CLUSTERS: "" });
        assertSuccess(r);
        assert.match(r.stdout, /generation 1 at 192\.0\.2\.10 holds no Cluster objects; building generation 2/);
        const args = w.sshArgs();
        for (const opt of [
            "-o StrictHostKeyChecking=yes",
            "-o GlobalKnownHostsFile=/dev/null",
            "-o BatchMode=yes",
            "-o IdentitiesOnly=yes",
            `-o ConnectTimeout=${REBUILD_CHECK_CONNECT_TIMEOUT_SECONDS}`,
            `-o ConnectionAttempts=${REBUILD_CHECK_CONNECTION_ATTEMPTS}`,
            "-o ServerAliveInterval=10 -o ServerAliveCountMax=3",
            "ubuntu@192.0.2.10 sudo -n bash -s",
        ]) {
            assert.ok(args.includes(opt), `${opt} missing from: ${args}`);
        }
        const calls = w.calls();
        assert.ok(calls.includes("ssh key mode 600 dir mode 700"), calls.join("\n"));
        assert.ok(calls.includes("ssh key is the login key"), calls.join("\n"));
        assert.ok(calls.includes(`ssh known_hosts 192.0.2.10 ${HOST_KEY}`), calls.join("\n"));
        assert.ok(!fs.existsSync(calls.find((l) => l.startsWith("ssh dir "))!.slice("ssh dir ".length)), "the key's directory is left behind");
        const kubectl = calls.filter((l) => l.startsWith("kubectl "));
        assert.strictEqual(kubectl.length, 2, calls.join("\n"));
        for (const k of kubectl) {
            assert.ok(k.startsWith(`kubectl --kubeconfig ${w.kubeconfig} --request-timeout 20s get `), k);
        }
        assert.ok(calls.includes("sudo -n bash -s"), calls.join("\n"));
    });

    it("Clusters on the running management cluster: refuses, naming them, serverGeneration, the acknowledgement of this generation and clusterctl move", () => {
        const w = new Workstation();
        const r = w.run(CHECK, { FAKE_CLUSTERS: "clusters/workload-1\nteam-b/workload-2" });
        assertFailure(r);
        assert.match(r.stderr, /REFUSED: capi-mgmt:serverGeneration: bumping it from 1 to 2 would build a second management cluster/);
        assert.match(r.stderr, /holds 2 Cluster object\(s\): clusters\/workload-1 team-b\/workload-2\./);
        assert.match(r.stderr, /two CAPOs/);
        assert.match(r.stderr, /clusterctl move/);
        assert.match(r.stderr, /set capi-mgmt:rebuildWithClusters: 2 \(in the same change as the bump\) to rebuild anyway/);
    });

    it("many Clusters: lists ten and counts the rest", () => {
        const w = new Workstation();
        const names = Array.from({ length: 13 }, (_, i) => `clusters/c${i + 1}`);
        const r = w.run(CHECK, { FAKE_CLUSTERS: names.join("\n") });
        assertFailure(r);
        assert.match(r.stderr, /holds 13 Cluster object\(s\): clusters\/c1 .* clusters\/c10 and 3 more\./);
        assert.ok(!r.stderr.includes("clusters/c11"), r.stderr);
    });

    it("the running server does not answer (lost, or a foreign host key): refuses at once, telling to acknowledge if it is really gone", () => {
        for (const [mode, said] of [
            ["unreachable", /Connection timed out/],
            ["hostkey", /Host key verification failed/],
        ] as const) {
            const w = new Workstation();
            const r = w.run(CHECK, { FAKE_SSH: mode });
            assertFailure(r);
            assert.match(
                r.stderr,
                /capi-mgmt:serverGeneration: bumping it from 1 to 2, but the running server \(generation 1\) does not answer SSH at 192\.0\.2\.10/,
            );
            assert.match(r.stderr, said);
            assert.match(r.stderr, /if that server is really gone, .*set capi-mgmt:rebuildWithClusters: 2/);
            assert.deepStrictEqual(
                w.calls().filter((l) => !l.startsWith("ssh ")),
                [],
                "something ran on the server",
            );
        }
    });

    it("no management cluster on the server (no Docker, no kind node, no Cluster API): passes, saying why", () => {
        const cases: Array<[string, Workstation, Record<string, string>, RegExp]> = [
            ["no Docker", new Workstation({ docker: false }), {}, /no Docker on the server/],
            ["no kind node", new Workstation({ kubeconfig: false }), { FAKE_KIND_NODES: "" }, /no kind node container/],
            ["no Cluster API", new Workstation(), { FAKE_KUBE: "nocrd" }, /Cluster API is not installed/],
        ];
        for (const [title, w, fake, said] of cases) {
            const r = w.run(CHECK, fake);
            assert.strictEqual(r.status, 0, `${title}: exit ${r.status}\n${r.stderr}`);
            assert.match(r.stdout, said, title);
        }
    });

    it("a management cluster that does not answer (API down, Docker down, kubeconfig gone): refuses, offering repair, move or the acknowledgement", () => {
        const cases: Array<[string, Workstation, Record<string, string>, RegExp]> = [
            ["API down", new Workstation(), { FAKE_KUBE: "down" }, /API does not answer/],
            ["Docker down", new Workstation(), { FAKE_DOCKER: "down" }, /Docker on the server does not answer/],
            ["kubeconfig gone", new Workstation({ kubeconfig: false }), {}, /its kubeconfig .* does not/],
        ];
        for (const [title, w, fake, said] of cases) {
            const r = w.run(CHECK, fake);
            assert.strictEqual(r.status, 1, `${title}: exit ${r.status}\n${r.stderr}`);
            assert.match(r.stderr, /could not be asked for Cluster objects \(exit 3: /, title);
            assert.match(r.stderr, said, title);
            assert.match(
                r.stderr,
                /Repair it and run up again, or delete the workload clusters or move them with clusterctl move first .* set capi-mgmt:rebuildWithClusters: 2/,
                title,
            );
        }
    });

    it("no floating IP recorded, or no login key: refuses without contacting anything", () => {
        const w = new Workstation();
        assert.match(w.run({ ...CHECK, host: "" }).stderr, /recorded no floating IP .* set capi-mgmt:rebuildWithClusters: 2/);
        assertFailure(runScript(w.script(CHECK), { PATH: `${w.bin}:/usr/bin:/bin`, TMPDIR: w.tmp, FAKE_LOG: w.log }));
        assert.deepStrictEqual(w.calls(), []);
    });
});
