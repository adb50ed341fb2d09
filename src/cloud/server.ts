import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { isUuid } from "../shared/names";

/** Login user of the Ubuntu cloud image. */
export const SERVER_USER = "ubuntu";

/**
 * Instance properties whose change must not replace a running server: the image ID the
 * name resolved to at creation (clouds rotate images behind a name), the user-data, the
 * boot volume (built from that image), and `keyPair` (ForceNew in terraform-provider-openstack
 * v1.54.1): the program sets no keypair any more (the login key is in the user-data), and a
 * server created with the old Nova keypair keeps it in its state: ignoring it leaves the new
 * input at the old value, so that server is neither replaced nor updated. A deliberate rebuild
 * bumps `serverGeneration`.
 */
export const SERVER_IGNORED_CHANGES = ["imageId", "imageName", "userData", "blockDevices", "keyPair"];

/** Floating IP properties whose change must not replace the address (see the FloatingIp below). */
export const FLOATING_IP_IGNORED_CHANGES = ["pool"];

/** Arguments of {@link ManagementServer}. */
export interface ManagementServerArgs {
    /** Prefix of the cloud resource names. */
    prefix: string;
    /** Rebuild counter: a new generation is a new server (and port), on purpose. */
    generation: number;
    /** Flavor name or ID. */
    flavor: string;
    /**
     * Image ID to boot a new server from (see src/cloud/preflight.ts: resolved from the
     * `image` setting only when a server is created; ignored after creation).
     */
    imageId: pulumi.Input<string>;
    /** Boot volume size in GiB; 0 boots from the flavor's disk. */
    rootVolumeSize: number;
    /** Availability zone, if any. */
    availabilityZone?: string;
    /** Network of the server's port. */
    networkId: pulumi.Input<string>;
    /** Subnet of the server's fixed IP. */
    subnetId: pulumi.Input<string>;
    /** Security group of the port. */
    securityGroupId: pulumi.Input<string>;
    /** cloud-init user-data (a secret: it carries the SSH host key; it authorizes the login public key). */
    userData: pulumi.Input<string>;
    /** Name of the external network the floating IP comes from. */
    floatingIpPool: pulumi.Input<string>;
    /** What must exist before the floating IP can be associated (the router interface). */
    associateAfter: pulumi.Resource[];
    /**
     * What must have succeeded before this generation's port and server are created: the
     * `serverGeneration` bump guard on a bump (src/lifecycle/rebuildCheck.ts), else nothing.
     */
    createAfter?: pulumi.Input<pulumi.Resource[]>;
    /**
     * Pulumi's `protect` on the server (its boot volume goes only with it) and the floating IP
     * (`capi-mgmt:protect`). See {@link ManagementServer} for what it does to a bump.
     */
    protect: boolean;
}

/** Logical-name suffix of a server generation: none for the first, `-g<N>` after. */
export function generationSuffix(generation: number): string {
    return generation === 1 ? "" : `-g${generation}`;
}

/**
 * Name of the server and of its port in OpenStack, per generation. Preflight looks the
 * port up by it to find a server an earlier, failed `up` created (src/cloud/preflight.ts).
 */
export function serverName(prefix: string, generation: number): string {
    return `${prefix}-mgmt${generationSuffix(generation)}`;
}

/**
 * The management server: a port in the management subnet with the server's security group,
 * an Ubuntu instance on it, and a floating IP associated once the subnet is routed.
 *
 * Port and server are named by generation. A change that replaces the instance but not the
 * port (the keypair's name, i.e. `prefix`; the availability zone) would create the new
 * instance on the port the old one still holds (create-before-delete), which Nova refuses;
 * preflight refuses such changes unless `serverGeneration` is bumped with them, which
 * names a new port and server. A flavor change is a resize in place.
 */
export class ManagementServer extends pulumi.ComponentResource {
    /** The Nova instance. */
    readonly instance: openstack.compute.Instance;
    /** The floating IP association (the server is reachable once it exists). */
    readonly association: openstack.networking.FloatingIpAssociate;
    /** The public address of the server. */
    readonly floatingIp: pulumi.Output<string>;
    /** The server's address in the management subnet. */
    readonly fixedIp: pulumi.Output<string>;

