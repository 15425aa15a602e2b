// What the remap use cases run against, built from the configuration (tests override parts).
import type { Config, SyncIdentity } from "../config/config.js";
import { normalizeOrgUrl } from "../config/org-url.js";
import type { OrgClients } from "../dataverse/org-clients.js";
import type { DataverseOrgPort } from "../dataverse/types.js";
import type { DirectoryPort } from "../directory/types.js";
import { LeaseStore } from "../state/leases.js";
import { TABLES, type Storage } from "../state/storage.js";
import { TableRemapAudit, type RemapAuditSink } from "./audit.js";
import { RemapJournal } from "./journal.js";
import type { PlaceholderPool } from "./placeholders.js";
import type { ProcedureHooks } from "./remap-procedure.js";
import { backgroundLogger } from "../telemetry/logger.js";
import { orgIdentity, type OrgIdentity } from "../sync/identity.js";

export interface RemapDeps {
  /** The bridge's tables and queues (bulk jobs and their queue). */
  storage: Storage;
  /** Configured org URLs, normalised. */
  orgs: readonly string[];
  /** SYNC_IDENTITY: the online orgs' name form. */
  identity: SyncIdentity;
  /** An org's naming and anchoring rule (on-premises orgs differ); absent = `identity` for every org. */
  identityOf?: (org: string) => OrgIdentity;
  /** REMAP_PLACEHOLDER_USERS. */
  placeholders: readonly string[];
  /** The temporary accounts found so far and the rotation (shared by every remap of one bridge). */
  placeholderPool: PlaceholderPool;
  port(org: string): DataverseOrgPort;
  directory: DirectoryPort;
  journal: RemapJournal;
  leases: LeaseStore;
  audit: RemapAuditSink;
  leaseMs: number;
  /** How long a remap waits for a free temporary account. */
  placeholderWaitMs: number;
  hooks?: ProcedureHooks;
  log?: (line: string) => void;
}

/** The remap dependencies over the composition root's clients (shared/bridge.ts); `overrides` replace parts. */
export function createRemapDeps(
  config: Config,
  parts: { storage: Storage; dataverse: Pick<OrgClients, "get">; directory: DirectoryPort; placeholderPool: PlaceholderPool },
  overrides: Partial<RemapDeps> = {},
): RemapDeps {
  return {
    orgs: config.dataverseUrls.map(normalizeOrgUrl),
    identity: config.sync.identity,
    identityOf: (org) => orgIdentity(config, org),
    placeholders: config.remap.placeholderUsers,
    placeholderPool: parts.placeholderPool,
    port: (org) => parts.dataverse.get(org),
    directory: parts.directory,
    storage: parts.storage,
    journal: new RemapJournal(parts.storage.tableOf(TABLES.remapJournal)),
    leases: new LeaseStore(parts.storage.tableOf(TABLES.leases)),
    audit: new TableRemapAudit(parts.storage.tableOf(TABLES.remapJournal)),
    leaseMs: config.remap.leaseMs,
    placeholderWaitMs: 60_000,
    log: (line) => backgroundLogger().warn(line),
    ...overrides,
  };
}

/** The rule of `org` (undefined: the online form). */
export function identityFor(deps: Pick<RemapDeps, "identity" | "identityOf">, org: string | undefined): OrgIdentity {
  return org !== undefined && deps.identityOf ? deps.identityOf(org) : deps.identity;
}
