// Caller status (GET /api/callers) and onboarding (POST /api/callers/{id}/provision), contract §2 and §5.
// Status: per caller and org, the application user (present, enabled, roles by name), last issuance and
// refusal seen by this instance, and every misconfiguration with its fix. Provisioning: creates the missing
// application user (root business unit) and associates the roles the entry names, nothing else; idempotent.
import type { TokenCaller } from "../config/token-callers.js";
import { AppError, describeError } from "../errors/app-error.js";
import type { AppUserPort } from "./app-users.js";
import { diagnoseAppUser, diagnoseIdentityError, type IdentityContext, type Misconfiguration } from "./diagnose.js";

export interface CallerActivity {
  lastIssuance?: { at: string; org: string };
  lastRefusal?: { at: string; error: string; reason?: string };
}

export interface CallersDeps {
  callers: TokenCaller[];
  appUsers: (org: string) => AppUserPort;
  /** Signs in as the caller's app for the org (no token is kept or shown). */
  checkIdentity: (caller: TokenCaller, org: string) => Promise<void>;
  identityContext: () => Promise<IdentityContext>;
  activity: (callerId: string) => CallerActivity;
  provisioningEnabled: boolean;
  audit: (entry: { caller: string; org: string; actions: string[]; by: string }) => Promise<void>;
}

export interface OrgStatus {
  org: string;
  applicationUser: { present: boolean; enabled?: boolean; systemuserid?: string; roles?: string[] };
  identity: "ok" | "failed";
  problems: Misconfiguration[];
}

export async function callerStatuses(deps: CallersDeps): Promise<Array<Record<string, unknown>>> {
  const ctx = await deps.identityContext();
  return Promise.all(deps.callers.map(async (caller) => {
    const orgs = await Promise.all(caller.resources.map((org) => orgStatus(caller, org, ctx, deps)));
    return {
      id: caller.id, name: caller.name, auth: caller.auth, disabled: caller.disabled, dataverseAppId: caller.dataverseAppId,
      credential: caller.credential === "federated" ? "federated" : "secret", roles: caller.roles,
      ...deps.activity(caller.id), orgs, healthy: orgs.every((o) => o.problems.length === 0),
    };
  }));
}

async function orgStatus(caller: TokenCaller, org: string, ctx: IdentityContext, deps: CallersDeps): Promise<OrgStatus> {
  const problems: Misconfiguration[] = [];
  let identity: OrgStatus["identity"] = "ok";
  await deps.checkIdentity(caller, org).catch((error: unknown) => {
    identity = "failed";
    problems.push(diagnoseIdentityError(caller, error, ctx));
  });
  try {
    const port = deps.appUsers(org);
    const user = await port.findAppUser(caller.dataverseAppId);
    const roleNames = user ? (await port.rolesOf(user.systemuserid)).map((r) => r.name).sort() : [];
    problems.push(...diagnoseAppUser(caller, org, { user, roleNames }));
    return {
      org, identity, problems,
      applicationUser: user ? { present: true, enabled: !user.isdisabled, systemuserid: user.systemuserid, roles: roleNames } : { present: false },
    };
  } catch (error) {
    problems.push({ cause: "org_unreachable", detail: `Reading ${org} as the bridge failed: ${describeError(error, 300)}`, fix: "Check GET /api/ready for this org." });
    return { org, identity, problems, applicationUser: { present: false } };
  }
}

export interface ProvisionAction {
  org: string;
  action: "create_application_user" | "assign_role";
  role?: string;
  /** false in a dry run. */
  done: boolean;
}

export interface ProvisionResult {
  caller: string;
  dryRun: boolean;
  changed: boolean;
  actions: ProvisionAction[];
  problems: Array<Misconfiguration & { org: string }>;
}

export async function provisionCaller(id: string, options: { dryRun: boolean; by: string }, deps: CallersDeps): Promise<ProvisionResult> {
  if (!deps.provisioningEnabled) {
    throw new AppError("Caller provisioning is off. Set CALLER_PROVISIONING=on, or create the application user by hand (docs/callers.md).", 409, "caller_provisioning_off");
  }
  const caller = deps.callers.find((c) => c.id === id);
  if (!caller) throw new AppError(`No caller "${id.slice(0, 128)}" in TOKEN_CALLERS.`, 404, "unknown_caller");
  const result: ProvisionResult = { caller: caller.id, dryRun: options.dryRun, changed: false, actions: [], problems: [] };
  for (const org of caller.resources) {
    const actions = await provisionOrg(caller, deps.appUsers(org), options.dryRun, result);
    if (actions.length > 0 && !options.dryRun) {
      result.changed = true;
      await deps.audit({ caller: caller.id, org, by: options.by, actions: actions.map((a) => (a.role ? `${a.action}:${a.role}` : a.action)) });
    }
  }
  return result;
}

/** One org: the application user, then each named role that it lacks. Never removes or touches other roles. */
async function provisionOrg(caller: TokenCaller, port: AppUserPort, dryRun: boolean, result: ProvisionResult): Promise<ProvisionAction[]> {
  const org = port.orgUrl;
  const actions: ProvisionAction[] = [];
  const record = (action: ProvisionAction) => { actions.push(action); result.actions.push(action); };
  let user = await port.findAppUser(caller.dataverseAppId);
  const businessUnit = user?.businessunitid || await port.rootBusinessUnit();
  if (!user) {
    const systemuserid = dryRun ? undefined : await port.createAppUser(caller.dataverseAppId, businessUnit);
    record({ org, action: "create_application_user", done: !dryRun });
    user = systemuserid ? { systemuserid, isdisabled: false, businessunitid: businessUnit } : null;
  }
  const held = new Set(user ? (await port.rolesOf(user.systemuserid)).map((r) => r.roleid) : []);
  for (const name of caller.roles) {
    const role = await port.findRole(name, businessUnit);
    if (!role) {
      result.problems.push({ org, cause: "role_not_found", detail: `${org} has no security role "${name}" in the application user's business unit.`, fix: "Create the role (a least-privilege custom role) in that business unit, or correct the name in TOKEN_CALLERS." });
      continue;
    }
    if (held.has(role.roleid)) continue;
    if (!dryRun && user) await port.assignRole(user.systemuserid, role.roleid);
    record({ org, action: "assign_role", role: role.name, done: !dryRun });
  }
  if (user?.isdisabled) {
    result.problems.push({ org, cause: "application_user_disabled", detail: "The application user is disabled; provisioning does not enable it.", fix: "Power Platform admin center > Application users > Activate." });
  }
  return actions;
}
