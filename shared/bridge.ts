// The composition root: every client, store and service of the bridge, built once from one Config. State that
// outlives a request (the credentials' token caches, Key Vault's secret cache, each org's client and limiter,
// the caller-token cache, the readiness cache, the app-user ports) lives in the objects built here, so a
// second bridge (a test's, or one built from changed settings) shares nothing with the first.
// functions/bridge.ts holds the process's bridge for the adapters.
import type { TokenCredential } from "@azure/identity";
import type { AccessApiDeps } from "./access/access-api.js";
import type { AdminAuth } from "./auth/admin-auth.js";
import { createApiTokenValidator } from "./auth/entra-token.js";
import { createCallersService } from "./callers/service.js";
import type { CallersDeps } from "./callers/callers.js";
import type { Config } from "./config/config.js";
import { createAppCredential, type BridgeAppCredential } from "./credentials/app-credential.js";
import { createPlatformCredential } from "./credentials/platform-identity.js";
import { createOnPremisesCa } from "./credentials/onprem-ca.js";
import { createSecretStore, type SecretStore } from "./credentials/secret-store.js";
import { credentialToken, OrgClients } from "./dataverse/org-clients.js";
import { GraphDirectory } from "./directory/graph-directory.js";
import { publicLink } from "./http/query.js";
import type { SyncDebouncerOptions } from "./notifications/debounce.js";
import { GraphSubscriptions } from "./notifications/graph-subscriptions.js";
import { createNotificationServices, type NotificationServices } from "./notifications/services.js";
import { SubscriptionStore } from "./notifications/subscription-store.js";
import { ReadinessProbe } from "./ready/readiness.js";
import { createRemapDeps, type RemapDeps } from "./remap/deps.js";
import { IdempotencyStore } from "./remap/idempotency.js";
import { PlaceholderPool } from "./remap/placeholders.js";
import type { RemapApi } from "./remap/remap-api.js";
import { remapPort } from "./remap/sync-port.js";
import { Storage, TABLES } from "./state/storage.js";
import { createSyncRuns, oneUserDependencies, type SyncParts } from "./sync/services.js";
import type { SyncRuns } from "./sync/sync-runs.js";
import { createTokenServices, type TokenServiceOptions, type TokenServices } from "./tokens/service.js";

/** What tests (and benchmarks) may change; production builds the bridge without options. */
export interface BridgeOptions {
  /** The notification sync debouncer's window and clock (tests shorten the window). */
  debounce?: Pick<SyncDebouncerOptions, "delaySeconds" | "now">;
  /** Token service parts: the caller-token cache, the failure throttle's clock or `false` (off). */
  tokens?: TokenServiceOptions;
}

export interface Bridge {
  readonly config: Config;
  /** The Function App's own identity (Key Vault, identity-based storage, caller token exchange). */
  readonly platformCredential: TokenCredential;
  /** AzureWebJobsStorage: tables and queues. */
  readonly storage: Storage;
  readonly secrets: SecretStore;
  /** The bridge's app registration (APP_CLIENT_ID): Graph and online Dataverse. */
  readonly appCredential: BridgeAppCredential;
  readonly directory: GraphDirectory;
  readonly graphSubscriptions: GraphSubscriptions;
  /** One DataverseClient per configured org. */
  readonly dataverse: OrgClients;
  readonly adminAuth: AdminAuth;
  readonly syncRuns: SyncRuns;
  /** Provision-on-demand's dependencies. */
  oneUser(requestedBy: string): ReturnType<typeof oneUserDependencies>;
  /** The remap use cases' dependencies; `overrides` replace parts (a call's log, a test's hooks). */
  remapDeps(overrides?: Partial<RemapDeps>): RemapDeps;
  readonly remapApi: RemapApi;
  readonly notifications: NotificationServices;
  readonly tokens: TokenServices;
  readonly callers: CallersDeps;
  readonly readiness: ReadinessProbe;
  /** GET /api/access's dependencies: the rules, the directory and each org's access port. */
  readonly access: AccessApiDeps;
  /** An absolute link on PUBLIC_BASE_URL (never the Host header). */
  link(pathAndQuery: string): string;
}

export function createBridge(config: Config, options: BridgeOptions = {}): Bridge {
  const platformCredential = createPlatformCredential(config);
  const storage = new Storage(config.storage, platformCredential);
  const secrets = createSecretStore(config, platformCredential);
  const appCredential = createAppCredential(config, secrets, platformCredential);
  const directory = new GraphDirectory({ baseUrl: config.graphBaseUrl, credential: appCredential });
  const graphSubscriptions = new GraphSubscriptions({ baseUrl: config.graphBaseUrl, credential: appCredential });
  const onPremisesCa = createOnPremisesCa(config, secrets);
  const dataverse = new OrgClients(config, appCredential, secrets, onPremisesCa);
  const validator = createApiTokenValidator(config);
  const placeholderPool = new PlaceholderPool();
  const remapDeps = (overrides: Partial<RemapDeps> = {}) => createRemapDeps(config, { storage, dataverse, directory, placeholderPool }, overrides);
  const syncParts: SyncParts = { storage, directory, dataverse, remap: remapPort(() => remapDeps()) };
  const syncRuns = createSyncRuns(config, syncParts);
  const access: AccessApiDeps = { config, directory, access: (org) => dataverse.access(org) };
  const tokens = createTokenServices(config, { storage, platform: platformCredential, secrets, subjectValidator: validator, onPremisesCa }, options.tokens);
  return {
    config, platformCredential, storage, secrets, appCredential, directory, graphSubscriptions, dataverse, syncRuns, tokens, access,
    adminAuth: { validator, adminRole: config.api.adminRole },
    oneUser: (requestedBy) => oneUserDependencies(config, syncParts, requestedBy),
    remapDeps,
    remapApi: { deps: remapDeps, idempotency: new IdempotencyStore(storage.tableOf(TABLES.idempotency)) },
    notifications: createNotificationServices(config, { storage, secrets, graph: graphSubscriptions, syncRuns }, options.debounce),
    callers: createCallersService(config, { platform: platformCredential, bridgeToken: credentialToken(appCredential), throttle: (org) => dataverse.throttle(org), tokens }),
    readiness: new ReadinessProbe({ config, storage, secrets, appCredential, directory, throttle: (org) => dataverse.throttle(org), subscriptions: new SubscriptionStore(storage.tableOf(TABLES.subscriptions)), onPremisesCa, access }),
    link: (pathAndQuery) => publicLink(config.publicBaseUrl, pathAndQuery),
  };
}
