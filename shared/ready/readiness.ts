// GET /api/ready's use case: configuration, storage (table and queue), Key Vault (the app credential secret),
// each org's Dataverse token and WhoAmI, Graph reachability and the change-notification subscription. The
// answer is cached for 30 s per instance (each Function App instance checks on its own), so it can be polled.
import { RestError } from "@azure/data-tables";
import { orgDescriptor, type Config } from "../config/config.js";
import type { AppCredentialKind, BridgeAppCredential } from "../credentials/app-credential.js";
import type { OnPremisesCa } from "../credentials/onprem-ca.js";
import type { SecretStore } from "../credentials/secret-store.js";
import { DataverseHttp } from "../dataverse/http.js";
import { DataverseError } from "../dataverse/errors.js";
import type { OrgThrottle } from "../dataverse/limiter.js";
import type { GetToken } from "../dataverse/http.js";
import { jwtClaims } from "../tokens/dataverse-token-cache.js";
import type { DirectoryPort } from "../directory/types.js";
import { describeError, upstreamStatus, isAnswerable } from "../errors/app-error.js";
import type { SubscriptionStorePort } from "../notifications/subscription-store.js";
import { QUEUES, TABLES, type Storage } from "../state/storage.js";
import { recordMetric } from "../telemetry/metrics.js";
import { SPANS } from "../telemetry/names.js";
import { withSpan } from "../telemetry/tracing.js";
import { accessRulesCheck, type AccessApiDeps } from "../access/access-api.js";
import { CheckFailure, runCheck, summarize, type Check, type CheckResult, type Readiness } from "./checks.js";

export const READY_CACHE_MS = 30_000;
const CHECK_TIMEOUT_MS = 10_000;
const DAY_MS = 86_400_000;

/** What the checks read: the composition root's clients (shared/bridge.ts). */
export interface ReadinessDeps {
  config: Config;
  storage: Pick<Storage, "table" | "queue">;
  secrets: Pick<SecretStore, "getSecret" | "invalidate">;
  appCredential: Pick<BridgeAppCredential, "getToken" | "kind">;
  /** The bridge's token for each org: AD FS for an on-premises org, Entra online. */
  orgToken(org: string): GetToken;
  /** Each org's throttle, shared with the bridge's other requests to it. */
  throttle(org: string): OrgThrottle;
  directory: Pick<DirectoryPort, "getUser">;
  subscriptions: Pick<SubscriptionStorePort, "get">;
  /** ONPREM_CA_BUNDLE_SECRET_NAME's bundle, checked when configured. */
  onPremisesCa?: Pick<OnPremisesCa, "check" | "configured">;
  /** ACCESS_RULES resolution per org (absent: no access check). */
  access?: AccessApiDeps;
}

/** The readiness answer, cached 30 s per instance (this object holds the cache). */
export class ReadinessProbe {
  private cached: { at: number; result: Promise<Readiness> } | undefined;

  constructor(private readonly deps: ReadinessDeps) {}

  /** The answer, from the cache when younger than 30 s (`cachedAt` tells its age). */
  get(now: () => number = Date.now): Promise<Readiness> {
    if (this.cached && now() - this.cached.at < READY_CACHE_MS) return this.cached.result;
    const result = withSpan(SPANS.ready, {}, () => checkEverything(this.deps, now));
    const entry = { at: now(), result };
    this.cached = entry;
    result.catch(() => { if (this.cached === entry) this.cached = undefined; });
    return result;
  }
}

async function checkEverything(deps: ReadinessDeps, now: () => number): Promise<Readiness> {
  // The configuration was validated when the bridge was built: an invalid one never reaches here.
  const configuration = await runCheck({ name: "configuration", run: async () => undefined }, CHECK_TIMEOUT_MS, now);
  const checks: CheckResult[] = [configuration];
  checks.push(...await Promise.all(dependencyChecks(deps).map((c) => runCheck(c, CHECK_TIMEOUT_MS, now))));
  for (const failed of checks.filter((c) => !c.ok)) recordMetric("readyChecks", 1, { check: failed.name.split(":")[0], cause: failed.cause });
  return { ...summarize(checks, new Date(now())), appCredential: await appCredentialInUse(deps) };
}

