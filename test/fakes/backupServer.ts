/**
 * The management server of the backup's and restore's driver tests (test/backup.spec.ts): fake
 * pulumi and ssh (the ssh runs the script here, the server's files in `<dir>/server`), with
 * the backup's fakes (clusterctl, kubectl, date: test/fakes/backup/) or the restore's
 * (test/fakes/restore/), the server's clock at `now` (epoch seconds).
 */
import * as fs from "fs";
import * as path from "path";
import { installFake } from "./shell";

/** Installs the fakes into `<dir>/bin` and returns that directory. */
export function fakeBackupServer(dir: string, opts: { fakes: "backup" | "restore"; now: number; bin?: string }): string {
    const bin = opts.bin ?? path.join(dir, "bin");
    installFake(bin, "pulumi", "check/pulumi.sh");
    installFake(bin, "ssh", "restore/ssh.sh");
    installFake(bin, "clusterctl", `${opts.fakes}/clusterctl.sh`);
    installFake(bin, "kubectl", `${opts.fakes}/kubectl.sh`);
    installFake(bin, "date", "backup/date.sh");
    fs.mkdirSync(path.join(dir, "server", "state"), { recursive: true });
    fs.writeFileSync(path.join(dir, "server", "state", "now"), String(opts.now));
    return bin;
}
