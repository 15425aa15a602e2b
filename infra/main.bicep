// Identity Bridge for Dynamics 365: everything in one resource group.
//   az deployment group create -g <rg> --template-file infra/main.bicep --parameters ...
//   (scripts/deploy.sh renders infra/main.parameters.json from environment variables; azd does the same)
// Credentials are never parameters: the vault is created empty and an operator stores them (docs/deployment.md).
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('Environment name (azd environment, or deploy.sh --env-name); seeds the generated resource names.')
param environmentName string

@description('Azure region of every resource; empty means the resource group\'s region. Must offer Flex Consumption.')
param location string = ''

@description('Optional: object id of the operator who stores credentials; gets Key Vault Secrets Officer on the vault.')
param operatorPrincipalId string = ''

@description('Optional: the operator\'s principal type (User, Group, ServicePrincipal); empty lets Azure work it out.')
@allowed(['', 'User', 'Group', 'ServicePrincipal'])
param operatorPrincipalType string = ''

// ---- Bridge settings (docs/settings.md). An empty value means the app's documented default. ----

@description('AZURE_TENANT_ID: tenant of the directory and of the bridge app registration; empty means this subscription\'s tenant.')
param tenantId string = ''

@description('APP_CLIENT_ID: client id of the bridge app registration (the Dataverse application user).')
@minLength(36)
@maxLength(36)
param appClientId string

@description('AZURE_AUTHORITY_HOST: Entra authority host; empty means this cloud\'s login endpoint.')
param authorityHost string = ''

@description('APP_CREDENTIAL_SECRET_NAME: name (not value) of a vault secret with the app\'s client secret or PEM. Empty (the default): no secret; the app registration trusts the managed identity (MANAGED_IDENTITY_PRINCIPAL_ID) with a federated identity credential (docs/deployment.md).')
param appCredentialSecretName string = ''

@description('GRAPH_BASE_URL: Microsoft Graph root; empty means https://graph.microsoft.com.')
param graphBaseUrl string = ''

@description('DATAVERSE_URLS: comma-separated org URLs, e.g. https://contoso.crm.dynamics.com. Give it or dataverseOrgs.')
param dataverseUrls string = ''

@description('DATAVERSE_ORGS: optional JSON array describing each org, online or on-premises (docs/on-premises.md); replaces DATAVERSE_URLS.')
param dataverseOrgs string = ''

@description('Optional: resource id of a subnet delegated to Microsoft.App/environments; the app sends its outbound traffic through it (VNet integration, to reach on-premises orgs and AD FS).')
param vnetSubnetResourceId string = ''

@description('ONPREM_CA_BUNDLE_SECRET_NAME: name (not value) of a vault secret with the PEM certificates of the internal CA that on-premises AD FS and orgs use; empty: the public roots only.')
param onPremCaBundleSecretName string = ''

@description('SYNC_SCHEDULE: six-field NCRONTAB of the sync timer; empty means every 15 minutes.')
param syncSchedule string = ''

@description('SYNC_SCOPE_GROUP_IDS: optional comma-separated Entra group ids; empty means all users.')
param syncScopeGroupIds string = ''

@description('SYNC_IDENTITY: upn or sam; empty means upn.')
@allowed(['', 'upn', 'sam'])
param syncIdentity string = ''

@description('SYNC_DISABLE_THRESHOLD: most disables per run, a count (500) or a share (5%); empty means 500.')
param syncDisableThreshold string = ''

@description('SYNC_DRY_RUN: true plans and reports without writing to Dataverse. Empty means true here: a new deployment starts in dry run.')
@allowed(['', 'true', 'false'])
param syncDryRun string = ''

@description('SYNC_ATTRIBUTE_MAP: optional JSON overriding the Graph to systemuser mapping.')
param syncAttributeMap string = ''

@description('REMAP_PLACEHOLDER_USERS: optional comma-separated accounts reserved as temporary names during a remap.')
param remapPlaceholderUsers string = ''

@description('REMAP_LEASE_SECONDS: how long a stopped remap keeps its user before the recovery pass may settle it (10 to 9999; empty = 120).')
param remapLeaseSeconds string = ''

@description('API_AUDIENCE: App ID URI (or client id) that bearer tokens presented to the bridge must carry.')
@minLength(1)
param apiAudience string

@description('ADMIN_ROLE: app role required by the admin endpoints; empty means Bridge.Admin.')
param adminRole string = ''

