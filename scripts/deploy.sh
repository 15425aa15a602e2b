#!/usr/bin/env bash
# Deploys the Identity Bridge with the Azure CLI: resource group -> infra/main.bicep -> code package.
# Idempotent: running it again updates everything in place. Prints each step; never prints a secret
# (no credential is a parameter at all; TOKEN_CALLERS travels in a private temp file, not on a command line).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/deploy.sh -g <resource-group> -l <location> [options]

  -g, --resource-group NAME   resource group to create or update        (env RESOURCE_GROUP)
  -l, --location REGION       Azure region with Flex Consumption         (env AZURE_LOCATION)
  -e, --env-name NAME         seeds resource names; default: the group   (env AZURE_ENV_NAME)
  -s, --subscription ID       subscription; default: the az CLI's        (env AZURE_SUBSCRIPTION_ID)
      --package ZIP           deploy this zip instead of running `npm run package`
      --infra-only            provision only
      --code-only             deploy the code package to an existing deployment
      --what-if               show what the infrastructure deployment would change, then stop
  -h, --help

Bridge settings come from environment variables named as in infra/main.parameters.json
(the app settings, docs/settings.md). Required: APP_CLIENT_ID, DATAVERSE_URLS (or DATAVERSE_ORGS), API_AUDIENCE.
Optional: AZURE_TENANT_ID, APP_CREDENTIAL_SECRET_NAME, DATAVERSE_ORGS, VNET_SUBNET_RESOURCE_ID and ONPREM_CA_BUNDLE_SECRET_NAME (docs/on-premises.md), SYNC_SCHEDULE, SYNC_SCOPE_GROUP_IDS, SYNC_IDENTITY,
SYNC_DISABLE_THRESHOLD, SYNC_DRY_RUN (a new deployment: true; a redeployment keeps the app's current value), SYNC_ATTRIBUTE_MAP,
REMAP_PLACEHOLDER_USERS, ADMIN_ROLE, TOKEN_CALLERS, NOTIFICATION_URL, NOTIFICATION_CLIENT_STATE_SECRET_NAME,
CALLER_PROVISIONING,
AZURE_AUTHORITY_HOST, GRAPH_BASE_URL, NODE_VERSION, FUNCTION_APP_NAME, STORAGE_ACCOUNT_NAME, KEY_VAULT_NAME,
AZURE_PRINCIPAL_ID (operator given Key Vault Secrets Officer; default: the signed-in user),
ALERT_EMAIL, ALERT_SYNC_INTERVAL_MINUTES (default: worked out from SYNC_SCHEDULE).
Code upload: CODE_DEPLOY_TIMEOUT (seconds az may take per attempt, 900; the script stops az 60 s later),
CODE_DEPLOY_ATTEMPTS (5), CODE_DEPLOY_RETRY_DELAY (60), CODE_DEPLOY_POLL_INTERVAL (15: while a deployment
is in progress, its status is polled this often instead of posting the package again).
EOF
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOYMENT_NAME="identity-bridge"
RESOURCE_GROUP="${RESOURCE_GROUP:-}"
LOCATION="${AZURE_LOCATION:-}"
ENV_NAME="${AZURE_ENV_NAME:-}"
SUBSCRIPTION="${AZURE_SUBSCRIPTION_ID:-}"
PACKAGE="${PACKAGE_PATH:-}"
MODE="all"

need_value() { [[ $# -ge 2 && -n "$2" ]] || { echo "error: $1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -g|--resource-group) need_value "$@"; RESOURCE_GROUP="$2"; shift 2 ;;
    -l|--location) need_value "$@"; LOCATION="$2"; shift 2 ;;
    -e|--env-name) need_value "$@"; ENV_NAME="$2"; shift 2 ;;
    -s|--subscription) need_value "$@"; SUBSCRIPTION="$2"; shift 2 ;;
    --package) need_value "$@"; PACKAGE="$2"; shift 2 ;;
    --infra-only) MODE="infra"; shift ;;
    --code-only) MODE="code"; shift ;;
    --what-if) MODE="what-if"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }

