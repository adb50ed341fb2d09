/**
 * The one declaration of every `capi-mgmt:` setting: its type and constraints (JSON Schema,
 * built with TypeBox, checked by ajv in ./validate.ts), its default, its description (plain
 * for Pulumi.yaml, `markdownDescription` for docs/settings.md), whether it is a secret, and
 * the wording of its problems (`x-errors`, keyword → message; see ./validate.ts for the
 * placeholders). The TypeScript type of the settings (./types.ts), the known keys, the
 * defaults, Pulumi.yaml's config block and the settings table of docs/settings.md
 * (render/configDoc.ts, `npm run docs:config`) all come from here.
 *
 * What JSON Schema cannot say (CIDRs, certificates, keys, cross-field rules) is in the named
 * rule functions of ./rules/; a node marked `x-rule` is checked only there.
 */
import { Static, TOptional, TSchema, Type } from "@sinclair/typebox";
import { COMPONENT_NAMES, ComponentName, TOOL_NAMES, ToolName } from "../versions/versions";
import { GITOPS_SCHEMA } from "./schemaGitops";
import { BACKUP_OBJECT_STORAGE_SCHEMA, BACKUP_SCHEMA } from "./schemaBackup";
export { BACKUP_DEFAULTS, BACKUP_SCHEDULE_PATTERN } from "./schemaBackup";
import { MANAGEMENT_CLUSTER_SCHEMA } from "./schemaManagementCluster";
import { RELEASE_COMPONENTS } from "../versions/releaseFiles";
import { BOOLEAN, DNS_LABEL_PATTERN, INTEGER, LIST_OF_STRINGS, NODE_IMAGE_PATTERN, NOT_OBJECT, PREFIX_MAX, SettingMeta } from "./schemaMeta";

export { DNS_LABEL_PATTERN, META_KEYWORDS, NODE_IMAGE_PATTERN, PREFIX_MAX, VERSION_PATTERN } from "./schemaMeta";
export type { SettingMeta } from "./schemaMeta";

const EnvironmentSchema = Type.Union([Type.Literal("development"), Type.Literal("production")], {
    description: "development or production. Production refuses 0.0.0.0/0 and ::/0 in the CIDR lists unless allowPublicAccess is true.",
    markdownDescription: "`development` or `production`",
    "x-errors": { required: "is required (development or production)", "*": '{value} must be "development" or "production"' },
});

const ExistingNetworkSchema = Type.Object(
    {
        network: Type.String({ minLength: 1, description: "Name or ID of the network.", "x-errors": { "*": "is required (a name or ID)" } }),
        subnet: Type.String({
            minLength: 1,
            description: "Name or ID of an IPv4 subnet of that network, already routed to the external network.",
            "x-errors": { "*": "is required (a name or ID)" },
        }),
    },
    {
        additionalProperties: false,
        "x-pulumi": false,
        markdownDescription:
            "`{network, subnet}` names or IDs to reuse instead of creating network, subnet and router; the subnet must already be routed to `externalNetwork`. Excludes `nodeCidr` and `dnsNameservers`",
        "x-errors": NOT_OBJECT("must be an object with `network` and `subnet` (names or IDs)"),
    },
);

const AppCredentialSchema = Type.Object(
    {
        roles: Type.Optional(
            Type.Array(Type.String({ pattern: "\\S" }), {
                minItems: 1,
                description: "Roles the credentials carry; a subset of the user's roles on the project.",
                default: ["member", "load-balancer_member"],
                "x-errors": { "*": "must be a non-empty list of role names" },
            }),
        ),
        expiresAt: Type.Optional(Type.String({ description: "RFC 3339 expiry, in the future; unset for no expiry.", "x-rule": true })),
        owner: Type.Optional(
            Type.String({
                pattern: "\\S",
                description: "Keystone user (name or ID) that must own them (src/lifecycle/credentialOwner.ts); unset: whoever runs `up`.",
                "x-errors": { "*": "{value} is not a Keystone user name or ID" },
            }),
        ),
    },
    {
        additionalProperties: false,
        "x-pulumi": false,
        "x-doc-default": "see below",
        markdownDescription:
            '`{roles, expiresAt, owner}` of both application credentials; `owner` is the Keystone user (ID, or name) that must own them: a run as anyone else is refused, and changing it hands them over (see "Owner: a service user"). Production warns without it',
        "x-errors": NOT_OBJECT("must be an object with optional `roles` (list), `expiresAt` (RFC 3339) and `owner` (Keystone user)"),
    },
);

