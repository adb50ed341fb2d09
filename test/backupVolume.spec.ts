/**
 * src/host/scripts/backup-volume.sh, the backup-volume step: mounts the Cinder backup volume at
 * the backup directory, formatting it only when it is blank, under bash with fake blkid,
 * mkfs.ext4, mount, umount, mountpoint and resize2fs (test/fakes/backupVolume/); the device
 * link is made where Nova's virtio disk would appear.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderBackupVolumeScript } from "../src/backup/backupSteps";
import { assertFailure, assertSuccess, hasShellcheck, installFake, makeTempDir, RunResult, runScript, shellcheck, skipTest } from "./fakes/shell";

const VOLUME = "4f1c2e0b-7d3a-4c55-9e21-0a8b6c4d2f10";

class Box {
    readonly dir = makeTempDir("backup-volume");
    readonly bin = path.join(this.dir, "bin");
    readonly state = path.join(this.dir, "state");
    readonly log = path.join(this.dir, "log");
    readonly devices = path.join(this.dir, "by-id");
    readonly mountDir = path.join(this.dir, "backups");
    readonly fstab = path.join(this.dir, "fstab");

    constructor(opts: { device?: boolean } = {}) {
        for (const tool of ["blkid", "mkfs.ext4", "mount", "mountpoint", "umount", "resize2fs", "udevadm"]) {
            installFake(this.bin, tool, `backupVolume/${tool}.sh`);
        }
        fs.mkdirSync(this.state);
        fs.mkdirSync(this.devices);
        if (opts.device !== false) {
            fs.symlinkSync("/dev/null", path.join(this.devices, `virtio-${VOLUME.slice(0, 20)}`));
        }
        fs.writeFileSync(this.fstab, "LABEL=cloudimg-rootfs / ext4 discard,errors=remount-ro 0 1\n");
        fs.writeFileSync(this.log, "");
    }

    run(volumeId = VOLUME, size = 10): RunResult {
        const text = renderBackupVolumeScript(volumeId, size)
            .replace(/^readonly MOUNT_DIR=.*$/m, `readonly MOUNT_DIR='${this.mountDir}'`)
            .replace(/^readonly FSTAB=.*$/m, `readonly FSTAB='${this.fstab}'`)
            .replace(/^readonly DEVICE_DIR=.*$/m, `readonly DEVICE_DIR='${this.devices}'`)
            .replace(/^readonly WAIT_SECONDS=.*$/m, "readonly WAIT_SECONDS='2'");
        return runScript(text, { PATH: `${this.bin}:/usr/bin:/bin`, FAKE_LOG: this.log, FAKE_STATE: this.state });
    }

    calls(): string[] {
        return fs
            .readFileSync(this.log, "utf8")
            .split("\n")
            .filter((l) => l !== "" && !l.startsWith("blkid"));
    }
}

describe("src/host/scripts/backup-volume.sh (fake block device tools)", function () {
    this.timeout(60000);

    it("passes shellcheck as rendered, with its fakes", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of the backup-volume script", "shellcheck");
        }
        const dir = makeTempDir("backup-volume-sc");
        fs.writeFileSync(path.join(dir, "backup-volume.sh"), renderBackupVolumeScript(VOLUME, 10));
        const fakes = path.join(__dirname, "fakes", "backupVolume");
        shellcheck([path.join(dir, "backup-volume.sh"), ...fs.readdirSync(fakes).map((f) => path.join(fakes, f))]);
    });

    it("a blank volume: formats it (ext4), mounts it at the backup directory (0700), records it in fstab by UUID with nofail; a second run changes nothing", () => {
        const b = new Box();
        const r = b.run();
        assertSuccess(r);
        const device = path.join(b.devices, `virtio-${VOLUME.slice(0, 20)}`);
        assert.deepStrictEqual(b.calls(), [`mkfs.ext4 -q -L capi-backups ${device}`, `mount -t ext4 -- ${device} ${b.mountDir}`, `resize2fs ${device}`]);
        assert.strictEqual(fs.statSync(b.mountDir).mode & 0o777, 0o700);
        const fstab = fs.readFileSync(b.fstab, "utf8");
        assert.match(
            fstab,
            new RegExp(
                `^# capi-mgmt backup volume .*\\nUUID=0b6f1c2e-1111-4222-8333-944455556666 ${b.mountDir} ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2\\n$`,
                "m",
            ),
        );
        assert.ok(fstab.startsWith("LABEL=cloudimg-rootfs / ext4"), "the other entries stay");
        assert.match(r.stdout, new RegExp(`^backup-volume: volume ${VOLUME} \\(10 GiB\\) mounted at ${b.mountDir}\\n$`));
        fs.writeFileSync(b.log, "");
        assertSuccess(b.run());
        assert.deepStrictEqual(b.calls(), [`resize2fs ${device}`], "no format, no mount: only the (no-op) grow");
        assert.strictEqual(fs.readFileSync(b.fstab, "utf8"), fstab);
    });

    it("NEVER formats a volume holding data: ext4 is mounted as it is; another filesystem or a partition table is refused", () => {
        const kept = new Box();
        fs.writeFileSync(path.join(kept.state, "fstype"), "ext4");
        fs.writeFileSync(path.join(kept.state, "uuid"), "0b6f1c2e-1111-4222-8333-944455556666");
        assertSuccess(kept.run());
        assert.ok(!kept.calls().some((c) => c.startsWith("mkfs")), kept.calls().join("\n"));
        for (const [file, value, message] of [
            ["fstype", "xfs", /holds a xfs filesystem, not capi-mgmt's ext4; refusing to format or mount it/],
            ["pttype", "gpt", /has a partition table \(gpt\) and is not formatted by capi-mgmt; refusing to touch it/],
        ] as const) {
            const b = new Box();
            fs.writeFileSync(path.join(b.state, file), value);
            const r = b.run();
            assertFailure(r);
            assert.match(r.stderr, message);
            assert.deepStrictEqual(b.calls(), [], "nothing formatted or mounted");
        }
    });

    it("copies backups made on the root disk before the volume onto it, overwriting none", () => {
        const b = new Box();
        fs.mkdirSync(path.join(b.mountDir, "20260528T202640Z-scheduled", "objects"), { recursive: true });
        fs.writeFileSync(path.join(b.mountDir, "last-success"), "time=2026-05-28T20:26:40Z\n");
        assertSuccess(b.run());
        assert.ok(fs.existsSync(path.join(b.mountDir, "20260528T202640Z-scheduled", "objects")));
        assert.ok(!fs.existsSync(`${b.mountDir}.root-disk`));
    });

    it("waits for the device, bounded, and names what to look at when it never appears", () => {
        const b = new Box({ device: false });
        const r = b.run();
        assertFailure(r);
        assert.match(r.stderr, new RegExp(`volume ${VOLUME} is attached but no device .*virtio-${VOLUME.slice(0, 20)}.* appeared within 2s`));
    });

    it("without a volume (backup.volumeSize 0): unmounts one mounted before and removes its fstab entry; the backups stay on the root disk", () => {
        const b = new Box();
        assertSuccess(b.run());
        fs.writeFileSync(b.log, "");
        const r = b.run("", 0);
        assertSuccess(r);
        assert.deepStrictEqual(b.calls(), [`umount -- ${b.mountDir}`]);
        assert.strictEqual(fs.readFileSync(b.fstab, "utf8"), "LABEL=cloudimg-rootfs / ext4 discard,errors=remount-ro 0 1\n");
        assert.match(r.stdout, /^backup-volume: none; the backups stay on the root disk/);
    });

    it("refuses a volume ID or size that is not one, before rendering", () => {
        assert.throws(() => renderBackupVolumeScript("x'; reboot", 10), /must be a Cinder volume ID/);
        assert.throws(() => renderBackupVolumeScript(VOLUME, 0), /0 exactly without a volume/);
        assert.throws(() => renderBackupVolumeScript("", 5), /0 exactly without a volume/);
    });
});
