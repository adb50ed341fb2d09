import "mocha";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { validateRepository } from "../render/validate";
import { skipTest } from "./fakes/shell";
import { PROJECT_DIR } from "./harness";

const FIXTURE = path.join(PROJECT_DIR, "test", "fixtures", "gitops-repo");

function hasKubectl(): boolean {
    return spawnSync(process.env.KUBECTL ?? "kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
}

/** A copy of gitops/ with the fixture's clusters of `set` added to workloads/base, as a user adds them. */
function repositoryWith(set: "valid" | "mistakes"): string {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-validate-"));
    fs.cpSync(path.join(PROJECT_DIR, "gitops"), repo, { recursive: true });
    const added = fs.readdirSync(path.join(FIXTURE, set)).sort();
    for (const f of added) {
        fs.copyFileSync(path.join(FIXTURE, set, f), path.join(repo, "workloads", "base", f));
    }
    const k = path.join(repo, "workloads", "base", "kustomization.yaml");
    fs.writeFileSync(k, fs.readFileSync(k, "utf8") + added.map((f) => `  - ${f}\n`).join(""));
    return repo;
}

describe("npm run validate: a GitOps repository laid out like gitops/", function () {
    before(function () {
        if (!hasKubectl()) {
            skipTest(this, "validating GitOps repositories", "kubectl (its kustomize builds the tree)");
        }
    });
    const repos: string[] = [];
    after(() => repos.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));
    const repo = (set: "valid" | "mistakes") => {
        const r = repositoryWith(set);
        repos.push(r);
        return r;
    };

    it("passes the project's own tree, every environment", () => {
        assert.deepStrictEqual(validateRepository(path.join(PROJECT_DIR, "gitops")), [
            { path: "./clusters/dev", problems: [] },
            { path: "./clusters/prod", problems: [] },
        ]);
    });

    it("passes a second cluster added exactly as gitops/README.md says", () => {
        const reports = validateRepository(repo("valid"));
        assert.deepStrictEqual(
            reports.map((r) => r.problems),
            [[], []],
        );
    });

    describe("names every mistake of a repository with three clusters", () => {
        let problems: string[];
        before(() => {
            const reports = validateRepository(repo("mistakes"), ["./clusters/dev"]);
            problems = reports[0].problems;
        });
        const expected: [string, RegExp][] = [
            ["a server group of another cluster", /Cluster workload-3: server group workload-1-control-plane is Cluster workload-1's too/],
            ["a node image the tree does not define", /Cluster workload-3: .* uses ORC Image ubuntu-capi-image-v1\.36\.0, which the tree does not define/],
            [
                "a Kubernetes version the image does not hold",
                /Cluster workload-2: Image ubuntu-capi-image-v1\.35\.8 holds Kubernetes v1\.35\.8, not the Cluster's v1\.34\.5/,
            ],
            ["a flavor that is not an SCS name", /Cluster workload-2: controlPlaneFlavor m1\.large is not an SCS standard flavor name/],
            ["pods in the node subnet", /Cluster workload-3: nodeCidr 10\.6\.0\.0\/24 overlaps pods 10\.6\.0\.0\/16/],
            ["two control plane nodes", /Cluster workload-2: 2 control plane nodes; use 1, 3 or 5/],
            ["a misspelt add-on label", /Cluster workload-3: label capi-mgmt\.io\/addon-metric-server=enabled installs nothing/],
            [
                "ingress-nginx's ovn mode on a cluster without OVN load balancers",
                /Cluster workload-2: label capi-mgmt\.io\/addon-ingress-nginx=ovn needs OVN load balancers, .* apiLoadBalancer \(amphora\)/,
            ],
            [
                "cloud-provider-openstack charts of another Kubernetes minor",
                /Cluster workload-2: HelmChartProxy openstack-cloud-controller-manager installs openstack-cloud-controller-manager 2\.35\.0, not 2\.34\.x for its Kubernetes v1\.34\.5/,
            ],
            [
                "a pool too large for Nova's server_group_members quota",
                /Cluster workload-2: pool md-0 \(10\) in server group workload-2-workers need 11 members during a rollout, more than Nova's default server_group_members quota of 10/,
            ],
        ];
        for (const [what, pattern] of expected) {
            it(what, () =>
                assert.ok(
                    problems.some((p) => pattern.test(p)),
                    `no problem matching ${pattern}:\n${problems.join("\n")}`,
                ),
            );
        }
        it("and nothing about the example cluster, which is right", () => {
            assert.deepStrictEqual(
                problems.filter((p) => /^Cluster workload-1\b/.test(p)),
                [],
            );
        });
    });

    it("runs as a command: lists the problems and exits 1; --help prints the usage", function () {
        const r = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(PROJECT_DIR, "render/validate.ts"), repo("mistakes"), "--path", "./clusters/prod"],
            {
                cwd: PROJECT_DIR,
                encoding: "utf8",
            },
        );
        assert.strictEqual(r.status, 1, r.stderr);
        assert.match(r.stdout, /^\.\/clusters\/prod: \d+ problems$/m);
        assert.match(r.stdout, /^ {2}- Cluster workload-2: 2 control plane nodes/m);
        const help = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(PROJECT_DIR, "render/validate.ts"), "--help"], {
            cwd: PROJECT_DIR,
            encoding: "utf8",
        });
        assert.strictEqual(help.status, 0);
        assert.match(help.stdout, /^usage: npm run validate -- <repository>/);
    });

    it("reads the tree as written: names a Kustomization in another namespace, an allow-list without the management address, and a variable no setting provides", () => {
        const r = repo("valid");
        const edit = (rel: string, from: string, to: string) => {
            const f = path.join(r, rel);
            const text = fs.readFileSync(f, "utf8");
            assert.ok(text.includes(from), `${rel} has no ${from}`);
            fs.writeFileSync(f, text.replace(from, to));
        };
        edit("workloads/base/workload-1.yaml", "- ${MANAGEMENT_EGRESS_CIDR}", "- 203.0.113.9/32");
        assert.deepStrictEqual(validateRepository(r, ["./clusters/dev"])[0].problems, [
            "Cluster workload-1: apiAllowedCidrs lacks ${MANAGEMENT_EGRESS_CIDR}, the management server's address: Cluster API could not reach its API",
        ]);
        edit("clusters/base/infrastructure.yaml", "targetNamespace: ${WORKLOAD_NAMESPACE}", "targetNamespace: elsewhere");
        assert.match(
            validateRepository(r, ["./clusters/dev"])[0].problems.join("\n"),
            /Kustomization cluster-classes has targetNamespace elsewhere, not clusters or \$\{WORKLOAD_NAMESPACE\}/,
        );
        edit("clusters/base/infrastructure.yaml", "targetNamespace: elsewhere", "targetNamespace: ${WORKLOAD_NAMESPACE}");
        edit("workloads/base/workload-1.yaml", "- 203.0.113.9/32", "- ${MANAGEMENT_EGRESS}");
        assert.deepStrictEqual(validateRepository(r, ["./clusters/dev"])[0].problems, [
            "workloads/dev: ${MANAGEMENT_EGRESS} has no value: neither the program's settings (capi-mgmt-settings) nor postBuild.substitute provide it, and it has no default",
        ]);
    });

    it("says what is wrong with a directory that is no such repository", () => {
        assert.throws(() => validateRepository(os.tmpdir() + "/no-such-repo-" + process.pid), /no clusters\/ directory/);
    });
});