/** Which credential signs the bridge in as APP_CLIENT_ID; "unknown" when its vault secret cannot be read (the keyvault check says why). */
async function appCredentialInUse({ config, appCredential }: ReadinessDeps): Promise<{ clientId: string; kind: AppCredentialKind | "unknown"; secretName?: string }> {
  const kind = await appCredential.kind().catch(() => "unknown" as const);
  return { clientId: config.appClientId, kind, ...(config.appCredentialSecretName ? { secretName: config.appCredentialSecretName } : {}) };
}

function dependencyChecks(deps: ReadinessDeps): Check[] {
  const { config } = deps;
  return [
    { name: "storage:table", run: () => tableCheck(deps.storage) },
    { name: "storage:queue", run: () => queueCheck(deps.storage) },
    { name: "keyvault", run: (signal) => keyVaultCheck(deps, signal) },
    ...(deps.onPremisesCa?.configured ? [{ name: "onprem-ca-bundle", run: (signal: AbortSignal) => caBundleCheck(deps.onPremisesCa!, signal) }] : []),
    ...config.dataverseUrls.flatMap((org) => [
      { name: `dataverse-token:${org}`, run: () => dataverseTokenCheck(deps, org) },
      { name: `dataverse-whoami:${org}`, run: (signal: AbortSignal) => whoAmICheck(deps, org, signal) },
    ]),
    ...accessChecks(deps),
    { name: "graph", run: () => graphCheck(deps) },
    { name: "graph-subscription", run: () => subscriptionCheck(deps) },
  ];
}

/** One check per org that access rules apply to: every rule resolves (a problem is named with its fix). */
function accessChecks(deps: ReadinessDeps): Check[] {
  const access = deps.access;
  if (!access || access.config.access.rules.length === 0) return [];
  return access.config.orgs.map((o) => ({
    name: `access-rules:${o.url}`,
    run: async (signal: AbortSignal) => {
      const result = await accessRulesCheck(access, o.url, signal);
      if (!result.ok) throw new CheckFailure("access_rule_problem", result.detail);
      return result.detail;
    },
  }));
}

async function tableCheck(storage: ReadinessDeps["storage"]): Promise<string> {
  try {
    await (await storage.table(TABLES.leases)).getEntity("ready", "probe");
  } catch (error) {
    if (!(error instanceof RestError && error.statusCode === 404)) throw new CheckFailure("storage_unavailable", `table ${TABLES.leases}: ${describe(error)}`);
  }
  return `table ${TABLES.leases} reachable`;
}

async function queueCheck(storage: ReadinessDeps["storage"]): Promise<string> {
  try {
    const properties = await (await storage.queue(QUEUES.syncOrg)).getProperties();
    return `queue ${QUEUES.syncOrg}: ${properties.approximateMessagesCount ?? 0} message(s)`;
  } catch (error) {
    throw new CheckFailure("storage_unavailable", `queue ${QUEUES.syncOrg}: ${describe(error)}`);
  }
}

/** The secret the keyvault check reads: the app's own, else the first other one the configuration names. */
function probeSecretName(config: Config): string | undefined {
  return config.appCredentialSecretName ?? config.notifications.clientStateSecretName
    ?? config.orgs.find((o) => o.adfs)?.adfs?.credentialSecretName
    ?? config.tokenCallers.map((c) => (c.credential === "federated" ? undefined : c.credential.secretName)).find(Boolean);
}

