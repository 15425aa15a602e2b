// What `bridge access` (every org's ACCESS_RULES resolved, or each rule's problem with its fix) and `bridge user <id>`
// (the directory user beside each org's record, what a sync would do, and their access beside what the rules
// would change) print; the commands are in commands/admin.ts.
import type { Access, UserLookup } from "../client/admin-api.js";
import { accessChangeText } from "../client/people.js";

type Named = { name?: string; id?: string; problem?: string };

const named = (n: Named) => (n.problem ? `${n.name ?? "?"} — PROBLEM: ${n.problem}` : `${n.name ?? "(not managed by a rule)"}${n.id ? ` [${n.id}]` : ""}`);
const namedList = (list: readonly Named[]) => (list.length === 0 ? "none" : list.map(named).join("; "));

export function accessLines(access: Access): string[] {
  const lines = [`removal threshold: ${access.removalThreshold}   licence SKUs: ${access.licenseSkus.join(", ") || "all users"}`];
  for (const org of access.orgs) {
    lines.push(`${org.org}${org.kind === "online" ? "" : ` (${org.kind})`}`);
    if (org.error) lines.push(`  could not be read (rules unknown, not wrong): ${org.error}`);
    else if (org.rules.length === 0) lines.push("  no access rule applies");
    for (const rule of org.rules) {
      const group = rule.group.problem ? `${rule.group.id} — PROBLEM: ${rule.group.problem}` : `${rule.group.name ?? rule.group.id} (${rule.group.members ?? "?"} direct members) [${rule.group.id}]`;
      lines.push(`  rule ${rule.index}  ${rule.status}  group: ${group}`,
        `    business unit: ${rule.businessUnit ? named(rule.businessUnit) : "not set (stays put)"}`,
        `    roles: ${namedList(rule.roles)}`,
        `    teams: ${namedList(rule.teams)}`);
    }
    if (org.problems.length) lines.push(`  ${org.problems.length} problem(s); a rule with a problem never takes access away:`, ...org.problems.map((p) => `    - ${p}`));
  }
  return lines;
}

export function userLines(lookup: UserLookup): string[] {
  const lines = [`${lookup.user.userPrincipalName ?? lookup.user.id}${lookup.user.found ? "" : " (not in the directory)"}  [${lookup.user.id}]`];
  for (const org of lookup.orgs) {
    const record = org.records[0] as Record<string, unknown> | undefined;
    lines.push(`${org.org}`, `  record: ${record ? `${String(record.domainname ?? "")} [${String(record.systemuserid ?? "")}]${record.isdisabled ? " disabled" : ""}` : "none"}`, `  a sync would: ${org.planned.action}`);
    const access = org.access;
    if (!access) continue;
    if (access.current) {
      lines.push(`  business unit: ${named(access.current.businessUnit)}`, `  roles: ${namedList(access.current.roles)}`, `  teams: ${namedList(access.current.teams)}`);
    } else lines.push("  access: no enabled record whose access the bridge manages");
    lines.push(`  matches: ${access.matchedRules.length ? `rules ${access.matchedRules.join(", ")}` : "no rule"}`,
      `  the rules would change: ${access.planned ? accessChangeText(access.planned) : "nothing"}`);
    if (access.problems.length) lines.push(`  ${access.problems.length} rule problem(s) in this org: bridge access`);
  }
  return lines;
}
