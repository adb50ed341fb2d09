/**
 * The proxy environments of the management server as Outputs, from `capi-mgmt:proxy` and the
 * endpoints the stack learns at run time (src/host/proxy.ts renders them; this only wires the
 * Outputs, it creates no resource). Both are undefined without a proxy.
 */
import * as pulumi from "@pulumi/pulumi";
import { effectiveNoProxy, KIND_POD_CIDR, KIND_SERVICE_CIDR, ProxyEnv, proxyEnv, ProxySettings } from "./proxy";

/** What the proxy environments are made of. */
export interface ProxyOutputsArgs {
    /** `capi-mgmt:proxy`; undefined: direct connections. */
    proxy?: ProxySettings;
    /** The node CIDR the stack's own subnet has; undefined with an existing network (its CIDR is not ours). */
    nodeCidr?: string;
    /** The identity endpoint ORC and CAPO authenticate at, reached directly past the proxy. */
    authUrl: pulumi.Input<string>;
    /** The other public endpoints of that project's catalog, reached directly too. */
    openstackEndpoints: pulumi.Input<string[]>;
}

/** The host's proxy environment and, given the server's addresses, that of what runs on it. */
export interface ProxyOutputs {
    /**
     * The proxy of the host itself (apt, Docker): fixed before the server exists, so without the
     * server's own addresses (the node CIDR covers its fixed IP; neither apt nor Docker ever calls
     * the floating IP).
     */
    host: pulumi.Output<ProxyEnv | undefined>;
    /** The proxy of what runs on the server (tools, kind, kubectl, clusterctl, the controllers): the host's NO_PROXY plus the server's own addresses. */
    cluster: (fixedIp: pulumi.Input<string>, floatingIp: pulumi.Input<string>) => pulumi.Output<ProxyEnv | undefined>;
}

/** The proxy environments of {@link ProxyOutputs}. */
export function proxyOutputs(args: ProxyOutputsArgs): ProxyOutputs {
    const { proxy } = args;
    const base = { serviceCidr: KIND_SERVICE_CIDR, podCidr: KIND_POD_CIDR, nodeCidr: args.nodeCidr, user: proxy?.noProxy ?? [] };
    const envWith = (serverAddresses: pulumi.Input<string>[]): pulumi.Output<ProxyEnv | undefined> =>
        proxy
            ? pulumi
                  .all([args.authUrl, args.openstackEndpoints, pulumi.all(serverAddresses)])
                  .apply(([authUrl, openstackEndpoints, addresses]) =>
                      proxyEnv(proxy, effectiveNoProxy({ ...base, serverAddresses: addresses, authUrl, openstackEndpoints })),
                  )
            : pulumi.output(undefined);
    return { host: envWith([]), cluster: (fixedIp, floatingIp) => envWith([fixedIp, floatingIp]) };
}
