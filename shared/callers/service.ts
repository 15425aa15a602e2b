// Wires caller status and provisioning to the process's singletons (configuration, identities, Dataverse, audit).
import { getConfig } from "../config/config.js";
import { platformCredential } from "../credentials/platform-identity.js";
import { tokenAuditSink } from "../tokens/audit.js";
import { TOKEN_EXCHANGE_AUDIENCE } from "../tokens/caller-tokens.js";
import { jwtClaims } from "../tokens/dataverse-token-cache.js";
import { callerActivity, callerTokens } from "../tokens/service.js";
import { DataverseAppUsers, type AppUserPort } from "./app-users.js";
import type { CallersDeps } from "./callers.js";

const ports = new Map<string, AppUserPort>();

export function callersService(): CallersDeps {
  const config = getConfig();
  return {
    callers: config.tokenCallers,
    appUsers: (org) => {
      let port = ports.get(org);
      if (!port) ports.set(org, (port = new DataverseAppUsers(org)));
      return port;
    },
    checkIdentity: async (caller, org) => { await callerTokens().acquire(caller, org); },
    identityContext: async () => {
      // The managed identity's object id is the subject a caller app's federated credential must name.
      const oid = await platformCredential().getToken(`${TOKEN_EXCHANGE_AUDIENCE}/.default`)
        .then((t) => (t ? jwtClaims(t.token)?.oid : undefined), () => undefined);
      return { tenantId: config.tenantId, issuer: `${config.authorityHost}/${config.tenantId}/v2.0`, managedIdentityObjectId: typeof oid === "string" ? oid : undefined };
    },
    activity: (id) => callerActivity().get(id),
    provisioningEnabled: config.callerProvisioning,
    audit: async ({ caller, org, actions, by }) => {
      await tokenAuditSink().record({ outcome: "provisioned", caller, target: org, method: `admin:${by}`, reason: actions.join(","), time: new Date() });
    },
  };
}
