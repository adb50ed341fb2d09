/**
 * Small, dependency-free parsers for the addresses a stack config carries.
 */

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
    const parts = s.split(".");
    return (
        parts.length === 4 &&
        parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)
    );
}

/** True when `s` is an IPv6 address (full, compressed, or with an embedded IPv4 tail). */
export function isIpv6(s: string): boolean {
    if (!/^[0-9a-fA-F:.]+$/.test(s)) {
        return false;
    }
    let head = s;
    let extraGroups = 0;
    if (s.includes(".")) {
        // An IPv4 tail stands for two groups: check it, then count it as a placeholder plus one.
        const lastColon = s.lastIndexOf(":");
        if (!isIpv4(s.slice(lastColon + 1))) {
            return false;
        }
        head = s.slice(0, lastColon + 1) + "0";
        extraGroups = 1;
    }
    const halves = head.split("::");
    if (halves.length > 2) {
        return false;
    }
    const groups = halves.flatMap((h) => (h === "" ? [] : h.split(":")));
    if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) {
        return false;
    }
    const count = groups.length + extraGroups;
    return halves.length === 2 ? count <= 7 : count === 8;
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

/** Numeric value of an IPv4 address. */
function ipv4ToNumber(ip: string): number {
    return ip.split(".").reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** True when an IPv4 CIDR has host bits set (e.g. `10.0.0.1/24`). */
export function hasHostBits(c: Cidr): boolean {
    if (c.family !== 4) {
        return false;
    }
    const size = 2 ** (32 - c.prefixLength);
    return ipv4ToNumber(c.address) % size !== 0;
}

/** A name fragment for a CIDR that is safe in a Pulumi resource name: `10.0.0.0/24` → `10.0.0.0-24`. */
export function cidrSlug(cidr: string): string {
    return cidr.replace(/\//g, "-").replace(/:/g, "_").toLowerCase();
}
