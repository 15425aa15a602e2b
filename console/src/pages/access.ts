// Access: every ACCESS_RULES rule resolved per org (GET /api/access) — the Entra group by name with its direct
// member count, the business unit, roles (the copy in the rule's unit) and owner teams with their ids — or the
// problem that stops each, with its fix. A deployment without the route says so.
import { ApiError, type Access } from "../../../client/admin-api.js";
import { namedId, namedList } from "../access-view.js";
import { facts, h, replace, table } from "../dom.js";
import type { PageContext } from "../page-context.js";

type OrgAccess = Access["orgs"][number];

export async function renderAccess(main: HTMLElement, ctx: PageContext): Promise<void> {
  let access: Access;
  try {
    access = await ctx.api.access();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
      replace(main, h("h1", {}, "Access"), h("p", { class: "notice", id: "access-unavailable" }, "Access rules are not available on this deployment of the bridge (GET /api/access is missing)."));
      return;
    }
    throw error;
  }
  replace(main, h("h1", {}, "Access"),
    facts([["Removal threshold", access.removalThreshold], ["Licence SKUs in scope", access.licenseSkus.length ? access.licenseSkus.join(", ") : "all users"]]),
    access.orgs.map(orgSection));
}

function orgSection(org: OrgAccess): HTMLElement {
  const heading = h("h2", {}, h("code", {}, org.org));
  if (org.error) return h("section", { class: "card", "aria-label": `Access in ${org.org}` }, heading, h("p", { class: "error", role: "alert" }, `The org could not be read, so its rules are unknown (not wrong): ${org.error}`));
  if (org.rules.length === 0) return h("section", { class: "card", "aria-label": `Access in ${org.org}` }, heading, h("p", { class: "muted" }, "No access rule applies to this org."));
  return h("section", { class: "card", "aria-label": `Access in ${org.org}` }, heading,
    h("p", {}, org.problems.length === 0 ? `All ${org.rules.length} rules resolve.` : h("strong", {}, `${org.problems.length} problem(s): a rule with a problem never takes access away.`)),
    table(`Rules of ${org.org}, in order (the first matching rule naming a unit decides the unit)`, ["#", "Group (direct members)", "Business unit", "Roles", "Owner teams", "Status"], org.rules.map((rule) => [
      String(rule.index),
      groupCell(rule.group),
      rule.businessUnit ? namedId(rule.businessUnit) : h("span", { class: "muted" }, "not set: stays put"),
      namedList(rule.roles),
      namedList(rule.teams),
      h("span", { class: `state ${rule.status === "ok" ? "state-succeeded" : "state-failed"}` }, rule.status),
    ]), { numeric: [0] }));
}

function groupCell(group: OrgAccess["rules"][number]["group"]): Node {
  if (group.problem) return h("span", { class: "problem" }, h("code", {}, group.id), `: ${group.problem}`);
  return h("span", {}, h("strong", {}, group.name ?? group.id), ` (${group.members ?? "?"}) `, h("code", { class: "id" }, group.id));
}