# The code upload is bounded and retried. Azure CLI releases before the fix of their Flex Consumption polling
# loop (azure-cli #30870, #31394) can wait forever in config-zip; and right after the first provisioning the
# identity's storage role assignments may not have propagated yet (Azure: up to ~10 minutes), so the first
# upload can be refused. az gets --timeout CODE_DEPLOY_TIMEOUT and the script stops it itself
# CODE_DEPLOY_TIMEOUT_MARGIN seconds later; failures are retried CODE_DEPLOY_ATTEMPTS times in all,
# CODE_DEPLOY_RETRY_DELAY seconds apart. After a timeout or a 409 (a deployment in progress), the package
# is not posted again while a deployment runs: its status is polled until it has finished.
CODE_DEPLOY_TIMEOUT="${CODE_DEPLOY_TIMEOUT:-900}"
CODE_DEPLOY_TIMEOUT_MARGIN="${CODE_DEPLOY_TIMEOUT_MARGIN:-60}"
CODE_DEPLOY_ATTEMPTS="${CODE_DEPLOY_ATTEMPTS:-5}"
CODE_DEPLOY_RETRY_DELAY="${CODE_DEPLOY_RETRY_DELAY:-60}"
CODE_DEPLOY_POLL_INTERVAL="${CODE_DEPLOY_POLL_INTERVAL:-15}"

# Runs "$@" for at most $1 seconds (exit 124 when stopped), with coreutils timeout when present.
with_timeout() {
  local seconds="$1"; shift
  if command -v timeout >/dev/null 2>&1; then timeout --kill-after=10 "$seconds" "$@"; return; fi
  "$@" &
  local pid=$!
  ( sleep "$seconds"; kill -TERM "$pid" 2>/dev/null ) &
  local watcher=$! status=0
  wait "$pid" || status=$?
  if kill "$watcher" 2>/dev/null; then wait "$watcher" 2>/dev/null || true; elif (( status != 0 )); then status=124; fi
  return "$status"
}

# States of the app's deployments (Flex Consumption's deployment status API), one a line.
deployment_states() {
  az rest --method get --output tsv --query "value[].properties.status" \
    --url "/subscriptions/$subscription_id/resourceGroups/$RESOURCE_GROUP/providers/Microsoft.Web/sites/$APP_NAME/deploymentStatus?api-version=2024-04-01"
}

# Waits while any deployment of the app is still in progress (not in a final state), at most CODE_DEPLOY_TIMEOUT s.
wait_while_deploying() {
  local deadline=$(( SECONDS + CODE_DEPLOY_TIMEOUT )) running
  while :; do
    running="$(deployment_states 2>/dev/null | grep -vxE 'RuntimeSuccessful|RuntimeFailed|BuildFailed|BuildAborted|' || true)"
    [[ -z "$running" ]] && return 0
    if (( SECONDS >= deadline )); then echo "a deployment is still in progress after ${CODE_DEPLOY_TIMEOUT}s" >&2; return 0; fi
    echo "a deployment is in progress ($(echo $running)); checking again in ${CODE_DEPLOY_POLL_INTERVAL}s" >&2
    sleep "$CODE_DEPLOY_POLL_INTERVAL"
  done
}

deploy_code() {
  local attempt status sub=() errors="$TMP_DIR/config-zip.err"
  [[ -n "$SUBSCRIPTION" ]] && sub=(--subscription "$SUBSCRIPTION")
  for (( attempt = 1; ; attempt++ )); do
    status=0
    with_timeout $(( CODE_DEPLOY_TIMEOUT + CODE_DEPLOY_TIMEOUT_MARGIN )) az functionapp deployment source config-zip \
      --resource-group "$RESOURCE_GROUP" --name "$APP_NAME" --src "$PACKAGE" --timeout "$CODE_DEPLOY_TIMEOUT" \
      --output none ${sub[@]+"${sub[@]}"} 2>"$errors" || status=$?
    cat "$errors" >&2
    (( status == 0 )) && return 0
    if (( status == 124 || status == 137 )); then echo "code deployment: no answer within ${CODE_DEPLOY_TIMEOUT}s (attempt $attempt of $CODE_DEPLOY_ATTEMPTS)" >&2
    else echo "code deployment failed with exit code $status (attempt $attempt of $CODE_DEPLOY_ATTEMPTS)" >&2; fi
    if (( attempt >= CODE_DEPLOY_ATTEMPTS )); then
      echo "error: the code package was not deployed; rerun with --code-only once the cause above is fixed" >&2
      return 1
    fi
    if (( status == 124 || status == 137 )) || grep -qiE '409|conflict|in progress' "$errors"; then
      # The upload may still be running on the app (or another one is): wait for it instead of posting again.
      wait_while_deploying
    else
      echo "retrying in ${CODE_DEPLOY_RETRY_DELAY}s (role assignments can take minutes to propagate after a first deployment)" >&2
      sleep "$CODE_DEPLOY_RETRY_DELAY"
    fi
  done
}
# Every az call goes through here, so --subscription applies everywhere without changing the CLI's default.
az_() {
  if [[ -n "$SUBSCRIPTION" ]]; then az "$@" --subscription "$SUBSCRIPTION"; else az "$@"; fi
}

