/**
 * Reading what the fake crictl (test/fakes/gitops/crictl.sh) logged for the etcd maintenance
 * script's tests (test/gitopsTreeEtcd.spec.ts, test/integration/classEtcdLeaderRace.integration.ts).
 */
import * as fs from "fs";

/** The etcdctl calls of the log, in order, each as `<endpoint> <args>`. */
export function etcdctlCalls(log: string): string[] {
    return fs
        .readFileSync(log, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("etcdctl "))
        .map((l) => l.replace(/^etcdctl /, ""));
}
