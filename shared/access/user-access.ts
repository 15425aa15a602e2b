// One user's access in one org, as GET /api/users/{objectIdOrUpn} shows it: the business unit, roles and teams
// Dataverse holds now, the rules the user's direct group memberships match, and what those rules would change.
// Reads only: the same resolution and planner as a run, so the preview is what a run would do.
import type { DirectoryPort } from "../directory/types.js";
import { objectIdKey } from "../sync/user-index.js";
import type { AccessOrgPort } from "./dataverse-access.js";
import { planAccess, type AccessChange, type AccessModel } from "./plan.js";
import { loadOrgAccess, type MemberSource, type OrgAccessSettings } from "./run-access.js";

export interface NamedId {
  id: string;
  /** Absent for a team no rule names (only managed teams' names are read). */
  name?: string;
}

export interface UserAccessPreview {
  /** What Dataverse holds now; null when the record is missing, disabled or never touched (application user). */
  current: { businessUnit: NamedId; roles: NamedId[]; teams: NamedId[] } | null;
  /** Positions in ACCESS_RULES of the rules whose group the user is a direct member of. */
  matchedRules: number[];
  /** What the rules would change; null when nothing (access already right, or no record to change). */
  planned: AccessChange | null;
  /** The org's rule problems (a rule with a problem never takes access away). */
  problems: string[];
}

/** The preview for one user's record (systemuserid) and directory object id. Writes nothing. */
export async function previewUserAccess(
  settings: OrgAccessSettings,
  deps: { directory: Pick<DirectoryPort, "getGroup" | "listGroupMemberIds">; access: AccessOrgPort; members?: MemberSource },
  user: { systemUserId: string; objectId: string },
  signal?: AbortSignal,
): Promise<UserAccessPreview> {
  const { resolution, memberships } = await loadOrgAccess(settings, deps, signal, deps.members);
  const groups = memberships.get(objectIdKey(user.objectId)) ?? new Set<string>();
  const matchedRules = settings.rules.filter(({ rule }) => groups.has(rule.group)).map(({ index }) => index);
  const current = (await deps.access.readAccess([user.systemUserId], signal)).get(user.systemUserId.toLowerCase());
  if (!current || current.disabled || current.protected) return { current: null, matchedRules, planned: null, problems: resolution.problems };
  const plan = planAccess(resolution.model, groups, current);
  return { current: namedAccess(resolution.model, current), matchedRules, planned: plan?.change ?? null, problems: resolution.problems };
}

function namedAccess(model: AccessModel, current: { businessUnitId: string; roles: ReadonlyArray<{ id: string; name: string }>; teamIds: readonly string[] }): NonNullable<UserAccessPreview["current"]> {
  const named = (id: string, name: string | undefined): NamedId => (name === undefined ? { id } : { id, name });
  return {
    businessUnit: named(current.businessUnitId, model.unitNames.get(current.businessUnitId)),
    roles: current.roles.map((r) => ({ id: r.id, name: r.name })),
    teams: current.teamIds.map((id) => named(id, model.teamNames.get(id))),
  };
}
