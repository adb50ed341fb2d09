import "mocha";
import * as assert from "assert";
import { cidrSlug, cidrsOverlap, hasHostBits, isHostPort, isIpv4, isIpv6, parseCidr, wholeFamiliesCovered } from "../src/shared/net";

describe("address parsing", () => {
    it("accepts IPv4 addresses and refuses look-alikes", () => {
        for (const ok of ["0.0.0.0", "10.0.0.1", "255.255.255.255"]) {
            assert.ok(isIpv4(ok), ok);
        }
        for (const bad of ["256.0.0.1", "10.0.0", "10.0.0.01", "1.2.3.4.5", "a.b.c.d", ""]) {
            assert.ok(!isIpv4(bad), bad);
        }
    });

    it("accepts IPv6 addresses in full, compressed and IPv4-tail forms", () => {
        for (const ok of ["::", "::1", "2001:db8::", "2001:db8:0:0:0:0:0:1", "fe80::1:2", "::ffff:192.0.2.1", "64:ff9b::192.0.2.33"]) {
            assert.ok(isIpv6(ok), ok);
        }
        for (const bad of ["2001:db8:::1", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "2001:db8::g", ":1:2:3:4:5:6:7", "::ffff:300.1.1.1", "10.0.0.1"]) {
            assert.ok(!isIpv6(bad), bad);
        }
    });

    it("parses CIDRs of both families and rejects bad prefix lengths", () => {
        assert.deepStrictEqual(parseCidr("10.0.0.0/24"), { family: 4, address: "10.0.0.0", prefixLength: 24 });
        assert.deepStrictEqual(parseCidr("2001:db8::/64"), { family: 6, address: "2001:db8::", prefixLength: 64 });
        for (const bad of ["10.0.0.0/33", "10.0.0.0", "10.0.0.0/", "10.0.0.0/024", "::/129", "x/8"]) {
            assert.strictEqual(parseCidr(bad), undefined, bad);
        }
    });

    it("finds host bits in IPv4 CIDRs", () => {
        assert.ok(hasHostBits(parseCidr("10.0.0.1/24")!));
        assert.ok(!hasHostBits(parseCidr("10.0.0.0/24")!));
        assert.ok(!hasHostBits(parseCidr("203.0.113.7/32")!));
        assert.ok(!hasHostBits(parseCidr("0.0.0.0/0")!));
    });

    it("finds host bits in IPv6 CIDRs", () => {
        assert.ok(hasHostBits(parseCidr("2001:db8::1/64")!));
        assert.ok(hasHostBits(parseCidr("2001:db8:0:0:8000::/64")!));
        assert.ok(!hasHostBits(parseCidr("2001:db8::/64")!));
        assert.ok(!hasHostBits(parseCidr("2001:db8::1/128")!));
        assert.ok(!hasHostBits(parseCidr("::/0")!));
    });

    it("tells overlapping ranges of one family apart from disjoint ones", () => {
        const c = (s: string) => parseCidr(s)!;
        assert.ok(cidrsOverlap(c("10.0.0.0/8"), c("10.96.0.0/16")));
        assert.ok(cidrsOverlap(c("10.96.0.0/20"), c("10.96.0.0/16")));
        assert.ok(!cidrsOverlap(c("10.0.0.0/24"), c("10.96.0.0/16")));
        assert.ok(!cidrsOverlap(c("10.97.0.0/16"), c("10.96.0.0/16")));
        assert.ok(!cidrsOverlap(c("::/0"), c("10.0.0.0/8")));
        assert.ok(cidrsOverlap(c("2001:db8::/32"), c("2001:db8:1::/48")));
    });

    it("judges a list of CIDRs by the address space it covers together", () => {
        const covered = (...l: string[]) => wholeFamiliesCovered(l.map((s) => parseCidr(s)!));
        assert.deepStrictEqual(covered("0.0.0.0/1", "128.0.0.0/1"), [4]);
        assert.deepStrictEqual(covered("128.0.0.0/1", "0.0.0.0/2", "64.0.0.0/2"), [4]);
        assert.deepStrictEqual(covered("0.0.0.0/1", "128.0.0.0/2"), []);
        assert.deepStrictEqual(covered("0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"), [4, 6]);
        assert.deepStrictEqual(covered("0.0.0.0/0"), [4]);
        assert.deepStrictEqual(covered("203.0.113.0/24", "2001:db8::/32"), []);
    });

    it("makes CIDRs safe for resource names", () => {
        assert.strictEqual(cidrSlug("203.0.113.0/24"), "203.0.113.0-24");
        assert.strictEqual(cidrSlug("2001:DB8::/64"), "2001_db8__-64");
    });

    // host[:port], as registryMirrors[].registry (port optional) and the kubeconfig's apiEndpoint (port required) are written.
    const HOST_PORTS: Array<[string, "both" | "optional only" | "neither"]> = [
        ["docker.io", "optional only"],
        ["Docker.IO", "optional only"],
        ["registry.example:5000", "both"],
        ["192.0.2.10:6443", "both"],
        ["192.0.2.10", "optional only"],
        ["mgmt.example.org:443", "both"],
        ["[2001:db8::10]:6443", "both"],
        ["[2001:db8::10]", "optional only"],
        ["[2001:DB8:0:0::10]:6443", "both"],
        ["[::ffff:192.0.2.1]:5000", "both"],
        ["h:1", "both"],
        ["h:80", "both"],
        ["h:65535", "both"],
        [`${"a".repeat(63)}.example:1`, "both"],
        [`${"a".repeat(64)}.example:1`, "neither"],
        [`${"a.".repeat(125)}abc:1`, "both"],
        [`${"a.".repeat(125)}abcd:1`, "neither"],
        ["h:0", "neither"],
        ["h:65536", "neither"],
        ["h:99999", "neither"],
        ["docker.io:99999", "neither"],
        ["192.0.2.10:06443", "neither"],
        ["h:", "neither"],
        ["h:+5", "neither"],
        ["h:5 ", "neither"],
        ["2001:db8::10:6443", "neither"],
        ["[2001:db8::zz]:6443", "neither"],
        ["[fe80::1%eth0]:6443", "neither"],
        ["[::1]:", "neither"],
        ["[::1]x", "neither"],
        ["https://192.0.2.10:6443", "neither"],
        ["https://docker.io", "neither"],
        ["docker.io/library", "neither"],
        ["h:5/", "neither"],
        ["h:5?", "neither"],
        ["u@h:5", "neither"],
        ["a#b:6443", "neither"],
        ["a&b:6443", "neither"],
        ["a_b:6443", "neither"],
        ["-x..y:6443", "neither"],
        ["a b", "neither"],
        [":5", "neither"],
        ["", "neither"],
    ];

    it("accepts host[:port] with a name, IPv4 or bracketed IPv6 host and a port of 1 to 65535", () => {
        for (const [s, accepted] of HOST_PORTS) {
            assert.strictEqual(isHostPort(s, "optional"), accepted !== "neither", `${JSON.stringify(s)}, port optional`);
            assert.strictEqual(isHostPort(s, "required"), accepted === "both", `${JSON.stringify(s)}, port required`);
        }
    });
});
