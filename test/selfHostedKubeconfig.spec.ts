/**
 * The refresh of the self-hosted cluster's kubeconfig on the server
 * (src/host/scripts/self-hosted-kubeconfig.sh, its install step and daily timer;
 * docs/self-hosted.md, "The self-hosted cluster's kubeconfig"): under bash with the self-hosted
 * mode's fake kubectl (test/fakes/selfhosted/kubectl.sh) and real client certificates made by
 * openssl, expiring when each test says (the machine's clock: the script compares with `date`).
 */
import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    renderSelfHostedKubeconfigInstallScript,
    renderSelfHostedKubeconfigScript,
    renderSelfHostedKubeconfigService,
    renderSelfHostedKubeconfigTimer,
    SELF_HOSTED_KUBECONFIG_SCRIPT_PATH,
    SELF_HOSTED_KUBECONFIG_UNIT,
} from "../src/cluster/selfHostedKubeconfig";
import { ACTIVE_KUBECONFIG, readHostInclude, SERVER_KUBECONFIG } from "../src/host/hostScripts";
import { SELF_HOSTED_STATE_DIR } from "../src/cluster/selfHostedScripts";
import { rerender } from "./fakes/rerender";
import { assertFailure, assertSuccess, hasShellcheck, installFake, makeTempDir, runScript, RunResult, shellcheck, skipTest } from "./fakes/shell";
import { canVerifyUnits, verifyUnits } from "./fakes/systemdVerify";

const NS = "clusters";
const CLUSTER = "dev-management";

