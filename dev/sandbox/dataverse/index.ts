// Dataverse Web API v9.2 emulator (systemusers; business units, roles, teams and their associations) for the sandbox.
export { DataverseOrg, type AccessWriteStats, type DataverseStats, type ThrottleKnob, type JournalEntry } from "./org.js";
export { createDataverseHandler } from "./handler.js";
export type { SystemUserRecord } from "./schema.js";
export { COLUMNS } from "./schema.js";
export { DataverseError, type ErrorSpec } from "./errors.js";
export type { AccessStore, BusinessUnitRecord, RoleRecord, TeamInit, TeamRecord, TeamType } from "./access-store.js";
