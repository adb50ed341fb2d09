/**
 * The simulated cloud of the mock engine (render/engine.ts): what OpenStack, Keystone and the
 * key generator would answer, made up deterministically so that a render is reproducible.
 */
import { createHash, createPrivateKey, createPublicKey } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { recordedOwner } from "../src/lifecycle/credentialOwner";
import { DEPLOYED_OUTPUT, DeployedState } from "../src/lifecycle/lifecycle";

/** Knobs of the simulated cloud. */
export interface MockCloudOptions {
    /** Roles the user holds on the project (getAuthScope). */
    rolesHeld?: string[];
    /** MTU of networks the program creates. */
    createdNetworkMtu?: number;
    /** MTU of existing networks looked up by name or ID. */
    existingNetworkMtu?: number;
    /** Names of networks by ID, as a look-up by ID finds them (default: `looked-up-network`). */
    networkNames?: Record<string, string>;
    /** Address of the floating IP. */
    floatingIp?: string;
    /**
     * The stack's outputs from its last `up`, as the StackReference to itself reads them
     * (default: none, i.e. a first `up`).
     */
    previousOutputs?: Record<string, unknown>;
    /** Flavors Nova knows, by name or ID (default: every flavor has 8 vCPUs, 32 GiB and a 50 GB disk). */
    flavors?: Record<string, { vcpus: number; ram: number; disk?: number }>;
    /** The Keystone user of every token (getAuthScope; default: the recorded owner of `previousOutputs`, else `mock-user`). */
    user?: { id: string; name: string };
    /** Ports that exist already, by name, with the device they are bound to (getPort; default: none). */
    ports?: Record<string, { deviceId: string; deviceOwner: string }>;
    /** Image names Glance does not know (default: every name resolves). */
    missingImages?: string[];
    /** Nova's limits and usage (default: plenty of room). */
    computeLimits?: Partial<
        Record<"maxTotalInstances" | "totalInstancesUsed" | "maxTotalCores" | "totalCoresUsed" | "maxTotalRamSize" | "totalRamUsed", number>
    >;
    /** The cloud's policy hides Nova's limits and Neutron's quotas from the user. */
    quotasHidden?: boolean;
    /** What the server says about its backups (src/host/scripts/backup-status.sh's output); default: nothing (no backup yet). */
    backupStatus?: string;
    /** Told of every data source call (token and arguments), for tests of what is looked up. */
    onCall?: (token: string, inputs: Record<string, unknown>) => void;
    /** Told of every resource the engine is asked to create, with the transforms its options declare (for tests). */
    onResource?: (args: pulumi.runtime.MockResourceArgs) => void;
    /** Neutron's quotas (default: 10 of everything). */
    networkQuota?: Partial<Record<"network" | "router" | "floatingip" | "securityGroup", number>>;
}

/**
 * What the simulated cloud makes up, for render's report: values that on a real cloud come
 * from OpenStack at deploy time.
 */
export function simulatedValues(o: MockCloudOptions = {}): Record<string, string> {
    return {
        floatingIp: o.floatingIp ?? "192.0.2.10",
        ids: "every cloud ID is `<resource name>-id`; image IDs are `image-<hash of the name>-id`",
        networkMtu: `${o.createdNetworkMtu ?? 1450} for a created network, ${o.existingNetworkMtu ?? 1500} for an existing one`,
        rolesHeld: (o.rolesHeld ?? DEFAULT_ROLES_HELD).join(", "),
        previousDeployment: o.previousOutputs ? "as given" : "none (a first `up`)",
        quotasAndFlavors: "the flavor has 8 vCPUs, 32 GiB and a 50 GB disk, the image exists, quotas leave room",
        keystoneUser: o.user ? `${o.user.name} (${o.user.id})` : "mock-user (mock-user-id), the application credentials' owner",
        generatedKeys: "ED25519 keys derived from their resource names (placeholders, not secret)",
    };
}

/** Roles the simulated user holds unless told otherwise. */
const DEFAULT_ROLES_HELD = ["member", "load-balancer_member", "reader"];

