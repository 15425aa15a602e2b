// Wires the notification use cases from configuration, once per process (tests may replace parts).
import { getConfig } from "../config/config.js";
import { secretStore } from "../credentials/secret-store.js";
import { LeaseStore } from "../state/leases.js";
import { QUEUES, enqueueJson } from "../state/storage.js";
import { syncRuns } from "../sync/services.js";
import type { SyncRuns } from "../sync/sync-runs.js";
import { SyncDebouncer } from "./debounce.js";
import { graphSubscriptions } from "./graph-subscriptions.js";
import type { NotificationMessage } from "./messages.js";
import { SubscriptionManager } from "./subscription-manager.js";
import { SubscriptionStore } from "./subscription-store.js";
import { backgroundLogger } from "../telemetry/logger.js";

export interface NotificationServices {
  tenantId: string;
  orgs: readonly string[];
  /** The subscriptions' clientState from Key Vault; undefined when no secret is configured (nothing is trusted). */
  clientState(): Promise<string | undefined>;
  debouncer: Pick<SyncDebouncer, "request" | "retryLater">;
  enqueue(message: NotificationMessage): Promise<void>;
  syncRuns: Pick<SyncRuns, "start">;
  subscriptions: Pick<SubscriptionManager, "ensure" | "handleLifecycle">;
  log(message: string): void;
}

let services: NotificationServices | undefined;
let overrides: Partial<NotificationServices> = {};

async function readClientState(): Promise<string | undefined> {
  const name = getConfig().notifications.clientStateSecretName;
  return name ? (await secretStore().getSecret(name)).value : undefined;
}

export function notificationServices(): NotificationServices {
  if (!services) {
    const config = getConfig();
    services = {
      tenantId: config.tenantId,
      orgs: config.dataverseUrls,
      clientState: readClientState,
      debouncer: new SyncDebouncer(),
      enqueue: (message) => enqueueJson(QUEUES.notifications, message),
      get syncRuns() { return syncRuns(); },
      subscriptions: new SubscriptionManager({
        graph: graphSubscriptions(),
        store: new SubscriptionStore(),
        leases: new LeaseStore(),
        notificationUrl: config.notifications.url,
        clientState: async () => {
          const value = await readClientState();
          if (!value) throw new Error("NOTIFICATION_CLIENT_STATE_SECRET_NAME is not set");
          return value;
        },
        log: (message) => backgroundLogger().info(message),
      }),
      log: (message) => backgroundLogger().info(message),
    };
  }
  return { ...services, ...overrides } as NotificationServices;
}

/** Tests swap parts (e.g. a debouncer with a shorter delay); `undefined` resets. */
export function setNotificationServicesForTests(parts: Partial<NotificationServices> | undefined): void {
  overrides = parts ?? {};
  if (!parts) services = undefined;
}
