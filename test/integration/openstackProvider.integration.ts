/**
 * The OpenStack provider the test bed builds (issue 22, part 2: testbed/pulumi/openstack, see
 * docs/testbed-openstack-provider.md) speaks the schema of @pulumi/openstack 3.15.2 for everything
 * the program uses. Installed as plugin `openstack` at the SDK's version in a throw-away
 * PULUMI_HOME, it is reached by public means only (openstackPreview.ts): its schema through the
 * CLI (`pulumi package get-schema`), and against that schema:
 * - every resource, function and provider input the program sets (gathered by running the program
 *   under the mock engine for both stacks and the settings that set other inputs: openstackUsage.ts)
 *   has the program's token and exists with the shape the program gives it (list or object, nested
 *   fields, scalar kinds);
 * - the input properties of each token the program uses (and of the few the bed's own set-up uses)
 *   are those of the SDK's `...Args` interface (names, and list or not), so a field the program may
 *   set tomorrow has the SDK's shape too.
 * Then a `pulumi preview` (Automation API) registers every provider and resource the program
 * registers, with its inputs: the engine configures each provider (the clouds they name in a
 * clouds.yaml of the test's own) and asks the provider's Check of each resource, Terraform's
 * schema validation (required arguments, types, and the value checks Terraform declares; many
 * values, e.g. a rule's `direction`, are checked only by the API on create).
 *
 * Nothing here talks to OpenStack: that is part 2's second half.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { EngineBed, EngineHome, sdkVersion } from "./engineBed";
import { cliSchema, previewRegistrations } from "./openstackPreview";
import type { OpenStackUse } from "./openstackUsage";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");
const SDK_DIR = path.join(PROJECT_DIR, "node_modules", "@pulumi", "openstack");

/** Tokens the test bed's own OpenStack set-up uses besides the program's (testbed/pulumi/openstack/provider.go, "bed"). */
const BED_TOKENS = {
    resources: ["openstack:compute/serverGroup:ServerGroup", "openstack:loadbalancer/loadBalancer:LoadBalancer", "openstack:blockstorage/volume:Volume"],
    functions: ["openstack:images/getImage:getImage"],
};

/** A property of a Pulumi package schema (the parts this test reads). */
interface PropertySpec {
    type?: string;
    $ref?: string;
    items?: PropertySpec;
    additionalProperties?: PropertySpec;
}

interface ObjectSpec {
    properties?: Record<string, PropertySpec>;
}

interface PackageSchema {
    name: string;
    version?: string;
    provider: { inputProperties?: Record<string, PropertySpec> };
    resources: Record<string, { inputProperties?: Record<string, PropertySpec> }>;
    functions: Record<string, { inputs?: ObjectSpec }>;
    types: Record<string, ObjectSpec & { type?: string }>;
}

function skipWith(ctx: Mocha.Context, reason: string): never {
    console.log(`      skipped: ${reason}`);
    ctx.skip();
}

/** The inputs a token takes in the schema, or undefined when the schema has no such token. */
function inputsOf(schema: PackageSchema, use: Pick<OpenStackUse, "kind" | "token">): Record<string, PropertySpec> | undefined {
    switch (use.kind) {
        case "provider":
            return schema.provider.inputProperties ?? {};
        case "resource":
            return schema.resources[use.token] ? (schema.resources[use.token].inputProperties ?? {}) : undefined;
        case "function":
            return schema.functions[use.token] ? (schema.functions[use.token].inputs?.properties ?? {}) : undefined;
    }
}

/**
 * Problems of `value` against `spec` at `where`: a list where the schema has none (or the other way
 * round), an unknown field of an object type, a scalar of another kind.
 */
