/**
 * The end of a suite that starts API servers of its own: on a failed test, the report of each
 * server started (its processes' last log lines); after the suite, each server stopped in turn
 * and the suite's directory removed. Registered from the suite's describe, where it calls it.
 */
import * as fs from "fs";
import { ControlPlane } from "./controlPlane";

/** Registers the suite's afterEach and after hooks on `servers` (those not started are undefined) and `workDir`. */
export function serverHooks(servers: () => (ControlPlane | undefined)[], workDir: () => string | undefined): void {
    afterEach(function () {
        if (this.currentTest?.state === "failed") {
            for (const cp of servers()) {
                if (cp) {
                    console.log(cp.report(25));
                }
            }
        }
    });

    after(async function () {
        this.timeout(180_000);
        for (const cp of servers()) {
            await cp?.stop();
        }
        const dir = workDir();
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
}