@description('TOKEN_CALLERS: JSON policy of the S2S callers (secret names only). Secure so it stays out of deployment history.')
@secure()
param tokenCallers string = ''

@description('PUBLIC_BASE_URL: the app\'s public origin (e.g. https://bridge.contoso.com) for links and the client-assertion audience; empty = https://$WEBSITE_HOSTNAME.')
param publicBaseUrl string = ''

@description('TRUSTED_PROXY_HOPS: proxies that append to X-Forwarded-For in front of the app (1 to 10; empty = 1, App Service\'s front end; 2 with Application Gateway or Front Door before it).')
param trustedProxyHops string = ''

@description('NOTIFICATION_URL: public https URL of /api/notifications; empty turns webhooks off.')
param notificationUrl string = ''

@description('NOTIFICATION_CLIENT_STATE_SECRET_NAME: name (not value) of the vault secret with the webhook clientState.')
param notificationClientStateSecretName string = ''

// ---- Operations (alerts, workbook) ----

@description('E-mail address alerts are sent to (the action group); empty means the alert rules fire without a receiver.')
param alertEmail string = ''

@description('ALERT_SYNC_INTERVAL_MINUTES: minutes between scheduled sync runs (match SYNC_SCHEDULE; scripts/deploy.sh works it out from the schedule); the no-successful-run alert waits 3 times this. Empty means 15. A string, as the parameters file passes every value.')
param alertSyncIntervalMinutes string = ''

@description('CALLER_PROVISIONING: on lets POST /api/callers/{id}/provision create callers\' application users and assign their roles.')
@allowed(['on', 'off', ''])
param callerProvisioning string = ''

@description('ACCESS_RULES: JSON array of access rules (business unit, security roles and owner teams from Entra groups); empty manages no access.')
param accessRules string = ''

@description('ACCESS_REMOVAL_THRESHOLD: most access removals per run, a count (500) or a share (5%); empty means 500.')
param accessRemovalThreshold string = ''

@description('SYNC_LICENSE_SKUS: comma-separated Entra SKU ids; only users holding one are in scope of online orgs. Empty means all users.')
param syncLicenseSkus string = ''

// ---- Sizing and names ----

@description('Node.js version of the Flex Consumption runtime; empty means 22. Node 20 reached end of support on 2026-04-30.')
@allowed(['', '22'])
param nodeVersion string = ''

@description('Most instances the app scales out to. Flex Consumption accepts 40 to 1000.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Optional name overrides; empty means a name generated from the environment.')
param functionAppName string = ''
param storageAccountName string = ''
param keyVaultName string = ''

var effectiveLocation = empty(location) ? resourceGroup().location : location
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName, application: 'identity-bridge-d365' }
var names = {
  identity: 'id-bridge-${resourceToken}'
  plan: 'plan-bridge-${resourceToken}'
  functionApp: empty(functionAppName) ? 'func-bridge-${resourceToken}' : functionAppName
  storage: empty(storageAccountName) ? 'stbridge${resourceToken}' : storageAccountName
  keyVault: empty(keyVaultName) ? 'kv-bridge-${resourceToken}' : keyVaultName
  workspace: 'log-bridge-${resourceToken}'
  appInsights: 'appi-bridge-${resourceToken}'
  deploymentContainer: 'app-package'
}

// Service endpoints end with '/'; the settings take bare roots.
func withoutTrailingSlash(url string) string => endsWith(url, '/') ? substring(url, 0, length(url) - 1) : url

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: { name: names.identity, location: effectiveLocation, tags: tags }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    location: effectiveLocation
    tags: tags
  }
}

module operations 'modules/operations.bicep' = {
  name: 'operations'
  params: {
    location: effectiveLocation
    tags: tags
    appInsightsName: monitoring.outputs.appInsightsName
    alertEmail: alertEmail
    syncIntervalMinutes: empty(alertSyncIntervalMinutes) ? 15 : max(1, int(alertSyncIntervalMinutes))
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: effectiveLocation
    tags: tags
    deploymentContainerName: names.deploymentContainer
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: { name: names.keyVault, location: effectiveLocation, tags: tags }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: vault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
  }
}

// Every app setting. Platform settings first; then each setting of docs/settings.md. Secrets appear
// only as Key Vault secret names: the app reads their values with its identity.
// Integer division: the V8 old-space cap in MB for the chosen instance size.
var nodeHeapMB = instanceMemoryMB * 3 / 4

