// `bridge`: the admin API from a terminal. status, sync [--org] [--dry-run] [--wait], runs list|show|approve,
// remap <user> <new-name>, remap bulk --from-suffix --to-suffix [--apply], callers, access, user <id>. Human-readable output,
// or --json for scripts.
import { Command, Option } from "commander";
import cliProgress from "cli-progress";
import { AdminApi, ApiError, type BulkJob, type RunReport } from "../client/admin-api.js";
import { accessChangeText, registerAccessCommands } from "./access.js";
import { tokenSource } from "./credentials.js";

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Show progress bars (a terminal). */
  interactive: boolean;
  env: Record<string, string | undefined>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function program(io: CliIo): Command {
  const cmd = new Command("bridge")
    .description("Administer the Identity Bridge for Dynamics 365")
    .option("--url <url>", "the bridge's origin", io.env.BRIDGE_URL ?? "http://127.0.0.1:7071")
    .option("--token <token>", "an admin access token (else BRIDGE_TOKEN, else Entra sign-in)")
    .option("--scope <scope>", "<API_AUDIENCE>/.default, for Entra sign-in", io.env.BRIDGE_SCOPE)
    .option("--tenant <id>", "Entra tenant for sign-in", io.env.AZURE_TENANT_ID)
    .option("--client-id <id>", "public client id for --device-code")
    .option("--device-code", "sign in with the device-code flow instead of the Azure CLI")
    .option("--json", "print JSON")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  const api = () => {
    const o = cmd.opts<{ url: string; token?: string; scope?: string; tenant?: string; clientId?: string; deviceCode?: boolean }>();
    const token = tokenSource({ token: o.token ?? io.env.BRIDGE_TOKEN, scope: o.scope, tenant: o.tenant, clientId: o.clientId, deviceCode: o.deviceCode, log: io.err });
    return new AdminApi(token, o.url.replace(/\/+$/, ""));
  };
  const json = () => Boolean(cmd.opts().json);
  const print = (value: unknown, human: () => string[]) => { for (const line of json() ? [JSON.stringify(value, null, 2)] : human()) io.out(line); };

  cmd.command("status").description("each org's state, last run, cursor age, next run").action(async () => {
    const status = await api().status();
    print(status, () => status.orgs.map((o) => `${o.org}  ${o.state}  last: ${o.lastOutcome ?? "none"} (${o.lastRunId ?? "-"})  cursor age: ${o.cursorAgeSeconds ?? "-"} s  next: ${o.nextScheduledRun ?? "-"}${o.haltedRunId ? `  HALTED run ${o.haltedRunId}` : ""}`));
  });

  cmd.command("sync").description("start a sync run")
    .option("--org <url>", "the org (required when several are configured)")
    .addOption(new Option("--mode <mode>", "incremental or full").choices(["incremental", "full"]))
    .option("--dry-run", "plan only: write nothing")
    .option("--wait", "wait for the run to end, with a progress bar")
    .action(async (o: { org?: string; mode?: "incremental" | "full"; dryRun?: boolean; wait?: boolean }) => {
      const client = api();
      const started = await client.startSync({ org: o.org, mode: o.mode, dryRun: o.dryRun });
      if (!o.wait) return print(started, () => [`queued run ${started.runId}`, `  ${started.statusUrl}`]);
      const report = await waitForRun(client, started.runId, io);
      print(report, () => runLines(report));
      if (report.state === "failed") process.exitCode = 1;
    });

  const runs = cmd.command("runs").description("sync runs");
  runs.command("list").description("the newest runs").option("--limit <n>", "how many", "20").action(async (o: { limit: string }) => {
    const list = await api().runs(Number(o.limit));
    print(list, () => list.runs.map((r) => `${r.runId}  ${r.org}  ${r.mode}${r.dryRun ? " dry-run" : ""}  ${r.state}  ${r.startedAt ?? "-"}`));
  });
  runs.command("show <runId>").description("a run's report").option("--offset <n>", "first change", "0").option("--limit <n>", "changes to show", "20")
    .action(async (runId: string, o: { offset: string; limit: string }) => {
      const report = await api().run(runId, Number(o.offset), Number(o.limit));
      print(report, () => runLines(report));
    });
  runs.command("approve <runId>").description("let a run halted by the disable threshold go on").action(async (runId: string) => {
    const approved = await api().approve(runId);
    print(approved, () => [`approved run ${runId}; it goes on`]);
  });

  cmd.command("remap <user> [newName]").description("remap one user (remap <user> <new-name>) or many (remap bulk --from-suffix … --to-suffix …)")
    .option("--dry-run", "one user: preview only")
    .option("--from-suffix <suffix>", "bulk: the suffix to replace")
    .option("--to-suffix <suffix>", "bulk: its replacement")
    .option("--apply", "bulk: apply the plan (without it: plan only)")
    .option("--org <url>", "the org")
    .action(async (user: string, newName: string | undefined, o: { dryRun?: boolean; fromSuffix?: string; toSuffix?: string; apply?: boolean; org?: string }) => {
      if (user === "bulk") return remapBulk(api(), o, io, print);
      if (!newName) throw new Error("remap needs <user> <new-name>");
      const result = await api().remap({ user, newDomainName: newName, dryRun: o.dryRun, org: o.org });
      print(result, () => [`${result.dryRun ? "would remap" : result.changed ? "remapped" : "already remapped"} ${result.from ?? "-"} → ${result.to} (${result.systemUserId})`,
        ...result.steps.map((s, i) => `  step ${i + 1}: ${JSON.stringify(s)}`)]);
    });

  cmd.command("callers").description("each S2S caller's status per org").action(async () => {
    const callers = await api().callers();
    print(callers, () => callers.callers.map((c) => `${c.id}  ${c.name ?? ""}  ${JSON.stringify(c.orgs ?? [])}`));
  });
  registerAccessCommands(cmd, { api, print, fail: () => { process.exitCode = 1; } });
  return cmd;
}

