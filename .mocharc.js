// Mocha settings. Every spec runs unless spec files are named on the command line:
// `npm run test:unit -- test/teardown.spec.ts` runs that file alone.
/* global process, module, require */
"use strict";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config file
const os = require("os");

const named = process.argv.slice(2).some((arg) => !arg.startsWith("-") && /\.ts$/.test(arg));

module.exports = {
    require: ["ts-node/register/transpile-only"],
    extension: ["ts"],
    spec: named ? [] : ["test/**/*.spec.ts"],
    // The whole suite runs its files in parallel, one worker per core (at least two).
    parallel: !named,
    jobs: Math.max(2, os.cpus().length),
    // Only a guard against a hung test: no test depends on the machine's speed.
    timeout: 600000,
};