export function shapeProblems(schema: PackageSchema, value: unknown, spec: PropertySpec, where: string): string[] {
    if (value === undefined || value === null) {
        return [];
    }
    if (spec.$ref) {
        const name = decodeURIComponent(spec.$ref.replace(/^#\/types\//, ""));
        const type = schema.types[name];
        if (!type) {
            return [`${where}: refers to ${spec.$ref}, which the schema does not define`];
        }
        if (type.type && type.type !== "object") {
            return shapeProblems(schema, value, { type: type.type }, where); // an enum
        }
        if (typeof value !== "object" || Array.isArray(value)) {
            return [`${where}: the program gives ${Array.isArray(value) ? "a list" : typeof value}, the schema an object (${name})`];
        }
        return fieldProblems(schema, value as Record<string, unknown>, type.properties ?? {}, `${where}`);
    }
    switch (spec.type) {
        case "array":
            if (!Array.isArray(value)) {
                return [`${where}: the program gives ${typeof value}, the schema a list`];
            }
            return value.flatMap((v, i) => shapeProblems(schema, v, spec.items ?? {}, `${where}[${i}]`));
        case "object":
            if (typeof value !== "object" || Array.isArray(value)) {
                return [`${where}: the program gives ${Array.isArray(value) ? "a list" : typeof value}, the schema a map`];
            }
            return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
                shapeProblems(schema, v, spec.additionalProperties ?? {}, `${where}.${k}`),
            );
        case "string":
        case "boolean":
            return typeof value === spec.type
                ? []
                : [`${where}: the program gives ${Array.isArray(value) ? "a list" : typeof value}, the schema a ${spec.type}`];
        case "integer":
        case "number":
            return typeof value === "number"
                ? []
                : [`${where}: the program gives ${Array.isArray(value) ? "a list" : typeof value}, the schema a ${spec.type}`];
        default:
            return [];
    }
}

function fieldProblems(schema: PackageSchema, value: Record<string, unknown>, props: Record<string, PropertySpec>, where: string): string[] {
    return Object.entries(value).flatMap(([k, v]) =>
        props[k] ? shapeProblems(schema, v, props[k], `${where}.${k}`) : [`${where}.${k}: not an input of the schema`],
    );
}

/**
 * The properties of `interface NAME { ... }` in a .d.ts: name → "list" when its type is an array
 * (inside any `pulumi.Input<...>`), else "value". Undefined when there is no such interface.
 */
export function argsInterface(dts: string, name: string): Record<string, "list" | "value"> | undefined {
    const file = ts.createSourceFile("args.d.ts", dts, ts.ScriptTarget.Latest, false);
    const decl = file.statements.find((st): st is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(st) && st.name.text === name);
    if (!decl) {
        return undefined;
    }
    const isList = (t: ts.TypeNode | undefined): boolean => {
        if (!t) {
            return false;
        }
        if (ts.isArrayTypeNode(t)) {
            return true;
        }
        if (ts.isTypeReferenceNode(t) && t.typeName.getText(file) === "pulumi.Input" && t.typeArguments?.length === 1) {
            return isList(t.typeArguments[0]);
        }
        return false;
    };
    const props: Record<string, "list" | "value"> = {};
    for (const m of decl.members) {
        if (ts.isPropertySignature(m) && m.name && ts.isIdentifier(m.name)) {
            props[m.name.text] = isList(m.type) ? "list" : "value";
        }
    }
    return props;
}

/** The SDK's Args interface of a token: its .d.ts file and interface name. */
function sdkArgs(use: Pick<OpenStackUse, "kind" | "token">): { file: string; name: string } {
    if (use.kind === "provider") {
        return { file: path.join(SDK_DIR, "provider.d.ts"), name: "ProviderArgs" };
    }
    const [, mod, member] = /^openstack:([^/]+)\/[^:]+:(\w+)$/.exec(use.token) ?? [];
    assert.ok(mod && member, `unexpected token ${use.token}`);
    const file = path.join(SDK_DIR, mod, `${member[0].toLowerCase()}${member.slice(1)}.d.ts`);
    return { file, name: `${member[0].toUpperCase()}${member.slice(1)}Args` };
}

/** The schema's inputs of a token as "list" or "value", like {@link argsInterface}. */
function schemaShapes(props: Record<string, PropertySpec>): Record<string, "list" | "value"> {
    return Object.fromEntries(Object.entries(props).map(([k, p]) => [k, p.type === "array" ? "list" : "value"]));
}

describe("the OpenStack provider the test bed builds (openstack 3.15.2 from terraform-provider-openstack)", function () {
    this.timeout(600_000);
    let bed: EngineBed;
    let dir: string;
    let schema: PackageSchema;
    let uses: OpenStackUse[];
    let home: EngineHome | undefined;

    before(async function () {
        const loaded = EngineBed.load();
        if (typeof loaded === "string") {
            skipWith(this, loaded);
        }
        bed = loaded;
        const missing = bed.missing(["pulumi-resource-openstack", "pulumi"]);
        if (missing) {
            skipWith(this, `the OpenStack provider or the CLI is not built (testbed/pulumi/build.sh): ${missing}`);
        }
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-openstack-provider-"));
        const out = path.join(dir, "uses.json");
        const u = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "openstackUsage.ts"), out], {
            cwd: PROJECT_DIR,
            encoding: "utf8",
            timeout: 300_000,
        });
        assert.strictEqual(u.status, 0, `running the program under the mock engine failed: ${u.stderr}${u.stdout.slice(-2000)}`);
        uses = JSON.parse(fs.readFileSync(out, "utf8")) as OpenStackUse[];

        // The clouds the program's providers name, in a clouds.yaml of our own: Keystone on a
        // loopback port nothing listens on (the Terraform provider authenticates only when a
        // call needs it, and neither Check nor a preview's plan needs it).
        const clouds = [...new Set(uses.filter((x) => x.kind === "provider").map((x) => String(x.inputs.cloud)))];
        const cloudsYaml = path.join(dir, "clouds.yaml");
        const auth = {
            auth_url: "http://127.0.0.1:9/v3",
            username: "u",
            password: "p",
            project_name: "p",
            user_domain_name: "Default",
            project_domain_name: "Default",
        };
        fs.writeFileSync(cloudsYaml, JSON.stringify({ clouds: Object.fromEntries(clouds.map((c) => [c, { auth, region_name: "RegionOne" }])) }));
        const osFree = Object.fromEntries(
            Object.keys(process.env)
                .filter((k) => k.startsWith("OS_"))
                .map((k) => [k, ""]),
        );
        home = EngineHome.create(bed, { ...osFree, OS_CLIENT_CONFIG_FILE: cloudsYaml }, ["openstack"]);
        schema = cliSchema<PackageSchema>(home);
    });

    after(() => {
        home?.dispose();
        if (dir && process.env.TESTBED_KEEP !== "1") {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("installs as plugin openstack at the SDK's version, whose schema the CLI reads: package openstack at that version", () => {
        const h = home as EngineHome;
        assert.ok(fs.existsSync(h.pluginPath("openstack")), `pulumi plugin install left no ${h.pluginPath("openstack")}`);
        const r = spawnSync(h.cli, ["plugin", "ls", "--json"], { cwd: h.workDir, env: h.env(), encoding: "utf8", timeout: 120_000 });
        assert.strictEqual(r.status, 0, r.stderr);
        const plugins = JSON.parse(r.stdout) as { name: string; kind: string; version: string }[];
        assert.ok(
            plugins.some((p) => p.name === "openstack" && p.kind === "resource" && p.version === sdkVersion("@pulumi/openstack")),
            JSON.stringify(plugins),
        );
        assert.strictEqual(schema.name, "openstack");
        assert.strictEqual(schema.version, sdkVersion("@pulumi/openstack"));
        assert.ok(Object.keys(schema.resources).length > 100, `only ${Object.keys(schema.resources).length} resources`);
    });

    it("has the 3.15.2 token of every resource and function the program uses, and of the bed's", () => {
        const tokens = (kind: OpenStackUse["kind"]) => [...new Set(uses.filter((u) => u.kind === kind).map((u) => u.token))].sort();
        const resources = [...tokens("resource"), ...BED_TOKENS.resources];
        const functions = [...tokens("function"), ...BED_TOKENS.functions];
        assert.ok(
            tokens("resource").length >= 10 && tokens("function").length >= 5,
            `the program's run found too little: ${JSON.stringify(uses.map((u) => u.token))}`,
        );
        const missing = [...resources.filter((t) => !schema.resources[t]), ...functions.filter((t) => !schema.functions[t])];
        assert.deepStrictEqual(missing, [], `not in the built schema: ${missing.join(", ")}`);
        // Each token is the SDK's own: the class or function the program calls carries it.
        for (const t of resources) {
            const { file } = sdkArgs({ kind: "resource", token: t });
            assert.ok(fs.readFileSync(file.replace(/\.d\.ts$/, ".js"), "utf8").includes(`__pulumiType = '${t}'`), `${t} is not the type of ${file}`);
        }
        for (const t of functions) {
            const { file } = sdkArgs({ kind: "function", token: t });
            assert.ok(fs.readFileSync(file.replace(/\.d\.ts$/, ".js"), "utf8").includes(`"${t}"`), `${t} is not invoked by ${file}`);
        }
    });

    it("takes every input the program sets, in the shape the program gives it", () => {
        const problems = new Set<string>();
        for (const use of uses) {
            const props = inputsOf(schema, use);
            if (!props) {
                problems.add(`${use.token}: not in the schema`);
                continue;
            }
            for (const p of fieldProblems(schema, use.inputs, props, use.token)) {
                problems.add(`${p} (${use.run})`);
            }
        }
        assert.deepStrictEqual([...problems], []);
    });

    it("has, for each token the program and the bed use, the inputs of the SDK's Args (names, list or not)", () => {
        const seen = new Set<string>();
        const problems: string[] = [];
        const bed: Pick<OpenStackUse, "kind" | "token">[] = [
            ...BED_TOKENS.resources.map((token) => ({ kind: "resource" as const, token })),
            ...BED_TOKENS.functions.map((token) => ({ kind: "function" as const, token })),
        ];
        for (const use of [...uses, ...bed]) {
            if (seen.has(use.token)) {
                continue;
            }
            seen.add(use.token);
            const props = inputsOf(schema, use);
            if (!props) {
                continue; // reported above
            }
            const { file, name } = sdkArgs(use);
            const sdk = argsInterface(fs.readFileSync(file, "utf8"), name);
            assert.ok(sdk, `no interface ${name} in ${file}`);
            const built = schemaShapes(props);
            for (const k of new Set([...Object.keys(sdk), ...Object.keys(built)])) {
                if (sdk[k] !== built[k]) {
                    problems.push(`${use.token}.${k}: SDK ${sdk[k] ?? "absent"}, built schema ${built[k] ?? "absent"}`);
                }
            }
        }
        assert.deepStrictEqual(problems, []);
    });

    it("accepts every resource the program registers (a preview: Check, then the plan), configured as the program configures it", async () => {
        const resources = uses.filter((u) => u.kind === "resource");
        assert.ok(resources.length > 50, `only ${resources.length} registrations`);
        // A Check failure fails the preview with the provider's words (the engine's output).
        const { created } = await previewRegistrations(home as EngineHome, uses);
        assert.deepStrictEqual(created.filter((t) => !t.startsWith("pulumi:providers:")).sort(), resources.map((u) => u.token).sort());
    });

    it("fails that preview, in the provider's words, on a resource its Check refuses (the control)", async () => {
        const provider = uses.find((u) => u.kind === "provider")!;
        const rule: OpenStackUse = {
            kind: "resource",
            token: "openstack:networking/secGroupRule:SecGroupRule",
            run: provider.run,
            inputs: { description: "x" },
        };
        await assert.rejects(previewRegistrations(home as EngineHome, [provider, rule], "refused"), /Missing required argument|required/i);
    });
});

describe("the OpenStack provider schema checks (the checks themselves)", () => {
    const schema: PackageSchema = {
        name: "openstack",
        provider: {},
        resources: {},
        functions: {},
        types: {
            "openstack:compute/InstanceNetwork:InstanceNetwork": { properties: { port: { type: "string" } } },
        },
    };
    const networks: PropertySpec = { type: "array", items: { $ref: "#/types/openstack:compute%2FInstanceNetwork:InstanceNetwork" } };

    it("accepts the shape the schema has", () => {
        assert.deepStrictEqual(shapeProblems(schema, [{ port: "p" }], networks, "networks"), []);
    });

    it("refuses a list where the schema has one object, an unknown nested field, another scalar kind", () => {
        assert.match(shapeProblems(schema, { port: "p" }, networks, "networks").join(), /gives object, the schema a list/);
        assert.match(shapeProblems(schema, [{ uuid: "u" }], networks, "networks").join(), /networks\[0\]\.uuid: not an input/);
        assert.match(shapeProblems(schema, [{ port: 1 }], networks, "networks").join(), /gives number, the schema a string/);
        assert.match(shapeProblems(schema, ["a"], { type: "array", items: { $ref: "#/types/none" } }, "x").join(), /does not define/);
    });

    it("reads an SDK Args interface: names, and list or not", () => {
        const dts = [
            "export interface ServerGroupArgs {",
            "    /**",
            "     * A list of policies.",
            "     */",
            "    policies?: pulumi.Input<pulumi.Input<string>[]>;",
            "    rules?: pulumi.Input<inputs.compute.ServerGroupRules>;",
            "    valueSpecs?: pulumi.Input<{",
            "        [key: string]: any;",
            "    }>;",
            "    name?: pulumi.Input<string>;",
            "    ids?: string[];",
            "}",
            "export interface Other {",
            "    x: string;",
            "}",
        ].join("\n");
        assert.deepStrictEqual(argsInterface(dts, "ServerGroupArgs"), { policies: "list", rules: "value", valueSpecs: "value", name: "value", ids: "list" });
        assert.strictEqual(argsInterface(dts, "Missing"), undefined);
    });
});