const WorkloadProjectSchema = Type.Object(
    {
        cloud: Type.String({
            pattern: "\\S",
            description: "The clouds.yaml entry (like `openstack:cloud`) that authenticates to the workload project.",
            markdownDescription:
                "clouds.yaml entry of a separate project for the workload clusters: both application credentials (CAPO's, the cloud provider's) are created there; needs `openstack:cloud`. Production warns without it (see \"Separate project for workload clusters\")",
            "x-errors": { "*": "is required: the clouds.yaml entry of the workload clusters' project" },
        }),
        region: Type.Optional(
            Type.String({
                pattern: "\\S",
                description: "Region of that project; defaults to `openstack:region`.",
                markdownDescription: "region of that project",
                "x-doc-default": "`openstack:region`",
                "x-errors": { "*": "{value} must be a region name (leave it out to use openstack:region)" },
            }),
        ),
    },
    {
        additionalProperties: false,
        "x-pulumi": false,
        "x-doc-nested": true,
        "x-errors": NOT_OBJECT("must be an object with `cloud` (a clouds.yaml entry) and optional `region`"),
    },
);

/** A tool pinned by version (its checksum known) or by `{version, sha256}`. */
const ToolPinSchema = Type.Union([Type.String(), Type.Object({ version: Type.String(), sha256: Type.String() })], { "x-rule": true });

/** Flux: the CLI's pin, with the SHA-256 of the release's install.yaml (`manifestSha256`, src/config/rules/versions.ts). */
const FluxPinSchema = Type.Union(
    [Type.String(), Type.Object({ version: Type.String(), sha256: Type.String(), manifestSha256: Type.Optional(Type.String()) })],
    { "x-rule": true },
);

/** A release component's pin: a version, or `{version, sha256: {<file>: <sha256>}}` (src/versions/releaseFiles.ts checks the files). */
const ReleasePinSchema = Type.Union([Type.String(), Type.Object({}, { additionalProperties: true })], { "x-rule": true });

const VersionsSchema = Type.Object(
    {
        nodeImage: Type.Optional(
            Type.String({
                pattern: NODE_IMAGE_PATTERN,
                "x-errors": { "*": "{value} must be a node image pinned by digest, e.g. kindest/node:v1.36.1@sha256:<64 hex>" },
            }),
        ),
        ...(Object.fromEntries(TOOL_NAMES.map((t) => [t, Type.Optional(t === "flux" ? FluxPinSchema : ToolPinSchema)])) as unknown as Record<
            ToolName,
            TOptional<TSchema>
        >),
        ...(Object.fromEntries(
            COMPONENT_NAMES.map((c) => [
                c,
                Type.Optional(
                    c === "orc" ? ToolPinSchema : (RELEASE_COMPONENTS as readonly string[]).includes(c) ? ReleasePinSchema : Type.String({ "x-rule": true }),
                ),
            ]),
        ) as unknown as Record<ComponentName, TOptional<TSchema>>),
    },
    {
        additionalProperties: false,
        "x-pulumi": false,
        "x-doc-default": "see below",
        markdownDescription: "overrides of pinned versions",
        "x-errors": NOT_OBJECT("must be an object of version overrides"),
    },
);

