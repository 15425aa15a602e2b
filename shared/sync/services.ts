// Builds the sync use cases from configuration; the composition root (shared/bridge.ts) builds them once.
import type { Config } from "../config/config.js";
import type { SyncSettings } from "./run-org-sync.js";
import type { OrgClients } from "../dataverse/org-clients.js";
import type { DirectoryPort } from "../directory/types.js";
import type { GroupsDeltaSource } from "../directory/group-members-delta.js";
import { LeaseStore } from "../state/leases.js";
import { QUEUES, TABLES, type Storage } from "../state/storage.js";
import { OrgStateStore } from "./org-state-store.js";
import type { RemapPort } from "./remap-port.js";
import { RunStore } from "./run-store.js";
import { SyncRuns, type RunObserver } from "./sync-runs.js";
import { backgroundLogger } from "../telemetry/logger.js";
import { orgIdentity } from "./identity.js";
import { orgDescriptor } from "../config/config.js";
import { orgAccessSettings, readMembersSince } from "../access/run-access.js";

/** What the sync use cases run against. */
export interface SyncParts {
  storage: Storage;
  directory: DirectoryPort & GroupsDeltaSource;
  dataverse: Pick<OrgClients, "get" | "access">;
  remap: RemapPort;
}

/** The sync settings of one org (`org` absent: the online defaults). */
function syncSettings(config: Config, org?: string): SyncSettings {
  const identity = org === undefined ? config.sync.identity : orgIdentity(config, org);
  const base = { map: config.sync.attributeMap, identity, threshold: config.sync.disableThreshold, scopeGroupIds: config.sync.scopeGroupIds };
  const descriptor = org === undefined ? undefined : orgDescriptor(config, org);
  if (descriptor === undefined) return base;
  // Access rules apply to every org; licence scope to online orgs only.
  const access = orgAccessSettings(config, descriptor.url);
  return descriptor.kind === "online" ? { ...base, access, licenseSkus: config.access.licenseSkus } : { ...base, access };
}

export function createSyncRuns(config: Config, parts: SyncParts, observer?: RunObserver): SyncRuns {
  return new SyncRuns({
    observer,
    orgs: config.dataverseUrls,
    settings: syncSettings(config),
    orgSettings: (org) => syncSettings(config, org),
    schedule: config.sync.schedule,
    defaultDryRun: config.sync.dryRun,
    leases: new LeaseStore(parts.storage.tableOf(TABLES.leases)),
    runs: new RunStore(parts.storage.tableOf(TABLES.runs), parts.storage.tableOf(TABLES.runItems)),
    orgState: new OrgStateStore(parts.storage.tableOf(TABLES.cursors)),
    enqueue: (message) => parts.storage.enqueueJson(QUEUES.syncOrg, message),
    log: (message) => backgroundLogger().info(message),
    orgDependencies: (org) => ({
      directory: parts.directory,
      dataverse: parts.dataverse.get(org),
      access: parts.dataverse.access(org),
      groupsDelta: parts.directory,
      remap: parts.remap,
      log: (message) => backgroundLogger().info(message, { org }),
    }),
  });
}

/** Dependencies of the provision-on-demand use case. */
export function oneUserDependencies(config: Config, parts: SyncParts, requestedBy: string) {
  const orgState = new OrgStateStore(parts.storage.tableOf(TABLES.cursors));
  return {
    directory: parts.directory,
    orgs: config.dataverseUrls.map((org) => {
      const { access, licenseSkus } = syncSettings(config, org);
      return { org, dataverse: parts.dataverse.get(org), identity: orgIdentity(config, org), licenseSkus, ...(access?.rules.length ? { access: { settings: access, port: parts.dataverse.access(org), members: readMembersSince(orgState, org, parts.directory) } } : {}) };
    }),
    settings: syncSettings(config),
    remap: parts.remap,
    requestedBy,
  };
}
