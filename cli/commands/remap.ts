// remap <user> <new-name>; remap bulk (a suffix or prefix rule, or an items file) [--apply]; remap bulk status <jobId>.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import cliProgress from "cli-progress";
import type { AdminApi, BulkJob, BulkRemapRequest } from "../../client/admin-api.js";
import type { CliContext } from "../context.js";
import { CliFailure, EXIT } from "../exit-codes.js";
import { bulkLines } from "../format.js";
import { integer } from "../options.js";

const OPEN_JOB_STATES = ["planning", "planned", "running"];

interface BulkOptions {
  fromSuffix?: string; toSuffix?: string; fromPrefix?: string; toPrefix?: string; items?: string;
  apply?: boolean; org?: string; timeout: number; idempotencyKey?: string;
}

export function addRemapCommands(root: Command, ctx: CliContext): void {
  const remap = root.command("remap").description("remap users whose logon changed: remap <user> <new-name>, or remap bulk")
    .argument("[user]", "the Dataverse user: its current domainname, systemuserid or directory object id")
    .argument("[newName]", "the new domainname (UPN, or DOMAIN\\sam on premises)")
    .option("--dry-run", "preview only")
    .option("--org <url>", "the org")
    .enablePositionalOptions()
    .action(async (user: string | undefined, newName: string | undefined, o: { dryRun?: boolean; org?: string }) => {
      if (!user || !newName) throw new CliFailure("remap needs <user> <new-name> (or: bridge remap bulk --help)", EXIT.usage);
      const result = await ctx.api().remap({ user, newDomainName: newName, dryRun: o.dryRun, org: o.org });
      ctx.print(result, () => [`${result.dryRun ? "would remap" : result.changed ? "remapped" : "already remapped"} ${result.from ?? "-"} → ${result.to} (${result.systemUserId})`,
        ...result.steps.map((s, i) => `  step ${i + 1}: ${JSON.stringify(s)}`)]);
    });

  const bulk = remap.command("bulk").description("plan (default) or --apply many remaps: a rule (--from-suffix/--to-suffix or --from-prefix/--to-prefix) or --items <file>")
    .option("--from-suffix <suffix>", "the suffix to replace, e.g. @contoso.com")
    .option("--to-suffix <suffix>", "its replacement, e.g. @fabrikam.com")
    .option("--from-prefix <prefix>", "the prefix to replace, e.g. CONTOSO\\")
    .option("--to-prefix <prefix>", "its replacement")
    .option("--items <file>", "a JSON file: [{\"user\": \"…\", \"newDomainName\": \"…\"}, …] (or {\"items\": [...]}), or - for stdin")
    .option("--apply", "apply the plan and wait for the job (without it: plan only)")
    .option("--org <url>", "the org")
    .option("--timeout <seconds>", "with --apply: stop waiting after this long (exit 5; the job goes on)", integer(1, 86_400), 3600)
    .option("--idempotency-key <key>", "with --apply: a retry with the same key gets the first answer, never a second job (default: a new key)")
    .action(async (o: BulkOptions) => remapBulk(ctx, o));

  bulk.command("status <jobId>").description("a bulk job's plan, progress and per-user outcome").action(async (jobId: string) => {
    const job = await ctx.api().bulkJob(jobId);
    ctx.print(job, () => bulkLines(job, false));
    jobOutcome(job);
  });
}

/** The selection from the options: exactly one of a suffix rule, a prefix rule or an items file. */
async function selection(o: BulkOptions): Promise<Pick<BulkRemapRequest, "rule" | "items">> {
  const suffix = o.fromSuffix !== undefined || o.toSuffix !== undefined;
  const prefix = o.fromPrefix !== undefined || o.toPrefix !== undefined;
  if (Number(suffix) + Number(prefix) + Number(o.items !== undefined) !== 1) {
    throw new CliFailure("remap bulk needs one of: --from-suffix and --to-suffix, --from-prefix and --to-prefix, or --items <file>", EXIT.usage);
  }
  if (suffix) {
    if (!o.fromSuffix || !o.toSuffix) throw new CliFailure("give both --from-suffix and --to-suffix", EXIT.usage);
    return { rule: { fromSuffix: o.fromSuffix, toSuffix: o.toSuffix } };
  }
  if (prefix) {
    if (!o.fromPrefix || !o.toPrefix) throw new CliFailure("give both --from-prefix and --to-prefix", EXIT.usage);
    return { rule: { fromPrefix: o.fromPrefix, toPrefix: o.toPrefix } };
  }
  return { items: await readItems(o.items!) };
}

async function readItems(file: string): Promise<Array<{ user: string; newDomainName: string }>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(file === "-" ? await readStdin() : await readFile(file, "utf8"));
  } catch (error) {
    throw new CliFailure(`--items ${file}: ${(error as Error).message}`, EXIT.usage);
  }
  const items = Array.isArray(parsed) ? parsed : (parsed as { items?: unknown })?.items;
  const valid = Array.isArray(items) && items.length > 0 && items.every((i) => typeof i?.user === "string" && typeof i?.newDomainName === "string");
  if (!valid) throw new CliFailure(`--items ${file}: must be a non-empty JSON array of {"user": "…", "newDomainName": "…"}`, EXIT.usage);
  return (items as Array<{ user: string; newDomainName: string }>).map(({ user, newDomainName }) => ({ user, newDomainName }));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function remapBulk(ctx: CliContext, o: BulkOptions): Promise<void> {
  const body: BulkRemapRequest = { ...(await selection(o)), dryRun: !o.apply, org: o.org };
  const client = ctx.api();
  const started = await client.remapBulk(body, o.apply ? o.idempotencyKey ?? randomUUID() : undefined);
  const job = o.apply ? await waitForJob(client, started.jobId, o.timeout, ctx) : (started as BulkJob);
  ctx.print(job, () => bulkLines(job, !o.apply));
  jobOutcome(job);
}

function jobOutcome(job: BulkJob): void {
  if (job.state === "failed" || job.state === "completed-with-errors") {
    throw new CliFailure(`bulk job ${job.jobId} ${job.state}${job.error ? `: ${job.error}` : ""}`, EXIT.failed);
  }
}

async function waitForJob(client: AdminApi, jobId: string, timeoutSeconds: number, ctx: CliContext): Promise<BulkJob> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const bar = ctx.io.interactive && !ctx.json() ? new cliProgress.SingleBar({ format: "{bar} {value}/{total} · {state}", stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
  try {
    for (;;) {
      const job = await client.bulkJob(jobId);
      const settled = (job.counts.succeeded ?? 0) + (job.counts.noChange ?? 0) + (job.counts.failed ?? 0) + (job.counts.skipped ?? 0);
      if (bar && !bar.isActive) bar.start(Math.max(1, job.counts.total ?? 1), settled, { state: job.state });
      bar?.update(settled, { state: job.state });
      if (!OPEN_JOB_STATES.includes(job.state)) return job;
      if (Date.now() >= deadline) throw new CliFailure(`bulk job ${jobId} still ${job.state} after ${timeoutSeconds} s; it goes on: bridge remap bulk status ${jobId}`, EXIT.timeout);
      await ctx.sleep(500);
    }
  } finally {
    bar?.stop();
  }
}