# Check everything first and report every problem at once.
problems=()
[[ -n "$RESOURCE_GROUP" ]] || problems+=("resource group: pass -g NAME or set RESOURCE_GROUP")
if [[ "$MODE" != "code" ]]; then
  [[ -n "$LOCATION" ]] || problems+=("location: pass -l REGION or set AZURE_LOCATION (a region offering Flex Consumption)")
  for name in APP_CLIENT_ID API_AUDIENCE; do
    [[ -n "${!name:-}" ]] || problems+=("$name: set it in the environment (see docs/deployment.md)")
  done
  [[ -n "${DATAVERSE_URLS:-}${DATAVERSE_ORGS:-}" ]] || problems+=("DATAVERSE_URLS: set it, or DATAVERSE_ORGS, in the environment (see docs/deployment.md)")
fi
if [[ -n "$PACKAGE" && ! -f "$PACKAGE" ]]; then problems+=("--package: no file at $PACKAGE"); fi
command -v az >/dev/null || problems+=("az: install the Azure CLI (https://aka.ms/azure-cli)")
command -v node >/dev/null || problems+=("node: install Node.js 22")
if [[ ${#problems[@]} -gt 0 ]]; then
  printf 'error: cannot deploy:\n' >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 2
fi
ENV_NAME="${ENV_NAME:-$RESOURCE_GROUP}"

step "Azure CLI login"
subscription_id="$(az_ account show --query id --output tsv)"
echo "subscription: $subscription_id"

TMP_DIR="$(mktemp -d)"
trap 'rm -rf "$TMP_DIR"' EXIT

# Renders infra/main.parameters.json (shared with azd) from the environment: ${NAME} becomes the
# JSON-escaped value; parameters left empty are dropped so the template's defaults apply.
render_parameters() {
  local out="$TMP_DIR/parameters.json"
  (umask 077 && node --input-type=module - "$ROOT/infra/main.parameters.json" "$out" <<'EOF'
import { readFileSync, writeFileSync } from "node:fs";
const [source, target] = process.argv.slice(2);
const file = JSON.parse(readFileSync(source, "utf8"));
const parameters = {};
for (const [name, { value }] of Object.entries(file.parameters)) {
  const rendered = String(value).replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, v) => process.env[v] ?? "");
  if (rendered !== "") parameters[name] = { value: rendered };
}
writeFileSync(target, JSON.stringify({ ...file, parameters }, null, 2));
console.log(`parameters: ${Object.keys(parameters).join(", ")}`);
EOF
  )
  PARAMETERS_FILE="$out"
}

# Asks once whether the resource group exists.
GROUP_EXISTS=""
group_exists() {
  [[ -n "$GROUP_EXISTS" ]] || GROUP_EXISTS="$(az_ group exists --name "$RESOURCE_GROUP")"
  [[ "$GROUP_EXISTS" == "true" ]]
}

# A redeployment keeps the running app's SYNC_DRY_RUN unless the environment sets it: a bridge taken live
# must not fall back to dry run (the template's default for a new deployment) because a variable was unset.
keep_current_dry_run() {
  [[ -z "${SYNC_DRY_RUN:-}" ]] || return 0
  group_exists || return 0
  local previous app current
  previous="$(az_ deployment group show --resource-group "$RESOURCE_GROUP" --name "$DEPLOYMENT_NAME" \
    --query properties.outputs --output json 2>/dev/null || true)"
  app="$(node -e 'const o = JSON.parse(process.argv[1] || "{}") ?? {}; process.stdout.write(String(o.FUNCTION_APP_NAME?.value ?? ""))' "$previous" 2>/dev/null || true)"
  [[ -n "$app" ]] || return 0
  current="$(az_ functionapp config appsettings list --resource-group "$RESOURCE_GROUP" --name "$app" \
    --query "[?name=='SYNC_DRY_RUN'].value | [0]" --output tsv 2>/dev/null || true)"
  if [[ "$current" == "true" || "$current" == "false" ]]; then
    export SYNC_DRY_RUN="$current"
    echo "SYNC_DRY_RUN: keeping the app's current value, $current (set SYNC_DRY_RUN to change it)"
  fi
}

# The no-successful-run alert waits 3 sync intervals: when ALERT_SYNC_INTERVAL_MINUTES is not set, the
# longest gap between SYNC_SCHEDULE's next runs (NCRONTAB, read with the app's own cron library).
derive_alert_interval() {
  [[ -z "${ALERT_SYNC_INTERVAL_MINUTES:-}" && -n "${SYNC_SCHEDULE:-}" ]] || return 0
  ALERT_SYNC_INTERVAL_MINUTES="$(cd "$ROOT" && node --input-type=module -e '
import { Cron } from "croner";
const runs = new Cron(process.argv[1], { paused: true }).nextRuns(500);
let gap = 0;
for (let i = 1; i < runs.length; i++) gap = Math.max(gap, runs[i] - runs[i - 1]);
process.stdout.write(String(Math.max(1, Math.ceil(gap / 60000))));' "$SYNC_SCHEDULE")" \
    || { echo "error: SYNC_SCHEDULE is not a valid six-field NCRONTAB expression" >&2; exit 2; }
  export ALERT_SYNC_INTERVAL_MINUTES
  echo "alert sync interval: $ALERT_SYNC_INTERVAL_MINUTES minutes (from SYNC_SCHEDULE; set ALERT_SYNC_INTERVAL_MINUTES to override)"
}

if [[ "$MODE" != "code" ]]; then
  if [[ -z "${AZURE_PRINCIPAL_ID:-}" ]]; then
    # The operator who stores the credentials gets Key Vault Secrets Officer. A service-principal
    # login has no signed-in user: then nobody is added (grant the role yourself, see docs).
    AZURE_PRINCIPAL_ID="$(az_ ad signed-in-user show --query id --output tsv 2>/dev/null || true)"
    if [[ -n "$AZURE_PRINCIPAL_ID" ]]; then AZURE_PRINCIPAL_TYPE="${AZURE_PRINCIPAL_TYPE:-User}"; fi
  fi
  export AZURE_ENV_NAME="$ENV_NAME" AZURE_LOCATION="$LOCATION" AZURE_PRINCIPAL_ID="${AZURE_PRINCIPAL_ID:-}" \
    AZURE_PRINCIPAL_TYPE="${AZURE_PRINCIPAL_TYPE:-}"
  keep_current_dry_run
  derive_alert_interval
  render_parameters

  if [[ "$MODE" == "what-if" ]]; then
    step "What-if: infra/main.bicep in $RESOURCE_GROUP (the group must exist)"
    az_ deployment group what-if --resource-group "$RESOURCE_GROUP" --name "$DEPLOYMENT_NAME" \
      --template-file "$ROOT/infra/main.bicep" --parameters "@$PARAMETERS_FILE"
    exit 0
  fi

  step "Resource group $RESOURCE_GROUP ($LOCATION)"
  if group_exists; then
    echo "exists: keeping it"
  else
    az_ group create --name "$RESOURCE_GROUP" --location "$LOCATION" --tags "azd-env-name=$ENV_NAME" --output none
    echo "created"
  fi

  step "Infrastructure: infra/main.bicep -> deployment $DEPLOYMENT_NAME (a few minutes)"
  outputs="$(az_ deployment group create --resource-group "$RESOURCE_GROUP" --name "$DEPLOYMENT_NAME" \
    --template-file "$ROOT/infra/main.bicep" --parameters "@$PARAMETERS_FILE" \
    --query properties.outputs --output json)"
else
  step "Existing deployment $DEPLOYMENT_NAME in $RESOURCE_GROUP"
  outputs="$(az_ deployment group show --resource-group "$RESOURCE_GROUP" --name "$DEPLOYMENT_NAME" \
    --query properties.outputs --output json)"
fi

output() {
  node -e 'const o = JSON.parse(process.argv[1] || "{}")[process.argv[2]]; process.stdout.write(o ? String(o.value) : "")' \
    "$outputs" "$1"
}
APP_NAME="$(output FUNCTION_APP_NAME)"
APP_URL="$(output FUNCTION_APP_URL)"
VAULT_NAME="$(output KEY_VAULT_NAME)"
VAULT_URL="$(output KEY_VAULT_URL)"
[[ -n "$APP_NAME" ]] || { echo "error: the deployment has no FUNCTION_APP_NAME output" >&2; exit 1; }
echo "function app: $APP_NAME ($APP_URL)"
echo "key vault:    $VAULT_NAME ($VAULT_URL)"

if [[ "$MODE" != "infra" ]]; then
  if [[ -z "$PACKAGE" ]]; then
    step "Package: npm run package"
    (cd "$ROOT" && npm run package --silent)
    PACKAGE="$ROOT/dist/identity-bridge.zip"
  fi
  step "Code: $(basename "$PACKAGE") -> $APP_NAME"
  deploy_code
  echo "deployed"
fi

step "Done"
cat <<EOF
Function app: $APP_URL   (liveness: curl $APP_URL/api/health)
Key Vault:    $VAULT_URL
If this is the first deployment, finish the one-time steps in docs/deployment.md (credential in the vault,
Dataverse application user, admin consent); the bridge reports a configuration problem until they are done.
EOF
