/**
 * `systemd-analyze verify` of units as a step installs them, in a private root with the
 * machine's own systemd units (timers.target and the like) and the files the units name.
 */
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { makeTempDir } from "./shell";

/** True when this machine can run the check (systemd-analyze and systemd's units). */
export function canVerifyUnits(): boolean {
    return spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" }).status === 0 && fs.existsSync("/usr/lib/systemd/system/timers.target");
}

/** Verifies `units` (file name → text, in /etc/systemd/system) with `files` (absolute path → text, mode 0700) in place. */
export function verifyUnits(units: Record<string, string>, files: Record<string, string>): SpawnSyncReturns<string> {
    const root = makeTempDir("systemd-root");
    fs.cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
    for (const [file, text] of Object.entries(files)) {
        fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), text, { mode: 0o700 });
    }
    const dir = path.join(root, "etc/systemd/system");
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(units)) {
        fs.writeFileSync(path.join(dir, name), text);
    }
    return spawnSync("systemd-analyze", ["verify", `--root=${root}`, ...Object.keys(units).map((n) => `/etc/systemd/system/${n}`)], { encoding: "utf8" });
}
