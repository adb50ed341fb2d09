import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderHostScript } from "../src/host/hostScripts";
import { CLUSTER_CRD, FakeCapi, FakeObject, KUSTOMIZATION_CRD } from "./fakes/teardownFakes";
import { assertSuccess, makeTempDir, skipTest } from "./fakes/shell";
import { KIND_CLUSTER, namespaceOf, populate, words } from "./fakes/teardownCalls";

/** `kubectl` from PATH when it is a real one (the fakes are never on this process's PATH). */
function realKubectlWorks(): boolean {
    return spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
}

/** Evaluates a jsonpath template with the real kubectl, offline, on `data` (an object or a List). */
function realJsonpath(dir: string, template: string, data: object): string {
    const file = path.join(dir, `input-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(data));
    // `annotate --local` prints each object of a List on its own: evaluate a range's body per item.
    const range = /^\{range \.items\[\*\]\}(.*)\{end\}$/s.exec(template);
    const isList = "items" in data;
    assert.ok(!isList || range, `a list template must be one {range .items[*]}: ${template}`);
    const r = spawnSync(
        "kubectl",
        ["annotate", "--local", "-f", file, "fake.test/evaluated=true", "--kubeconfig", "/dev/null", "-o", `jsonpath=${isList ? range![1] : template}`],
        { encoding: "utf8" },
    );
    assert.strictEqual(r.status, 0, r.stderr);
    return r.stdout;
}

describe("fake kubectl", () => {
    before(function () {
        if (!realKubectlWorks()) {
            skipTest(this, "the check of the fake kubectl's jsonpath against kubectl's", "kubectl");
        }
    });

    /** A management cluster with Flux, one populated workload cluster and one being deleted. */
    function world(fake: FakeCapi, goingDelayMs: number): void {
        fake.setKindClusters([KIND_CLUSTER]);
        fake.installClusterApi();
        fake.installFlux(["flux-system/flux-system"], ["flux-system/addons"], "mgmt", ["flux-system/addons"]);
        populate(fake, fake.addCluster("default", "alpha"));
        fake.addCluster("default", "going", { alreadyDeleting: true, deleteDelayMs: goingDelayMs });
    }

    it("evaluates every jsonpath template of the script exactly as kubectl does", () => {
        const ran = new FakeCapi(makeTempDir("jsonpath-run"));
        world(ran, 300);
        const script = renderHostScript("teardown.sh", {
            CLUSTER_NAME: KIND_CLUSTER,
            KUBECONFIG_PATH: ran.mgmtKubeconfig,
            TIMEOUT_SECONDS: "20",
            PER_CLUSTER_TIMEOUT_SECONDS: "15",
            CLUSTERS_GONE_FILE: ran.goneFile,
            FLUX_RESUME_SCRIPT: ran.resumeScript,
        });
        assertSuccess(ran.run(script));

        // The same world, not torn down, to evaluate each template of the run on.
        const fresh = new FakeCapi(makeTempDir("jsonpath-fresh"));
        world(fresh, 600_000);
        const seen = new Set<string>();
        for (const call of ran.calls()) {
            const output = call.args.find((a, i) => call.args[i - 1] === "-o" && a.startsWith("jsonpath="));
            const [verb, resource, name] = words(call);
            const ns = namespaceOf(call);
            const key = `${call.ctx} ${resource} ${name ?? ""} ${ns ?? ""} ${output}`;
            if (output === undefined || seen.has(key)) {
                continue;
            }
            seen.add(key);
            assert.strictEqual(verb, "get");
            const kubeconfig = path.join(fresh.root, `${call.ctx}.kubeconfig`);
            fs.writeFileSync(kubeconfig, `current-context: ${call.ctx}\n`);
            const args = ["--kubeconfig", kubeconfig, ...call.args.filter((a, i) => a !== "--kubeconfig" && call.args[i - 1] !== "--kubeconfig")];
            const faked = spawnSync(path.join(fresh.bin, "kubectl"), args, { env: fresh.env(), encoding: "utf8" });
            assert.strictEqual(faked.status, 0, faked.stderr);

            const visible = (o: FakeObject): object => Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith("_")));
            const objects = fresh
                .objects(call.ctx!, resource)
                .filter((o) => (name === undefined || o.metadata.name === name) && (ns === undefined || o.metadata.namespace === ns))
                .map(visible);
            const template = output.slice("jsonpath=".length);
            let expected: string;
            if (name !== undefined) {
                expected = objects.length === 0 ? "" : realJsonpath(fresh.root, template, objects[0]);
            } else {
                expected = objects.length === 0 ? "" : realJsonpath(fresh.root, template, { apiVersion: "v1", kind: "List", items: objects });
            }
            assert.strictEqual(faked.stdout, expected, `${call.ctx}: kubectl ${args.slice(2).join(" ")}`);
        }
        const resources = [...seen].map((k) => k.split(" ")[1]);
        for (const r of [CLUSTER_CRD, KUSTOMIZATION_CRD, "secrets", "services", "deployments", "statefulsets", "cronjobs", "pods", "persistentvolumes"]) {
            assert.ok(resources.includes(r), `no template over ${r} was checked`);
        }
    });
});
