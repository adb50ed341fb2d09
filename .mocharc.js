// Mocha settings. Every spec runs unless spec files are named on the command line:
// `npm run test:unit -- test/teardown.spec.ts` runs that file alone.
/* global process, module */
"use strict";

const named = process.argv.slice(2).some((arg) => !arg.startsWith("-") && /\.ts$/.test(arg));

module.exports = {
    require: ["ts-node/register/transpile-only"],
    extension: ["ts"],
    spec: named ? [] : ["test/**/*.spec.ts"],
    // Only a guard against a hung test: no test depends on the machine's speed.
    timeout: 600000,
};