const ProxySchema = Type.Object(
    {
        http: Type.Optional(Type.Unknown({ "x-rule": true })),
        https: Type.Optional(Type.Unknown({ "x-rule": true })),
        noProxy: Type.Optional(Type.Unknown({ "x-rule": true })),
    },
    {
        additionalProperties: false,
        "x-pulumi": false,
        markdownDescription:
            '`{http, https, noProxy}`: the HTTP proxy of everything that downloads on the management side; `http`/`https` are `http(s)://host[:port]` without user, password, path or query (at least one of them); `noProxy` adds host names, `.domain`s, IP addresses or CIDRs to the defaults. Changed in place; see "Proxy and registry mirrors"',
        "x-errors": NOT_OBJECT("must be an object with http and/or https (URLs) and optional noProxy (list)"),
    },
);

const RegistryMirrorsSchema = Type.Array(
    Type.Object(
        { registry: Type.Optional(Type.Unknown({ "x-rule": true })), endpoints: Type.Optional(Type.Unknown({ "x-rule": true })) },
        { additionalProperties: false, "x-errors": NOT_OBJECT("must be an object with registry and endpoints") },
    ),
    {
        default: [],
        "x-pulumi": false,
        markdownDescription:
            '`[{registry: "docker.io", endpoints: ["https://mirror.example"]}]`: containerd mirrors of the kind node, per registry (`host[:port]`), tried in order before the registry itself; endpoints are `http(s)://host[:port]` without credentials, or with a path that is the registry API\'s root (Harbor\'s `https://harbor.example/v2/dockerhub`, containerd\'s `override_path`). Changed in place',
        "x-errors": NOT_OBJECT('must be a list of {registry: "docker.io", endpoints: ["https://mirror.example"]}'),
    },
);

