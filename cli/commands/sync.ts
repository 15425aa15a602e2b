// status, sync [--wait --timeout], runs list|show|approve.
import { type Command, Option } from "commander";
import cliProgress from "cli-progress";
import type { AdminApi, RunReport } from "../../client/admin-api.js";
import type { CliContext } from "../context.js";
import { CliFailure, EXIT } from "../exit-codes.js";
import { runLines } from "../format.js";
import { integer } from "../options.js";

const OPEN_STATES = ["queued", "running"];

export function addSyncCommands(root: Command, ctx: CliContext): void {
  root.command("status").description("each org's state, last run, cursor age, next run").action(async () => {
    const status = await ctx.api().status();
    ctx.print(status, () => status.orgs.map((o) => `${o.org}  ${o.state}  last: ${o.lastOutcome ?? "none"} (${o.lastRunId ?? "-"})  cursor age: ${o.cursorAgeSeconds ?? "-"} s  next: ${o.nextScheduledRun ?? "-"}${o.haltedRunId ? `  HALTED run ${o.haltedRunId}` : ""}`));
  });

  root.command("sync").description("start a sync run; with --wait, exit 0 only if it succeeds (6 halted, 7 failed, 5 timed out)")
    .option("--org <url>", "the org (required when several are configured)")
    .addOption(new Option("--mode <mode>", "incremental or full").choices(["incremental", "full"]))
    .option("--dry-run", "plan only: write nothing")
    .option("--wait", "wait for the run to end, with a progress bar on a terminal")
    .option("--timeout <seconds>", "with --wait: give up after this long (exit 5; the run goes on)", integer(1, 86_400), 1800)
    .action(async (o: { org?: string; mode?: "incremental" | "full"; dryRun?: boolean; wait?: boolean; timeout: number }) => {
      const client = ctx.api();
      const started = await client.startSync({ org: o.org, mode: o.mode, dryRun: o.dryRun });
      if (!o.wait) return ctx.print(started, () => [`queued run ${started.runId}`, `  ${started.statusUrl}`]);
      const report = await waitForRun(client, started.runId, o.timeout, ctx);
      ctx.print(report, () => runLines(report));
      runOutcome(report);
    });

  const runs = root.command("runs").description("sync runs: list, show, approve");
  runs.command("list").description("the newest runs")
    .option("--limit <n>", "how many (1-100)", integer(1, 100), 20)
    .option("--org <url>", "only this org's runs")
    .action(async (o: { limit: number; org?: string }) => {
      const list = await ctx.api().runs(o.limit, o.org);
      ctx.print(list, () => list.runs.map((r) => `${r.runId}  ${r.org}  ${r.mode}${r.dryRun ? " dry-run" : ""}  ${r.state}  ${r.startedAt ?? "-"}`));
    });
  runs.command("show <runId>").description("a run's report: counts, errors and its changes, people by name")
    .option("--offset <n>", "first change", integer(0, 1_000_000), 0)
    .option("--limit <n>", "changes to show (1-500)", integer(1, 500), 20)
    .action(async (runId: string, o: { offset: number; limit: number }) => {
      const report = await ctx.api().run(runId, o.offset, o.limit);
      ctx.print(report, () => runLines(report));
    });
  runs.command("approve <runId>").description("let a run halted by a removal threshold go on").action(async (runId: string) => {
    const approved = await ctx.api().approve(runId);
    ctx.print(approved, () => [`approved run ${runId}; it goes on`]);
  });
}

/** Throws the exit code a finished run stands for: halted and failed are not success. */
function runOutcome(report: RunReport): void {
  if (report.state === "halted") throw new CliFailure(`run ${report.runId} halted; approve it with: bridge runs approve ${report.runId}`, EXIT.halted);
  if (report.state === "failed") throw new CliFailure(`run ${report.runId} failed${report.errors[0] ? `: ${report.errors[0].message}` : ""}`, EXIT.failed);
}

async function waitForRun(client: AdminApi, runId: string, timeoutSeconds: number, ctx: CliContext): Promise<RunReport> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const bar = ctx.io.interactive && !ctx.json() ? new cliProgress.SingleBar({ format: "{bar} {state} · scanned {scanned}", hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(1, 0, { state: "queued", scanned: 0 });
  try {
    for (;;) {
      const report = await client.run(runId, 0, 20);
      const done = !OPEN_STATES.includes(report.state);
      bar?.update(done ? 1 : 0.5, { state: report.state, scanned: report.counts.scanned });
      if (done) return report;
      if (Date.now() >= deadline) throw new CliFailure(`run ${runId} still ${report.state} after ${timeoutSeconds} s; it goes on: bridge runs show ${runId}`, EXIT.timeout);
      await ctx.sleep(500);
    }
  } finally {
    bar?.stop();
  }
}
