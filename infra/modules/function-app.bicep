// The Function App on the Flex Consumption plan (Linux). The runtime comes from functionAppConfig,
// so there is no FUNCTIONS_WORKER_RUNTIME setting; the code package is pulled from a blob
// container with the user-assigned identity.
param name string
param planName string
param location string
param tags object
param identityId string
param deploymentContainerUrl string

@allowed(['22'])
param nodeVersion string

@description('Flex Consumption accepts 40 to 1000.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Optional: subnet (delegated to Microsoft.App/environments) for VNet integration; empty = none.')
param vnetSubnetResourceId string = ''

@description('Every app setting, name to value. Secure: it holds TOKEN_CALLERS, kept out of deployment history.')
@secure()
param appSettings object

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true } // Linux
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Flex Consumption VNet integration: with a subnet, the app's outbound traffic (on-premises orgs, AD FS,
    // private DNS) leaves through it; the subnet must be delegated to Microsoft.App/environments.
    virtualNetworkSubnetId: empty(vnetSubnetResourceId) ? null : vnetSubnetResourceId
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [for setting in items(appSettings): { name: setting.key, value: setting.value }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: { name: 'node', version: nodeVersion }
    }
  }
}

// Deployments authenticate with Entra ID (az CLI, azd); publishing passwords stay off.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'
