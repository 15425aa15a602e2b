// Where the bridge remembers its Graph subscription: one Table row (id, expiry, the URL and a fingerprint of
// the clientState it was created with, so a moved endpoint or a rotated secret leads to a new subscription).
import { RestError, type TableClient } from "@azure/data-tables";
import { fitEntity } from "../state/table-limits.js";

export interface StoredSubscription {
  subscriptionId: string;
  resource: string;
  notificationUrl: string;
  expirationDateTime: string;
  clientStateFingerprint: string;
  updatedAt: string;
}

export interface SubscriptionStorePort {
  get(): Promise<StoredSubscription | undefined>;
  save(subscription: StoredSubscription): Promise<void>;
  delete(): Promise<void>;
}

const PARTITION = "graph";
const ROW = "users";

export class SubscriptionStore implements SubscriptionStorePort {
  constructor(private readonly client: () => Promise<TableClient>) {}

  async get(): Promise<StoredSubscription | undefined> {
    try {
      const row = await (await this.client()).getEntity<StoredSubscription>(PARTITION, ROW);
      return {
        subscriptionId: row.subscriptionId, resource: row.resource, notificationUrl: row.notificationUrl,
        expirationDateTime: row.expirationDateTime, clientStateFingerprint: row.clientStateFingerprint, updatedAt: row.updatedAt,
      };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  async save(subscription: StoredSubscription): Promise<void> {
    await (await this.client()).upsertEntity(fitEntity({ partitionKey: PARTITION, rowKey: ROW, ...subscription }), "Replace");
  }

  async delete(): Promise<void> {
    await (await this.client()).deleteEntity(PARTITION, ROW).catch((error: unknown) => {
      if (!(error instanceof RestError && error.statusCode === 404)) throw error;
    });
  }
}
