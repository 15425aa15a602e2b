// Remap: one user with a preview of both steps, and a bulk suffix change: plan → apply → live progress.
import type { BulkJob } from "../../../client/admin-api.js";
import { announce, errorBox, facts, h, replace, stateBadge, table } from "../dom.js";
import { sleep, type PageContext } from "../page-context.js";

export async function renderRemap(main: HTMLElement, ctx: PageContext): Promise<void> {
  replace(main, h("h1", {}, "Remap"), oneUser(ctx), bulk(ctx));
}

function oneUser(ctx: PageContext): HTMLElement {
  const user = h("input", { id: "remap-user", required: true, placeholder: "current domainname or systemuserid", size: 32 });
  const target = h("input", { id: "remap-new", required: true, placeholder: "new logon name", size: 32 });
  const result = h("div", { "aria-live": "polite" });
  const run = (dryRun: boolean) => ctx.api.remap({ user: user.value.trim(), newDomainName: target.value.trim(), dryRun })
    .then((r) => {
      if (!dryRun) announce(`Remapped ${r.from ?? ""} to ${r.to}.`);
      replace(result, h("h3", {}, dryRun ? "Preview" : r.changed ? "Done" : "Already done: no change"),
        facts([["Dataverse user", h("code", {}, r.systemUserId)], ["From", r.from ?? "∅"], ["To", r.to], ["Org", h("code", {}, r.org)]]),
        h("ol", { "aria-label": "Steps" }, r.steps.map((s) => h("li", {}, Object.entries(s).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(", ")))));
    }).catch((error: unknown) => replace(result, errorBox(error)));
  const form = h("form", { class: "inline", "aria-label": "Remap one user" },
    h("label", { for: "remap-user" }, "User", user), h("label", { for: "remap-new" }, "New logon name", target),
    h("button", { type: "submit", class: "secondary", id: "remap-preview" }, "Preview"),
    h("button", { type: "button", id: "remap-apply", onclick: () => { if (form.reportValidity()) void run(false); } }, "Remap"));
  form.addEventListener("submit", (event) => { event.preventDefault(); void run(true); });
  return h("section", { "aria-labelledby": "one-heading" }, h("h2", { id: "one-heading" }, "One user"), form, result);
}

function bulk(ctx: PageContext): HTMLElement {
  const from = h("input", { id: "bulk-from", required: true, placeholder: "@contoso.com", size: 20 });
  const to = h("input", { id: "bulk-to", required: true, placeholder: "@fabrikam.com", size: 20 });
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline", "aria-label": "Plan a bulk remap" },
    h("label", { for: "bulk-from" }, "From suffix", from), h("label", { for: "bulk-to" }, "To suffix", to),
    h("button", { type: "submit", id: "bulk-plan" }, "Plan"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const rule = { fromSuffix: from.value.trim(), toSuffix: to.value.trim() };
    ctx.api.remapBulk({ rule, dryRun: true }).then((plan) => {
      const apply = h("button", { type: "button", class: "danger", id: "bulk-apply" }, "Apply this plan");
      apply.addEventListener("click", () => { apply.disabled = true; void applyBulk(rule, result, ctx); });
      replace(result, planView(plan as BulkJob), h("p", {}, apply));
    }).catch((error: unknown) => replace(result, errorBox(error)));
  });
  return h("section", { "aria-labelledby": "bulk-heading" }, h("h2", { id: "bulk-heading" }, "Bulk: change a suffix"), form, result);
}

function planView(job: BulkJob): HTMLElement {
  return h("div", {},
    h("p", {}, `${job.counts.total ?? job.plan.length} users; ${job.counts.remap ?? 0} to remap, ${job.counts.skip ?? 0} skipped.`),
    table("Plan", ["User", "From → to", "Action", "Conflicts", "Outcome"], job.plan.slice(0, 200).map((i) => [
      h("code", {}, i.user), `${i.from ?? "∅"} → ${i.to ?? "∅"}`, i.action, i.conflicts?.length ? JSON.stringify(i.conflicts) : "none", i.outcome ?? "—",
    ])));
}

async function applyBulk(rule: { fromSuffix: string; toSuffix: string }, result: HTMLElement, ctx: PageContext): Promise<void> {
  try {
    const accepted = await ctx.api.remapBulk({ rule });
    const progress = h("progress", { max: 1, value: 0, "aria-label": "Bulk remap progress" });
    const line = h("p", { id: "bulk-progress" });
    replace(result, progress, line);
    for (;;) {
      const job = await ctx.api.bulkJob(accepted.jobId);
      const done = (job.counts.succeeded ?? 0) + (job.counts.noChange ?? 0) + (job.counts.failed ?? 0) + (job.counts.skipped ?? 0);
      progress.max = Math.max(1, job.counts.total ?? 1);
      progress.value = done;
      replace(line, stateBadge(job.state), ` ${done} of ${job.counts.total ?? 0} done, ${job.counts.failed ?? 0} failed`);
      if (!ctx.alive() || !["planning", "planned", "running"].includes(job.state)) {
        result.append(planView(job));
        return;
      }
      await sleep(750);
    }
  } catch (error) {
    result.append(errorBox(error));
  }
}
