/**
 * Rules of the network settings that JSON Schema cannot say: CIDRs and addresses, and the
 * cross-field ones (existingNetwork excludes nodeCidr and dnsNameservers; production refuses
 * open access unless allowPublicAccess).
 */
import { Cidr, cidrsOverlap, hasHostBits, isIp, isIpv4, isWholeInternet, parseCidr, wholeFamiliesCovered } from "../../shared/net";
import { KIND_POD_CIDR, KIND_SERVICE_CIDR } from "../../host/proxy";
import { CONFIG_NAMESPACE, Problems, quote } from "../types";

const MIN_ROOT_VOLUME_GIB = 20;

/** A boot volume is 0 (the flavor's disk) or big enough for the management cluster. */
export function checkRootVolumeSize(p: Problems, size: number): void {
    if (size > 0 && size < MIN_ROOT_VOLUME_GIB) {
        p.fail("rootVolumeSize", `${size} GiB is too small for the management cluster (minimum ${MIN_ROOT_VOLUME_GIB}; 0 boots from the flavor's disk)`);
    }
}

/** `nodeCidr`: an IPv4 network address, /29 or larger, outside the kind cluster's ranges; not with existingNetwork. */
export function checkNodeCidr(p: Problems, cidr: string, set: boolean, existing: boolean): void {
    if (set && existing) {
        p.fail("nodeCidr", "cannot be set together with existingNetwork (the existing subnet's range is used)");
    }
    const c = parseCidr(cidr);
    if (!c || c.family !== 4) {
        p.fail("nodeCidr", `${quote(cidr)} is not a valid IPv4 CIDR`);
    } else if (hasHostBits(c)) {
        p.fail("nodeCidr", `${quote(cidr)} has host bits set (did you mean the network address?)`);
    } else if (c.prefixLength > 29) {
        p.fail("nodeCidr", `${quote(cidr)} is too small (at most /29)`);
    } else if (!existing) {
        // The kind cluster routes these ranges inside the server: a node subnet overlapping
        // them would make the server's own neighbours (and its gateway) unreachable from pods.
        for (const [what, range] of [
            ["pod", KIND_POD_CIDR],
            ["Service", KIND_SERVICE_CIDR],
        ] as const) {
            if (cidrsOverlap(c, parseCidr(range)!)) {
                p.fail("nodeCidr", `${quote(cidr)} overlaps ${range}, the management cluster's ${what} network; choose a range outside it`);
            }
        }
    }
}

/** `dnsNameservers`: IPv4 addresses; not with existingNetwork. */
export function checkNameservers(p: Problems, list: readonly string[], existing: boolean): void {
    if (list.length > 0 && existing) {
        p.fail("dnsNameservers", "cannot be set together with existingNetwork (the existing subnet's DNS is used)");
    }
    for (const ip of list) {
        if (!isIp(ip)) {
            p.fail("dnsNameservers", `${quote(ip)} is not a valid IP address`);
        } else if (!isIpv4(ip)) {
            p.fail("dnsNameservers", `${quote(ip)} is not an IPv4 address (the management subnet is IPv4)`);
        }
    }
}

/** `sshAllowedCidrs` / `apiAllowedCidrs`: network addresses, once each; production refuses the whole internet unless allowPublicAccess. */
export function checkAllowedCidrs(
    p: Problems,
    key: string,
    what: string,
    list: readonly string[],
    rules: { production: boolean; allowPublicAccess: boolean },
): void {
    if (list.length === 0) {
        p.fail(key, `must list at least one CIDR that may reach ${what}`);
    }
    const seen = new Set<string>();
    const parsed: Cidr[] = [];
    for (const s of list) {
        const c: Cidr | undefined = parseCidr(s);
        if (!c) {
            p.fail(key, `${quote(s)} is not a valid CIDR`);
            continue;
        }
        if (hasHostBits(c)) {
            p.fail(key, `${quote(s)} has host bits set (write the network address, or /32 or /128 for one host)`);
        }
        if (seen.has(s)) {
            p.fail(key, `${quote(s)} is listed twice`);
        }
        seen.add(s);
        if (isWholeInternet(c) && rules.production && !rules.allowPublicAccess) {
            p.fail(
                key,
                `${quote(s)} opens ${what} to the whole internet, which production refuses (set ${CONFIG_NAMESPACE}:allowPublicAccess: true to accept it)`,
            );
        }
        parsed.push(c);
    }
    // Judged together too: 0.0.0.0/1 with 128.0.0.0/1 is the whole internet as much as 0.0.0.0/0.
    if (rules.production && !rules.allowPublicAccess && !parsed.some(isWholeInternet)) {
        for (const family of wholeFamiliesCovered(parsed)) {
            p.fail(
                key,
                `together the entries cover every IPv${family} address, which opens ${what} to the whole internet; production refuses ` +
                    `that (set ${CONFIG_NAMESPACE}:allowPublicAccess: true to accept it)`,
            );
        }
    }
}
