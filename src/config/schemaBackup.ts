/**
 * The declaration of `capi-mgmt:backupObjectStorage` (see ./schema.ts for the annotations): the
 * copy of the management cluster's backups to object storage in the same cloud
 * (docs/backup-restore.md, "Object storage"; src/backup/backupStorage.ts).
 */
import { Type } from "@sinclair/typebox";
import { BOOLEAN, INTEGER, NOT_OBJECT } from "./schemaMeta";

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
