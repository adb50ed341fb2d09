import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    CERT_RENEW_COMMAND,
    CERT_RENEW_SERVICE,
    CERT_RENEW_TIMER,
    CERT_RESTART_TIMEOUT_SECONDS,
    readCertRenewUnit,
    renderCertRenewalInstall,
    renderCertRenewalInstallScript,
    renderCertRenewScript,
} from "../src/cluster/certRenewal";
import { renderKindClusterScript } from "../src/cluster/clusterScripts";
import { CertFakes } from "./fakes/certFakes";
import { ClusterFakes, fakeServersRemovedAfterAll } from "./fakes/clusterFakes";
import { requireOpenssl, selfSignedCertificate } from "./fakes/realCertificates";
import { assertFailure, assertSuccess, hasShellcheck, makeTempDir, shellcheck, skipTest } from "./fakes/shell";
import { requireSystemdAnalyze, verifyTimerUnits } from "./systemdVerify";

const NODE_IMAGE = `kindest/node:v1.36.1@sha256:${"3".repeat(64)}`;
const KIND_CONFIG = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: mgmt\n";
const newFakes = fakeServersRemovedAfterAll();
const CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];
const RENEWAL_CALL = "docker exec mgmt-control-plane kubeadm certs renew all";

/** A fake server with a kind cluster `mgmt` (made by the kind step) and certificates. */
function serverWithCluster(prefix: string): CertFakes {
    const fakes = newFakes(prefix);
    const certs = new CertFakes(fakes);
    assertSuccess(fakes.run(renderKindClusterScript({ clusterName: "mgmt", nodeImage: NODE_IMAGE, kindConfig: KIND_CONFIG })));
    fakes.clearCalls();
    return certs;
}

/** notAfter (epoch seconds) of a fake certificate. */
function expiryOf(cert: string): number {
    const m = /notAfter=(.*)$/m.exec(cert);
    assert.ok(m, `not a fake certificate: ${cert}`);
    return Date.parse(m[1]) / 1000;
}

