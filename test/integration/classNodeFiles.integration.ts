/**
 * What the ClusterClass's patches put on a workload cluster's nodes, as Cluster API's real
 * topology controller renders their Go templates (test bed: classBed.ts): the etcd care's
 * timer and settings, the proxy's environment file, the registry mirror script. Moved here from
 * test/gitopsTree.spec.ts, which read the templates with an interpreter of its own; the unit
 * suite keeps what is literal in the class (the etcd script and the API endpoint script under
 * bash) and the schemas' verdicts (ajv).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { USER_DATA_MAX_BYTES } from "../../src/host/cloudInit";
import { classVariables } from "../../render/classVariables";
import { TreeObject } from "../../render/gitopsTree";
import { envFileOf, hasShellcheck, makeTempDir, shellcheck, skipTest } from "../fakes/shell";
import { classBedFor, KubeadmFile, withVariable } from "./classBed";
import {
    SCRIPT,
    SERVICE,
    TIMER,
    SETTINGS_FILE,
    ENV_FILE,
    KUBELET_ENV_FILE,
    CONTAINERD_DROPIN,
    KUBELET_DROPIN,
    ENDPOINT_SCRIPT,
    PROXY_FILES,
    MIRRORS_SCRIPT,
    KUBEADM_FILE_MAX_BYTES,
    PROXY,
    MIRRORS,
    DOCKER_HOSTS,
    LOCAL_HOSTS,
    fileOf,
    nodes,
    runMirrors,
} from "./classNodeFilesParams";

describe("test bed: the ClusterClass's files on the nodes, rendered by Cluster API's topology controller", function () {
    this.timeout(300_000);
    const b = classBedFor("class-files");
    const with_ = (vars: Record<string, unknown>, cluster = b().base) => Object.entries(vars).reduce((c, [k, v]) => withVariable(c, k, v), cluster);
    const expand = (c: TreeObject) => b().expand(c);
    /** Cluster API's webhook refuses the variable, naming it. */
    const refused = (c: TreeObject, variable: string, what: string) =>
        assert.match(b().refusal(c), new RegExp(`spec\\.topology\\.variables\\[${variable}\\]`), what);

    describe("etcd care", () => {
        it("puts the timer, its service, the script and its settings on every control plane node by default, and nothing on workers", async () => {
            const { controlPlane, workers } = await expand(b().base);
            const files = controlPlane.files as KubeadmFile[];
            assert.deepStrictEqual(files.map((f) => f.path).sort(), [SETTINGS_FILE, SERVICE, TIMER, SCRIPT].sort());
            assert.strictEqual(fileOf(files, SCRIPT).permissions, "0755");
            for (const f of files) {
                assert.strictEqual(f.owner, "root:root", f.path);
                if (f.path !== SCRIPT) assert.strictEqual(f.permissions, "0644", f.path);
                // cloud-init renders Cluster API's user data as a Jinja template.
                assert.doesNotMatch(f.content, /\{\{|\{%|\{#/, `${f.path} has Jinja delimiters`);
            }
            assert.match(fileOf(files, TIMER).content, /^OnCalendar=\*-\*-\* 02:30:00$/m);
            assert.match(fileOf(files, SETTINGS_FILE).content, /^SNAPSHOTS_KEPT=7$/m);
            assert.match(fileOf(files, SERVICE).content, new RegExp(`^ExecStart=${SCRIPT}$`, "m"));
            assert.match(fileOf(files, SERVICE).content, new RegExp(`^EnvironmentFile=${SETTINGS_FILE}$`, "m"));
            assert.deepStrictEqual(controlPlane.postKubeadmCommands, ["systemctl daemon-reload", "systemctl enable --now capi-mgmt-etcd-maintenance.timer"]);
            assert.strictEqual(workers.files, undefined);
            assert.strictEqual(workers.postKubeadmCommands, undefined);
        });

        it("follows the variables: off, retention, time of day", async () => {
            const off = (await expand(with_({ etcdMaintenance: false }))).controlPlane;
            assert.strictEqual(off.files, undefined);
            assert.strictEqual(off.postKubeadmCommands, undefined);
            const files = (await expand(with_({ etcdSnapshotsKept: 14, etcdMaintenanceTime: "04:05" }))).controlPlane.files as KubeadmFile[];
            assert.match(fileOf(files, SETTINGS_FILE).content, /^SNAPSHOTS_KEPT=14$/m);
            assert.match(fileOf(files, TIMER).content, /^OnCalendar=\*-\*-\* 04:05:00$/m);
            for (const [name, value] of [
                ["etcdMaintenanceTime", "24:00"],
                ["etcdMaintenanceTime", "2:30"],
                ["etcdSnapshotsKept", 0],
            ] as [string, unknown][]) {
                refused(with_({ [name]: value }), name, `${name} ${value}`);
            }
        });

        describe("systemd units", () => {
            before(function () {
                if (spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" }).status !== 0 || !fs.existsSync("/usr/lib/systemd/system/timers.target")) {
                    skipTest(this, "systemd-analyze verify of the etcd timer", "systemd-analyze and systemd's units (package systemd)");
                }
            });

            /** `systemd-analyze verify` of the timer and service in a root holding them, the script and systemd's own units. */
            const verify = (files: KubeadmFile[]) => {
                const root = makeTempDir("systemd-root");
                fs.cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
                for (const f of files) {
                    fs.mkdirSync(path.join(root, path.dirname(f.path)), { recursive: true });
                    fs.writeFileSync(path.join(root, f.path), f.content, { mode: parseInt(f.permissions, 8) });
                }
                return spawnSync("systemd-analyze", ["verify", `--root=${root}`, TIMER, SERVICE], { encoding: "utf8" });
            };

            it("are valid: systemd-analyze verify finds nothing to say, and would catch a broken unit", async () => {
                const files = (await expand(b().base)).controlPlane.files as KubeadmFile[];
                const r = verify(files);
                assert.strictEqual(r.status, 0, r.stderr);
                assert.doesNotMatch(r.stderr, /capi-mgmt-etcd-maintenance/, r.stderr);
                const broken = structuredClone(files);
                fileOf(broken, TIMER).content = fileOf(broken, TIMER).content.replace(/^OnCalendar=.*$/m, "OnCalendar=*-*-* 25:30:00");
                assert.notStrictEqual(verify(broken).status, 0);
                const typo = structuredClone(files);
                fileOf(typo, SERVICE).content += "Nicee=10\n";
                assert.match(verify(typo).stderr, /Unknown key 'Nicee'/);
            });
        });
    });

    describe("proxy", () => {
        it("puts no proxy or mirror file on the example Cluster's nodes (it sets neither variable)", async () => {
            const k = await expand(b().base);
            assert.ok(!(k.controlPlane.files ?? []).some((f) => PROXY_FILES.includes(f.path) || f.path.startsWith("/etc/containerd/")));
            assert.strictEqual(k.controlPlane.preKubeadmCommands, undefined);
            assert.strictEqual(k.workers.files, undefined);
            assert.strictEqual(k.workers.preKubeadmCommands, undefined);
        });

        for (const etcd of [true, false]) {
            it(`gives containerd and kubelet the proxy on control plane and workers, NO_PROXY covering the cluster, with etcdMaintenance ${etcd ? "on" : "off"}`, async () => {
                const cluster = with_({ proxy: PROXY, etcdMaintenance: etcd });
                const k = await expand(cluster);
                const net = cluster.spec.clusterNetwork;
                const cc = b().objects.find((o) => o.kind === "ClusterClass")!;
                const nodeCidr = ((cluster.spec.topology.variables as { name: string; value: unknown }[]).find((v) => v.name === "nodeCidr")?.value ??
                    classVariables(cc).find((d) => d.name === "nodeCidr")!.schema.openAPIV3Schema.default) as string;
                const required = [
                    "localhost",
                    "127.0.0.1",
                    ".svc",
                    ".cluster.local",
                    "169.254.169.254",
                    nodeCidr,
                    ...net.pods.cidrBlocks,
                    ...net.services.cidrBlocks,
                    ...PROXY.noProxy,
                ];
                for (const [where, files, pre] of nodes(k)) {
                    const env = envFileOf(fileOf(files, ENV_FILE).content);
                    assert.strictEqual(env.HTTP_PROXY, PROXY.http, where);
                    assert.strictEqual(env.http_proxy, PROXY.http, where);
                    assert.strictEqual(env.HTTPS_PROXY, PROXY.https, where);
                    assert.strictEqual(env.https_proxy, PROXY.https, where);
                    assert.strictEqual(env.no_proxy, env.NO_PROXY, where);
                    const list = env.NO_PROXY.split(",");
                    for (const r of required) {
                        assert.ok(list.includes(r), `${where}: NO_PROXY ${env.NO_PROXY} lacks ${r}`);
                    }
                    assert.strictEqual(new Set(list).size, list.length, `${where}: NO_PROXY repeats an entry: ${env.NO_PROXY}`);
                    assert.match(fileOf(files, CONTAINERD_DROPIN).content, new RegExp(`^\\[Service\\]\\nEnvironmentFile=${ENV_FILE}\\n$`));
                    const kubeletUnits = fileOf(files, KUBELET_DROPIN)
                        .content.split("\n")
                        .filter((l) => l.startsWith("EnvironmentFile="));
                    assert.deepStrictEqual(kubeletUnits, [`EnvironmentFile=${ENV_FILE}`, `EnvironmentFile=${KUBELET_ENV_FILE}`], where);
                    assert.strictEqual(fileOf(files, ENDPOINT_SCRIPT).permissions, "0755");
                    for (const p of PROXY_FILES) {
                        assert.strictEqual(fileOf(files, p).owner, "root:root", p);
                    }
                    // Before kubeadm: the endpoint, then systemd reads the drop-ins and containerd restarts with them.
                    assert.deepStrictEqual(pre, [ENDPOINT_SCRIPT, "systemctl daemon-reload", "systemctl restart containerd"], where);
                    for (const f of files ?? []) {
                        assert.doesNotMatch(f.content, /\{\{|\{%|\{#/, `${where}: ${f.path} has Jinja delimiters`);
                    }
                }
                // The etcd timer's files stay exactly as without the proxy.
                const etcdFiles = ((await expand(with_({ etcdMaintenance: etcd }))).controlPlane.files ?? []) as KubeadmFile[];
                const cpFiles = k.controlPlane.files as KubeadmFile[];
                assert.deepStrictEqual(cpFiles.slice(0, etcdFiles.length), etcdFiles);
                assert.deepStrictEqual(
                    cpFiles.slice(etcdFiles.length).map((f) => f.path),
                    PROXY_FILES,
                );
                assert.deepStrictEqual(
                    (k.workers.files ?? []).map((f) => f.path),
                    PROXY_FILES,
                );
            });
        }

        it("sets only the proxies given, and still the whole NO_PROXY without a noProxy", async () => {
            for (const [given, absent] of [
                ["http", "https"],
                ["https", "http"],
            ] as const) {
                for (const [where, files] of nodes(await expand(with_({ proxy: { [given]: PROXY[given] } })))) {
                    const env = envFileOf(fileOf(files, ENV_FILE).content);
                    assert.strictEqual(env[`${given.toUpperCase()}_PROXY`], PROXY[given], where);
                    assert.strictEqual(env[`${absent.toUpperCase()}_PROXY`], undefined, where);
                    assert.strictEqual(env[`${absent}_proxy`], undefined, where);
                    assert.ok(env.NO_PROXY.split(",").includes(".svc") && env.NO_PROXY.split(",").includes("169.254.169.254"), env.NO_PROXY);
                }
            }
        });

        it("refuses a user or password in a proxy URL by the class's CEL rule, naming the field", () => {
            assert.match(b().refusal(with_({ proxy: { http: "http://user:secret@proxy.example.com:3128" } })), /proxy\.http must not carry a user or password/);
            assert.match(b().refusal(with_({ proxy: { https: "https://token@proxy.example.com" } })), /proxy\.https must not carry a user or password/);
        });
    });

    describe("registry mirrors", () => {
        for (const etcd of [true, false]) {
            it(`appends one script writing a hosts.toml per registry (mirrors in order, pull and resolve) and runs it before kubeadm, with etcdMaintenance ${etcd ? "on" : "off"}`, async () => {
                const k = await expand(with_({ registryMirrors: MIRRORS, etcdMaintenance: etcd }));
                const scripts: string[] = [];
                for (const [where, files, pre] of nodes(k)) {
                    const script = fileOf(files, MIRRORS_SCRIPT);
                    assert.strictEqual(script.permissions, "0755");
                    assert.strictEqual(script.owner, "root:root");
                    assert.deepStrictEqual(
                        (files ?? []).filter((f) => f.path.includes("containerd") || f.path.includes("registry")).map((f) => f.path),
                        [MIRRORS_SCRIPT],
                        where,
                    );
                    // containerd reads certs.d on each pull: the script, no restart.
                    assert.deepStrictEqual(pre, [MIRRORS_SCRIPT], where);
                    for (const f of files ?? []) {
                        assert.doesNotMatch(f.content, /\{\{|\{%|\{#/, `${where}: ${f.path} has Jinja delimiters`);
                    }
                    const ran = runMirrors(script.content);
                    assert.deepStrictEqual(ran.files, { "docker.io/hosts.toml": DOCKER_HOSTS, "registry.example:5000/hosts.toml": LOCAL_HOSTS }, where);
                    assert.deepStrictEqual(ran.modes, { "docker.io/hosts.toml": 0o644, "registry.example:5000/hosts.toml": 0o644 }, where);
                    // Again (cloud-init re-running it): the same files, nothing left over.
                    assert.deepStrictEqual(runMirrors(script.content + "\n" + script.content).files, ran.files, where);
                    scripts.push(script.content);
                }
                assert.strictEqual(scripts[0], scripts[1], "control plane and workers get the same script");
                // Appended: the etcd timer's files stay first, exactly as without mirrors.
                const etcdFiles = ((await expand(with_({ etcdMaintenance: etcd }))).controlPlane.files ?? []) as KubeadmFile[];
                const cpFiles = k.controlPlane.files as KubeadmFile[];
                assert.deepStrictEqual(cpFiles.slice(0, etcdFiles.length), etcdFiles);
                assert.deepStrictEqual(
                    cpFiles.slice(etcdFiles.length).map((f) => f.path),
                    [MIRRORS_SCRIPT],
                );
                assert.strictEqual(
                    etcdFiles.some((f) => f.path.includes("etcd-maintenance")),
                    etcd,
                );
            });
        }

        it("puts no mirror script and no command on the nodes without the variable (with and without the proxy)", async () => {
            for (const vars of [{ etcdMaintenance: false }, { etcdMaintenance: true, proxy: PROXY }]) {
                for (const [where, files, pre] of nodes(await expand(with_(vars)))) {
                    assert.ok(
                        !(files ?? []).some((f) => f.path === MIRRORS_SCRIPT || f.path.startsWith("/etc/containerd/certs.d/")),
                        `${where} ${JSON.stringify(vars)}`,
                    );
                    assert.ok(!(pre ?? []).includes(MIRRORS_SCRIPT), `${where} ${JSON.stringify(vars)}`);
                    assert.strictEqual(pre === undefined, vars.proxy === undefined, `${where}: a preKubeadmCommands list only for the proxy`);
                }
            }
        });

        it("passes shellcheck (the rendered script, two registries and one)", async function () {
            if (!hasShellcheck()) {
                skipTest(this, "shellcheck of the registry mirror script", "shellcheck");
            }
            const dir = makeTempDir("registry-mirrors-check");
            const files: string[] = [];
            for (const [i, mirrors] of [MIRRORS, MIRRORS.slice(1)].entries()) {
                const f = path.join(dir, `capi-mgmt-registry-mirrors-${i}`);
                fs.writeFileSync(f, fileOf((await expand(with_({ registryMirrors: mirrors }))).workers.files, MIRRORS_SCRIPT).content);
                files.push(f);
            }
            shellcheck(files);
        });

        it("takes as many registries as the variable allows next to the proxy, and refuses one more", async () => {
            const all = Array.from({ length: 8 }, (_, i) => ({
                registry: `r${i}.example:${5000 + i}`,
                endpoints: [`https://m${i}.example`, `https://h${i}.example/v2/r${i}`],
            }));
            for (const [where, files, pre] of nodes(await expand(with_({ registryMirrors: all, proxy: { http: "http://p.example:3128" } })))) {
                // Appended after the proxy's (and the etcd timer's), which stay whole.
                assert.deepStrictEqual(
                    (files ?? []).map((f) => f.path).filter((p) => !p.includes("etcd-maintenance")),
                    [...PROXY_FILES, MIRRORS_SCRIPT],
                    where,
                );
                assert.deepStrictEqual(pre, [ENDPOINT_SCRIPT, "systemctl daemon-reload", "systemctl restart containerd", MIRRORS_SCRIPT], where);
                const ran = runMirrors(fileOf(files, MIRRORS_SCRIPT).content);
                assert.deepStrictEqual(Object.keys(ran.files), all.map((m) => `${m.registry}/hosts.toml`).sort(), where);
                for (const [i, m] of all.entries()) {
                    assert.strictEqual(
                        ran.files[`${m.registry}/hosts.toml`],
                        [
                            `# containerd's hosts for ${m.registry} (ClusterClass variable registryMirrors):`,
                            "# the mirrors in order, then the registry itself.",
                            `server = "https://${m.registry}"`,
                            "",
                            `[host."https://m${i}.example"]`,
                            '  capabilities = ["pull", "resolve"]',
                            "",
                            `[host."https://h${i}.example/v2/r${i}"]`,
                            '  capabilities = ["pull", "resolve"]',
                            "  override_path = true",
                            "",
                        ].join("\n"),
                        m.registry,
                    );
                }
            }
            refused(with_({ registryMirrors: [...all, { registry: "one.more", endpoints: ["https://m.example"] }] }), "registryMirrors", "nine registries");
        });

        it("fits the schema's largest proxy and mirror lists, etcd care on, into a control plane node's user data with room for Cluster API's own", async () => {
            // Nova takes at most 65535 characters of base64 user data (src/host/cloudInit.ts); 16 KiB is
            // reserved for Cluster API's own certificates, keys and kubeadm configuration.
            const budget = USER_DATA_MAX_BYTES - 16 * 1024;
            interface Limits {
                maxItems?: number;
                maxLength?: number;
                items?: Limits;
                properties?: Record<string, Limits>;
            }
            const cc = b().objects.find((o) => o.kind === "ClusterClass")!;
            const schemaOf = (name: string) => classVariables(cc).find((d) => d.name === name)!.schema.openAPIV3Schema as unknown as Limits;
            const limit = (n: number | undefined, what: string): number => {
                assert.ok(n !== undefined, `${what} has no limit: the user data has no bound`);
                return n;
            };
            const proxySchema = schemaOf("proxy").properties!;
            const mirrorSchema = schemaOf("registryMirrors");
            const mirrorItem = mirrorSchema.items!.properties!;
            const longLabel = (n: number) => "a" + "b".repeat(n - 1);
            const proxyUrl = "http://" + longLabel(limit(proxySchema.http.maxLength, "proxy.http") - "http://".length - ":3128".length) + ":3128";
            const noProxyLength = limit(proxySchema.noProxy.items?.maxLength, "proxy.noProxy[]");
            const noProxy = Array.from(
                { length: limit(proxySchema.noProxy.maxItems, "proxy.noProxy") },
                (_, i) => `.${i}${longLabel(noProxyLength - 1 - String(i).length)}`,
            );
            const registryLength = limit(mirrorItem.registry.maxLength, "registryMirrors[].registry");
            const endpointLength = limit(mirrorItem.endpoints.items?.maxLength, "registryMirrors[].endpoints[]");
            const mirrors = Array.from({ length: limit(mirrorSchema.maxItems, "registryMirrors") }, (_, i) => ({
                registry: `r${i}${longLabel(registryLength - 1 - String(i).length)}`,
                endpoints: Array.from({ length: limit(mirrorItem.endpoints.maxItems, "registryMirrors[].endpoints") }, (_, j) => {
                    const head = `https://m${j}.example/`;
                    return head + "p".repeat(endpointLength - head.length);
                }),
            }));
            // Each file must also fit the 10240 bytes KubeadmControlPlane and KubeadmConfigTemplate
            // take per file content, or the topology controller cannot create them at all (the
            // Cluster stays without control plane; only its log says why). Measured on one and two
            // registries at the schema's limits, the script grows by the same amount per registry.
            const scriptBytes = async (n: number) =>
                Buffer.byteLength(fileOf((await expand(with_({ registryMirrors: mirrors.slice(0, n) }))).controlPlane.files, MIRRORS_SCRIPT).content, "utf8");
            const [one, two] = [await scriptBytes(1), await scriptBytes(2)];
            const projected = one + (mirrors.length - 1) * (two - one);
            assert.ok(
                projected <= KUBEADM_FILE_MAX_BYTES,
                `at the schema's limits (${mirrors.length} registries of ${mirrors[0].endpoints.length} endpoints of ${endpointLength} characters) the registry mirror script takes ${projected} bytes, more than the ${KUBEADM_FILE_MAX_BYTES} Cluster API allows a kubeadm file: the topology controller could not create the KubeadmControlPlane`,
            );
            const spec = (await expand(with_({ proxy: { http: proxyUrl, https: proxyUrl, noProxy }, registryMirrors: mirrors, etcdMaintenance: true })))
                .controlPlane;
            const size = Buffer.byteLength(JSON.stringify(spec), "utf8");
            assert.ok(size <= budget, `the class's part of the user data takes ${size} bytes at the schema's limits, more than ${budget}`);
        });

        it("writes a registry listed twice once, the later entry winning (as the gitops README says)", async () => {
            const twice = [
                { registry: "ghcr.io", endpoints: ["https://first.example"] },
                { registry: "docker.io", endpoints: ["https://mirror-a.example", "https://harbor.example/v2/dockerhub"] },
                { registry: "ghcr.io", endpoints: ["https://second.example/ghcr"] },
            ];
            const ran = runMirrors(fileOf((await expand(with_({ registryMirrors: twice }))).workers.files, MIRRORS_SCRIPT).content);
            assert.deepStrictEqual(Object.keys(ran.files), ["docker.io/hosts.toml", "ghcr.io/hosts.toml"]);
            assert.strictEqual(ran.files["docker.io/hosts.toml"], DOCKER_HOSTS);
            assert.match(
                ran.files["ghcr.io/hosts.toml"],
                /\[host\."https:\/\/second\.example\/ghcr"\]\n {2}capabilities = \["pull", "resolve"\]\n {2}override_path = true\n$/,
            );
            assert.doesNotMatch(ran.files["ghcr.io/hosts.toml"], /first\.example/);
        });

        it("keeps whatever the schema lets through inside the heredocs and the directory (names like EOF, dots and dashes, paths with dots)", async () => {
            const odd = [
                { registry: "EOF", endpoints: ["https://EOF/EOF", "http://[fd00::1]:5000/a.b/_~-/..", "https://x-1.example/"] },
                { registry: "a-1.b-2.c:1", endpoints: ["https://m.example/v2/x"] },
            ];
            const ran = runMirrors(fileOf((await expand(with_({ registryMirrors: odd }))).workers.files, MIRRORS_SCRIPT).content);
            assert.deepStrictEqual(Object.keys(ran.files), ["EOF/hosts.toml", "a-1.b-2.c:1/hosts.toml"]);
            const hosts = ran.files["EOF/hosts.toml"].split("\n").filter((l) => l.startsWith("[host."));
            assert.deepStrictEqual(hosts, ['[host."https://EOF/EOF"]', '[host."http://[fd00::1]:5000/a.b/_~-/.."]', '[host."https://x-1.example/"]']);
            assert.match(ran.files["EOF/hosts.toml"], /^server = "https:\/\/EOF"$/m);
            assert.strictEqual(ran.files["EOF/hosts.toml"].match(/override_path = true/g)?.length, 2);
        });
    });
});