var appSettings = {
  // Identity-based host storage: no connection string, no account key.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  AzureWebJobsStorage__blobServiceUri: withoutTrailingSlash(storage.outputs.blobEndpoint)
  AzureWebJobsStorage__queueServiceUri: withoutTrailingSlash(storage.outputs.queueEndpoint)
  AzureWebJobsStorage__tableServiceUri: withoutTrailingSlash(storage.outputs.tableEndpoint)
  // Telemetry with an Entra token of the app's identity (local auth is disabled).
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  // A bounded old space, three quarters of the instance's memory (384 MB on 512, 1536 on 2048, 3072 on 4096): V8
  // collects before the process outgrows its instance, leaving room for buffers and native memory; a full sync
  // of 100k users keeps well under the smallest (bench:sync). AsyncLocalStorage on AsyncContextFrame (Node 24's
  // default; nodeVersion allows only 22 here): OpenTelemetry's context no longer puts async hooks on every promise,
  // which halved telemetry's CPU per token issuance (bench:token, CONTRIBUTING.md).
  languageWorkers__node__arguments: '--max-old-space-size=${nodeHeapMB} --experimental-async-context-frame'

  AZURE_TENANT_ID: empty(tenantId) ? tenant().tenantId : tenantId
  APP_CLIENT_ID: appClientId
  // The managed identity the Azure SDK uses (Key Vault, storage); never the app registration.
  AZURE_CLIENT_ID: identity.outputs.clientId
  AZURE_AUTHORITY_HOST: empty(authorityHost) ? withoutTrailingSlash(environment().authentication.loginEndpoint) : authorityHost
  KEY_VAULT_URL: withoutTrailingSlash(vault.outputs.uri)
  // Empty: the bridge signs in with its managed identity's token as a federated credential (no secret anywhere).
  APP_CREDENTIAL_SECRET_NAME: appCredentialSecretName
  GRAPH_BASE_URL: graphBaseUrl
  DATAVERSE_URLS: dataverseUrls
  DATAVERSE_ORGS: dataverseOrgs
  SYNC_SCHEDULE: syncSchedule
  SYNC_SCOPE_GROUP_IDS: syncScopeGroupIds
  SYNC_IDENTITY: syncIdentity
  SYNC_DISABLE_THRESHOLD: syncDisableThreshold
  SYNC_DRY_RUN: empty(syncDryRun) ? 'true' : syncDryRun
  SYNC_ATTRIBUTE_MAP: syncAttributeMap
  REMAP_PLACEHOLDER_USERS: remapPlaceholderUsers
  REMAP_LEASE_SECONDS: empty(remapLeaseSeconds) ? '120' : remapLeaseSeconds
  API_AUDIENCE: apiAudience
  ADMIN_ROLE: adminRole
  TOKEN_CALLERS: tokenCallers
  NOTIFICATION_URL: notificationUrl
  PUBLIC_BASE_URL: publicBaseUrl
  NOTIFICATION_CLIENT_STATE_SECRET_NAME: empty(notificationClientStateSecretName) ? 'bridge-notification-client-state' : notificationClientStateSecretName
  CALLER_PROVISIONING: empty(callerProvisioning) ? 'off' : callerProvisioning
  // Trusted for the on-premises AD FS and org hosts only (Flex Consumption cannot load certificates).
  ONPREM_CA_BUNDLE_SECRET_NAME: onPremCaBundleSecretName
  TRUSTED_PROXY_HOPS: empty(trustedProxyHops) ? '1' : trustedProxyHops
  ACCESS_RULES: accessRules
  ACCESS_REMOVAL_THRESHOLD: accessRemovalThreshold
  SYNC_LICENSE_SKUS: syncLicenseSkus
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  // The identity's roles exist before the host first touches storage or the vault.
  dependsOn: [rbac]
  params: {
    name: names.functionApp
    planName: names.plan
    location: effectiveLocation
    tags: tags
    identityId: identity.outputs.id
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    nodeVersion: empty(nodeVersion) ? '22' : nodeVersion
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSettings: appSettings
    vnetSubnetResourceId: vnetSubnetResourceId
  }
}

// Names and URLs only: nothing here is a secret.
output AZURE_LOCATION string = effectiveLocation
output FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_APP_URL string = functionApp.outputs.url
output KEY_VAULT_NAME string = vault.outputs.name
output KEY_VAULT_URL string = withoutTrailingSlash(vault.outputs.uri)
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
