import "mocha";
import * as assert from "assert";
import { cidrSlug, hasHostBits, isIpv4, isIpv6, parseCidr } from "../lib/net";

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

    it("makes CIDRs safe for resource names", () => {
        assert.strictEqual(cidrSlug("203.0.113.0/24"), "203.0.113.0-24");
        assert.strictEqual(cidrSlug("2001:DB8::/64"), "2001_db8__-64");
    });
});
