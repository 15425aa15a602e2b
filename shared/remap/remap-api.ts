// The remap routes' use cases: request schemas, Idempotency-Key handling and the response
// views, so the HTTP adapters in functions/remap.http.ts only parse, call and answer.
import { z } from "zod";
import type { AdminPrincipal } from "../auth/admin-auth.js";
import { AppError } from "../errors/app-error.js";
import { getBulkJob, startBulkJob, type BulkJobView } from "./bulk-jobs.js";
import type { RemapDeps } from "./deps.js";
import { type IdempotencyStore, replayedError, type StoredResponse } from "./idempotency.js";
import { remapUser, type RemapUserResult } from "./remap-user.js";

const name = z.string().trim().min(1, "must not be empty").max(1024, "must be at most 1024 characters");
const org = z.string().trim().url("must be an org URL").max(2048);

export const remapBody = z.strictObject({ user: name, newDomainName: name, dryRun: z.boolean().optional(), org: org.optional() });

const rule = z.union([
  z.strictObject({ fromSuffix: name, toSuffix: name }),
  z.strictObject({ fromPrefix: name, toPrefix: name }),
], { message: "must be {fromSuffix, toSuffix} or {fromPrefix, toPrefix}" });

export const bulkBody = z.strictObject({
  items: z.array(z.strictObject({ user: name, newDomainName: name })).min(1, "must not be empty").max(20_000, "must hold at most 20000 items").optional(),
  rule: rule.optional(),
  dryRun: z.boolean().optional(),
  org: org.optional(),
}).refine((b) => (b.items === undefined) !== (b.rule === undefined), { message: "give either items or rule", path: ["items"] });

export interface ApiAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface ApiCall {
  principal: AdminPrincipal;
  /** The Idempotency-Key header, if any. */
  idempotencyKey?: string;
  /** Absolute URL of the bulk status route for a job id. */
  statusUrl: (jobId: string) => string;
  log: (line: string) => void;
}

/** The composition root's remap services (shared/bridge.ts): the dependencies (with this call's log) and the idempotency store. */
export interface RemapApi {
  deps(overrides: Partial<RemapDeps>): RemapDeps;
  idempotency: IdempotencyStore;
}

const requester = (p: AdminPrincipal) => `app:${p.appId}/oid:${p.objectId}`;
/** Runs `fn` under the Idempotency-Key when there is one: a repeat gets the stored answer. */
async function idempotent(idempotency: IdempotencyStore, call: ApiCall, scope: string, body: unknown, fn: () => Promise<StoredResponse>): Promise<ApiAnswer> {
  if (!call.idempotencyKey) return fn();
  const r = await idempotency.run(`${scope}:${call.principal.appId}`, call.idempotencyKey, body, fn);
  if (r.replayed) {
    const refusal = replayedError(r);
    if (refusal) throw refusal;
  }
  return { status: r.status, body: r.body, headers: r.replayed ? { "idempotency-replayed": "true" } : {} };
}

function remapView(r: RemapUserResult): Record<string, unknown> {
  return {
    systemUserId: r.systemUserId, from: r.from, to: r.to, steps: r.steps, org: r.org, objectId: r.objectId,
    changed: r.changed, dryRun: r.dryRun, ...(r.operationId ? { operationId: r.operationId } : {}),
  };
}

function bulkView(view: BulkJobView): Record<string, unknown> {
  return {
    ...view,
    plan: view.plan.map((i) => ({
      user: i.user, systemUserId: i.systemUserId, from: i.from, to: i.to, objectId: i.objectId, action: i.action, conflicts: i.conflicts,
      outcome: i.outcome, ...(i.code ? { code: i.code, message: i.message } : {}), ...(i.operationId ? { operationId: i.operationId } : {}),
    })),
  };
}

export function remapOne(body: z.output<typeof remapBody>, call: ApiCall, api: RemapApi): Promise<ApiAnswer> {
  const deps = api.deps({ log: call.log });
  return idempotent(api.idempotency, call, "remap", body, async () => ({
    status: 200,
    body: remapView(await remapUser({ ...body, requestedBy: requester(call.principal), source: "api" }, deps)),
  }));
}

export function remapBulk(body: z.output<typeof bulkBody>, call: ApiCall, api: RemapApi): Promise<ApiAnswer> {
  const deps = api.deps({ log: call.log });
  return idempotent(api.idempotency, call, "remap-bulk", body, async () => {
    const selection = body.rule ? { rule: body.rule } : { items: body.items! };
    const { jobId, view } = await startBulkJob({ selection, dryRun: !!body.dryRun, org: body.org, requestedBy: requester(call.principal) }, deps);
    const url = call.statusUrl(jobId);
    if (view) return { status: 200, body: { jobId, statusUrl: url, ...bulkView(view) } };
    return { status: 202, body: { jobId, statusUrl: url } };
  });
}

export async function bulkStatus(jobId: string, call: Pick<ApiCall, "statusUrl" | "log">, api: Pick<RemapApi, "deps">): Promise<ApiAnswer> {
  const notFound = new AppError(`No bulk remap job "${jobId.slice(0, 80)}".`, 404, "job_not_found");
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(jobId)) throw notFound;
  const view = await getBulkJob(jobId.toLowerCase(), api.deps({ log: call.log }));
  if (!view) throw notFound;
  return { status: 200, body: { statusUrl: call.statusUrl(view.jobId), ...bulkView(view) } };
}
