// Table and queue clients on AzureWebJobsStorage: a connection string (Azurite locally) or, in Azure,
// identity-based endpoints read with the platform identity. Built lazily, once per name per process.
import { TableClient } from "@azure/data-tables";
import { QueueClient, QueueServiceClient } from "@azure/storage-queue";
import { ManagedIdentityCredential, type TokenCredential } from "@azure/identity";
import { loadConfig, type StorageConfig } from "../config/config.js";
import { createPlatformCredential } from "../credentials/platform-identity.js";

const tables = new Map<string, Promise<TableClient>>();
const queues = new Map<string, Promise<QueueClient>>();

function storageCredential(storage: Extract<StorageConfig, { kind: "identity" }>): TokenCredential {
  return storage.managedIdentityClientId ? new ManagedIdentityCredential({ clientId: storage.managedIdentityClientId }) : createPlatformCredential(loadConfig());
}

function isInsecure(connectionString: string): boolean {
  return /DefaultEndpointsProtocol=http;/i.test(connectionString) || /UseDevelopmentStorage=true/i.test(connectionString);
}

/** A table that exists (created on first use). */
export function table(name: string): Promise<TableClient> {
  let client = tables.get(name);
  if (!client) {
    const storage = loadConfig().storage;
    const instance = storage.kind === "connectionString"
      ? TableClient.fromConnectionString(storage.connectionString, name, { allowInsecureConnection: isInsecure(storage.connectionString) })
      : new TableClient(storage.tableServiceUri, name, storageCredential(storage));
    client = instance.createTable().then(() => instance);
    client.catch(() => tables.delete(name));
    tables.set(name, client);
  }
  return client;
}

/** A queue that exists (created on first use). */
export function queue(name: string): Promise<QueueClient> {
  let client = queues.get(name);
  if (!client) {
    const storage = loadConfig().storage;
    const service = storage.kind === "connectionString"
      ? QueueServiceClient.fromConnectionString(storage.connectionString)
      : new QueueServiceClient(storage.queueServiceUri, storageCredential(storage));
    const instance = service.getQueueClient(name);
    client = instance.createIfNotExists().then(() => instance);
    client.catch(() => queues.delete(name));
    queues.set(name, client);
  }
  return client;
}

/** Sends a JSON message the way the Functions queue trigger reads it (base64). */
export async function enqueueJson(queueName: string, message: unknown, options: { visibilityTimeoutSeconds?: number } = {}): Promise<void> {
  const client = await queue(queueName);
  await client.sendMessage(Buffer.from(JSON.stringify(message), "utf8").toString("base64"), {
    visibilityTimeout: options.visibilityTimeoutSeconds,
  });
}

/** Table and queue names in one place (table names: letters and digits only). */
export const TABLES = {
  cursors: "BridgeCursors",
  runs: "BridgeRuns",
  runItems: "BridgeRunItems",
  leases: "BridgeLeases",
  remapJournal: "BridgeRemapJournal",
  remapJobs: "BridgeRemapJobs",
  tokenAudit: "BridgeTokenAudit",
  seenJti: "BridgeSeenJti",
  authFailures: "BridgeAuthFailures",
  rateBuckets: "BridgeRateBuckets",
  subscriptions: "BridgeSubscriptions",
  idempotency: "BridgeIdempotency",
  notificationDebounce: "BridgeNotifyDebounce",
} as const;

export const QUEUES = {
  syncOrg: "bridge-sync-org",
  remapBulk: "bridge-remap-bulk",
  notifications: "bridge-notifications",
} as const;
