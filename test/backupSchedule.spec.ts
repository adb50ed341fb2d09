/**
 * The backup step of `pulumi up` (src/backup/managementBackup.ts): src/host/scripts/backup-install.sh
 * with a fake systemctl, its units (src/host/systemd/capi-mgmt-backup.*) through
 * `systemd-analyze verify` with the default and a configured schedule, and the step in the
 * program's graph (mock engine): what it installs, what a settings change does to it.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    BACKUP_SCRIPT_PATH,
    BACKUP_UNIT,
    DEFAULT_BACKUP_SCHEDULE,
    renderBackupInstallScript,
    renderBackupScript,
    renderBackupService,
    renderBackupTimer,
} from "../src/backup/backup";
import { parseTestConfig } from "./fixtures";
import { assertSuccess, hasShellcheck, installFake, makeTempDir, runScript, shellcheck, skipTest } from "./fakes/shell";
import { requireSystemdAnalyze, verifyTimerUnits } from "./systemdVerify";
import { runStack } from "./harness";

const COMMAND = "command:remote:Command";

/** Runs the install script with the server's paths moved into `dir`. */
function install(dir: string, schedule?: string) {
    installFake(path.join(dir, "bin"), "systemctl", "host/systemctl-active.sh");
    const text = renderBackupInstallScript({ namespace: "clusters", schedule })
        .replace(/^readonly SCRIPT_PATH=.*$/m, `readonly SCRIPT_PATH='${dir}/lib/backup.sh'`)
        .replace(/^readonly UNIT_DIR=.*$/m, `readonly UNIT_DIR='${dir}/units'`);
    return runScript(text, { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, FAKE_LOG: path.join(dir, "log") });
}

describe("src/host/scripts/backup-install.sh (the backup step)", () => {
    it("passes shellcheck as rendered", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of the rendered backup install script", "shellcheck");
        }
        const dir = makeTempDir("backup-install-sc");
        fs.writeFileSync(path.join(dir, "backup-install.sh"), renderBackupInstallScript({ namespace: "clusters", schedule: "daily" }));
        shellcheck([path.join(dir, "backup-install.sh")]);
    });

    it("installs the rendered script (root-only) and both units, reloads systemd and starts the timer; a second run changes nothing", () => {
        const dir = makeTempDir("backup-install");
        assertSuccess(install(dir));
        assert.strictEqual(fs.readFileSync(path.join(dir, "lib/backup.sh"), "utf8"), renderBackupScript({ namespace: "clusters" }));
        assert.strictEqual(fs.statSync(path.join(dir, "lib/backup.sh")).mode & 0o777, 0o700);
        assert.strictEqual(fs.readFileSync(path.join(dir, `units/${BACKUP_UNIT}.service`), "utf8"), renderBackupService());
        assert.strictEqual(fs.readFileSync(path.join(dir, `units/${BACKUP_UNIT}.timer`), "utf8"), renderBackupTimer());
        assert.match(fs.readFileSync(path.join(dir, "log"), "utf8"), /systemctl daemon-reload\nsystemctl enable --now capi-mgmt-backup\.timer\n/);
        fs.writeFileSync(path.join(dir, "log"), "");
        const again = install(dir);
        assertSuccess(again);
        assert.doesNotMatch(again.stdout, /wrote/);
        assert.doesNotMatch(fs.readFileSync(path.join(dir, "log"), "utf8"), /daemon-reload|restart/);
    });

    it("a new schedule rewrites only the timer, reloads systemd and restarts the timer (it takes effect at once)", () => {
        const dir = makeTempDir("backup-install-schedule");
        assertSuccess(install(dir));
        fs.writeFileSync(path.join(dir, "log"), "");
        const r = install(dir, "daily");
        assertSuccess(r);
        assert.deepStrictEqual(
            r.stdout.split("\n").filter((l) => l.includes("wrote")),
            [`backup-install: wrote ${dir}/units/${BACKUP_UNIT}.timer`],
        );
        assert.match(fs.readFileSync(path.join(dir, `units/${BACKUP_UNIT}.timer`), "utf8"), /^OnCalendar=daily$/m);
        assert.match(
            fs.readFileSync(path.join(dir, "log"), "utf8"),
            /systemctl daemon-reload\nsystemctl enable --now capi-mgmt-backup\.timer\nsystemctl restart capi-mgmt-backup\.timer\n/,
        );
    });

    it("refuses a schedule that is not one line of a calendar expression's characters, before rendering anything", () => {
        for (const bad of ["", "daily\nOnBootSec=1", "$(reboot)", " daily"]) {
            assert.throws(() => renderBackupTimer(bad), /schedule must be a systemd calendar expression on one line/, JSON.stringify(bad));
        }
        assert.throws(() => renderBackupScript({ namespace: "clusters", keep: 0 }), /keep must be a whole number from 1 to 1000/);
    });
});

describe("the backup's systemd units (src/host/systemd/capi-mgmt-backup.*)", () => {
    before(function () {
        requireSystemdAnalyze(this, "systemd-analyze verify of the backup's units");
    });

    const verify = (service: string, timer: string) =>
        verifyTimerUnits(BACKUP_UNIT, service, timer, { path: BACKUP_SCRIPT_PATH, content: renderBackupScript({ namespace: "clusters" }) });

    for (const schedule of [DEFAULT_BACKUP_SCHEDULE, "daily", "Mon..Fri *-*-* 02:30:00", "*-*-* 00/4:15:00"]) {
        it(`are valid with the schedule ${JSON.stringify(schedule)}: systemd-analyze verify finds nothing to say about them`, () => {
            const r = verify(renderBackupService(), renderBackupTimer(schedule));
            assert.strictEqual(r.status, 0, r.stderr);
            assert.doesNotMatch(r.stderr, new RegExp(BACKUP_UNIT), r.stderr);
        });
    }

    it("negative control: a schedule the pattern lets through but systemd does not parse is reported", () => {
        const r = verify(renderBackupService(), renderBackupTimer("every six hours"));
        assert.match(r.stderr, /OnCalendar|calendar/i);
    });

    it("skip the backup while the server has no management cluster yet (ConditionPathExists on the kubeconfig), and run the installed script", () => {
        const service = renderBackupService();
        assert.match(service, /^ConditionPathExists=\/var\/lib\/capi-mgmt\/kubeconfig$/m);
        assert.match(service, new RegExp(`^ExecStart=${BACKUP_SCRIPT_PATH} scheduled$`, "m"));
    });
});

describe("the backup step in the program (mock engine)", function () {
    this.timeout(300000);

    it("installs the script with backup.keep and the timer with backup.schedule; the defaults without them", async () => {
        const dev = await runStack("dev");
        const step = dev.one(COMMAND, "backup");
        const stdin = String(step.inputs.stdin);
        assert.strictEqual(stdin, renderBackupInstallScript({ namespace: "clusters", keep: 14, schedule: DEFAULT_BACKUP_SCHEDULE }));
        const set = await runStack("dev", { backup: JSON.stringify({ schedule: "daily", keep: 30 }) });
        assert.strictEqual(String(set.one(COMMAND, "backup").inputs.stdin), renderBackupInstallScript({ namespace: "clusters", keep: 30, schedule: "daily" }));
        assert.deepStrictEqual(parseTestConfig().backup, { schedule: DEFAULT_BACKUP_SCHEDULE, keep: 14, volumeSize: 0 });
    });
});
