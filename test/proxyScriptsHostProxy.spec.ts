/**
 * The proxy and the registry mirrors on the management server's scripts, run under bash with
 * the fakes of test/fakes: what reaches kind, kubectl and clusterctl, what the kind node gets
 * in place, the host-proxy step for apt and Docker, and that nothing is set without a proxy.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderDockerDaemonJson } from "../src/host/cloudInit";
import { DOCKER_RESTART_PENDING, renderAptProxyConf, renderHostProxyScript } from "../src/host/bootstrapScripts";
import { ProxyEnv } from "../src/host/proxy";
import { assertSuccess, installFake, makeTempDir, RunResult, runScript } from "./fakes/shell";
import { PROXY } from "./proxyScriptParams";

describe("proxy: src/host/scripts/host-proxy.sh", () => {
    let root: string;
    let bin: string;
    let log: string;
    const aptPath = () => path.join(root, "etc", "apt", "apt.conf.d", "90cloud-init-aptproxy");
    const daemonJson = () => path.join(root, "etc", "docker", "daemon.json");
    const stateDir = () => path.join(root, "var", "lib", "capi-mgmt");

    beforeEach(() => {
        root = makeTempDir("host-proxy");
        bin = path.join(root, "bin");
        log = path.join(root, "calls.log");
        fs.mkdirSync(bin, { recursive: true });
        // Fake docker and systemctl for the host-proxy step: `docker ps --quiet` prints FAKE_RUNNING.
        installFake(bin, "docker", "host/docker-ps.sh");
        installFake(bin, "systemctl", "host/systemctl-log.sh");
        fs.writeFileSync(log, "");
        // What cloud-init wrote on the first boot, without a proxy.
        fs.mkdirSync(path.dirname(daemonJson()), { recursive: true });
        fs.writeFileSync(daemonJson(), renderDockerDaemonJson(1450));
    });

    function run(proxy: ProxyEnv | undefined, running = ""): RunResult {
        const script = renderHostProxyScript({
            aptProxyPath: aptPath(),
            dockerDaemonJsonPath: daemonJson(),
            dockerDaemonJson: renderDockerDaemonJson(1450, proxy),
            proxy,
            stateDir: stateDir(),
        });
        return runScript(script, { PATH: `${bin}:${process.env.PATH}`, FAKE_LOG: log, FAKE_RUNNING: running });
    }

    const calls = () =>
        fs
            .readFileSync(log, "utf8")
            .split("\n")
            .filter((l) => l !== "");

    it("changes nothing on a server without a proxy (daemon.json as cloud-init wrote it)", () => {
        const before = fs.statSync(daemonJson()).mtimeMs;
        assertSuccess(run(undefined, "abc123\n"));
        assert.deepStrictEqual(calls(), []);
        assert.strictEqual(fs.statSync(daemonJson()).mtimeMs, before);
        assert.ok(!fs.existsSync(aptPath()));
    });

    it("adds the proxy on a live server without restarting Docker under the running kind node", () => {
        const r = run(PROXY, "abc123\n");
        assertSuccess(r);
        assert.strictEqual(fs.readFileSync(aptPath(), "utf8"), renderAptProxyConf(PROXY));
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(daemonJson(), "utf8")).proxies, {
            "http-proxy": PROXY.http,
            "https-proxy": PROXY.https,
            "no-proxy": PROXY.noProxy,
        });
        assert.deepStrictEqual(calls(), ["docker ps --quiet"]);
        assert.ok(fs.existsSync(path.join(stateDir(), DOCKER_RESTART_PENDING)));
        assert.match(r.stdout, /not restarted now/);
    });

    it("restarts Docker right away when no container runs", () => {
        assertSuccess(run(PROXY, ""));
        assert.deepStrictEqual(calls(), ["docker ps --quiet", "systemctl restart docker.service"]);
        assert.ok(!fs.existsSync(path.join(stateDir(), DOCKER_RESTART_PENDING)));
    });

    it("removes apt's proxy and Docker's when the proxy is removed", () => {
        assertSuccess(run(PROXY, "abc\n"));
        assertSuccess(run(undefined, "abc\n"));
        assert.ok(!fs.existsSync(aptPath()));
        assert.strictEqual(fs.readFileSync(daemonJson(), "utf8"), renderDockerDaemonJson(1450));
    });

    it("is idempotent", () => {
        assertSuccess(run(PROXY, "abc\n"));
        fs.writeFileSync(log, "");
        assertSuccess(run(PROXY, "abc\n"));
        assert.deepStrictEqual(calls(), []);
    });
});
