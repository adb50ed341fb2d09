/**
 * Naming helpers shared by the components.
 */
import { createHash } from "crypto";

/**
 * A lowercase DNS label (RFC 1123; Kubernetes object, namespace and cluster names): lowercase
 * letters, digits and `-`, starting and ending with a letter or digit. The length limit is each
 * caller's (63 for a label, less where a name gets a suffix). The pattern text serves JSON Schema.
 */
export const DNS_LABEL_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/** {@link DNS_LABEL_PATTERN} as a RegExp (no flags: `test` keeps no state). */
export const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when a "name or ID" setting holds an OpenStack UUID. */
export function isUuid(s: string): boolean {
    return UUID.test(s);
}

/** Short, stable hex digest of a value (for names that must change when the value does). */
export function shortHash(value: unknown, length = 8): string {
    return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, length);
}
