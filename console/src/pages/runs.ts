// Runs: the newest runs, a form to start a run or a dry run, and one run's report — counts, errors with their
// Dataverse codes and the change list paged, old → new per column, each user by name and logon (ids a click away),
// filtered by action or person and exported as CSV.
import type { RunReport } from "../../../client/admin-api.js";
import { accessChangeList } from "../access-view.js";
import { announce, errorBox, facts, h, replace, stateBadge, table, when } from "../dom.js";
import { sleep, type PageContext } from "../page-context.js";
import { personCell } from "../person.js";
import { allChanges, applyFilter, downloadCsv, filterForm, isFiltered, NO_FILTER, type ChangeFilter } from "./run-changes.js";

const PAGE_SIZE = 50;
type Change = RunReport["changes"][number];

export async function renderRuns(main: HTMLElement, ctx: PageContext): Promise<void> {
  if (ctx.params[0]) return renderRun(main, ctx, ctx.params[0]);
  const [{ runs }, { orgs }] = await Promise.all([ctx.api.runs(25), ctx.api.status()]);
  replace(main,
    h("h1", {}, "Runs"),
    startForm(orgs.map((o) => o.org), ctx),
    table("The newest runs", ["Started", "Org", "Mode", "State", "Scanned", "Changed", "Failed"], runs.map((run) => [
      h("a", { href: `${ctx.base}runs/${run.runId}`, "data-link": true }, when(run.startedAt ?? run.finishedAt) === "—" ? run.runId.slice(0, 8) : when(run.startedAt)),
      h("code", {}, run.org), `${run.mode}${run.dryRun ? " (dry run)" : ""}`, stateBadge(run.state),
      run.counts.scanned, run.counts.created + run.counts.updated + run.counts.disabled + run.counts.enabled + run.counts.remapped, run.counts.failed,
    ]), { numeric: [4, 5, 6] }));
}

function startForm(orgs: string[], ctx: PageContext): HTMLElement {
  const org = h("select", { id: "start-org", name: "org" }, orgs.map((o) => h("option", { value: o }, o)));
  const mode = h("select", { id: "start-mode", name: "mode" }, h("option", { value: "incremental" }, "incremental"), h("option", { value: "full" }, "full"));
  const dryRun = h("input", { type: "checkbox", id: "start-dry-run", name: "dryRun", checked: true });
  const message = h("div");
  const form = h("form", { class: "inline", "aria-label": "Start a run" },
    h("label", { for: "start-org" }, "Org", org), h("label", { for: "start-mode" }, "Mode", mode),
    h("label", { class: "check", for: "start-dry-run" }, dryRun, "Dry run (plan only)"),
    h("button", { type: "submit", id: "start-run" }, "Start"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.api.startSync({ org: org.value, mode: mode.value as "incremental" | "full", dryRun: dryRun.checked })
      .then((started) => { announce(`Run ${started.runId} queued.`); ctx.navigate(`${ctx.base}runs/${started.runId}`); })
      .catch((error: unknown) => replace(message, errorBox(error)));
  });
  return h("section", { "aria-labelledby": "start-heading" }, h("h2", { id: "start-heading" }, "Start a run"), form, message);
}

/** What the change table shows: a server page, or (filtered) a page of the matching changes. */
interface ChangesView {
  rows: Change[];
  offset: number;
  total: number;
  filter: ChangeFilter;
}

interface RunHandlers {
  go: (offset: number) => void;
  filter: (f: ChangeFilter) => void;
  exportCsv: () => void;
}

async function renderRun(main: HTMLElement, ctx: PageContext, runId: string): Promise<void> {
  let offset = Math.max(0, Number(new URLSearchParams(location.search).get("offset") ?? 0) || 0);
  let filter = NO_FILTER;
  let everything: Change[] | undefined; // the whole change list, read once the admin filters or exports a finished run
  // One loop per page view: turning a page re-renders at once and the poll (while the run is open) follows the new offset.
  let wake: (() => void) | undefined;
  const go = (next: number) => { offset = next; history.replaceState(null, "", `?offset=${next}`); wake?.(); };
  const handlers: RunHandlers = {
    go,
    filter: (f) => { filter = f; go(0); },
    exportCsv: () => void (everything ? Promise.resolve(everything) : allChanges(ctx.api, runId))
      .then((all) => { downloadCsv(runId, applyFilter(all, filter)); announce("CSV exported."); })
      .catch((error: unknown) => announce(error instanceof Error ? error.message : String(error))),
  };
  for (;;) {
    const report = await ctx.api.run(runId, isFiltered(filter) ? 0 : offset, isFiltered(filter) ? 1 : PAGE_SIZE);
    const open = ["queued", "running"].includes(report.state);
    let view: ChangesView = { rows: report.changes, offset, total: report.changesTotal, filter };
    if (isFiltered(filter)) {
      const all = everything ?? await allChanges(ctx.api, runId);
      if (!open) everything = all;
      const matching = applyFilter(all, filter);
      view = { rows: matching.slice(offset, offset + PAGE_SIZE), offset, total: matching.length, filter };
    }
    if (!ctx.alive()) return;
    replace(main, ...runView(report, view, handlers));
    await new Promise<void>((resolve) => { wake = resolve; if (open) void sleep(1000).then(() => resolve()); });
    if (!ctx.alive()) return;
  }
}

