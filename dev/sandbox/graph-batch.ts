// JSON batching (learn.microsoft.com/graph/json-batching): POST /v1.0/$batch with up to 20 requests, each answered
// in `responses` with its own status, headers and body. The sandbox serves the reads clients batch (users by id,
// `users?$filter=id in (…)`); any other sub-request answers 400 in its own slot, as Graph answers a bad one.
// Sub-requests carry no Authorization of their own: the batch's caller is theirs.
import type { IncomingMessage } from "node:http";
import { GraphHttpError, QueryOptions } from "./graph-odata.js";
import { getUser, listUsers, type GraphReadView } from "./graph-read.js";

/** Graph's limit on requests in one batch. */
export const MAX_BATCH_REQUESTS = 20;

interface BatchRequest {
  id: string;
  method: string;
  url: string;
}

interface BatchResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export function runBatch(emulator: GraphReadView, req: IncomingMessage, payload: Record<string, unknown>): { responses: BatchResponse[] } {
  const requests = parseRequests(payload);
  return { responses: requests.map((r) => answer(emulator, req, r)) };
}

function parseRequests(payload: Record<string, unknown>): BatchRequest[] {
  const raw = payload.requests;
  if (!Array.isArray(raw) || raw.length === 0) throw new GraphHttpError(400, "BadRequest", "Invalid batch payload format: 'requests' must be a non-empty array.");
  if (raw.length > MAX_BATCH_REQUESTS) throw new GraphHttpError(400, "BadRequest", `The number of batch requests exceeds the limit of ${MAX_BATCH_REQUESTS}.`);
  const ids = new Set<string>();
  return raw.map((item: unknown) => {
    const r = (item ?? {}) as Record<string, unknown>;
    if (typeof r.id !== "string" || r.id === "" || typeof r.method !== "string" || typeof r.url !== "string") {
      throw new GraphHttpError(400, "BadRequest", "Invalid batch payload format: every request needs string 'id', 'method' and 'url'.");
    }
    if (ids.has(r.id)) throw new GraphHttpError(400, "BadRequest", `Batch request ids must be unique: '${r.id}' repeats.`);
    ids.add(r.id);
    return { id: r.id, method: r.method.toUpperCase(), url: r.url };
  });
}

function answer(emulator: GraphReadView, req: IncomingMessage, request: BatchRequest): BatchResponse {
  const headers = { "content-type": "application/json; charset=utf-8" };
  try {
    const url = new URL(request.url.replace(/^\/?(v1\.0\/)?/, "/v1.0/"), "https://graph.invalid");
    const segments = url.pathname.split("/").slice(2).map(decodeURIComponent);
    if (request.method !== "GET" || segments[0] !== "users" || segments.length > 2) {
      throw new GraphHttpError(400, "BadRequest", `The sandbox batches only GET /users and GET /users/{id}, not ${request.method} ${url.pathname}.`);
    }
    const q = new QueryOptions(url.searchParams);
    if (segments.length === 2) return { id: request.id, status: 200, headers, body: getUser(emulator, segments[1]!, q) };
    return { id: request.id, status: 200, headers, body: listUsers(emulator, req, q, url)[0] };
  } catch (error) {
    if (!(error instanceof GraphHttpError)) throw error;
    return { id: request.id, status: error.status, headers: { ...headers, ...error.headers }, body: { error: { code: error.code, message: error.message } } };
  }
}
