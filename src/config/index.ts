/**
 * The stack configuration: the user's contract. Every setting is declared once in
 * ./schema.ts (type, default, constraints, descriptions, secret or not); ./parse.ts reads the
 * raw values against it and the named rules of ./rules/, reporting every problem at once,
 * each naming its key. This module re-exports what the rest of the program uses.
 */
export { CONFIG_KEYS, nestedSettingKeys, PROVIDER_SETTINGS, SECRET_SETTINGS, SETTINGS_SCHEMA, settingSchema } from "./schema";
export type { Environment, ExistingNetwork, Settings, WorkloadProject } from "./schema";
export { CONFIG_NAMESPACE, ConfigError } from "./types";
export type {
    AppCredentialSettings,
    BackupObjectStorageSettings,
    GitOpsSettings,
    ManagementClusterSettings,
    GitRef,
    ParseContext,
    RawConfig,
    StackConfig,
} from "./types";
export { canonicalExpiry, canonicalRoles, DEFAULT_ROLES } from "./rules/credentials";
export { configWarnings, looksLikeOurNamespace } from "./rules/namespace";
export { parseStackConfig } from "./parse";
