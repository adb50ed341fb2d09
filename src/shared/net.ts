/**
 * The addresses a stack config carries, parsed by ipaddr.js (a maintained library) and held
 * to the strict forms the cloud's APIs take: dotted quads without leading zeros or short
 * forms, prefix lengths without leading zeros.
 */
import * as ipaddr from "ipaddr.js";

/** An IP prefix in canonical form. */
export interface Cidr {
    /** 4 or 6. */
    family: 4 | 6;
    /** The address part as written (without the prefix length). */
    address: string;
    /** Prefix length. */
    prefixLength: number;
}

/** True when `s` is a dotted-quad IPv4 address without leading zeros. */
export function isIpv4(s: string): boolean {
    // ipaddr.js also reads "010.0.0.1" as octal and "10.1" as a short form: neither is what users mean.
    return ipaddr.IPv4.isValidFourPartDecimal(s) && s.split(".").every((p) => p === "0" || !p.startsWith("0"));
}

/** True when `s` is an IPv6 address (full, compressed, or with an embedded IPv4 tail), without a zone. */
export function isIpv6(s: string): boolean {
    if (!/^[0-9a-fA-F:.]+$/.test(s) || !ipaddr.IPv6.isValid(s)) {
        return false;
    }
    const tail = s.slice(s.lastIndexOf(":") + 1);
    return !tail.includes(".") || isIpv4(tail);
}

/** True when `s` is an IPv4 or IPv6 address. */
export function isIp(s: string): boolean {
    return isIpv4(s) || isIpv6(s);
}

/** Parses `address/len`; returns undefined when it is not a valid CIDR. */
export function parseCidr(s: string): Cidr | undefined {
    const m = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(s);
    if (!m) {
        return undefined;
    }
    const prefixLength = Number(m[2]);
    if (isIpv4(m[1]) && prefixLength <= 32) {
        return { family: 4, address: m[1], prefixLength };
    }
    if (isIpv6(m[1]) && prefixLength <= 128) {
        return { family: 6, address: m[1], prefixLength };
    }
    return undefined;
}

/** True when the CIDR admits every address of its family (`0.0.0.0/0`, `::/0`). */
export function isWholeInternet(c: Cidr): boolean {
    return c.prefixLength === 0;
}

/** The address as an unsigned integer of its family's width. */
function toBigInt(address: string): bigint {
    return ipaddr
        .parse(address)
        .toByteArray()
        .reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

function familyBits(c: Cidr): bigint {
    return c.family === 4 ? 32n : 128n;
}

/** The first and last address of a CIDR, as integers (host bits cleared). */
function rangeOf(c: Cidr): [bigint, bigint] {
    const hostBits = familyBits(c) - BigInt(c.prefixLength);
    const size = 1n << hostBits;
    const first = (toBigInt(c.address) >> hostBits) << hostBits;
    return [first, first + size - 1n];
}

/** True when a CIDR has host bits set (e.g. `10.0.0.1/24`, `2001:db8::1/64`). */
export function hasHostBits(c: Cidr): boolean {
    return rangeOf(c)[0] !== toBigInt(c.address);
}

/** True when two CIDRs of the same family share an address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
    if (a.family !== b.family) {
        return false;
    }
    const [a0, a1] = rangeOf(a);
    const [b0, b1] = rangeOf(b);
    return a0 <= b1 && b0 <= a1;
}

/**
 * The families (4, 6) whose every address the CIDRs admit together, e.g. `0.0.0.0/1` with
 * `128.0.0.0/1`: a list is judged by the address space it covers, not entry by entry.
 */
export function wholeFamiliesCovered(cidrs: Cidr[]): Array<4 | 6> {
    const covered: Array<4 | 6> = [];
    for (const family of [4, 6] as const) {
        const ranges = cidrs
            .filter((c) => c.family === family)
            .map(rangeOf)
            .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
        const last = (1n << (family === 4 ? 32n : 128n)) - 1n;
        let next = 0n; // the lowest address not covered yet
        for (const [first, end] of ranges) {
            if (first > next) {
                break;
            }
            if (end + 1n > next) {
                next = end + 1n;
            }
        }
        if (next > last) {
            covered.push(family);
        }
    }
    return covered;
}

/** A name fragment for a CIDR that is safe in a Pulumi resource name: `10.0.0.0/24` → `10.0.0.0-24`. */
export function cidrSlug(cidr: string): string {
    return cidr.replace(/\//g, "-").replace(/:/g, "_").toLowerCase();
}

/** A DNS label of a host name: letters, digits and `-`, 1 to 63 characters, not starting or ending with `-`. */
const HOST_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOST_NAME = new RegExp(`^${HOST_LABEL}(\\.${HOST_LABEL})*$`);

/** True when `s` is a host name of at most 253 characters (dotted quads such as `192.0.2.10` are such names too). */
export function isHostName(s: string): boolean {
    return s.length <= 253 && HOST_NAME.test(s);
}

/**
 * True when `s` is `host[:port]` as a registry name or an API endpoint is written: the host a
 * name or IPv4 address ({@link isHostName}) or a bracketed IPv6 address ({@link isIpv6}, no zone),
 * the port 1 to 65535 without leading zeros, required or optional as `port` says. The platform's
 * URL parser splits the text and checks the brackets and the port's range; the text itself must be
 * exactly host and port (no scheme, user, path, query or fragment).
 */
export function isHostPort(s: string, port: "required" | "optional"): boolean {
    if (typeof s !== "string") {
        return false;
    }
    let u: URL;
    try {
        // A scheme without a default port or special host rules: the host stays as written.
        u = new URL(`tcp://${s}`);
    } catch {
        return false;
    }
    if (u.username !== "" || u.password !== "" || u.pathname !== "" || u.search !== "" || u.hash !== "") {
        return false;
    }
    const colon = s.lastIndexOf(":");
    if (u.port === "" ? port === "required" : s.slice(colon + 1) !== u.port || u.port === "0") {
        return false;
    }
    const host = u.port === "" ? s : s.slice(0, colon);
    const ipv6 = /^\[(.*)\]$/.exec(host);
    return ipv6 ? isIpv6(ipv6[1]) : isHostName(host);
}
