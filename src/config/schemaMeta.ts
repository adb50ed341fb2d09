/**
 * What the settings schema (./schema.ts) is written with: this project's annotations on a
 * schema node, the message helpers of `x-errors`, and the patterns other modules share.
 */
/** Annotations of this project on a schema node (all optional). */
export interface SettingMeta {
    /** Plain description (Pulumi.yaml). */
    description?: string;
    /** Markdown description (docs/settings.md's table). */
    markdownDescription?: string;
    /** The default as the docs table shows it, when it is not `default` (e.g. "stack name"). */
    "x-doc-default"?: string;
    /** Problems' wording: ajv keyword (or `*` for any) → message template. */
    "x-errors"?: Record<string, string>;
    /** Held as a Pulumi secret (refused in plain text). */
    "x-secret"?: boolean;
    /** False: not declared in Pulumi.yaml (object-valued, or a default that depends on other keys). */
    "x-pulumi"?: boolean;
    /** The docs table shows one row per nested key instead of one for the object. */
    "x-doc-nested"?: boolean;
    /** Checked by a rule function in ./rules/ only; ajv's errors under it are not reported. */
    "x-rule"?: boolean;
    /** Properties of this object that are null or "" count as unset; strings are trimmed. */
    "x-blank-is-unset"?: boolean;
}

/** The annotation keywords, registered with ajv. */
export const META_KEYWORDS = [
    "markdownDescription",
    "x-doc-default",
    "x-errors",
    "x-secret",
    "x-pulumi",
    "x-doc-nested",
    "x-rule",
    "x-blank-is-unset",
] as const;

export const LIST_OF_STRINGS = { "*": "must be a list of strings" };
export const INTEGER = (what = "") => ({ "*": `{value} is not an integer between {minimum} and {maximum}${what}` });
export const BOOLEAN = { "*": "{value} is not a boolean (true or false)" };
export const NOT_OBJECT = (message: string) => ({ type: message });

/** The largest accepted resource-name prefix. */
export const PREFIX_MAX = 30;

/** How `v1.2.3` (a pinned version) is written. */
export const VERSION_PATTERN = "^v(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-[0-9A-Za-z.-]+)?$";

/** A kind node image pinned by digest; group 1 is its Kubernetes version. */
export const NODE_IMAGE_PATTERN = "^[a-z0-9][a-z0-9./_-]*:(v\\d+\\.\\d+\\.\\d+)@sha256:[0-9a-f]{64}$";

export { DNS_LABEL_PATTERN } from "../shared/names";
