/**
 * The replacement map (render/settingsMap.ts: what `npm run plan` and docs/settings-lifecycle.md
 * show, modelled under the mock engine) next to what the real engine does: the map computed in a
 * child process (predictedMap.ts; the mock engine is process-global), the real preview's steps
 * reduced to one action per resource, and the problems a refused run lists.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Operation } from "./engineBed";

/** One row of the map, with the variant that made it (render/settingVariants.ts). */
export interface PredictedEffect {
    key: string;
    change: string;
    changes: { urn: string; type: string; name: string; action: string; keys?: string[] }[];
    refusals: string[];
    invalid?: string;
    /** The variant; a key whose value is null is removed (undefined in render/settingVariants.ts). */
    variant: { key: string; base?: Record<string, string | null>; variant: Record<string, string | null>; change: string };
}

/**
 * Settings changed in turn on the live stack by default: every resource type the program updates
 * or creates on a config change, every change the lifecycle gate refuses that the bed can offer
 * (see docs/testbed-openstack-engine.md for the rest). CAPI_MGMT_OS_ENGINE_MAP=all runs every
 * variant without a base of its own; a comma-separated list runs those keys.
 */
export const DEFAULT_MAP_KEYS = [
    // updated or created in place, or nothing at all
    "openstack:cloud",
    "dnsNameservers",
    "sshAllowedCidrs",
    "flavor",
    "image",
    "rootVolumeSize",
    "versions.nodeImage",
    "teardownTimeoutMinutes",
    "gitops.interval",
    "gitops.knownHosts",
    // refused by the lifecycle gate on a live stack
    "prefix",
    "availabilityZone",
    "externalNetwork",
    "nodeCidr",
    "existingNetwork",
    "workloadProject",
    "gitops",
    "gitops.workloadNamespace",
];

/**
 * Variant values the bed lacks, replaced by ones it has (the predicted effect does not depend on
 * the value): prod's flavor variant names SCS-16V-64, the bed's largest is SCS-8V-32 (prod's own).
 */
export const BED_VARIANT_OVERRIDES: Record<string, Record<string, Record<string, string>>> = {
    prod: { flavor: { flavor: "SCS-4V-16" } },
};

/** The keys to run (see {@link DEFAULT_MAP_KEYS}). */
export function selectedMapKeys(all: PredictedEffect[], env = process.env.CAPI_MGMT_OS_ENGINE_MAP): string[] {
    if (env === "all") {
        return all.filter((e) => !e.variant.base && !e.invalid).map((e) => e.key);
    }
    return env
        ? env
              .split(",")
              .map((k) => k.trim())
              .filter((k) => k)
        : DEFAULT_MAP_KEYS;
}

/**
 * The map of `stack` for `keys` (all when empty), as `npm run plan` computes it for a stack that
 * holds `held` besides its file (the secrets the test sets, by path: `gitops.sopsAgeKey`).
 */
export function predictedMap(stack: string, out: string, keys: string[] = [], held: Record<string, string> = {}): PredictedEffect[] {
    const projectDir = path.resolve(__dirname, "..", "..");
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "predictedMap.ts"), stack, out, ...keys], {
        cwd: projectDir,
        env: { ...process.env, CAPI_MGMT_MAP_HELD: JSON.stringify(held) },
        encoding: "utf8",
        timeout: 900_000,
        maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) {
        throw new Error(`computing the replacement map failed (${r.status}): ${r.stderr.slice(-3000)}`);
    }
    return JSON.parse(fs.readFileSync(out, "utf8")) as PredictedEffect[];
}

/**
 * A resource's identity across the real engine and the mock render: its own type and name (the
 * mock engine's URNs carry only the direct parent's type, the engine's the whole chain).
 */
export function resourceKey(urn: string): string {
    const parts = urn.split("::");
    return `${(parts[2] ?? "").split("$").pop() ?? ""}::${parts.slice(3).join("::")}`;
}

/**
 * Whether a resource is compared: not the stack, the StackReference's read, or a component (no
 * diff of its own), and not Flux's install.yaml (kubernetes:yaml/v2:ConfigFile, whose objects the
 * provider registers from the downloaded file: the mock engine never sees them).
 */
