/**
 * `systemd-analyze verify` of the units the program installs on the server (the backup, the load
 * balancer cleanup, the certificate renewal, the metadata block), each in a fresh root that
 * holds systemd's own units and the files the units name.
 */
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { makeTempDir, skipTest } from "./fakes/shell";

/**
 * Skips the current test or suite (mocha's `this`, in `it` or `before`) unless systemd-analyze and
 * systemd's own units (`unit` among them, the target the tested units hang on) are on this machine.
 */
export function requireSystemdAnalyze(ctx: Mocha.Context, what: string, unit = "timers.target"): void {
    if (spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" }).status !== 0 || !fs.existsSync(path.join("/usr/lib/systemd/system", unit))) {
        skipTest(ctx, what, "systemd-analyze and systemd's units (package systemd)");
    }
}

/** A file in the verified root: its absolute path on the server, its content, its mode (default: 0666 less the umask). */
export interface ServerFile {
    path: string;
    content: string;
    mode?: number;
}

/** `systemd-analyze verify` of the units `verify` (absolute paths on the server) in a new root with systemd's units and `files`. */
export function systemdVerify(files: readonly ServerFile[], verify: readonly string[]): SpawnSyncReturns<string> {
    const root = makeTempDir("systemd-root");
    fs.cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
    for (const f of files) {
        fs.mkdirSync(path.join(root, path.dirname(f.path)), { recursive: true });
        fs.writeFileSync(path.join(root, f.path), f.content, f.mode === undefined ? {} : { mode: f.mode });
    }
    return spawnSync("systemd-analyze", ["verify", `--root=${root}`, ...verify], { encoding: "utf8" });
}

/**
 * {@link systemdVerify} of a timer and its service, installed as `/etc/systemd/system/<unit>.timer`
 * and `.service`, with the script the service runs at `script.path` (mode 0700).
 */
export function verifyTimerUnits(unit: string, service: string, timer: string, script: { path: string; content: string }): SpawnSyncReturns<string> {
    const units = "/etc/systemd/system";
    return systemdVerify(
        [
            { ...script, mode: 0o700 },
            { path: `${units}/${unit}.service`, content: service },
            { path: `${units}/${unit}.timer`, content: timer },
        ],
        [`${units}/${unit}.timer`, `${units}/${unit}.service`],
    );
}
