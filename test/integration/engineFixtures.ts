/**
 * Helpers the engine specs share (engine.integration.ts, openstackEngine.integration.ts): skipping
 * with a reason, throw-away deploy and age keys, the test-bed API server's kubeconfig and client
 * access, what the stand-in for Flux's release serves, and views of an operation's steps.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { FLUX_NAMESPACE } from "../../lib/contract";
import { nameOf, Operation } from "./engineBed";
import { KubeAccess } from "./engineStandIns";
import { ControlPlane } from "./harness/controlPlane";
import { Testbed } from "./harness/testbed";

export function skipWith(ctx: Mocha.Context, reason: string): never {
    console.log(`      skipped: ${reason}`);
    ctx.skip();
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

/** kubeconfig with the credentials embedded (as the kind step's kubeconfig output has them). */
export function embeddedKubeconfig(cp: ControlPlane): string {
    const b64 = (f: string) => fs.readFileSync(f).toString("base64");
    return toYaml({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "management", cluster: { server: cp.server, "certificate-authority-data": b64(cp.pki.caCert) } }],
        users: [{ name: "admin", user: { "client-certificate-data": b64(cp.pki.adminCert), "client-key-data": b64(cp.pki.adminKey) } }],
        contexts: [{ name: "management", context: { cluster: "management", user: "admin" } }],
        "current-context": "management",
    });
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

/** The steps of an operation other than `same`, as `op name` lines (for messages and checks). */
export function changes(op: Operation): string[] {
    return op.steps.filter((s) => s.op !== "same" && s.op !== "read").map((s) => `${s.op} ${s.type} ${nameOf(s.urn)}`);
}

/** Steps that changed something in the cluster or the state (not `same`, not reads). */
export function mutations(op: Operation) {
    return op.steps.filter((st) => !["same", "read", "refresh"].includes(st.op));
}
