/**
 * The fake Keystone and Swift bed of the backup-upload.sh specs (backupUpload*.spec.ts): a temporary
 * directory with the fake curl (test/fakes/backup/swift-curl.sh) and the fake clock's date, the
 * rendered script pointed at it, and readers of what it left behind.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderBackupUploadScript, renderObjectStorageConfig } from "../src/backup/objectStorage";
import { installFake, makeTempDir, RunResult } from "./fakes/shell";

export const SECRET = "s3cr3t-Backup_Secret";
export const CONFIG = {
    authUrl: "https://keystone.example:5000",
    credentialId: "backupcred0001",
    credentialSecret: SECRET,
    storageUrl: "https://swift.example/v1/AUTH_p1",
    container: "dev-backups",
    keep: 3,
    maxAgeDays: 0,
};

export interface Bed {
    dir: string;
    swift: string;
    log: string;
    backups: string;
}

export function bed(opts: { container?: string; secret?: string } = {}): Bed {
    const dir = makeTempDir("backup-upload");
    const swift = path.join(dir, "swift");
    fs.mkdirSync(path.join(swift, "objects"), { recursive: true });
    fs.writeFileSync(path.join(swift, "secret"), opts.secret ?? SECRET);
    fs.writeFileSync(path.join(swift, "container"), opts.container ?? CONFIG.container);
    const bin = path.join(dir, "bin");
    installFake(bin, "curl", "backup/swift-curl.sh");
    installFake(bin, "date", "backup/date.sh");
    fs.mkdirSync(path.join(dir, "state"));
    fs.writeFileSync(path.join(dir, "state", "now"), String(1_780_000_000)); // 2026-05-28T20:26:40Z
    return { dir, swift, log: path.join(dir, "log"), backups: path.join(dir, "backups") };
}

/** A backup directory of backup.sh named `name` with one object whose text is `text`. */
export function makeBackup(b: Bed, name: string, text = `cluster of ${name}`): string {
    const d = path.join(b.backups, name);
    fs.mkdirSync(path.join(d, "objects"), { recursive: true });
    fs.writeFileSync(path.join(d, "objects", "Cluster_clusters_alpha.yaml"), text);
    fs.writeFileSync(path.join(d, "backup.env"), `time=x\nepoch=1\nreason=scheduled\nnamespace=clusters\n`);
    fs.rmSync(path.join(b.backups, "latest"), { force: true });
    fs.symlinkSync(name, path.join(b.backups, "latest"));
    return d;
}

export function writeConfig(b: Bed, over: Partial<typeof CONFIG> = {}): string {
    const f = path.join(b.dir, "backup-object-storage.env");
    fs.writeFileSync(f, renderObjectStorageConfig({ ...CONFIG, ...over }), { mode: 0o600 });
    return f;
}

export function script(b: Bed): string {
    const f = path.join(b.dir, "backup-upload.sh");
    fs.writeFileSync(
        f,
        renderBackupUploadScript()
            .replace(/^readonly BACKUP_DIR=.*$/m, `readonly BACKUP_DIR='${b.backups}'`)
            .replace(/^readonly CONFIG_FILE=.*$/m, `readonly CONFIG_FILE='${path.join(b.dir, "backup-object-storage.env")}'`),
        { mode: 0o700 },
    );
    return f;
}

export function run(b: Bed, args: string[], env: Record<string, string> = {}): RunResult {
    const r = spawnSync("bash", [script(b), ...args], {
        encoding: "utf8",
        env: { PATH: `${path.join(b.dir, "bin")}:/usr/bin:/bin`, FAKE_SWIFT: b.swift, FAKE_LOG: b.log, FAKE_STATE: path.join(b.dir, "state"), ...env },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: 0 };
}

export const objects = (b: Bed) => fs.readdirSync(path.join(b.swift, "objects")).sort();

export function untar(file: string): Record<string, string> {
    const out = makeTempDir("untar");
    assert.strictEqual(spawnSync("tar", ["-xzf", file, "-C", out]).status, 0);
    const files: Record<string, string> = {};
    const walk = (d: string, rel: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const r = rel ? `${rel}/${e.name}` : e.name;
            if (e.isDirectory()) {
                walk(path.join(d, e.name), r);
            } else {
                files[r] = fs.readFileSync(path.join(d, e.name), "utf8");
            }
        }
    };
    walk(out, "");
    return files;
}
