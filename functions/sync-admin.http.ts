import { app } from "@azure/functions";
import { json } from "../shared/http/handlers.js";
import { adminRoute, bridge } from "./bridge.js";
import { readJsonBody } from "../shared/http/json-body.js";
import { parseQuery, withQuery } from "../shared/http/query.js";
import { pageOfChanges } from "../shared/sync/run-report.js";
import { changePageQuery, runListQuery, startSyncBody } from "../shared/sync/sync-api.js";


const statusUrl = (runId: string) => bridge().link(`/api/sync/runs/${encodeURIComponent(runId)}`);

/** POST /api/sync: queue a run for one org (409 with the running run id while one runs). */
export const startSync = adminRoute(async (request, _context, principal) => {
  const body = await readJsonBody(request, startSyncBody, { allowEmpty: true });
  const run = await bridge().syncRuns.start({ ...body, trigger: `api:${principal.appId}` });
  return json(202, { runId: run.runId, statusUrl: statusUrl(run.runId), org: run.org, mode: run.mode, dryRun: run.dryRun });
});

/** GET /api/sync/runs/{runId}[?offset=&limit=]: the run's report, its change list in pages (a dry run lists every user). */
export const getSyncRun = adminRoute(async (request) => {
  const page = parseQuery(changePageQuery, request);
  const report = pageOfChanges(await bridge().syncRuns.get(request.params.runId ?? ""), page);
  return json(200, { ...report, ...(report.changesNext ? { changesNext: withQuery(bridge().config.publicBaseUrl, request, report.changesNext) } : {}) });
});

/** POST /api/sync/runs/{runId}/approve: let a run halted by the disable threshold go on. */
export const approveSyncRun = adminRoute(async (request, _context, principal) => {
  const run = await bridge().syncRuns.approve(request.params.runId ?? "", principal.appId);
  return json(202, { runId: run.runId, statusUrl: statusUrl(run.runId), approvedBy: principal.appId });
});

/** GET /api/sync/runs[?org=&limit=]: the newest runs, newest first, without their change lists. */
export const listSyncRuns = adminRoute(async (request) => json(200, { runs: await bridge().syncRuns.list(parseQuery(runListQuery, request)) }));

/** GET /api/sync/status: per-org state, last run, cursor age, next scheduled run. */
export const syncStatus = adminRoute(async () => json(200, { orgs: await bridge().syncRuns.status() }));

app.http("syncStart", { methods: ["POST"], route: "sync", authLevel: "anonymous", handler: startSync });
app.http("syncRuns", { methods: ["GET"], route: "sync/runs", authLevel: "anonymous", handler: listSyncRuns });
app.http("syncRun", { methods: ["GET"], route: "sync/runs/{runId}", authLevel: "anonymous", handler: getSyncRun });
app.http("syncApprove", { methods: ["POST"], route: "sync/runs/{runId}/approve", authLevel: "anonymous", handler: approveSyncRun });
app.http("syncStatus", { methods: ["GET"], route: "sync/status", authLevel: "anonymous", handler: syncStatus });
