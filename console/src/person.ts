// A user as people read them: display name and logon first (recorded in the run itself), the ids one click away.
import { personOf, type ChangeEntry } from "../../client/people.js";
import { h } from "./dom.js";

export function personCell(entry: Pick<ChangeEntry, "objectId" | "systemUserId" | "displayName" | "logon" | "columns" | "action">): HTMLElement {
  const p = personOf(entry as ChangeEntry);
  const ids: Array<[string, string]> = [];
  if (p.objectId) ids.push(["Directory object", p.objectId]);
  if (p.systemUserId) ids.push(["Dataverse user", p.systemUserId]);
  return h("div", { class: "person" },
    p.name ? h("strong", { class: "person-name" }, p.name) : null,
    p.logon ? h("span", { class: "person-logon" }, p.logon) : null,
    !p.name && !p.logon ? h("code", {}, ids[0]?.[1] ?? "—") : null,
    ids.length ? h("details", { class: "ids" }, h("summary", {}, "ids"),
      h("ul", {}, ids.map(([label, id]) => h("li", {}, `${label}: `, h("code", {}, id))))) : null);
}
