/**
 * STAND-IN for the pulumi-tls 5.6.1 provider plugin (`tls`), which cannot be built here: the Go
 * module proxy refuses github.com/pulumi/pulumi-tls/provider/v5 (testbed/pulumi/build.sh records
 * the error in pulumi.json). A real plugin process, served by `@pulumi/pulumi/provider`'s `main`,
 * installed as plugin `tls` at the SDK's version.
 *
 * It implements the one resource type the program registers, `tls:index/privateKey:PrivateKey`
 * (`grep -rn "new tls\." components/`: the login, host and deploy keys, all ED25519), with real
 * keys (Node's crypto; the OpenSSH encoding by sshpk), outputs named as pulumi-tls names them:
 * algorithm, ecdsaCurve, rsaBits (with terraform-provider-tls's defaults P224 and 2048),
 * privateKeyPem, privateKeyPemPkcs8, privateKeyOpenssh, publicKeyPem, publicKeyOpenssh (with the
 * trailing newline the provider writes), publicKeyFingerprintMd5, publicKeyFingerprintSha256. The
 * private keys are returned as secrets (the SDK also lists them in additionalSecretOutputs).
 *
 * Diff as terraform-provider-tls decides (internal/provider/resource_private_key.go:
 * RequiresReplace on algorithm, rsa_bits, ecdsa_curve; nothing is updatable); Read returns the
 * state; Delete forgets. Algorithms other than ED25519 are refused: the program uses none.
 */
import { createHash, generateKeyPairSync } from "crypto";
import * as fs from "fs";
import { provider } from "@pulumi/pulumi";
import * as sshpk from "sshpk";
import { changedKeys, normalize, plain, secret } from "./values";

const VERSION = "5.6.1";
const TYPE = "tls:index/privateKey:PrivateKey";
const INPUTS = ["algorithm", "ecdsaCurve", "rsaBits"];
const DEFAULTS = { ecdsaCurve: "P224", rsaBits: 2048 };

function record(entry: Record<string, unknown>): void {
    const file = process.env.CAPI_MGMT_STANDIN_LOG;
    if (file) {
        fs.appendFileSync(file, JSON.stringify({ provider: "tls", ...entry }) + "\n");
    }
}

function ed25519(): Record<string, unknown> {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const pkcs8 = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    const key = sshpk.parsePrivateKey(pkcs8, "pem");
    key.comment = "";
    const pub = key.toPublic();
    const blob = pub.toBuffer("rfc4253");
    return {
        privateKeyPem: secret(pkcs8),
        privateKeyPemPkcs8: secret(pkcs8),
        privateKeyOpenssh: secret(key.toString("ssh-private")),
        publicKeyPem: publicPem,
        publicKeyOpenssh: `ssh-ed25519 ${blob.toString("base64")}\n`,
        publicKeyFingerprintMd5: (createHash("md5").update(blob).digest("hex").match(/../g) ?? []).join(":"),
        publicKeyFingerprintSha256: `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
    };
}

const tlsStandIn: provider.Provider = {
    version: VERSION,

    check(_urn, _olds, news) {
        const n = normalize(news) as Record<string, unknown>;
        const failures =
            plain(n.algorithm) === "ED25519"
                ? []
                : [{ property: "algorithm", reason: `the tls stand-in makes ED25519 keys only, not ${String(plain(n.algorithm))}` }];
        return Promise.resolve({ inputs: { ...DEFAULTS, ...n }, failures });
    },

    diff(_id, urn, olds, news) {
        const o = normalize(olds) as Record<string, unknown>;
        const n = normalize(news) as Record<string, unknown>;
        const pick = (r: Record<string, unknown>) => Object.fromEntries(INPUTS.map((k) => [k, r[k]]));
        const changed = changedKeys(pick(o), pick(n), []);
        record({ op: "diff", urn, changed });
        return Promise.resolve({ changes: changed.length > 0, replaces: changed });
    },

    create(urn, inputs) {
        if (!urn.split("::")[2]?.endsWith(TYPE)) {
            throw new Error(`the tls stand-in implements ${TYPE} only: ${urn}`);
        }
        const ins = normalize(inputs) as Record<string, unknown>;
        record({ op: "create", urn });
        const key = ed25519();
        const outs = { ...DEFAULTS, ...ins, ...key };
        const id = createHash("sha1").update(String(key.publicKeyOpenssh)).digest("hex");
        return Promise.resolve({ id, outs });
    },

    read(id, urn, props) {
        record({ op: "read", urn });
        return Promise.resolve({ id, props: props as unknown });
    },

    delete(_id, urn) {
        record({ op: "delete", urn });
        return Promise.resolve();
    },
};

void provider.main(tlsStandIn, process.argv.slice(2));
