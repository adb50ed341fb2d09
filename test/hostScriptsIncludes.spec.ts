import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderInstallToolsScript } from "../src/host/bootstrapScripts";
import { expandIncludes, HOST_INCLUDES_DIR, HOST_SCRIPT_INCLUDES, HOST_SCRIPTS_DIR, renderHostScript, renderHostScriptText } from "../src/host/hostScripts";
import { makeTempDir } from "./fakes/shell";
import { sampleInstallParams } from "./hostScriptParams";

describe("host scripts: includes", () => {
    const SCRIPT = "#!/usr/bin/env bash\nset -euo pipefail\n# capi-mgmt:include proxy.sh\nuse_proxy\n";
    /** An include file as src/host/scripts/lib/ has them: the shellcheck line, a header comment, the body. */
    const LIB = '# shellcheck shell=bash\n# What this file is for.\n\nhello() {\n    echo "$GREETING"\n}\n';
    const readLib =
        (text: string) =>
        (name: string): string => {
            assert.strictEqual(name, "proxy.sh");
            return text;
        };

    it("replaces the include line by the file's body, without its header", () => {
        const out = expandIncludes("t.sh", SCRIPT, readLib(LIB));
        assert.strictEqual(out, '#!/usr/bin/env bash\nset -euo pipefail\nhello() {\n    echo "$GREETING"\n}\nuse_proxy\n');
    });

    it("puts src/host/scripts/lib/proxy.sh in the five scripts that include it, and no copy is left in src/host/scripts/", () => {
        const body = fs.readFileSync(path.join(HOST_INCLUDES_DIR, "proxy.sh"), "utf8");
        assert.ok(HOST_SCRIPT_INCLUDES.includes("proxy.sh"));
        const including = fs
            .readdirSync(HOST_SCRIPTS_DIR)
            .filter((f) => f.endsWith(".sh") && fs.readFileSync(path.join(HOST_SCRIPTS_DIR, f), "utf8").includes("\n# capi-mgmt:include proxy.sh\n"));
        assert.deepStrictEqual(including.sort(), ["capi-providers.sh", "install-tools.sh", "kind-cluster.sh", "lb-cleanup.sh", "orc.sh"]);
        for (const f of fs.readdirSync(HOST_SCRIPTS_DIR).filter((f) => f.endsWith(".sh"))) {
            assert.doesNotMatch(
                fs.readFileSync(path.join(HOST_SCRIPTS_DIR, f), "utf8"),
                /^(use_proxy|proxy_env_args)\(\)/m,
                `src/host/scripts/${f} defines a proxy helper again`,
            );
        }
        const rendered = renderInstallToolsScript(sampleInstallParams({ proxy: { https: "http://p.example:3128", noProxy: "localhost" } }));
        assert.ok(rendered.includes(body.slice(body.indexOf("\n\n") + 2)), "the rendered script has the body of src/host/scripts/lib/proxy.sh");
        assert.doesNotMatch(rendered, /capi-mgmt:include|shellcheck shell=bash/);
        assert.strictEqual(rendered.match(/^use_proxy\(\) \{$/gm)?.length, 1);
    });

    it("refuses an unknown include, naming the script and the allowed ones", () => {
        assert.throws(
            () => expandIncludes("t.sh", "#!/bin/bash\n# capi-mgmt:include secrets.sh\n", readLib(LIB)),
            /t\.sh: unknown include "secrets\.sh"; host scripts may include proxy\.sh/,
        );
        assert.throws(() => expandIncludes("t.sh", "#!/bin/bash\n# capi-mgmt:include ../proxy.sh\n", readLib(LIB)), /t\.sh: malformed include line/);
        assert.throws(() => expandIncludes("t.sh", "#!/bin/bash\n  #capi-mgmt: include proxy.sh\n", readLib(LIB)), /malformed include line/);
    });

    it("refuses a listed include whose file is missing, the same include twice, and a file without the shellcheck line", () => {
        const missing = (name: string): string => fs.readFileSync(path.join(makeTempDir("no-include"), name), "utf8");
        assert.throws(() => expandIncludes("t.sh", SCRIPT, missing), /t\.sh: cannot read include src\/host\/scripts\/lib\/proxy\.sh: ENOENT/);
        assert.throws(() => expandIncludes("t.sh", SCRIPT + "# capi-mgmt:include proxy.sh\n", readLib(LIB)), /t\.sh: includes proxy\.sh twice/);
        assert.throws(() => expandIncludes("t.sh", SCRIPT, readLib("hello() { :; }\n")), /must start with "# shellcheck shell=bash"/);
    });

    it("refuses nested includes", () => {
        const nested = "# shellcheck shell=bash\n\n# capi-mgmt:include proxy.sh\nhello() { :; }\n";
        assert.throws(
            () => expandIncludes("t.sh", SCRIPT, readLib(nested)),
            /t\.sh: include src\/host\/scripts\/lib\/proxy\.sh has an include line itself; includes do not nest/,
        );
    });

    it("counts a parameter used only by an included function, and still refuses one used nowhere", () => {
        // orc.sh reads PROXY_HTTP only inside use_proxy, which it includes.
        const source = fs.readFileSync(path.join(HOST_SCRIPTS_DIR, "orc.sh"), "utf8");
        assert.doesNotMatch(source, /\$\{?PROXY_HTTP\b/);
        assert.match(
            renderHostScript("orc.sh", { ORC_VERSION: "v2.6.0", WAIT_TIMEOUT_SECONDS: "5", PROXY_HTTP: "http://p.example:1" }),
            /^readonly PROXY_HTTP='http:\/\/p\.example:1'$/m,
        );
        // The same with a script and include of the test's own.
        const out = renderHostScriptText("t.sh", SCRIPT, { GREETING: "hi" }, {}, readLib(LIB));
        assert.match(out, /^readonly GREETING='hi'$/m);
        assert.throws(
            () => renderHostScriptText("t.sh", SCRIPT, { GREETING: "hi" }, {}, readLib(LIB.replace("$GREETING", "hello"))),
            /t\.sh: parameter GREETING is not used by the script/,
        );
        assert.throws(() => renderHostScriptText("t.sh", SCRIPT, { OTHER: "x" }, {}, readLib(LIB)), /parameter OTHER is not used/);
    });

    it("runs the included function in the rendered script", () => {
        const out = renderHostScriptText("t.sh", "#!/usr/bin/env bash\n# capi-mgmt:include proxy.sh\nhello\n", { GREETING: "it's included" }, {}, readLib(LIB));
        const run = spawnSync("bash", ["-s"], { input: out, encoding: "utf8" });
        assert.strictEqual(run.status, 0, run.stderr);
        assert.strictEqual(run.stdout, "it's included\n");
    });
});
