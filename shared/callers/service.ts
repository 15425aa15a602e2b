// Wires caller status and provisioning: configuration, identities, Dataverse, audit. Built once by the
// composition root (shared/bridge.ts); each org's app-user port is built on first use and kept.
import type { TokenCredential } from "@azure/identity";
import type { Config } from "../config/config.js";
import type { GetToken } from "../dataverse/http.js";
import type { OrgThrottle } from "../dataverse/limiter.js";
import { TOKEN_EXCHANGE_AUDIENCE } from "../credentials/federated-credential.js";
import { jwtClaims } from "../tokens/dataverse-token-cache.js";
import { prepareAudit } from "../tokens/audit.js";
import type { TokenServices } from "../tokens/service.js";
import { DataverseAppUsers, type AppUserPort } from "./app-users.js";
import type { CallersDeps } from "./callers.js";

export function createCallersService(
  config: Config,
  parts: { platform: TokenCredential; bridgeToken: GetToken; throttle: (org: string) => OrgThrottle; tokens: TokenServices; leases: CallersDeps["leases"] },
): CallersDeps {
  const ports = new Map<string, AppUserPort>();
  return {
    callers: config.tokenCallers,
    appUsers: (org) => {
      let port = ports.get(org);
      if (!port) ports.set(org, (port = new DataverseAppUsers(org, { getToken: parts.bridgeToken, throttle: parts.throttle(org) })));
      return port;
    },
    checkIdentity: async (caller, org) => { await parts.tokens.callerTokens.acquire(caller, org); },
    identityContext: async () => {
      // The managed identity's object id is the subject a caller app's federated credential must name.
      const oid = await parts.platform.getToken(`${TOKEN_EXCHANGE_AUDIENCE}/.default`)
        .then((t) => (t ? jwtClaims(t.token)?.oid : undefined), () => undefined);
      return { tenantId: config.tenantId, issuer: `${config.authorityHost}/${config.tenantId}/v2.0`, managedIdentityObjectId: typeof oid === "string" ? oid : undefined };
    },
    activity: (id) => parts.tokens.activity.get(id),
    provisioningEnabled: config.callerProvisioning,
    leases: parts.leases,
    audit: async ({ caller, org, actions, by }) => {
      await parts.tokens.audit.record(prepareAudit({ outcome: "provisioned", caller, target: org, method: `admin:${by}`, reason: actions.join(","), time: new Date() }));
    },
  };
}
