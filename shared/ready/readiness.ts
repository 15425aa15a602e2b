// GET /api/ready's use case: configuration, storage (table and queue), Key Vault (the app credential secret),
// each org's Dataverse token and WhoAmI, Graph reachability and the change-notification subscription. The
// answer is cached for 30 s per instance (each Function App instance checks on its own), so it can be polled.
import { RestError } from "@azure/data-tables";
import { getConfig, type Config } from "../config/config.js";
import { appCredential } from "../credentials/app-credential.js";
import { secretStore } from "../credentials/secret-store.js";
import { DataverseHttp } from "../dataverse/http.js";
import { DataverseError } from "../dataverse/errors.js";
import { graphDirectory } from "../directory/graph-directory.js";
import { isAppError } from "../errors/app-error.js";
import { SubscriptionStore } from "../notifications/subscription-store.js";
import { QUEUES, TABLES, queue, table } from "../state/storage.js";
import { recordMetric } from "../telemetry/metrics.js";
import { SPANS } from "../telemetry/names.js";
import { withSpan } from "../telemetry/tracing.js";
import { CheckFailure, runCheck, summarize, type Check, type CheckResult, type Readiness } from "./checks.js";

export const READY_CACHE_MS = 30_000;
const CHECK_TIMEOUT_MS = 10_000;
const DAY_MS = 86_400_000;

let cached: { at: number; result: Promise<Readiness> } | undefined;

/** The readiness answer, from the cache when younger than 30 s (`cachedAt` tells its age). */
export function readiness(now: () => number = Date.now): Promise<Readiness> {
  if (cached && now() - cached.at < READY_CACHE_MS) return cached.result;
  const result = withSpan(SPANS.ready, {}, () => checkEverything(now));
  cached = { at: now(), result };
  result.catch(() => { cached = undefined; });
  return result;
}

async function checkEverything(now: () => number): Promise<Readiness> {
  const configuration = await runCheck({ name: "configuration", run: async () => { configOrFail(); return undefined; } }, CHECK_TIMEOUT_MS, now);
  const checks: CheckResult[] = [configuration];
  if (configuration.ok) checks.push(...await Promise.all(dependencyChecks(getConfig()).map((c) => runCheck(c, CHECK_TIMEOUT_MS, now))));
  for (const failed of checks.filter((c) => !c.ok)) recordMetric("readyChecks", 1, { check: failed.name.split(":")[0], cause: failed.cause });
  return summarize(checks, new Date(now()));
}

function configOrFail(): Config {
  try {
    return getConfig();
  } catch (error) {
    // The configuration error names each wrong setting and never prints a value.
    throw new CheckFailure("configuration_invalid", (error as Error).message);
  }
}

function dependencyChecks(config: Config): Check[] {
  return [
    { name: "storage:table", run: tableCheck },
    { name: "storage:queue", run: queueCheck },
    { name: "keyvault", run: (signal) => keyVaultCheck(config, signal) },
    ...config.dataverseUrls.flatMap((org) => [
      { name: `dataverse-token:${org}`, run: () => dataverseTokenCheck(org) },
      { name: `dataverse-whoami:${org}`, run: (signal: AbortSignal) => whoAmICheck(org, signal) },
    ]),
    { name: "graph", run: graphCheck },
    { name: "graph-subscription", run: () => subscriptionCheck(config) },
  ];
}

async function tableCheck(): Promise<string> {
  try {
    await (await table(TABLES.leases)).getEntity("ready", "probe");
  } catch (error) {
    if (!(error instanceof RestError && error.statusCode === 404)) throw new CheckFailure("storage_unavailable", `table ${TABLES.leases}: ${describe(error)}`);
  }
  return `table ${TABLES.leases} reachable`;
}

async function queueCheck(): Promise<string> {
  try {
    const properties = await (await queue(QUEUES.syncOrg)).getProperties();
    return `queue ${QUEUES.syncOrg}: ${properties.approximateMessagesCount ?? 0} message(s)`;
  } catch (error) {
    throw new CheckFailure("storage_unavailable", `queue ${QUEUES.syncOrg}: ${describe(error)}`);
  }
}

async function keyVaultCheck(config: Config, signal: AbortSignal): Promise<string> {
  const store = secretStore();
  // A live read, not the 10-minute cache: the next credential use then reads it again too.
  store.invalidate(config.appCredentialSecretName);
  try {
    const secret = await store.getSecret(config.appCredentialSecretName, { abortSignal: signal });
    return `secret ${config.appCredentialSecretName} read (version ${secret.version.slice(0, 32) || "unknown"})`;
  } catch (error) {
    throw new CheckFailure(isAppError(error) ? error.code : "key_vault_unavailable", describe(error));
  }
}

async function dataverseTokenCheck(org: string): Promise<string> {
  try {
    const token = await appCredential().getToken(`${org}/.default`);
    return `token valid for ${Math.max(0, Math.round((token.expiresOnTimestamp - Date.now()) / 60_000))} min`;
  } catch (error) {
    throw new CheckFailure("dataverse_token_failed", describe(error));
  }
}

async function whoAmICheck(org: string, signal: AbortSignal): Promise<string> {
  // One attempt, no retries: readiness reports the state now, and a stopped org must not take minutes.
  const http = new DataverseHttp({
    orgUrl: org,
    retry: { maxAttempts: 1 },
    getToken: async (scope, options) => (await appCredential().getToken(scope, { forceRefresh: options?.forceRefresh })).token,
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

async function graphCheck(): Promise<string> {
  try {
    // A user that cannot exist: 404 (null) proves Graph answers and accepts the bridge's token.
    await graphDirectory().getUser("00000000-0000-0000-0000-000000000000", ["id"]);
    return "Graph answered";
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    throw new CheckFailure(status === 401 || status === 403 ? "graph_access_denied" : "graph_unreachable", describe(error));
  }
}

async function subscriptionCheck(config: Config): Promise<string> {
  if (!config.notifications.url) return "change notifications off (NOTIFICATION_URL not set)";
  let stored;
  try {
    stored = await new SubscriptionStore().get();
  } catch (error) {
    throw new CheckFailure("storage_unavailable", describe(error));
  }
  if (!stored) throw new CheckFailure("subscription_missing", "no Graph subscription recorded yet; the subscription timer creates it within 30 minutes");
  const left = Date.parse(stored.expirationDateTime) - Date.now();
  if (!(left > 0)) throw new CheckFailure("subscription_expired", `subscription ${stored.subscriptionId} expired at ${stored.expirationDateTime}`);
  return `subscription ${stored.subscriptionId} until ${stored.expirationDateTime}${left < DAY_MS ? " (renewal due)" : ""}`;
}

function describe(error: unknown): string {
  return String((error as Error)?.message ?? error).split("\n")[0]!.slice(0, 300);
}
