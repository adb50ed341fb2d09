/**
 * Certificates for one test-bed run, made with openssl: a CA, a loopback serving certificate
 * (API server and webhook servers), an admin client certificate (group system:masters) and the
 * service account signing key. Everything is valid for one day and lives in the run directory.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** Paths of the generated files. */
export interface Pki {
    dir: string;
    caCert: string;
    caKey: string;
    /** Serving certificate for 127.0.0.1 / localhost. */
    servingCert: string;
    servingKey: string;
    /** Client certificate CN=testbed-admin, O=system:masters. */
    adminCert: string;
    adminKey: string;
    /** Service account token signing key (private). */
    serviceAccountKey: string;
    /** Its public half (token verification). */
    serviceAccountPublicKey: string;
    /** Directory holding tls.crt / tls.key, as controller-runtime's webhook server expects. */
    webhookCertDir: string;
    /** The CA certificate, base64, for caBundle fields. */
    caBundle: string;
}

function openssl(args: string[], cwd: string): void {
    const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
    }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Makes a CA and leaf certificates in `dir` (created). */
export function makePki(dir: string): Pki {
    fs.mkdirSync(dir, { recursive: true });
    openssl(
        [
            "req",
            "-x509",
            ...EC,
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "1",
            "-subj",
            "/CN=capi-mgmt-testbed-ca",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        dir,
    );
    const leaf = (name: string, subj: string, ext: string[]) => {
        openssl(["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subj], dir);
        fs.writeFileSync(path.join(dir, `${name}.ext`), ext.join("\n") + "\n");
        openssl(
            [
                "x509",
                "-req",
                "-in",
                `${name}.csr`,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-out",
                `${name}.crt`,
                "-extfile",
                `${name}.ext`,
            ],
            dir,
        );
    };
    leaf("serving", "/CN=127.0.0.1", [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]);
    leaf("admin", "/O=system:masters/CN=testbed-admin", [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=clientAuth",
    ]);
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "sa.key"], dir);
    openssl(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
    const webhookCertDir = path.join(dir, "webhook");
    fs.mkdirSync(webhookCertDir, { recursive: true });
    fs.copyFileSync(path.join(dir, "serving.crt"), path.join(webhookCertDir, "tls.crt"));
    fs.copyFileSync(path.join(dir, "serving.key"), path.join(webhookCertDir, "tls.key"));
    const p = (f: string) => path.join(dir, f);
    return {
        dir,
        caCert: p("ca.crt"),
        caKey: p("ca.key"),
        servingCert: p("serving.crt"),
        servingKey: p("serving.key"),
        adminCert: p("admin.crt"),
        adminKey: p("admin.key"),
        serviceAccountKey: p("sa.key"),
        serviceAccountPublicKey: p("sa.pub"),
        webhookCertDir,
        caBundle: fs.readFileSync(p("ca.crt")).toString("base64"),
    };
}
