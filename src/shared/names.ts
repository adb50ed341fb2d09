/**
 * Naming helpers shared by the components.
 */
import { createHash } from "crypto";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when a "name or ID" setting holds an OpenStack UUID. */
export function isUuid(s: string): boolean {
    return UUID.test(s);
}

/** Short, stable hex digest of a value (for names that must change when the value does). */
export function shortHash(value: unknown, length = 8): string {
    return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, length);
}
