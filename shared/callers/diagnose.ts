// Pure: turns what was found about a caller in one org into named misconfigurations, each with its fix.
// The Entra errors are the ones workload identity federation and client credentials give
// (federation-adfs-telemetry.md §1): AADSTS70021, 700213, 700016, 7000215, 700027, 700024.
import type { TokenCaller } from "../config/token-callers.js";
import { errorMessage } from "../errors/app-error.js";

export interface Misconfiguration {
  cause: string;
  detail: string;
  fix: string;
}

export interface IdentityContext {
  tenantId: string;
  /** `<authority>/<tenant>/v2.0`: the issuer a federated credential on the caller's app must name. */
  issuer: string;
  /** The bridge's managed identity object id (the federated credential's subject), when known. */
  managedIdentityObjectId?: string;
}

const ficCommand = (caller: TokenCaller, ctx: IdentityContext) =>
  `az ad app federated-credential create --id ${caller.dataverseAppId} --parameters ` +
  `'{"name":"identity-bridge","issuer":"${ctx.issuer}","subject":"${ctx.managedIdentityObjectId ?? "<the Function App's managed identity object id>"}","audiences":["api://AzureADTokenExchange"]}'`;

/** Why the bridge could not sign in as the caller's app, from the error Entra (or Key Vault) gave. */
export function diagnoseIdentityError(caller: TokenCaller, error: unknown, ctx: IdentityContext): Misconfiguration {
  const message = errorMessage(error);
  const code = /AADSTS(\d+)/.exec(message)?.[1];
  const app = caller.dataverseAppId;
  switch (code) {
    case "70021":
      return { cause: "federated_credential_missing", detail: `Entra AADSTS70021: app ${app} has no federated identity credential for issuer ${ctx.issuer} and audience api://AzureADTokenExchange.`, fix: ficCommand(caller, ctx) };
    case "700213":
    case "7002138":
      return { cause: "federated_credential_wrong_subject", detail: `Entra AADSTS${code}: app ${app} has a federated credential for this issuer, but its subject is not the bridge's managed identity${ctx.managedIdentityObjectId ? ` (${ctx.managedIdentityObjectId})` : ""}; subjects match case-sensitively.`, fix: `Delete the wrong credential (az ad app federated-credential list --id ${app}) and add the right one: ${ficCommand(caller, ctx)}` };
    case "700016":
      return { cause: "app_not_found", detail: `Entra AADSTS700016: no app ${app} in tenant ${ctx.tenantId}.`, fix: `Register the caller's app (az ad app create --display-name "${caller.name}") and set its appId as dataverseAppId, or correct dataverseAppId.` };
    case "7000215":
    case "7000222":
      return { cause: "app_secret_invalid", detail: `Entra AADSTS${code}: the client secret in the vault is not (or no longer) a valid secret of app ${app}.`, fix: `Store a current secret: az ad app credential reset --id ${app} --append, then az keyvault secret set --name <credential.secretName> --value <secret>.` };
    case "700027":
      return { cause: "app_certificate_invalid", detail: `Entra AADSTS700027: the certificate in the vault is not registered on app ${app}.`, fix: `Upload the certificate: az ad app credential reset --id ${app} --cert @cert.pem --append.` };
    case "700024":
      return { cause: "assertion_time", detail: "Entra AADSTS700024: the managed-identity assertion was outside its validity window.", fix: "Check the Function App's clock and managed identity; retry." };
    default:
      break;
  }
  const appCode = (error as { code?: string })?.code;
  if (appCode === "key_vault_secret_not_found") {
    return { cause: "secret_missing", detail: message, fix: `Store the app's client secret or PEM certificate + key: az keyvault secret set --vault-name <vault> --name ${typeof caller.credential === "object" ? caller.credential.secretName : "<secretName>"} --file <file>.` };
  }
  if (appCode === "key_vault_forbidden") return { cause: "vault_forbidden", detail: message, fix: "Grant the Function App's identity \"Key Vault Secrets User\" on the vault." };
  return { cause: "identity_unavailable", detail: message.slice(0, 500), fix: "See the detail; the bridge could not sign in as the caller's app." };
}

/** Findings in one org about the caller's application user and roles. */
export function diagnoseAppUser(caller: TokenCaller, org: string, found: { user: { isdisabled: boolean } | null; roleNames: string[] }): Misconfiguration[] {
  const app = caller.dataverseAppId;
  if (!found.user) {
    return [{
      cause: "no_application_user", detail: `${org} has no application user for app ${app}: Dataverse refuses its tokens (403, "The user is not a member of the organization").`,
      fix: `POST /api/callers/${caller.id}/provision (with CALLER_PROVISIONING=on), or Power Platform admin center > Environments > (this org) > Settings > Users + permissions > Application users > New app user > app ${app}, with the roles ${JSON.stringify(caller.roles)}.`,
    }];
  }
  const problems: Misconfiguration[] = [];
  if (found.user.isdisabled) {
    problems.push({ cause: "application_user_disabled", detail: `The application user of app ${app} in ${org} is disabled.`, fix: "Power Platform admin center > Application users > (the app user) > Activate." });
  }
  const held = new Set(found.roleNames.map((n) => n.toLowerCase()));
  const missing = caller.roles.filter((r) => !held.has(r.toLowerCase()));
  if (missing.length > 0) {
    problems.push({ cause: "roles_missing", detail: `The application user lacks the security roles ${JSON.stringify(missing)} named in TOKEN_CALLERS.`, fix: `POST /api/callers/${caller.id}/provision (with CALLER_PROVISIONING=on), or assign them under Application users > Edit security roles.` });
  }
  return problems;
}
