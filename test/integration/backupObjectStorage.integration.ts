/**
 * The backups' object storage against the OpenStack test bed's real Swift (Keystone access rules
 * enforced by the proxy's authtoken, service_type object-store): in a project of the test's own,
 * the container and the backup application credential exactly as src/backup/backupStorage.ts
 * makes them (name, role member, access rules from src/backup/objectStorage.ts), then the
 * rendered src/host/scripts/backup-upload.sh with the real curl: it uploads, its retention
 * deletes the oldest (by count and by age), `fetch` brings back the latest and a named backup
 * with the same bytes; the credential is refused on another container, the account, and
 * compute. Every connection of Swift's processes stays on loopback.
 *
 * Needs the bed running with Swift (`npm run testbed:openstack -- up` adds it to a running bed);
 * skips, saying why, otherwise. Never starts or stops the bed.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backupCredentialName, BACKUP_CREDENTIAL_ROLES } from "../../src/backup/backupStorage";
import {
    backupAccessRules,
    defaultBackupContainer,
    objectStoreEndpoint,
    renderBackupUploadScript,
    renderObjectStorageConfig,
} from "../../src/backup/objectStorage";
import { CatalogService, identityEndpoint } from "../../src/cluster/cloudCredentials";
import { DEFAULT_ROLES } from "../../src/config";
import { bedPids, bedRunning, clouds, loopback, Session, Socket, sockets } from "./openstackBed";
import { createOwnProject, OwnProject } from "./openstackProject";

describe("backups to the test bed's Swift with their own restricted credential (backup-upload.sh)", function () {
    this.timeout(600_000);
    let admin: Session;
    let own: OwnProject | undefined;
    let storageUrl = "";
    let authUrl = "";
    let container = "";
    const other = "not-the-backups";
    let cred: { id: string; secret: string } | undefined;
    let dir = "";
    const swiftSockets: Socket[] = [];

    const user = () => {
        assert.ok(own, "no project");
        return own.session;
    };
    /** A Swift call as the project's user (not the backup credential). */
    const swift = (method: string, p: string, token = user().token) => fetch(`${storageUrl}${p}`, { method, headers: { "X-Auth-Token": token } });
    const names = async (c: string) => (await (await swift("GET", `/${c}?format=plain`)).text()).split("\n").filter((l) => l);
    const sample = () => {
        const pids = bedPids();
        swiftSockets.push(...sockets().filter((s) => s.state !== "LISTEN" && s.pids.some((p) => pids.has(p)) && /:(8080|620[0-2])$/.test(s.local)));
    };

    const writeBackup = (name: string, text: string) => {
        const d = path.join(dir, "backups", name);
        fs.mkdirSync(path.join(d, "objects"), { recursive: true });
        fs.writeFileSync(path.join(d, "objects", "Cluster_clusters_alpha.yaml"), text);
        fs.writeFileSync(path.join(d, "backup.env"), `time=x\nepoch=1\nreason=scheduled\nnamespace=clusters\nname=${name}\n`);
        fs.rmSync(path.join(dir, "backups", "latest"), { force: true });
        fs.symlinkSync(name, path.join(dir, "backups", "latest"));
    };
    const config = (keep: number, maxAgeDays: number) => {
        assert.ok(cred);
        fs.writeFileSync(
            path.join(dir, "backup-object-storage.env"),
            renderObjectStorageConfig({ authUrl, credentialId: cred.id, credentialSecret: cred.secret, storageUrl, container, keep, maxAgeDays }),
            { mode: 0o600 },
        );
    };
    const upload = (...args: string[]) => {
        const script = path.join(dir, "backup-upload.sh");
        fs.writeFileSync(
            script,
            renderBackupUploadScript()
                .replace(/^readonly BACKUP_DIR=.*$/m, `readonly BACKUP_DIR='${dir}/backups'`)
                .replace(/^readonly CONFIG_FILE=.*$/m, `readonly CONFIG_FILE='${dir}/backup-object-storage.env'`),
        );
        const r = spawnSync("bash", [script, ...args], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
        sample();
        return r;
    };

    before(async function () {
        if (!bedRunning()) {
            console.warn("    SKIPPED: the OpenStack test bed is not running with every service (npm run testbed:openstack -- status)");
            this.skip();
        }
        const all = clouds();
        admin = await Session.login(all.admin);
        const catalog = (await admin.call<{ catalog: CatalogService[] }>("identity", "GET", "/auth/catalog")).catalog;
        if (!catalog.some((s) => s.type === "object-store")) {
            console.warn("    SKIPPED: the bed's catalog has no object-store (Swift): npm run testbed:openstack -- up adds it");
            this.skip();
        }
        own = await createOwnProject(admin, all["capi-mgmt"], "bk-it");
        const mine = (await own.session.call<{ catalog: CatalogService[] }>("identity", "GET", "/auth/catalog")).catalog;
        storageUrl = objectStoreEndpoint(mine, own.cloud.region_name);
        authUrl = identityEndpoint(mine, own.cloud.region_name);
        container = defaultBackupContainer(own.name);
        // The container as openstack.objectstorage.Container creates it (a PUT), and another one.
        for (const c of [container, other]) {
            assert.strictEqual((await swift("PUT", `/${c}`)).status, 201);
        }
        assert.strictEqual((await swift("PUT", `/${other}/precious`)).status, 201);
        // The credential as BackupStorage makes it.
        const made = (
            await own.session.call<{ application_credential: { id: string; secret: string } }>(
                "identity",
                "POST",
                `/users/${own.userId}/application_credentials`,
                {
                    application_credential: {
                        name: backupCredentialName(own.name, { roles: [...DEFAULT_ROLES] }, container),
                        description: `capi-mgmt ${own.name}: backups to the Swift container ${container} only`,
                        roles: BACKUP_CREDENTIAL_ROLES.map((name) => ({ name })),
                        unrestricted: false,
                        access_rules: backupAccessRules(storageUrl, container),
                    },
                },
            )
        ).application_credential;
        cred = { id: made.id, secret: made.secret };
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-bk-it-"));
    });

    after(async function () {
        if (own) {
            for (const c of [container, other]) {
                for (const n of await names(c).catch(() => [])) {
                    await swift("DELETE", `/${c}/${encodeURIComponent(n)}`);
                }
                await swift("DELETE", `/${c}`);
            }
            if (cred) {
                await own.session.call("identity", "DELETE", `/users/${own.userId}/application_credentials/${cred.id}`).catch(() => undefined);
            }
            await own.remove();
        }
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("uploads each backup and keeps the newest KEEP in the container", () => {
        config(2, 0);
        for (const name of ["20261201T000000Z-scheduled", "20261202T000000Z-manual", "20261203T000000Z-scheduled"]) {
            writeBackup(name, `bytes of ${name}\n`);
            const r = upload();
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.stdout, `backup-upload: ${storageUrl}/${container}/${name}.tar.gz\n`);
        }
        return names(container).then((n) => assert.deepStrictEqual(n, ["20261202T000000Z-manual.tar.gz", "20261203T000000Z-scheduled.tar.gz"]));
    });

    it("fetches the latest backup, and a named one, with the bytes that were backed up", () => {
        const latest = path.join(dir, "restored-latest");
        const r = upload("fetch", latest);
        assert.strictEqual(r.status, 0, r.stderr);
        for (const f of ["objects/Cluster_clusters_alpha.yaml", "backup.env"]) {
            assert.deepStrictEqual(fs.readFileSync(path.join(latest, f)), fs.readFileSync(path.join(dir, "backups", "20261203T000000Z-scheduled", f)), f);
        }
        const named = path.join(dir, "restored-named");
        assert.strictEqual(upload("fetch", "20261202T000000Z-manual.tar.gz", named).status, 0);
        assert.strictEqual(fs.readFileSync(path.join(named, "objects", "Cluster_clusters_alpha.yaml"), "utf8"), "bytes of 20261202T000000Z-manual\n");
    });

    it("deletes backups older than maxAgeDays, never the newest, and leaves other objects alone", async () => {
        assert.strictEqual((await swift("PUT", `/${container}/notes.txt`)).status, 201);
        config(10, 1);
        writeBackup("20261204T000000Z-scheduled", "newest\n");
        const r = upload();
        assert.strictEqual(r.status, 0, r.stderr);
        // All three backups are older than a day by the real clock: only the newest stays.
        assert.deepStrictEqual(await names(container), ["20261204T000000Z-scheduled.tar.gz", "notes.txt"]);
    });

    it("the credential's token is refused beyond its container's objects: another container, the account, compute", async () => {
        assert.ok(cred);
        const res = await fetch(`${authUrl}/auth/tokens`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ auth: { identity: { methods: ["application_credential"], application_credential: { id: cred.id, secret: cred.secret } } } }),
        });
        assert.strictEqual(res.status, 201);
        const token = res.headers.get("x-subject-token") as string;
        // Allowed: its own container.
        assert.strictEqual((await swift("GET", `/${container}`, token)).status, 200);
        const refused: [string, string][] = [
            ["GET", `/${other}`],
            ["GET", `/${other}/precious`],
            ["PUT", `/${other}/planted`],
            ["DELETE", `/${other}/precious`],
            ["GET", ""],
            ["PUT", `/${container}-2`],
            ["DELETE", `/${container}`],
        ];
        for (const [method, p] of refused) {
            const status = (await swift(method, p, token)).status;
            assert.ok(status === 401 || status === 403, `${method} ${p || "(account)"}: ${status}`);
        }
        const compute = user().catalog.get("compute") as string;
        assert.strictEqual((await fetch(`${compute}/servers`, { headers: { "X-Auth-Token": token } })).status, 401);
        // The user itself still sees the other container untouched.
        assert.deepStrictEqual(await names(other), ["precious"]);
        sample();
    });

    it("Swift's connections stay on loopback", function () {
        assert.ok(swiftSockets.length > 0, "no connection of Swift's servers was seen");
        assert.deepStrictEqual(
            swiftSockets.filter((s) => !loopback(s.local) || !loopback(s.peer)),
            [],
        );
    });
});