async function keyVaultCheck({ config, secrets: store }: ReadinessDeps, signal: AbortSignal): Promise<string> {
  const name = probeSecretName(config);
  if (!name) return "no Key Vault secret configured (the app signs in without one)";
  // A live read, not the 10-minute cache: the next credential use then reads it again too.
  store.invalidate(name);
  try {
    const secret = await store.getSecret(name, { abortSignal: signal });
    return `secret ${name} read (version ${secret.version.slice(0, 32) || "unknown"})`;
  } catch (error) {
    throw new CheckFailure(isAnswerable(error) ? error.code : "key_vault_unavailable", describe(error));
  }
}

async function caBundleCheck(ca: Pick<OnPremisesCa, "check">, signal: AbortSignal): Promise<string> {
  try {
    const count = await ca.check(signal);
    return `${count} CA certificate(s) trusted for the on-premises hosts`;
  } catch (error) {
    throw new CheckFailure(isAnswerable(error) ? error.code : "key_vault_unavailable", describe(error));
  }
}

async function dataverseTokenCheck(deps: ReadinessDeps, org: string): Promise<string> {
  try {
    const token = await deps.orgToken(org)(`${org}/.default`);
    const exp = Number(jwtClaims(token)?.exp);
    return Number.isFinite(exp) ? `token valid for ${Math.max(0, Math.round((exp * 1000 - Date.now()) / 60_000))} min` : "token obtained";
  } catch (error) {
    throw new CheckFailure("dataverse_token_failed", describe(error));
  }
}

async function whoAmICheck(deps: ReadinessDeps, org: string, signal: AbortSignal): Promise<string> {
  // One attempt, no retries: readiness reports the state now, and a stopped org must not take minutes.
  const http = new DataverseHttp({
    orgUrl: org,
    // The org's own Web API version: on-premises servers answer 9.0/9.1 only.
    apiVersion: orgDescriptor(deps.config, org)?.apiVersion,
    retry: { maxAttempts: 1 },
    getToken: deps.orgToken(org),
    throttle: deps.throttle(org),
  });
  try {
    const res = await http.send({ kind: "whoami", method: "GET", url: "WhoAmI", signal });
    const body = res.json<{ UserId?: string }>();
    return `WhoAmI: application user ${String(body?.UserId ?? "unknown").slice(0, 36)}`;
  } catch (error) {
    if (error instanceof DataverseError) {
      const cause = error.statusCode === 0 ? "dataverse_unreachable" : error.statusCode === 401 || error.statusCode === 403 ? "dataverse_access_denied" : "dataverse_error";
      throw new CheckFailure(cause, describe(error));
    }
    throw new CheckFailure(signal.aborted ? "timeout" : "dataverse_token_failed", describe(error));
  }
}

async function graphCheck(deps: ReadinessDeps): Promise<string> {
  try {
    // A user that cannot exist: 404 (null) proves Graph answers and accepts the bridge's token.
    await deps.directory.getUser("00000000-0000-0000-0000-000000000000", ["id"]);
    return "Graph answered";
  } catch (error) {
    const status = upstreamStatus(error);
    throw new CheckFailure(status === 401 || status === 403 ? "graph_access_denied" : "graph_unreachable", describe(error));
  }
}

async function subscriptionCheck({ config, subscriptions }: ReadinessDeps): Promise<string> {
  if (!config.notifications.url) return "change notifications off (NOTIFICATION_URL not set)";
  let stored;
  try {
    stored = await subscriptions.get();
  } catch (error) {
    throw new CheckFailure("storage_unavailable", describe(error));
  }
  if (!stored) throw new CheckFailure("subscription_missing", "no Graph subscription recorded yet; the subscription timer creates it within 30 minutes");
  const left = Date.parse(stored.expirationDateTime) - Date.now();
  if (!(left > 0)) throw new CheckFailure("subscription_expired", `subscription ${stored.subscriptionId} expired at ${stored.expirationDateTime}`);
  return `subscription ${stored.subscriptionId} until ${stored.expirationDateTime}${left < DAY_MS ? " (renewal due)" : ""}`;
}

const describe = (error: unknown): string => describeError(error, 300);
