/**
 * The program's OpenStack registrations replayed through the real engine, by public means only:
 * the schema from the Pulumi CLI (`pulumi package get-schema` on the installed plugin), and a
 * `pulumi preview` (Automation API, inline program) that registers every provider and resource
 * the program registers, with the program's inputs. A preview configures each provider
 * (CheckConfig, Configure) and asks the provider's Check of every new resource, then plans the
 * create (the bridged Terraform provider's plan: no API call), so a property the provider refuses
 * fails the preview with the provider's own words. Nothing reaches OpenStack: the clouds the
 * providers name point at a loopback port nothing listens on, and none of these calls
 * authenticates.
 */
import { spawnSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import { EngineHome } from "./engineBed";
import type { OpenStackUse } from "./openstackUsage";

/** The package schema (parsed JSON) the CLI reads from the installed `openstack` plugin. */
export function cliSchema<T>(home: EngineHome): T {
    const r = spawnSync(home.cli, ["package", "get-schema", home.pluginPath("openstack")], {
        cwd: home.workDir,
        env: home.env(),
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
        timeout: 300_000,
    });
    if (r.status !== 0) {
        throw new Error(`pulumi package get-schema failed (${r.status}): ${r.stderr}${r.error ?? ""}`);
    }
    return JSON.parse(r.stdout) as T;
}

/** A provider registration of the `openstack` package with the inputs as the program gave them. */
class OpenStackProvider extends pulumi.ProviderResource {
    constructor(name: string, inputs: Record<string, unknown>) {
        super("openstack", name, inputs);
    }
}

/** A resource of any token with the inputs as the program gave them. */
class Replayed extends pulumi.CustomResource {
    constructor(token: string, name: string, inputs: Record<string, unknown>, provider?: pulumi.ProviderResource) {
        super(token, name, inputs, { provider });
    }
}

/** What the preview did: the resources it planned to create, by token, and its output. */
export interface ReplayResult {
    created: string[];
    output: string;
}

/**
 * Previews every provider and resource registration of `uses` (each resource with the first
 * provider of its own run); rejects with the engine's output when the preview fails, e.g. on a
 * Check failure.
 */
export async function previewRegistrations(home: EngineHome, uses: OpenStackUse[], stackName = "replay"): Promise<ReplayResult> {
    const program = async () => {
        const providers = new Map<string, OpenStackProvider>();
        uses.forEach((u, i) => {
            if (u.kind === "provider" && !providers.has(u.run)) {
                providers.set(u.run, new OpenStackProvider(`p${i}`, u.inputs));
            }
        });
        uses.forEach((u, i) => {
            if (u.kind === "resource") {
                new Replayed(u.token, `r${i}`, u.inputs, providers.get(u.run));
            }
        });
    };
    const stack = await home.stack(stackName, program);
    const preview = await stack.preview();
    const created = preview.events
        .map((e) => e.resourcePreEvent?.metadata)
        .filter((m) => m !== undefined && m.op === "create" && m.type.startsWith("openstack:"))
        .map((m) => m!.type);
    return { created, output: preview.output };
}
