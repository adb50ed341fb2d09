/**
 * testbed/openstack/openstack.sh without an OpenStack: the script passes shellcheck, refuses
 * what it cannot do with a clear message, and `down`/`status` act on exactly the processes named
 * by its pid files (the OpenStack itself is exercised by test/integration/openstack.integration.ts).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { hasShellcheck, makeTempDir, shellcheck, skipTest } from "./fakes/shell";

const dir = path.join(__dirname, "..", "testbed", "openstack");
const script = path.join(dir, "openstack.sh");

function run(state: string, ...args: string[]) {
    return spawnSync("bash", [script, ...args], { encoding: "utf8", env: { ...process.env, CAPI_MGMT_OPENSTACK_STATE: state }, timeout: 120_000 });
}

/**
 * A `sleep` in its own session (its pid is its process group), as the script starts services,
 * and not a child of this process (the shell that starts it exits), so it leaves no zombie.
 */
function sessionSleep(): number {
    const r = spawnSync("bash", ["-c", "setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $!"], { encoding: "utf8" });
    return Number(r.stdout.trim());
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

describe("testbed/openstack/openstack.sh", function () {
    it("passes shellcheck, with every library it sources (lib/*.sh)", function () {
        if (!hasShellcheck()) {
            skipTest(this, "shellcheck of testbed/openstack/openstack.sh", "shellcheck");
        }
        const libs = fs.readdirSync(path.join(dir, "lib")).filter((f) => f.endsWith(".sh"));
        // The script sources each of them by name: a library it does not name is dead code.
        const sourced = /for lib in ([a-z -]+); do/.exec(fs.readFileSync(script, "utf8"))?.[1].split(" ") ?? [];
        assert.deepStrictEqual([...sourced].sort(), libs.map((f) => f.replace(/\.sh$/, "")).sort());
        shellcheck([script, ...libs.map((f) => path.join(dir, "lib", f))]);
    });

    it("keeps every file under the house limit of 400 lines", function () {
        const files = [script, ...fs.readdirSync(path.join(dir, "lib")).map((f) => path.join(dir, "lib", f))];
        for (const f of files) {
            const lines = fs.readFileSync(f, "utf8").split("\n").length;
            assert.ok(lines <= 400, `${f}: ${lines} lines`);
        }
    });

    it("refuses an unknown command with its usage, and env before up naming the missing file", function () {
        const state = makeTempDir("os-state");
        const bad = run(state, "start");
        assert.strictEqual(bad.status, 2);
        assert.match(bad.stderr, /usage: .*install\|up\|down\|env\|status/);
        const env = run(state, "env");
        assert.strictEqual(env.status, 1);
        assert.match(env.stderr, new RegExp(`no ${state}/clouds\\.yaml: run up first`));
    });

    it("down stops exactly the process groups its pid files name, and status reports each service", async function () {
        const state = makeTempDir("os-state");
        fs.mkdirSync(path.join(state, "run"), { recursive: true });
        const ours = sessionSleep();
        const stranger = sessionSleep();
        try {
            await new Promise((r) => setTimeout(r, 200));
            fs.writeFileSync(path.join(state, "run", "keystone.pid"), `${ours}\n`);
            fs.writeFileSync(path.join(state, "run", "glance-api.pid"), "999999999\n"); // a process long gone
            const status = run(state, "status");
            assert.strictEqual(status.status, 1, "status fails while a service is stopped");
            assert.match(status.stdout, /^keystone running$/m);
            assert.match(status.stdout, /^glance-api stopped$/m);
            assert.match(status.stdout, /^mariadb stopped$/m);

            const down = run(state, "down");
            assert.strictEqual(down.status, 0, down.stderr);
            for (let i = 0; i < 50 && alive(ours); i++) {
                await new Promise((r) => setTimeout(r, 100));
            }
            assert.strictEqual(alive(ours), false, "the process named by keystone.pid still runs");
            assert.strictEqual(alive(stranger), true, "down stopped a process it did not start");
            assert.deepStrictEqual(
                fs.readdirSync(path.join(state, "run")).filter((f) => f.endsWith(".pid")),
                [],
            );
        } finally {
            for (const pid of [ours, stranger]) {
                try {
                    process.kill(-pid, "SIGKILL");
                } catch {
                    // already gone
                }
            }
        }
    });

    it("its Python files (test drivers, bootstrap) compile", function () {
        const py = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        const files = [
            path.join(dir, "bootstrap.py"),
            ...fs.readdirSync(path.join(dir, "drivers", "capi_testbed_drivers")).map((f) => path.join(dir, "drivers", "capi_testbed_drivers", f)),
        ].filter((f) => f.endsWith(".py"));
        const out = makeTempDir("os-pyc");
        const r = spawnSync(
            py,
            ["-c", "import py_compile, sys\nfor f in sys.argv[2:]: py_compile.compile(f, cfile=sys.argv[1] + '/x.pyc', doraise=True)", out, ...files],
            { encoding: "utf8" },
        );
        assert.strictEqual(r.status, 0, r.stderr);
        assert.ok(files.length >= 4);
    });
});
