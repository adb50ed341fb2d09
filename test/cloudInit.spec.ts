import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { parse } from "yaml";
import * as cloudInit from "../src/host/cloudInit";
import { skipTest } from "./fakes/shell";
import { CLOUD_INIT_DONE_MARKER, renderUserData, USER_DATA_MAX_BYTES, UserDataParams } from "../src/host/cloudInit";
import { TEST_HOST_PRIVATE_KEY, TEST_HOST_PUBLIC_KEY } from "./fixtures";

// Throwaway test-only material (generated once with ssh-keygen / openssl; never used anywhere).
const HOST_PRIVATE_KEY = TEST_HOST_PRIVATE_KEY;
const HOST_PUBLIC_KEY = TEST_HOST_PUBLIC_KEY + "\n";
const OTHER_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDOVaHfp78RBjmOuA8BdRu9cfl7klpkNcN6F/J14Q8QK";
const ENCRYPTED_PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABAevcIM+a
kVnG2Ot+rqAc5sAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAINnJSj0D7ePDbwE7
8VbIGOj4onXdHvSHFZWRlpvbX7GcAAAAkPgnQ2CWYCFZsxL1a1NNt20/6aslEAM9hkLobZ
V6RJ8UWjPPIduhqznZdCi5scyj+4BBULoGC+Ov6wV+4SraaJQiHO607JoZkBTSsaBSKtFi
EDjN4OtKkkqjiKjNpKNiG3WU2YIgH5hjhZ8/t1f0zbOiEUW/+kyMkLYT5avxpn0rgnZoIT
dULOw8xRhqpW75XQ==
-----END OPENSSH PRIVATE KEY-----
`;
const ENCRYPTED_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINnJSj0D7ePDbwE78VbIGOj4onXdHvSHFZWRlpvbX7Gc";

const CA_CERT_A = `-----BEGIN CERTIFICATE-----
MIIBkjCCATegAwIBAgIUFZj/9dwRviqvOUJtz65ad6gtqpkwCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTY2FwaS1tZ210IHRlc3QgQ0EgYTAeFw0yNjExMjIxMzQyMTBa
Fw0zNjExMTkxMzQyMTBaMB4xHDAaBgNVBAMME2NhcGktbWdtdCB0ZXN0IENBIGEw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQUGFbQFU/cx1zxglAaVHjXzETRJj40
5T+83UR56M6nkPsTtM7ZZ2C8fcHVXFlUBSXenmRedr4nF11j9lmt1wHao1MwUTAd
BgNVHQ4EFgQUziMZ/SvhD79wbQ+z1cSOGet19UMwHwYDVR0jBBgwFoAUziMZ/Svh
D79wbQ+z1cSOGet19UMwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEA/mPubU8RRxJDC4zT6a65dzCo9onCEwaDpaqd0KkCrRQCIQC6ZQ5MWDWl08VE
3MhC5ETMSvRxAmRShuKe5cPqMUIIzw==
-----END CERTIFICATE-----
`;
const CA_CERT_B = `-----BEGIN CERTIFICATE-----
MIIBkTCCATegAwIBAgIUBcX8L2X5hd1qzSCwFWdy6bNu6PEwCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTY2FwaS1tZ210IHRlc3QgQ0EgYjAeFw0yNjExMjIxMzQyMTBa
Fw0zNjExMTkxMzQyMTBaMB4xHDAaBgNVBAMME2NhcGktbWdtdCB0ZXN0IENBIGIw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASmPN8BlDXaFXwG1pK2KQZBsFwfBKC9
nfbpLo56RdhyrRReYsuFfbkoNIokNOa/0rfmJUXSk1J2SyLkh5mn4oaDo1MwUTAd
BgNVHQ4EFgQUesvl4jun7qdFreCq9B2wTEtg0iAwHwYDVR0jBBgwFoAUesvl4jun
7qdFreCq9B2wTEtg0iAwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBF
AiATJUx7BGd+6+/z8qpYw5Ry52+UVBaiYrAJJU5CDiVf/AIhAMcDkRjIK/YbLY39
QHQECc3CtfbjE9FIVjfH+wveNFaM
-----END CERTIFICATE-----
`;

interface WriteFile {
    path: string;
    content: string;
    permissions?: string;
}

interface UserData {
    package_update?: boolean;
    package_upgrade?: boolean;
    packages?: string[];
    write_files: WriteFile[];
    ca_certs?: { trusted: string[] };
    ssh_keys: Record<string, string>;
    ssh_deletekeys?: boolean;
    ssh_genkeytypes?: string[];
    ssh_pwauth?: boolean;
    disable_root?: boolean;
    runcmd: Array<string | string[]>;
}

/** A proxy as the program computes it (src/host/proxy.ts). */
const PROXY = {
    http: "http://proxy.example:3128",
    https: "http://proxy.example:3129",
    noProxy: "localhost,127.0.0.1,::1,0.0.0.0,169.254.169.254,.svc,.cluster.local,10.96.0.0/16,10.244.0.0/16,10.0.0.0/24,.corp.example",
};

function params(overrides: Partial<UserDataParams> = {}): UserDataParams {
    return {
        dockerMtu: 1450,
        hostKey: { privateKeyOpenssh: HOST_PRIVATE_KEY, publicKeyOpenssh: HOST_PUBLIC_KEY },
        ...overrides,
    };
}

function render(overrides: Partial<UserDataParams> = {}): { text: string; doc: UserData } {
    const text = renderUserData(params(overrides));
    return { text, doc: parse(text) as UserData };
}

function fileContent(doc: UserData, path: string): string {
    const file = doc.write_files.find((f) => f.path === path);
    assert.ok(file, `write_files has no ${path}`);
    return file.content;
}

function fileUnder(doc: UserData, dir: string): WriteFile {
    const files = doc.write_files.filter((f) => f.path.startsWith(dir));
    assert.strictEqual(files.length, 1, `expected one file under ${dir}`);
    return files[0];
}

/** Index of the runcmd entry that is exactly `cmd`, or -1. */
function runcmdIndex(doc: UserData, cmd: string | string[]): number {
    return doc.runcmd.findIndex((c) => JSON.stringify(c) === JSON.stringify(cmd));
}

describe("renderUserData", () => {
    describe("document", () => {
        it("is #cloud-config YAML", () => {
            const { text, doc } = render();
            assert.ok(text.startsWith("#cloud-config\n"));
            assert.strictEqual(typeof doc, "object");
            assert.ok(Array.isArray(doc.runcmd));
        });

        it("is deterministic and leaves its input alone", () => {
            const p = params({ caCert: CA_CERT_A + CA_CERT_B });
            const copy = JSON.parse(JSON.stringify(p));
            assert.strictEqual(renderUserData(p), renderUserData(p));
            assert.strictEqual(renderUserData(p), renderUserData(copy));
            assert.deepStrictEqual(p, copy);
        });

        it("stays under the size limit", () => {
            const { text } = render({ caCert: CA_CERT_A + CA_CERT_B });
            assert.ok(Buffer.byteLength(text) <= USER_DATA_MAX_BYTES);
        });

        it("throws when the result would exceed the size limit", () => {
            const hugeBundle = Array.from({ length: 100 }, () => CA_CERT_A).join("");
            assert.throws(() => renderUserData(params({ caCert: hugeBundle })), /over the 49149-byte limit/);
        });

        it("allows exactly what Nova's 65535 base64 characters hold: 49149 bytes, not one more", () => {
            const base64Length = (bytes: number) => Buffer.alloc(bytes).toString("base64").length;
            assert.strictEqual(USER_DATA_MAX_BYTES, 49149);
            assert.ok(base64Length(USER_DATA_MAX_BYTES) <= 65535);
            assert.ok(base64Length(USER_DATA_MAX_BYTES + 1) > 65535);
            // The check itself, at the boundary (multi-byte characters count as bytes).
            const check = (cloudInit as unknown as { checkUserDataSize?: (t: string) => void }).checkUserDataSize;
            assert.ok(check, "src/host/cloudInit.ts exports no checkUserDataSize");
            assert.doesNotThrow(() => check("x".repeat(49149)));
            assert.throws(() => check("x".repeat(49150)), /49150 bytes, over the 49149-byte limit/);
            assert.throws(() => check("é".repeat(24575)), /49150 bytes/);
        });

        it("carries no tool versions and no credentials", () => {
            const { text } = render({ caCert: CA_CERT_A });
            assert.doesNotMatch(text, /v\d+\.\d+\.\d+/);
            assert.doesNotMatch(text, /\b(kind|kubectl|clusterctl|helm|flux|cilium)\b/i);
            assert.doesNotMatch(text, /application_credential|OS_[A-Z_]+|password:|token/i);
            assert.strictEqual(text.match(/PRIVATE KEY-----/g)?.length, 2, "only the host key's BEGIN/END lines");
        });
    });

    describe("packages and Docker", () => {
        it("installs docker.io from the archive after an index update, without upgrading", () => {
            const { doc } = render();
            assert.strictEqual(doc.package_update, true);
            assert.deepStrictEqual(doc.packages, ["docker.io"]);
            assert.ok(!doc.package_upgrade, "package_upgrade must be absent or false");
        });

        it("writes daemon.json with the given MTU and bounded logs", () => {
            for (const mtu of [576, 1450, 9000]) {
                const { doc } = render({ dockerMtu: mtu });
                assert.deepStrictEqual(JSON.parse(fileContent(doc, "/etc/docker/daemon.json")), {
                    mtu,
                    "log-driver": "json-file",
                    "log-opts": { "max-size": "10m", "max-file": "3" },
                });
            }
        });

        it("has no apt proxy and no Docker proxy without a proxy", () => {
            const { doc, text } = render();
            assert.strictEqual((doc as unknown as Record<string, unknown>).apt, undefined);
            assert.strictEqual(JSON.parse(fileContent(doc, "/etc/docker/daemon.json")).proxies, undefined);
            assert.doesNotMatch(text, /proxy/i);
        });

        it("sends apt and Docker's daemon through the proxy, with the effective NO_PROXY", () => {
            const { doc } = render({ proxy: PROXY });
            assert.deepStrictEqual((doc as unknown as Record<string, unknown>).apt, {
                http_proxy: "http://proxy.example:3128",
                https_proxy: "http://proxy.example:3129",
            });
            assert.deepStrictEqual(JSON.parse(fileContent(doc, "/etc/docker/daemon.json")).proxies, {
                "http-proxy": "http://proxy.example:3128",
                "https-proxy": "http://proxy.example:3129",
                "no-proxy": PROXY.noProxy,
            });
        });

        it("sets only the proxy that is given", () => {
            const { doc } = render({ proxy: { https: "http://proxy.example:3129", noProxy: "localhost" } });
            assert.deepStrictEqual((doc as unknown as Record<string, unknown>).apt, { https_proxy: "http://proxy.example:3129" });
            assert.deepStrictEqual(JSON.parse(fileContent(doc, "/etc/docker/daemon.json")).proxies, {
                "https-proxy": "http://proxy.example:3129",
                "no-proxy": "localhost",
            });
        });

        it("writes the daemon.json the host-proxy step writes on a live server", () => {
            for (const proxy of [undefined, PROXY]) {
                const { doc } = render({ proxy });
                assert.strictEqual(fileContent(doc, "/etc/docker/daemon.json"), cloudInit.renderDockerDaemonJson(1450, proxy));
            }
        });

        it("stays within the user-data limit with a long NO_PROXY", () => {
            const noProxy = Array.from({ length: 300 }, (_, i) => `host-${i}.internal.example`).join(",");
            const { text } = render({ proxy: { ...PROXY, noProxy }, caCert: CA_CERT_A + CA_CERT_B });
            assert.ok(Buffer.byteLength(text) <= USER_DATA_MAX_BYTES, `${Buffer.byteLength(text)} bytes`);
        });

        it("enables and starts Docker", () => {
            const { doc } = render();
            assert.ok(runcmdIndex(doc, ["systemctl", "enable", "--now", "docker.service"]) >= 0);
        });

        for (const bad of [575, 9001, 1450.5, NaN, Infinity, -1]) {
            it(`rejects dockerMtu ${bad}`, () => {
                assert.throws(() => renderUserData(params({ dockerMtu: bad })), /dockerMtu must be an integer from 576 to 9000/);
            });
        }
    });

    describe("kernel settings", () => {
        it("persists the sysctls", () => {
            const { doc } = render();
            const file = fileUnder(doc, "/etc/sysctl.d/");
            assert.match(file.path, /\.conf$/);
            const lines = file.content.split("\n");
            for (const line of ["fs.inotify.max_user_watches = 524288", "fs.inotify.max_user_instances = 512", "net.netfilter.nf_conntrack_max = 524288"]) {
                assert.ok(lines.includes(line), `missing ${line}`);
            }
        });

        it("loads the kernel modules at boot", () => {
            const { doc } = render();
            const file = fileUnder(doc, "/etc/modules-load.d/");
            assert.match(file.path, /\.conf$/);
            const lines = file.content.split("\n");
            assert.ok(lines.includes("nf_conntrack"));
            assert.ok(lines.includes("br_netfilter"));
        });

        it("applies modules and sysctls now, modules first", () => {
            const { doc } = render();
            const modprobe = runcmdIndex(doc, ["modprobe", "-a", "nf_conntrack", "br_netfilter"]);
            const sysctl = runcmdIndex(doc, ["sysctl", "--system"]);
            assert.ok(modprobe >= 0, "modprobe missing");
            assert.ok(sysctl > modprobe, "sysctl --system must follow modprobe");
        });
    });

    describe("completion marker", () => {
        it("is written by the last runcmd step, after its directory is created", () => {
            const { doc } = render();
            const last = doc.runcmd.length - 1;
            assert.deepStrictEqual(doc.runcmd[last], ["touch", CLOUD_INIT_DONE_MARKER]);
            assert.strictEqual(runcmdIndex(doc, ["mkdir", "-p", "/var/lib/capi-mgmt"]), last - 1);
        });

        it("is never reached after a failed step", () => {
            const { doc } = render();
            assert.strictEqual(doc.runcmd[0], "set -e");
        });
    });

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

    describe("cloud-init schema", () => {
        const available = !spawnSync("cloud-init", ["--version"], { encoding: "utf8" }).error;
        let dir = "";

        before(() => {
            dir = mkdtempSync(join(tmpdir(), "cloud-init-schema-"));
        });

        after(() => {
            rmSync(dir, { recursive: true, force: true });
        });

        const cases: Array<[string, string | undefined, UserDataParams["proxy"]?]> = [
            ["without a CA", undefined],
            ["with a CA", CA_CERT_A],
            ["with a CA bundle", CA_CERT_A + CA_CERT_B],
            ["with a proxy", undefined, PROXY],
            ["with only an https proxy", undefined, { https: PROXY.https, noProxy: PROXY.noProxy }],
        ];
        for (const [what, caCert, proxy] of cases) {
            it(`accepts the user-data ${what}, without deprecations`, function () {
                if (!available) {
                    skipTest(this, "the user-data's schema check", "cloud-init");
                }
                const file = join(dir, "user-data.yaml");
                writeFileSync(file, renderUserData(params({ caCert, proxy })));
                const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
                const output = `${result.stdout}${result.stderr}`;
                assert.strictEqual(result.status, 0, `cloud-init schema failed:\n${output}`);
                assert.doesNotMatch(output, /deprecat/i, `cloud-init schema reported deprecations:\n${output}`);
            });
        }
    });
});
