// Users: look a person up — the directory (as mapped) beside each org's Dataverse record — and sync them now.
import type { UserLookup } from "../../../client/admin-api.js";
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
        ])));
    }),
    h("p", {}, syncButton),
  ];
}

const display = (value: unknown) => (value === undefined ? "—" : value === null ? "∅" : String(value));
