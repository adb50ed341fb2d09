import * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { BackupSettings } from "../config/types";
import { HostSteps, ServerConnection } from "../host/hostStep";
import { Versions } from "../versions/versions";
import { renderBackupInstallScript } from "./backup";
import { clusterVersionsKey, renderBackupBeforeUpgradeScript, renderBackupVolumeScript } from "./backupSteps";

/** Arguments of {@link ManagementBackup}. */
export interface ManagementBackupArgs {
    /** How to reach the server. */
    connection: ServerConnection;
    /** The server instance: the volume is attached to it, and a new one gets the steps again. */
    instance: openstack.compute.Instance;
    /** Prefix of the cloud resource names. */
    prefix: string;
    /** `capi-mgmt:backup` (schedule, keep, volume size). */
    settings: BackupSettings;
    /** Namespace of the workload Clusters (what a backup takes). */
    workloadNamespace: string;
    /** Pinned versions: a change of the kind node image, ORC or a Cluster API provider runs the backup before the upgrade. */
    versions: Versions;
    /** Availability zone of the server (the volume is created there); undefined: the cloud's default. */
    availabilityZone?: string;
    /** Pulumi's `protect` on the volume (`capi-mgmt:protect`), like the server's. */
    protect: boolean;
    /** What must be done on the server first (the tools step: clusterctl, kubectl). */
    after: pulumi.Resource[];
}

/**
 * The management cluster's backup (docs/backup-restore.md): a Cinder volume for the backups
 * (with `backup.volumeSize` > 0) attached to the server and mounted at the backup directory,
 * the backup script with its systemd timer, and a backup before the kind, ORC and Cluster API
 * steps move to other versions (the ManagementCluster waits for it: {@link beforeUpgrade}).
 *
 * What the real engine does (modelled from terraform-provider-openstack v1.54.1 and
 * pulumi-command 1.2.1, not run on it):
 * - second `up`: nothing changes (no input holds a time; the steps' scripts are the same);
 * - `backup.schedule` / `backup.keep`: the backup step is updated in place (its script runs
 *   again: the timer or script is rewritten, the timer restarted on a new schedule);
 * - `backup.volumeSize` N→M (larger): the volume is extended in place (`size` is not ForceNew;
 *   `enableOnlineResize` lets Cinder extend it attached) and the backup-volume step, whose
 *   script carries the size, runs again and grows the filesystem; smaller: Cinder refuses;
 * - `backup.volumeSize` 0→N: volume and attachment are created, the backup-volume step runs
 *   again and mounts it, copying the root disk's backups onto it; N→0: the step unmounts it
 *   first (updates run before deletes), then the attachment and the volume are DELETED with
 *   their backups (refused while `protect` is on);
 * - a version bump (kind node image, ORC, Cluster API, CAPO, CAAPH, cert-manager): the
 *   backup-before-upgrade step's trigger changes, so it is replaced and runs (create) before
 *   the kind, ORC and providers steps, which wait for it; it fails the `up` when the backup
 *   fails (docs/backup-restore.md says how to go on without one); no other change runs it;
 * - `serverGeneration` bump: the new server is created before the old one is deleted; the
 *   attachment's `instanceId` is ForceNew, and with `deleteBeforeReplace` the engine detaches
 *   the volume from the old server before attaching it to the new one (a volume attaches to
 *   one server). The rebuild check has made a backup on the old server and unmounted the
 *   volume there first (src/host/scripts/rebuild-check.sh). The volume itself is unchanged,
 *   so the backups on it survive, and the new server's steps (trigger: its ID) mount it,
 *   install the timer, and find nothing to back up before the kind step;
 * - `destroy`: the teardown, which outlives the attachment, runs first (its backup lands on the
 *   volume), then the steps go (no delete command: nothing runs), the attachment is deleted
 *   (a detach), then the volume WITH ITS BACKUPS: destroy leaves nothing behind. To keep
 *   them, copy them off first (`npm run backup -- --to`) or take the volume out of the stack
 *   (`pulumi state delete` its URN) before the destroy;
 * - server already gone: the attachment's delete finds it gone (404: deleted); the volume is
 *   `available` again and is deleted (on `destroy`) or attached to the new server (bump).
 */
export class ManagementBackup extends pulumi.ComponentResource {
    /** The backup volume; undefined with `backup.volumeSize` 0. */
    readonly volume?: openstack.blockstorage.Volume;
    /** Its attachment to the server; undefined without a volume. */
    readonly attachment?: openstack.compute.VolumeAttach;
    /** The backup step: the script and its timer installed. */
    readonly install: command.remote.Command;
    /** The backup before a version upgrade: what the kind, ORC and Cluster API steps wait for. */
    readonly beforeUpgrade: command.remote.Command;
    /** What the teardown must outlive (deleted after it on `destroy`): the attachment, if any. */
    readonly outlived: pulumi.Resource[];

    constructor(name: string, args: ManagementBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:ManagementBackup", name, {}, opts);

        const size = args.settings.volumeSize;
        if (size > 0) {
            // availabilityZone is ForceNew: a later change of the server's zone (which needs a
            // serverGeneration bump) must not replace the volume with the backups on it.
            this.volume = new openstack.blockstorage.Volume(
                "backup-volume",
                {
                    name: `${args.prefix}-mgmt-backups`,
                    description: `capi-mgmt ${args.prefix}: backups of the management cluster (docs/backup-restore.md)`,
                    size,
                    enableOnlineResize: true,
                    availabilityZone: args.availabilityZone,
                },
                { parent: this, protect: args.protect, ignoreChanges: ["availabilityZone"] },
            );
            this.attachment = new openstack.compute.VolumeAttach(
                "backup-volume-attach",
                { instanceId: args.instance.id, volumeId: this.volume.id },
                { parent: this, deleteBeforeReplace: true },
            );
        }

        // How the steps run: src/host/steps.ts.
        const steps = new HostSteps(this, "ManagementBackup", {
            connection: args.connection,
            given: [...args.after, ...(this.attachment ? [this.attachment] : [])],
            triggers: {
                server: [args.instance.id],
                "cluster-versions": [args.instance.id, ...clusterVersionsKey(args.versions)],
            },
        });
        // The volume's ID and size in its script: a new volume or a larger one runs it again.
        steps.add("backup-volume", this.volume ? this.volume.id.apply((id) => renderBackupVolumeScript(id, size)) : renderBackupVolumeScript("", 0));
        this.install = steps.add(
            "backup",
            renderBackupInstallScript({ namespace: args.workloadNamespace, keep: args.settings.keep, schedule: args.settings.schedule }),
        );
        this.beforeUpgrade = steps.add("backup-before-upgrade", renderBackupBeforeUpgradeScript(args.versions));
        this.outlived = this.attachment ? [this.attachment] : [];

        this.registerOutputs({});
    }
}
