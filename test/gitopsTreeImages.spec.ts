/**
 * The GitOps tree's node images (ORC Images): imported from Glance by a versioned name, referenced
 * by every Cluster, and the opt-in upload with the operator's digest. Shared helpers:
 * gitopsTreeHelpers.ts.
 */
import "mocha";
import * as assert from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { orcCredentialsSecret } from "../src/cluster/clusterObjects";
import { CLOUD_NAME, DEFAULT_WORKLOAD_NAMESPACE, ORC_CREDENTIALS_SECRET } from "../src/shared/contract";
import { kustomizeBuild, readEnvironment, TreeObject } from "../render/gitopsTree";
import { imageProblems, imageReferenceProblems, MOVE_LABEL, objectsOf as objects, ofKind, VERSION_LABEL } from "../render/gitopsRules";
import { each, environment, filesOf, SETTINGS, STACKS, TREE, withVariable, WORKLOAD_NAMESPACE_REFERENCE } from "./gitopsTreeHelpers";

describe("GitOps tree (gitops/)", () => {
    it("refuses a Cluster whose image is not in the tree, or is of another Kubernetes version", () => {
        const all = objects(environment("dev"));
        const cluster = all.find((o) => o.kind === "Cluster")!;
        const others = all.filter((o) => o !== cluster);
        const missing = withVariable(cluster, "nodeImage", "ubuntu-capi-image-v1.36.2");
        assert.match(imageReferenceProblems([...others, missing]).join("\n"), /uses ORC Image ubuntu-capi-image-v1.36.2, which the tree does not define/);
        const newer = structuredClone(cluster);
        newer.spec.topology.version = "v1.36.2";
        assert.match(
            imageReferenceProblems([...others, newer]).join("\n"),
            /Image ubuntu-capi-image-v1.35.8 holds Kubernetes v1.35.8, not the Cluster's v1.36.2/,
        );
        const removed = all.filter((o) => o.kind !== "Image");
        assert.match(imageReferenceProblems(removed).join("\n"), /which the tree does not define/);
    });

    each("imports every node image from Glance by a name that carries its version, with the program's ORC credentials", (env) => {
        const images = ofKind(env, "Image");
        assert.ok(images.length > 0);
        const credentials = orcCredentialsSecret(WORKLOAD_NAMESPACE_REFERENCE, {}).metadata;
        for (const image of images) {
            assert.strictEqual(image.apiVersion, "openstack.k-orc.cloud/v1alpha1");
            assert.strictEqual(image.metadata.namespace, credentials.namespace);
            assert.deepStrictEqual(imageProblems(image), []);
            // The repository ships imports only: no download, so no digest nobody verified.
            assert.strictEqual(image.spec.managementPolicy, "unmanaged", `Image ${image.metadata.name}`);
            assert.strictEqual(image.spec.resource, undefined);
        }
    });

    it("holds no digest in the tree but of an upload that passes the rules, and never an all-zero one", () => {
        const digests = new Set<string>();
        for (const f of filesOf(TREE)) {
            const text = fs.readFileSync(path.join(TREE, f), "utf8");
            assert.doesNotMatch(text, /0{32}/, `${f} holds a run of zeros (a placeholder digest?)`);
            assert.doesNotMatch(text, /placeholder/i, `${f} mentions a placeholder`);
            for (const m of text.matchAll(/\b[0-9a-fA-F]{64}\b/g)) {
                digests.add(m[0]);
            }
        }
        const uploaded = new Set(
            STACKS.map(environment).flatMap((env) =>
                ofKind(env, "Image")
                    .filter((i) => i.spec.managementPolicy !== "unmanaged" && imageProblems(i).length === 0)
                    .map((i) => i.spec.resource.content.download.hash.value as string),
            ),
        );
        for (const d of digests) {
            assert.ok(uploaded.has(d), `digest ${d} is not the hash of a valid upload Image`);
        }
    });

    describe("node image upload (opt-in)", () => {
        let dir: string;
        const digest = createHash("sha256").update("a node image the operator downloaded and checked").digest("hex");
        const upload = (over: { name?: string; url?: string; hash?: unknown }) => ({
            apiVersion: "openstack.k-orc.cloud/v1alpha1",
            kind: "Image",
            metadata: { name: over.name ?? `ubuntu-2404-kube-v1.35.8-${digest.slice(0, 12)}`, labels: { [VERSION_LABEL]: "v1.35.8", [MOVE_LABEL]: "" } },
            spec: {
                cloudCredentialsRef: { secretName: ORC_CREDENTIALS_SECRET, cloudName: CLOUD_NAME },
                managementPolicy: "managed",
                resource: {
                    name: over.name ?? `ubuntu-2404-kube-v1.35.8-${digest.slice(0, 12)}`,
                    visibility: "private",
                    content: {
                        diskFormat: "qcow2",
                        download: {
                            url: over.url ?? "https://images.example.org/ubuntu-2404-kube-v1.35.8.qcow2",
                            ...(over.hash === undefined ? {} : { hash: over.hash }),
                        },
                    },
                },
            },
        });
        /**
         * The managed Images of dev's node images in a copy of the tree, with `image` uploaded
         * by dev's overlay: through the whole environment (`full`), or just that directory.
         */
        const devWith = (image: unknown, full = false): TreeObject[] => {
            fs.writeFileSync(path.join(dir, "infrastructure/node-images/dev/upload.yaml"), stringify(image));
            const k = path.join(dir, "infrastructure/node-images/dev/kustomization.yaml");
            const kustomization = parse(fs.readFileSync(k, "utf8"));
            kustomization.resources = [...new Set([...kustomization.resources, "upload.yaml"])];
            fs.writeFileSync(k, stringify(kustomization));
            const documents = full
                ? readEnvironment(dir, "./clusters/dev", SETTINGS).units.find((u) => u.kustomization.object.metadata.name === "node-images")!.documents
                : kustomizeBuild(dir, "infrastructure/node-images/dev", DEFAULT_WORKLOAD_NAMESPACE);
            return documents.map((d) => d.object).filter((o) => o.spec.managementPolicy === "managed");
        };
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "capi-mgmt-upload-"));
            fs.cpSync(TREE, dir, { recursive: true });
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("accepts an https URL with the operator's SHA-256, the digest in the name", () => {
            const [image] = devWith(upload({ hash: { algorithm: "sha256", value: digest } }), true);
            assert.strictEqual(image.metadata.namespace, WORKLOAD_NAMESPACE_REFERENCE);
            assert.deepStrictEqual(imageProblems(image), []);
        });

        it("refuses a missing, all-zero or malformed digest, a plain-http URL, and a name without the digest", () => {
            const refused: [string, Parameters<typeof upload>[0], RegExp][] = [
                ["no digest", {}, /needs the operator's SHA-256/],
                ["all zeros", { hash: { algorithm: "sha256", value: "0".repeat(64) }, name: "ubuntu-2404-kube-v1.35.8-000000000000" }, /all zeros/],
                ["63 digits", { hash: { algorithm: "sha256", value: digest.slice(1) } }, /not 64 lowercase hex/],
                ["upper case", { hash: { algorithm: "sha256", value: digest.toUpperCase() } }, /not 64 lowercase hex/],
                ["md5", { hash: { algorithm: "md5", value: digest.slice(0, 32) } }, /needs the operator's SHA-256/],
                ["http", { hash: { algorithm: "sha256", value: digest }, url: "http://images.example.org/x-v1.35.8.qcow2" }, /https URL/],
                ["name without digest", { hash: { algorithm: "sha256", value: digest }, name: "ubuntu-2404-kube-v1.35.8" }, /first 12 digits/],
                [
                    "name without version",
                    { hash: { algorithm: "sha256", value: digest }, name: `ubuntu-2404-kube-${digest.slice(0, 12)}` },
                    /does not carry its version/,
                ],
            ];
            for (const [title, over, expected] of refused) {
                const [image] = devWith(upload(over));
                assert.match(imageProblems(image).join("\n"), expected, title);
            }
        });

        it("refuses an import without a Glance name, or whose name lacks the version, and images without the move label", () => {
            const env = environment("dev");
            const imported = ofKind(env, "Image")[0];
            const noName = structuredClone(imported);
            noName.spec.import = { filter: { visibility: "public" } };
            assert.match(imageProblems(noName).join("\n"), /needs spec.import.filter.name/);
            const oldName = structuredClone(imported);
            oldName.spec.import.filter.name = "ubuntu-capi-image v1.34.2";
            assert.match(imageProblems(oldName).join("\n"), /does not carry v1.35.8/);
            const unlabelled = structuredClone(imported);
            delete unlabelled.metadata.labels![MOVE_LABEL];
            assert.match(imageProblems(unlabelled).join("\n"), /clusterctl move would leave it behind/);
        });
    });
});