/** A kubeconfig of the self-hosted cluster whose client certificate (made now) lasts `days`; `tag` tells copies apart. */
function kubeconfig(days: number, tag: string): string {
    const dir = makeTempDir("cert");
    const args = `req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=kubernetes-admin -days ${days}`.split(" ");
    const r = spawnSync("openssl", [...args, "-keyout", path.join(dir, "key"), "-out", path.join(dir, "cert")], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    const cert = fs.readFileSync(path.join(dir, "cert")).toString("base64");
    const key = Buffer.from(tag).toString("base64");
    const cluster = "clusters:\n- cluster:\n    server: https://203.0.113.7:6443\n  name: self\n";
    return `apiVersion: v1\nkind: Config\n${cluster}users:\n- name: admin\n  user:\n    client-certificate-data: ${cert}\n    client-key-data: ${key}\n`;
}

/** A server in selfHosted mode: the kind cluster's kubeconfig, the state directory, the fake kubectl. */
class Server {
    readonly root = makeTempDir("self-hosted-kubeconfig");
    readonly fake = this.dir("fake");
    readonly bin = this.dir("bin");
    readonly state = this.dir("state/self-hosted");
    readonly kind = path.join(this.root, "kubeconfig");

    constructor() {
        installFake(this.bin, "kubectl", "selfhosted/kubectl.sh");
        fs.writeFileSync(this.kind, "kind\n");
    }
    private dir(name: string): string {
        fs.mkdirSync(path.join(this.root, name), { recursive: true });
        return path.join(this.root, name);
    }
    /** A server after the pivot whose copy is `copy`, its `facts` set on the self-hosted cluster. */
    static pivoted(copy: string, ...facts: string[]): Server {
        const server = new Server();
        server.copy(copy);
        server.pivoted();
        server.set("self", ...facts);
        return server;
    }
    /** The server's copy. */
    copy(text?: string): string {
        const file = path.join(this.state, "kubeconfig");
        if (text !== undefined) {
            fs.writeFileSync(file, text, { mode: 0o600 });
        }
        return fs.readFileSync(file, "utf8");
    }
    /** The `<cluster>-kubeconfig` Secret on `cluster`. */
    secret(cluster: "kind" | "self", text: string): void {
        fs.writeFileSync(path.join(this.fake, `${cluster}.kubeconfig-value`), text);
        this.set(cluster, "kubeconfig-secret");
    }
    set(cluster: "kind" | "self", ...facts: string[]): void {
        facts.forEach((f) => fs.writeFileSync(path.join(this.fake, `${cluster}.${f}`), ""));
    }
    /** As the pivot step leaves it (lib/self-hosted-state.sh: the phase, the active link). */
    pivoted(): void {
        const r = runScript(`${readHostInclude("self-hosted-state.sh")}\nset_phase pivoted\nlink_active\n`, { PATH: process.env.PATH!, STATE_DIR: this.state });
        assert.strictEqual(r.status, 0, r.stderr);
    }
    phase(p: string): void {
        fs.writeFileSync(path.join(this.state, "phase"), `${p}\n`);
    }
    calls(): string[] {
        const f = path.join(this.fake, "calls");
        return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n") : [];
    }
    expiring(): string | undefined {
        const f = path.join(this.state, "kubeconfig-expiring");
        return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined;
    }
    /** The rendered script with this server's paths. */
    script(rendered = renderSelfHostedKubeconfigScript({ cluster: CLUSTER, namespace: NS })): string {
        const paths: Record<string, string> = {
            [SERVER_KUBECONFIG]: this.kind,
            [ACTIVE_KUBECONFIG]: path.join(this.state, "active.kubeconfig"),
            [SELF_HOSTED_STATE_DIR]: this.state,
        };
        return rerender(rendered, (_name, value) => paths[value]);
    }
    run(script = this.script()): RunResult {
        return runScript(script, {
            PATH: `${this.bin}:${process.env.PATH}`,
            FAKE_DIR: this.fake,
            FAKE_KIND_KUBECONFIG: this.kind,
            FAKE_STATE_DIR: this.state,
            FAKE_LOG: path.join(this.root, "systemctl.log"),
        });
    }
}

const READ = `get secret ${CLUSTER}-kubeconfig -n ${NS} -o jsonpath={.data.value}`;

describe("src/host/scripts/self-hosted-kubeconfig.sh: the server's copy of the self-hosted cluster's kubeconfig follows Cluster API's renewals", () => {
    it("passes shellcheck as rendered", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of the rendered kubeconfig refresh", "shellcheck");
        }
        const dir = makeTempDir("self-hosted-kubeconfig-sc");
        fs.writeFileSync(path.join(dir, "refresh.sh"), renderSelfHostedKubeconfigScript({ cluster: CLUSTER, namespace: NS }));
        fs.writeFileSync(path.join(dir, "install.sh"), renderSelfHostedKubeconfigInstallScript({ cluster: CLUSTER, namespace: NS }));
        shellcheck([path.join(dir, "refresh.sh"), path.join(dir, "install.sh")]);
    });

    it("after the pivot: reads the renewed Secret from the self-hosted cluster itself, with the current copy, and replaces the copy; the active link follows", () => {
        const server = Server.pivoted(kubeconfig(20, "old"));
        const renewed = kubeconfig(365, "new");
        server.secret("self", renewed);
        const r = server.run();
        assertSuccess(r);
        assert.match(r.stderr, /refreshed .*kubeconfig from the Secret clusters\/dev-management-kubeconfig/);
        assert.strictEqual(server.copy(), renewed);
        assert.strictEqual(fs.readFileSync(path.join(server.state, "active.kubeconfig"), "utf8"), renewed);
        assert.strictEqual(fs.statSync(path.join(server.state, "kubeconfig")).mode & 0o777, 0o600);
        assert.deepStrictEqual(server.calls()[0], `self ${READ}`);
        assert.ok(!server.calls().some((c) => c.startsWith("kind ")), server.calls().join("\n"));
        assert.strictEqual(server.expiring(), undefined);
    });

    it("before the pivot: reads the Secret from the kind cluster, which holds it then", () => {
        const server = new Server();
        server.copy(kubeconfig(20, "old"));
        const renewed = kubeconfig(365, "new");
        server.secret("kind", renewed);
        assertSuccess(server.run());
        assert.strictEqual(server.copy(), renewed);
        assert.deepStrictEqual(server.calls()[0], `kind ${READ}`);
    });

    it("expiring within 30 days and the Secret unreadable: fails loudly (the unit failed, kubeconfig-expiring); the next good refresh clears it", () => {
        const old = kubeconfig(10, "old");
        const server = Server.pivoted(old, "unreachable");
        const r = server.run();
        assertFailure(r);
        assert.match(
            r.stderr,
            /ERROR: the client certificate of .*kubeconfig expires at \S+, in (9|10) days and it was not refreshed: cannot read the Secret clusters\/dev-management-kubeconfig/,
        );
        assert.match(server.expiring()!, /in (9|10) days and it was not refreshed/);
        assert.strictEqual(server.copy(), old);
        fs.rmSync(path.join(server.fake, "self.unreachable"));
        server.secret("self", kubeconfig(365, "new"));
        assertSuccess(server.run());
        assert.strictEqual(server.expiring(), undefined);
    });

    it("Cluster API did not renew the Secret (the same certificate, expiring): fails loudly, naming it", () => {
        const same = kubeconfig(10, "same");
        const server = Server.pivoted(same);
        server.secret("self", same);
        const r = server.run();
        assertFailure(r);
        assert.match(r.stderr, /not refreshed: Cluster API has not renewed the certificate in the Secret clusters\/dev-management-kubeconfig/);
    });

    it("not refreshed but far from expiry: a warning, exit 0, the next day tries again", () => {
        const server = Server.pivoted(kubeconfig(200, "old"), "unreachable");
        const r = server.run();
        assertSuccess(r);
        assert.match(r.stderr, /WARNING: not refreshed: cannot read the Secret .*; the copy is good for (199|200) more days/);
        assert.strictEqual(server.expiring(), undefined);
    });

    it("never replaces the copy with a kubeconfig that does not work, or that expires earlier", () => {
        const old = kubeconfig(200, "old");
        const server = Server.pivoted(old);
        server.secret("self", kubeconfig(365, "new"));
        server.set("self", "rejects-new");
        const refused = server.run();
        assertSuccess(refused);
        assert.match(refused.stderr, /does not work against the self-hosted cluster's API .* the copy is kept/);
        assert.strictEqual(server.copy(), old);
        assert.ok(!fs.existsSync(path.join(server.state, ".kubeconfig.new")));
        fs.rmSync(path.join(server.fake, "self.rejects-new"));
        server.secret("self", kubeconfig(100, "older"));
        const earlier = server.run();
        assertSuccess(earlier);
        assert.match(earlier.stderr, /expires before the copy's/);
        assert.strictEqual(server.copy(), old);
    });

    it("a move under way (unpivoting): reads nothing, still fails loudly when the copy expires soon; no self-hosted cluster: nothing", () => {
        const server = new Server();
        server.copy(kubeconfig(10, "old"));
        server.phase("unpivoting");
        const r = server.run();
        assertFailure(r);
        assert.match(r.stderr, /not refreshed: a move is under way \(phase unpivoting\)/);
        assert.deepStrictEqual(server.calls(), []);
        const none = new Server();
        const n = none.run();
        assertSuccess(n);
        assert.match(n.stderr, /no self-hosted cluster on this server/);
        assert.deepStrictEqual(none.calls(), []);
    });
});

describe("src/host/scripts/self-hosted-kubeconfig-install.sh (the self-hosted-kubeconfig step) and its units", () => {
    it("installs the refresh (root-only) and both units, starts the timer and refreshes once; a second run writes nothing; an expiring copy fails the step", () => {
        const server = Server.pivoted(kubeconfig(20, "old"));
        const renewed = kubeconfig(365, "new");
        server.secret("self", renewed);
        const lib = path.join(server.root, "lib", "self-hosted-kubeconfig.sh");
        const units = path.join(server.root, "units");
        const install = rerender(renderSelfHostedKubeconfigInstallScript({ cluster: CLUSTER, namespace: NS }), (name) =>
            name === "SCRIPT_PATH" ? lib : name === "UNIT_DIR" ? units : name === "SCRIPT" ? server.script() : undefined,
        );
        installFake(server.bin, "systemctl", "host/systemctl-active.sh");
        const first = server.run(install);
        assertSuccess(first);
        assert.strictEqual(fs.statSync(lib).mode & 0o777, 0o700);
        assert.strictEqual(fs.readFileSync(path.join(units, `${SELF_HOSTED_KUBECONFIG_UNIT}.timer`), "utf8"), renderSelfHostedKubeconfigTimer());
        assert.match(fs.readFileSync(path.join(server.root, "systemctl.log"), "utf8"), /systemctl enable --now capi-mgmt-self-hosted-kubeconfig\.timer/);
        assert.strictEqual(server.copy(), renewed, "refreshed once by the step");
        const again = server.run(install);
        assertSuccess(again);
        assert.doesNotMatch(again.stdout, /wrote/);
        server.copy(kubeconfig(5, "same"));
        server.secret("self", server.copy());
        assertFailure(server.run(install));
    });

    it("the service runs the installed refresh, skipped without a self-hosted cluster; systemd-analyze verify finds nothing to say about the units", function () {
        const service = renderSelfHostedKubeconfigService();
        assert.match(service, new RegExp(`^ExecStart=${SELF_HOSTED_KUBECONFIG_SCRIPT_PATH}$`, "m"));
        assert.match(service, new RegExp(`^ConditionPathExists=${SELF_HOSTED_STATE_DIR}/kubeconfig$`, "m"));
        if (!canVerifyUnits()) {
            skipTest(this, "systemd-analyze verify of the kubeconfig refresh's units", "systemd-analyze and systemd's units (package systemd)");
        }
        const r = verifyUnits(
            { [`${SELF_HOSTED_KUBECONFIG_UNIT}.timer`]: renderSelfHostedKubeconfigTimer(), [`${SELF_HOSTED_KUBECONFIG_UNIT}.service`]: service },
            { [SELF_HOSTED_KUBECONFIG_SCRIPT_PATH]: renderSelfHostedKubeconfigScript({ cluster: CLUSTER, namespace: NS }) },
        );
        assert.strictEqual(r.status, 0, r.stderr);
        assert.doesNotMatch(r.stderr, new RegExp(SELF_HOSTED_KUBECONFIG_UNIT), r.stderr);
    });
});
