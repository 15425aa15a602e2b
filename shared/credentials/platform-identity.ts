// The Function App's own identity (managed identity in Azure, the Azure CLI login on a workstation),
// used for Key Vault and identity-based storage. The composition root (shared/bridge.ts) builds one.
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import type { Config } from "../config/config.js";

type IdentitySettings = Pick<Config, "managedIdentityClientId" | "authorityHost" | "isMicrosoftAuthority">;

export function createPlatformCredential(config: IdentitySettings): TokenCredential {
  // DefaultAzureCredential reads AZURE_CLIENT_ID as the user-assigned managed identity to use;
  // the bridge's app registration is APP_CLIENT_ID and never goes here.
  return new DefaultAzureCredential({
    managedIdentityClientId: config.managedIdentityClientId,
    authorityHost: config.authorityHost,
    disableInstanceDiscovery: !config.isMicrosoftAuthority,
  } as ConstructorParameters<typeof DefaultAzureCredential>[0]);
}

/** How the identity is described in error messages (never a secret). */
export function describePlatformIdentity(config: Pick<Config, "managedIdentityClientId" | "hasManagedIdentity">): string {
  if (config.hasManagedIdentity) {
    return config.managedIdentityClientId
      ? `the Function App's user-assigned managed identity (client id ${config.managedIdentityClientId})`
      : "the Function App's system-assigned managed identity";
  }
  return "the signed-in Azure CLI / developer identity";
}
