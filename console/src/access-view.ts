// How the console shows access: a change old → new (run reports, the Users page) and a named id (a unit, role or
// team with its id, or the problem that stops it resolving, with its fix).
import type { RunReport, UserLookup } from "../../client/admin-api.js";
import { h } from "./dom.js";

export type AccessChange = NonNullable<RunReport["changes"][number]["access"]>;
export type UserAccessPreview = NonNullable<UserLookup["orgs"][number]["access"]>;
type Named = { name?: string; id?: string; problem?: string };

/** One line per part of the change: the unit old → new, roles and teams added (+) and removed (−). */
export function accessChangeList(change: AccessChange): HTMLElement {
  const items: Array<[string, string]> = [];
  if (change.businessUnit) items.push(["business unit", `${change.businessUnit.old} → ${change.businessUnit.new}`]);
  const list = (label: string, names: readonly string[] | undefined, sign: string) => {
    if (names?.length) items.push([label, names.map((n) => `${sign}${n}`).join(", ")]);
  };
  list("roles", change.rolesAdded, "+ ");
  list("roles", change.rolesRemoved, "− ");
  list("roles lost in the move", change.rolesLostInMove, "− ");
  list("teams", change.teamsAdded, "+ ");
  list("teams", change.teamsRemoved, "− ");
  return h("ul", { class: "change-cols" }, items.map(([label, text]) => h("li", {}, h("code", {}, label), `: ${text}`)));
}

/** A resolved name with its id, or its problem (the problem sentence carries the fix). */
export function namedId(named: Named): Node {
  if (named.problem) return h("span", { class: "problem" }, h("strong", {}, named.name ?? "?"), `: ${named.problem}`);
  return h("span", {}, named.name ?? h("span", { class: "muted" }, "(not managed by a rule)"), " ", named.id ? h("code", { class: "id" }, named.id) : "");
}

export const namedList = (names: readonly Named[]): Node =>
  names.length === 0 ? h("span", { class: "muted" }, "none") : h("ul", { class: "plain" }, names.map((n) => h("li", {}, namedId(n))));
