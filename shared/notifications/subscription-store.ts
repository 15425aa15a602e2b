// Where the bridge remembers its Graph subscriptions: one Table row per resource (id, expiry, the URL and a fingerprint of
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

export class SubscriptionStore implements SubscriptionStorePort {
  /** `row`: the subscription's resource (`users`, or `groups` for the access rules' groups). */
  constructor(private readonly client: () => Promise<TableClient>, private readonly row = "users") {}

  async get(): Promise<StoredSubscription | undefined> {
    try {
      const row = await (await this.client()).getEntity<StoredSubscription>(PARTITION, this.row);
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
    await (await this.client()).upsertEntity(fitEntity({ partitionKey: PARTITION, rowKey: this.row, ...subscription }), "Replace");
  }

  async delete(): Promise<void> {
    await (await this.client()).deleteEntity(PARTITION, this.row).catch((error: unknown) => {
      if (!(error instanceof RestError && error.statusCode === 404)) throw error;
    });
  }
}
