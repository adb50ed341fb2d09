/**
 * The declarations of `capi-mgmt:backup` (the scheduled backup and its volume) and
 * `capi-mgmt:backupObjectStorage` (see ./schema.ts for the annotations): the copy of the
 * management cluster's backups to object storage in the same cloud
 * (docs/backup-restore.md, "Object storage"; src/backup/backupStorage.ts).
 */
import { Type } from "@sinclair/typebox";
import { BOOLEAN, INTEGER, NOT_OBJECT } from "./schemaMeta";

/** Defaults of `backup.*` (also src/backup/backup.ts's, which the tests compare). */
export const BACKUP_DEFAULTS = { schedule: "*-*-* 00/6:00:00", keep: 14, volumeSize: 0 } as const;

/** What `backup.schedule` may hold: a systemd calendar expression's characters, on one line (systemd checks the expression). */
export const BACKUP_SCHEDULE_PATTERN = "^[A-Za-z0-9*/,:.~ -]{1,100}$";

/** `capi-mgmt:backup`: the scheduled backup on the server and its volume. */
export const BACKUP_SCHEMA = Type.Object(
    {
        schedule: Type.Optional(
            Type.String({
                pattern: BACKUP_SCHEDULE_PATTERN,
                default: BACKUP_DEFAULTS.schedule,
                description: "When the server backs up the Cluster API state: a systemd OnCalendar expression.",
                markdownDescription:
                    "when the server backs up the Cluster API state: a systemd `OnCalendar` expression (`systemd-analyze calendar` checks one); changed in place",
                "x-errors": { "*": '{value} must be a systemd calendar expression on one line, e.g. "*-*-* 00/6:00:00" or "daily"' },
            }),
        ),
        keep: Type.Optional(
            Type.Integer({
                minimum: 1,
                maximum: 1000,
                default: BACKUP_DEFAULTS.keep,
                description: "Backups kept on the server (the newest).",
                markdownDescription: "backups kept on the server (the newest); changed in place",
                "x-errors": INTEGER(),
            }),
        ),
        volumeSize: Type.Optional(
            Type.Integer({
                minimum: 0,
                maximum: 16384,
                default: BACKUP_DEFAULTS.volumeSize,
                description: "GiB of the Cinder volume the backups live on, which outlives the server; 0: on the server's root disk.",
                markdownDescription:
                    "GiB of the Cinder volume the backups live on, which a `serverGeneration` bump moves to the new server; `0`: the root disk (a bump loses them; production warns). Grows in place; going back to `0` deletes the volume with its backups (see docs/backup-restore.md)",
                "x-errors": INTEGER(),
            }),
        ),
    },
    {
        additionalProperties: false,
        "x-pulumi": false,
        "x-doc-nested": true,
        "x-errors": NOT_OBJECT("must be an object with optional `schedule`, `keep` and `volumeSize`"),
    },
);

/** A Swift container name (no `/`, at most 256 bytes), as src/backup/objectStorage.ts takes it. */
export const BACKUP_CONTAINER_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$";

export const BACKUP_OBJECT_STORAGE_SCHEMA = Type.Object(
    {
        enabled: Type.Optional(
            Type.Boolean({
                default: false,
                markdownDescription:
                    "copy every good backup to a Swift container of the stack's project, with an application credential of its own restricted to that container (needs an `object-store` endpoint in the catalog)",
                "x-errors": BOOLEAN,
            }),
        ),
        container: Type.Optional(
            Type.String({
                pattern: BACKUP_CONTAINER_PATTERN,
                markdownDescription: "the Swift container of the backups; created by `up`, kept with its backups on `destroy`",
                "x-doc-default": "`<prefix>-backups`",
                "x-errors": { "*": "{value} is not a Swift container name (letters, digits, `.`, `_`, `-`; no `/`)" },
            }),
        ),
        keep: Type.Optional(
            Type.Integer({
                minimum: 1,
                maximum: 1000,
                default: 14,
                markdownDescription: "backups kept in the container (the newest)",
                "x-errors": INTEGER(),
            }),
        ),
        maxAgeDays: Type.Optional(
            Type.Integer({
                minimum: 0,
                maximum: 3650,
                default: 0,
                markdownDescription: "backups older than this many days are deleted from the container too (never the newest); `0`: no age limit",
                "x-errors": INTEGER(),
            }),
        ),
    },
    {
        additionalProperties: false,
        "x-pulumi": false,
        "x-doc-nested": true,
        "x-errors": NOT_OBJECT("must be an object with optional `enabled`, `container`, `keep` and `maxAgeDays`"),
    },
);
