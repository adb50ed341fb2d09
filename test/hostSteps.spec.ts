/**
 * The host step registry (src/host/steps.ts) against the scripts on disk and the graph the
 * program registers: every remote command is a registry entry and is built as the entry says
 * (parent component, commands, trigger, what it waits for, options, the parameters its
 * script is rendered with).
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { reveal, RecordedResource } from "../render/engine";
import { HOST_SCRIPTS_DIR } from "../src/host/hostScripts";
import { HostSteps } from "../src/host/hostStep";
import { HOST_STEPS, hostStep, OTHER_HOST_SCRIPTS } from "../src/host/steps";
import { Run, runStack } from "./harness";

const COMMAND = "command:remote:Command";

/**
 * The parameter names rendered after a script's shebang line (src/host/hostScripts.ts
 * renderHostScriptText): each `readonly NAME='…'` (single-quoted, `'\''` inside) after the
 * "Parameters rendered" header, up to the script's own first line.
 */
export function renderedParams(script: string): string[] {
    const lines = script.split("\n");
    assert.match(lines[1], /^# Parameters rendered by capi-mgmt /);
    let rest = lines.slice(2).join("\n");
    const names: string[] = [];
    for (;;) {
        const skip = /^# shellcheck disable=SC2016 [^\n]*\n/.exec(rest);
        if (skip) {
            rest = rest.slice(skip[0].length);
            continue;
        }
        const m = /^readonly ([A-Z][A-Z0-9_]*)='/.exec(rest);
        if (!m) {
            return names;
        }
        names.push(m[1]);
        // The value: up to the first `'` that is not part of `'\''`, then the newline.
        let i = m[0].length;
        for (;;) {
            const q = rest.indexOf("'", i);
            assert.ok(q >= 0, `unterminated value of ${m[1]}`);
            if (rest.startsWith("'\\''", q)) {
                i = q + 4;
                continue;
            }
            assert.strictEqual(rest[q + 1], "\n", `value of ${m[1]} not followed by a newline`);
            rest = rest.slice(q + 2);
            break;
        }
    }
}

/** The type token of a recorded resource's parent. */
function parentType(run: Run, r: RecordedResource): string {
    return run.byUrn(r.parent!).type;
}

describe("host step registry", function () {
    this.timeout(120000);

    it("names each step once, and each waits only for earlier steps of its component or what the component is given", () => {
        const seen = new Map<string, string>();
        for (const step of HOST_STEPS) {
            assert.ok(!seen.has(step.name), `${step.name} twice`);
            for (const a of step.after) {
                assert.ok(a === "given" || seen.get(a) === step.component, `${step.name} waits for ${a}, no earlier step of ${step.component}`);
            }
            seen.set(step.name, step.component);
        }
        assert.throws(() => hostStep("no-such-step"), /no host step named "no-such-step"/);
    });

    it("accounts for every script in src/host/scripts/ once: a step's, one a step installs, or another use", () => {
        // A step of one mode may run another step's script (src/host/steps.ts `mode`).
        const named = [
            ...HOST_STEPS.flatMap((s) => (s.mode && HOST_STEPS.some((o) => o !== s && o.script === s.script) ? [] : [s.script, ...(s.installs ?? [])])),
            ...Object.keys(OTHER_HOST_SCRIPTS),
        ];
        assert.strictEqual(new Set(named).size, named.length, `a script named twice: ${named.join(", ")}`);
        const onDisk = fs.readdirSync(HOST_SCRIPTS_DIR).filter((f) => f.endsWith(".sh"));
        assert.deepStrictEqual([...named].sort(), [...onDisk].sort());
        for (const f of named) {
            assert.ok(fs.statSync(path.join(HOST_SCRIPTS_DIR, f)).isFile(), f);
        }
    });

    describe("against the graph", () => {
        const runs: [string, Run][] = [];
        const withBackups = "dev with a proxy, mirrors and backups to object storage";
        before(async () => {
            const proxy = { http: "http://proxy.example:3128", https: "http://proxy.example:3128", noProxy: [".corp.example"] };
            const mirrors = [{ registry: "docker.io", endpoints: ["https://mirror.example"] }];
            // One at a time: the mock engine is global to the process.
            runs.push(["dev", await runStack("dev")]);
            runs.push(["prod", await runStack("prod")]);
            runs.push(["dev with a proxy and mirrors", await runStack("dev", { proxy: JSON.stringify(proxy), registryMirrors: JSON.stringify(mirrors) })]);
            runs.push([
                withBackups,
                await runStack("dev", {
                    proxy: JSON.stringify(proxy),
                    registryMirrors: JSON.stringify(mirrors),
                    backupObjectStorage: JSON.stringify({ enabled: true }),
                }),
            ]);
            runs.push([
                "dev selfHosted with a proxy",
                await runStack("dev", { proxy: JSON.stringify(proxy), managementCluster: JSON.stringify({ mode: "selfHosted" }) }),
            ]);
        });
        /** The steps a run registers: those of its mode, and those behind a setting only where it is on. */
        const stepsOf = (what: string) =>
            HOST_STEPS.filter(
                (s) =>
                    (s.mode === undefined || s.mode === (what.includes("selfHosted") ? "selfHosted" : "kind")) &&
                    (s.enabledBy === undefined || what === withBackups),
            );

        it("registers every step, and every remote command is a step, under its component", () => {
            for (const [what, run] of runs) {
                const commands = run.all(COMMAND);
                // Registrations complete in the order their inputs resolve, not the registry's.
                assert.deepStrictEqual(
                    commands.map((c) => c.name).sort(),
                    stepsOf(what)
                        .map((s) => s.name)
                        .sort(),
                    `${what}: the remote commands`,
                );
                for (const c of commands) {
                    assert.strictEqual(parentType(run, c), `capi-mgmt:index:${hostStep(c.name).component}`, `${what}: ${c.name}'s parent`);
                }
            }
        });

        it("builds each command as its entry says: commands, trigger, waits, options", () => {
            for (const [what, run] of runs) {
                for (const step of stepsOf(what)) {
                    const c = run.one(COMMAND, step.name);
                    const shell = step.root ? "sudo bash -s" : "bash -s";
                    const lines =
                        step.run === "delete"
                            ? { create: "bash -n", update: "bash -n", delete: shell }
                            : step.run === "create"
                              ? { create: shell }
                              : { create: shell, update: shell };
                    assert.deepStrictEqual(
                        { create: c.inputs.create, update: c.inputs.update, delete: c.inputs.delete },
                        { update: undefined, delete: undefined, ...lines },
                        `${what}: ${step.name}`,
                    );
                    assert.strictEqual(c.inputs.triggers !== undefined, step.trigger !== undefined, `${what}: ${step.name} triggers`);
                    assert.strictEqual(c.inputs.addPreviousOutputInEnv, false);
                    assert.strictEqual(c.options.deleteBeforeReplace, step.deleteBeforeReplace === true, `${what}: ${step.name} deleteBeforeReplace`);
                    // pulumi-command itself adds `connection` to every command's secret outputs.
                    assert.deepStrictEqual(
                        [...c.options.additionalSecretOutputs].sort(),
                        ["connection", ...(step.secretOutputs ?? [])].sort(),
                        `${what}: ${step.name} secret outputs`,
                    );
                    assert.strictEqual(c.inputs.logging, step.logging === "stderr" ? "stderr" : undefined, `${what}: ${step.name} logging`);
                    for (const a of step.after.filter((x) => x !== "given")) {
                        assert.ok(c.dependsOn.includes(run.one(COMMAND, a).urn), `${what}: ${step.name} waits for ${a}`);
                    }
                }
            }
        });

        it("renders each step's script with its entry's parameters, in the entry's order", () => {
            const optionalSeen = new Set<string>();
            for (const [what, run] of runs) {
                for (const step of stepsOf(what)) {
                    const script = String(reveal(run.one(COMMAND, step.name).inputs.stdin));
                    const rendered = renderedParams(script);
                    const optional = step.optionalParams ?? [];
                    assert.deepStrictEqual(
                        rendered.filter((p) => !optional.includes(p)),
                        [...step.params],
                        `${what}: ${step.name} renders ${rendered.join(" ")}`,
                    );
                    rendered.filter((p) => optional.includes(p)).forEach((p) => optionalSeen.add(`${step.name} ${p}`));
                }
            }
            // Every optional parameter shows up in one of the runs (so none is a typo).
            const expected = HOST_STEPS.flatMap((s) => (s.optionalParams ?? []).map((p) => `${s.name} ${p}`));
            assert.deepStrictEqual(
                expected.filter((e) => !optionalSeen.has(e)),
                [],
            );
        });
    });

    describe("HostSteps", () => {
        class Probe extends pulumi.ComponentResource {
            constructor() {
                super("capi-mgmt:test:Probe", "probe", {});
            }
        }
        const connection = { host: "192.0.2.10", user: "ubuntu", privateKey: "k", hostKey: "ssh-ed25519 AAAA" };

        it("refuses a step of another component, a step before the one it waits for, a missing trigger, a protect it has no setting for", async () => {
            await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs });
            const steps = new HostSteps(new Probe(), "HostBootstrap", { connection, given: [], triggers: { server: ["id"] } });
            assert.throws(() => steps.add("kind-cluster", "#!/bin/sh\n"), /HostBootstrap: no host step "kind-cluster" of this component/);
            assert.throws(() => steps.add("metadata-block", "#!/bin/sh\n"), /waits for wait-ready, which is not added yet/);
            assert.throws(() => steps.add("wait-ready", "#!/bin/sh\n", { protect: true }), /not protected by a setting/);
            steps.add("wait-ready", "#!/bin/sh\n");
            assert.throws(() => steps.add("wait-ready", "#!/bin/sh\n"), /added twice/);
            const cluster = new HostSteps(new Probe(), "ManagementCluster", { connection, given: [], triggers: {} });
            assert.throws(() => cluster.add("kind-cluster", "#!/bin/sh\n"), /triggered by server, which has no value/);
        });
    });
});
