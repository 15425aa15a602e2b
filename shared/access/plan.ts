// Plans one user's access in one org from the access rules (pure: no I/O), beside the sync's planner.
//
// - Managed set: the roles and teams named by any of the org's rules; nothing outside it is ever added or removed.
// - Business unit: the first matching rule (in order) that names one decides; a user matching none stays put.
// - Roles: exactly the union of the matched rules' roles, each the copy of the user's (new) unit.
// - Teams: exactly the matched rules' owner teams.
// - A move drops every role (the platform does it), so the plan re-adds the managed roles in the new unit and names
//   the unmanaged roles the move costs.
// - A rule that did not resolve never causes a removal: a user matching it keeps what it would manage (and is not
//   moved by it), and the roles and teams of a rule whose group is unknown are kept for everyone.
// Roles compare by name (case-insensitively: Dataverse keeps one copy per unit under the same name), teams by id.

export interface ModelRule {
  /** The Entra group's object id (lower-cased). */
  group: string;
  /** "unknown-group": nobody is known to match it; "partial": something it names did not resolve. */
  status: "ok" | "partial" | "unknown-group";
  /** The named unit's id; null when named but not resolved; undefined when the rule names none. */
  businessUnitId?: string | null;
  /** Lower-cased role names. */
  roles: readonly string[];
  /** Ids of the owner teams it names that resolved. */
  teamIds: readonly string[];
}

/** One org's resolved rules and the names the report shows. */
export interface AccessModel {
  rootUnitId: string;
  rules: readonly ModelRule[];
  /** Lower-cased role name → unit id → role id, for the roles the rules name. */
  roleIds: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Lower-cased role name → display name. */
  roleNames: ReadonlyMap<string, string>;
  unitNames: ReadonlyMap<string, string>;
  teamNames: ReadonlyMap<string, string>;
}

export interface HeldRole {
  id: string;
  name: string;
}

/** A user's access as Dataverse holds it. */
export interface UserAccess {
  businessUnitId: string;
  roles: readonly HeldRole[];
  /** Ids of the teams the user is a member of (any type). */
  teamIds: readonly string[];
}

/** The report's view of a change (names). */
export interface AccessChange {
  businessUnit?: { old: string; new: string };
  rolesAdded: string[];
  rolesRemoved: string[];
  teamsAdded: string[];
  teamsRemoved: string[];
  rolesLostInMove?: string[];
}

/** What to write, in order: the move, then roles, then teams. Ids throughout. */
export interface AccessPlan {
  moveTo?: string;
  addRoles: string[];
  removeRoles: string[];
  addTeams: string[];
  removeTeams: string[];
  change: AccessChange;
  /**
   * Managed roles and team memberships taken away: the removal threshold's count. The unmanaged roles a move costs
   * are named in `change.rolesLostInMove` but not counted: the threshold weighs what the rules take away.
   */
  removals: number;
}

const key = (name: string) => name.trim().toLowerCase();

/** Names and ids the rules matched by `groups` (direct memberships, lower-cased ids) give, and what they keep. */
interface Targets {
  unitId: string;
  roleNames: Set<string>;
  teamIds: Set<string>;
  keptRoleNames: Set<string>;
  keptTeamIds: Set<string>;
}

function targetsOf(model: AccessModel, groups: ReadonlySet<string>, current: UserAccess): Targets {
  const t: Targets = { unitId: current.businessUnitId, roleNames: new Set(), teamIds: new Set(), keptRoleNames: new Set(), keptTeamIds: new Set() };
  let unitDecided = false;
  for (const rule of model.rules) {
    const matched = rule.status !== "unknown-group" && groups.has(rule.group);
    if (rule.status !== "ok" && (matched || rule.status === "unknown-group")) {
      for (const role of rule.roles) t.keptRoleNames.add(role);
      for (const team of rule.teamIds) t.keptTeamIds.add(team);
    }
    if (!matched) continue;
    if (!unitDecided && rule.businessUnitId !== undefined) {
      unitDecided = true;
      if (rule.businessUnitId !== null) t.unitId = rule.businessUnitId;
    }
    for (const role of rule.roles) t.roleNames.add(role);
    for (const team of rule.teamIds) t.teamIds.add(team);
  }
  return t;
}

/** The managed role and team sets of the org. */
export function managedSets(model: AccessModel): { roleNames: Set<string>; teamIds: Set<string> } {
  return { roleNames: new Set(model.rules.flatMap((r) => r.roles)), teamIds: new Set(model.rules.flatMap((r) => r.teamIds)) };
}

