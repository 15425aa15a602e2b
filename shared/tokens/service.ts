// Wires the token use case to the process's singletons (configuration, Key Vault, Entra, storage).
import { getConfig } from "../config/config.js";
import { apiTokenValidator } from "../auth/entra-token.js";
import { appCredential } from "../credentials/app-credential.js";
import { secretStore } from "../credentials/secret-store.js";
import { tokenAuditSink } from "./audit.js";
import { ClientAuthenticator } from "./client-auth.js";
import { DataverseTokenCache } from "./dataverse-token-cache.js";
import type { IssueTokenDeps } from "./issue-token.js";
import { jtiStore } from "./jti-store.js";
import { CallerPolicy } from "./policy.js";
import { backgroundLogger } from "../telemetry/logger.js";
import { globalRateLimiter } from "./global-rate-limit.js";

let deps: IssueTokenDeps | undefined;
let cache: DataverseTokenCache | undefined;

/** The org token cache over the bridge's own credential. */
export function dataverseTokenCache(): DataverseTokenCache {
  cache ??= new DataverseTokenCache({
    acquire: (org) => appCredential().getToken(`${org}/.default`),
    onBackgroundError: (org, error) => backgroundLogger().warn(`background refresh of the org token failed: ${(error as Error)?.message ?? error}`, { org }),
  });
  return cache;
}

export function tokenService(): IssueTokenDeps {
  if (!deps) {
    const config = getConfig();
    const policy = new CallerPolicy(config.tokenCallers, config.dataverseUrls);
    deps = {
      policy,
      clientAuth: new ClientAuthenticator({ policy, secrets: secretStore(), jti: jtiStore(), now: Date.now }),
      subjectValidator: apiTokenValidator(),
      tokens: dataverseTokenCache(),
      rateLimiter: globalRateLimiter(),
      audit: tokenAuditSink(),
      now: Date.now,
    };
  }
  return deps;
}

/** Tests replace parts (e.g. a cache with a fake clock) or reset everything. */
export function setTokenServiceForTests(next?: Partial<IssueTokenDeps>): void {
  if (!next) {
    deps = undefined;
    cache = undefined;
    return;
  }
  deps = { ...tokenService(), ...next };
}
