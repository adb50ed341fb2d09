// The fake kubectl's server (started by test/fakes/kubectlServer.ts, one per test process): answers
// the calls of the bash client test/fakes/kubectl-client.sh over a loopback TCP connection, each
// with kubectl.cjs; writes its port to the file named by its first argument; ends with its parent.
"use strict";
/* global require, process, Buffer, setInterval */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS program run by node
const fs = require("fs");
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS program run by node
const net = require("net");
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS program run by node
const { kubectl, Exit, Hang } = require("./kubectl.cjs");

// A request: NUL-terminated fields, the first their count; then FAKE_STATE, FAKE_KUBECTL_LOG,
// FAKE_CLOCK_DIR, the client's pid and kubectl's arguments. The answer: the exit status,
// stdout and stderr, each NUL-terminated.
const parent = process.ppid;
const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on("error", () => {});
    sock.on("data", (data) => {
        buf = Buffer.concat([buf, data]);
        const fields = buf.toString("utf8").split("\0");
        const count = Number(fields[0]);
        if (fields.length < count + 2) return;
        const [state, log, clock, pid, ...args] = fields.slice(1, count + 1);
        const out = { out: "", err: "" };
        let code;
        try {
            kubectl(args, state, log, clock, Number(pid), out);
            code = 70;
        } catch (e) {
            if (e instanceof Hang) return;
            if (e instanceof Exit) code = e.code;
            else {
                out.err += "fake kubectl crashed: " + (e && e.stack) + "\n";
                code = 70;
            }
        }
        sock.end(code + "\0" + out.out + "\0" + out.err + "\0");
    });
});
server.listen(0, "127.0.0.1", () => {
    const portFile = process.argv[2];
    fs.writeFileSync(portFile + ".tmp", String(server.address().port));
    fs.renameSync(portFile + ".tmp", portFile);
});
// Ends with the test process.
setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
}, 500);