describe("src/host/scripts/cert-renew.sh (the timer's renewal)", () => {
    let certs: CertFakes;
    let fakes: ClusterFakes;
    const script = () => renderCertRenewScript({ clusterName: "mgmt" });

    beforeEach(() => {
        certs = serverWithCluster("cert-renew");
        fakes = certs.fakes;
    });

    it("only checks while both certificates expire in more than 30 days", () => {
        certs.setExpiry({ admin: 200, api: 31 });
        fakes.clearCalls();
        const r = certs.run(script());
        assertSuccess(r);
        assert.strictEqual(r.stdout, "");
        assert.deepStrictEqual(fakes.callsOf("docker", "exec mgmt-control-plane kubeadm"), []);
        assert.deepStrictEqual(certs.stopped(), []);
        assert.match(r.stderr, /the API server certificate expires first, in 31 days; renewal from 30 days before/);
    });

    for (const [what, days] of [
        ["the admin client certificate", { admin: 30, api: 200 }],
        ["the API server certificate", { admin: 200, api: 12 }],
    ] as const) {
        it(`renews when ${what} expires within 30 days: kubeadm, control plane restarted, API waited for, kubeconfig exported`, () => {
            certs.setExpiry(days);
            certs.apiDown(3);
            const before = fs.readFileSync(fakes.kubeconfig, "utf8");
            const started = certs.nowS();
            fakes.clearCalls();
            const r = certs.run(script());
            assertSuccess(r);
            assert.strictEqual(r.stdout, "");
            assert.deepStrictEqual(fakes.callsOf("docker", "exec mgmt-control-plane kubeadm"), [RENEWAL_CALL]);
            assert.deepStrictEqual(
                certs.stopped(),
                CONTROL_PLANE.map((c) => `${c}-0123456789ab`),
            );
            // The API server was polled until it answered: three refusals, 5 s apart.
            assert.strictEqual(fakes.callsOf("docker", "exec mgmt-control-plane kubectl").length, 4);
            assert.strictEqual(certs.nowS() - started, 15);
            // The server's copy now holds the renewed client certificate, a year ahead.
            const after = fs.readFileSync(fakes.kubeconfig, "utf8");
            assert.notStrictEqual(after, before);
            assert.strictEqual(expiryOf(certs.adminCertificate(fakes.kubeconfig)), started + 365 * 86400);
            assert.strictEqual(fs.statSync(fakes.kubeconfig).mode & 0o777, 0o600);
            assert.match(r.stderr, new RegExp(`${what} expires in \\d+ day\\(s\\) \\(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\); renewing`));
            // Renewal happens before the restart, the restart before the export.
            const calls = fakes.calls();
            const at = (prefix: string) => calls.findIndex((l) => l.startsWith(prefix));
            assert.ok(at(RENEWAL_CALL) < at("docker exec mgmt-control-plane crictl stop"));
            assert.ok(at("docker exec mgmt-control-plane crictl stop") < at("kind export kubeconfig"));
            // The next run finds nothing to do.
            fakes.clearCalls();
            assertSuccess(certs.run(script()));
            assert.deepStrictEqual(fakes.callsOf("docker", "exec mgmt-control-plane kubeadm"), []);
            assert.deepStrictEqual(fakes.callsOf("kind", "export"), []);
        });
    }

    it("renews with --force however long the certificates last", () => {
        certs.setExpiry({ admin: 300, api: 300 });
        fakes.clearCalls();
        const r = certs.run(script().replace(/\nmain "\$@"\n$/, "\nmain --force\n"));
        assertSuccess(r);
        assert.deepStrictEqual(fakes.callsOf("docker", "exec mgmt-control-plane kubeadm"), [RENEWAL_CALL]);
        assert.match(r.stderr, /renewing \(--force\)/);
    });

    it("exports the kubeconfig again after a renewal by hand, without renewing", () => {
        certs.setExpiry({ admin: 200, api: 200 });
        fakes.clearCalls();
        const r = certs.run(script());
        assertSuccess(r);
        assert.deepStrictEqual(fakes.callsOf("docker", "exec mgmt-control-plane kubeadm"), []);
        assert.deepStrictEqual(fakes.callsOf("kind", "export kubeconfig"), [`kind export kubeconfig --name mgmt --kubeconfig ${fakes.kubeconfig}`]);
        assert.strictEqual(expiryOf(certs.adminCertificate(fakes.kubeconfig)), certs.nowS() + 200 * 86400);
    });

    it("fails clearly, restarting nothing and keeping the kubeconfig, when kubeadm fails", () => {
        certs.setExpiry({ admin: 5, api: 5 });
        certs.failRenewal("unable to sign certificate");
        const before = fs.readFileSync(fakes.kubeconfig, "utf8");
        const r = certs.run(script());
        assertFailure(r);
        assert.match(r.stderr, /cert-renew: ERROR: 'kubeadm certs renew all' failed in mgmt-control-plane/);
        assert.deepStrictEqual(certs.stopped(), []);
        assert.strictEqual(fs.readFileSync(fakes.kubeconfig, "utf8"), before);
    });

    it("fails within its bound when the API server does not come back", () => {
        certs.setExpiry({ admin: 5, api: 5 });
        certs.apiDown("never");
        const started = certs.nowS();
        const r = certs.run(script());
        assertFailure(r);
        assert.match(r.stderr, new RegExp(`did not answer within ${CERT_RESTART_TIMEOUT_SECONDS}s of the restart`));
        const waited = certs.nowS() - started;
        assert.ok(waited >= CERT_RESTART_TIMEOUT_SECONDS && waited < CERT_RESTART_TIMEOUT_SECONDS + 10, `${waited}s`);
    });

    it("fails when the renewed certificates still expire within 30 days (a CA near its end)", () => {
        certs.setExpiry({ admin: 5, api: 5 });
        certs.renewFor(20);
        const r = certs.run(script());
        assertFailure(r);
        assert.match(r.stderr, /after the renewal the (admin client|API server) certificate still expires in 20 day\(s\)/);
    });

    it("reads real certificates with the server's openssl", function () {
        requireOpenssl(this, "the real certificate test of cert-renew.sh");
        const real = new CertFakes(fakes, { realOpenssl: true });
        const pem = (days: number) => selfSignedCertificate({ days, subject: "/CN=test", key: "ec" });
        // The certificates count from the real now: put the virtual clock there too.
        fakes.clock.setMs(Date.now());
        real.setCertificates({ admin: pem(200), api: pem(120) });
        fakes.clearCalls();
        const r = real.run(script());
        assertSuccess(r);
        assert.match(r.stderr, /the API server certificate expires first, in 1(19|20) days/);
        assert.deepStrictEqual(fakes.callsOf("docker", "exec mgmt-control-plane kubeadm"), []);
    });

    it("does nothing, successfully, when there is no kind cluster", () => {
        const empty = new CertFakes(newFakes("cert-renew-empty"));
        const r = empty.run(script());
        assertSuccess(r);
        assert.match(r.stderr, /there is no kind cluster named mgmt on this server; nothing to renew/);
        assert.deepStrictEqual(empty.fakes.callsOf("docker"), []);
    });
});

