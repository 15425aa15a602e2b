// Resolves one org's access rules: each group in the directory, and the business unit, role (each unit's copy) and
// team names in the org. What does not resolve is a named problem with its fix: shown by GET /api/access and
// /api/ready, reported in a run's errors, and never a reason to take access away (the planner keeps what such a
// rule names).
import type { AccessRule } from "../config/access-rules.js";
import type { AccessOrgPort, BusinessUnit, RoleCopy, Team } from "./dataverse-access.js";
import type { AccessModel, ModelRule } from "./plan.js";

export interface ResolvedName {
  name: string;
  id?: string;
  problem?: string;
}

export interface RuleResolution {
  /** Position in ACCESS_RULES. */
  index: number;
  group: { id: string; name: string | null; members: number | null; problem?: string };
  businessUnit?: ResolvedName;
  /** Roles with their copy in the rule's unit (or the root unit when the rule names none). */
  roles: ResolvedName[];
  teams: ResolvedName[];
  status: ModelRule["status"];
  problems: string[];
}

export interface OrgAccessResolution {
  org: string;
  rules: RuleResolution[];
  /** Every rule problem, one sentence each. */
  problems: string[];
  model: AccessModel;
}

/** What resolution reads from the directory: the group (null when it does not exist) and its direct members. */
export interface GroupFacts {
  name: string | null;
  members: number | null;
}

export type GroupLookup = (groupId: string) => Promise<GroupFacts | null>;

/** The org's units and the role copies and teams the rules name. */
export interface OrgFacts {
  units: BusinessUnit[];
  roles: Map<string, RoleCopy[]>;
  teams: Map<string, Team[]>;
}

const key = (name: string) => name.trim().toLowerCase();
const TEAM_TYPES: Record<number, string> = { 1: "an access team", 2: "a Microsoft Entra ID security group team", 3: "a Microsoft Entra ID Office group team" };

/**
 * Resolves `rules` (the org's, in order; `indexOf` gives each one's position in ACCESS_RULES). `read`: the org's
 * facts when the caller started reading them already (beside its directory reads).
 */
export async function resolveOrgAccess(org: AccessOrgPort, rules: readonly AccessRule[], indexOf: (rule: AccessRule) => number, groups: GroupLookup, signal?: AbortSignal, read?: Promise<OrgFacts>): Promise<OrgAccessResolution> {
  const facts = await (read ?? readOrgFacts(org, rules, signal));
  const root = facts.units.find((u) => u.parentId === null);
  if (!root) throw new Error(`${org.orgUrl} has no root business unit`);
  const resolved: RuleResolution[] = [];
  for (const rule of rules) resolved.push(resolveRule(rule, indexOf(rule), await groups(rule.group), facts, root));
  return { org: org.orgUrl, rules: resolved, problems: resolved.flatMap((r) => r.problems), model: modelOf(rules, resolved, facts, root.id) };
}

export async function readOrgFacts(org: AccessOrgPort, rules: readonly AccessRule[], signal?: AbortSignal): Promise<OrgFacts> {
  const roleNames = [...new Map(rules.flatMap((r) => r.roles).map((n) => [key(n), n])).values()];
  const teamNames = [...new Map(rules.flatMap((r) => r.teams).map((n) => [key(n), n])).values()];
  // Three reads in all (more only past 20 role or team names): every role and team name in one query each.
  const [units, roles, teams] = await Promise.all([
    org.listBusinessUnits(signal),
    roleNames.length > 0 ? org.findRoles(roleNames, signal) : [],
    teamNames.length > 0 ? org.findTeams(teamNames, signal) : [],
  ]);
  const byName = <T extends { name: string }>(rows: readonly T[], wanted: readonly string[]) =>
    new Map(wanted.map((n) => [key(n), rows.filter((r) => key(r.name) === key(n))] as const));
  return { units, roles: byName(roles, roleNames), teams: byName(teams, teamNames) };
}

