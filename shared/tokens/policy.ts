// TOKEN_CALLERS lookups and the target check: which caller is this, and may it have that org?
import type { TokenCaller } from "../config/token-callers.js";
import { OAuthError } from "./oauth-errors.js";
import { normalizeOrgUrl } from "../config/org-url.js";

export type Grant = "client_credentials" | "token_exchange";

export class CallerPolicy {
  private readonly byId = new Map<string, TokenCaller>();
  private readonly byAppId = new Map<string, TokenCaller>();
  private readonly orgs: Set<string>;

  constructor(callers: TokenCaller[], dataverseUrls: string[]) {
    for (const caller of callers) {
      this.byId.set(caller.id, caller);
      if (caller.auth === "entra" && caller.appId) this.byAppId.set(caller.appId.toLowerCase(), caller);
    }
    this.orgs = new Set(dataverseUrls.map(normalizeOrgUrl));
  }

  callerById(id: string): TokenCaller | undefined {
    return this.byId.get(id);
  }

  /** The `auth: "entra"` caller whose app registration is `appId`. */
  callerByAppId(appId: string): TokenCaller | undefined {
    return this.byAppId.get(appId.toLowerCase());
  }

  /**
   * The org the request targets, from `resource=<org>` and/or `scope=<org>/.default`, checked against the
   * caller's `resources` and the configured orgs. Refusals are `invalid_scope` (client credentials) or
   * `invalid_target` (token exchange, RFC 8693 §2.2.2).
   */
  resolveTarget(caller: TokenCaller, grant: Grant, target: { resource: string[]; scope?: string; audience?: string[] }): string {
    const candidates = new Set<string>();
    for (const resource of target.resource) {
      if (!isAbsoluteUrl(resource) || resource.includes("#")) {
        throw new OAuthError("invalid_request", "resource must be an absolute URI without a fragment", { reason: "bad_resource" });
      }
      candidates.add(normalizeOrgUrl(resource));
    }
    if (target.scope !== undefined) {
      const scopes = target.scope.split(" ").filter(Boolean);
      if (scopes.length !== 1 || !scopes[0]!.endsWith("/.default")) {
        throw targetRefusal(grant, "scope must be exactly one <org URL>/.default", "bad_scope");
      }
      candidates.add(normalizeOrgUrl(scopes[0]!.slice(0, -"/.default".length)));
    }
    // RFC 8693 `audience`: each must name an org this caller may reach; never ignored.
    for (const audience of target.audience ?? []) {
      const org = isAbsoluteUrl(audience) ? normalizeOrgUrl(audience) : undefined;
      if (!org || !this.orgs.has(org) || !caller.resources.includes(org)) {
        throw new OAuthError("invalid_target", "audience must name an org this caller may have a token for", { reason: "audience_not_allowed" });
      }
      candidates.add(org);
    }
    if (candidates.size === 0) throw targetRefusal(grant, "name the org with resource=<org URL> or scope=<org URL>/.default", "no_target");
    if (candidates.size > 1) throw targetRefusal(grant, "the request names more than one org; ask for one at a time", "many_targets");
    const org = candidates.values().next().value!;
    if (!this.orgs.has(org) || !caller.resources.includes(org)) throw targetRefusal(grant, "the caller may not have a token for this resource", "target_not_allowed");
    return org;
  }
}

/** `invalid_scope` (client credentials) or `invalid_target` (token exchange); built only when refusing. */
function targetRefusal(grant: Grant, description: string, reason: string): OAuthError {
  return new OAuthError(grant === "token_exchange" ? "invalid_target" : "invalid_scope", description, { reason });
}


function isAbsoluteUrl(value: string): boolean {
  return URL.canParse(value);
}