/** SSH wire-format string: uint32 length, then the bytes. */
function sshString(b: Buffer | string): Buffer {
    const data = typeof b === "string" ? Buffer.from(b) : b;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, data]);
}

/**
 * A deterministic ED25519 key pair in OpenSSH formats, derived from a public seed: a
 * stand-in for a key `@pulumi/tls` generates at deploy time. It is a real key only so
 * that rendered artifacts are realistic; being derived from a name, it is no secret.
 */
export function mockOpensshKeyPair(seed: string): { privateKeyOpenssh: string; publicKeyOpenssh: string } {
    const secret = createHash("sha256").update(`capi-mgmt render placeholder: ${seed}`).digest();
    const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), secret]);
    const key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
    const pub = createPublicKey(key).export({ format: "der", type: "spki" }).subarray(-32);
    const publicBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
    const check = secret.subarray(0, 4);
    let privateSection = Buffer.concat([
        check,
        check,
        sshString("ssh-ed25519"),
        sshString(pub),
        sshString(Buffer.concat([secret, pub])),
        sshString(`render placeholder for ${seed}`),
    ]);
    const padding = Buffer.from([1, 2, 3, 4, 5, 6, 7].slice(0, (8 - (privateSection.length % 8)) % 8));
    privateSection = Buffer.concat([privateSection, padding]);
    const blob = Buffer.concat([
        Buffer.from("openssh-key-v1\0", "latin1"),
        sshString("none"),
        sshString("none"),
        sshString(""),
        Buffer.from([0, 0, 0, 1]),
        sshString(publicBlob),
        sshString(privateSection),
    ]);
    const body = blob
        .toString("base64")
        .replace(/(.{70})/g, "$1\n")
        .trim();
    return {
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\n`,
        publicKeyOpenssh: `ssh-ed25519 ${publicBlob.toString("base64")}\n`,
    };
}

/** The ID the simulated Glance gives an image name. */
function mockImageId(name: string): string {
    return `image-${createHash("sha256").update(name).digest("hex").slice(0, 8)}-id`;
}

/** The simulated cloud: computed outputs of resources and results of data sources. */
export class MockCloud implements pulumi.runtime.Mocks {
    constructor(private readonly options: MockCloudOptions = {}) {}

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        this.options.onResource?.(args);
        const inputs = args.inputs as Record<string, unknown>;
        const id = `${args.name}-id`;
        switch (args.type) {
            case "tls:index/privateKey:PrivateKey":
                return { id, state: { ...inputs, ...mockOpensshKeyPair(args.name) } };
            case "openstack:networking/network:Network":
                return { id, state: { ...inputs, mtu: inputs.mtu ?? this.options.createdNetworkMtu ?? 1450 } };
            case "openstack:networking/floatingIp:FloatingIp":
                return { id, state: { ...inputs, address: this.options.floatingIp ?? "192.0.2.10" } };
            case "openstack:networking/port:Port":
                return { id, state: { ...inputs, allFixedIps: ["10.0.0.10"] } };
            case "openstack:identity/applicationCredential:ApplicationCredential":
                return { id, state: { ...inputs, secret: `mock-app-credential-secret-${args.name}`, projectId: "mock-project-id" } };
            case "command:remote:Command":
                return { id, state: { ...inputs, stdout: "", stderr: "" } };
            case "pulumi:pulumi:StackReference":
                return { id: String(inputs.name), state: { name: inputs.name, outputs: this.options.previousOutputs ?? {}, secretOutputNames: [] } };
            default:
                return { id, state: inputs };
        }
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        const inputs = args.inputs as Record<string, unknown>;
        this.options.onCall?.(args.token, inputs);
        switch (args.token) {
            case "openstack:networking/getNetwork:getNetwork":
                return {
                    ...inputs,
                    id: inputs.networkId ?? `network-${inputs.name}-id`,
                    name: inputs.name ?? this.options.networkNames?.[String(inputs.networkId)] ?? "looked-up-network",
                    mtu: this.options.existingNetworkMtu ?? 1500,
                };
            case "openstack:networking/getSubnet:getSubnet":
                return { ...inputs, id: inputs.subnetId ?? `subnet-${inputs.name}-id`, cidr: "10.20.0.0/24" };
            case "openstack:images/getImage:getImage":
                return { ...inputs, id: mockImageId(String(inputs.name)) };
            case "openstack:images/getImageIds:getImageIds":
                return {
                    ...inputs,
                    id: "images",
                    ids: (this.options.missingImages ?? []).includes(String(inputs.name)) ? [] : [mockImageId(String(inputs.name))],
                };
            case "openstack:compute/getFlavor:getFlavor": {
                const key = String(inputs.name ?? inputs.flavorId);
                const flavor = this.options.flavors ? this.options.flavors[key] : { vcpus: 8, ram: 32768, disk: 50 };
                if (!flavor) {
                    throw new Error(`Your query returned no results. Please change your search criteria and try again.`);
                }
                return { ...inputs, id: `flavor-${key}-id`, ...flavor };
            }
            case "openstack:networking/getPort:getPort": {
                const port = this.options.ports?.[String(inputs.name)];
                if (!port) {
                    throw new Error("No openstack_networking_port_v2 found");
                }
                return { ...inputs, id: `port-${String(inputs.name)}-id`, ...port };
            }
            case "openstack:compute/getLimitsV2:getLimitsV2":
                if (this.options.quotasHidden) {
                    throw new Error("Policy doesn't allow os_compute_api:limits to be performed.");
                }
                return {
                    ...inputs,
                    id: "limits",
                    maxTotalInstances: 10,
                    totalInstancesUsed: 0,
                    maxTotalCores: 40,
                    totalCoresUsed: 0,
                    maxTotalRamSize: 163840,
                    totalRamUsed: 0,
                    ...this.options.computeLimits,
                };
            case "openstack:networking/getQuotaV2:getQuotaV2":
                if (this.options.quotasHidden) {
                    throw new Error("(rule:get_quota) is disallowed by policy");
                }
                return { ...inputs, id: "quota", network: 10, router: 10, floatingip: 10, securityGroup: 10, ...this.options.networkQuota };
            case "openstack:identity/getAuthScope:getAuthScope": {
                const deployed = this.options.previousOutputs?.[DEPLOYED_OUTPUT] as DeployedState | undefined;
                const user = this.options.user ?? (deployed ? recordedOwner({ kind: "deployed", state: deployed }) : undefined);
                return {
                    ...inputs,
                    id: "current",
                    projectId: "mock-project-id",
                    userId: user?.id ?? "mock-user-id",
                    userName: user?.name ?? "mock-user",
                    roles: (this.options.rolesHeld ?? DEFAULT_ROLES_HELD).map((r) => ({
                        roleName: r,
                        roleId: `${r}-id`,
                    })),
                    serviceCatalogs: [
                        {
                            id: "identity-id",
                            name: "keystone",
                            type: "identity",
                            endpoints: [
                                { id: "e1", interface: "internal", region: "RegionOne", regionId: "RegionOne", url: "http://keystone.internal:5000" },
                                { id: "e2", interface: "public", region: "RegionOne", regionId: "RegionOne", url: "https://keystone.example.test:5000/v3/" },
                            ],
                        },
                        {
                            // Swift (backupObjectStorage), on the identity endpoint's host: the proxy's NO_PROXY is unchanged by it.
                            id: "object-store-id",
                            name: "swift",
                            type: "object-store",
                            endpoints: [
                                {
                                    id: "e3",
                                    interface: "public",
                                    region: "RegionOne",
                                    regionId: "RegionOne",
                                    url: "https://keystone.example.test:8080/v1/AUTH_mock-project-id",
                                },
                            ],
                        },
                    ],
                };
            }
            case "command:local:run":
                // The `lastBackup` output's read of the server (src/backup/backupStatus.ts).
                return { ...inputs, stdout: this.options.backupStatus ?? "", stderr: "" };
            default:
                return inputs;
        }
    }
}