function resolveRule(rule: AccessRule, index: number, group: GroupFacts | null, facts: OrgFacts, root: BusinessUnit): RuleResolution {
  const at = `ACCESS_RULES[${index}]`;
  const problems: string[] = [];
  const groupView: RuleResolution["group"] = { id: rule.group, name: group?.name ?? null, members: group?.members ?? null };
  if (!group) problems.push(groupView.problem = `${at}: group ${rule.group} was not found in the directory; fix the group's object id (or grant the bridge's app GroupMember.Read.All)`);
  const businessUnit = rule.businessUnit === undefined ? undefined : resolveUnit(rule.businessUnit, facts.units, at);
  const unit = businessUnit ? facts.units.find((u) => u.id === businessUnit.id) : root;
  const roles = rule.roles.map((name) => resolveRole(name, facts.roles.get(key(name)) ?? [], unit, at));
  const teams = rule.teams.map((name) => resolveTeam(name, facts.teams.get(key(name)) ?? [], at));
  for (const named of [businessUnit, ...roles, ...teams]) if (named?.problem) problems.push(named.problem);
  const status: ModelRule["status"] = !group ? "unknown-group" : problems.length > 0 ? "partial" : "ok";
  return { index, group: groupView, ...(businessUnit ? { businessUnit } : {}), roles, teams, status, problems };
}

function resolveUnit(name: string, units: readonly BusinessUnit[], at: string): ResolvedName {
  const found = units.filter((u) => key(u.name) === key(name));
  if (found.length === 1) return { name, id: found[0]!.id };
  if (found.length === 0) return { name, problem: `${at}: business unit "${name}" does not exist; create it or fix the name in ACCESS_RULES` };
  return { name, problem: `${at}: ${found.length} business units are named "${name}"; rename all but one so the rule names one unit` };
}

/** The role's copy in `unit` (undefined when the rule's own unit did not resolve: nothing to check it in). */
function resolveRole(name: string, copies: readonly RoleCopy[], unit: BusinessUnit | undefined, at: string): ResolvedName {
  if (copies.length === 0) return { name, problem: `${at}: security role "${name}" does not exist; create it in the root business unit (the platform copies it into every unit) or fix the name` };
  if (!unit) return { name };
  const copy = copies.find((c) => c.businessUnitId === unit.id);
  if (copy) return { name, id: copy.id };
  return { name, problem: `${at}: security role "${name}" has no copy in business unit "${unit.name}"; create the role in the root business unit (copies reach every unit) or in "${unit.name}"` };
}

function resolveTeam(name: string, teams: readonly Team[], at: string): ResolvedName {
  if (teams.length === 0) return { name, problem: `${at}: team "${name}" does not exist; create an owner team with that name or fix the name` };
  if (teams.length > 1) return { name, problem: `${at}: ${teams.length} teams are named "${name}"; rename all but one so the rule names one team` };
  const team = teams[0]!;
  if (team.isDefault) return { name, problem: `${at}: team "${name}" is a business unit's default team, whose members the platform keeps; name an owner team` };
  const kind = TEAM_TYPES[team.teamType];
  if (kind) return { name, problem: `${at}: team "${name}" is ${kind}, whose members the platform keeps; name an owner team (team type Owner)` };
  return { name, id: team.id };
}

function modelOf(rules: readonly AccessRule[], resolved: readonly RuleResolution[], facts: OrgFacts, rootUnitId: string): AccessModel {
  const roleIds = new Map<string, Map<string, string>>();
  for (const [name, copies] of facts.roles) roleIds.set(name, new Map(copies.map((c) => [c.businessUnitId, c.id])));
  const roleNames = new Map(rules.flatMap((r) => r.roles).map((n) => [key(n), n]));
  const teamNames = new Map(resolved.flatMap((r) => r.teams.flatMap((t) => (t.id ? [[t.id, t.name] as const] : []))));
  const modelRules: ModelRule[] = rules.map((rule, i) => {
    const r = resolved[i]!;
    return {
      group: rule.group,
      status: r.status,
      ...(r.businessUnit ? { businessUnitId: r.businessUnit.id ?? null } : {}),
      roles: rule.roles.map(key),
      teamIds: r.teams.flatMap((t) => (t.id ? [t.id] : [])),
    };
  });
  return { rootUnitId, rules: modelRules, roleIds, roleNames, unitNames: new Map(facts.units.map((u) => [u.id, u.name])), teamNames };
}