describe("src/host/scripts/cert-renewal.sh (the step that installs the timer)", () => {
    let certs: CertFakes;
    let root: string;
    const command = () => path.join(root, "usr/local/sbin/capi-mgmt-cert-renew");
    const unit = (name: string) => path.join(root, "etc/systemd/system", name);
    /** The installed script: the rendered one, pointed at this fake server. */
    const renewScript = () => certs.fakes.relocate(renderCertRenewScript({ clusterName: "mgmt" }));
    const install = () => renderCertRenewalInstall({ renewScript: renewScript(), renewCommand: command(), unitDir: path.join(root, "etc/systemd/system") });
    const run = () => certs.run(install(), { relocate: false });

    beforeEach(() => {
        certs = serverWithCluster("cert-renewal");
        root = path.join(certs.fakes.root, "server");
    });

    it("installs the script and the units, enables the timer, and runs the renewal once", () => {
        certs.setExpiry({ admin: 10, api: 10 });
        certs.fakes.clearCalls();
        const r = run();
        assertSuccess(r);
        assert.strictEqual(r.stdout, "");
        assert.strictEqual(fs.statSync(command()).mode & 0o777, 0o700);
        assert.strictEqual(fs.readFileSync(command(), "utf8"), renewScript());
        for (const name of [CERT_RENEW_SERVICE, CERT_RENEW_TIMER] as const) {
            assert.strictEqual(fs.readFileSync(unit(name), "utf8"), readCertRenewUnit(name));
            assert.strictEqual(fs.statSync(unit(name)).mode & 0o777, 0o644);
        }
        assert.deepStrictEqual(certs.fakes.callsOf("systemctl"), [
            "systemctl daemon-reload",
            `systemctl enable --now ${CERT_RENEW_TIMER}`,
            `systemctl restart ${CERT_RENEW_TIMER}`,
        ]);
        assert.deepStrictEqual(certs.fakes.callsOf("docker", "exec mgmt-control-plane kubeadm"), [RENEWAL_CALL], "the due renewal ran now");
    });

    it("rewrites nothing and reloads nothing on a second run, and still checks", () => {
        certs.setExpiry({ admin: 200, api: 200 });
        assertSuccess(run());
        const mtime = fs.statSync(unit(CERT_RENEW_TIMER)).mtimeMs;
        certs.fakes.clearCalls();
        const r = run();
        assertSuccess(r);
        assert.deepStrictEqual(certs.fakes.callsOf("systemctl"), [`systemctl enable --now ${CERT_RENEW_TIMER}`]);
        assert.strictEqual(fs.statSync(unit(CERT_RENEW_TIMER)).mtimeMs, mtime);
        assert.match(r.stderr, /expires first, in 200 days/);
    });

    it("fails the step, naming the command, when the renewal fails", () => {
        certs.setExpiry({ admin: 3, api: 3 });
        certs.failRenewal("boom");
        const r = run();
        assertFailure(r);
        assert.match(r.stderr, /cert-renewal: ERROR: the certificate renewal \(.*capi-mgmt-cert-renew\) failed/);
    });
});

describe("certificate renewal: units and shellcheck", () => {
    it("the service runs the installed script", () => {
        assert.match(readCertRenewUnit(CERT_RENEW_SERVICE), new RegExp(`^ExecStart=${CERT_RENEW_COMMAND}$`, "m"));
        assert.match(readCertRenewUnit(CERT_RENEW_TIMER), /^Persistent=true$/m);
    });

    describe("systemd-analyze verify", () => {
        before(function () {
            requireSystemdAnalyze(this, "systemd-analyze verify of the certificate renewal timer");
        });

        /** Verifies the units in a root holding them, the script at ExecStart, and systemd's own units. */
        const verify = (service: string, timer: string) =>
            verifyTimerUnits(path.basename(CERT_RENEW_SERVICE, ".service"), service, timer, {
                path: CERT_RENEW_COMMAND,
                content: renderCertRenewScript({ clusterName: "mgmt" }),
            });

        it("finds nothing to say about the service and the timer", () => {
            const r = verify(readCertRenewUnit(CERT_RENEW_SERVICE), readCertRenewUnit(CERT_RENEW_TIMER));
            assert.strictEqual(r.status, 0, r.stderr);
            assert.doesNotMatch(r.stderr, /capi-mgmt-cert-renew/, r.stderr);
        });

        it("would catch a broken unit (the check can fail)", () => {
            const timer = readCertRenewUnit(CERT_RENEW_TIMER).replace(/^OnCalendar=.*$/m, "OnCalendar=*-*-* 25:17:00");
            assert.notStrictEqual(verify(readCertRenewUnit(CERT_RENEW_SERVICE), timer).status, 0);
            const typo = verify(`${readCertRenewUnit(CERT_RENEW_SERVICE)}TimeoutStartSecs=1\n`, readCertRenewUnit(CERT_RENEW_TIMER));
            assert.match(typo.stderr, /Unknown key/);
        });
    });

    it("shellcheck passes on the sources and the rendered scripts", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of the certificate renewal scripts", "shellcheck");
        }
        const dir = makeTempDir("cert-shellcheck");
        const rendered = {
            "cert-renew.rendered.sh": renderCertRenewScript({ clusterName: "mgmt" }),
            "cert-renewal.rendered.sh": renderCertRenewalInstallScript({ clusterName: "mgmt" }),
        };
        for (const [name, text] of Object.entries(rendered)) {
            fs.writeFileSync(path.join(dir, name), text);
        }
        shellcheck([
            ...["cert-renew.sh", "cert-renewal.sh", "lib/admin-kubeconfig.sh"].map((f) => path.join(__dirname, "..", "src", "host", "scripts", f)),
            ...Object.keys(rendered).map((f) => path.join(dir, f)),
        ]);
    });
});
