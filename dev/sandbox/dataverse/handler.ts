// HTTP front of the Dataverse emulator: authentication, service protection (429s shaped like
// Dataverse's), common headers, and `$batch` with atomic change sets.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Handler } from "../https-service.js";
import type { Tenant } from "../tenant.js";
import { Authenticator, type OrgAuthenticator } from "./auth.js";
import { parseBatch, renderBatch, type BatchRequestPart, type BatchResponseItem, type OpResponse } from "./batch-codec.js";
import { DataverseError } from "./errors.js";
import { errorResponse, execute, parsePrefer, type OpContext, type Operation } from "./operations.js";
import type { DataverseOrg, JournalEntry } from "./org.js";
import type { SystemUserRecord } from "./schema.js";

const API_PATH = /^\/api\/data\/v9\.\d\/(.*)$/;
const MAX_BATCH_OPERATIONS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `authenticator`: who may call (default: Entra tokens of the tenant; onpremises.ts passes AD FS's). */
export function createDataverseHandler(tenant: Tenant, org: DataverseOrg, options: { authenticator?: OrgAuthenticator } = {}): Handler {
  const auth = options.authenticator ?? new Authenticator(tenant, org);
  const inFlight = new Map<string, number>();
  const windows = new Map<string, number[]>();

  const send = (res: ServerResponse, r: OpResponse) => {
    const headers: Record<string, string | number> = { ...r.headers, "OData-Version": "4.0", "x-ms-dop-hint": String(org.dopHint) };
    headers["REQ_ID"] ??= randomUUID();
    const body = r.body ?? "";
    headers["Content-Length"] = Buffer.byteLength(body);
    res.writeHead(r.status, headers);
    res.end(body);
  };

  /** Dataverse's service protection: concurrency first (immediate), then the request-count window. */
  const throttled = (key: string): DataverseError | null => {
    if ((inFlight.get(key) ?? 0) >= org.concurrencyLimit) {
      return new DataverseError(429, "0x80072326", `Number of concurrent requests exceeded the limit of ${org.concurrencyLimit}.`,
        { "Retry-After": String(org.concurrencyRetryAfterSeconds) });
    }
    const t = org.throttle;
    if (!t) return null;
    const limit = t.limit ?? 6000;
    const window = t.windowSeconds ?? 300;
    const error = () => new DataverseError(429, "0x80072322", `Number of requests exceeded the limit of ${limit} over time window of ${window} seconds.`,
      { "Retry-After": String(t.retryAfterSeconds) });
    if (t.rate !== undefined && org.random() < t.rate) return error();
    if (t.limit !== undefined) {
      const now = Date.now();
      const times = (windows.get(key) ?? []).filter((at) => at > now - window * 1000);
      if (times.length >= limit) { windows.set(key, times); return error(); }
      times.push(now);
      windows.set(key, times);
    }
    return null;
  };

  return async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? "" : url.slice(q + 1);
    const method = req.method ?? "GET";
    const m = API_PATH.exec(pathname);
    if (!m) {
      send(res, errorResponse(new DataverseError(404, "0x80060888", `Resource not found for the segment '${pathname}'.`)));
      return;
    }
    const path = decodeURIComponent(m[1]!);
    countRequest(org, method, path);

    const outcome = await auth.authenticate(req.headers.authorization);
    if (!outcome.ok) {
      if (outcome.status === 401) {
        org.stats.unauthorized++;
        send(res, { status: 401, headers: { "WWW-Authenticate": auth.challenge() } });
      } else {
        org.stats.forbidden++;
        send(res, errorResponse(outcome.error));
      }
      return;
    }
    org.recordCall(outcome.user, method, path);
    const key = outcome.user.systemuserid;
    const limited = throttled(key);
    if (limited) {
      org.stats.throttled++;
      send(res, errorResponse(limited));
      return;
    }
    inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    try {
      if (org.processingMs > 0) await sleep(org.processingMs);
      const headers = lowerHeaders(req.headers);
      const text = body.toString("utf8");
      if (path === "$batch") {
        if (method !== "POST") throw new DataverseError(405, "0x80060888", `The requested resource does not support http method '${method}'.`);
        send(res, runBatch(org, outcome.user, text, headers));
      } else {
        send(res, execute({ method, path, query, headers, body: text }, { org, caller: outcome.user, inBatch: false }));
      }
    } catch (err) {
      if (!(err instanceof DataverseError)) throw err;
      send(res, errorResponse(err));
    } finally {
      inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
    }
  };
}

