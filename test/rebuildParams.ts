/**
 * What the serverGeneration bump guard's specs (test/rebuildCheck.spec.ts, test/rebuildProgram.spec.ts,
 * test/rebuildProtect.spec.ts) share: the resource types, a login key that must never be printed,
 * the workstation with fake ssh and the server behind it, and a stack's recorded `deployed` output.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { DEPLOYED_OUTPUT, DeployedState } from "../src/lifecycle/lifecycle";
import { SERVER_KUBECONFIG } from "../src/host/hostScripts";
import { REBUILD_CHECK_KEY_ENV, RebuildCheckPlan, renderRebuildCheckScript } from "../src/lifecycle/rebuild";
import { MockCloudOptions, RecordedResource, reveal, valueOf } from "../render/engine";
import { installFake, logLines, makeTempDir, RunResult, runScript } from "./fakes/shell";
import { PROJECT_DIR, runStack } from "./harness";

export const LOCAL_COMMAND = "command:local:Command";
export const PORT = "openstack:networking/port:Port";
export const INSTANCE = "openstack:compute/instance:Instance";
export const FAKES_DIR = path.join(PROJECT_DIR, "test", "fakes", "rebuild");
export const SCRIPT = path.join(PROJECT_DIR, "src", "host", "scripts", "rebuild-check.sh");

/** A login key that is nobody's; its body must never be printed. */
export const KEY_BODY = "S0VZLUJPRFktTkVWRVItUFJJTlRFRA";
export const LOGIN_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----`;
export const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyOfTheStack";
/** A check plan (the variant with a host: a narrowed type, as the tests spread it with another host). */
export const CHECK: Extract<RebuildCheckPlan, { mode: "check" }> = { mode: "check", previousGeneration: 1, targetGeneration: 2, host: "192.0.2.10" };

/** The machine running Pulumi (fake ssh) and, behind its ssh, the server (fake sudo, docker, kubectl). */
export class Workstation {
    readonly dir = makeTempDir("rebuild-check");
    readonly bin = path.join(this.dir, "bin");
    readonly tmp = path.join(this.dir, "tmp");
    readonly log = path.join(this.dir, "calls.log");
    readonly kubeconfig = path.join(this.dir, "kubeconfig");
    readonly expectedKey = path.join(this.dir, "expected-key");

    constructor(opts: { docker?: boolean; kubeconfig?: boolean } = {}) {
        fs.mkdirSync(this.bin, { recursive: true });
        fs.mkdirSync(this.tmp, { recursive: true });
        const tools = ["ssh", "sudo", "kubectl", ...(opts.docker === false ? [] : ["docker"])];
        for (const tool of tools) {
            installFake(this.bin, tool, `rebuild/${tool}.sh`);
        }
        if (opts.kubeconfig !== false) {
            fs.writeFileSync(this.kubeconfig, "apiVersion: v1\nkind: Config\n");
        }
        fs.writeFileSync(this.expectedKey, `${LOGIN_KEY}\n`);
        fs.writeFileSync(this.log, "");
    }

    /** The script as the program renders it, with the server's kubeconfig path pointed into the test's directory. */
    script(plan: RebuildCheckPlan): string {
        const rendered = renderRebuildCheckScript(plan, HOST_KEY, "ubuntu");
        const line = `readonly SERVER_KUBECONFIG_PATH='${SERVER_KUBECONFIG}'`;
        assert.ok(rendered.includes(line), "the rendered script does not carry the server's kubeconfig path");
        return rendered.replace(line, `readonly SERVER_KUBECONFIG_PATH='${this.kubeconfig}'`);
    }

    run(plan: RebuildCheckPlan, fake: Record<string, string> = {}): RunResult {
        const r = runScript(this.script(plan), {
            // /usr/local/bin (a real docker, maybe) is left out on purpose.
            PATH: `${this.bin}:/usr/bin:/bin`,
            HOME: this.dir,
            TMPDIR: this.tmp,
            [REBUILD_CHECK_KEY_ENV]: LOGIN_KEY,
            FAKE_LOG: this.log,
            FAKE_EXPECTED_KEY: this.expectedKey,
            FAKE_KIND_NODES: "0123456789ab",
            ...fake,
        });
        for (const text of [r.stdout, r.stderr]) {
            assert.ok(!text.includes(KEY_BODY), `the login key was printed:\n${text}`);
        }
        assert.deepStrictEqual(fs.readdirSync(this.tmp), [], "the key's temporary directory is left behind");
        return r;
    }

    calls(): string[] {
        return logLines(this.log);
    }

    sshArgs(): string {
        const line = this.calls().find((l) => l.startsWith("ssh args "));
        assert.ok(line, `ssh was not called:\n${this.calls().join("\n")}`);
        return line;
    }
}

/** The dev stack's `deployed` as a first `up` records it. */
export async function deployedOf(stack: string, overrides: Record<string, string | undefined> = {}): Promise<DeployedState> {
    const first = await runStack(stack, overrides);
    return valueOf(first.outputs.deployed);
}

export function again(deployed: DeployedState): MockCloudOptions {
    return { previousOutputs: { [DEPLOYED_OUTPUT]: deployed, floatingIp: "192.0.2.10" } };
}

export function stdinOf(r: RecordedResource): string {
    return String(reveal(r.inputs.stdin));
}
