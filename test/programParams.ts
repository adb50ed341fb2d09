/**
 * The resource types and helpers the mock-engine program specs (test/program*.spec.ts) share.
 */
import { reveal } from "../render/engine";
import { Run, runStack } from "./harness";

export const T = {
    component: (n: string) => `capi-mgmt:index:${n}`,
    network: "openstack:networking/network:Network",
    subnet: "openstack:networking/subnet:Subnet",
    router: "openstack:networking/router:Router",
    routerInterface: "openstack:networking/routerInterface:RouterInterface",
    secGroup: "openstack:networking/secGroup:SecGroup",
    rule: "openstack:networking/secGroupRule:SecGroupRule",
    key: "tls:index/privateKey:PrivateKey",
    keypair: "openstack:compute/keypair:Keypair",
    appCred: "openstack:identity/applicationCredential:ApplicationCredential",
    port: "openstack:networking/port:Port",
    instance: "openstack:compute/instance:Instance",
    fip: "openstack:networking/floatingIp:FloatingIp",
    fipAssoc: "openstack:networking/floatingIpAssociate:FloatingIpAssociate",
    command: "command:remote:Command",
    provider: "pulumi:providers:openstack",
};

/** Plain input value (secrets unwrapped). */
export function input(r: { inputs: Record<string, unknown> }, key: string): unknown {
    return reveal(r.inputs[key]);
}

/** The dev and prod stacks, each evaluated on the mock engine (for a suite's `before`). */
export async function devAndProd(): Promise<{ dev: Run; prod: Run }> {
    return { dev: await runStack("dev"), prod: await runStack("prod") };
}
