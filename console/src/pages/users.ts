// Users: look a person up — the directory (as mapped) beside each org's Dataverse record — and sync them now.
import type { UserLookup } from "../../../client/admin-api.js";
import { accessChangeList, namedId, namedList, type UserAccessPreview } from "../access-view.js";
import { announce, errorBox, h, replace, table } from "../dom.js";
import type { PageContext } from "../page-context.js";

export async function renderUsers(main: HTMLElement, ctx: PageContext): Promise<void> {
  const input = h("input", { id: "user-query", name: "user", required: true, placeholder: "ada.lovelace@contoso.com or object id", size: 36 });
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline", role: "search", "aria-label": "Look up a user" },
    h("label", { for: "user-query" }, "User principal name or object id", input), h("button", { type: "submit", id: "look-up" }, "Look up"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.api.lookUpUser(input.value.trim()).then((lookup) => replace(result, lookupView(lookup, ctx, result))).catch((error: unknown) => replace(result, errorBox(error)));
  });
  replace(main, h("h1", {}, "Users"), form, result);
}

function lookupView(lookup: UserLookup, ctx: PageContext, result: HTMLElement): HTMLElement[] {
  const directory = lookup.user.columns ?? {};
  const syncButton = h("button", { type: "button", id: "sync-user" }, "Sync this user now");
  syncButton.addEventListener("click", () => {
    syncButton.disabled = true;
    ctx.api.syncUser(lookup.user.id).then(async (outcome) => {
      announce(`Synced: ${outcome.orgs.map((o) => `${o.org}: ${o.change.action}`).join(", ")}`);
      replace(result, lookupView(await ctx.api.lookUpUser(lookup.user.id), ctx, result));
    }).catch((error: unknown) => { syncButton.disabled = false; result.append(errorBox(error)); });
  });
  return [
    h("h2", {}, lookup.user.userPrincipalName ?? lookup.user.id, lookup.user.found ? "" : " (not in the directory)"),
    ...lookup.orgs.map((org) => {
      const record = org.records[0] ?? {};
      const columns = [...new Set([...Object.keys(directory), ...Object.keys(record).filter((k) => !k.startsWith("@") && !["systemuserid", "etag"].includes(k))])];
      return h("section", { class: "card", "aria-label": `In ${org.org}` },
        h("h3", {}, h("code", {}, org.org)),
        h("p", {}, "A sync would: ", h("strong", {}, org.planned.action)),
        table("Directory beside Dataverse", ["Column", "Directory (mapped)", "Dataverse"], columns.map((col) => [
          h("code", {}, col), display(directory[col]), org.records.length ? display(record[col]) : h("span", { class: "muted" }, "no record"),
        ])),
        org.access ? accessView(org.access, org.org) : null);
    }),
    h("p", {}, syncButton),
  ];
}

/** The user's unit, roles and teams now beside what the access rules would change. */
function accessView(access: UserAccessPreview, org: string): HTMLElement {
  const rules = access.matchedRules.length ? access.matchedRules.map((i) => `ACCESS_RULES[${i}]`).join(", ") : "no rule (not a direct member of any rule group)";
  return h("section", { "aria-label": `Access in ${org}` },
    h("h4", {}, "Access"),
    access.current
      ? table("Access in Dataverse now", ["Business unit", "Roles", "Teams"], [[namedId(access.current.businessUnit), namedList(access.current.roles), namedList(access.current.teams)]])
      : h("p", { class: "muted" }, "No enabled record whose access the bridge manages."),
    h("p", {}, "Matches: ", rules, "."),
    access.planned ? h("div", {}, h("p", {}, "The rules would change: "), accessChangeList(access.planned)) : h("p", {}, "The rules would change nothing."),
    access.problems.length ? h("p", { class: "notice" }, `${access.problems.length} rule problem(s) in this org (see Access): such a rule never takes access away.`) : null);
}

const display = (value: unknown) => (value === undefined ? "—" : value === null ? "∅" : String(value));
