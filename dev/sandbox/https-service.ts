// One HTTPS listener on loopback for one emulated service, with the knobs tests need:
// added latency, injected 429/503 faults, a fault schedule (throttling, slow answers, connection resets),
// and a log of every request received.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { SandboxTls } from "./tls.js";

export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  /** Epoch ms when the request arrived (before any injected latency). */
  at: number;
  /** Status answered, once known. */
  status?: number;
  /** Epoch ms when the answer was sent (after any injected latency). */
  answeredAt?: number;
  /** Epoch ms when the emulator finished handling it, also when the client had gone meanwhile. */
  handledAt?: number;
  /** The client's id for the logical request (`x-ms-client-request-id` or `client-request-id`): the same on its retries. */
  clientRequestId?: string;
  /** Who sent it: a short hash of its Authorization header (one per token, so per client process). */
  caller?: string;
  /** The `Retry-After` (seconds) the answer carried, whoever decided it (a fault or the emulator itself). */
  retryAfterSeconds?: number;
  /** A fault the schedule injected into this request. */
  injected?: InjectedFault["kind"];
}

/** What a fault schedule does to one request: answer a status (with Retry-After), answer late, or drop the connection. */
export type InjectedFault =
  | { kind: "status"; status: 429 | 503; retryAfterSeconds?: number; body?: unknown }
  | { kind: "slow"; delayMs: number }
  | { kind: "reset" };

/** Decides, per request, whether to inject a fault (null: serve it normally). */
export type FaultSchedule = (req: IncomingMessage, body: Buffer) => InjectedFault | null;

export interface FaultRule {
  /** Share of matching requests that fail, 0..1. */
  rate: number;
  status: 429 | 503;
  /** Sent as `Retry-After` (seconds) when set. */
  retryAfterSeconds?: number;
  /** Limit the rule to some requests. */
  match?: (req: IncomingMessage) => boolean;
  /** Body to send with the fault (JSON). */
  body?: unknown;
}

export class ServiceKnobs {
  latencyMs = 0;
  fault: FaultRule | null = null;
  /** Consulted for every request after `latencyMs` (before `fault`): the soak's seeded fault injection. */
  schedule: FaultSchedule | null = null;
  readonly requests: RecordedRequest[] = [];
  /** When set, a deterministic sequence replaces Math.random for fault decisions. */
  random: () => number = Math.random;

  count(predicate: (r: RecordedRequest) => boolean = () => true): number {
    return this.requests.filter(predicate).length;
  }
  reset(): void {
    this.latencyMs = 0;
    this.fault = null;
    this.schedule = null;
    this.requests.length = 0;
  }
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface RunningService {
  url: string;
  port: number;
  knobs: ServiceKnobs;
  server: Server;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export async function readBody(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error("body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const callerOf = (authorization: string | undefined) => (authorization ? createHash("sha256").update(authorization).digest("hex").slice(0, 12) : undefined);

/** Records the Retry-After of the answer, whichever code path writes its head. */
function recordRetryAfter(res: ServerResponse, record: RecordedRequest): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = ((...args: unknown[]) => {
    const headers = args.find((a): a is Record<string, unknown> => typeof a === "object" && a !== null && !Array.isArray(a));
    const name = headers && Object.keys(headers).find((k) => k.toLowerCase() === "retry-after");
    if (name) record.retryAfterSeconds = Number(headers[name]);
    return writeHead(...args);
  }) as ServerResponse["writeHead"];
}

/** Applies a scheduled fault; true when the request was answered (or dropped) by it. */
async function applyScheduled(name: string, injected: InjectedFault, res: ServerResponse, record: RecordedRequest): Promise<boolean> {
  record.injected = injected.kind;
  if (injected.kind === "slow") {
    await sleep(injected.delayMs);
    return false;
  }
  if (injected.kind === "reset") {
    res.socket?.destroy();
    return true;
  }
  const headers: Record<string, string> = injected.retryAfterSeconds !== undefined ? { "retry-after": String(injected.retryAfterSeconds) } : {};
  sendJson(res, injected.status, injected.body ?? { error: { code: injected.status === 429 ? "TooManyRequests" : "ServiceUnavailable", message: `${name}: injected ${injected.status}` } }, headers);
  return true;
}

export async function startHttpsService(
  tls: SandboxTls,
  name: string,
  handler: Handler,
  options: { port?: number; knobs?: ServiceKnobs } = {},
): Promise<RunningService> {
  const knobs = options.knobs ?? new ServiceKnobs();
  const server = createServer({ cert: tls.certPem, key: tls.keyPem, keepAlive: true }, (req, res) => {
    const record: RecordedRequest = { method: req.method ?? "GET", url: req.url ?? "/", at: Date.now() };
    const clientRequestId = req.headers["x-ms-client-request-id"] ?? req.headers["client-request-id"];
    if (typeof clientRequestId === "string") record.clientRequestId = clientRequestId;
    record.caller = callerOf(req.headers.authorization);
    knobs.requests.push(record);
    recordRetryAfter(res, record);
    res.on("finish", () => { record.status = res.statusCode; record.answeredAt = Date.now(); });
    void (async () => {
      const body = await readBody(req);
      if (knobs.latencyMs > 0) await sleep(knobs.latencyMs);
      const injected = knobs.schedule?.(req, body);
      if (injected && (await applyScheduled(name, injected, res, record))) return;
      const fault = knobs.fault;
      if (fault && (!fault.match || fault.match(req)) && knobs.random() < fault.rate) {
        const headers: Record<string, string> = {};
        if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
        sendJson(res, fault.status, fault.body ?? { error: { code: fault.status === 429 ? "TooManyRequests" : "ServiceUnavailable", message: `${name}: injected ${fault.status}` } }, headers);
        return;
      }
      await handler(req, res, body);
    })().finally(() => { record.handledAt = Date.now(); }).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: "SandboxFault", message: `${name}: ${(err as Error).message}` } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    knobs,
    server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
