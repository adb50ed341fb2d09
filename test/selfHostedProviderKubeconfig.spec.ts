/**
 * The program's Kubernetes provider of the self-hosted cluster and its kubeconfig
 * (docs/self-hosted.md, "The self-hosted cluster's kubeconfig"): the self-hosted-provider-kubeconfig
 * step prints the server's copy (src/host/scripts/self-hosted-provider-kubeconfig.sh, run here
 * under bash with a fake refresh and real certificates made by openssl), and the program runs
 * it again once per renewal of the client certificate it printed, keyed on what the last `up`
 * recorded in the stack output `selfHostedKubeconfigRefresh` (the pure key, and its wiring under
 * the mock engine: modelled, the mock engine neither diffs nor replaces).
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { RecordedResource, reveal, valueOf } from "../render/engine";
import {
    renderSelfHostedProviderKubeconfigScript,
    SELF_HOSTED_KUBECONFIG_OUTPUT,
    SELF_HOSTED_KUBECONFIG_SCRIPT_PATH,
    SELF_HOSTED_KUBECONFIG_UNIT,
    SELF_HOSTED_KUBECONFIG_WARN_DAYS,
    SELF_HOSTED_PROVIDER_REFRESH_DAYS,
    selfHostedKubeconfigRefreshOutput,
    selfHostedRefreshKey,
} from "../src/cluster/selfHostedKubeconfig";
import { SELF_HOSTED_STATE_DIR } from "../src/cluster/selfHostedScripts";
import { rerender } from "./fakes/rerender";
import { DAY_MS as DAY, kubeconfigWithCertificate, rfc3339 as iso } from "./fakes/realCertificates";
import { assertFailure, assertSuccess, hasShellcheck, installFake, makeTempDir, runScript, shellcheck, skipTest } from "./fakes/shell";
import { PROJECT_DIR, Run, runStack } from "./harness";

const COMMAND = "command:remote:Command";
const STEP = "self-hosted-provider-kubeconfig";
const SELF_HOSTED = { managementCluster: JSON.stringify({ mode: "selfHosted" }) };

/** A kubeconfig of the self-hosted cluster whose client certificate (made now by openssl) lasts `days`, and its notAfter. */
function kubeconfig(ctx: Mocha.Context, days: number): { text: string; expiry: string } {
    const { kubeconfig: text, expiry } = kubeconfigWithCertificate(ctx, days, "https://203.0.113.7:6443");
    return { text, expiry };
}

describe("self-hosted provider kubeconfig: when the program reads it again (pure)", () => {
    const now = new Date(Date.UTC(2027, 5, 1));
    const record = (expiryMs: number, refreshKey: string) => ({ kubeconfigCertExpiry: iso(expiryMs), refreshKey });

    it("re-reads from the day the refresh would fail for the certificate the provider holds", () => {
        assert.strictEqual(SELF_HOSTED_PROVIDER_REFRESH_DAYS, SELF_HOSTED_KUBECONFIG_WARN_DAYS);
    });

    it("keeps the previous key (none on a first up or for a stack from before the output) until the re-read is due", () => {
        for (const previous of [undefined, null, {}, "x", { kubeconfigCertExpiry: "", refreshKey: "" }, { kubeconfigCertExpiry: "not a date" }]) {
            assert.strictEqual(selfHostedRefreshKey(previous, now), "", JSON.stringify(previous));
        }
        assert.strictEqual(selfHostedRefreshKey(record(now.getTime() + 200 * DAY, ""), now), "");
        const key = "renewed-after:2026-06-02T00:00:00Z";
        assert.strictEqual(selfHostedRefreshKey(record(now.getTime() + 31 * DAY, key), now), key);
    });

    it("changes the key from SELF_HOSTED_PROVIDER_REFRESH_DAYS days before the recorded expiry, and expired too", () => {
        const expiry = now.getTime() + SELF_HOSTED_PROVIDER_REFRESH_DAYS * DAY;
        assert.strictEqual(selfHostedRefreshKey(record(expiry, "k"), now), `renewed-after:${iso(expiry)}`);
        assert.strictEqual(selfHostedRefreshKey(record(expiry + 1000, "k"), now), "k", "a second before the window: not yet");
        assert.strictEqual(selfHostedRefreshKey(record(now.getTime() - DAY, ""), now), `renewed-after:${iso(now.getTime() - DAY)}`);
    });

    it("one re-read per renewal: the run after it records a younger certificate and keeps the key", function () {
        const renewed = kubeconfig(this, 365);
        const dueKey = selfHostedRefreshKey(record(Date.now() + 5 * DAY, ""), new Date());
        assert.match(dueKey, /^renewed-after:/);
        const output = selfHostedKubeconfigRefreshOutput(renewed.text, dueKey);
        assert.deepStrictEqual(output, {
            timer: `${SELF_HOSTED_KUBECONFIG_UNIT}.timer`,
            kubeconfigCertExpiry: renewed.expiry,
            refreshFrom: iso(Date.parse(renewed.expiry) - SELF_HOSTED_PROVIDER_REFRESH_DAYS * DAY),
            refreshKey: dueKey,
        });
        assert.strictEqual(selfHostedRefreshKey(output, new Date()), dueKey);
        assert.deepStrictEqual(selfHostedKubeconfigRefreshOutput("", ""), {
            timer: `${SELF_HOSTED_KUBECONFIG_UNIT}.timer`,
            kubeconfigCertExpiry: "",
            refreshFrom: "",
            refreshKey: "",
        });
    });
});