function countRequest(org: DataverseOrg, method: string, path: string): void {
  const s = org.stats;
  if (path === "$batch") s.batch++;
  else if (method === "GET") s.get++;
  else if (method === "POST") s.post++;
  else if (method === "PATCH") s.patch++;
  else if (method === "DELETE") s.delete++;
}

function lowerHeaders(headers: IncomingMessage["headers"]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

/** Turns a part's request line URL (absolute, `/api/data/…`, relative, `$n/…`) into an operation. */
function toOperation(part: BatchRequestPart, contentIds: Map<string, string>): Operation {
  let url = part.url;
  const ref = /^\$([^/?]+)(.*)$/.exec(url);
  if (ref) {
    const target = contentIds.get(ref[1]!);
    if (!target) throw new DataverseError(400, "0x80060888", `Content-ID Reference: '$${ref[1]}' does not exist in the batch context.`);
    url = target + ref[2];
  }
  if (/^https?:\/\//i.test(url)) {
    const u = new URL(url);
    url = u.pathname + u.search;
  } else if (!url.startsWith("/")) {
    url = `/api/data/v9.2/${url}`;
  }
  const q = url.indexOf("?");
  const m = API_PATH.exec(q < 0 ? url : url.slice(0, q));
  if (!m) throw new DataverseError(404, "0x80060888", `Resource not found for the segment '${url}'.`);
  const headers: Record<string, string | undefined> = { ...part.headers };
  return { method: part.method, path: decodeURIComponent(m[1]!), query: q < 0 ? "" : url.slice(q + 1), headers, body: part.body };
}

/**
 * Runs a `$batch`: parts in order; a change set is atomic (any failure rolls back its earlier writes).
 * Without `Prefer: odata.continue-on-error` the first failure ends the batch: 400 with only that part.
 */
function runBatch(org: DataverseOrg, caller: SystemUserRecord, text: string, headers: Record<string, string | undefined>): OpResponse {
  const items = parseBatch(text, headers["content-type"]);
  const total = items.reduce((n, i) => n + (i.kind === "request" ? 1 : i.requests.length), 0);
  if (total > MAX_BATCH_OPERATIONS) {
    throw new DataverseError(400, "0x80060888", `The current change set contains too many operations. A maximum number of '${MAX_BATCH_OPERATIONS}' operations are allowed in a change set`);
  }
  for (const item of items) {
    if (item.kind === "changeset" && item.requests.some((r) => r.method === "GET")) {
      throw new DataverseError(400, "0x80060888", "A GET request cannot be part of a change set.");
    }
  }
  const continueOnError = parsePrefer(headers.prefer).continueOnError;
  const out: BatchResponseItem[] = [];
  const run = (part: BatchRequestPart, ctx: OpContext): OpResponse => {
    org.stats.batchOperations++;
    try {
      return execute(toOperation(part, ctx.contentIds ?? new Map()), ctx);
    } catch (err) {
      if (err instanceof DataverseError) return errorResponse(err);
      throw err;
    }
  };
  const stop = (failed: BatchResponseItem): OpResponse => {
    const rendered = renderBatch([failed]);
    return { status: 400, headers: { "Content-Type": rendered.contentType }, body: rendered.body };
  };

  for (const item of items) {
    if (item.kind === "request") {
      const response = run(item.request, { org, caller, inBatch: true });
      const entry: BatchResponseItem = { kind: "response", response };
      if (response.status >= 400 && !continueOnError) return stop(entry);
      out.push(entry);
      continue;
    }
    const journal: JournalEntry[] = [];
    const contentIds = new Map<string, string>();
    const parts: Array<{ contentId?: string; response: OpResponse }> = [];
    let failure: BatchResponseItem | null = null;
    for (const request of item.requests) {
      let createdId: string | undefined;
      const response = run(request, { org, caller, inBatch: true, journal, contentIds, created: (id) => { createdId = id; } });
      if (response.status >= 400) {
        failure = { kind: "response", contentId: request.contentId, response };
        break;
      }
      if (request.contentId !== undefined && createdId) contentIds.set(request.contentId, org.entityUrl(createdId));
      parts.push({ contentId: request.contentId, response });
    }
    if (failure) {
      org.rollback(journal);
      if (!continueOnError) return stop(failure);
      out.push(failure);
    } else {
      out.push({ kind: "changeset", parts });
    }
  }
  const rendered = renderBatch(out);
  return { status: 200, headers: { "Content-Type": rendered.contentType }, body: rendered.body };
}
