/**
 * The engine tests that need modules the module proxy refuses (issue 13): each is listed with what
 * it needs, skipped while the test bed lacks it, and fails once it is there so it gets written.
 * The tests that run today: engine.integration.ts.
 */
import * as assert from "assert";
import { EngineBed } from "./engineBed";
import { skipWith } from "./engineHelpers";

describe("real Pulumi engine: what needs the modules the proxy refuses", function () {
    const bed = EngineBed.load();
    const cases: { test: string; needs: ("pulumi-resource-command" | "pulumi-resource-tls" | "pulumi-language-nodejs")[] }[] = [
        {
            test: "first up runs every host and cluster step over SSH with the host key pinned; a different host key fails before any command",
            needs: ["pulumi-resource-command"],
        },
        { test: "second up runs no command again", needs: ["pulumi-resource-command"] },
        { test: "a tool version bump updates only the tools step and its dependents, in place", needs: ["pulumi-resource-command"] },
        { test: "a re-run of wait-ready after every step ran passes", needs: ["pulumi-resource-command"] },
        { test: "destroy runs the workload teardown over SSH before anything it needs is gone", needs: ["pulumi-resource-command"] },
        { test: "no secret in the sshd log", needs: ["pulumi-resource-command"] },
        { test: "a generated deploy key and SSH keys (tls.PrivateKey)", needs: ["pulumi-resource-tls"] },
        { test: "the program from Pulumi.yaml (index.ts) under the Node.js language host", needs: ["pulumi-language-nodejs"] },
    ];
    for (const c of cases) {
        it(c.test, function () {
            const reason = typeof bed === "string" ? bed : bed.missing(c.needs);
            if (reason) {
                skipWith(this, reason);
            }
            assert.fail(`${c.needs.join(", ")} is available now: write this test (issue 13)`);
        });
    }
});