    constructor(name: string, args: ManagementServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:ManagementServer", name, {}, opts);

        const gen = generationSuffix(args.generation);
        const imageId = args.imageId;

        const port = new openstack.networking.Port(
            `port${gen}`,
            {
                name: serverName(args.prefix, args.generation),
                networkId: args.networkId,
                adminStateUp: true,
                fixedIps: [{ subnetId: args.subnetId }],
                securityGroupIds: [args.securityGroupId],
            },
            { parent: this, dependsOn: args.createAfter },
        );

        const bootVolume =
            args.rootVolumeSize > 0
                ? [
                      {
                          uuid: imageId,
                          sourceType: "image",
                          destinationType: "volume",
                          volumeSize: args.rootVolumeSize,
                          bootIndex: 0,
                          deleteOnTermination: true,
                      },
                  ]
                : undefined;

        this.instance = new openstack.compute.Instance(
            `server${gen}`,
            {
                name: serverName(args.prefix, args.generation),
                flavorId: isUuid(args.flavor) ? args.flavor : undefined,
                flavorName: isUuid(args.flavor) ? undefined : args.flavor,
                imageId,
                blockDevices: bootVolume,
                availabilityZone: args.availabilityZone,
                networks: [{ port: port.id }],
                userData: pulumi.secret(args.userData),
                metadata: { "capi-mgmt": args.prefix },
            },
            { parent: this, ignoreChanges: SERVER_IGNORED_CHANGES, dependsOn: args.createAfter, protect: args.protect },
        );

        // `pool` is ForceNew in terraform-provider-openstack v1.54.1
        // (openstack/resource_openstack_networking_floatingip_v2.go): Create resolves the pool
        // *name* to a network ID (networkingNetworkV2ID, first network of that name), and Read
        // sets `pool` to the *current name* of the floating IP's network (networkingNetworkV2Name).
        // The program passes the name its look-up of `externalNetwork` found. So when the cloud
        // renames the external network, the next `up` (without a refresh) sees old name != new
        // name and would replace the floating IP: a new address, unknown to the kind API server's
        // certificate and to every workload cluster's API allow-list, and the association
        // (`floating_ip` ForceNew) replaced with it. With `pool` ignored, the engine diffs the
        // old input instead: no change, with or without a refresh (the bridge's Read rewrites the
        // stored inputs from the refreshed state, so after a refresh the old input is the new name).
        // A real change of external network (another ID) is refused by preflight
        // (src/lifecycle/lifecycle.ts, `externalNetworkId` in `deployed`) whatever the generation, since
        // with `pool` ignored the floating IP would stay on the old network.
        // Real engine (modelled, not run): second `up` no change; a changed `description`
        // (prefix) is an update in place; `destroy` deletes it as before (ignoreChanges plays no
        // part in deletes); with the server gone the address stays allocated to the project and
        // a new generation's association takes it over (port_id is updated in place). Only a
        // replacement for another reason (no other input of the program forces one) would create
        // a floating IP from the current pool name.
        const fip = new openstack.networking.FloatingIp(
            "floating-ip",
            { pool: args.floatingIpPool, description: `capi-mgmt ${args.prefix} management server` },
            { parent: this, protect: args.protect, ignoreChanges: FLOATING_IP_IGNORED_CHANGES },
        );
        // The association waits for the server as well as the port. On a `serverGeneration`
        // bump it moves the address to the new generation's port (`port_id` updated in place);
        // without the server in dependsOn the engine did that as soon as the new port existed,
        // so when Nova then refused the new server (a quota without room for a second server:
        // found by test/integration/openstackEngineLifecycle.ts on the OpenStack test bed, prod's
        // SCS-8V-32 against Nova's default 50 GiB) the running server had lost its floating IP
        // to an unbound port. Now a refused server leaves the address where it was.
        this.association = new openstack.networking.FloatingIpAssociate(
            "floating-ip-association",
            { floatingIp: fip.address, portId: port.id },
            { parent: this, dependsOn: [...args.associateAfter, this.instance], deleteBeforeReplace: true },
        );

        this.floatingIp = fip.address;
        this.fixedIp = port.allFixedIps.apply((ips) => ips[0] ?? "");

        this.registerOutputs({ floatingIp: this.floatingIp, instanceId: this.instance.id });
    }
}
