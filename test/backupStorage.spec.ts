/**
 * The program's graph with capi-mgmt:backupObjectStorage (mock engine): the backups' Swift
 * container, their own application credential restricted by access rules, and the host step
 * delivering it to the server as a secret. What a later `up`, a config change or `destroy`
 * does with them is modelled (the names and rules below decide replacement; the engine is not run).
 */
import * as assert from "assert";
import { isSecretValue, RecordedResource, reveal } from "../render/engine";
import { backupCredentialName } from "../src/backup/backupStorage";
import { runStack, Run } from "./harness";

const CONTAINER = "openstack:objectstorage/container:Container";
const CREDENTIAL = "openstack:identity/applicationCredential:ApplicationCredential";
const COMMAND = "command:remote:Command";
const ON = JSON.stringify({ enabled: true });

const parentType = (run: Run, r: RecordedResource) => (r.parent ? run.byUrn(r.parent).type : undefined);

describe("backups to object storage in the program's graph (mock engine)", () => {
    let off: Run;
    let on: Run;
    before(async () => {
        off = await runStack("dev");
        on = await runStack("dev", { backupObjectStorage: ON });
    });

    it("creates nothing without the setting", () => {
        assert.deepStrictEqual(off.all(CONTAINER), []);
        assert.deepStrictEqual(
            off.all(CREDENTIAL).map((c) => c.name),
            ["capi", "cloud-provider"],
        );
        assert.deepStrictEqual(
            off.resources.filter((r) => r.type === "capi-mgmt:index:BackupStorage"),
            [],
        );
    });

    it("makes the stack's container (kept on destroy) and a member credential restricted to its objects, in the server's project", () => {
        const container = on.one(CONTAINER, "container");
        assert.strictEqual(container.inputs.name, "dev-backups", "<prefix>-backups (dev's prefix is the stack name)");
        assert.strictEqual(container.options.retainOnDelete, true, "the backups outlive the stack");
        assert.strictEqual(parentType(on, container), "capi-mgmt:index:BackupStorage");
        const cred = on.one(CREDENTIAL, "credential");
        assert.strictEqual(parentType(on, cred), "capi-mgmt:index:BackupStorage");
        assert.deepStrictEqual(cred.inputs.roles, ["member"]);
        assert.strictEqual(cred.inputs.unrestricted, false);
        const base = "/v1/AUTH_mock-project-id/dev-backups";
        assert.deepStrictEqual(cred.inputs.accessRules, [
            { service: "object-store", method: "GET", path: base },
            { service: "object-store", method: "GET", path: `${base}/*` },
            { service: "object-store", method: "PUT", path: `${base}/*` },
            { service: "object-store", method: "DELETE", path: `${base}/*` },
        ]);
        assert.ok(cred.options.additionalSecretOutputs.includes("secret"));
        assert.strictEqual(
            cred.options.provider,
            on.one(CREDENTIAL, "capi").options.provider,
            "the same provider as the other credentials' (no workloadProject)",
        );
    });

    it("delivers the credential to the server only as the host step's secret stdin, never in user-data", () => {
        const step = on.one(COMMAND, "backup-object-storage");
        assert.ok(isSecretValue(step.inputs.stdin), "the stdin is not a secret");
        // The configuration is the parameter CONFIG: its first line follows `readonly CONFIG='`.
        const stdin = String(reveal(step.inputs.stdin)).replace("readonly CONFIG='", "readonly CONFIG='\n");
        assert.match(stdin, /^CREDENTIAL_SECRET=mock-app-credential-secret-credential$/m);
        assert.match(stdin, /^CREDENTIAL_ID=credential-id$/m);
        assert.match(stdin, /^STORAGE_URL=https:\/\/keystone\.example\.test:8080\/v1\/AUTH_mock-project-id$/m);
        assert.match(stdin, /^AUTH_URL=https:\/\/keystone\.example\.test:5000\/v3$/m);
        assert.match(stdin, /^KEEP=14$/m);
        assert.match(stdin, /^MAX_AGE_DAYS=0$/m);
        assert.strictEqual(step.inputs.create, "sudo bash -s");
        const userData = String(reveal(on.one("openstack:compute/instance:Instance").inputs.userData));
        assert.ok(!userData.includes("mock-app-credential-secret-credential"));
        // After the server's tools and the container; re-run on a new server.
        assert.ok(on.dependsOn(step, on.one(CONTAINER, "container")));
        assert.ok(on.dependsOn(step, on.one(COMMAND, "install-tools")));
        assert.deepStrictEqual(
            reveal(step.inputs.triggers),
            reveal(on.one(COMMAND, "lb-cleanup").inputs.triggers),
            "the server's ID, as the other per-server installs",
        );
    });

    it("names the credential like the others: an expiry, owner or container change replaces it (modelled), keep/maxAgeDays do not", async () => {
        const base = { roles: ["member", "load-balancer_member"] };
        const name = backupCredentialName("dev", base, "dev-backups");
        assert.strictEqual(on.one(CREDENTIAL, "credential").inputs.name, name);
        assert.match(name, /^dev-backup-[0-9a-f]+$/);
        assert.notStrictEqual(backupCredentialName("dev", { ...base, expiresAt: "2099-01-01T00:00:00Z" }, "dev-backups"), name);
        assert.notStrictEqual(backupCredentialName("dev", { ...base, owner: "svc" }, "dev-backups"), name);
        assert.notStrictEqual(backupCredentialName("dev", base, "other"), name);
        assert.strictEqual(
            backupCredentialName("dev", { roles: ["load-balancer_member", "member"] }, "dev-backups"),
            name,
            "the other credentials' roles do not matter",
        );
        const retention = await runStack("dev", { backupObjectStorage: JSON.stringify({ enabled: true, keep: 3, maxAgeDays: 30, container: "mine" }) });
        const cred = retention.one(CREDENTIAL, "credential");
        assert.strictEqual(cred.inputs.name, backupCredentialName("dev", base, "mine"));
        assert.strictEqual(retention.one(CONTAINER, "container").inputs.name, "mine");
        const stdin = String(reveal(retention.one(COMMAND, "backup-object-storage").inputs.stdin)).replace("readonly CONFIG='", "readonly CONFIG='\n");
        assert.match(stdin, /^KEEP=3$/m);
        assert.match(stdin, /^MAX_AGE_DAYS=30$/m);
        assert.match(stdin, /^CONTAINER=mine$/m);
    });
});
