/**
 * The stack output `lastBackup`: when and where the management server's last good backup is,
 * read from the server on every preview and `up` (src/host/scripts/backup-status.sh, run by an
 * invoke of pulumi-command's `local.run`), so it is true at each run without a resource
 * input that changes between runs (a resource with a time in its inputs would make every
 * second `up` non-empty). Only the output changes when a backup was made in between. Between
 * runs the server itself is the truth: its `latest` link and `FAILED` marker (docs/backup-restore.md).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderHostScript } from "../host/hostScripts";
import { REBUILD_CHECK_KEY_ENV } from "../lifecycle/rebuild";
import { BACKUP_DIR } from "./backup";

/** Bound of the status's SSH connection, seconds (one attempt). */
export const BACKUP_STATUS_CONNECT_TIMEOUT_SECONDS = 10;

/** The stack output `lastBackup`. */
export interface LastBackupOutput {
    /** `ok`: a good backup, the last attempt good; `failed`: the last attempt failed (see `failure`); `none`: no backup yet; `unknown`: the server was not asked or did not answer. */
    status: "ok" | "failed" | "none" | "unknown";
    /** When the last good backup was taken (RFC 3339 UTC), "" if none. */
    time: string;
    /** Where it is: `<user>@<floating IP>:<directory>`, "" if none. */
    location: string;
    /** The Cinder volume it is on, "" when on the server's root disk. */
    volumeId: string;
    /** Why it was made (scheduled, manual, before-upgrade, before-rebuild, before-destroy). */
    reason: string;
    /** Cluster objects in it. */
    clusters: number;
    /** The last failed attempt (when `status` is `failed`): its time and message. */
    failure?: { time: string; message: string };
    /** Why the status is `unknown`. */
    note?: string;
}

/** Renders `src/host/scripts/backup-status.sh` for the server at `host`. */
export function renderBackupStatusScript(host: string, hostPublicKey: string, loginUser: string): string {
    return renderHostScript("backup-status.sh", {
        HOST: host,
        HOST_PUBLIC_KEY: hostPublicKey.trim(),
        LOGIN_USER: loginUser,
        BACKUP_DIR,
        CONNECT_TIMEOUT_SECONDS: String(BACKUP_STATUS_CONNECT_TIMEOUT_SECONDS),
    });
}

/** Parses backup-status.sh's output into the output's value. */
export function parseBackupStatus(text: string, where: { host: string; loginUser: string; volumeId: string }): LastBackupOutput {
    const kv = new Map<string, string>();
    for (const line of text.split("\n")) {
        const i = line.indexOf("=");
        if (i > 0) {
            kv.set(line.slice(0, i), line.slice(i + 1));
        }
    }
    const empty = { time: "", location: "", volumeId: where.volumeId, reason: "", clusters: 0 };
    if (kv.has("unreachable")) {
        return { status: "unknown", ...empty, note: kv.get("unreachable") };
    }
    const latest = kv.get("latest") ?? "";
    const good = /^[0-9]{8}T[0-9]{6}Z-[a-z-]+(-[0-9]+)?$/.test(latest) && kv.has("time");
    const failure = kv.has("failed_time") ? { time: kv.get("failed_time") ?? "", message: kv.get("failed_message") ?? "" } : undefined;
    const base = good
        ? {
              time: kv.get("time") ?? "",
              location: `${where.loginUser}@${where.host}:${BACKUP_DIR}/${latest}`,
              volumeId: where.volumeId,
              reason: kv.get("reason") ?? "",
              clusters: Number(kv.get("clusters") ?? "0") || 0,
          }
        : empty;
    if (failure) {
        return { status: "failed", ...base, failure };
    }
    return { status: good ? "ok" : "none", ...base };
}

/** What {@link lastBackupOutput} needs. */
export interface LastBackupArgs {
    /** The server's floating IP. */
    host: pulumi.Input<string>;
    /** Its pinned host key. */
    hostPublicKey: pulumi.Input<string>;
    /** The login user. */
    loginUser: string;
    /** The login private key (secret: only in the invoke's environment, never in state). */
    loginPrivateKey: pulumi.Input<string>;
    /** The backup volume's ID ("" without one). */
    volumeId: pulumi.Input<string>;
    /** Read once this has a value: the backup step's output (the server is set up by then). */
    after: pulumi.Input<string>;
}

/**
 * The `lastBackup` output: an invoke (no resource, nothing in state but the output) that reads
 * the server's last backup at each run; during a preview it runs once the address is known.
 * Never fails the run: an unreachable server gives status `unknown`.
 */
export function lastBackupOutput(args: LastBackupArgs): pulumi.Output<LastBackupOutput> {
    // Inside apply: when an input is refused (preflight), the output is refused like every other,
    // instead of the invoke failing to serialize its arguments.
    const run = pulumi.all([args.host, args.hostPublicKey, args.after, pulumi.secret(args.loginPrivateKey)]).apply(([host, hostKey, , key]) =>
        command.local.runOutput({
            command: "bash -s",
            stdin: renderBackupStatusScript(host, hostKey, args.loginUser),
            environment: { [REBUILD_CHECK_KEY_ENV]: key },
            addPreviousOutputInEnv: false,
            logging: command.types.enums.local.Logging.None,
        }),
    );
    // Only times, names and counts: not secret, although the key went in.
    return pulumi.unsecret(
        pulumi.all([run, args.host, args.volumeId]).apply(([r, host, volumeId]) => parseBackupStatus(r.stdout, { host, loginUser: args.loginUser, volumeId })),
    );
}
