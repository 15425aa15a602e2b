// Builds the sync use cases from configuration, once per process.
import { getConfig, type Config } from "../config/config.js";
import type { SyncSettings } from "./run-org-sync.js";
import { dataverseClient } from "../dataverse/org-clients.js";
import { graphDirectory } from "../directory/graph-directory.js";
import { LeaseStore } from "../state/leases.js";
import { QUEUES, enqueueJson } from "../state/storage.js";
import { OrgStateStore } from "./org-state-store.js";
import { remapPort } from "../remap/sync-port.js";
import { RunStore } from "./run-store.js";
import { SyncRuns } from "./sync-runs.js";
import { orgIdentity } from "./identity.js";

let runs: SyncRuns | undefined;

/** The sync settings of one org (`org` absent: the online defaults). */
function syncSettings(config: Config, org?: string): SyncSettings {
  const identity = org === undefined ? config.sync.identity : orgIdentity(config, org);
  return { map: config.sync.attributeMap, identity, threshold: config.sync.disableThreshold, scopeGroupIds: config.sync.scopeGroupIds };
}

export function syncRuns(): SyncRuns {
  if (!runs) {
    const config = getConfig();
    runs = new SyncRuns({
      orgs: config.dataverseUrls,
      settings: syncSettings(config),
      orgSettings: (org) => syncSettings(config, org),
      schedule: config.sync.schedule,
      defaultDryRun: config.sync.dryRun,
      leases: new LeaseStore(),
      runs: new RunStore(),
      orgState: new OrgStateStore(),
      enqueue: (message) => enqueueJson(QUEUES.syncOrg, message),
      log: (message) => console.log(message),
      orgDependencies: (org) => ({
        directory: graphDirectory(),
        dataverse: dataverseClient(org),
        remap: remapPort(),
        log: (message) => console.log(message),
      }),
    });
  }
  return runs;
}

/** Dependencies of the provision-on-demand use case. */
export function oneUserDependencies(requestedBy: string) {
  const config = getConfig();
  return {
    directory: graphDirectory(),
    orgs: config.dataverseUrls.map((org) => ({ org, dataverse: dataverseClient(org), identity: orgIdentity(config, org) })),
    settings: syncSettings(config),
    remap: remapPort(),
    requestedBy,
  };
}
