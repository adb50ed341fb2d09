/**
 * Who owns the application credentials (src/lifecycle/credentialOwner.ts): recorded in `deployed`,
 * checked by preflight against the user of this run and against `appCredential.owner`.
 * Mock engine: what the real engine and Keystone then do is modelled, not run.
 */
import "mocha";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { appCredentialName } from "../src/cloud/appCredentials";
import { ConfigError } from "../src/config";
import { credentialOwnerFindings, KeystoneUser, OwnerFacts, ownerMatches, recordedOwner } from "../src/lifecycle/credentialOwner";
import { DEPLOYED_OUTPUT, DeployedState } from "../src/lifecycle/lifecycle";
import { MockCloud, MockCloudOptions, RecordedResource, valueOf } from "../render/engine";
import { parseTestConfig } from "./fixtures";
import { Run, runStack } from "./harness";

const APP_CRED = "openstack:identity/applicationCredential:ApplicationCredential";
const AUTH_SCOPE = "openstack:identity/getAuthScope:getAuthScope";
const ALICE: KeystoneUser = { id: "0a1ce000000000000000000000000001", name: "alice" };
const SVC: KeystoneUser = { id: "5e7c0000000000000000000000000002", name: "svc-capi" };

/** Cloud resources a run registered (components and providers excluded). */
function created(run: Run): RecordedResource[] {
    return run.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
}

async function problemsOf(run: Run): Promise<string[]> {
    return (await valueOf(run.evaluation.result.preflight)).problems;
}

function credentialNames(run: Run): string[] {
    return run.all(APP_CRED).map((r) => String(r.inputs.name));
}

/** Captures pulumi.log.warn and .info while `fn` runs. */
async function logsOf<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: string[]; infos: string[] }> {
    const log = pulumi.log as unknown as Record<"warn" | "info", (msg: string) => Promise<void>>;
    const original = { warn: log.warn, info: log.info };
    const warnings: string[] = [];
    const infos: string[] = [];
    log.warn = (msg: string) => (warnings.push(msg), Promise.resolve());
    log.info = (msg: string) => (infos.push(msg), Promise.resolve());
    try {
        return { result: await fn(), warnings, infos };
    } finally {
        log.warn = original.warn;
        log.info = original.info;
    }
}

