/**
 * The node files classNodeFiles.integration.ts looks for (paths, the proxy and the mirrors it sets,
 * what each mirror's hosts.toml must say), how it finds a file on a node of an expanded Cluster, and
 * the registry mirror script run under bash.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { assertSuccess, makeTempDir, runScript } from "../fakes/shell";
import { Expanded, KubeadmFile } from "./classBed";

export const SCRIPT = "/usr/local/sbin/capi-mgmt-etcd-maintenance";
export const SERVICE = "/etc/systemd/system/capi-mgmt-etcd-maintenance.service";
export const TIMER = "/etc/systemd/system/capi-mgmt-etcd-maintenance.timer";
export const SETTINGS_FILE = "/etc/default/capi-mgmt-etcd-maintenance";
export const ENV_FILE = "/etc/default/capi-mgmt-proxy";
export const KUBELET_ENV_FILE = "/etc/default/capi-mgmt-proxy-kubelet";
export const CONTAINERD_DROPIN = "/etc/systemd/system/containerd.service.d/http-proxy.conf";
export const KUBELET_DROPIN = "/etc/systemd/system/kubelet.service.d/http-proxy.conf";
export const ENDPOINT_SCRIPT = "/usr/local/sbin/capi-mgmt-proxy-api-endpoint";
export const PROXY_FILES = [ENV_FILE, CONTAINERD_DROPIN, KUBELET_DROPIN, ENDPOINT_SCRIPT];
export const MIRRORS_SCRIPT = "/usr/local/sbin/capi-mgmt-registry-mirrors";
/** Cluster API v1.14's limit on a kubeadm file's content (the CRDs' maxLength of files[].content). */
export const KUBEADM_FILE_MAX_BYTES = 10240;
export const PROXY = {
    http: "http://proxy.example.com:3128",
    https: "http://proxy.example.com:3129",
    noProxy: [".corp.example", "10.20.0.0/16", "registry.example"],
};
export const MIRRORS = [
    { registry: "docker.io", endpoints: ["https://mirror-a.example", "https://harbor.example/v2/dockerhub"] },
    { registry: "registry.example:5000", endpoints: ["http://10.1.2.3:5000"] },
];
/** hosts.toml as containerd gets it. */
export const DOCKER_HOSTS = [
    "# containerd's hosts for docker.io (ClusterClass variable registryMirrors):",
    "# the mirrors in order, then the registry itself.",
    'server = "https://registry-1.docker.io"',
    "",
    '[host."https://mirror-a.example"]',
    '  capabilities = ["pull", "resolve"]',
    "",
    '[host."https://harbor.example/v2/dockerhub"]',
    '  capabilities = ["pull", "resolve"]',
    "  override_path = true",
    "",
].join("\n");
export const LOCAL_HOSTS = [
    "# containerd's hosts for registry.example:5000 (ClusterClass variable registryMirrors):",
    "# the mirrors in order, then the registry itself.",
    'server = "https://registry.example:5000"',
    "",
    '[host."http://10.1.2.3:5000"]',
    '  capabilities = ["pull", "resolve"]',
    "",
].join("\n");

export const fileOf = (files: KubeadmFile[] | undefined, p: string): KubeadmFile => {
    const f = (files ?? []).find((x) => x.path === p);
    assert.ok(f, `no file ${p} among ${JSON.stringify((files ?? []).map((x) => x.path))}`);
    return f;
};

/** Both kubeadm configs of an expanded Cluster: [where, files, preKubeadmCommands]. */
export const nodes = (k: Expanded): [string, KubeadmFile[] | undefined, string[] | undefined][] => [
    ["control plane", k.controlPlane.files, k.controlPlane.preKubeadmCommands],
    ["workers", k.workers.files, k.workers.preKubeadmCommands],
];

/** Runs a registry mirror script under bash with its directory in a new temp dir: the files it wrote and their modes. */
export function runMirrors(script: string): { files: Record<string, string>; modes: Record<string, number> } {
    const dir = makeTempDir("registry-mirrors");
    const r = runScript(script, { PATH: process.env.PATH ?? "/usr/bin:/bin", CERTS_DIR: dir });
    assertSuccess(r);
    const files: Record<string, string> = {};
    const modes: Record<string, number> = {};
    for (const rel of (fs.readdirSync(dir, { recursive: true }) as string[]).sort()) {
        const p = path.join(dir, rel);
        if (fs.statSync(p).isFile()) {
            files[rel] = fs.readFileSync(p, "utf8");
            modes[rel] = fs.statSync(p).mode & 0o777;
        }
    }
    return { files, modes };
}
