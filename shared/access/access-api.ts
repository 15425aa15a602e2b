// GET /api/access and the readiness check: every org's access rules resolved — group (name, direct members),
// business unit, roles and teams with their ids — or the problem that stops each, with its fix.
import { describeError } from "../errors/app-error.js";
import type { Config } from "../config/config.js";
import type { DirectoryPort } from "../directory/types.js";
import { formatDisableThreshold } from "../sync/threshold.js";
import type { AccessOrgPort } from "./dataverse-access.js";
import { orgAccessSettings, resolveOrgRules } from "./run-access.js";
import type { RuleResolution } from "./resolve.js";

export interface AccessApiDeps {
  config: Pick<Config, "orgs" | "access">;
  directory: Pick<DirectoryPort, "getGroup" | "countGroupMembers">;
  access: (org: string) => AccessOrgPort;
}

export interface OrgAccessView {
  org: string;
  kind: string;
  /** The rules that apply to the org, in order, each resolved or with its problems. */
  rules: RuleResolution[];
  problems: string[];
  /** Set when the org could not be read (the rules are then unknown, not wrong). */
  error?: string;
}

export interface AccessView {
  removalThreshold: string;
  licenseSkus: string[];
  orgs: OrgAccessView[];
}

/**
 * Every org's rules, resolved now (nothing cached: an admin fixing a rule sees the fix at once); each group's
 * members are counted by Graph, not read.
 */
export async function accessStatus(deps: AccessApiDeps, signal?: AbortSignal): Promise<AccessView> {
  const { config } = deps;
  const orgs = await Promise.all(config.orgs.map((o) => orgAccess(deps, o.url, o.kind, signal)));
  return { removalThreshold: formatDisableThreshold(config.access.removalThreshold), licenseSkus: config.access.licenseSkus, orgs };
}

async function orgAccess(deps: AccessApiDeps, org: string, kind: string, signal?: AbortSignal): Promise<OrgAccessView> {
  const settings = orgAccessSettings(deps.config, org);
  if (settings.rules.length === 0) return { org, kind, rules: [], problems: [] };
  try {
    const resolution = await resolveOrgRules(settings, { directory: deps.directory, access: deps.access(org) }, signal);
    return { org, kind, rules: resolution.rules, problems: resolution.problems };
  } catch (error) {
    return { org, kind, rules: [], problems: [], error: describeError(error, 300) };
  }
}

/** The readiness check of one org's rules: their problems, or how many rules resolved. */
export async function accessRulesCheck(deps: AccessApiDeps, org: string, signal?: AbortSignal): Promise<{ ok: boolean; detail: string }> {
  const view = await orgAccess(deps, org, deps.config.orgs.find((o) => o.url === org)?.kind ?? "online", signal);
  if (view.error) return { ok: false, detail: `access rules not resolved: ${view.error}` };
  if (view.problems.length > 0) return { ok: false, detail: `${view.problems.length} access rule problem(s): ${view.problems[0]}` };
  return { ok: true, detail: `${view.rules.length} access rule(s) resolved` };
}
