/**
 * What the engine specs (engine.integration.ts, engineFluxInstall.integration.ts) share: whether
 * the engine can run here, the stack's config as the engine hands it to the program, the test-bed
 * API server's credentials, the stand-in for Flux's release manifest, and step filters.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { parseStackConfig, StackConfig } from "../../src/config";
import { FLUX_NAMESPACE } from "../../src/shared/contract";
import { DEFAULT_VERSIONS } from "../../src/versions/versions";
import { readStackConfigFile } from "../../render/render";
import { EngineBed, EngineStack, minimalTestbedComponents, nameOf, Operation } from "./engineBed";
import { KubeAccess } from "./engineStandIns";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { embeddedKubeconfig as namedKubeconfig } from "./harness/simulated";
import { Testbed } from "./harness/testbed";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** Bound of one engine operation on a loaded 2-core machine. */
export const OPERATION_TIMEOUT_MS = 600_000;

/** Why the engine tests cannot run here, or undefined. */
export function engineUnavailable(): string | undefined {
    const bed = EngineBed.load();
    if (typeof bed === "string") {
        return bed;
    }
    const engine = bed.missing(["pulumi", "pulumi-resource-kubernetes"]);
    if (engine) {
        return engine;
    }
    let testbed: Testbed;
    try {
        testbed = Testbed.load();
    } catch (err) {
        return (err as Error).message;
    }
    return testbed.missing(minimalTestbedComponents());
}

export function skipWith(ctx: Mocha.Context, reason: string): never {
    console.log(`      skipped: ${reason}`);
    ctx.skip();
}

/**
 * Hooks of a suite whose tests build on each other: each test is skipped when the engine is
 * unavailable (`unavailable()`, read when the test starts) and, after a failure, with the
 * failed test's title, as the rest would only repeat it.
 */
export function skipAfterFailure(unavailable: () => string | undefined): void {
    let brokenBy: string | undefined;
    beforeEach(function () {
        const reason = unavailable();
        if (reason) {
            skipWith(this, reason);
        }
        if (brokenBy) {
            skipWith(this, `an earlier step failed: ${brokenBy}`);
        }
    });
    afterEach(function () {
        if (this.currentTest?.state === "failed" && !brokenBy) {
            brokenBy = this.currentTest.title;
        }
    });
}

/** A fresh OpenSSH ed25519 key (the deploy key the stacks give, so no tls resource is needed). */
export function newDeployKey(dir: string): string {
    const file = path.join(dir, `deploy-${Date.now()}`);
    const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "engine-test", "-f", file], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    return fs.readFileSync(file, "utf8");
}

/** A syntactically valid age identity (random; nothing is decrypted in these tests). */
export function newAgeKey(): string {
    const bech32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
    let k = "AGE-SECRET-KEY-1";
    for (let i = 0; i < 58; i++) {
        k += bech32[Math.floor(Math.random() * bech32.length)];
    }
    return k;
}

/** The stack's config as the engine would hand it to the program, with the secrets set. */
export function stackConfig(stack: string, gitops: Record<string, unknown> | undefined, extra: Record<string, string> = {}): StackConfig {
    const file = readStackConfigFile(PROJECT_DIR, stack);
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(file.config)) {
        if (k.startsWith("capi-mgmt:")) {
            raw[k.slice("capi-mgmt:".length)] = v;
        }
    }
    if (gitops === undefined) {
        delete raw.gitops;
    } else {
        raw.gitops = JSON.stringify(gitops);
    }
    Object.assign(raw, extra);
    return parseStackConfig(raw, { stack, now: new Date(), openstack: { cloud: file.config["openstack:cloud"], region: file.config["openstack:region"] } });
}

/** kubeconfig with the credentials embedded (as the kind step's kubeconfig output has them). */
export function embeddedKubeconfig(cp: ControlPlane): string {
    return namedKubeconfig(cp, "management");
}

/** The program's kubeconfig of the test-bed API server `cp`, and its Keystone URL (example.test: nothing answers it). */
export function testbedApi(cp: ControlPlane): { kubeconfig: string; authUrl: string } {
    return { kubeconfig: embeddedKubeconfig(cp), authUrl: "https://keystone.example.test:5000/v3" };
}

export function kubeAccess(cp: ControlPlane): KubeAccess {
    return { server: cp.server, ca: fs.readFileSync(cp.pki.caCert), cert: fs.readFileSync(cp.pki.adminCert), key: fs.readFileSync(cp.pki.adminKey) };
}

/**
 * What the stand-in for Flux's release serves as install.yaml: Flux's Namespace and the source-
 * and kustomize-controller CRDs of the pinned modules (the controllers themselves cannot run
 * without a container runtime; see engineStandIns.ts).
 */
export function standInFluxInstall(testbed: Testbed): string {
    const parts = [
        toYaml({ apiVersion: "v1", kind: "Namespace", metadata: { name: FLUX_NAMESPACE, labels: { "app.kubernetes.io/instance": FLUX_NAMESPACE } } }),
        fs.readFileSync(testbed.path("flux-source-controller-manifests"), "utf8"),
        fs.readFileSync(testbed.path("flux-kustomize-controller-manifests"), "utf8"),
    ];
    return parts.map((p) => p.replace(/^---\n/, "").trimEnd()).join("\n---\n") + "\n";
}

/** Decoded data of a Secret in the API server. */
export function secretData(obj: KubeObject | undefined): Record<string, string> {
    assert.ok(obj, "Secret missing");
    const data = (obj as unknown as { data?: Record<string, string> }).data ?? {};
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
}

/** The steps of an operation other than `same`, as `op name` lines (for messages and checks). */
export function changes(op: Operation): string[] {
    return op.steps.filter((s) => s.op !== "same" && s.op !== "read").map((s) => `${s.op} ${s.type} ${nameOf(s.urn)}`);
}

/**
 * The unchanged stack: a preview that plans nothing but `same` and `read` steps, then an up that
 * takes no other step (asserted in that order).
 */
export async function assertNothingChanges(stack: EngineStack): Promise<void> {
    const preview = await stack.preview();
    const summary = preview.result.changeSummary;
    assert.deepStrictEqual(
        Object.keys(summary).filter((k) => k !== "same" && k !== "read"),
        [],
        `preview: ${JSON.stringify(summary)}; ${changes(preview).join("; ")}`,
    );
    const up = await stack.up();
    assert.deepStrictEqual(changes(up), []);
}

/** Steps that changed something in the cluster or the state (not `same`, not reads). */
export function mutations(op: Operation) {
    return op.steps.filter((st) => !["same", "read", "refresh"].includes(st.op));
}

export const REPLACING_OPS = ["replace", "create-replacement", "delete-replaced", "discard-replaced"];

/** SHA-256 (hex) of a text. */
export function sha256Hex(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

/**
 * The stack config's `versions` entry that pins Flux's install.yaml to the stand-in's content
 * (Flux's own SHA-256 stays the default's: the stand-in is not Flux's release file), as a user
 * pins a manifest: `capi-mgmt:versions.flux: {version, sha256, manifestSha256}`.
 */
export function standInFluxPin(manifest: string): Record<string, string> {
    return { versions: JSON.stringify({ flux: { ...DEFAULT_VERSIONS.flux, manifestSha256: sha256Hex(manifest) } }) };
}
