// How the CLI gets an admin access token: --token (or BRIDGE_TOKEN), else the Azure CLI's login, else the
// device-code flow, each asking Entra for <API audience>/.default.
import { AzureCliCredential, DeviceCodeCredential, type TokenCredential } from "@azure/identity";

export interface SignInOptions {
  token?: string;
  /** `<API_AUDIENCE>/.default`. */
  scope?: string;
  tenant?: string;
  /** Public client for the device-code flow (the bridge's app registration, with public client flows allowed). */
  clientId?: string;
  deviceCode?: boolean;
  log: (line: string) => void;
}

export function tokenSource(options: SignInOptions): () => Promise<string> {
  if (options.token) {
    const token = options.token;
    return async () => token;
  }
  if (!options.scope) throw new Error("Give --token, or --scope <API_AUDIENCE>/.default to sign in with Entra.");
  const scope = options.scope;
  const credential: TokenCredential = options.deviceCode
    ? new DeviceCodeCredential({ tenantId: options.tenant, clientId: options.clientId, userPromptCallback: (info) => options.log(info.message) })
    : new AzureCliCredential({ tenantId: options.tenant });
  let cached: { token: string; expiresOnTimestamp: number } | undefined;
  return async () => {
    if (!cached || cached.expiresOnTimestamp - Date.now() < 120_000) {
      const token = await credential.getToken(scope);
      if (!token) throw new Error("Entra gave no token.");
      cached = token;
    }
    return cached.token;
  };
}