function runView(report: RunReport, view: ChangesView, handlers: RunHandlers): HTMLElement[] {
  const c = report.counts;
  const filtered = isFiltered(view.filter);
  const shown = `${view.total === 0 ? 0 : view.offset + 1}–${view.offset + view.rows.length} of ${view.total}`;
  return [
    h("h1", {}, report.dryRun ? "Dry run plan" : "Run"),
    facts([["Run", h("code", {}, report.runId)], ["Org", h("code", {}, report.org)], ["Mode", `${report.mode}${report.dryRun ? ", dry run: nothing is written" : ""}`],
      ["State", stateBadge(report.state)], ["Started", when(report.startedAt)], ["Finished", when(report.finishedAt)], ["Trigger", report.trigger]]),
    ...(report.halt ? [h("p", { class: "notice" }, `Halted: ${report.halt.pendingDisables} disables planned, limit ${report.halt.limit}.${report.halt.approvedBy ? ` Approved by ${report.halt.approvedBy}.` : ""}`)] : []),
    h("h2", {}, "Counts"),
    table("Users per outcome", Object.keys(c), [Object.values(c)], { numeric: Object.keys(c).map((_, i) => i) }),
    h("h2", {}, "Errors"),
    report.errors.length === 0 ? h("p", { class: "muted" }, "None.") : table("Errors", ["Code", "Message", "User", "At"], report.errors.map((e) => [h("code", {}, e.code ?? "—"), e.message, personCell({ ...e, action: "error" }), when(e.at)])),
    h("h2", { id: "changes-heading" }, `Changes (${report.changesTotal}${report.changesOmitted ? `, ${report.changesOmitted} more not listed` : ""})`),
    filterForm(view.filter, handlers.filter, handlers.exportCsv),
    ...(filtered ? [h("p", { id: "filter-result", class: "muted" }, `${view.total} matching change${view.total === 1 ? "" : "s"}.`)] : []),
    pager(view.offset, view.rows.length, view.total, handlers.go),
    table(`Changes ${shown}${filtered ? " (filtered)" : ""}`, ["User", "Action", "Outcome", "Columns or access (old → new)"], view.rows.map(changeRow)),
  ];
}

/** A user's entry: its columns and, when their access changed too, the access change (with its own outcome). */
function changeRow(change: Change): Array<Node | string> {
  const columns = change.columns?.length
    ? h("ul", { class: "change-cols" }, change.columns.map((col) => h("li", {}, h("code", {}, col.column), `: ${col.old ?? "∅"} → ${col.new ?? "∅"}`)))
    : change.access ? null : h("span", { class: "muted" }, change.reason ?? "—");
  const details = change.access ? h("div", {}, columns, accessChangeList(change.access)) : columns!;
  const outcome = change.error ? `${change.outcome ?? "failed"}: ${change.error.code ?? ""} ${change.error.message}` : change.outcome ?? "";
  const accessOutcome = change.accessOutcome ? `; access ${change.accessOutcome}${change.accessError ? `: ${change.accessError.code ?? ""} ${change.accessError.message}` : ""}` : "";
  return [personCell(change), change.action, outcome + accessOutcome, details];
}

function pager(offset: number, shown: number, total: number, go: (offset: number) => void): HTMLElement {
  const previous = h("button", { type: "button", class: "secondary", disabled: offset === 0, "aria-label": "Previous page of changes" }, "Previous");
  const next = h("button", { type: "button", class: "secondary", disabled: offset + shown >= total, "aria-label": "Next page of changes" }, "Next");
  previous.addEventListener("click", () => go(Math.max(0, offset - PAGE_SIZE)));
  next.addEventListener("click", () => go(offset + PAGE_SIZE));
  return h("nav", { class: "pager", "aria-label": "Pages of changes" }, previous, h("span", { id: "page-position" }, `${total === 0 ? 0 : offset + 1}–${offset + shown} of ${total}`), next);
}