describe("application credential owner (mock engine)", function () {
    this.timeout(60000);
    let deployedByAlice: DeployedState;
    let namesByAlice: string[];
    /** The cloud of a second `up` of the dev stack first deployed by alice. */
    const after = (user: KeystoneUser, more: MockCloudOptions = {}): MockCloudOptions => ({
        user,
        previousOutputs: { [DEPLOYED_OUTPUT]: deployedByAlice, floatingIp: "192.0.2.10" },
        ...more,
    });

    before(async () => {
        const first = await runStack("dev", {}, { user: ALICE });
        deployedByAlice = await valueOf(first.outputs.deployed);
        namesByAlice = credentialNames(first);
    });

    it("records the user the credentials were created as in `deployed`", () => {
        assert.deepStrictEqual(deployedByAlice.appCredentialOwner, ALICE);
    });

    it("lets the owner run again, changing nothing about the credentials", async () => {
        const run = await runStack("dev", {}, after(ALICE));
        assert.deepStrictEqual(await problemsOf(run), []);
        assert.deepStrictEqual(credentialNames(run), namesByAlice);
        assert.deepStrictEqual((await valueOf(run.outputs.deployed)).appCredentialOwner, ALICE);
    });

    it("refuses a run by another user before anything is created, naming both users and the way out", async () => {
        const run = await runStack("dev", {}, after(SVC));
        assert.deepStrictEqual(created(run), [], "resources were registered although preflight refused");
        const problems = await problemsOf(run);
        assert.strictEqual(problems.length, 1, problems.join("\n"));
        assert.match(
            problems[0],
            /^capi-mgmt:appCredential\.owner: the application credentials of this stack belong to Keystone user "alice" \(ID 0a1ce0+1\), and this run authenticates as "svc-capi" \(ID 5e7c0+2\)/,
        );
        assert.match(problems[0], /Run as "alice", or take them over: set capi-mgmt:appCredential\.owner to "5e7c0+2"/);
    });

    it("tells which user the credentials belong to, and warns a production stack without appCredential.owner", async () => {
        const { result: run, warnings, infos } = await logsOf(() => runStack("prod", {}, { user: ALICE }));
        assert.deepStrictEqual(await problemsOf(run), []);
        assert.ok(
            infos.some((m) => m.includes(`preflight: the application credentials are created, read and deleted as Keystone user "alice" (ID ${ALICE.id})`)),
            infos.join("\n"),
        );
        assert.ok(
            warnings.some((m) => m.includes("capi-mgmt:appCredential.owner is not set: the application credentials belong to whoever runs")),
            warnings.join("\n"),
        );
        const { warnings: withOwner } = await logsOf(() => runStack("prod", { appCredential: JSON.stringify({ owner: "alice" }) }, { user: ALICE }));
        assert.ok(!withOwner.some((m) => m.includes("appCredential.owner")), withOwner.join("\n"));
    });

    it("refuses a first up as anyone but appCredential.owner (name or ID), before anything is created", async () => {
        for (const owner of ["svc-capi", SVC.id]) {
            const run = await runStack("dev", { appCredential: JSON.stringify({ owner }) }, { user: ALICE });
            assert.deepStrictEqual(created(run), []);
            const problems = await problemsOf(run);
            assert.strictEqual(problems.length, 1, problems.join("\n"));
            assert.match(
                problems[0],
                new RegExp(
                    `^capi-mgmt:appCredential\\.owner: this run authenticates as "alice" \\(ID ${ALICE.id}\\) through openstack:cloud .*, not as "${owner}"`,
                ),
            );
        }
        for (const owner of ["svc-capi", SVC.id]) {
            const run = await runStack("dev", { appCredential: JSON.stringify({ owner }) }, { user: SVC });
            assert.deepStrictEqual(await problemsOf(run), []);
            assert.deepStrictEqual((await valueOf(run.outputs.deployed)).appCredentialOwner, SVC);
        }
    });

    it("hands over to the user appCredential.owner names: new credentials (new names) created as that user, with a warning", async () => {
        const { result: run, warnings } = await logsOf(() => runStack("dev", { appCredential: JSON.stringify({ owner: "svc-capi" }) }, after(SVC)));
        assert.deepStrictEqual(await problemsOf(run), []);
        const names = credentialNames(run);
        assert.strictEqual(names.length, 2);
        for (const n of names) {
            assert.ok(!namesByAlice.includes(n), `${n} kept its name: the provider would keep alice's credential`);
        }
        assert.deepStrictEqual((await valueOf(run.outputs.deployed)).appCredentialOwner, SVC);
        assert.ok(
            warnings.some((m) => /handing the application credentials over from "alice" .* to "svc-capi"/.test(m)),
            warnings.join("\n"),
        );
    });

    it("records the user of the workload project's entry, where the credentials are created", async () => {
        const original = MockCloud.prototype.call;
        MockCloud.prototype.call = function (args) {
            const result = original.call(this, args);
            const workload = args.token === AUTH_SCOPE && (args.provider ?? "").includes("::openstack-workload-");
            return workload ? { ...result, userId: SVC.id, userName: SVC.name, projectId: "workload-project-id" } : result;
        };
        try {
            const run = await runStack("dev", { workloadProject: JSON.stringify({ cloud: "openstack-dev-workloads" }) }, { user: ALICE });
            assert.deepStrictEqual(await problemsOf(run), []);
            assert.deepStrictEqual((await valueOf(run.outputs.deployed)).appCredentialOwner, SVC);
        } finally {
            MockCloud.prototype.call = original;
        }
    });
});

