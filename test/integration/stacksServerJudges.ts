/**
 * The stack suite's last tests (registered by stacks.integration.ts on its control plane): the
 * ClusterResourceSet delivering its Secret, and the negative controls where the server judges.
 */
import * as assert from "assert";
import { stringify as toYaml } from "yaml";
import { cloudConfigResourceData } from "../../src/cluster/clusterObjects";
import { renderCloudConf } from "../../src/cluster/cloudCredentials";
import { KubeObject } from "./harness/controlPlane";
import { at, clone, conditionTrue } from "./harness/objects";
import { waitFor } from "./harness/processes";
import { reportReachable } from "./harness/simulated";
import { R, refusal, StackSuite } from "./stacksSuite";

/** Registers these tests in the calling stack suite (stacks.integration.ts), in this order. */
export function serverJudgesTests(s: StackSuite): void {
    const { c, poll, clusters, gitopsDocs } = s;
    it("ClusterResourceSet selects every example Cluster and delivers its Secret's manifest", async function () {
        const crs = s
            .rendered()
            .manifests.flatMap((m) => m.docs)
            .find((d) => d.kind === "ClusterResourceSet");
        assert.ok(crs, "rendered manifests have no ClusterResourceSet");
        const ns = crs.metadata.namespace as string;
        const matchLabels = at(crs, "spec.clusterSelector.matchLabels") as Record<string, string>;
        const selector = Object.entries(matchLabels)
            .map(([k, v]) => `${k}=${v}`)
            .join(",");
        const selected = c()
            .list(R.Cluster, { namespace: ns, selector })
            .map((x) => x.metadata.name)
            .sort();
        assert.deepStrictEqual(
            selected,
            clusters()
                .filter((x) => x.metadata.namespace === ns)
                .map((x) => x.metadata.name)
                .sort(),
            "the ClusterResourceSet's selector must select exactly the example Clusters",
        );

        // The rendered Secret has its value redacted; fill it the way the program does.
        const resources = at(crs, "spec.resources") as { kind: string; name: string }[];
        const secretDoc = s
            .rendered()
            .manifests.flatMap((m) => m.docs)
            .find((d) => d.kind === "Secret" && d.metadata.name === resources[0].name && d.metadata.namespace === ns);
        assert.ok(secretDoc, `no rendered Secret ${resources[0].name}`);
        const filled = clone(secretDoc) as KubeObject & { stringData: Record<string, string> };
        filled.stringData = cloudConfigResourceData(
            renderCloudConf({ authUrl: "https://keystone.example:5000/v3", id: "testbed-id", secret: "testbed-secret" }),
        );
        assert.deepStrictEqual(
            Object.keys(filled.stringData).sort(),
            Object.keys((secretDoc as unknown as { stringData: object }).stringData).sort(),
            "the program's data keys differ from the rendered Secret's",
        );
        const r = c().apply(toYaml(filled));
        assert.strictEqual(r.status, 0, `resource-set Secret refused:\n${r.stderr}`);

        // Cluster API applies the resources once it can reach the cluster: infrastructure
        // provisioned, control plane initialized, kubeconfig Secret. Simulated here, as CAPO and
        // KCP would report it; the "workload cluster" is this API server itself.
        for (const name of selected) {
            const live = c().get(R.Cluster, name, ns);
            reportReachable(c(), ns, name, at(live, "spec.infrastructureRef.name") as string, at(live, "spec.controlPlaneRef.name") as string);
        }
        const target = (await import("yaml")).parse(filled.stringData[Object.keys(filled.stringData)[0]]) as KubeObject;
        await waitFor(
            `${target.metadata.namespace}/${target.metadata.name} delivered by the ClusterResourceSet`,
            () => {
                return c().get("secrets", target.metadata.name, target.metadata.namespace) ? true : undefined;
            },
            poll(),
        );
        for (const name of selected) {
            const binding = await waitFor(
                `ClusterResourceSetBinding of ${name}`,
                () => {
                    const b = c().get(R.ClusterResourceSetBinding, name, ns);
                    const applied = ((at(b, "spec.bindings") as { clusterResourceSetName: string; resources?: { applied: boolean }[] }[]) ?? []).find(
                        (x) => x.clusterResourceSetName === crs.metadata.name,
                    );
                    return applied?.resources?.every((x) => x.applied) && applied.resources.length > 0 ? b : undefined;
                },
                poll(),
            );
            assert.ok(binding);
        }
        const delivered = c().get("secrets", target.metadata.name, target.metadata.namespace) as unknown as { data: Record<string, string> };
        assert.deepStrictEqual(Object.keys(delivered.data).sort(), Object.keys((target as unknown as { stringData: object }).stringData).sort());
    });

    describe("negative controls: the server judges", function () {
        it("refuses a change of an immutable ORC Image field", function () {
            const img = gitopsDocs().find((d) => d.kind === "Image");
            assert.ok(img, "the GitOps tree has no ORC Image");
            // The Image as the tree has it must exist (and be accepted) for an update to be judged.
            const base = c().apply(toYaml(img), { fieldManager: "kustomize-controller" });
            assert.strictEqual(base.status, 0, `precondition: the tree's Image is refused:\n${base.stderr}`);
            const changed = clone(img) as KubeObject & { spec: { managementPolicy?: string } };
            changed.spec.managementPolicy = changed.spec.managementPolicy === "unmanaged" ? "managed" : "unmanaged";
            const msg = refusal(c(), ["apply", "--server-side", "--field-manager=kustomize-controller", "-f", "-"], toYaml(changed));
            assert.match(msg, /managementPolicy is immutable/);
            const content = at(img, "spec.resource.content");
            if (content) {
                const c2 = clone(img);
                (at(c2, "spec.resource.content.download") as { url: string }).url += "?changed";
                assert.match(refusal(c(), ["apply", "--server-side", "--field-manager=kustomize-controller", "-f", "-"], toYaml(c2)), /content is immutable/);
            }
        });

        it("refuses a change of a create-only OpenStackCluster field (CAPO's webhook)", function () {
            const cl = clusters()[0];
            const live = c().get(R.Cluster, cl.metadata.name, cl.metadata.namespace);
            const name = at(live, "spec.infrastructureRef.name") as string | undefined;
            assert.ok(name, `precondition: Cluster ${cl.metadata.name} has no OpenStackCluster (topology not expanded, see above)`);
            const msg = refusal(c(), [
                "patch",
                R.OpenStackCluster,
                name,
                "-n",
                cl.metadata.namespace as string,
                "--type=merge",
                "-p",
                JSON.stringify({ spec: { externalNetwork: { filter: { name: "another-external-network" } } } }),
            ]);
            // CAPO's validating webhook (pkg/webhooks) is the only judge that says this.
            assert.match(msg, new RegExp(`OpenStackCluster "${name}" is invalid: spec: Forbidden: cannot be modified`));
        });

        it("refuses a Cluster variable outside the ClusterClass schema (Cluster API's webhook)", function () {
            // Cluster API defers the check while the class has not been read: it must have been.
            const className = at(clusters()[0], "spec.topology.classRef.name") as string;
            const cc = c().get(R.ClusterClass, className, clusters()[0].metadata.namespace);
            assert.ok(conditionTrue(cc, "VariablesReady"), `precondition: ClusterClass ${className} missing or its variables not read (refused above?)`);
            const cl = clone(clusters()[0]);
            cl.metadata.name = `${cl.metadata.name}-invalid`;
            const vars = at(cl, "spec.topology.variables") as { name: string; value: unknown }[];
            vars.push({ name: "notAClassVariable", value: "x" });
            const msg = refusal(c(), ["apply", "--server-side", "-f", "-"], toYaml(cl));
            // Cluster API's Cluster webhook checks the variables against the ClusterClass's status.
            assert.match(msg, /Cluster ".*-invalid" is invalid: spec\.topology\.variables\[notAClassVariable\]: Invalid value: .*variable is not defined/);

            const wrongType = clone(clusters()[0]);
            wrongType.metadata.name = `${wrongType.metadata.name}-wrongtype`;
            const v = (at(wrongType, "spec.topology.variables") as { name: string; value: unknown }[]).find((x) => x.name === "apiAllowedCidrs");
            assert.ok(v, "the example Cluster sets no apiAllowedCidrs");
            v.value = ["not-a-cidr"];
            const msg2 = refusal(c(), ["apply", "--server-side", "-f", "-"], toYaml(wrongType));
            assert.match(msg2, /spec\.topology\.variables\[apiAllowedCidrs\]/);
            assert.match(msg2, /should match|pattern/i);
        });

        it("refuses a Flux Kustomization with an unknown field (strict field validation)", function () {
            const k = clone(s.rendered().kustomizations[0].kustomization) as KubeObject & { spec: Record<string, unknown> };
            k.spec.notAField = true;
            const msg = refusal(c(), ["apply", "--server-side", "--field-manager=kustomize-controller", "-f", "-"], toYaml(k));
            assert.match(msg, /unknown field "spec.notAField"|field not declared in schema/);
            // The same object without the field is accepted: the refusal is about the field.
            const ok = c().apply(toYaml(s.rendered().kustomizations[0].kustomization), { fieldManager: "kustomize-controller" });
            assert.strictEqual(ok.status, 0, ok.stderr);
            assert.ok(c().get(R.Kustomization, k.metadata.name, k.metadata.namespace));
        });
    });
}
