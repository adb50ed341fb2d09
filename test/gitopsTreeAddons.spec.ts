/**
 * The GitOps tree's add-ons: the catalog gitops/README.md lists (HelmChartProxies selected by
 * label, the Gateway API CRDs applied by Flux), and the pinned charts every cluster gets. Shared
 * helpers: gitopsTreeHelpers.ts.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as semver from "semver";
import { parseAllDocuments } from "yaml";
import { CLOUD_CONFIG_LABEL, WORKLOAD_CLOUD_CONFIG_SECRET } from "../src/shared/contract";
import { Environment, isFluxKustomization, TreeObject } from "../render/gitopsTree";
import { objectsOf as objects, ofKind, selectorKeys, selects } from "../render/gitopsRules";
import { BASE_ADDONS, CATALOG, each, environment, filesOf, FLUX_ADDONS, readmeCatalog, TREE, valuesOf } from "./gitopsTreeHelpers";

describe("GitOps tree (gitops/)", () => {
    describe("add-on catalog", () => {
        const readmeAll = () => readmeCatalog(fs.readFileSync(path.join(TREE, "README.md"), "utf8"));
        /** The add-ons CAAPH installs (HelmChartProxies, selecting Clusters by label). */
        const readme = () => readmeAll().filter((a) => !FLUX_ADDONS.includes(a.name));
        /** The catalog's add-ons: HelmChartProxies, and ClusterResourceSets for plain manifests. */
        const catalog = (env: Environment) => [
            ...ofKind(env, "HelmChartProxy").filter((p) => !BASE_ADDONS.includes(p.metadata.name)),
            ...ofKind(env, "ClusterResourceSet"),
        ];
        /** The objects a ClusterResourceSet applies, in order: every document of every data value of its ConfigMaps. */
        const appliedCache = new WeakMap<TreeObject, TreeObject[]>();
        const applied = (env: Environment, crs: TreeObject): TreeObject[] => {
            const cached = appliedCache.get(crs);
            if (cached) return cached;
            const objs = (crs.spec.resources as { kind: string; name: string }[]).flatMap((r) => {
                assert.strictEqual(r.kind, "ConfigMap", `${crs.metadata.name}: ${r.kind} ${r.name}`);
                const cm = ofKind(env, "ConfigMap").find((c) => c.metadata.name === r.name && c.metadata.namespace === crs.metadata.namespace);
                assert.ok(cm, `ClusterResourceSet ${crs.metadata.name} names ConfigMap ${r.name}, which the tree does not define`);
                return Object.values(cm.data as Record<string, string>).flatMap((text) => parseAllDocuments(text).map((d) => d.toJS() as TreeObject));
            });
            appliedCache.set(crs, objs);
            return objs;
        };
        /** An add-on's version: the chart's, or the one bundle version of what a ClusterResourceSet applies. */
        const versionOf = (env: Environment, addon: TreeObject): string => {
            if (addon.kind === "HelmChartProxy") return addon.spec.version;
            const versions = new Set(applied(env, addon).map((o) => o.metadata.annotations?.["gateway.networking.k8s.io/bundle-version"]));
            assert.strictEqual(versions.size, 1, `${addon.metadata.name} applies several versions: ${[...versions]}`);
            return [...versions][0]!;
        };
        /** A Cluster like `base` with only the cloud config's label and `labels`. */
        const labelled = (base: TreeObject, labels: Record<string, string>): TreeObject => {
            const c = structuredClone(base);
            c.metadata.labels = { [CLOUD_CONFIG_LABEL.key]: CLOUD_CONFIG_LABEL.value, ...labels };
            return c;
        };

        each("offers exactly the add-ons gitops/README.md lists, with its versions and labels", (env) => {
            const listed = readme();
            assert.deepStrictEqual(
                catalog(env)
                    .map((p) => p.metadata.name)
                    .sort(),
                listed.map((a) => a.name).sort(),
            );
            assert.deepStrictEqual(
                readmeAll()
                    .map((a) => a.name)
                    .sort(),
                CATALOG,
            );
            for (const a of listed) {
                const p = catalog(env).find((x) => x.metadata.name === a.name)!;
                assert.strictEqual(versionOf(env, p), a.version, `${a.name}: the README says ${a.version}`);
                assert.deepStrictEqual(selectorKeys(p.spec.clusterSelector), [a.label], `${a.name} selects by other labels than its own`);
                assert.strictEqual(a.label, `capi-mgmt.io/addon-${a.name}`, a.name);
                for (const v of a.values) {
                    assert.ok(
                        selects(p.spec.clusterSelector, labelled(ofKind(env, "Cluster")[0], { [a.label]: v })),
                        `${a.name}: ${a.label}=${v} is not selected`,
                    );
                }
            }
        });

        each("selects, with each add-on, exactly the example Clusters that carry its label", (env, stack) => {
            const clusters = ofKind(env, "Cluster");
            for (const a of readme()) {
                const p = catalog(env).find((x) => x.metadata.name === a.name)!;
                const selected = clusters.filter((c) => selects(p.spec.clusterSelector, c)).map((c) => c.metadata.name);
                const optedIn = clusters.filter((c) => a.values.includes(c.metadata.labels?.[a.label] ?? "")).map((c) => c.metadata.name);
                assert.deepStrictEqual(selected, optedIn, a.name);
            }
            // The example opts in to what SCS installed by default, and dev's to the Gateway API CRDs too
            // (a user's further clusters choose their own: npm run validate checks their labels).
            for (const c of clusters.filter((x) => x.metadata.name === "workload-1")) {
                const on = readmeAll()
                    .filter((a) => c.metadata.labels?.[a.label] !== undefined)
                    .map((a) => a.name)
                    .sort();
                assert.deepStrictEqual(
                    on,
                    stack === "dev" ? ["gateway-api", "ingress-nginx", "metrics-server"] : ["ingress-nginx", "metrics-server"],
                    `Cluster ${c.metadata.name}`,
                );
            }
        });

        each("selects a Cluster that carries one add-on's label with that add-on alone, and none without a label or with another value", (env) => {
            const base = ofKind(env, "Cluster")[0];
            for (const a of readme()) {
                for (const v of a.values) {
                    const c = labelled(base, { [a.label]: v });
                    assert.deepStrictEqual(
                        catalog(env)
                            .filter((p) => selects(p.spec.clusterSelector, c))
                            .map((p) => p.metadata.name),
                        [a.name],
                        `${a.label}=${v}`,
                    );
                }
                assert.ok(
                    !selects(catalog(env).find((p) => p.metadata.name === a.name)!.spec.clusterSelector, labelled(base, { [a.label]: "disabled" })),
                    `${a.name}: ${a.label}=disabled is selected`,
                );
            }
            assert.deepStrictEqual(
                catalog(env).filter((p) => selects(p.spec.clusterSelector, labelled(base, {}))),
                [],
            );
        });

        each(
            "applies the Gateway API CRDs, from the pinned upstream release, to exactly the Clusters that carry its label, and keeps them on removal",
            (env) => {
                const a = readmeAll().find((x) => x.name === "gateway-api")!;
                assert.strictEqual(a.label, "capi-mgmt.io/addon-gateway-api");
                assert.deepStrictEqual(a.values, ["enabled"]);
                const clusters = ofKind(env, "Cluster");
                const optedIn = clusters.filter((c) => c.metadata.labels?.[a.label] === "enabled").map((c) => c.metadata.name);
                const kustomizations = objects(env).filter((o) => isFluxKustomization(o) && o.metadata.labels?.[a.label] !== undefined);
                // Exactly one per opted-in Cluster, next to it, through its kubeconfig Secret.
                assert.deepStrictEqual(kustomizations.map((k) => k.spec.kubeConfig?.secretRef?.name).sort(), optedIn.map((n) => `${n}-kubeconfig`).sort());
                const sources = ofKind(env, "GitRepository");
                for (const k of kustomizations) {
                    const what = `Kustomization ${k.metadata.name}`;
                    assert.strictEqual(k.metadata.labels![a.label], "enabled", what);
                    const cluster = clusters.find((c) => `${c.metadata.name}-kubeconfig` === k.spec.kubeConfig.secretRef.name)!;
                    assert.strictEqual(k.metadata.namespace, cluster.metadata.namespace, what);
                    assert.strictEqual(k.spec.kubeConfig.secretRef.key, "value", `${what}: Cluster API's kubeconfig Secret holds it under "value"`);
                    assert.strictEqual(k.spec.path, "./config/crd", what);
                    assert.strictEqual(k.spec.prune, false, `${what} would delete the CRDs, and every Gateway and route with them, on removal`);
                    assert.strictEqual(k.spec.deletionPolicy, "Orphan", what);
                    assert.strictEqual(k.spec.targetNamespace, undefined, what);
                    const source = sources.find((s) => s.metadata.name === k.spec.sourceRef.name && s.metadata.namespace === k.metadata.namespace);
                    assert.ok(
                        source && k.spec.sourceRef.kind === "GitRepository",
                        `${what}: source ${JSON.stringify(k.spec.sourceRef)} is not in the environment`,
                    );
                    assert.strictEqual(source.spec.url, "https://github.com/kubernetes-sigs/gateway-api", what);
                    assert.deepStrictEqual(Object.keys(source.spec.ref), ["tag"], `${what}: not pinned to a release tag`);
                    assert.strictEqual(source.spec.ref.tag, a.version, "the README's version is the source's tag");
                    assert.ok(semver.valid(source.spec.ref.tag) !== null && /^v\d+\.\d+\.\d+$/.test(source.spec.ref.tag), source.spec.ref.tag);
                }
                // The source only where a Cluster opts in; and no HelmChartProxy selects by the label.
                assert.strictEqual(
                    sources.some((s) => s.metadata.name === "gateway-api"),
                    optedIn.length > 0,
                );
                for (const p of ofKind(env, "HelmChartProxy")) {
                    assert.ok(!selectorKeys(p.spec.clusterSelector).includes(a.label), p.metadata.name);
                }
            },
        );

        it("keeps only Gateway API's CRD directory of the upstream repository, and no copy of it in the tree", () => {
            const source = ofKind(environment("dev"), "GitRepository").find((s) => s.metadata.name === "gateway-api")!;
            const rules = String(source.spec.ignore)
                .trim()
                .split("\n")
                .map((l) => l.trim());
            assert.deepStrictEqual(rules, ["/*", "!/config/", "/config/*", "!/config/crd/"]);
            for (const f of filesOf(TREE)) {
                assert.doesNotMatch(
                    fs.readFileSync(path.join(TREE, f), "utf8"),
                    /gateway\.networking\.k8s\.io\/bundle-version/,
                    `${f} carries upstream Gateway API objects`,
                );
            }
        });

        each("installs cert-manager with CRDs it keeps", (env) => {
            const cm = valuesOf(catalog(env).find((x) => x.metadata.name === "cert-manager")!);
            assert.deepStrictEqual(cm.crds, { enabled: true, keep: true });
        });
    });

    each(
        "pins every chart, follows the Clusters' Kubernetes minor with the cloud provider's charts, and points them at the distributed cloud-config Secret",
        (env) => {
            for (const p of ofKind(env, "HelmChartProxy")) {
                // One exact version (some charts, like cert-manager's, spell it with a "v").
                assert.ok(
                    semver.valid(p.spec.version) !== null && /^v?\d+\.\d+\.\d+$/.test(p.spec.version),
                    `${p.metadata.name}: ${p.spec.version} is not a pinned chart version`,
                );
                assert.match(p.spec.repoURL, /^(https|oci):\/\//, p.metadata.name);
                assert.strictEqual(
                    p.spec.reconcileStrategy,
                    undefined,
                    `${p.metadata.name}: upgrades and uninstalls follow Git only with the default (Continuous)`,
                );
            }
            for (const name of ["openstack-cloud-controller-manager", "openstack-cinder-csi"]) {
                const p = ofKind(env, "HelmChartProxy").find((x) => x.spec.chartName === name)!;
                assert.strictEqual(p.spec.namespace, WORKLOAD_CLOUD_CONFIG_SECRET.namespace, name);
                // OCCM writes its own (credential-free) cloud.conf and mounts the distributed Secret beside it: test/gitopsLoadBalancers.spec.ts.
                const mounted =
                    name === "openstack-cinder-csi"
                        ? (valuesOf(p).secret as Record<string, unknown>).name
                        : (valuesOf(p).extraVolumes as { secret?: { secretName: string } }[]).find((v) => v.secret)?.secret?.secretName;
                assert.deepStrictEqual(mounted, WORKLOAD_CLOUD_CONFIG_SECRET.name, name);
                assert.strictEqual(
                    (valuesOf(p).secret as Record<string, unknown>).create,
                    name !== "openstack-cinder-csi",
                    `${name}: who writes its cloud config`,
                );
                // cloud-provider-openstack's chart 2.<minor>.x is built for Kubernetes 1.<minor>.
                for (const cluster of ofKind(env, "Cluster")) {
                    assert.strictEqual(
                        semver.minor(p.spec.version),
                        semver.minor(cluster.spec.topology.version),
                        `${name} ${p.spec.version} for Cluster ${cluster.metadata.name} at ${cluster.spec.topology.version}`,
                    );
                }
            }
        },
    );
});