/** A server with the self-hosted state directory and the fake refresh installed at REFRESH_COMMAND. */
class Server {
    readonly root = makeTempDir("self-hosted-provider-kubeconfig");
    readonly fake = path.join(this.root, "fake");
    readonly state = path.join(this.root, "state");
    readonly refresh = path.join(this.root, "bin", "self-hosted-kubeconfig.sh");

    constructor(refreshInstalled = true) {
        fs.mkdirSync(this.fake, { recursive: true });
        fs.mkdirSync(this.state, { recursive: true });
        if (refreshInstalled) {
            installFake(path.dirname(this.refresh), path.basename(this.refresh), "selfhosted/refresh.sh");
        }
    }
    copy(text: string): void {
        fs.writeFileSync(path.join(this.state, "kubeconfig"), text, { mode: 0o600 });
    }
    script(): string {
        const paths: Record<string, string> = { [SELF_HOSTED_STATE_DIR]: this.state, [SELF_HOSTED_KUBECONFIG_SCRIPT_PATH]: this.refresh };
        return rerender(renderSelfHostedProviderKubeconfigScript(), (_name, value) => paths[value]);
    }
    run() {
        return runScript(this.script(), { PATH: process.env.PATH!, FAKE_DIR: this.fake, FAKE_STATE_DIR: this.state });
    }
    calls(): string[] {
        const f = path.join(this.fake, "calls");
        return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n") : [];
    }
}

describe("src/host/scripts/self-hosted-provider-kubeconfig.sh: the copy the provider gets", () => {
    it("is rendered with the server's paths and the program's window", () => {
        const script = renderSelfHostedProviderKubeconfigScript();
        assert.match(script, new RegExp(`^readonly STATE_DIR='${SELF_HOSTED_STATE_DIR}'$`, "m"));
        assert.match(script, new RegExp(`^readonly REFRESH_COMMAND='${SELF_HOSTED_KUBECONFIG_SCRIPT_PATH}'$`, "m"));
        assert.match(script, new RegExp(`^readonly REFRESH_BEFORE_DAYS='${SELF_HOSTED_PROVIDER_REFRESH_DAYS}'$`, "m"));
    });

    it("runs the refresh first, then prints the (renewed) copy and nothing else on stdout", function () {
        const old = kubeconfig(this, 20);
        const renewed = kubeconfig(this, 365);
        const server = new Server();
        server.copy(old.text);
        fs.writeFileSync(path.join(server.fake, "refreshed-kubeconfig"), renewed.text);
        const r = server.run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, renewed.text);
        assert.deepStrictEqual(server.calls(), ["refresh"]);
        assert.match(r.stderr, new RegExp(`its client certificate expires ${renewed.expiry}`));
    });

    it("before the refresh is installed (a stack's first up), prints the copy the self-hosted-cluster step wrote", function () {
        const fresh = kubeconfig(this, 365);
        const server = new Server(false);
        server.copy(fresh.text);
        const r = server.run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, fresh.text);
        assert.match(r.stderr, /is not installed yet/);
    });

    it("fails with the refresh's reason when the refresh fails, printing nothing", function () {
        const server = new Server();
        server.copy(kubeconfig(this, 365).text);
        fs.writeFileSync(path.join(server.fake, "refresh-fails"), "");
        const r = server.run();
        assertFailure(r);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /Cluster API has not renewed the certificate/);
        assert.match(r.stderr, /the refresh of .*kubeconfig .* failed, its reason is above/);
    });

    it("refuses a copy whose certificate is itself due (no later up would read again), or unreadable, or missing", function () {
        const server = new Server();
        const due = kubeconfig(this, SELF_HOSTED_PROVIDER_REFRESH_DAYS - 1);
        server.copy(due.text);
        let r = server.run();
        assertFailure(r);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, new RegExp(`expires at ${due.expiry}, within ${SELF_HOSTED_PROVIDER_REFRESH_DAYS} days, and was not renewed`));
        assert.match(r.stderr, /journalctl -u capi-mgmt-self-hosted-kubeconfig/);
        server.copy("apiVersion: v1\nusers: []\n");
        r = server.run();
        assertFailure(r);
        assert.match(r.stderr, /client certificate of .* cannot be read/);
        fs.rmSync(path.join(server.state, "kubeconfig"));
        r = server.run();
        assertFailure(r);
        assert.match(r.stderr, /does not exist; the self-hosted-cluster step writes it/);
    });

    it("passes shellcheck as rendered", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of the rendered script", "shellcheck");
        }
        const file = path.join(makeTempDir("shellcheck"), "self-hosted-provider-kubeconfig.sh");
        fs.writeFileSync(file, renderSelfHostedProviderKubeconfigScript());
        shellcheck([file]);
    });
});

