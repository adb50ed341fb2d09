/**
 * etcd's disk (issue 21, "prod etcd on Cinder versus SCS's -100s local-disk flavors"): the
 * tree's environments, built by `kubectl kustomize` with the class's patches applied, keep
 * every control plane on a local SSD flavor's disk; `npm run validate`'s rule refuses a
 * control plane on a Cinder root volume or on a flavor whose disk is not a local SSD, unless
 * the Cluster acknowledges it by annotation.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { fluxSettingsData } from "../src/cluster/clusterObjects";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../src/shared/contract";
import { ETCD_STORAGE_ACKNOWLEDGED, ETCD_STORAGE_ANNOTATION, etcdDiskProblems } from "../render/etcdDiskRules";
import { readEnvironment, TreeObject } from "../render/gitopsTree";
import { PROJECT_DIR } from "./harness";

const TREE = path.join(PROJECT_DIR, "gitops");
const SETTINGS = fluxSettingsData({ workloadNamespace: DEFAULT_WORKLOAD_NAMESPACE, managementAddress: "192.0.2.10" });
const cache = new Map<string, TreeObject[]>();
const objects = (env: string): TreeObject[] => {
    if (!cache.has(env))
        cache.set(
            env,
            readEnvironment(TREE, `./clusters/${env}`, SETTINGS).units.flatMap((u) => u.documents.map((d) => d.object)),
        );
    return cache.get(env)!;
};
const cluster = (env: string) => structuredClone(objects(env).find((o) => o.kind === "Cluster" && o.metadata.name === "workload-1")!);
const others = (env: string) => objects(env).filter((o) => o.kind !== "Cluster");
const withVars = (c: TreeObject, vars: Record<string, unknown>) => {
    const out = structuredClone(c);
    for (const [name, value] of Object.entries(vars)) {
        const list = out.spec.topology.variables as { name: string; value: unknown }[];
        const v = list.find((x) => x.name === name);
        if (value === undefined) out.spec.topology.variables = list.filter((x) => x.name !== name);
        else if (v) v.value = value;
        else list.push({ name, value });
    }
    return out;
};
describe("etcd's disk", () => {
    for (const env of ["dev", "prod"]) {
        it(`keeps ${env}'s control plane off network storage, and the rule accepts the tree`, () => {
            assert.deepStrictEqual(etcdDiskProblems(objects(env)), []);
        });
    }

    it("gives prod's workers, on a flavor without a disk, the Cinder root volume, and its control plane SCS's local SSD flavor", () => {
        // Which machine template takes rootVolume is Cluster API's patching, checked on the test bed
        // (test/integration/classInfrastructure.integration.ts, "etcd's disk").
        const vars = cluster("prod").spec.topology.variables as { name: string; value: unknown }[];
        assert.strictEqual(vars.find((v) => v.name === "controlPlaneFlavor")!.value, "SCS-4V-16-100s");
        assert.deepStrictEqual(vars.find((v) => v.name === "rootVolume")!.value, { sizeGiB: 50 });
    });

    it("boots a control plane without a local SSD from the root volume, and the rule refuses it naming the Cluster and the way out", () => {
        const onCinder = withVars(cluster("prod"), { controlPlaneFlavor: "SCS-4V-16" });
        const problems = etcdDiskProblems([...others("prod"), onCinder]);
        assert.strictEqual(problems.length, 1, problems.join("\n"));
        assert.match(
            problems[0],
            /^Cluster workload-1: etcd would run on network storage: its control plane boots from a Cinder volume \(rootVolume; controlPlaneFlavor SCS-4V-16 has no local SSD\)/,
        );
        assert.match(problems[0], /SCS-4V-16-100s/);
        assert.match(problems[0], new RegExp(`${ETCD_STORAGE_ANNOTATION}: ${ETCD_STORAGE_ACKNOWLEDGED}`));
    });

    it("refuses a control plane flavor whose disk is network (n) or unspecified, and accepts local NVMe (p)", () => {
        for (const flavor of ["SCS-2V-4-20n", "SCS-2V-4-20"]) {
            const problems = etcdDiskProblems([...others("dev"), withVars(cluster("dev"), { controlPlaneFlavor: flavor })]);
            assert.match(problems.join("\n"), new RegExp(`controlPlaneFlavor ${flavor}'s disk is not a local SSD`), flavor);
        }
        assert.deepStrictEqual(etcdDiskProblems([...others("dev"), withVars(cluster("dev"), { controlPlaneFlavor: "SCS-2V-4-20p" })]), []);
    });

    it("accepts network storage the Cluster acknowledges by annotation", () => {
        const ack = withVars(cluster("prod"), { controlPlaneFlavor: "SCS-4V-16" });
        ack.metadata.annotations = { ...(ack.metadata.annotations ?? {}), [ETCD_STORAGE_ANNOTATION]: ETCD_STORAGE_ACKNOWLEDGED };
        assert.deepStrictEqual(etcdDiskProblems([...others("prod"), ack]), []);
    });

    it("names the symptom and the fix in gitops/README.md", () => {
        const readme = fs.readFileSync(path.join(TREE, "README.md"), "utf8");
        const t = readme.split(/^## /m).find((s) => s.startsWith("Troubleshooting"))!;
        assert.match(t, /etcd would run on network storage/);
        assert.match(readme, /^### etcd's disk$/m);
    });
});
