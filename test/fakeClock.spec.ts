import "mocha";
import * as assert from "assert";
import { assertSuccess, makeTempDir } from "./fakes/shell";
import { FakeClock } from "./fakes/clock";

describe("test fakes: the virtual clock the script tests run on", () => {
    /** Runs `script` on a new clock; each line it prints is "<label> <virtual seconds since the start>". */
    function timeline(script: string): string[] {
        const clock = new FakeClock(makeTempDir("clock"));
        const r = clock.run(`start=$(date +%s)\nat() { echo "$1 $(($(date +%s) - start))"; }\n${script}`, { PATH: process.env.PATH! });
        assertSuccess(r);
        return r.stdout.trim().split("\n");
    }

    it("passes exactly the slept time, and parallel sleepers in lockstep", () => {
        const lines = timeline(`
sleep 5; at after-5
(sleep 3; at job-3) & (sleep 0.5; sleep 1.5; at job-2) & (sleep 1; at job-1) &
wait; at all-done`);
        assert.deepStrictEqual(lines, ["after-5 5", "job-1 6", "job-2 7", "job-3 8", "all-done 8"]);
    });

    it("stands still while any process of the script works, however long", () => {
        const lines = timeline(`
(sleep 1; at sleeper) &
for ((i = 0; i < 20000; i++)); do :; done
at busy-loop-done
wait; at end`);
        assert.deepStrictEqual(lines, ["busy-loop-done 0", "sleeper 1", "end 1"]);
    });
});
