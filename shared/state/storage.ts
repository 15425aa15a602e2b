// Table and queue clients on AzureWebJobsStorage: a connection string (Azurite locally) or, in Azure,
// identity-based endpoints read with the platform identity. Built lazily, once per name per Storage.
import { TableClient } from "@azure/data-tables";
import { type QueueClient, QueueServiceClient } from "@azure/storage-queue";
import { ManagedIdentityCredential, type TokenCredential } from "@azure/identity";
import type { StorageConfig } from "../config/config.js";

function isInsecure(connectionString: string): boolean {
  return /DefaultEndpointsProtocol=http;/i.test(connectionString) || /UseDevelopmentStorage=true/i.test(connectionString);
}

/** The bridge's tables and queues (one Storage per bridge, shared/bridge.ts): each client built once, on first use. */
export class Storage {
  private readonly tables = new Map<string, Promise<TableClient>>();
  private readonly queues = new Map<string, Promise<QueueClient>>();

  /** `platform`: the Function App's identity, for identity-based storage without its own client id. */
  constructor(private readonly settings: StorageConfig, private readonly platform: TokenCredential) {}

  /** A table that exists (created on first use). */
  table(name: string): Promise<TableClient> {
    let client = this.tables.get(name);
    if (!client) {
      const storage = this.settings;
      const instance = storage.kind === "connectionString"
        ? TableClient.fromConnectionString(storage.connectionString, name, { allowInsecureConnection: isInsecure(storage.connectionString) })
        : new TableClient(storage.tableServiceUri, name, this.credential(storage));
      client = instance.createTable().then(() => instance);
      client.catch(() => this.tables.delete(name));
      this.tables.set(name, client);
    }
    return client;
  }

  /** The table as a store's constructor takes it. */
  tableOf(name: string): () => Promise<TableClient> {
    return () => this.table(name);
  }

  /** A queue that exists (created on first use). */
  queue(name: string): Promise<QueueClient> {
    let client = this.queues.get(name);
    if (!client) {
      const storage = this.settings;
      const service = storage.kind === "connectionString"
        ? QueueServiceClient.fromConnectionString(storage.connectionString)
        : new QueueServiceClient(storage.queueServiceUri, this.credential(storage));
      const instance = service.getQueueClient(name);
      client = instance.createIfNotExists().then(() => instance);
      client.catch(() => this.queues.delete(name));
      this.queues.set(name, client);
    }
    return client;
  }

  /** Sends a JSON message the way the Functions queue trigger reads it (base64). */
  async enqueueJson(queueName: string, message: unknown, options: { visibilityTimeoutSeconds?: number } = {}): Promise<void> {
    const client = await this.queue(queueName);
    await client.sendMessage(Buffer.from(JSON.stringify(message), "utf8").toString("base64"), {
      visibilityTimeout: options.visibilityTimeoutSeconds,
    });
  }

  private credential(storage: Extract<StorageConfig, { kind: "identity" }>): TokenCredential {
    return storage.managedIdentityClientId ? new ManagedIdentityCredential({ clientId: storage.managedIdentityClientId }) : this.platform;
  }
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
