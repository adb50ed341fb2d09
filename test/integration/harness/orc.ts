/**
 * ORC (openstack-resource-controller) on the test bed: its manager, built by testbed/build.sh
 * from github.com/k-orc/openstack-resource-controller/v2 (component "orc"), run as a local
 * process against a test-bed API server, and the credentials Secret its objects reference.
 *
 * Usage (the API server must already have ORC's CRDs: `startManagementCluster` installs them,
 * or `installProvider(cp, testbed, { name: "orc", manifests: "orc-manifests" })`; a credential
 * and its clouds.yaml as the program makes them: `createOwnProject` and `createProgramCredential`
 * in test/integration/openstackProject.ts):
 *
 *     applyOrcCredentials(cp, "clusters", cred.cloudsYaml); // Secret openstack-credentials
 *     const orc = await startOrc(cp, testbed);              // waits for /readyz; cp.stop() ends it
 *     ...
 *     await orc.stop();                                     // or leave it to cp.stop()
 *
 * ORC v2.6.0 registers no admission webhooks: its CRDs judge objects with CEL rules, which the
 * API server runs by itself. The manager therefore needs no webhook port or certificate; its
 * metrics server is off and its health probe listens on a loopback port.
 */
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { cloudCredentialsData, orcCredentialsSecret } from "../../../src/cluster/clusterObjects";
import { freePort, httpGet } from "./controlPlane";
import { ManagedProcess, waitFor } from "./processes";
import { MANAGER_READY_TIMEOUT_MS } from "./providers";
import { Testbed } from "./testbed";

/** Where ORC runs: a ControlPlane satisfies it (and then stops ORC in `cp.stop()`). */
export interface OrcTarget {
    /** Kubeconfig of the API server ORC watches (admin credentials). */
    kubeconfig: string;
    /** Directory for ORC's log file (`<name>.log`). */
    dir: string;
    /** Registers the process for the target's own teardown, when the target has one. */
    adopt?(p: ManagedProcess): void;
}

/** Options of {@link startOrc}. */
export interface OrcOptions {
    /** Namespaces ORC watches (`--namespace`, repeated); default: all, as ORC's release installs it. */
    namespaces?: string[];
    /** Process name (log file `<dir>/<name>.log`, messages); default "orc". */
    name?: string;
}

/**
 * Starts ORC's manager against `target.kubeconfig` and waits until its /readyz answers 200.
 * Throws with the log tail if the manager exits or does not become ready in time. The returned
 * process is adopted by the target when it can (`ControlPlane.stop()` then stops it).
 */
export async function startOrc(target: OrcTarget, testbed: Testbed, opts: OrcOptions = {}): Promise<ManagedProcess> {
    const missing = testbed.missing(["orc"]);
    if (missing) {
        throw new Error(`ORC's manager is not in the test-bed cache: ${missing}`);
    }
    const name = opts.name ?? "orc";
    const healthPort = await freePort();
    const manager = new ManagedProcess({
        name,
        command: testbed.path("orc"),
        logFile: path.join(target.dir, `${name}.log`),
        env: { KUBECONFIG: target.kubeconfig },
        args: [
            `--health-probe-bind-address=127.0.0.1:${healthPort}`,
            "--metrics-bind-address=0",
            "--leader-elect=false",
            ...(opts.namespaces ?? []).map((ns) => `--namespace=${ns}`),
        ],
    });
    target.adopt?.(manager);
    try {
        await waitFor(
            `${name} readyz`,
            async () => {
                const r = await httpGet(`http://127.0.0.1:${healthPort}/readyz`);
                return r.status === 200 ? true : undefined;
            },
            { timeoutMs: MANAGER_READY_TIMEOUT_MS, intervalMs: 1000, watched: [manager] },
        );
    } catch (err) {
        await manager.stop();
        throw err;
    }
    return manager;
}

/**
 * The Secret ORC objects reference (`openstack-credentials` in `namespace`, key `clouds.yaml`,
 * cloud `openstack`), built with the program's own renderers (src/cluster/clusterObjects.ts), as YAML.
 * `cloudsYaml` is what src/cluster/cloudCredentials.ts `renderCloudsYaml` returns for a credential.
 */
export function orcCredentialsYaml(namespace: string, cloudsYaml: string, caCert?: string): string {
    return toYaml(orcCredentialsSecret(namespace, cloudCredentialsData(cloudsYaml, caCert)));
}

/** Applies {@link orcCredentialsYaml} (the namespace must exist). */
export function applyOrcCredentials(target: { applyOk(yamlText: string): string }, namespace: string, cloudsYaml: string, caCert?: string): void {
    target.applyOk(orcCredentialsYaml(namespace, cloudsYaml, caCert));
}
