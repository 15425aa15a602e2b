// Workload identity federation with the Function App's managed identity: the managed identity's token for
// `api://AzureADTokenExchange` is the client assertion of a client-credentials request for an app registration
// whose federated identity credential trusts that identity (issuer `<authority>/<tenant>/v2.0`, subject the
// identity's object id). No secret exists anywhere. The bridge's own app (APP_CLIENT_ID, when
// APP_CREDENTIAL_SECRET_NAME is unset) and each "federated" S2S caller's app sign in through this one function.
import { ClientAssertionCredential, type TokenCredential } from "@azure/identity";
import { AppError } from "../errors/app-error.js";

/** The audience Entra expects on a federated credential's assertion (workload identity federation). */
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";

export interface FederatedAppSettings {
  tenantId: string;
  /** The app registration to sign in as. */
  clientId: string;
  authorityHost: string;
  disableInstanceDiscovery: boolean;
}

/** A credential for `clientId` whose client assertion is always a fresh managed-identity token (MSAL asks per token request). */
export function createFederatedCredential(settings: FederatedAppSettings, managedIdentity: TokenCredential): TokenCredential {
  const { tenantId, clientId, authorityHost, disableInstanceDiscovery } = settings;
  return new ClientAssertionCredential(tenantId, clientId, () => managedIdentityAssertion(managedIdentity), { authorityHost, disableInstanceDiscovery });
}

async function managedIdentityAssertion(managedIdentity: TokenCredential): Promise<string> {
  const assertion = await managedIdentity.getToken(`${TOKEN_EXCHANGE_AUDIENCE}/.default`);
  if (!assertion?.token) throw new AppError(`the managed identity returned no token for ${TOKEN_EXCHANGE_AUDIENCE}`, 503, "managed_identity_no_token");
  return assertion.token;
}
