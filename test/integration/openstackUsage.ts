/**
 * What the program asks of the OpenStack provider: every `openstack:` resource, function and the
 * provider itself, with every input the program sets, gathered by running the program under the
 * mock engine for the stacks and the settings that change which inputs are set.
 *
 * The mock engine sets process-wide runtime state, so the integration suite runs this in a child
 * process (`node -r ts-node/register/transpile-only test/integration/openstackUsage.ts FILE` writes
 * the JSON to FILE: the program's log lines go to stdout) and keeps its own process for the real engine.
 */
import * as fs from "fs";
import { reveal as plain } from "../../render/engine";
import { runStack } from "../harness";

/** One use: a resource or provider registration or a function call, with its inputs. */
export interface OpenStackUse {
    kind: "resource" | "function" | "provider";
    token: string;
    /** Which run it came from (stack and settings), for messages. */
    run: string;
    inputs: Record<string, unknown>;
}

/** The runs: both stacks, and the settings that set other inputs. */
const RUNS: { name: string; stack: string; overrides: Record<string, string | undefined> }[] = [
    { name: "dev", stack: "dev", overrides: {} },
    { name: "prod", stack: "prod", overrides: {} },
    { name: "prod with expiresAt", stack: "prod", overrides: { appCredential: JSON.stringify({ roles: ["member"], expiresAt: "2027-12-31T00:00:00Z" }) } },
    {
        name: "dev with workloadProject",
        stack: "dev",
        overrides: { workloadProject: JSON.stringify({ cloud: "openstack-dev-workloads", region: "RegionTwo" }) },
    },
    {
        name: "dev with existingNetwork",
        stack: "dev",
        overrides: { nodeCidr: undefined, dnsNameservers: undefined, existingNetwork: JSON.stringify({ network: "shared", subnet: "shared-v4" }) },
    },
    {
        name: "dev without root volume, IDs for image and flavor",
        stack: "dev",
        overrides: { rootVolumeSize: "0", image: "6b0d4e6c-1f7b-4c1e-9e0e-5d1a2b3c4d5e", flavor: "6b0d4e6c-1f7b-4c1e-9e0e-5d1a2b3c4d5e" },
    },
    { name: "dev with IPv6 SSH CIDR", stack: "dev", overrides: { sshAllowedCidrs: JSON.stringify(["2001:db8::/64"]) } },
    // The backups' Swift container and credential with access rules (src/backup/backupStorage.ts).
    { name: "dev with backupObjectStorage", stack: "dev", overrides: { backupObjectStorage: JSON.stringify({ enabled: true, maxAgeDays: 30 }) } },
];

/** Runs the program for every run of {@link RUNS} and returns every OpenStack use. */
export async function openStackUses(): Promise<OpenStackUse[]> {
    const uses: OpenStackUse[] = [];
    for (const r of RUNS) {
        const calls: { token: string; inputs: Record<string, unknown> }[] = [];
        const run = await runStack(r.stack, r.overrides, { onCall: (token, inputs) => calls.push({ token, inputs }) });
        for (const res of run.resources) {
            if (res.type.startsWith("openstack:")) {
                uses.push({ kind: "resource", token: res.type, run: r.name, inputs: plain(res.inputs) as Record<string, unknown> });
            } else if (res.type === "pulumi:providers:openstack") {
                uses.push({ kind: "provider", token: res.type, run: r.name, inputs: plain(res.inputs) as Record<string, unknown> });
            }
        }
        for (const c of calls.filter((x) => x.token.startsWith("openstack:"))) {
            uses.push({ kind: "function", token: c.token, run: r.name, inputs: plain(c.inputs) as Record<string, unknown> });
        }
    }
    return uses;
}

if (require.main === module) {
    openStackUses().then(
        (uses) => fs.writeFileSync(process.argv[2], JSON.stringify(uses)),
        (err: unknown) => {
            console.error(err);
            process.exit(1);
        },
    );
}
