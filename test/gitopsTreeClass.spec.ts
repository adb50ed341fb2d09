/**
 * The GitOps tree's ClusterClass rules: the create-only variables (what CAPO's webhook refuses to
 * change) and the workers' and control plane's remediation limits. Shared helpers:
 * gitopsTreeHelpers.ts.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { classOf, classVariables, CREATE_ONLY_RULE, schemaProblems } from "../render/classVariables";
import { TreeObject } from "../render/gitopsTree";
import { objectsOf as objects, ofKind } from "../render/gitopsRules";
import { environment, TREE } from "./gitopsTreeHelpers";

/**
 * OpenStackCluster spec paths CAPO v0.14.7's update webhook lets change
 * (pkg/webhooks/openstackcluster_webhook.go, ValidateUpdate); it refuses a change anywhere
 * else in spec ("cannot be modified"). Paths relative to spec.
 */
const CAPO_MUTABLE_CLUSTER_PATHS = [
    "/identityRef",
    "/bastion",
    "/managedSecurityGroups/allNodesSecurityGroupRules",
    "/managedSecurityGroups/controlPlaneNodesSecurityGroupRules",
    "/managedSecurityGroups/workerNodesSecurityGroupRules",
    "/managedSecurityGroups/allowAllInClusterTraffic",
    "/managedSubnets/0/dnsNameservers",
    "/apiServerLoadBalancer/allowedCIDRs",
    "/apiServerLoadBalancer/monitor",
    "/controlPlaneAvailabilityZones",
    "/controlPlaneOmitAvailabilityZone",
];

/**
 * CAPI v1.14's arithmetic for a MachineHealthCheck's remediation limit
 * (core/reconcilers/machinehealthcheck: isAllowedRemediation, getMaxUnhealthy): unhealthy =
 * expected - healthy (machines still starting count); `unhealthyInRange` "[a-b]" allows
 * a <= unhealthy <= b; else `unhealthyLessThanOrEqualTo` (default 100%), a percentage
 * scaled to the expected machines and rounded down (intstr.GetScaledValueFromIntOrPercent,
 * roundUp false), allows unhealthy <= limit.
 */
function remediationAllowed(
    triggerIf: { unhealthyLessThanOrEqualTo?: number | string; unhealthyInRange?: string } | undefined,
    expected: number,
    unhealthy: number,
): boolean {
    if (triggerIf?.unhealthyInRange) {
        const m = /^\[(\d+)-(\d+)\]$/.exec(triggerIf.unhealthyInRange);
        assert.ok(m, `unhealthyInRange ${triggerIf.unhealthyInRange}`);
        return unhealthy >= Number(m[1]) && unhealthy <= Number(m[2]);
    }
    const limit = triggerIf?.unhealthyLessThanOrEqualTo ?? "100%";
    let max: number;
    if (typeof limit === "number") {
        max = limit;
    } else {
        const m = /^(\d+)%$/.exec(limit);
        assert.ok(m, `unhealthyLessThanOrEqualTo ${limit} is neither a number nor a percentage`);
        max = Math.floor((Number(m[1]) * expected) / 100);
    }
    return unhealthy <= max;
}

/** Variables a README section lists, as `name` in the first column of its table. */
function readmeVariables(readme: string, heading: string): string[] {
    const section = readme.split(/^## /m).find((s) => s.startsWith(heading));
    assert.ok(section, `no section "${heading}"`);
    return [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]).sort();
}

