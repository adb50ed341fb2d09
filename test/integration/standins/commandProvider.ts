/**
 * STAND-IN for the pulumi-command 1.2.1 provider plugin (`command`), which cannot be built here:
 * the Go module proxy refuses github.com/pulumi/pulumi-command/provider (testbed/pulumi/build.sh
 * records the error in pulumi.json). A real plugin process, served by `@pulumi/pulumi/provider`'s
 * `main`, installed in the test's PULUMI_HOME as plugin `command` at the version the SDK asks for,
 * so the engine talks gRPC to it as it would to the real one.
 *
 * What it does NOT do: run anything. No management server boots on the test bed (Nova's fake
 * driver), so there is nowhere to SSH to; the scripts are never run, locally or remotely.
 *
 * What it does, per resource type the program registers (command:remote:Command,
 * command:local:Command; `grep -rn "new command\." components/`):
 * - Diff as pulumi-command v1.2.1 decides (provider/pkg/provider/common/inputs.go: `Triggers`
 *   carries `provider:"replaceOnChanges"`; every other input change is an in-place update,
 *   remote/commandController.go and local/commandController.go `Update`, which runs `update`,
 *   or `create` when there is none). A new value that is unknown during a preview counts as a
 *   change (replace when it is `triggers`).
 * - Create / Update: outputs are the inputs plus `stdout` and `stderr` (stderr empty). stdout is
 *   shaped as the program's parsers expect it, by the step's logical name (the only stdouts the
 *   program reads, src/cluster/managementCluster.ts):
 *     - `kind-cluster`: `kind-cluster-id: <hex>` (src/cluster/clusterScripts.ts KIND_CLUSTER_ID_PREFIX).
 *       A create makes a new cluster (a new id); an update keeps the cluster (the same id), as
 *       src/host/scripts/kind-cluster.sh does.
 *     - `kubeconfig`: the file named by CAPI_MGMT_STANDIN_KUBECONFIG (the test bed's API server,
 *       credentials embedded, standing for the kind cluster's admin kubeconfig).
 *     - `api-cert-expiry`: the notAfter of that kubeconfig's client certificate, RFC 3339 UTC
 *       (standing for the API server certificate's; both come from the same test-bed CA).
 *     - every other step: empty (no other stdout is read).
 * - Delete: nothing (the real delete commands would dial a server that does not exist).
 * - Read (refresh): the state as it is, as pulumi-command's Read does (a command cannot be read
 *   back).
 * - Invoke `command:local:run` (the `lastBackup` output, src/backup/backupStatus.ts): stdout and
 *   stderr empty (the program reads that as status `none`: no backup line, and no `unreachable=`
 *   line that would make it `unknown`); nothing is run, and it is not logged (it is no step).
 * Every call is appended to CAPI_MGMT_STANDIN_LOG (one JSON line: provider, op, urn, changed keys),
 * so a test can tell which steps ran.
 */
import { createHash, randomBytes, X509Certificate } from "crypto";
import * as fs from "fs";
import { provider } from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { KIND_CLUSTER_ID_PREFIX } from "../../../src/cluster/clusterScripts";
import { changedKeys, logicalName, normalize, plain, secret } from "./values";

/** The version of @pulumi/command the project pins (the SDK asks the engine for it). */
const VERSION = "1.2.1";
const TYPES = ["command:remote:Command", "command:local:Command"];
/** Outputs a Command has besides its inputs. */
const OUTPUT_ONLY = ["stdout", "stderr"];

function record(entry: Record<string, unknown>): void {
    const file = process.env.CAPI_MGMT_STANDIN_LOG;
    if (file) {
        fs.appendFileSync(file, JSON.stringify({ provider: "command", ...entry }) + "\n");
    }
}

function typeOf(urn: string): string {
    const t = urn.split("::")[2] ?? "";
    return t.split("$").pop() ?? t;
}

function checkType(urn: string): void {
    if (!TYPES.includes(typeOf(urn))) {
        throw new Error(`the command stand-in implements ${TYPES.join(", ")}, not ${typeOf(urn)}`);
    }
}

function kubeconfigText(): string {
    const file = process.env.CAPI_MGMT_STANDIN_KUBECONFIG;
    if (!file) {
        throw new Error("CAPI_MGMT_STANDIN_KUBECONFIG is not set");
    }
    return fs.readFileSync(file, "utf8");
}

function clientCertExpiry(kubeconfig: string): string {
    const doc = parseYaml(kubeconfig) as { users: { user: { "client-certificate-data": string } }[] };
    const pem = Buffer.from(doc.users[0].user["client-certificate-data"], "base64");
    return new Date(new X509Certificate(pem).validTo).toISOString().replace(/\.\d+Z$/, "Z");
}

/** stdout of a step, as its host script would print it (see the file comment). */
function stdoutOf(urn: string, previous: unknown): unknown {
    switch (logicalName(urn)) {
        case "kind-cluster":
            if (typeof previous === "string" && previous.startsWith(KIND_CLUSTER_ID_PREFIX)) {
                return previous;
            }
            return `${KIND_CLUSTER_ID_PREFIX}${createHash("sha256").update(randomBytes(32)).digest("hex")}`;
        case "kubeconfig":
            return secret(kubeconfigText());
        case "api-cert-expiry":
            return clientCertExpiry(kubeconfigText());
        default:
            return "";
    }
}

const commandStandIn: provider.Provider = {
    version: VERSION,

    check(urn, _olds, news) {
        checkType(urn);
        return Promise.resolve({ inputs: news as unknown });
    },

    diff(_id, urn, olds, news) {
        const changed = changedKeys(normalize(olds) as Record<string, unknown>, normalize(news) as Record<string, unknown>, OUTPUT_ONLY);
        record({ op: "diff", urn, changed });
        return Promise.resolve({ changes: changed.length > 0, replaces: changed.filter((k) => k === "triggers") });
    },

    create(urn, inputs) {
        checkType(urn);
        const ins = normalize(inputs) as Record<string, unknown>;
        record({ op: "create", urn });
        const id = `standin-${createHash("sha256").update(urn).update(randomBytes(16)).digest("hex").slice(0, 16)}`;
        return Promise.resolve({ id, outs: { ...ins, stdout: stdoutOf(urn, undefined), stderr: "" } });
    },

    update(_id, urn, olds, news) {
        const o = normalize(olds) as Record<string, unknown>;
        record({ op: "update", urn, changed: changedKeys(o, normalize(news) as Record<string, unknown>, OUTPUT_ONLY) });
        return Promise.resolve({ outs: { ...(normalize(news) as Record<string, unknown>), stdout: stdoutOf(urn, plain(o.stdout)), stderr: "" } });
    },

    read(id, urn, props) {
        record({ op: "read", urn });
        return Promise.resolve({ id, props: props as unknown });
    },

    invoke(token, inputs) {
        if (token !== "command:local:run") {
            throw new Error(`the command stand-in implements the invoke command:local:run, not ${token}`);
        }
        return Promise.resolve({ outputs: { ...(normalize(inputs) as Record<string, unknown>), stdout: "", stderr: "" } });
    },

    delete(_id, urn) {
        record({ op: "delete", urn });
        return Promise.resolve();
    },
};

void provider.main(commandStandIn, process.argv.slice(2));
