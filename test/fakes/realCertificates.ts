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