describe("GitOps tree (gitops/)", () => {
    describe("create-only variables", () => {
        const devClass = () => classOf(ofKind(environment("dev"), "Cluster")[0], objects(environment("dev")));
        const ruled = () =>
            classVariables(devClass())
                .filter((v) =>
                    (v.schema.openAPIV3Schema["x-kubernetes-validations"] ?? []).some(
                        (r) => r.rule === CREATE_ONLY_RULE || r.rule.startsWith(`${CREATE_ONLY_RULE} || `),
                    ),
                )
                .map((v) => v.name)
                .sort();

        it("carry the rule on every variable that feeds an OpenStackCluster field CAPO's webhook refuses to change", () => {
            const feeding = new Set<string>();
            for (const patch of devClass().spec.patches as {
                definitions: {
                    selector: { matchResources: { infrastructureCluster?: boolean } };
                    jsonPatches: { path: string; valueFrom?: { variable?: string } }[];
                }[];
            }[]) {
                for (const def of patch.definitions.filter((d) => d.selector.matchResources.infrastructureCluster)) {
                    for (const p of def.jsonPatches) {
                        const field = p.path.replace(/^\/spec\/template\/spec/, "");
                        const mutable = CAPO_MUTABLE_CLUSTER_PATHS.some((m) => field === m || field.startsWith(`${m}/`));
                        if (!mutable && p.valueFrom?.variable) {
                            // A field of an object variable (apiLoadBalancer.provider): the rule is on the variable.
                            feeding.add(p.valueFrom.variable.split(".")[0]);
                        }
                    }
                }
            }
            assert.deepStrictEqual([...feeding].sort(), ["apiLoadBalancer", "externalNetwork", "mtu", "nodeCidr"]);
            assert.deepStrictEqual(ruled(), [...feeding].sort());
        });

        it("are listed in gitops/README.md, with nothing else", () => {
            assert.deepStrictEqual(readmeVariables(fs.readFileSync(path.join(TREE, "README.md"), "utf8"), "Create-only variables"), ruled());
        });

        // Cluster API's webhook evaluating the rules on a change: classInfrastructure.integration.ts.
        it("carry no other transition rule than create-only (apiLoadBalancer: but for a change to cloud-default)", () => {
            const rules = classVariables(devClass()).flatMap((v) =>
                (v.schema.openAPIV3Schema["x-kubernetes-validations"] ?? []).filter((r) => /\boldSelf\b/.test(r.rule)).map((r) => `${v.name}: ${r.rule}`),
            );
            assert.deepStrictEqual(rules.sort(), [
                `apiLoadBalancer: ${CREATE_ONLY_RULE} || self.provider == 'cloud-default'`,
                `externalNetwork: ${CREATE_ONLY_RULE}`,
                `mtu: ${CREATE_ONLY_RULE}`,
                `nodeCidr: ${CREATE_ONLY_RULE}`,
            ]);
        });

        it("keeps mtu 0 (the cloud's) or 1280 to 9000", () => {
            const schema = classVariables(devClass()).find((v) => v.name === "mtu")!.schema.openAPIV3Schema;
            for (const ok of [0, 1280, 1450, 9000]) {
                assert.deepStrictEqual(schemaProblems(ok, schema, "mtu"), [], String(ok));
            }
            for (const bad of [1, 1279, 9001, -1, 1500.5]) {
                assert.notDeepStrictEqual(schemaProblems(bad, schema, "mtu"), [], String(bad));
            }
        });
    });

    describe("remediation", () => {
        let clusterClass: TreeObject;
        before(() => {
            const env = environment("prod");
            clusterClass = classOf(ofKind(env, "Cluster")[0], objects(env));
        });

        it("computes the limit as Cluster API v1.14 does (40% of one worker is none)", () => {
            assert.strictEqual(remediationAllowed({ unhealthyLessThanOrEqualTo: "40%" }, 1, 1), false);
            assert.strictEqual(remediationAllowed({ unhealthyLessThanOrEqualTo: "40%" }, 3, 1), true);
            assert.strictEqual(remediationAllowed({ unhealthyLessThanOrEqualTo: "40%" }, 10, 4), true);
            assert.strictEqual(remediationAllowed({ unhealthyLessThanOrEqualTo: "40%" }, 10, 5), false);
            assert.strictEqual(remediationAllowed(undefined, 1, 1), true);
            assert.strictEqual(remediationAllowed({ unhealthyInRange: "[1-2]" }, 10, 3), false);
        });

        it("replaces a failed worker in pools of 1, 2, 3 and 10, one at a time, and stops when many fail at once", () => {
            const remediation = clusterClass.spec.workers.machineDeployments.find((c: { class: string }) => c.class === "default-worker").healthCheck
                .remediation;
            assert.strictEqual(remediation.maxInFlight, 1);
            for (const workers of [1, 2, 3, 10]) {
                assert.ok(remediationAllowed(remediation.triggerIf, workers, 1), `${workers} workers, one unhealthy: not replaced`);
            }
            // A rollout's new machine (still starting) and a failed one: still replaced.
            assert.ok(remediationAllowed(remediation.triggerIf, 10, 2));
            assert.ok(!remediationAllowed(remediation.triggerIf, 3, 3), "3 of 3 workers unhealthy: the cloud, not the nodes");
            assert.ok(!remediationAllowed(remediation.triggerIf, 10, 5), "half the pool unhealthy: the cloud, not the nodes");
        });

        // KubeadmControlPlane then decides: one machine at a time, never losing etcd quorum, and
        // not at all for a single initialized control plane machine (remediation.go, v1.14).
        it("sets no health-check limit on the control plane, leaving remediation to KubeadmControlPlane", () => {
            const triggerIf = clusterClass.spec.controlPlane.healthCheck.remediation?.triggerIf;
            for (const replicas of [1, 3]) {
                assert.ok(remediationAllowed(triggerIf, replicas, 1), `${replicas} control plane machines`);
            }
        });
    });
});
