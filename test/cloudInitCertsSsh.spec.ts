import "mocha";
import * as assert from "assert";
import { renderUserData, UserDataParams } from "../src/host/cloudInit";
import {
    HOST_PRIVATE_KEY,
    HOST_PUBLIC_KEY,
    OTHER_PUBLIC_KEY,
    ENCRYPTED_PRIVATE_KEY,
    ENCRYPTED_PUBLIC_KEY,
    CA_CERT_A,
    CA_CERT_B,
    params,
    render,
    fileUnder,
} from "./cloudInitParams";

describe("renderUserData", () => {
    describe("CA certificates", () => {
        it("trusts nothing extra without caCert", () => {
            const { doc, text } = render();
            assert.strictEqual(doc.ca_certs, undefined);
            assert.doesNotMatch(text, /ca_certs|ca-certs|BEGIN CERTIFICATE/);
        });

        it("trusts a single certificate", () => {
            const { doc } = render({ caCert: CA_CERT_A });
            assert.deepStrictEqual(doc.ca_certs, { trusted: [CA_CERT_A] });
        });

        it("splits a bundle into one entry per certificate", () => {
            const { doc } = render({ caCert: `${CA_CERT_A}\n\n${CA_CERT_B.replace(/\n/g, "\r\n")}` });
            assert.deepStrictEqual(doc.ca_certs, { trusted: [CA_CERT_A, CA_CERT_B] });
        });

        const notPem: Array<[string, string, RegExp]> = [
            ["plain text", "hello", /caCert must be PEM text/],
            ["an empty string", "", /caCert must be PEM text/],
            ["a private key", HOST_PRIVATE_KEY, /caCert must be PEM text/],
            ["a certificate followed by a key", CA_CERT_A + HOST_PRIVATE_KEY, /caCert must be PEM text/],
            [
                "a certificate with a broken body",
                "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
                /caCert: certificate 1 cannot be parsed/,
            ],
        ];
        for (const [what, caCert, message] of notPem) {
            it(`rejects ${what}`, () => {
                assert.throws(() => renderUserData(params({ caCert })), message);
            });
        }
    });

    describe("SSH", () => {
        it("installs the given ED25519 host key and nothing else", () => {
            const { doc } = render();
            assert.deepStrictEqual(doc.ssh_keys, {
                ed25519_private: HOST_PRIVATE_KEY,
                ed25519_public: HOST_PUBLIC_KEY.trim(),
            });
        });

        it("deletes image host keys and generates no other key type", () => {
            const { doc } = render();
            assert.strictEqual(doc.ssh_deletekeys, true);
            assert.deepStrictEqual(doc.ssh_genkeytypes, ["ed25519"]);
        });

        it("makes sshd offer only the pinned key", () => {
            const { doc } = render();
            const file = fileUnder(doc, "/etc/ssh/sshd_config.d/");
            assert.match(file.path, /\.conf$/);
            const hostKeys = file.content.split("\n").filter((l) => /^HostKey\s/.test(l));
            assert.deepStrictEqual(hostKeys, ["HostKey /etc/ssh/ssh_host_ed25519_key"]);
        });

        it("keeps quiet sessions alive from the server side (the teardown waits silently for long)", () => {
            const { doc } = render();
            const lines = fileUnder(doc, "/etc/ssh/sshd_config.d/").content.split("\n");
            const value = (k: string) => lines.filter((l) => l.startsWith(`${k} `)).map((l) => Number(l.split(" ")[1]));
            const [interval] = value("ClientAliveInterval");
            const [count] = value("ClientAliveCountMax");
            assert.deepStrictEqual([value("ClientAliveInterval").length, value("ClientAliveCountMax").length], [1, 1]);
            // Often enough for NAT/firewall idle timeouts (commonly 60 s and up), yet a dead client goes within minutes.
            assert.ok(interval > 0 && interval <= 60, `ClientAliveInterval ${interval}`);
            assert.ok(count >= 3 && interval * count <= 600, `ClientAliveCountMax ${count}`);
        });

        it("disables password and root login", () => {
            const { doc } = render();
            assert.strictEqual(doc.ssh_pwauth, false);
            assert.strictEqual(doc.disable_root, true);
        });

        it("normalizes CRLF line ends and a missing final newline of the private key", () => {
            const crlf = HOST_PRIVATE_KEY.trim().replace(/\n/g, "\r\n");
            const { doc } = render({ hostKey: { privateKeyOpenssh: crlf, publicKeyOpenssh: HOST_PUBLIC_KEY } });
            assert.strictEqual(doc.ssh_keys.ed25519_private, HOST_PRIVATE_KEY);
        });

        const badKeys: Array<[string, UserDataParams["hostKey"], RegExp]> = [
            [
                "a non-ED25519 public key",
                { privateKeyOpenssh: HOST_PRIVATE_KEY, publicKeyOpenssh: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ" },
                /publicKeyOpenssh must be one line `ssh-ed25519/,
            ],
            [
                "a PKCS#8 private key",
                { privateKeyOpenssh: "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n", publicKeyOpenssh: HOST_PUBLIC_KEY },
                /privateKeyOpenssh: not an OpenSSH private key/,
            ],
            ["halves of different keys", { privateKeyOpenssh: HOST_PRIVATE_KEY, publicKeyOpenssh: OTHER_PUBLIC_KEY }, /are not the same key/],
            [
                "a passphrase-protected key",
                { privateKeyOpenssh: ENCRYPTED_PRIVATE_KEY, publicKeyOpenssh: ENCRYPTED_PUBLIC_KEY },
                /must not be passphrase-protected/,
            ],
        ];
        for (const [what, hostKey, message] of badKeys) {
            it(`rejects ${what}`, () => {
                assert.throws(() => renderUserData(params({ hostKey })), message);
            });
        }
    });
});
