// Wires the notification use cases from configuration; the composition root (shared/bridge.ts) builds them once.
import type { Config } from "../config/config.js";
import type { SecretReader } from "../credentials/secret-store.js";
import { LeaseStore } from "../state/leases.js";
import { QUEUES, TABLES, type Storage } from "../state/storage.js";
import type { SyncRuns } from "../sync/sync-runs.js";
import { SyncDebouncer, type SyncDebouncerOptions } from "./debounce.js";
import type { GraphSubscriptions } from "./graph-subscriptions.js";
import type { NotificationMessage } from "./messages.js";
import { SubscriptionManager, SubscriptionSet } from "./subscription-manager.js";
import { SubscriptionStore } from "./subscription-store.js";
import { SlowRefusals } from "../http/slow-refusals.js";
import { backgroundLogger } from "../telemetry/logger.js";

export interface NotificationServices {
  tenantId: string;
  orgs: readonly string[];
  /** The subscriptions' clientState from Key Vault; undefined when no secret is configured (nothing is trusted). */
  clientState(): Promise<string | undefined>;
  debouncer: Pick<SyncDebouncer, "request" | "retryLater" | "holds" | "release" | "runStarted" | "runFinished">;
  enqueue(message: NotificationMessage): Promise<void>;
  syncRuns: Pick<SyncRuns, "start">;
  subscriptions: Pick<SubscriptionManager, "ensure" | "handleLifecycle">;
  log(message: string): void;
  /** Refused webhook requests, slowed per source once they keep coming. */
  refusals: Pick<SlowRefusals, "refused">;
  /** TRUSTED_PROXY_HOPS: where in X-Forwarded-For a request's source is read. */
  trustedProxyHops: number;
}

/** `debouncer`: options of the sync debouncer (tests shorten its window). */
export function createNotificationServices(
  config: Config,
  parts: { storage: Storage; secrets: SecretReader; graph: GraphSubscriptions; syncRuns: Pick<SyncRuns, "start"> },
  debouncer: Pick<SyncDebouncerOptions, "minSpacingSeconds" | "now"> = {},
): NotificationServices {
  const name = config.notifications.clientStateSecretName;
  const readClientState = async (): Promise<string | undefined> => (name ? (await parts.secrets.getSecret(name)).value : undefined);
  return {
    tenantId: config.tenantId,
    orgs: config.dataverseUrls,
    clientState: readClientState,
    debouncer: new SyncDebouncer({
      client: parts.storage.tableOf(TABLES.notificationDebounce),
      enqueue: (message, seconds) => parts.storage.enqueueJson(QUEUES.notifications, message, { visibilityTimeoutSeconds: seconds }),
      ...debouncer,
    }),
    enqueue: (message) => parts.storage.enqueueJson(QUEUES.notifications, message),
    syncRuns: parts.syncRuns,
    subscriptions: subscriptionsOf(config, parts, readClientState),
    log: (message) => backgroundLogger().info(message),
    refusals: new SlowRefusals(),
    trustedProxyHops: config.trustedProxyHops,
  };
}

/** The `users` subscription and, when ACCESS_RULES name groups, the `groups` one (a rule group's membership change). */
function subscriptionsOf(config: Config, parts: { storage: Storage; graph: GraphSubscriptions }, readClientState: () => Promise<string | undefined>): SubscriptionSet {
  const resources = config.access.rules.length > 0 ? ["users", "groups"] : ["users"];
  return new SubscriptionSet(resources.map((resource) => new SubscriptionManager({
    graph: parts.graph,
    store: new SubscriptionStore(parts.storage.tableOf(TABLES.subscriptions), resource),
    leases: new LeaseStore(parts.storage.tableOf(TABLES.leases)),
    notificationUrl: config.notifications.url,
    resource,
    clientState: async () => {
      const value = await readClientState();
      if (!value) throw new Error("NOTIFICATION_CLIENT_STATE_SECRET_NAME is not set");
      return value;
    },
    log: (message) => backgroundLogger().info(message),
  })));
}
