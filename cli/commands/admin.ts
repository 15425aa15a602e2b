// user <id> [sync], ready, callers [provision <id>], subscription, access.
import type { Command } from "commander";
import { ApiError, type Readiness } from "../../client/admin-api.js";
import { accessLines, userLines } from "../access.js";
import type { CliContext } from "../context.js";
import { CliFailure, EXIT } from "../exit-codes.js";

export function addAdminCommands(root: Command, ctx: CliContext): void {
  addUserCommands(root, ctx);
  root.command("ready").description("readiness of every dependency (exit 3 when not ready)").action(async () => ready(ctx));
  const callers = root.command("callers").description("each S2S caller's status per org; callers provision <id>").action(async () => {
    const list = await ctx.api().callers();
    ctx.print(list, () => list.callers.flatMap((c) => [
      `${c.id}  ${c.name ?? ""}${c.healthy === false ? "  UNHEALTHY" : ""}`,
      ...(c.orgs ?? []).map((o) => `  ${o.org}  identity ${o.identity}  application user ${o.applicationUser.present ? (o.applicationUser.enabled === false ? "disabled" : "present") : "missing"}${o.problems.map((p) => `\n    ${p.cause}: ${p.detail} Fix: ${p.fix}`).join("")}`),
    ]));
  });
  callers.command("provision <id>").description("create the caller's missing application users and role assignments")
    .option("--dry-run", "show what would be created")
    .action(async (id: string, o: { dryRun?: boolean }) => {
      const result = await ctx.api().provisionCaller(id, Boolean(o.dryRun)) as { actions?: Array<Record<string, unknown>>; problems?: Array<Record<string, unknown>>; dryRun?: boolean };
      ctx.print(result, () => [
        `${result.dryRun ? "would provision" : "provisioned"} caller ${id}: ${result.actions?.length ?? 0} action(s)`,
        ...(result.actions ?? []).map((a) => `  ${String(a.org)}  ${String(a.action)}${a.role ? ` ${String(a.role)}` : ""}${a.done ? "" : " (not done)"}`),
        ...(result.problems ?? []).map((p) => `  problem ${String(p.org)}: ${String(p.cause)}: ${String(p.detail)}`),
      ]);
    });
  root.command("subscription").description("Graph change notifications: on or off, the subscription and its expiry").action(async () => {
    const s = await ctx.api().subscription();
    ctx.print(s, () => [`notifications ${s.enabled ? "on" : "off"}${s.notificationUrl ? `  ${s.notificationUrl}` : ""}`,
      s.subscription ? `  subscription ${s.subscription.subscriptionId}  ${s.subscription.resource}  expires ${s.subscription.expirationDateTime} (in ${s.subscription.expiresInSeconds} s)` : "  no subscription"]);
  });
  root.command("access").description("each org's ACCESS_RULES resolved: group, business unit, roles and teams with their ids, or each problem and its fix (exit 1 on a problem)").action(async () => {
    const access = await ctx.api().access();
    ctx.print(access, () => accessLines(access));
    const problems = access.orgs.reduce((n, o) => n + o.problems.length + (o.error ? 1 : 0), 0);
    if (problems > 0) throw new CliFailure(`${problems} access rule problem(s)`, EXIT.error);
  });
}

function addUserCommands(root: Command, ctx: CliContext): void {
  const user = root.command("user").description("a directory user beside each org's records: user <objectId|UPN>, user sync <objectId|UPN>")
    .argument("[id]", "the user's object id or UPN")
    .action(async (id: string | undefined) => {
      if (!id) throw new CliFailure("user needs <objectId|UPN> (or: bridge user sync <objectId|UPN>)", EXIT.usage);
      const lookup = await ctx.api().lookUpUser(id);
      ctx.print(lookup, () => userLines(lookup));
    });
  user.command("sync <id>").description("sync one user now, in every org").action(async (id: string) => {
    const result = await ctx.api().syncUser(id);
    ctx.print(result, () => [`${result.user.userPrincipalName ?? result.user.id}${result.user.found ? "" : " (not in the directory)"}`,
      ...result.orgs.map((o) => `  ${o.org}  ${o.change.action}`)]);
  });
}


async function ready(ctx: CliContext): Promise<void> {
  let result: Readiness;
  try {
    result = await ctx.api().ready();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 503 && Array.isArray(error.problem.checks))) throw error;
    result = error.problem as unknown as Readiness;
    ctx.print(result, () => readyLines(result));
    throw new CliFailure(`not ready: ${error.message}`, EXIT.http);
  }
  ctx.print(result, () => readyLines(result));
}

function readyLines(result: Readiness): string[] {
  return [`${result.ready ? "ready" : "NOT READY"}  (checked ${result.checkedAt})`,
    ...result.checks.map((c) => `  ${c.ok ? "ok  " : "FAIL"}  ${c.name}  ${c.durationMs} ms${c.cause ? `  ${c.cause}` : ""}${c.detail ? `: ${c.detail}` : ""}`)];
}


