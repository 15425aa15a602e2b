// A run's changes filtered by action and by person (name, logon or id), and exported as CSV: the whole change list
// is read in pages of 1,000 once the admin filters or exports.
import type { AdminApi } from "../../../client/admin-api.js";
import { changesCsv, personMatches, personOf, type ChangeEntry } from "../../../client/people.js";
import { h } from "../dom.js";

export interface ChangeFilter {
  action: string;
  search: string;
}

export const NO_FILTER: ChangeFilter = { action: "", search: "" };
const ACTIONS = ["create", "update", "enable", "disable", "remap", "access", "skip"];
const READ_PAGE = 1_000;

export const isFiltered = (f: ChangeFilter) => f.action !== "" || f.search.trim() !== "";

export function applyFilter(changes: readonly ChangeEntry[], f: ChangeFilter): ChangeEntry[] {
  return changes.filter((c) => (!f.action || c.action === f.action) && personMatches(personOf(c), f.search));
}

/** Every change the run lists, in pages. */
export async function allChanges(api: AdminApi, runId: string): Promise<ChangeEntry[]> {
  const out: ChangeEntry[] = [];
  for (;;) {
    const page = await api.run(runId, out.length, READ_PAGE);
    out.push(...page.changes);
    if (page.changes.length === 0 || out.length >= page.changesTotal) return out;
  }
}

export function filterForm(current: ChangeFilter, onFilter: (f: ChangeFilter) => void, onExport: () => void): HTMLElement {
  const action = h("select", { id: "change-action", name: "action" }, h("option", { value: "" }, "all"),
    ACTIONS.map((a) => h("option", { value: a, selected: a === current.action }, a)));
  const search = h("input", { id: "change-search", name: "search", type: "search", value: current.search, placeholder: "name, logon or id" });
  const form = h("form", { class: "inline", "aria-label": "Filter the changes" },
    h("label", { for: "change-action" }, "Action", action),
    h("label", { for: "change-search" }, "Person", search),
    h("button", { type: "submit", id: "filter-changes" }, "Filter"),
    h("button", { type: "button", class: "secondary", id: "clear-filter", disabled: !isFiltered(current) }, "Clear"),
    h("button", { type: "button", class: "secondary", id: "export-csv" }, "Export CSV"));
  form.addEventListener("submit", (event) => { event.preventDefault(); onFilter({ action: action.value, search: search.value }); });
  form.querySelector("#clear-filter")!.addEventListener("click", () => onFilter(NO_FILTER));
  form.querySelector("#export-csv")!.addEventListener("click", onExport);
  return form;
}

/** Saves the changes as `run-<id>.csv` through a download link (no server round trip). */
export function downloadCsv(runId: string, changes: readonly ChangeEntry[]): void {
  const url = URL.createObjectURL(new Blob([changesCsv(changes)], { type: "text/csv;charset=utf-8" }));
  const link = h("a", { href: url, download: `run-${runId}.csv`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
