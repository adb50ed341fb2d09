/**
 * src/host/scripts/lb-cleanup.sh under bash, with a fake kubectl (files) and a fake OpenStack API (a
 * real HTTP server on loopback, test/fakes/openstackApi.ts) reached with the real curl;
 * src/host/scripts/lb-cleanup-install.sh with a fake systemctl; the units with systemd-analyze verify.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    LB_CLEANUP_SCRIPT_PATH,
    LB_CLEANUP_UNIT,
    renderLbCleanupInstallScript,
    renderLbCleanupScript,
    renderLbCleanupService,
    renderLbCleanupTimer,
} from "../src/host/lbCleanupScript";
import { assertSuccess, installFake, makeTempDir, RunResult, runScript } from "./fakes/shell";
import { requireSystemdAnalyze, verifyTimerUnits } from "./systemdVerify";

describe("src/host/scripts/lb-cleanup-install.sh", () => {
    function install(dir: string): RunResult {
        installFake(path.join(dir, "bin"), "systemctl", "host/systemctl-active.sh");
        const text = renderLbCleanupInstallScript({ namespace: "clusters" })
            .replace(/^readonly SCRIPT_PATH=.*$/m, `readonly SCRIPT_PATH='${dir}/lib/lb-cleanup.sh'`)
            .replace(/^readonly UNIT_DIR=.*$/m, `readonly UNIT_DIR='${dir}/units'`);
        return runScript(text, { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, FAKE_LOG: path.join(dir, "log") });
    }

    it("installs the rendered script (root-only) and both units, reloads systemd and starts the timer; a second run changes nothing", () => {
        const dir = makeTempDir("lb-cleanup-install");
        assertSuccess(install(dir));
        const script = fs.readFileSync(path.join(dir, "lib/lb-cleanup.sh"), "utf8");
        assert.strictEqual(script, renderLbCleanupScript({ namespace: "clusters" }));
        assert.strictEqual(fs.statSync(path.join(dir, "lib/lb-cleanup.sh")).mode & 0o777, 0o700);
        assert.strictEqual(fs.readFileSync(path.join(dir, `units/${LB_CLEANUP_UNIT}.timer`), "utf8"), renderLbCleanupTimer());
        assert.strictEqual(fs.readFileSync(path.join(dir, `units/${LB_CLEANUP_UNIT}.service`), "utf8"), renderLbCleanupService());
        const log1 = fs.readFileSync(path.join(dir, "log"), "utf8");
        assert.match(log1, /systemctl daemon-reload\nsystemctl enable --now capi-mgmt-lb-cleanup\.timer\n/);
        fs.writeFileSync(path.join(dir, "log"), "");
        const r2 = install(dir);
        assertSuccess(r2);
        assert.doesNotMatch(r2.stdout, /wrote/);
        assert.doesNotMatch(fs.readFileSync(path.join(dir, "log"), "utf8"), /daemon-reload/);
    });
});

describe("the cleanup's systemd units", () => {
    before(function () {
        requireSystemdAnalyze(this, "systemd-analyze verify of the cleanup's units");
    });

    const verify = (service: string, timer: string) =>
        verifyTimerUnits(LB_CLEANUP_UNIT, service, timer, { path: LB_CLEANUP_SCRIPT_PATH, content: renderLbCleanupScript({ namespace: "clusters" }) });

    it("are valid: systemd-analyze verify finds nothing to say about them", () => {
        const r = verify(renderLbCleanupService(), renderLbCleanupTimer());
        assert.strictEqual(r.status, 0, r.stderr);
        assert.doesNotMatch(r.stderr, new RegExp(LB_CLEANUP_UNIT), r.stderr);
    });

    it("would catch a broken unit (the check can fail)", () => {
        assert.match(verify(`${renderLbCleanupService()}Nicee=10\n`, renderLbCleanupTimer()).stderr, /Unknown key 'Nicee'/);
        assert.notStrictEqual(verify(renderLbCleanupService(), renderLbCleanupTimer().replace("OnBootSec=2min", "OnBootSec=forever")).stderr, "");
    });
});