export function compared(urn: string): boolean {
    const chain = urn.split("::")[2] ?? "";
    const type = chain.split("$").pop() ?? "";
    return !type.startsWith("capi-mgmt:") && !type.startsWith("pulumi:pulumi:") && !chain.includes("kubernetes:yaml/v2:ConfigFile");
}

const ACTION_OF: Record<string, string> = {
    create: "create",
    update: "update",
    delete: "delete",
    replace: "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    "discard-replaced": "replace",
};

/** What an operation did to each compared resource other than leaving it: key → create, update, replace or delete. */
export function realEffect(op: Operation): Record<string, string> {
    const out: Record<string, string> = {};
    for (const s of op.steps) {
        const a = ACTION_OF[s.op];
        if (a && compared(s.urn)) {
            out[resourceKey(s.urn)] = out[resourceKey(s.urn)] === "replace" ? "replace" : a;
        }
    }
    return out;
}

/** The same, as the map predicts it. */
export function predictedEffect(e: PredictedEffect): Record<string, string> {
    const out: Record<string, string> = {};
    for (const c of e.changes) {
        if (c.action !== "same" && compared(c.urn)) {
            out[resourceKey(c.urn)] = c.action;
        }
    }
    return out;
}

/**
 * The problems a run refused by preflight lists (lines `- ...` after its heading). The heading
 * appears several times (the progress display cuts it to one line): the longest list is taken.
 */
export function refusalLines(text: string): string[] {
    // Without colour codes (ANSI, or the engine's `<{%fg 1%}>` markup in diagnostic events) and CRs.
    const output = text
        // eslint-disable-next-line no-control-regex
        .replace(/\x1b\[[0-9;]*m/g, "")
        .replace(/<\{%[^%]*%\}>/g, "")
        .replace(/\r/g, "");
    let best: string[] = [];
    for (let i = output.indexOf("preflight refused this run"); i >= 0; i = output.indexOf("preflight refused this run", i + 1)) {
        const lines: string[] = [];
        for (const line of output.slice(i).split("\n").slice(1)) {
            const m = /^\s*- (.*)$/.exec(line);
            if (!m) {
                break;
            }
            lines.push(m[1]);
        }
        if (lines.length > best.length) {
            best = lines;
        }
    }
    return best;
}

/** The setting (or quota) a problem names first: `capi-mgmt:prefix`, `OpenStack quota instances`. */
export function settingOf(problem: string): string {
    return (/^(capi-mgmt:[\w.[\]]+|openstack:\w+|OpenStack quota \w+)/.exec(problem) ?? ["", problem.slice(0, 40)])[1];
}

/** Steps other than `same` and the StackReference's `read` (the preflight's read of the stack's own outputs). */
export function notSame(op: Operation): string[] {
    return op.steps.filter((s) => s.op !== "same" && s.op !== "read").map((s) => `${s.op} ${s.urn.split("::").slice(-2).join("::")}`);
}

/** The engine's diagnostic messages of an operation, without colour markup. */
export function diagnostics(op: Operation): string[] {
    return op.events.flatMap((e) => (e.diagnosticEvent ? [e.diagnosticEvent.message.replace(/<\{%[^%]*%\}>/g, "").trim()] : []));
}

/** The end of a long error message (the engine's output first, its errors last). */
export function lastLines(message: string, n = 12): string {
    return message
        .split("\n")
        .filter((l) => l.trim() !== "" && !l.includes("error serializing property"))
        .slice(-n)
        .join(" | ");
}

/**
 * A variant of `versions` (an object) with what the test pins besides (the Flux stand-in's
 * digest, engineHelpers.ts standInFluxPin) kept unless the variant sets it: the map's variants
 * are the stack file's object, which has no such pin.
 */
export function withPinned(variant: string, pinned: string | undefined): string {
    if (!pinned) {
        return variant;
    }
    const v = JSON.parse(variant) as Record<string, unknown>;
    const p = JSON.parse(pinned) as Record<string, unknown>;
    return JSON.stringify({ ...p, ...v });
}
