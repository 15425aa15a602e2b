// POST /api/users/remap, POST /api/users/remap/bulk, GET /api/users/remap/bulk/{jobId} (contract §2, §4):
// thin adapters over shared/remap.
import { app, type HttpRequest, type HttpResponseInit } from "@azure/functions";
import { z } from "zod";
import type { AdminPrincipal } from "../shared/auth/admin-auth.js";
import { AppError } from "../shared/errors/app-error.js";
import { adminRoute, json } from "../shared/http/handlers.js";
import { readJsonBody } from "../shared/http/json-body.js";
import { getBulkJob, startBulkJob, type BulkJobView } from "../shared/remap/bulk-jobs.js";
import { defaultRemapDeps } from "../shared/remap/deps.js";
import { IdempotencyStore, replayedError, type StoredResponse } from "../shared/remap/idempotency.js";
import { remapUser, type RemapUserResult } from "../shared/remap/remap-user.js";

const name = z.string().trim().min(1, "must not be empty").max(1024, "must be at most 1024 characters");
const org = z.string().trim().url("must be an org URL").max(2048);

const remapBody = z.strictObject({ user: name, newDomainName: name, dryRun: z.boolean().optional(), org: org.optional() });

const rule = z.union([
  z.strictObject({ fromSuffix: name, toSuffix: name }),
  z.strictObject({ fromPrefix: name, toPrefix: name }),
], { message: "must be {fromSuffix, toSuffix} or {fromPrefix, toPrefix}" });

const bulkBody = z.strictObject({
  items: z.array(z.strictObject({ user: name, newDomainName: name })).min(1, "must not be empty").max(20_000, "must hold at most 20000 items").optional(),
  rule: rule.optional(),
  dryRun: z.boolean().optional(),
  org: org.optional(),
}).refine((b) => (b.items === undefined) !== (b.rule === undefined), { message: "give either items or rule", path: ["items"] });

const requester = (p: AdminPrincipal) => `app:${p.appId}/oid:${p.objectId}`;
const idempotency = new IdempotencyStore();

/** Runs `fn` under the Idempotency-Key header when there is one. */
async function idempotent(request: HttpRequest, principal: AdminPrincipal, scope: string, body: unknown, fn: () => Promise<StoredResponse>): Promise<HttpResponseInit> {
  const key = request.headers.get("idempotency-key");
  if (!key) {
    const r = await fn();
    return json(r.status, r.body);
  }
  const r = await idempotency.run(`${scope}:${principal.appId}`, key, body, fn);
  if (r.replayed) {
    const refusal = replayedError(r);
    if (refusal) throw refusal;
  }
  return json(r.status, r.body, r.replayed ? { "idempotency-replayed": "true" } : {});
}

function remapView(r: RemapUserResult): Record<string, unknown> {
  return {
    systemUserId: r.systemUserId, from: r.from, to: r.to, steps: r.steps, org: r.org, objectId: r.objectId,
    changed: r.changed, dryRun: r.dryRun, ...(r.operationId ? { operationId: r.operationId } : {}),
  };
}

export const remapUserHandler = adminRoute(async (request, context, principal) => {
  const body = await readJsonBody(request, remapBody);
  const deps = defaultRemapDeps({ log: (line) => context.warn(line) });
  return idempotent(request, principal, "remap", body, async () => ({
    status: 200,
    body: remapView(await remapUser({ ...body, requestedBy: requester(principal), source: "api" }, deps)),
  }));
});

const statusUrl = (request: HttpRequest, jobId: string) => new URL(`/api/users/remap/bulk/${jobId}`, request.url).href;

function bulkView(view: BulkJobView): Record<string, unknown> {
  return {
    ...view,
    plan: view.plan.map((i) => ({
      user: i.user, systemUserId: i.systemUserId, from: i.from, to: i.to, objectId: i.objectId, action: i.action, conflicts: i.conflicts,
      outcome: i.outcome, ...(i.code ? { code: i.code, message: i.message } : {}), ...(i.operationId ? { operationId: i.operationId } : {}),
    })),
  };
}

export const remapBulkHandler = adminRoute(async (request, context, principal) => {
  const body = await readJsonBody(request, bulkBody);
  const deps = defaultRemapDeps({ log: (line) => context.warn(line) });
  return idempotent(request, principal, "remap-bulk", body, async () => {
    const selection = body.rule ? { rule: body.rule } : { items: body.items! };
    const { jobId, view } = await startBulkJob({ selection, dryRun: !!body.dryRun, org: body.org, requestedBy: requester(principal) }, deps);
    const url = statusUrl(request, jobId);
    if (view) return { status: 200, body: { jobId, statusUrl: url, ...bulkView(view) } };
    return { status: 202, body: { jobId, statusUrl: url } };
  });
});

export const remapBulkStatusHandler = adminRoute(async (request, context) => {
  const jobId = request.params.jobId ?? "";
  const notFound = new AppError(`No bulk remap job "${jobId.slice(0, 80)}".`, 404, "job_not_found");
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(jobId)) throw notFound;
  const view = await getBulkJob(jobId.toLowerCase(), defaultRemapDeps({ log: (line) => context.warn(line) }));
  if (!view) throw notFound;
  return json(200, { statusUrl: statusUrl(request, view.jobId), ...bulkView(view) });
});

app.http("remapUser", { methods: ["POST"], route: "users/remap", authLevel: "anonymous", handler: remapUserHandler });
app.http("remapBulk", { methods: ["POST"], route: "users/remap/bulk", authLevel: "anonymous", handler: remapBulkHandler });
app.http("remapBulkStatus", { methods: ["GET"], route: "users/remap/bulk/{jobId}", authLevel: "anonymous", handler: remapBulkStatusHandler });
