// Alerts as code, their action group and the operations workbook. Every query reads what the bridge's
// OpenTelemetry exporter writes to the workspace-based Application Insights resource (customMetrics, traces);
// metric names come from shared/telemetry/names.ts. docs/operations.md holds each query's runbook.
param location string
param tags object
param appInsightsName string
@description('E-mail address the alerts go to.')
param alertEmail string
@description('Minutes between scheduled sync runs (SYNC_SCHEDULE); "no successful run" fires after 3 times this.')
param syncIntervalMinutes int = 15
@description('Token refusals per caller in 15 minutes that count as a spike.')
param refusalSpikeThreshold int = 50

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-identity-bridge-${uniqueString(resourceGroup().id)}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'idbridge'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      { name: 'operators', emailAddress: alertEmail, useCommonAlertSchema: true }
    ]
  }
}

var noRunWindowMinutes = 3 * syncIntervalMinutes
// The app is silent when nothing at all arrives for two sync intervals (at least an hour): the timer alone
// records requests and metrics every interval. At most two days, the longest window a log alert may have.
var silenceWindowMinutes = min(2880, max(60, 2 * syncIntervalMinutes))

// One entry per alert: `query` returns a row per problem (the rule fires when it returns any row).
// `autoMitigate: false` where telemetry stopping would look like recovery: such an alert stays fired until
// someone resolves it (and repeats at most every `mute`), instead of resolving itself when the rows go away.
var alerts = [
  {
    name: 'sync-halted'
    displayName: 'Identity bridge: a sync run is halted by the disable threshold'
    severity: 2
    frequency: 'PT5M'
    window: 'PT15M'
    query: '''
customMetrics
| where name == "bridge.sync.halted"
| extend org = tostring(customDimensions.org)
| summarize halted = sum(valueSum) by org
| where halted > 0
'''
  }
  {
    name: 'sync-backing-off'
    displayName: 'Identity bridge: an org has been backing off for over an hour'
    severity: 2
    frequency: 'PT15M'
    window: 'PT2H'
    query: '''
let skips = customMetrics
| where name == "bridge.sync.backing_off"
| extend org = tostring(customDimensions.org)
| summarize firstSkip = min(timestamp), lastSkip = max(timestamp) by org;
let succeeded = customMetrics
| where name == "bridge.sync.runs" and tostring(customDimensions.outcome) == "succeeded"
| extend org = tostring(customDimensions.org)
| summarize lastSuccess = max(timestamp) by org;
skips
| join kind=leftouter succeeded on org
| where lastSkip > ago(30m) and lastSkip - firstSkip > 1h and (isnull(lastSuccess) or lastSuccess < firstSkip)
| project org, firstSkip, lastSkip
'''
  }
  {
    name: 'telemetry-silent'
    displayName: 'Identity bridge: the app sends no telemetry at all'
    severity: 1
    frequency: 'PT15M'
    window: 'PT${silenceWindowMinutes}M'
    autoMitigate: false
    mute: 'PT1H'
    query: replace('''
union requests, traces, customMetrics
| where timestamp > ago({silence}m)
| count
| where Count == 0
''', '{silence}', string(silenceWindowMinutes))
  }
  {
    name: 'sync-no-success'
    displayName: 'Identity bridge: no successful sync run for 3 schedule intervals'
    severity: 1
    frequency: 'PT15M'
    // The query looks back 3 intervals; a log alert's window is at most two days.
    window: noRunWindowMinutes > 1440 ? 'P2D' : 'P1D'
    // When the app stops sending telemetry, `known` empties and the query returns nothing: that is not a success.
    autoMitigate: false
    mute: 'PT1H'
    query: replace('''
let known = customMetrics
| where name == "bridge.sync.runs"
| distinct org = tostring(customDimensions.org);
let recent = customMetrics
| where timestamp > ago({window}m) and name == "bridge.sync.runs" and tostring(customDimensions.outcome) == "succeeded"
| extend org = tostring(customDimensions.org)
| summarize succeeded = sum(valueSum) by org;
known
| join kind=leftouter recent on org
| where isnull(succeeded) or succeeded == 0
| project org
''', '{window}', string(noRunWindowMinutes))
  }
  {
    name: 'remap-stuck'
    displayName: 'Identity bridge: a remap is stuck between its two steps'
    severity: 1
    frequency: 'PT15M'
    window: 'PT30M'
    query: '''
customMetrics
| where name == "bridge.remap.stuck"
| summarize stuck = max(value)
| where stuck > 0
'''
  }
  {
    name: 'poison-queue'
    displayName: 'Identity bridge: a message is in a poison queue'
    severity: 2
    frequency: 'PT15M'
    window: 'PT30M'
    query: '''
customMetrics
| where name == "bridge.queue.poison_depth"
| extend queue = tostring(customDimensions.queue)
| summarize depth = max(value) by queue
| where depth > 0
'''
  }
  {
    name: 'token-refusal-spike'
    displayName: 'Identity bridge: a spike of token refusals'
    severity: 2
    frequency: 'PT5M'
    window: 'PT15M'
    query: replace('''
customMetrics
| where name == "bridge.tokens.refused"
| extend caller = tostring(customDimensions.caller), reason = tostring(customDimensions.reason)
| summarize refused = sum(valueSum), reasons = make_set(reason, 10) by caller
| where refused > {spike}
''', '{spike}', string(refusalSpikeThreshold))
  }
  {
    name: 'audit-failure'
    displayName: 'Identity bridge: an audit record could not be written'
    severity: 1
    frequency: 'PT5M'
    window: 'PT15M'
    query: '''
customMetrics
| where name == "bridge.audit.write_failures"
| summarize failures = sum(valueSum) by log = tostring(customDimensions.log)
| where failures > 0
'''
  }
  {
    name: 'subscription-expiring'
    displayName: 'Identity bridge: the Graph subscription expires within a day and was not renewed'
    severity: 2
    frequency: 'PT30M'
    window: 'PT2H'
    query: '''
let lastExpiry = customMetrics
| where name == "bridge.graph.subscription.expires_in_s"
| summarize arg_max(timestamp, value, customDimensions)
| extend expiresInS = value, renewed = tostring(customDimensions.renewed)
| where expiresInS < 86400 and renewed != "true"
| project timestamp, expiresInS;
let renewalFailures = traces
| where message has "subscription renewal failed"
| summarize failures = count(), lastFailure = max(timestamp)
| where failures > 0
| project timestamp = lastFailure, expiresInS = real(null);
union lastExpiry, renewalFailures
'''
  }
]

resource rules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for alert in alerts: {
  name: 'identity-bridge-${alert.name}'
  location: location
  tags: tags
  properties: {
    displayName: alert.displayName
    description: 'Runbook: docs/operations.md#${alert.name}'
    severity: alert.severity
    enabled: true
    scopes: [ appInsights.id ]
    evaluationFrequency: alert.frequency
    windowSize: alert.window
    criteria: {
      allOf: [
        {
          query: alert.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: alert.?autoMitigate ?? true
    muteActionsDuration: alert.?mute
    actions: {
      actionGroups: [ actionGroup.id ]
      customProperties: { runbook: 'docs/operations.md#${alert.name}' }
    }
  }
}]

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, 'identity-bridge-operations')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Identity bridge operations'
    category: 'workbook'
    sourceId: appInsights.id
    serializedData: loadTextContent('../workbook.json')
  }
}

output actionGroupId string = actionGroup.id
output alertRuleNames array = [for (alert, i) in alerts: rules[i].name]
