import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { cidrSlug, parseCidr } from "../shared/net";

/** TCP port of the management cluster's Kubernetes API. */
export const KUBE_API_PORT = 6443;

/** Arguments of {@link ServerSecurityGroup}. */
export interface ServerSecurityGroupArgs {
    /** Prefix of the cloud resource names. */
    prefix: string;
    /** CIDRs that may reach SSH (22/tcp). */
    sshAllowedCidrs: string[];
    /** CIDRs that may reach the Kubernetes API (6443/tcp). */
    apiAllowedCidrs: string[];
}

/** One inbound rule, before it becomes a resource. */
export interface IngressRule {
    /** Stable logical name, derived from purpose and CIDR (reordering the lists changes nothing). */
    name: string;
    /** `tcp`, `icmp` or `ipv6-icmp`. */
    protocol: string;
    /** `IPv4` or `IPv6`, from the CIDR. */
    ethertype: "IPv4" | "IPv6";
    /** The allowed source. */
    cidr: string;
    /** Destination port, for TCP. */
    port?: number;
}

/**
 * The inbound rules of the server: SSH from `sshAllowedCidrs`, the API from
 * `apiAllowedCidrs`, ICMP from both. Nothing else comes in.
 */
export function ingressRules(args: Pick<ServerSecurityGroupArgs, "sshAllowedCidrs" | "apiAllowedCidrs">): IngressRule[] {
    const ethertype = (cidr: string) => (parseCidr(cidr)?.family === 6 ? "IPv6" : "IPv4");
    const tcp = (purpose: string, port: number, cidrs: string[]): IngressRule[] =>
        cidrs.map((cidr) => ({ name: `${purpose}-${cidrSlug(cidr)}`, protocol: "tcp", ethertype: ethertype(cidr), cidr, port }));
    const icmpSources = [...new Set([...args.sshAllowedCidrs, ...args.apiAllowedCidrs])];
    const icmp: IngressRule[] = icmpSources.map((cidr) => ({
        name: `icmp-${cidrSlug(cidr)}`,
        protocol: ethertype(cidr) === "IPv6" ? "ipv6-icmp" : "icmp",
        ethertype: ethertype(cidr),
        cidr,
    }));
    return [...tcp("ssh", 22, args.sshAllowedCidrs), ...tcp("api", KUBE_API_PORT, args.apiAllowedCidrs), ...icmp];
}

/**
 * The management server's security group. Its default egress rules stay (the server
 * downloads tools and images); inbound is limited to the configured CIDRs.
 */
export class ServerSecurityGroup extends pulumi.ComponentResource {
    /** ID of the security group. */
    readonly id: pulumi.Output<string>;
    /** The inbound rules (the server should not be reached before they exist). */
    readonly rules: openstack.networking.SecGroupRule[];

    constructor(name: string, args: ServerSecurityGroupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:ServerSecurityGroup", name, {}, opts);

        const group = new openstack.networking.SecGroup(
            "group",
            { name: `${args.prefix}-mgmt`, description: "capi-mgmt management server: SSH, Kubernetes API and ICMP from allowed CIDRs" },
            { parent: this },
        );
        this.rules = ingressRules(args).map(
            (rule) =>
                new openstack.networking.SecGroupRule(
                    rule.name,
                    {
                        securityGroupId: group.id,
                        direction: "ingress",
                        ethertype: rule.ethertype,
                        protocol: rule.protocol,
                        remoteIpPrefix: rule.cidr,
                        portRangeMin: rule.port,
                        portRangeMax: rule.port,
                        description: `capi-mgmt ${rule.name}`,
                    },
                    { parent: this },
                ),
        );
        this.id = group.id;

        this.registerOutputs({ id: this.id });
    }
}
