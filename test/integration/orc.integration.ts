/**
 * ORC (openstack-resource-controller v2.6.0, built by testbed/build.sh) against the OpenStack test
 * bed, with the ORC objects of the environment's GitOps tree as `npm run render` writes them for
 * both stacks: the node Image imported from Glance by name and the workload's ServerGroups.
 *
 * ORC runs as a local process against a test-bed API server that carries ORC's real CRDs (with
 * their CEL rules; ORC registers no admission webhooks), in a project of the test's own, with an
 * application credential made as src/cloud/appCredentials.ts makes it (the configured roles,
 * restricted) and the program's own clouds.yaml and Secret renderers. Asserted on the OpenStack
 * side: the image is imported (status.id is Glance's ID) and nothing is uploaded; each server
 * group exists in Nova with the tree's policy; a missing image name leaves the Image unavailable
 * with the condition docs and the tree's health check name; deleting the objects deletes the
 * server groups and keeps the imported image; every connection ORC holds stays on loopback.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { DEFAULT_ROLES } from "../../src/config";
import { ControlPlane, KubeObject } from "./harness/controlPlane";
import { clone, condition, conditionTrue } from "./harness/objects";
import { applyOrcCredentials, startOrc } from "./harness/orc";
import { ManagedProcess, waitFor } from "./harness/processes";
import { installProvider } from "./harness/providers";
import { PROJECT_DIR, renderStack } from "./harness/stack";
import { Testbed } from "./harness/testbed";
import { bedRunning, bedScript, clouds, gone, loopback, Session, Socket, sockets } from "./openstackBed";
import { createOwnProject, createProgramCredential, OwnProject, ProgramCredential } from "./openstackProject";

const RESOURCE = { Image: "images.openstack.k-orc.cloud", ServerGroup: "servergroups.openstack.k-orc.cloud" } as const;
/** Bound of one wait on ORC (it reconciles in seconds; this is a guard on a loaded machine). */
const ORC_TIMEOUT_MS = 240_000;
/** What ORC's Progressing condition says while an import finds nothing (gitops/README.md, "Troubleshooting"). */
const WAITING_MESSAGE = "Waiting for OpenStack resource to be created externally";

type Glance = { id: string; name: string; status: string; owner: string; updated_at: string; checksum?: string };
type NovaGroup = { id: string; name: string; policy: string; project_id: string };

