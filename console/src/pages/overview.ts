// Overview: each org's state, last outcome, cursor age, next run and back-off; a halted run's planned disables
// with an Approve button, then the run followed to its end.
import type { OrgStatus, RunReport } from "../../../client/admin-api.js";
import { ago, announce, errorBox, facts, h, replace, stateBadge, table, when } from "../dom.js";
import { sleep, type PageContext } from "../page-context.js";
import { personCell } from "../person.js";

export async function renderOverview(main: HTMLElement, ctx: PageContext): Promise<void> {
  const { orgs } = await ctx.api.status();
  const halted = await Promise.all(orgs.filter((o) => o.haltedRunId).map((o) => ctx.api.run(o.haltedRunId!, 0, 200)));
  replace(main,
    h("h1", {}, "Overview"),
    h("section", { "aria-labelledby": "orgs-heading" }, h("h2", { id: "orgs-heading" }, "Organizations"), h("div", { class: "cards" }, orgs.map((o) => orgCard(o, ctx)))),
    halted.map((run) => haltedRun(run, ctx)));
}

function orgCard(o: OrgStatus, ctx: PageContext): HTMLElement {
  return h("article", { class: "card", "aria-label": o.org },
    h("h3", {}, h("code", {}, o.org)),
    facts([
      ["State", stateBadge(o.state)],
      ["Last run", o.lastRunId ? h("a", { href: `${ctx.base}runs/${o.lastRunId}`, "data-link": true }, o.lastOutcome ?? "open") : "none yet"],
      ["Last finished", when(o.lastFinishedAt)],
      ["Cursor age", ago(o.cursorAgeSeconds)],
      ["Next run", when(o.nextScheduledRun)],
      ["Back-off", o.backoffUntil ? `until ${when(o.backoffUntil)} (${o.consecutiveFailures} failures)` : "none"],
    ]));
}

function haltedRun(run: RunReport, ctx: PageContext): HTMLElement {
  const disables = run.changes.filter((c) => c.outcome === "pending-approval");
  const outcome = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "button", class: "danger", id: `approve-${run.runId}` }, `Approve ${run.halt?.pendingDisables ?? disables.length} disables`);
  button.addEventListener("click", () => void approve(run, button, outcome, ctx));
  return h("section", { class: "card", "aria-labelledby": `halt-${run.runId}` },
    h("h2", { id: `halt-${run.runId}` }, "Halted run waiting for approval"),
    h("p", { class: "notice" }, `Run ${run.runId} for ${run.org} plans ${run.halt?.pendingDisables ?? "?"} disables, over the limit of ${run.halt?.limit ?? "?"} (SYNC_DISABLE_THRESHOLD ${run.halt?.threshold ?? ""}). Nobody has been disabled yet.`),
    table(`Planned disables (first ${disables.length})`, ["User", "Reason"], disables.map((c) => [personCell(c), c.reason ?? c.action])),
    h("p", {}, button, " ", h("a", { href: `${ctx.base}runs/${run.runId}`, "data-link": true }, "Open the run")),
    outcome);
}

async function approve(run: RunReport, button: HTMLButtonElement, outcome: HTMLElement, ctx: PageContext): Promise<void> {
  button.disabled = true;
  try {
    await ctx.api.approve(run.runId);
    announce("Approved: the run goes on.");
    for (;;) {
      const report = await ctx.api.run(run.runId, 0, 1);
      replace(outcome, h("p", {}, "Run state: ", stateBadge(report.state), ` — disabled ${report.counts.disabled}`));
      if (!ctx.alive() || !["running", "queued", "halted"].includes(report.state)) break;
      await sleep(750);
    }
  } catch (error) {
    replace(outcome, errorBox(error));
    button.disabled = false;
  }
}
