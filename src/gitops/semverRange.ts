/**
 * Whether Flux's source-controller accepts a GitRepository's `ref.semver`: it hands the
 * range to Masterminds/semver v3 (`semver.NewConstraint`), whose grammar differs from npm's
 * (`1.x || >=2.0.0 <3`, `~1.2`, `1.2 - 1.4`; no `abc1`, no `v1.x.y`, no leading zeros).
 *
 * No npm package implements that grammar, so this module states it: the same rules, applied
 * in the same order as NewConstraint (range rewrite, `||` groups, each group's shape, each
 * comparison's version). `test/fixtures/semver-ranges.json` is the table of cases both
 * sides must agree on: the unit suite checks this module against it, and the integration
 * suite runs Masterminds/semver v3.5.0 itself (built in the test bed) on the same table.
 */

/** Longest range NewConstraint takes (MaxConstraintLen). */
const MAX_LENGTH = 512;
/** Most `||` groups NewConstraint takes (MaxConstraintGroups). */
const MAX_GROUPS = 32;

/** A version in a constraint: wildcards (`x`, `X`, `*`) allowed in any of three parts. */
const CONSTRAINT_VERSION =
    String.raw`v?([0-9|xX*]+)(\.[0-9|xX*]+)?(\.[0-9|xX*]+)?` +
    String.raw`(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?` +
    String.raw`(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?`;
/** The comparison operators, the empty one (equal, or tilde with wildcards) first. */
const OPERATORS = String.raw`=||!=|>|<|>=|=>|<=|=<|~|~>|\^`;

const HYPHEN_RANGE = new RegExp(String.raw`\s*(${CONSTRAINT_VERSION})\s+-\s+(${CONSTRAINT_VERSION})\s*`, "g");
const GROUP = new RegExp(String.raw`^(\s*(${OPERATORS})\s*(${CONSTRAINT_VERSION})\s*)((?:\s+|,\s*)(${OPERATORS})\s*(${CONSTRAINT_VERSION})\s*)*$`);
const COMPARISON_IN_GROUP = new RegExp(String.raw`(${OPERATORS})\s*(${CONSTRAINT_VERSION})`, "g");
const COMPARISON = new RegExp(String.raw`^\s*(${OPERATORS})\s*(${CONSTRAINT_VERSION})\s*$`);
/** A version as NewVersion reads it by default (CoerceNewVersion: leading zeros allowed). */
const LOOSE_VERSION = new RegExp(String.raw`^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$`);
const UINT64_MAX = 2n ** 64n - 1n;

/** Whether NewVersion accepts `v`: numeric parts fit 64 bits, numeric pre-release parts have no leading zero. */
function isVersion(v: string): boolean {
    const m = LOOSE_VERSION.exec(v);
    if (!m) {
        return false;
    }
    const numbers = [m[1], m[2], m[3]].filter((x): x is string => x !== undefined).map((x) => BigInt(x.replace(/^\./, "")));
    const prerelease = m[5] ?? "";
    return numbers.every((n) => n <= UINT64_MAX) && prerelease.split(".").every((p) => prerelease === "" || !/^0[0-9]+$/.test(p));
}

function isWildcard(part: string): boolean {
    return part === "x" || part === "X" || part === "*";
}

/** `a - b` becomes `>= a, <= b`, as NewConstraint rewrites it before anything else. */
function rewriteHyphenRanges(range: string): string {
    let out = range;
    for (const m of range.matchAll(HYPHEN_RANGE)) {
        // The first version is group 1; the second starts after its 9 inner groups.
        out = out.replace(m[0], `>= ${m[1]}, <= ${m[11]} `);
    }
    return out;
}

/** Why one comparison (`>=1.2.x`) is refused, or undefined when it is accepted. */
function comparisonProblem(text: string): string | undefined {
    const m = COMPARISON.exec(text);
    if (!m) {
        return `improper constraint: ${text}`;
    }
    const [, , version, major, minor = "", patch = "", prerelease = ""] = m;
    // A wildcard (or a missing part) is read as zero from there on; the rest must be a version.
    let effective = version;
    if (isWildcard(major) || major === "") {
        effective = `0.0.0${prerelease}`;
    } else if (minor === "" || isWildcard(minor.slice(1))) {
        effective = `${major}.0.0${prerelease}`;
    } else if (patch === "" || isWildcard(patch.slice(1))) {
        effective = `${major}${minor}.0${prerelease}`;
    }
    return isVersion(effective) ? undefined : `${JSON.stringify(text.trim())} is not a valid version constraint`;
}

/**
 * Why Masterminds/semver v3 refuses `range`, or undefined when Flux accepts it.
 * The message names the offending part.
 */
export function semverRangeProblem(range: string): string | undefined {
    if (range.length > MAX_LENGTH) {
        return `is longer than ${MAX_LENGTH} characters`;
    }
    const groups = rewriteHyphenRanges(range).split("||");
    if (groups.length > MAX_GROUPS) {
        return `has more than ${MAX_GROUPS} alternatives (||)`;
    }
    for (const group of groups) {
        if (!GROUP.test(group)) {
            return `${JSON.stringify(group.trim())} is not a version constraint (such as ">=1.0.0", "~1.2", "1.x" or "1.2 - 1.4")`;
        }
        const comparisons = [...group.matchAll(COMPARISON_IN_GROUP)].map((m) => m[0]);
        for (const c of comparisons.length > 0 ? comparisons : [group]) {
            const problem = comparisonProblem(c);
            if (problem) {
                return problem;
            }
        }
    }
    return undefined;
}
