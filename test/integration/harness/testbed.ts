/**
 * The built test bed: binaries and upstream manifests that testbed/build.sh put in the cache and
 * listed in testbed.json. Components that could not be downloaded or built are listed with the
 * error; `need()` turns that into a skip reason for the tests that depend on them.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** One entry of testbed.json. */
export interface Component {
    kind: "binary" | "manifests";
    module: string;
    version?: string;
    /** Present when the component is usable. */
    path?: string;
    /** Present when it is not: the download or build error. */
    error?: string;
}

/** Binary names build.sh knows. */
export type BinaryName =
    | "etcd"
    | "kube-apiserver"
    | "capi-core"
    | "capi-kubeadm-bootstrap"
    | "capi-kubeadm-control-plane"
    | "clusterctl"
    | "capo"
    | "caaph"
    | "orc"
    | "flux-source-controller"
    | "flux-kustomize-controller"
    | "flux-envsubst"
    | "semver-check";

/** Manifest sets build.sh collects. */
export type ManifestName =
    | "capi-core-manifests"
    | "capi-kubeadm-bootstrap-manifests"
    | "capi-kubeadm-control-plane-manifests"
    | "capo-manifests"
    | "caaph-manifests"
    | "orc-manifests"
    | "flux-source-controller-manifests"
    | "flux-kustomize-controller-manifests";

/** The cache directory build.sh uses. */
export function cacheDir(): string {
    return process.env.CAPI_MGMT_TESTBED_CACHE || path.join(os.homedir(), ".cache", "capi-mgmt-testbed");
}

/** The index of the cache. */
export class Testbed {
    private constructor(
        readonly components: Record<string, Component>,
        readonly goVersion: string,
    ) {}

    /** Reads testbed.json; throws with a hint when build.sh has not run. */
    static load(): Testbed {
        const file = path.join(cacheDir(), "testbed.json");
        if (!fs.existsSync(file)) {
            throw new Error(`no ${file}: run testbed/build.sh first (npm run test:integration does)`);
        }
        const raw = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
        const { go, ...components } = raw;
        return new Testbed(components as Record<string, Component>, String(go ?? ""));
    }

    /** A copy with one component's path replaced (harness tests use it to break a component). */
    withPath(name: BinaryName | ManifestName, file: string): Testbed {
        const c = this.components[name] ?? { kind: "binary", module: name };
        return new Testbed({ ...this.components, [name]: { ...c, path: file, error: undefined } }, this.goVersion);
    }

    /** Why the named components cannot be used, or undefined when all can. */
    missing(names: (BinaryName | ManifestName)[]): string | undefined {
        const problems = names.flatMap((n) => {
            const c = this.components[n];
            if (!c) {
                return [`${n}: not listed in testbed.json`];
            }
            if (!c.path || !fs.existsSync(c.path)) {
                return [
                    `${n} (${c.module}${c.version ? `@${c.version}` : ""}): ${(c.error ?? "missing from the cache").trim().split("\n").slice(-3).join(" | ")}`,
                ];
            }
            return [];
        });
        return problems.length ? problems.join("; ") : undefined;
    }

    /** Path of a usable component (call `missing` first). */
    path(name: BinaryName | ManifestName): string {
        const c = this.components[name];
        if (!c?.path) {
            throw new Error(`test bed component ${name} is not available: ${c?.error ?? "not listed"}`);
        }
        return c.path;
    }

    /** `module@version` of a component, for messages. */
    describe(name: BinaryName | ManifestName): string {
        const c = this.components[name];
        return c ? `${c.module}@${c.version ?? "?"}` : name;
    }
}