describe("ORC v2.6.0 against the OpenStack test bed, with the GitOps tree's ORC objects", function () {
    this.timeout(ORC_TIMEOUT_MS + 60_000);
    let testbed: Testbed;
    let startedBed = false;
    let own: OwnProject | undefined;
    let admin: Session;
    let cred: ProgramCredential | undefined;
    let cp: ControlPlane | undefined;
    let orc: ManagedProcess;
    let workDir: string | undefined;
    /** The tree's ORC objects (both stacks' renders, which must agree). */
    let tree: KubeObject[] = [];
    /** `failed` expressions of the Flux Kustomizations' health checks for ORC Images. */
    const imageFailedExprs: string[] = [];
    /** Every connection of ORC's process seen while waiting on it. */
    const seen: Socket[] = [];
    const times: Record<string, number> = {};

    const c = () => {
        assert.ok(cp, "control plane not started");
        return cp;
    };
    const user = () => {
        assert.ok(own, "no project");
        return own.session;
    };
    const ofKind = (kind: string) => tree.filter((d) => d.kind === kind);
    const sample = () => {
        if (orc?.pid !== undefined) {
            seen.push(...sockets().filter((s) => s.state !== "LISTEN" && s.pids.includes(orc.pid as number)));
        }
    };
    /** Waits until `probe` holds for the ORC object, sampling ORC's connections on the way. */
    const waitObject = (what: string, kind: keyof typeof RESOURCE, name: string, ns: string, done: (o: KubeObject | undefined) => boolean) =>
        waitFor(
            what,
            () => {
                sample();
                const o = c().get(RESOURCE[kind], name, ns);
                return done(o) ? (o ?? ({} as KubeObject)) : undefined;
            },
            { timeoutMs: ORC_TIMEOUT_MS, intervalMs: 1000, watched: [orc] },
        );
    const glanceByName = async (name: string) =>
        (await user().call<{ images: Glance[] }>("image", "GET", `/v2/images?name=${encodeURIComponent(name)}`)).images;
    const projectImages = async () => (await user().call<{ images: Glance[] }>("image", "GET", `/v2/images?owner=${user().projectId}`)).images;
    const novaGroups = async () => (await user().call<{ server_groups: NovaGroup[] }>("compute", "GET", "/os-server-groups")).server_groups;

    before(async function () {
        this.timeout(30 * 60_000);
        testbed = Testbed.load();
        const missing = testbed.missing(["etcd", "kube-apiserver", "orc", "orc-manifests"]);
        if (missing) {
            console.log(`      SKIPPED: test bed incomplete: ${missing}`);
            this.skip();
        }
        if (!bedRunning()) {
            startedBed = true;
            bedScript("up");
        }
        const all = clouds();
        admin = await Session.login(all.admin);
        own = await createOwnProject(admin, all["capi-mgmt"], "orc-it");

        // The credential as src/cloud/appCredentials.ts creates it: default roles, restricted.
        cred = await createProgramCredential(own, "orc-it");
        assert.deepStrictEqual([cred.roles, cred.unrestricted], [[...DEFAULT_ROLES].sort(), false]);
        const cloudsYaml = cred.cloudsYaml;

        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-it-orc-"));
        const t0 = Date.now();
        const byKey = new Map<string, KubeObject>();
        for (const stack of ["dev", "prod"]) {
            const rendered = renderStack(stack, path.join(workDir, stack));
            imageFailedExprs.push(
                ...rendered.root.docs
                    .filter((k) => k.kind === "Kustomization")
                    .flatMap((k) => (k.spec as { healthCheckExprs?: { kind: string; failed?: string }[] }).healthCheckExprs ?? [])
                    .filter((h) => h.kind === "Image" && h.failed)
                    .map((h) => h.failed as string),
            );
            for (const d of rendered.kustomizations.flatMap((k) => k.docs).filter((x) => x.apiVersion.startsWith("openstack.k-orc.cloud/"))) {
                const key = `${d.kind}/${d.metadata.namespace}/${d.metadata.name}`;
                const prev = byKey.get(key);
                assert.ok(!prev || JSON.stringify(prev) === JSON.stringify(d), `${key} differs between the stacks' trees: run this spec per stack`);
                byKey.set(key, d);
            }
        }
        tree = [...byKey.values()];
        times.render = Date.now() - t0;
        assert.deepStrictEqual([ofKind("Image").length > 0, ofKind("ServerGroup").length > 0], [true, true], "the tree has no ORC Image or ServerGroup");

        const t1 = Date.now();
        cp = await ControlPlane.start(testbed, "orc");
        await installProvider(cp, testbed, { name: "orc", manifests: "orc-manifests" });
        for (const ns of new Set(tree.map((d) => d.metadata.namespace as string))) {
            cp.applyOk(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`);
            applyOrcCredentials(cp, ns, cloudsYaml);
        }
        times.apiServer = Date.now() - t1;
        const t2 = Date.now();
        orc = await startOrc(cp, testbed);
        times.orcReady = Date.now() - t2;
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed" && cp) {
            console.log(cp.report(40));
        }
    });

    after(async function () {
        this.timeout(300_000);
        // ORC first: it must not act on what the cleanup removes.
        await cp?.stop();
        if (own) {
            for (const g of await novaGroups().catch(() => [] as NovaGroup[])) {
                await user()
                    .call("compute", "DELETE", `/os-server-groups/${g.id}`)
                    .catch(() => undefined);
            }
            await cred?.remove().catch(() => undefined);
            await own.remove();
        }
        if (workDir) {
            fs.rmSync(workDir, { recursive: true, force: true });
        }
        if (startedBed) {
            bedScript("down");
        }
        console.log(`      times (ms): ${JSON.stringify(times)}`);
    });

    it("runs the CRDs' CEL rules: the tree's objects pass, objects ORC cannot act on are refused", function () {
        const dry = (o: KubeObject) => c().apply(toYaml(o), { dryRun: true });
        for (const d of tree) {
            const r = dry(d);
            assert.strictEqual(r.status, 0, `${d.kind} ${d.metadata.name} refused:\n${r.stderr}`);
        }
        const image = clone(ofKind("Image")[0]);
        delete (image.spec as Record<string, unknown>).import;
        assert.match(dry(image).stderr, /import must be specified when policy is unmanaged/);
        const managed = clone(ofKind("Image")[0]);
        (managed.spec as Record<string, unknown>).managementPolicy = "managed";
        assert.match(dry(managed).stderr, /import may not be specified when policy is managed/);
        const group = clone(ofKind("ServerGroup")[0]);
        (group.spec as { resource: { policy: string } }).resource.policy = "spread";
        assert.match(dry(group).stderr, /Unsupported value: "spread"/);
        const bare = clone(ofKind("ServerGroup")[0]);
        delete (bare.spec as Record<string, unknown>).resource;
        assert.match(dry(bare).stderr, /resource must be specified when policy is managed/);
    });

    it("imports the node image by name: Available, status.id is the Glance image's ID, nothing uploaded", async function () {
        const images = ofKind("Image");
        const before = new Map<string, Glance>();
        for (const img of images) {
            const name = (img.spec as { import: { filter: { name: string } } }).import.filter.name;
            const found = await glanceByName(name);
            assert.strictEqual(found.length, 1, `the bed has ${found.length} Glance images named ${name}`);
            before.set(img.metadata.name, found[0]);
        }
        assert.deepStrictEqual(await projectImages(), [], "the project owns images before ORC ran");
        const t = Date.now();
        c().applyOk(images.map((o) => toYaml(o)).join("---\n"));
        for (const img of images) {
            const o = await waitObject(`Image ${img.metadata.name} Available`, "Image", img.metadata.name, img.metadata.namespace as string, (x) =>
                conditionTrue(x, "Available"),
            );
            const glance = before.get(img.metadata.name) as Glance;
            assert.strictEqual((o.status as { id?: string }).id, glance.id, "status.id is not the Glance image's ID");
            const after = await user().call<Glance>("image", "GET", `/v2/images/${glance.id}`);
            assert.deepStrictEqual(
                [after.status, after.updated_at, after.checksum],
                [glance.status, glance.updated_at, glance.checksum],
                "ORC changed the imported image",
            );
        }
        times.imageAvailable = Date.now() - t;
        assert.deepStrictEqual(await projectImages(), [], "ORC created (uploaded) an image in the project");
    });

    it("creates each server group in Nova with the policy the tree asks for", async function () {
        const groups = ofKind("ServerGroup");
        assert.deepStrictEqual(await novaGroups(), [], "the project has server groups before ORC ran");
        const t = Date.now();
        c().applyOk(groups.map((o) => toYaml(o)).join("---\n"));
        const ids: Record<string, string> = {};
        for (const g of groups) {
            const o = await waitObject(`ServerGroup ${g.metadata.name} Available`, "ServerGroup", g.metadata.name, g.metadata.namespace as string, (x) =>
                conditionTrue(x, "Available"),
            );
            ids[g.metadata.name] = (o.status as { id: string }).id;
        }
        times.serverGroupsAvailable = Date.now() - t;
        const inNova = await novaGroups();
        assert.deepStrictEqual(
            inNova.map((g) => ({ name: g.name, policy: g.policy, id: g.id, project: g.project_id })).sort((a, b) => a.name.localeCompare(b.name)),
            groups
                .map((g) => ({
                    name: g.metadata.name,
                    policy: (g.spec as { resource: { policy: string } }).resource.policy,
                    id: ids[g.metadata.name],
                    project: user().projectId,
                }))
                .sort((a, b) => a.name.localeCompare(b.name)),
        );
        // gitops/README.md: "Policies are immutable: to change one, add a group under a new name".
        const changed = clone(groups[0]);
        const spec = changed.spec as { resource: { policy: string } };
        spec.resource.policy = spec.resource.policy === "anti-affinity" ? "soft-anti-affinity" : "anti-affinity";
        assert.match(c().apply(toYaml(changed), { dryRun: true }).stderr, /ServerGroupResourceSpec is immutable/);
    });

    it("leaves an Image whose Glance name is missing unavailable, with the condition the docs and the health check name", async function () {
        const missing = clone(ofKind("Image")[0]);
        missing.metadata.name = "orc-it-missing-image";
        (missing.spec as { import: { filter: { name: string } } }).import.filter.name = "ubuntu-capi-image-v0.0.0-not-in-glance";
        c().applyOk(toYaml(missing));
        const ns = missing.metadata.namespace as string;
        const o = await waitObject(
            "missing Image's Progressing condition",
            "Image",
            missing.metadata.name,
            ns,
            (x) => condition(x, "Progressing") !== undefined,
        );
        const progressing = condition(o, "Progressing") as { status: string; reason: string; message: string };
        const available = condition(o, "Available") as { status: string; message: string };
        assert.deepStrictEqual(
            [progressing.status, progressing.reason, progressing.message, available.status],
            ["True", "Progressing", WAITING_MESSAGE, "False"],
        );
        // The docs name that message, and the tree's node-images health check fails on it at once.
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "gitops", "README.md"), "utf8").replace(/\s+/g, " ");
        assert.ok(
            readme.includes(`condition \`Progressing\` with the message \`${WAITING_MESSAGE}\``),
            "gitops/README.md's troubleshooting does not name ORC's real condition",
        );
        const needles = imageFailedExprs.map((e) => /c\.message\.contains\('([^']+)'\)/.exec(e)?.[1]);
        assert.ok(
            needles.length > 0 && needles.every((n) => n !== undefined),
            `the tree's Image health checks have no message test: ${JSON.stringify(imageFailedExprs)}`,
        );
        for (const n of needles) {
            assert.ok(
                progressing.message.includes(n as string),
                `the health check looks for ${JSON.stringify(n)}, ORC says ${JSON.stringify(progressing.message)}`,
            );
        }
        assert.deepStrictEqual(await projectImages(), [], "ORC created an image for the missing name");
    });

    it("deleting the objects deletes the server groups from Nova and leaves the imported Glance image", async function () {
        // Still waiting, after ORC has reconciled everything else: it polls, it does not give up.
        const img = ofKind("Image")[0];
        const stillMissing = c().get(RESOURCE.Image, "orc-it-missing-image", img.metadata.namespace);
        assert.deepStrictEqual(
            [conditionTrue(stillMissing, "Available"), (condition(stillMissing, "Progressing") as { message?: string } | undefined)?.message],
            [false, WAITING_MESSAGE],
        );
        const t = Date.now();
        const refs = [...tree, { kind: "Image", metadata: { name: "orc-it-missing-image", namespace: ofKind("Image")[0].metadata.namespace } } as KubeObject];
        const groupIds = ofKind("ServerGroup").map((g) => (c().get(RESOURCE.ServerGroup, g.metadata.name, g.metadata.namespace)?.status as { id: string }).id);
        for (const r of refs) {
            c().kubectlOk(["delete", "--wait=false", "-n", r.metadata.namespace as string, `${RESOURCE[r.kind as keyof typeof RESOURCE]}/${r.metadata.name}`]);
        }
        for (const r of refs) {
            await waitObject(
                `${r.kind} ${r.metadata.name} gone`,
                r.kind as keyof typeof RESOURCE,
                r.metadata.name,
                r.metadata.namespace as string,
                (x) => x === undefined,
            );
        }
        times.deleted = Date.now() - t;
        for (const id of groupIds) {
            await gone(user(), "compute", `/os-server-groups/${id}`, 10);
        }
        assert.deepStrictEqual(await novaGroups(), []);
        for (const img of ofKind("Image")) {
            const name = (img.spec as { import: { filter: { name: string } } }).import.filter.name;
            const found = await glanceByName(name);
            assert.deepStrictEqual(
                found.map((g) => g.status),
                ["active"],
                `the imported image ${name} went from Glance`,
            );
        }
    });

    it("ORC's connections (API server, Keystone, Glance, Nova) stay on loopback", function () {
        sample();
        assert.ok(seen.length > 0, "no connection of ORC was seen");
        assert.deepStrictEqual(
            seen.filter((s) => !loopback(s.local) || !loopback(s.peer)),
            [],
            "ORC has a peer beyond loopback",
        );
    });
});
