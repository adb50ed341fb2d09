import "mocha";
import * as assert from "assert";
import * as cloudInit from "../src/host/cloudInit";
import { CLOUD_INIT_DONE_MARKER, renderUserData, USER_DATA_MAX_BYTES } from "../src/host/cloudInit";
import { CA_CERT_A, CA_CERT_B, PROXY, params, render, fileContent, fileUnder, runcmdIndex } from "./cloudInitParams";

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
});
