/** Shared set-up of the offline render specs (render*.spec.ts). */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";

/** Every file under a directory, relative, sorted. */
export function listFiles(dir: string): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) {
                walk(p);
            } else {
                out.push(path.relative(dir, p));
            }
        }
    };
    walk(dir);
    return out.sort();
}

export function hasTool(name: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}

/**
 * Set-up of a "offline render" suite: its timeout and a temporary directory, removed after the
 * suite; returns the directory.
 */
export function renderSuiteTmp(suite: Mocha.Suite): string {
    suite.timeout(60000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-render-"));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    return tmp;
}