describe("application credential owner (pure)", () => {
    const facts = (over: Partial<OwnerFacts> = {}): OwnerFacts => ({ current: SVC, previous: { kind: "none" }, production: false, ...over });
    const state = (owner?: KeystoneUser): DeployedState => ({
        serverGeneration: 1,
        prefix: "dev",
        availabilityZone: "",
        flavor: "SCS-4V-16",
        workloadNamespace: "clusters",
        gitops: false,
        ...(owner ? { appCredentialOwner: owner } : {}),
    });

    it("matches a setting by user ID or name", () => {
        assert.ok(ownerMatches(SVC.id, SVC) && ownerMatches("svc-capi", SVC));
        assert.ok(!ownerMatches("svc", SVC) && !ownerMatches("alice", SVC));
    });

    it("reads the recorded owner only from a well-formed record", () => {
        assert.deepStrictEqual(recordedOwner({ kind: "deployed", state: state(ALICE) }), ALICE);
        assert.strictEqual(recordedOwner({ kind: "deployed", state: state() }), undefined);
        assert.strictEqual(recordedOwner({ kind: "deployed", state: { ...state(), appCredentialOwner: { id: 3 } as unknown as KeystoneUser } }), undefined);
        assert.strictEqual(recordedOwner({ kind: "legacy", gitops: true }), undefined);
    });

    it("warns when an older stack's owner was never recorded, and records this run's user", () => {
        for (const previous of [{ kind: "legacy", gitops: false } as const, { kind: "deployed", state: state() } as const]) {
            const f = credentialOwnerFindings(facts({ previous }));
            assert.deepStrictEqual(f.problems, []);
            assert.match(f.warnings.join("\n"), /was not recorded \(deployed by an older version\); this run records "svc-capi"/);
        }
        assert.deepStrictEqual(credentialOwnerFindings(facts()).warnings, []);
    });

    it("refuses a name that fits both the recorded owner and another user (two domains): the ID decides", () => {
        const twin = { id: "7777", name: "svc-capi" };
        const f = credentialOwnerFindings(facts({ expected: "svc-capi", current: twin, previous: { kind: "deployed", state: state(SVC) } }));
        assert.match(f.problems.join("\n"), /^capi-mgmt:appCredential\.owner: "svc-capi" names both the recorded owner .* set it to the owner's user ID$/);
        assert.deepStrictEqual(
            credentialOwnerFindings(facts({ expected: SVC.id, current: twin, previous: { kind: "deployed", state: state(SVC) } })).problems.length,
            1,
        );
    });

    it("names the workload project's entry when the credentials are created through it", () => {
        const f = credentialOwnerFindings(facts({ expected: "alice", workloadProjectCloud: "openstack-prod-workloads" }));
        assert.match(f.problems[0], /through the workload project's clouds.yaml entry \(capi-mgmt:workloadProject\.cloud "openstack-prod-workloads"\)/);
        assert.match(f.info, /the user of the workload project's clouds.yaml entry/);
    });
});

describe("appCredential.owner (config)", () => {
    it("is read trimmed, and is part of the credential names only when set", () => {
        const c = parseTestConfig({ appCredential: JSON.stringify({ owner: " svc-capi " }) });
        assert.strictEqual(c.appCredential.owner, "svc-capi");
        const without = parseTestConfig().appCredential;
        // Unset: the names of earlier versions (no rotation on upgrade).
        assert.strictEqual(appCredentialName("dev", "capi", without), appCredentialName("dev", "capi", { roles: without.roles }));
        assert.notStrictEqual(appCredentialName("dev", "capi", c.appCredential), appCredentialName("dev", "capi", without));
        assert.notStrictEqual(appCredentialName("dev", "capi", c.appCredential), appCredentialName("dev", "capi", { ...c.appCredential, owner: "alice" }));
    });

    it("refuses what is not a user name or ID, naming the key", () => {
        for (const owner of ["", "  ", 42, ["svc-capi"]]) {
            assert.throws(
                () => parseTestConfig({ appCredential: JSON.stringify({ owner }) }),
                (e: unknown) =>
                    e instanceof ConfigError && e.problems.some((p) => /^capi-mgmt:appCredential\.owner: .* is not a Keystone user name or ID$/.test(p)),
                JSON.stringify(owner),
            );
        }
    });
});
