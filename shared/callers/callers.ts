// Caller status (GET /api/callers) and onboarding (POST /api/callers/{id}/provision).
// Status: per caller and org, the application user (present, enabled, roles by name), last issuance and
// refusal seen by this instance, and every misconfiguration with its fix. Provisioning: creates the missing
// application user (root business unit) and associates the roles the entry names, nothing else; idempotent.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { TokenCaller } from "../config/token-callers.js";
import { isDataverseError } from "../dataverse/errors.js";
import { AppError, describeError, isAppError } from "../errors/app-error.js";
import type { LeaseStore } from "../state/leases.js";
import type { AppUser, AppUserPort } from "./app-users.js";
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
  /** One provisioning per (caller, org) at a time, across instances. */
  leases: Pick<LeaseStore, "acquire" | "release">;
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
    const provision = () => asProvisioningError(org, provisionOrg(caller, deps.appUsers(org), options.dryRun, result));
    const actions = options.dryRun ? await provision() : await underLease(deps.leases, `provision:${caller.id}:${org}`, provision);
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
  if (!user && dryRun) record({ org, action: "create_application_user", done: false });
  if (!user && !dryRun) {
    const created = await createOrFind(port, caller.dataverseAppId, businessUnit);
    if (created.created) record({ org, action: "create_application_user", done: true });
    user = created.user;
  }
  const held = new Set(user ? (await port.rolesOf(user.systemuserid)).map((r) => r.roleid) : []);
  for (const name of caller.roles) {
    const role = await port.findRole(name, businessUnit);
    if (!role) {
      result.problems.push({ org, cause: "role_not_found", detail: `${org} has no security role "${name}" in the application user's business unit.`, fix: "Create the role (a least-privilege custom role) in that business unit, or correct the name in TOKEN_CALLERS." });
      continue;
    }
    if (held.has(role.roleid)) continue;
    const assigned = !dryRun && user ? await assignUnlessHeld(port, user.systemuserid, role.roleid) : true;
    if (assigned) record({ org, action: "assign_role", role: role.name, done: !dryRun });
  }
  if (user?.isdisabled) {
    result.problems.push({ org, cause: "application_user_disabled", detail: "The application user is disabled; provisioning does not enable it.", fix: "Power Platform admin center > Application users > Activate." });
  }
  return actions;
}

/** Dataverse's answers when what we create already exists (DuplicateApplicationUser, DuplicateRecord, entity key). */
const ALREADY_EXISTS = new Set(["0x8004f511", "0x80040237", "0x80060892", "0x80073002"]);
const alreadyExists = (error: unknown) => isDataverseError(error) && (ALREADY_EXISTS.has((error.dataverseCode ?? "").toLowerCase()) || error.statusCode === 412);

/** Creates the application user; if another request created it first, reads that one instead. */
async function createOrFind(port: AppUserPort, appId: string, businessUnit: string): Promise<{ user: AppUser; created: boolean }> {
  try {
    return { user: { systemuserid: await port.createAppUser(appId, businessUnit), isdisabled: false, businessunitid: businessUnit }, created: true };
  } catch (error) {
    const existing = alreadyExists(error) ? await port.findAppUser(appId) : null;
    if (!existing) throw error;
    return { user: existing, created: false };
  }
}

/** Associates the role; false when it was already associated (by a concurrent request). */
async function assignUnlessHeld(port: AppUserPort, systemuserid: string, roleid: string): Promise<boolean> {
  try {
    await port.assignRole(systemuserid, roleid);
    return true;
  } catch (error) {
    if (alreadyExists(error)) return false;
    throw error;
  }
}

const PROVISION_LEASE_MS = 60_000;
/** How long a request waits for another provisioning of the same caller and org before answering 409. */
const PROVISION_WAIT_MS = 20_000;

/** Runs `work` holding the (caller, org) lease; waits for a concurrent holder (then re-reads), or 409. */
async function underLease<T>(leases: CallersDeps["leases"], key: string, work: () => Promise<T>): Promise<T> {
  const holder = randomUUID();
  const deadline = Date.now() + PROVISION_WAIT_MS;
  for (let delay = 100; !(await leases.acquire(key, holder, PROVISION_LEASE_MS, "provisioning")).acquired; delay = Math.min(delay * 2, 1_000)) {
    if (Date.now() + delay > deadline) throw new AppError("Another request is provisioning this caller in this org; try again shortly.", 409, "provisioning_in_progress");
    await sleep(delay);
  }
  try {
    return await work();
  } finally {
    await leases.release(key, holder).catch(() => undefined);
  }
}

/** A failed provisioning is the org's answer, never a 500: a conflict is 409, anything else from the org 502. */
async function asProvisioningError<T>(org: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    // Dataverse's own errors are AppErrors too: only the bridge's own refusals pass through unchanged.
    if (isAppError(error) && !isDataverseError(error)) throw error;
    const detail = describeError(error, 300);
    if (alreadyExists(error) || (isDataverseError(error) && error.statusCode === 409)) {
      throw new AppError(`${org} refused a change as conflicting with one made meanwhile; try again: ${detail}`, 409, "provisioning_conflict");
    }
    throw new AppError(`${org} refused or failed the provisioning: ${detail}`, 502, "dataverse_error");
  }
}
