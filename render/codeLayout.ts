/**
 * The "Shape of the code" section of docs/architecture.md (`npm run diagram`): what each
 * folder of `src/` holds, with its files read from disk, so that a folder added, removed or
 * left undescribed makes the generated file differ (test/diagram.spec.ts).
 */
import * as fs from "fs";
import * as path from "path";

/** What each folder of `src/` holds; every folder must be here and nothing else. */
export const SRC_FOLDERS: Readonly<Record<string, string>> = {
    config: "the settings: one schema per key (type, default, constraints, docs), the named cross-field rules, loading from the stack",
    cloud: "the OpenStack side: preflight, network, security group, keys, application credentials, the server",
    host: "the server itself: cloud-init, the host step registry (steps.ts) and its builder, the steps' components and renderers, the scripts (scripts/, scripts/lib/ for includes) and systemd units",
    cluster:
        "the management cluster: kind, ORC, Cluster API, the credentials in the cluster, certificate renewal, the conformance check, the self-hosted mode (docs/self-hosted.md)",
    gitops: "Flux syncing the Git path, and Flux's semver ranges",
    lifecycle: "later runs: the gate, the replacement map and its facts, the plan, the rebuild check, the credential owner, the teardown",
    shared: "names and addresses every feature uses: resource naming, address parsing, SSH keys, the names shared with the GitOps tree, the operator commands' flags",
    backup: "the management cluster's state: the ManagementBackup component (backup volume, timer, backup before an upgrade), the `lastBackup` output, the BackupStorage component (the copy to Swift with its own restricted credential), `npm run backup` and `npm run restore` over SSH (clusterctl move to and from a directory; the scripts are in host/scripts/)",
    versions: "every pinned version and checksum, the release files clusterctl reads, and the verified download cache (Flux's install.yaml)",
};

/** The `.ts` files under `dir`, relative to it, sorted (scripts and units are counted apart). */
function listFiles(dir: string): { ts: string[]; scripts: number; units: number } {
    const ts: string[] = [];
    let scripts = 0;
    let units = 0;
    const walk = (d: string): void => {
        for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) {
                walk(p);
            } else if (e.name.endsWith(".ts")) {
                ts.push(path.relative(dir, p));
            } else if (e.name.endsWith(".sh")) {
                scripts++;
            } else if (/\.(service|timer)$/.test(e.name)) {
                units++;
            }
        }
    };
    walk(dir);
    return { ts, scripts, units };
}

/** The section's lines. Throws when a folder of `src/` and {@link SRC_FOLDERS} disagree. */
export function codeLayoutSection(projectDir: string): string[] {
    const src = path.join(projectDir, "src");
    const folders = fs
        .readdirSync(src, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    const described = Object.keys(SRC_FOLDERS).sort();
    if (JSON.stringify(folders) !== JSON.stringify(described)) {
        throw new Error(`src/ has the folders ${folders.join(", ")}, render/codeLayout.ts describes ${described.join(", ")}`);
    }
    const rootFiles = fs
        .readdirSync(src)
        .filter((f) => f.endsWith(".ts"))
        .sort();
    const rows = Object.keys(SRC_FOLDERS).map((folder) => {
        const { ts, scripts, units } = listFiles(path.join(src, folder));
        const extra = [scripts > 0 ? `${scripts} shell scripts` : "", units > 0 ? `${units} systemd units` : ""].filter((x) => x !== "");
        const files = ts.map((f) => `\`${f}\``).join(", ") + (extra.length > 0 ? `; ${extra.join(", ")}` : "");
        return `| \`src/${folder}/\` | ${SRC_FOLDERS[folder]} | ${files} |`;
    });
    return [
        "## Shape of the code",
        "",
        "The code is organised by feature. `index.ts` exports the stack outputs of `program.ts`, which",
        `builds the stack from the parsed settings through ${rootFiles.map((f) => `\`src/${f}\``).join(", ")}, the component`,
        "holding all others. Each folder of `src/` holds a feature's components (ComponentResources that",
        "only wire resources), its pure renderers (text, manifests, scripts' parameters) and, for the",
        "server, its scripts. Features use each other's pure modules (every script renderer goes",
        "through `src/host/hostScripts.ts`, the settings check Flux's semver ranges with",
        "`src/gitops/semverRange.ts`); no import cycle runs between files. Beside `src/`: `render/`",
        "(offline render, plan, diagrams and generated docs), `test/` (the unit suite, the",
        "integration suite in `test/integration/`), `testbed/` (the integration test bed) and",
        "`gitops/` (the starter tree).",
        "",
        "| Folder | What it holds | Files |",
        "| --- | --- | --- |",
        ...rows,
        "",
        "The remote commands on the server are data: `src/host/steps.ts` has one entry per step (its",
        "name, component, script, parameters, whether it runs as root and on create, update or delete,",
        "its trigger, what it waits for, its secret outputs), and `src/host/hostStep.ts` builds each",
        "command from its entry; a component only renders the step's script. A new step is an entry",
        "there, a script in `src/host/scripts/` and its renderer (test/hostSteps.spec.ts checks the",
        "registry against the scripts and the graph).",
        "",
        "Text that reaches the server (the header of every rendered script, the comments in units",
        "and files the steps and the user-data write) still names `lib/` and `host/`, the paths from",
        "before the code moved to `src/`: a changed byte would re-run a step or replace the server.",
        "test/graphIdentity.spec.ts holds both stacks' graph (URNs, types, parents, inputs) to a",
        "snapshot taken before the move.",
        "",
    ];
}
