/**
 * Certificates on a fake management server (test/fakes/clusterFakes.ts), for the tests of
 * `src/host/scripts/cert-renew.sh` and `src/host/scripts/cert-renewal.sh`: a `docker` in front of the server's that
 * also runs `kubeadm certs renew all`, `crictl` and `kubectl get --raw=/readyz` in the kind
 * node, an `openssl` that reads the fake certificates, and a recording `systemctl`
 * (test/fakes/cert/*.sh).
 *
 * A fake certificate is the text `FAKE CERTIFICATE notAfter=<openssl's date>`. The admin
 * client certificate lives in kind's kubeconfig of the cluster (what `kind get kubeconfig`
 * and `kind export kubeconfig` give, as kind reads the node's admin.conf), the API server's
 * in `$S/apiserver.crt`. The fake renewal gives both a year from the virtual clock's now.
 */
import * as fs from "fs";
import * as path from "path";
import { ClusterFakes } from "./clusterFakes";
import { installFake, logLinesIfAny, RunResult } from "./shell";

const DAY_S = 86400;

/** A fake certificate expiring at epoch second `t`, as the fake openssl reads it. */
export function fakeCertificate(t: number): string {
    const d = new Date(t * 1000);
    const month = d.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
    const time = d.toISOString().slice(11, 19);
    return `FAKE CERTIFICATE notAfter=${month} ${String(d.getUTCDate()).padStart(2, " ")} ${time} ${d.getUTCFullYear()} GMT\n`;
}

/** A fake management server with certificates, on the virtual clock of `fakes`. */
export class CertFakes {
    /** The directory of these fakes, before the server's on PATH. */
    readonly bin: string;

    /** With `realOpenssl`, the server's openssl reads the certificates (set them with real PEMs). */
    constructor(
        readonly fakes: ClusterFakes,
        options: { realOpenssl?: boolean } = {},
    ) {
        this.bin = path.join(fakes.root, options.realOpenssl ? "cert-bin-real-openssl" : "cert-bin");
        fs.mkdirSync(this.bin, { recursive: true });
        for (const tool of ["docker", "systemctl", ...(options.realOpenssl ? [] : ["openssl"])]) {
            installFake(this.bin, tool, `cert/${tool}.sh`);
        }
    }

    /** Sets the admin client certificate (in kind's kubeconfig) and the API server's to these PEMs. */
    setCertificates(pems: { admin: string; api: string }, cluster = "mgmt"): void {
        const file = path.join(this.fakes.state, "kind", cluster, "kubeconfig");
        const data = Buffer.from(pems.admin).toString("base64");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/client-certificate-data: \S+/, `client-certificate-data: ${data}`));
        this.fakes.setApiServerCertificate(pems.api);
    }

    /** The virtual clock's now, epoch seconds. */
    nowS(): number {
        return Math.floor(this.fakes.clock.nowMs() / 1000);
    }

    /** Sets the admin client certificate (in kind's kubeconfig) and the API server's to expire in `days`. */
    setExpiry(days: { admin: number; api: number }, cluster = "mgmt"): void {
        this.setCertificates({ admin: fakeCertificate(this.nowS() + days.admin * DAY_S), api: fakeCertificate(this.nowS() + days.api * DAY_S) }, cluster);
    }

    /** The admin client certificate in a kubeconfig file (kind's when omitted). */
    adminCertificate(kubeconfigFile = path.join(this.fakes.state, "kind", "mgmt", "kubeconfig")): string {
        const m = /client-certificate-data: (\S+)/.exec(fs.readFileSync(kubeconfigFile, "utf8"));
        return m ? Buffer.from(m[1], "base64").toString("utf8") : "";
    }

    /** The container ids `crictl stop` was given, in order. */
    stopped(): string[] {
        const file = path.join(this.fakes.state, "stopped");
        return logLinesIfAny(file);
    }

    /** Makes the API server refuse `count` readiness checks after a restart ("never": all). */
    apiDown(count: number | "never"): void {
        fs.writeFileSync(path.join(this.fakes.state, "api-down"), String(count));
    }

    /** Makes `kubeadm certs renew all` fail with `message`. */
    failRenewal(message: string): void {
        fs.writeFileSync(path.join(this.fakes.state, "kubeadm.fail"), message);
    }

    /** Makes the fake renewal give certificates for `days` (kubeadm: 365). */
    renewFor(days: number): void {
        fs.writeFileSync(path.join(this.fakes.state, "renew-days"), String(days));
    }

    /** Runs a rendered script on the fake server with these fakes first on PATH (relocated, unless told not to). */
    run(script: string, options: { relocate?: boolean } = {}): RunResult {
        const extra = { PATH: `${this.bin}:${this.fakes.bin}:${process.env.PATH}`, FAKE_BASE_BIN: this.fakes.bin };
        return options.relocate === false ? this.fakes.clock.run(script, this.fakes.env(extra)) : this.fakes.run(script, extra);
    }
}
