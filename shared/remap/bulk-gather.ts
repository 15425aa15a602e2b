// Collects what a bulk plan needs with set queries: the users (by rule or by item), the directory objects
// of the new names, and who already holds those names or objects. Then plans (bulk-plan.ts).
import { anchorColumn, nameFormOf, recordAnchor, type OrgIdentity } from "../sync/identity.js";
import { isGuid, stringLiteral } from "../dataverse/odata.js";
import type { DataverseOrgPort, SystemUser } from "../dataverse/types.js";
import type { DirectoryPort } from "../directory/types.js";
import { USER_COLUMNS, findUsersByValues, notRemappableReason } from "./dataverse-lookup.js";
import { resolveNames } from "./directory-names.js";
import { nameProblem } from "./names.js";
import { buildPlan, rewriteByRule, type BulkRule, type PlanEntry, type PlanRequest, type UserRow } from "./bulk-plan.js";

export type BulkSelection = { items: ReadonlyArray<{ user: string; newDomainName: string }> } | { rule: BulkRule };

export interface GatherContext {
  port: DataverseOrgPort;
  directory: DirectoryPort;
  identity: OrgIdentity;
  abortSignal?: AbortSignal;
}

export async function planBulk(ctx: GatherContext, selection: BulkSelection): Promise<PlanEntry[]> {
  const requests = "rule" in selection ? await byRule(ctx, selection.rule) : await byItems(ctx, selection.items);
  const names = requests.map((r) => r.to).filter((n) => !nameProblem(n, nameFormOf(ctx.identity)));
  const resolved = await resolveNames(ctx.directory, names, ctx);
  const directory = new Map([...resolved].map(([k, v]) => [k, { objectId: v.objectId, name: v.name }]));
  const holdersByName = group(await findUsersByValues(ctx.port, "domainname", names, ctx), (r) => r.domainname);
  const anchor = anchorColumn(ctx.identity);
  const holdersByObject = group(await findUsersByValues(ctx.port, anchor, [...resolved.values()].map((r) => r.objectId), ctx), (r) => recordAnchor(r));
  return buildPlan({ requests, holdersByName, holdersByObject, directory, identity: nameFormOf(ctx.identity) });
}

async function byRule(ctx: GatherContext, rule: BulkRule): Promise<PlanRequest[]> {
  const filter = "fromSuffix" in rule
    ? `endswith(domainname,${stringLiteral(rule.fromSuffix)})`
    : `startswith(domainname,${stringLiteral(rule.fromPrefix)})`;
  const out: PlanRequest[] = [];
  for await (const page of ctx.port.listSystemUsers(USER_COLUMNS, { filter, abortSignal: ctx.abortSignal })) {
    for (const row of page) {
      const to = row.domainname ? rewriteByRule(row.domainname, rule) : null;
      if (to !== null) out.push({ user: row.domainname!, to, row: toRow(row) });
    }
  }
  return out.sort((a, b) => a.user.localeCompare(b.user));
}

async function byItems(ctx: GatherContext, items: ReadonlyArray<{ user: string; newDomainName: string }>): Promise<PlanRequest[]> {
  const ids = items.map((i) => i.user.trim()).filter(isGuid);
  const names = items.map((i) => i.user.trim()).filter((u) => !isGuid(u));
  const byId = new Map((await findUsersByValues(ctx.port, "systemuserid", ids, ctx)).map((r) => [r.systemuserid.toLowerCase(), r]));
  const byName = group(await findUsersByValues(ctx.port, "domainname", names, ctx), (r) => r.domainname);
  return items.map((item): PlanRequest => {
    const user = item.user.trim();
    const to = item.newDomainName.trim();
    if (isGuid(user)) {
      const row = byId.get(user.toLowerCase());
      return { user, to, row: row ? toRow(row) : null };
    }
    const rows = byName.get(user.toLowerCase()) ?? [];
    return rows.length > 1 ? { user, to, row: null, ambiguous: rows } : { user, to, row: rows[0] ?? null };
  });
}

function toRow(row: SystemUser): UserRow {
  const reason = notRemappableReason(row);
  return {
    systemUserId: row.systemuserid,
    domainName: row.domainname ?? null,
    objectId: recordAnchor(row),
    fullName: typeof row.fullname === "string" ? row.fullname : null,
    ...(reason ? { notRemappable: reason } : {}),
  };
}

function group(rows: SystemUser[], key: (r: SystemUser) => string | null | undefined): Map<string, UserRow[]> {
  const map = new Map<string, UserRow[]>();
  for (const r of rows) {
    const k = key(r)?.toLowerCase();
    if (!k) continue;
    const list = map.get(k) ?? [];
    list.push(toRow(r));
    map.set(k, list);
  }
  return map;
}
