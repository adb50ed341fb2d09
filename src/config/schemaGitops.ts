/**
 * The declaration of `capi-mgmt:gitops` (see ./schema.ts for the annotations). The checks
 * JSON Schema cannot say (URL, known_hosts, keys, semver ranges, branch vs production) are in
 * ./rules/gitops.ts.
 */
import { Type } from "@sinclair/typebox";
import { DEFAULT_WORKLOAD_NAMESPACE } from "../shared/contract";
import { DNS_LABEL_PATTERN } from "../shared/names";

const STRING = { "*": "must be a string" };

/** A Go duration such as `1m` (Flux's interval). */
export const GO_DURATION_PATTERN = "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$";
/** A Git branch name (the subset Flux and Git both accept). */
export const BRANCH_PATTERN = "^(?!/|-|.*\\.\\.|.*//|.*/$|.*\\.lock$)[A-Za-z0-9._/-]+$";

export const GITOPS_SCHEMA = Type.Object(
    {
        url: Type.String({
            description: "`ssh://git@host[:port]/org/repo`.",
            markdownDescription: "`ssh://git@host[:port]/org/repo` (the scp-like `git@host:org/repo` and `http(s)://` are refused)",
            "x-doc-default": "required with `gitops`",
            "x-errors": { ...STRING, required: "is required (ssh://git@host/org/repo)" },
        }),
        branch: Type.Optional(
            Type.String({
                pattern: BRANCH_PATTERN,
                markdownDescription: "branch to follow (development); set exactly one of `branch` and `semver`",
                "x-doc-default": "exactly one",
                "x-errors": { type: STRING["*"], pattern: "{value} is not a valid branch name" },
            }),
        ),
        semver: Type.Optional(
            Type.String({
                markdownDescription: "a semver range of tags to follow (e.g. `>=1.0.0`); production must use `semver`",
                "x-doc-default": "exactly one",
                "x-errors": STRING,
            }),
        ),
        path: Type.Optional(
            Type.String({
                markdownDescription: "path in the repository Flux applies; relative, no `..`",
                "x-doc-default": "`./clusters/<stack>`",
                "x-errors": STRING,
            }),
        ),
        interval: Type.Optional(
            Type.String({
                pattern: GO_DURATION_PATTERN,
                default: "1m",
                markdownDescription: "how often Flux looks for changes",
                "x-errors": { type: STRING["*"], pattern: "{value} is not a duration such as 1m or 30s" },
            }),
        ),
        knownHosts: Type.String({
            markdownDescription: "the Git host's known_hosts lines (`ssh-keyscan`); must cover the URL's host; host checking is never disabled",
            "x-doc-default": "required with `gitops`",
            "x-errors": {
                ...STRING,
                required: "is required: the Git host's known_hosts lines (ssh-keyscan <host>); host key checking is never disabled",
            },
        }),
        deployKey: Type.Optional(
            Type.String({
                "x-secret": true,
                markdownDescription: "secret: an unencrypted OpenSSH private key already registered on the repository",
                "x-doc-default": "generated",
                "x-errors": STRING,
            }),
        ),
        sopsAgeKey: Type.Optional(
            Type.String({
                "x-secret": true,
                markdownDescription: "secret: the age identity Flux decrypts SOPS files with",
                "x-errors": STRING,
            }),
        ),
        workloadNamespace: Type.Optional(
            Type.String({
                pattern: DNS_LABEL_PATTERN,
                maxLength: 63,
                default: DEFAULT_WORKLOAD_NAMESPACE,
                markdownDescription: "namespace of the workload clusters (created by the program); changes only with a `serverGeneration` bump (see below)",
                "x-errors": { type: STRING["*"], "*": "{value} is not a valid namespace name" },
            }),
        ),
    },
    {
        additionalProperties: false,
        "x-pulumi": false,
        "x-doc-nested": true,
        "x-blank-is-unset": true,
        "x-errors": { type: "must be an object with url, branch or semver, knownHosts, …" },
    },
);