/** Every `capi-mgmt:` setting, in the order of the docs table. */
export const SETTINGS_SCHEMA = Type.Object(
    {
        prefix: Type.Optional(
            Type.String({
                pattern: DNS_LABEL_PATTERN,
                maxLength: PREFIX_MAX,
                description: "Prefix of every cloud resource name (lowercase DNS label, at most 30 characters). Empty means the stack name.",
                markdownDescription:
                    "prefix of every cloud resource name; lowercase DNS label, ≤ 30 characters, unique per OpenStack user; changes only with a `serverGeneration` bump (see below)",
                "x-doc-default": "stack name",
                "x-errors": {
                    "*": `{value} is not a lowercase DNS label of at most ${PREFIX_MAX} characters{defaulted}`,
                    defaulted: " (defaulted from the stack name; set capi-mgmt:prefix)",
                },
            }),
        ),
        environment: EnvironmentSchema,
        externalNetwork: Type.String({
            description: "Name or ID of the external network for the router and the floating IP.",
            markdownDescription: "name or ID of the external network (router uplink, floating IP pool)",
            "x-errors": { required: "is required (name or ID of the external network for the router and floating IP)" },
        }),
        flavor: Type.String({
            description: "Flavor (name or ID) of the management server; 4 vCPU and 16 GiB RAM or more is recommended.",
            markdownDescription: "flavor name or ID of the server; at least 4 vCPUs and 16 GiB (checked before anything is created)",
            "x-errors": { required: "is required (flavor of the management server, e.g. 4 vCPU / 16 GiB)" },
        }),
        image: Type.Optional(
            Type.String({
                default: "Ubuntu 24.04",
                description: "Ubuntu 24.04 image (name or ID). A name is resolved to an image ID once, when the server is created.",
                markdownDescription: "Ubuntu 24.04 image name or ID",
            }),
        ),
        rootVolumeSize: Type.Optional(
            Type.Integer({
                minimum: 0,
                maximum: 16384,
                default: 0,
                description: "Boot volume size in GiB (at least 20); 0 boots from the flavor's disk.",
                markdownDescription: "boot volume in GiB (≥ 20); `0` boots from the flavor's disk",
                "x-errors": INTEGER(),
            }),
        ),
        availabilityZone: Type.Optional(
            Type.String({
                description: "Availability zone of the server. Empty means the cloud's default.",
                markdownDescription: "availability zone of the server; changes only with a `serverGeneration` bump (see below)",
                "x-doc-default": "cloud default",
            }),
        ),
        nodeCidr: Type.Optional(
            Type.String({
                default: "10.0.0.0/24",
                description: "IPv4 CIDR of the management subnet the program creates (not used with existingNetwork).",
                markdownDescription: "IPv4 CIDR of the management subnet the program creates",
            }),
        ),
        dnsNameservers: Type.Optional(
            Type.Array(Type.String(), {
                default: [],
                description: "IPv4 DNS servers of the created subnet. Empty keeps the cloud's default.",
                markdownDescription: "IPv4 DNS servers of that subnet (empty: the cloud's default)",
                "x-errors": LIST_OF_STRINGS,
            }),
        ),
        existingNetwork: Type.Optional(ExistingNetworkSchema),
        sshAllowedCidrs: Type.Array(Type.String(), {
            description: "CIDRs that may reach SSH (22/tcp) and ICMP on the management server. Must include where you run pulumi.",
            markdownDescription: "CIDRs that may reach SSH (22/tcp); must include where you run `pulumi`",
            "x-errors": { ...LIST_OF_STRINGS, required: 'is required: the CIDRs that may reach SSH (e.g. ["203.0.113.0/24"])' },
        }),
        apiAllowedCidrs: Type.Array(Type.String(), {
            description: "CIDRs that may reach the management cluster's Kubernetes API (6443/tcp) and ICMP. Must include where you run pulumi.",
            markdownDescription: "CIDRs that may reach the management cluster's API (6443/tcp); must include where you run `pulumi`",
            "x-errors": { ...LIST_OF_STRINGS, required: 'is required: the CIDRs that may reach the Kubernetes API (e.g. ["203.0.113.0/24"])' },
        }),
        allowPublicAccess: Type.Optional(
            Type.Boolean({
                default: false,
                description: "Lets a production stack accept 0.0.0.0/0 or ::/0 in sshAllowedCidrs or apiAllowedCidrs.",
                markdownDescription: "production refuses `0.0.0.0/0` and `::/0` in either list unless this is `true`",
                "x-errors": BOOLEAN,
            }),
        ),
        appCredential: Type.Optional(AppCredentialSchema),
        workloadProject: Type.Optional(WorkloadProjectSchema),
        caCert: Type.Optional(
            Type.String({
                description: "PEM of the private CA your cloud's endpoints use. Empty means the public trust store.",
                markdownDescription:
                    "PEM of a private CA your cloud's endpoints use; trusted by the OpenStack provider and the server, and handed to CAPO, ORC and the cloud provider beside clouds.yaml and cloud.conf (Secret key `cacert`)",
            }),
        ),
        versions: Type.Optional(VersionsSchema),
        serverGeneration: Type.Optional(
            Type.Integer({
                minimum: 1,
                maximum: 1000,
                default: 1,
                description:
                    "Bump to rebuild the management server (new image, user-data, boot volume) on purpose. Rebuilding loses the management cluster on it.",
                markdownDescription: "bump to rebuild the server on purpose (see below)",
                "x-errors": INTEGER(),
            }),
        ),
        rebuildWithClusters: Type.Optional(
            Type.Integer({
                minimum: 1,
                maximum: 1000,
                "x-pulumi": false,
                markdownDescription:
                    'the `serverGeneration` whose bump may go ahead although the running management cluster holds `Cluster` objects or cannot be reached to tell; covers that one generation only, set it in the same change as the bump (see "The server is never replaced by accident")',
                "x-errors": INTEGER(),
            }),
        ),
        protect: Type.Optional(
            Type.Boolean({
                "x-pulumi": false,
                "x-doc-default": "`true` in production, else `false`",
                markdownDescription:
                    'Pulumi\'s `protect` on the server (with its boot volume), the floating IP and the teardown: `destroy`, and any replacement of the server or address, refuse while it is on. Turn it off (and `pulumi up`) before a planned `destroy` or a `serverGeneration` bump (see "What `pulumi destroy` does")',
                "x-errors": BOOLEAN,
            }),
        ),
        teardownTimeoutMinutes: Type.Optional(
            Type.Integer({
                minimum: 5,
                maximum: 240,
                default: 30,
                description: "Overall bound (minutes, 5-240) of deleting the workload clusters on pulumi destroy.",
                markdownDescription: "bound (5–240) of deleting the workload clusters on `pulumi destroy`",
                "x-errors": INTEGER(),
            }),
        ),
        backup: Type.Optional(BACKUP_SCHEMA),
        gitops: Type.Optional(GITOPS_SCHEMA),
        managementCluster: Type.Optional(MANAGEMENT_CLUSTER_SCHEMA),
        proxy: Type.Optional(ProxySchema),
        registryMirrors: Type.Optional(RegistryMirrorsSchema),
        backupObjectStorage: Type.Optional(BACKUP_OBJECT_STORAGE_SCHEMA),
    },
    { additionalProperties: false },
);

