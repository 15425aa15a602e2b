// Wires the token use case to the process's singletons (configuration, Key Vault, Entra, storage).
import { getConfig, orgDescriptor } from "../config/config.js";
import { apiTokenValidator } from "../auth/entra-token.js";
import { platformCredential } from "../credentials/platform-identity.js";
import { secretStore } from "../credentials/secret-store.js";
import { tokenAuditSink } from "./audit.js";
import { ClientAuthenticator } from "./client-auth.js";
import { CallerActivityLog } from "./activity.js";
import { authFailureThrottle } from "./auth-failures.js";
import { CallerTokens } from "./caller-tokens.js";
import type { IssueTokenDeps } from "./issue-token.js";
import { jtiStore } from "./jti-store.js";
import { CallerPolicy } from "./policy.js";
import { globalRateLimiter } from "./global-rate-limit.js";

let deps: IssueTokenDeps | undefined;
let callerTokenStore: CallerTokens | undefined;
let activityLog: CallerActivityLog | undefined;

/** Last issuance / refusal per known caller on this instance. */
export function callerActivity(): CallerActivityLog {
  activityLog ??= new CallerActivityLog((id) => getConfig().tokenCallers.some((c) => c.id === id));
  return activityLog;
}

/**
 * Each caller's own Dataverse tokens. The bridge's own credential (appCredential, APP_CLIENT_ID) is not
 * reachable from here: the token service has no path to it.
 */
export function callerTokens(): CallerTokens {
  if (!callerTokenStore) {
    const config = getConfig();
    callerTokenStore = new CallerTokens({
      settings: {
        tenantId: config.tenantId, authorityHost: config.authorityHost, disableInstanceDiscovery: !config.isMicrosoftAuthority, bridgeAppId: config.appClientId,
        adfsAuthority: (org) => orgDescriptor(config, org)?.adfs?.authority,
      },
      platform: platformCredential(),
      secrets: secretStore(),
    });
  }
  return callerTokenStore;
}

export function tokenService(): IssueTokenDeps {
  if (!deps) {
    const config = getConfig();
    const policy = new CallerPolicy(config.tokenCallers, config.dataverseUrls);
    deps = {
      policy,
      clientAuth: new ClientAuthenticator({ policy, secrets: secretStore(), jti: jtiStore(), now: Date.now }),
      subjectValidator: apiTokenValidator(),
      tokens: callerTokens(),
      rateLimiter: globalRateLimiter(),
      authFailures: authFailureThrottle(),
      audit: callerActivity().wrap(tokenAuditSink()),
      now: Date.now,
    };
  }
  return deps;
}

/** Tests replace parts (e.g. a cache with a fake clock) or reset everything. */
export function setTokenServiceForTests(next?: Partial<IssueTokenDeps>): void {
  if (!next) {
    deps = undefined;
    callerTokenStore = undefined;
    activityLog = undefined;
    return;
  }
  deps = { ...tokenService(), ...next };
}
