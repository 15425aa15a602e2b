// Dataverse Web API v9.2 emulator (systemusers) for the sandbox: see dataverse-web-api.md.
export { DataverseOrg, type DataverseStats, type ThrottleKnob, type JournalEntry } from "./org.js";
export { createDataverseHandler } from "./handler.js";
export type { SystemUserRecord } from "./schema.js";
export { COLUMNS } from "./schema.js";
export { DataverseError, type ErrorSpec } from "./errors.js";
