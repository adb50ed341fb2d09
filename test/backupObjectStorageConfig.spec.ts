/**
 * The object storage settings of the backup copy: the application credential's access rules, the
 * Swift endpoint and the configuration file and install script written on the host.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import {
    backupAccessRules,
    BACKUP_OBJECT_STORAGE_CONFIG,
    BACKUP_UPLOAD_SCRIPT_PATH,
    objectStoreEndpoint,
    renderObjectStorageInstallScript,
} from "../src/backup/objectStorage";
import { makeTempDir } from "./fakes/shell";
import { CONFIG, SECRET } from "./backupUploadBed";

describe("object storage: access rules, endpoint, configuration", () => {
    it("allows listing the container and reading, writing, deleting its objects, nothing else", () => {
        assert.deepStrictEqual(backupAccessRules("https://swift.example:8080/v1/AUTH_p1", "dev-backups"), [
            { service: "object-store", method: "GET", path: "/v1/AUTH_p1/dev-backups" },
            { service: "object-store", method: "GET", path: "/v1/AUTH_p1/dev-backups/*" },
            { service: "object-store", method: "PUT", path: "/v1/AUTH_p1/dev-backups/*" },
            { service: "object-store", method: "DELETE", path: "/v1/AUTH_p1/dev-backups/*" },
        ]);
        assert.throws(
            () => backupAccessRules("https://swift.example/v1/AUTH_p1", "a/b"),
            /backupObjectStorage\.container: "a\/b" is not a Swift container name/,
        );
    });

    it("finds the public object-store endpoint of the region, and says so when there is none", () => {
        const catalog = [
            {
                type: "object-store",
                endpoints: [
                    { interface: "internal", region: "r1", url: "http://internal/v1/AUTH_p" },
                    { interface: "public", region: "r1", url: "https://r1.example/v1/AUTH_p/" },
                    { interface: "public", region: "r2", url: "https://r2.example/v1/AUTH_p" },
                ],
            },
        ];
        assert.strictEqual(objectStoreEndpoint(catalog, "r2"), "https://r2.example/v1/AUTH_p");
        assert.strictEqual(objectStoreEndpoint(catalog), "https://r1.example/v1/AUTH_p");
        assert.throws(() => objectStoreEndpoint([]), /backupObjectStorage\.enabled: the service catalog has no public object-store \(Swift\) endpoint/);
    });

    it("installs the script and the root-only configuration, idempotently, printing no secret", function () {
        const dir = makeTempDir("backup-os-install");
        const text = renderObjectStorageInstallScript(CONFIG)
            .replace(`readonly SCRIPT_PATH='${BACKUP_UPLOAD_SCRIPT_PATH}'`, `readonly SCRIPT_PATH='${dir}/lib/backup-upload.sh'`)
            .replace(`readonly CONFIG_PATH='${BACKUP_OBJECT_STORAGE_CONFIG}'`, `readonly CONFIG_PATH='${dir}/state/backup-object-storage.env'`);
        const first = spawnSync("bash", ["-s"], { input: text, encoding: "utf8" });
        assert.strictEqual(first.status, 0, first.stderr);
        assert.ok(!`${first.stdout}${first.stderr}`.includes(SECRET));
        assert.strictEqual(fs.statSync(`${dir}/state/backup-object-storage.env`).mode & 0o777, 0o600);
        assert.strictEqual(fs.statSync(`${dir}/lib/backup-upload.sh`).mode & 0o777, 0o700);
        assert.match(fs.readFileSync(`${dir}/state/backup-object-storage.env`, "utf8"), new RegExp(`^CREDENTIAL_SECRET=${SECRET}$`, "m"));
        const second = spawnSync("bash", ["-s"], { input: text, encoding: "utf8" });
        assert.strictEqual(second.status, 0);
        assert.strictEqual(second.stdout, "", "a second run rewrote a file");
    });
});