function runLines(report: RunReport): string[] {
  const counts = Object.entries(report.counts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ");
  return [
    `run ${report.runId}  ${report.org}  ${report.mode}${report.dryRun ? " (dry run)" : ""}  ${report.state}`,
    `  counts: ${counts || "nothing"}`,
    ...(report.halt ? [`  halted: ${report.halt.pendingDisables} disables over the limit of ${report.halt.limit}: bridge runs approve ${report.runId}`] : []),
    ...report.errors.map((e) => `  error ${e.code ?? ""}: ${e.message}`),
    `  changes ${report.changesTotal}${report.changesNext ? ` (showing ${report.changes.length})` : ""}:`,
    ...report.changes.map((c) => `    ${c.action} ${c.objectId ?? c.systemUserId ?? ""} ${c.access ? accessChangeText(c.access) : (c.columns ?? []).map((col) => `${col.column}: ${col.old ?? "∅"} → ${col.new ?? "∅"}`).join("; ")}${c.reason ? ` (${c.reason})` : ""}`),
  ];
}

async function waitForRun(client: AdminApi, runId: string, io: CliIo): Promise<RunReport> {
  const bar = io.interactive ? new cliProgress.SingleBar({ format: "{bar} {state} · scanned {scanned}", hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(1, 0, { state: "queued", scanned: 0 });
  try {
    for (;;) {
      const report = await client.run(runId, 0, 20);
      const done = !["queued", "running"].includes(report.state);
      bar?.update(done ? 1 : 0.5, { state: report.state, scanned: report.counts.scanned });
      if (done) return report;
      await sleep(500);
    }
  } finally {
    bar?.stop();
  }
}

async function remapBulk(client: AdminApi, o: { fromSuffix?: string; toSuffix?: string; apply?: boolean; org?: string }, io: CliIo, print: (v: unknown, h: () => string[]) => void): Promise<void> {
  if (!o.fromSuffix || !o.toSuffix) throw new Error("remap bulk needs --from-suffix and --to-suffix");
  const rule = { fromSuffix: o.fromSuffix, toSuffix: o.toSuffix };
  const planned = await client.remapBulk({ rule, dryRun: !o.apply, org: o.org });
  let job = planned as BulkJob;
  if (o.apply) {
    const bar = io.interactive ? new cliProgress.SingleBar({ format: "{bar} {value}/{total} · {state}" }, cliProgress.Presets.shades_classic) : undefined;
    for (;;) {
      job = await client.bulkJob(planned.jobId);
      const done = (job.counts.succeeded ?? 0) + (job.counts.noChange ?? 0) + (job.counts.failed ?? 0) + (job.counts.skipped ?? 0);
      if (bar && !bar.isActive) bar.start(Math.max(1, job.counts.total ?? 1), done, { state: job.state });
      bar?.update(done, { state: job.state });
      if (!["planning", "planned", "running"].includes(job.state)) break;
      await sleep(500);
    }
    bar?.stop();
  }
  print(job, () => [`bulk job ${job.jobId}  ${job.state}  ${JSON.stringify(job.counts)}`,
    ...job.plan.map((i) => `  ${i.user}: ${i.from ?? "∅"} → ${i.to ?? "∅"}  ${i.action}${i.outcome ? ` ${i.outcome}` : ""}${i.conflicts?.length ? ` conflicts ${JSON.stringify(i.conflicts)}` : ""}`),
    ...(o.apply ? [] : ["(plan only: add --apply to remap)"])]);
}

/** Runs the CLI; resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  process.exitCode = undefined;
  try {
    await program(io).parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "commander.helpDisplayed" || code === "commander.version") return 0;
    if (code?.startsWith("commander.")) return 2;
    if (error instanceof ApiError) io.err(`error ${error.status}: ${error.message}`);
    else io.err(`error: ${(error as Error).message}`);
    return 1;
  } finally {
    process.exitCode = undefined;
  }
}