describe("self-hosted provider kubeconfig in the program (mock engine: modelled)", function () {
    this.timeout(300000);
    let first: Run;
    const step = (run: Run, name: string) => run.one(COMMAND, name);
    const input = (r: RecordedResource, key: string) => reveal(r.inputs[key]);
    const outputOf = async (run: Run) => ({ [SELF_HOSTED_KUBECONFIG_OUTPUT]: reveal(await valueOf(run.outputs.selfHostedKubeconfigRefresh)) });

    before(async () => {
        first = await runStack("dev", SELF_HOSTED);
    });

    it("reads the server's copy after self-hosted-cluster, create only, its stdout secret and not logged; the provider uses it", () => {
        const reader = step(first, STEP);
        assert.ok(reader.parent?.endsWith("capi-mgmt:index:SelfHostedCluster::self-hosted"), reader.parent);
        assert.ok(reader.dependsOn.includes(step(first, "self-hosted-cluster").urn));
        assert.strictEqual(input(reader, "create"), "sudo bash -s");
        assert.strictEqual(input(reader, "update"), undefined, "a changed script alone reads nothing");
        assert.strictEqual(input(reader, "delete"), undefined, "a replacement runs nothing for the old one");
        assert.ok(reader.options.additionalSecretOutputs.includes("stdout"));
        assert.strictEqual(input(reader, "logging"), "stderr");
        assert.strictEqual(input(reader, "stdin"), renderSelfHostedProviderKubeconfigScript());
        assert.deepStrictEqual(first.one("pulumi:providers:kubernetes", "self-hosted-cluster").propertyDependencies.kubeconfig, [reader.urn]);
        assert.deepStrictEqual(input(reader, "triggers"), input(step(first, "self-hosted-cluster"), "triggers"), "the kind cluster's ID alone");
    });

    it("exports selfHostedKubeconfigRefresh under the name the next run reads back (not secret); kind mode's is null", async () => {
        assert.match(
            fs.readFileSync(path.join(PROJECT_DIR, "index.ts"), "utf8"),
            new RegExp(`^export const ${SELF_HOSTED_KUBECONFIG_OUTPUT} = outputs\\.${SELF_HOSTED_KUBECONFIG_OUTPUT};$`, "m"),
        );
        assert.deepStrictEqual((await outputOf(first))[SELF_HOSTED_KUBECONFIG_OUTPUT], selfHostedKubeconfigRefreshOutput("", ""));
        const kind = await runStack("dev");
        assert.strictEqual(await valueOf(kind.outputs.selfHostedKubeconfigRefresh), null);
        assert.strictEqual(kind.all(COMMAND).filter((r) => r.name === STEP).length, 0);
    });

    it("a second up keeps the triggers (its preview is empty); a due re-read changes this step's trigger alone, once", async () => {
        const again = await runStack("dev", SELF_HOSTED, { previousOutputs: await outputOf(first) });
        assert.deepStrictEqual(input(step(again, STEP), "triggers"), input(step(first, STEP), "triggers"));

        const expiry = iso(Date.now() + 10 * DAY);
        const due = await runStack("dev", SELF_HOSTED, {
            previousOutputs: { [SELF_HOSTED_KUBECONFIG_OUTPUT]: { kubeconfigCertExpiry: expiry, refreshKey: "" } },
        });
        const id = (input(step(first, STEP), "triggers") as unknown[])[0];
        assert.deepStrictEqual(input(step(due, STEP), "triggers"), [id, `renewed-after:${expiry}`]);
        for (const r of first.resources.filter((x) => x.custom && x.name !== STEP)) {
            const same = due.resources.find((x) => x.urn === r.urn);
            assert.ok(same, r.urn);
            assert.deepStrictEqual(reveal(same.inputs), reveal(r.inputs), `${r.name}: only the reading step changes`);
        }
        // The run after it reads back the key: not due again, the same triggers.
        const recorded = { [SELF_HOSTED_KUBECONFIG_OUTPUT]: { kubeconfigCertExpiry: iso(Date.now() + 365 * DAY), refreshKey: `renewed-after:${expiry}` } };
        const next = await runStack("dev", SELF_HOSTED, { previousOutputs: recorded });
        assert.deepStrictEqual(input(step(next, STEP), "triggers"), input(step(due, STEP), "triggers"));
        // The kind cluster's steps follow their own record, not this one.
        for (const name of ["kubeconfig", "cert-renewal", "api-cert-expiry"]) {
            assert.deepStrictEqual(input(step(due, name), "triggers"), input(step(first, name), "triggers"), name);
        }
    });
});
