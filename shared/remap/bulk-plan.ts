// Pure planning of a bulk remap: each requested user, its old and new name, the directory object the new
// name belongs to, and every conflict that would stop it. No I/O: bulk-gather.ts collects the facts.
import type { SyncIdentity } from "../sync/domain.js";
import { nameProblem, sameId, sameName } from "./names.js";

export type BulkRule = { fromSuffix: string; toSuffix: string } | { fromPrefix: string; toPrefix: string };

export interface UserRow {
  systemUserId: string;
  domainName: string | null;
  objectId: string | null;
  fullName: string | null;
  /** Why it must never be remapped (application user, support user…), if so. */
  notRemappable?: string;
}

export type ConflictCode =
  | "user_not_found" | "ambiguous_user" | "not_remappable" | "invalid_name" | "not_in_directory"
  | "name_taken" | "object_taken" | "duplicate_user" | "duplicate_target";

export interface PlanConflict {
  code: ConflictCode;
  message: string;
  systemUserId?: string;
  domainName?: string | null;
}

export interface PlanEntry {
  user: string;
  systemUserId: string | null;
  from: string | null;
  to: string;
  objectId: string | null;
  /** remap: will run; none: already on the new name; skip: a conflict stops it. */
  action: "remap" | "none" | "skip";
  conflicts: PlanConflict[];
}

export interface PlanRequest {
  user: string;
  to: string;
  row: UserRow | null;
  /** Several rows hold the requested name. */
  ambiguous?: UserRow[];
}

export interface PlanFacts {
  requests: readonly PlanRequest[];
  /** lower-cased domainname → rows holding it. */
  holdersByName: ReadonlyMap<string, readonly UserRow[]>;
  /** lower-cased object id → rows linked to it. */
  holdersByObject: ReadonlyMap<string, readonly UserRow[]>;
  /** lower-cased name → its directory object (names not in the directory are absent). */
  directory: ReadonlyMap<string, { objectId: string; name: string }>;
  identity: SyncIdentity;
}

/** The new name under a rule, or null when the rule does not apply to `name`. Matching ignores case. */
export function rewriteByRule(name: string, rule: BulkRule): string | null {
  if ("fromSuffix" in rule) {
    if (!name.toLowerCase().endsWith(rule.fromSuffix.toLowerCase())) return null;
    return name.slice(0, name.length - rule.fromSuffix.length) + rule.toSuffix;
  }
  if (!name.toLowerCase().startsWith(rule.fromPrefix.toLowerCase())) return null;
  return rule.toPrefix + name.slice(rule.fromPrefix.length);
}

export function buildPlan(facts: PlanFacts): PlanEntry[] {
  const targets = new Map<string, number>();
  for (const r of facts.requests) targets.set(r.to.toLowerCase(), (targets.get(r.to.toLowerCase()) ?? 0) + 1);
  const seenUsers = new Set<string>();

  return facts.requests.map((request): PlanEntry => {
    const { row } = request;
    const conflicts: PlanConflict[] = [];
    const target = facts.directory.get(request.to.toLowerCase()) ?? null;
    const entry = (action: PlanEntry["action"]): PlanEntry => ({
      user: request.user,
      systemUserId: row?.systemUserId ?? null,
      from: row?.domainName ?? null,
      to: target?.name ?? request.to,
      objectId: target?.objectId ?? null,
      action,
      conflicts,
    });

    if (request.ambiguous && request.ambiguous.length > 1) {
      conflicts.push({ code: "ambiguous_user", message: `${request.ambiguous.length} Dataverse users hold "${request.user}"; name one by systemuserid.` });
      return entry("skip");
    }
    if (!row) {
      conflicts.push({ code: "user_not_found", message: `No Dataverse user "${request.user}".` });
      return entry("skip");
    }
    const self = row.systemUserId.toLowerCase();
    if (seenUsers.has(self)) conflicts.push({ code: "duplicate_user", message: "The same user appears earlier in this plan.", systemUserId: row.systemUserId });
    seenUsers.add(self);
    if (row.notRemappable) conflicts.push({ code: "not_remappable", message: `It cannot be remapped: ${row.notRemappable}.`, systemUserId: row.systemUserId });

    const problem = nameProblem(request.to, facts.identity);
    if (problem) {
      conflicts.push({ code: "invalid_name", message: `"${request.to}" ${problem}.` });
      return entry("skip");
    }
    if (!target) conflicts.push({ code: "not_in_directory", message: `"${request.to}" is not a user in the directory.` });
    if ((targets.get(request.to.toLowerCase()) ?? 0) > 1) conflicts.push({ code: "duplicate_target", message: `Several users in this plan would get "${request.to}".` });

    for (const other of facts.holdersByName.get(request.to.toLowerCase()) ?? []) {
      if (other.systemUserId.toLowerCase() === self) continue;
      conflicts.push({ code: "name_taken", message: `Dataverse user ${other.systemUserId} already holds "${request.to}".`, systemUserId: other.systemUserId, domainName: other.domainName });
    }
    if (target) {
      for (const other of facts.holdersByObject.get(target.objectId.toLowerCase()) ?? []) {
        if (other.systemUserId.toLowerCase() === self) continue;
        conflicts.push({
          code: "object_taken",
          message: `Dataverse user ${other.systemUserId} (${other.domainName ?? "no user name"}) is already linked to the directory object of "${request.to}".`,
          systemUserId: other.systemUserId,
          domainName: other.domainName,
        });
      }
    }
    if (conflicts.length > 0) return entry("skip");
    if (target && sameName(row.domainName, target.name) && sameId(row.objectId, target.objectId)) return entry("none");
    return entry("remap");
  });
}
