// Wires the token use case from configuration: Key Vault, Entra, storage. Built once by the composition root
// (shared/bridge.ts); the bridge's own credential (appCredential, APP_CLIENT_ID) is not reachable from here.
import type { TokenCredential } from "@azure/identity";
import { configuredBridgeIdentities, orgDescriptor, type Config } from "../config/config.js";
import type { SubjectTokenValidator } from "./subject-token.js";
import type { SecretReader } from "../credentials/secret-store.js";
import { TABLES, type Storage } from "../state/storage.js";
import { TableAuditSink } from "./audit.js";
import { ClientAuthenticator } from "./client-auth.js";
import { CallerActivityLog } from "./activity.js";
import { AuthFailureThrottle, TableFailureCounter } from "../http/auth-failures.js";
import { CallerTokens } from "./caller-tokens.js";
import type { DataverseTokenCache } from "./dataverse-token-cache.js";
import type { IssueTokenDeps } from "./issue-token.js";
import { TableJtiStore } from "./jti-store.js";
import { CallerPolicy } from "./policy.js";
import { TableRateLimiter } from "./global-rate-limit.js";
import type { OnPremisesCa } from "../credentials/onprem-ca.js";

export interface TokenServiceOptions {
  /** The caller-token cache (tests give it a shifted clock). */
  callerTokenCache?: DataverseTokenCache;
  /** The failure throttle's clock (tests freeze it); `false` turns the throttle off (conformance tests). */
  authFailures?: { now?: () => number } | false;
}

export interface TokenServices {
  /** What POST /api/token runs against. */
  service: IssueTokenDeps;
  /** Each caller's own Dataverse tokens. */
  callerTokens: CallerTokens;
  /** Last issuance / refusal per known caller on this instance. */
  activity: CallerActivityLog;
  /** Audit rows in TABLES.tokenAudit. */
  audit: TableAuditSink;
}

export function createTokenServices(
  config: Config,
  parts: { storage: Storage; platform: TokenCredential; secrets: SecretReader; subjectValidator: SubjectTokenValidator; onPremisesCa?: OnPremisesCa },
  options: TokenServiceOptions = {},
): TokenServices {
  const callerTokens = new CallerTokens({
    settings: {
      tenantId: config.tenantId, authorityHost: config.authorityHost, disableInstanceDiscovery: !config.isMicrosoftAuthority, bridgeAppId: config.appClientId,
      adfsAuthority: (org) => orgDescriptor(config, org)?.adfs?.authority,
      reserved: configuredBridgeIdentities(config),
    },
    platform: parts.platform,
    secrets: parts.secrets,
    cache: options.callerTokenCache,
    onPremisesCa: parts.onPremisesCa,
  });
  const activity = new CallerActivityLog((id) => config.tokenCallers.some((c) => c.id === id));
  const audit = new TableAuditSink(parts.storage.tableOf(TABLES.tokenAudit));
  const policy = new CallerPolicy(config.tokenCallers, config.dataverseUrls);
  const failures = options.authFailures === false ? undefined
    : new AuthFailureThrottle(new TableFailureCounter(parts.storage.tableOf(TABLES.authFailures)), options.authFailures?.now);
  const service: IssueTokenDeps = {
    policy,
    clientAuth: new ClientAuthenticator({ policy, secrets: parts.secrets, jti: new TableJtiStore(parts.storage.tableOf(TABLES.seenJti)), now: Date.now }),
    subjectValidator: parts.subjectValidator,
    tokens: callerTokens,
    rateLimiter: new TableRateLimiter(parts.storage.tableOf(TABLES.rateBuckets)),
    authFailures: failures,
    audit: activity.wrap(audit),
    now: Date.now,
  };
  return { service, callerTokens, activity, audit };
}