/** The plan for one user; undefined when their access is already what the rules say. */
export function planAccess(model: AccessModel, groups: ReadonlySet<string>, current: UserAccess): AccessPlan | undefined {
  const managed = managedSets(model);
  const t = targetsOf(model, groups, current);
  const moving = t.unitId !== current.businessUnitId;
  const held = new Map(current.roles.map((r) => [key(r.name), r]));
  // Managed roles held under a rule that did not resolve stay, and follow a move into the new unit.
  const wantedNames = new Set([...t.roleNames, ...[...held.keys()].filter((n) => managed.roleNames.has(n) && t.keptRoleNames.has(n))]);
  const roleIn = (name: string) => model.roleIds.get(name)?.get(t.unitId);
  const addRoles = [...wantedNames].filter((n) => moving || !held.has(n)).flatMap((n) => roleIn(n) ?? []);
  const removeRoles = moving ? [] : [...held].filter(([n]) => managed.roleNames.has(n) && !wantedNames.has(n)).map(([, r]) => r.id);
  const teams = new Set(current.teamIds);
  const addTeams = [...t.teamIds].filter((id) => !teams.has(id));
  const removeTeams = current.teamIds.filter((id) => managed.teamIds.has(id) && !t.teamIds.has(id) && !t.keptTeamIds.has(id));
  if (!moving && addRoles.length + removeRoles.length + addTeams.length + removeTeams.length === 0) return undefined;
  const change = describe(model, current, { moving, unitId: t.unitId, held, addRoles, removeRoles, managed: managed.roleNames, addTeams, removeTeams });
  const removals = change.rolesRemoved.length + change.teamsRemoved.length;
  return { ...(moving ? { moveTo: t.unitId } : {}), addRoles, removeRoles, addTeams, removeTeams, change, removals };
}

interface Outcome {
  moving: boolean;
  unitId: string;
  held: Map<string, HeldRole>;
  addRoles: string[];
  removeRoles: string[];
  managed: Set<string>;
  addTeams: string[];
  removeTeams: string[];
}

/** The change by name: roles compare by name, so a managed role re-added after a move is no change. */
function describe(model: AccessModel, current: UserAccess, o: Outcome): AccessChange {
  const nameOfRoleId = new Map<string, string>();
  for (const [name, copies] of model.roleIds) for (const id of copies.values()) nameOfRoleId.set(id, name);
  const kept = o.moving ? [] : [...o.held].filter(([, r]) => !o.removeRoles.includes(r.id)).map(([n]) => n);
  const after = new Set([...kept, ...o.addRoles.map((id) => nameOfRoleId.get(id)!)]);
  const removedNames = [...o.held.keys()].filter((n) => !after.has(n));
  const display = (n: string) => model.roleNames.get(n) ?? o.held.get(n)?.name ?? n;
  const team = (id: string) => model.teamNames.get(id) ?? id;
  const unit = (id: string) => model.unitNames.get(id) ?? id;
  const change: AccessChange = {
    rolesAdded: [...after].filter((n) => !o.held.has(n)).map(display),
    rolesRemoved: removedNames.filter((n) => o.managed.has(n)).map(display),
    teamsAdded: o.addTeams.map(team),
    teamsRemoved: o.removeTeams.map(team),
  };
  if (o.moving) {
    change.businessUnit = { old: unit(current.businessUnitId), new: unit(o.unitId) };
    change.rolesLostInMove = removedNames.filter((n) => !o.managed.has(n)).map(display);
  }
  return change;
}

/** The user's access once `plan` is applied (what the platform does: a move drops every role first). */
export function applyAccessPlan(model: AccessModel, current: UserAccess, plan: AccessPlan | undefined): UserAccess {
  if (!plan) return current;
  const nameOfRoleId = new Map<string, string>();
  for (const [name, copies] of model.roleIds) for (const id of copies.values()) nameOfRoleId.set(id, model.roleNames.get(name) ?? name);
  const kept = plan.moveTo ? [] : current.roles.filter((r) => !plan.removeRoles.includes(r.id));
  const roles = [...kept, ...plan.addRoles.map((id) => ({ id, name: nameOfRoleId.get(id)! }))];
  const teamIds = [...current.teamIds.filter((id) => !plan.removeTeams.includes(id)), ...plan.addTeams];
  return { businessUnitId: plan.moveTo ?? current.businessUnitId, roles, teamIds };
}

/** True when the change shows anything (a user whose only change is access gets a report entry). */
export function isAccessChange(change: AccessChange): boolean {
  return change.businessUnit !== undefined || change.rolesAdded.length + change.rolesRemoved.length + change.teamsAdded.length + change.teamsRemoved.length > 0 || (change.rolesLostInMove?.length ?? 0) > 0;
}
