// The settings every configuration test starts from: what loadConfig requires, with or without the orgs.

/** Required settings other than the orgs (DATAVERSE_URLS or DATAVERSE_ORGS). */
export const REQUIRED_SETTINGS = {
  AZURE_TENANT_ID: "11111111-2222-3333-4444-555555555555",
  APP_CLIENT_ID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
  KEY_VAULT_URL: "https://kv-bridge.vault.azure.net/",
  APP_CREDENTIAL_SECRET_NAME: "bridge-app-credential",
  AzureWebJobsStorage: "UseDevelopmentStorage=true",
  API_AUDIENCE: "api://identity-bridge",
} as const;

/** A minimal valid environment: the required settings and two online orgs. */
export const VALID_SETTINGS = {
  ...REQUIRED_SETTINGS,
  DATAVERSE_URLS: "https://contoso.crm.dynamics.com, https://fabrikam.crm4.dynamics.com/",
} as const;
