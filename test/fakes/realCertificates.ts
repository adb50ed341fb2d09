/**
 * Real X.509 certificates made by this machine's openssl, for the tests that read them the way a
 * server does (the certificate renewal, the API server expiry step, the program's kubeconfig).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { makeTempDir, skipTest } from "./shell";

/** Skips the current test (mocha's `this`) unless openssl is installed, naming `what` is skipped. */
export function requireOpenssl(ctx: Mocha.Context, what: string): void {
    if (spawnSync("openssl", ["version"], { encoding: "utf8" }).status !== 0) {
        skipTest(ctx, what, "openssl");
    }
}

/** What {@link selfSignedCertificate} makes. */
export interface CertificateRequest {
    /** Days it is valid, from now. */
    days: number;
    /** openssl's `-subj`, e.g. `/CN=test`. */
    subject: string;
    /** The key: EC on the P-256 curve (kubeadm's client certificates) or RSA 2048 (kubeadm's serving ones). */
    key: "ec" | "rsa";
}

/** The PEM of a new self-signed certificate; fails the test when openssl refuses. */
export function selfSignedCertificate(req: CertificateRequest): string {
    const dir = makeTempDir("real-cert");
    const key = req.key === "ec" ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] : ["-newkey", "rsa:2048"];
    const out = path.join(dir, "crt");
    const gen = spawnSync(
        "openssl",
        ["req", "-x509", ...key, "-nodes", "-keyout", path.join(dir, "key"), "-out", out, "-days", String(req.days), "-subj", req.subject],
        { encoding: "utf8" },
    );
    assert.strictEqual(gen.status, 0, gen.stderr);
    return fs.readFileSync(out, "utf8");
}

/** A day in milliseconds. */
export const DAY_MS = 24 * 3600 * 1000;

/** RFC 3339 UTC in whole seconds, as the program records certificate expiries (e.g. `2027-11-22T13:00:00Z`). */
export function rfc3339(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A kubeconfig (cluster `server`) whose client certificate is a real one made by openssl, valid
 * `days` from now, and that certificate's notAfter ({@link rfc3339}). Skips the test without openssl.
 */
export function kubeconfigWithCertificate(ctx: Mocha.Context, days: number, server = "https://192.0.2.10:6443"): { kubeconfig: string; expiry: string } {
    requireOpenssl(ctx, "the tests with real client certificates");
    const pem = Buffer.from(selfSignedCertificate({ days, subject: "/O=kubeadm:cluster-admins/CN=kubernetes-admin", key: "ec" }));
    const notAfter = spawnSync("openssl", ["x509", "-noout", "-enddate"], { input: pem, encoding: "utf8" })
        .stdout.trim()
        .replace(/^notAfter=/, "");
    const kubeconfig = [
        "apiVersion: v1",
        "clusters:",
        "- cluster:",
        "    certificate-authority-data: Y2E=",
        `    server: ${server}`,
        "  name: kind-dev",
        "users:",
        "- name: kind-dev",
        "  user:",
        `    client-certificate-data: ${pem.toString("base64")}`,
        "    client-key-data: a2V5",
        "",
    ].join("\n");
    return { kubeconfig, expiry: rfc3339(Date.parse(notAfter)) };
}
