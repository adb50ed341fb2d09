import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { ExistingNetwork } from "../config";
import { isUuid } from "../shared/names";
import { ResolvedNetworks } from "../lifecycle/lifecycle";

/** Arguments of {@link Network}. */
export interface NetworkArgs {
    /** Prefix of the cloud resource names. */
    prefix: string;
    /** ID of the external network the router uplinks to. */
    externalNetworkId: pulumi.Input<string>;
    /** IPv4 CIDR of the subnet to create (ignored with `existing`). */
    nodeCidr: string;
    /** DNS servers of the subnet to create; empty keeps the cloud's default. */
    dnsNameservers: string[];
    /** Reuse this network and subnet (looked up by {@link lookUpExistingNetwork}) instead of creating network, subnet and router. */
    existing?: ExistingNetworkIds;
}

/** An `existingNetwork` as OpenStack resolved it. */
export interface ExistingNetworkIds {
    /** ID of the network. */
    networkId: pulumi.Output<string>;
    /** ID of the subnet. */
    subnetId: pulumi.Output<string>;
    /** The network's MTU. */
    mtu: pulumi.Output<number>;
}

/**
 * Looks up `existingNetwork` (by name or ID). Data sources only, no resources: preflight
 * compares the IDs with what the last `up` recorded before anything is created.
 */
export function lookUpExistingNetwork(existing: ExistingNetwork, opts: pulumi.InvokeOptions): ExistingNetworkIds {
    const network = openstack.networking.getNetworkOutput(isUuid(existing.network) ? { networkId: existing.network } : { name: existing.network }, opts);
    const subnet = openstack.networking.getSubnetOutput(
        isUuid(existing.subnet) ? { subnetId: existing.subnet, networkId: network.id } : { name: existing.subnet, networkId: network.id },
        opts,
    );
    return { networkId: network.id, subnetId: subnet.id, mtu: network.apply((n) => n.mtu ?? 1500) };
}

/** The networks the stack looks up, and their IDs as preflight compares them with the last `up`'s. */
export interface NetworkLookUps {
    /** The external network (`capi-mgmt:externalNetwork`, by name or ID). */
    external: pulumi.Output<openstack.networking.GetNetworkResult>;
    /** `capi-mgmt:existingNetwork`'s network and subnet, when set. */
    existing?: ExistingNetworkIds;
    /** The IDs preflight checks against the deployed state. */
    resolved: pulumi.Output<ResolvedNetworks>;
}

/** Looks up the external network and `existingNetwork` (data sources only, no resources). */
export function lookUpNetworks(externalNetwork: string, existingNetwork: ExistingNetwork | undefined, opts: pulumi.InvokeOptions): NetworkLookUps {
    const external = openstack.networking.getNetworkOutput(
        isUuid(externalNetwork) ? { networkId: externalNetwork, external: true } : { name: externalNetwork, external: true },
        opts,
    );
    const existing = existingNetwork ? lookUpExistingNetwork(existingNetwork, opts) : undefined;
    const resolved: pulumi.Output<ResolvedNetworks> = pulumi
        .all([external.id, existing?.networkId, existing?.subnetId])
        .apply(([externalNetworkId, networkId, subnetId]) => ({
            externalNetworkId,
            ...(networkId !== undefined && subnetId !== undefined ? { existing: { networkId, subnetId } } : {}),
        }));
    return { external, existing, resolved };
}

/**
 * The management server's network: a network, an IPv4 subnet, and a router on the
 * external network with an interface in the subnet — or an existing network and subnet.
 */
export class Network extends pulumi.ComponentResource {
    /** ID of the network the server's port lives on. */
    readonly networkId: pulumi.Output<string>;
    /** ID of the subnet the server's address comes from. */
    readonly subnetId: pulumi.Output<string>;
    /** The network's MTU (Docker on the server must not exceed it). */
    readonly mtu: pulumi.Output<number>;
    /**
     * The router interface that connects the subnet to the external network; floating IPs
     * can only be associated once it exists. Undefined for an existing network.
     */
    readonly routerInterface?: openstack.networking.RouterInterface;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:Network", name, {}, opts);

        if (args.existing) {
            this.networkId = args.existing.networkId;
            this.subnetId = args.existing.subnetId;
            this.mtu = args.existing.mtu;
        } else {
            const network = new openstack.networking.Network(
                "network",
                { name: `${args.prefix}-mgmt`, adminStateUp: true, description: "capi-mgmt management network" },
                { parent: this },
            );
            const subnet = new openstack.networking.Subnet(
                "subnet",
                {
                    name: `${args.prefix}-mgmt`,
                    networkId: network.id,
                    cidr: args.nodeCidr,
                    ipVersion: 4,
                    enableDhcp: true,
                    dnsNameservers: args.dnsNameservers,
                },
                { parent: this },
            );
            const router = new openstack.networking.Router(
                "router",
                { name: `${args.prefix}-mgmt`, adminStateUp: true, externalNetworkId: args.externalNetworkId },
                { parent: this },
            );
            this.routerInterface = new openstack.networking.RouterInterface("router-interface", { routerId: router.id, subnetId: subnet.id }, { parent: this });
            this.networkId = network.id;
            this.subnetId = subnet.id;
            this.mtu = network.mtu;
        }

        this.registerOutputs({ networkId: this.networkId, subnetId: this.subnetId, mtu: this.mtu });
    }
}