/** The settings as written in the stack file (after JSON decoding), as TypeScript sees them. */
export type Settings = Static<typeof SETTINGS_SCHEMA>;
/** The environment a stack stands for; production refuses open access. */
export type Environment = Static<typeof EnvironmentSchema>;
/** A network and subnet that already exist and are reused instead of created. */
export type ExistingNetwork = Static<typeof ExistingNetworkSchema>;
/** Where the management cluster runs (`capi-mgmt:managementCluster`, as written). */
export type ManagementClusterSetting = Static<typeof MANAGEMENT_CLUSTER_SCHEMA>;
/** A second OpenStack project for everything workload clusters get their hands on. */
export type WorkloadProject = Static<typeof WorkloadProjectSchema>;

/** Every top-level key the project reads (others under `capi-mgmt:` are refused as typos). */
export const CONFIG_KEYS = Object.keys(SETTINGS_SCHEMA.properties) as (keyof Settings)[];

/** Settings the OpenStack provider owns and the program reads (ParseContext.openstack), for the docs table. */
export const PROVIDER_SETTINGS = [
    { key: "openstack:cloud", default: "(none)", markdownDescription: "clouds.yaml entry to authenticate with (or use `OS_*` variables)" },
    { key: "openstack:region", default: "(none)", markdownDescription: "region, if the cloud has several" },
] as const;

/** The schema node of a dotted key (`gitops.url`, `registryMirrors[].registry`), or undefined. */
export function settingSchema(key: string): (TSchema & SettingMeta) | undefined {
    let node: TSchema | undefined = SETTINGS_SCHEMA;
    for (const part of key.split(".")) {
        const name = part.replace(/\[\]$/, "");
        node = node?.properties?.[name];
        if (part.endsWith("[]")) {
            node = node?.items;
        }
    }
    return node as (TSchema & SettingMeta) | undefined;
}

/**
 * Every object setting's nested keys (`top.key`, or `top[].key` for a list of objects), in
 * declaration order (the top-level keys are CONFIG_KEYS).
 */
export function nestedSettingKeys(): string[] {
    const keys: string[] = [];
    for (const top of CONFIG_KEYS) {
        const node = SETTINGS_SCHEMA.properties[top] as TSchema;
        const [props, label] = node.type === "array" ? [node.items?.properties, `${top}[]`] : [node.properties, top];
        keys.push(...Object.keys(props ?? {}).map((k) => `${label}.${k}`));
    }
    return keys;
}

/** Keys whose value is a secret (`x-secret`): top-level ones, then nested ones, dotted. */
export const SECRET_SETTINGS = [...CONFIG_KEYS, ...nestedSettingKeys()].filter((k) => settingSchema(k)?.["x-secret"] === true) as readonly string[];
