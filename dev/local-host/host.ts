// The local Functions host: serves the functions' own registrations (HTTP routes, timers on their NCRONTAB
// schedule, storage-queue triggers) without Azure Functions Core Tools. Registration comes from
// `@azure/functions` itself through the functions-core stand-in, so Azure and this host share one definition.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Cron } from "croner";
import { hooks, installFunctionsCore, registrations, type RegisteredFunction } from "./functions-core.js";
import { invocationContext, triggerOf } from "./invocation.js";
import { RouteTable } from "./routes.js";
import { lightRequest } from "./light-request.js";
import { maxPollingIntervalMs, startQueueWorkers, type QueueWorkers } from "./queues.js";
import { MAX_BODY_BYTES } from "../../shared/http/json-body.js";

/**
 * The host's own request-body cap (Azure's host has one too: FUNCTIONS_REQUEST_BODY_SIZE_LIMIT). No route takes
 * more than 1 MiB, so a larger body is refused here while reading instead of being buffered whole first.
 */
const HOST_MAX_BODY_BYTES = MAX_BODY_BYTES;

export interface LocalHostOptions {
  port?: number;
  host?: string;
  functionsDir?: string;
  /** Storage connection string for queue triggers. */
  storageConnectionString?: string;
  log?: (line: string) => void;
  /** Start timers (off in tests that drive timers by hand). */
  timers?: boolean;
}

export interface LocalHost {
  url: string;
  functions: RegisteredFunction[];
  /** Invoke a timer function now, as its schedule would. */
  runTimer(name: string): Promise<void>;
  close(): Promise<void>;
}

type HttpModule = typeof import("@azure/functions");

const resolveSetting = (value: string): string =>
  value.replace(/%([^%]+)%/g, (_, name: string) => {
    const setting = process.env[name];
    if (setting === undefined) throw new Error(`app setting ${name} (used as %${name}%) is not set`);
    return setting;
  });

export async function startLocalHost(options: LocalHostOptions = {}): Promise<LocalHost> {
  const log = options.log ?? ((line: string) => console.log(line));
  installFunctionsCore();
  const functionsDir = resolve(options.functionsDir ?? "functions");
  // .mjs: the deployment bundle (index.mjs) when its package directory is served.
  const files = readdirSync(functionsDir).filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith(".d.ts")).sort();
  for (const file of files) await import(pathToFileURL(join(functionsDir, file)).href);
  const functions = [...registrations];
  // The worker runs appStart hooks once the app's files are loaded.
  for (const hook of hooks.filter((h) => h.hookName === "appStart")) await hook.callback({ hookData: {}, appHookData: {}, functionAppDirectory: process.cwd(), hostVersion: "4.0.0-local" });
  const lib: HttpModule = await import("@azure/functions");

  const routes = new RouteTable<RegisteredFunction>();
  const timers: Cron[] = [];
  const queueFunctions: Array<{ fn: RegisteredFunction; queueName: string }> = [];
  for (const fn of functions) {
    const trigger = triggerOf(fn);
    if (trigger.type === "httpTrigger") {
      routes.add(String(trigger.route ?? fn.name), (trigger.methods as string[] | undefined) ?? ["GET", "POST"], fn);
    } else if (trigger.type === "timerTrigger") {
      if (options.timers !== false) {
        const schedule = resolveSetting(String(trigger.schedule));
        timers.push(new Cron(schedule, { protect: true }, () => invokeTimer(lib, fn, log)));
        if (trigger.runOnStartup) void invokeTimer(lib, fn, log);
      }
    } else if (trigger.type === "queueTrigger") {
      queueFunctions.push({ fn, queueName: resolveSetting(String(trigger.queueName)) });
    } else {
      log(`[local-host] ${fn.name}: trigger ${trigger.type} is not served locally`);
    }
  }

  if (queueFunctions.length > 0 && !options.storageConnectionString) throw new Error("queue-triggered functions need a storage connection string");
  // Queue listeners and the HTTP listener start side by side, as in the Functions host.
  const startingQueues: Promise<QueueWorkers | undefined> = queueFunctions.length > 0
    ? startQueueWorkers(lib, queueFunctions, options.storageConnectionString!, log, maxPollingIntervalMs(readHostJson(functionsDir)))
    : Promise.resolve(undefined);

  const server: Server = createServer((req, res) => {
    void serveHttp(lib, routes, req, res, log).catch((error: unknown) => {
      log(`[local-host] ${req.method} ${req.url}: ${(error as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ type: "about:blank", title: "Internal Server Error", status: 500, detail: "local host failure" }));
    });
  });
  server.keepAliveTimeout = 5_000;
  const listening = new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(options.port ?? 7071, options.host ?? "127.0.0.1", () => ok());
  });
  const [queues] = await Promise.all([startingQueues, listening]).catch(async (error: unknown) => {
    server.close();
    await startingQueues.then((started) => started?.stop(), () => undefined);
    throw error;
  });
  const address = server.address() as AddressInfo;
  const url = `http://${options.host ?? "127.0.0.1"}:${address.port}`;
  const restorePublicBaseUrl = adoptLocalAddress(url);
  log(`[local-host] ${functions.length} functions: ${functions.map((f) => `${f.name} (${triggerOf(f).type})`).join(", ")}`);

  return {
    url,
    functions,
    runTimer: async (name) => {
      const fn = functions.find((f) => f.name === name);
      if (!fn) throw new Error(`no function ${name}`);
      await invokeTimer(lib, fn, log, true);
    },
    close: async () => {
      for (const timer of timers) timer.stop();
      await queues?.stop();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      restorePublicBaseUrl();
    },
  };
}

/** The app's host.json: beside the functions (a deployment package), else in the project root (functions/..). */
function readHostJson(functionsDir: string): unknown {
  for (const path of [join(functionsDir, "host.json"), join(functionsDir, "..", "host.json")]) {
    if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as unknown;
  }
  return undefined;
}

/**
 * Locally the app's public origin is the host's own address: without PUBLIC_BASE_URL, the address
 * this host listens on becomes it (the port may have been chosen by the system). Returns the undo for close().
 */
function adoptLocalAddress(url: string): () => void {
  if (process.env.PUBLIC_BASE_URL?.trim()) return () => undefined;
  // Before any invocation: the adapters' bridge (functions/bridge.ts) reads the environment at its first use.
  process.env.PUBLIC_BASE_URL = url;
  return () => {
    if (process.env.PUBLIC_BASE_URL === url) delete process.env.PUBLIC_BASE_URL;
  };
}

async function invokeTimer(lib: HttpModule, fn: RegisteredFunction, log: (line: string) => void, rethrow = false): Promise<void> {
  const now = new Date().toISOString();
  try {
    await fn.handler({ isPastDue: false, scheduleStatus: { last: now, next: now, lastUpdated: now } }, invocationContext(lib, fn, log));
  } catch (error) {
    log(`[local-host] timer ${fn.name} failed: ${(error as Error).message}`);
    if (rethrow) throw error;
  }
}

/**
 * The body as the socket delivered it (pieces, not copied into one buffer: a function that refuses at the first
 * piece never pays for the rest), or undefined once it passes `limit` (declared or while reading: the rest is
 * never read).
 */
async function readCappedBody(req: IncomingMessage, limit: number): Promise<Buffer[] | undefined> {
  if (Number(req.headers["content-length"] ?? "0") > limit) return undefined;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total <= limit) return void chunks.push(chunk);
      // Stop reading (not `destroy`: the 413 still has to go out on this socket).
      req.off("data", onData).off("end", onEnd).pause();
      resolve(undefined);
    };
    const onEnd = () => resolve(chunks);
    req.on("data", onData).on("end", onEnd).once("error", reject);
  });
}

/**
 * Past the host's limit the function still answers (each route's own cap refuses it, in its own error format: an
 * OAuth error on /api/token, problem+json elsewhere): it gets no body and a Content-Length over every route's cap.
 * Once answered, the rest of the body is discarded as it arrives (never buffered), and the connection is cut if it
 * goes on for long: closing at once would reset a client still writing before it could read the answer.
 */
function oversizedRequestHeaders(req: IncomingMessage, headers: Headers, res: ServerResponse): void {
  headers.set("content-length", String(Math.max(Number(req.headers["content-length"]) || 0, HOST_MAX_BODY_BYTES + 1)));
  headers.delete("transfer-encoding");
  res.once("finish", () => {
    let discarded = 0;
    const cut = setTimeout(() => req.socket.destroy(), 5_000).unref();
    req.on("data", (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > 16 * HOST_MAX_BODY_BYTES) req.socket.destroy();
    }).once("end", () => clearTimeout(cut)).resume();
  });
}

/** As App Service's front end does: the peer's address is appended to X-Forwarded-For (the throttle's source). */
function forwardedFor(req: IncomingMessage, headers: Headers): void {
  const peer = req.socket.remoteAddress?.replace(/^::ffff:/, "");
  if (!peer) return;
  const sent = headers.get("x-forwarded-for");
  headers.set("x-forwarded-for", sent ? `${sent}, ${peer}` : peer);
}

async function serveHttp(lib: HttpModule, routes: RouteTable<RegisteredFunction>, req: IncomingMessage, res: ServerResponse, log: (line: string) => void): Promise<void> {
  const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
  const problem = (status: number, title: string) => {
    res.writeHead(status, { "content-type": "application/problem+json" });
    res.end(JSON.stringify({ type: "about:blank", title, status, detail: `${req.method} ${url.pathname}` }));
  };
  if (!url.pathname.startsWith("/api/")) return problem(404, "Not Found");
  const { match, pathMatched } = routes.match(req.method ?? "GET", url.pathname.slice("/api/".length));
  if (!match) return problem(pathMatched ? 405 : 404, pathMatched ? "Method Not Allowed" : "Not Found");

  const body = await readCappedBody(req, HOST_MAX_BODY_BYTES);
  const requestHeaders = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) requestHeaders.set(name, Array.isArray(value) ? value.join(", ") : value);
  forwardedFor(req, requestHeaders);
  if (!body) oversizedRequestHeaders(req, requestHeaders, res);
  const method = req.method ?? "GET";
  const request = new lib.HttpRequest({
    method,
    url: url.href,
    nativeRequest: lightRequest(method, url.href, requestHeaders, body ?? []),
    params: match.params,
  } as ConstructorParameters<typeof lib.HttpRequest>[0]);
  const result = await match.target.handler(request, invocationContext(lib, match.target, log));
  if (result instanceof lib.HttpResponse || !isPlainInit(result)) {
    const response = result instanceof lib.HttpResponse ? result : new lib.HttpResponse((result ?? {}) as ConstructorParameters<typeof lib.HttpResponse>[0]);
    const out: Record<string, string> = {};
    response.headers.forEach((value, name) => { out[name] = value; });
    const bytes = Buffer.from(await response.arrayBuffer());
    res.writeHead(response.status, { ...out, "content-length": String(bytes.length) });
    res.end(bytes);
    return;
  }
  // The common case (a plain HttpResponseInit with a JSON or string body), written directly.
  const init = (result ?? {}) as { status?: number; headers?: Record<string, string> | Headers; jsonBody?: unknown; body?: string | Uint8Array };
  const headers: Record<string, string> = {};
  if (init.headers instanceof Headers) init.headers.forEach((value, name) => { headers[name] = value; });
  else for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = String(value);
  // Text stays a string: Node then sends the head and the body in one write instead of a writev of two buffers.
  let payload: string | Buffer;
  if (init.jsonBody !== undefined) {
    payload = JSON.stringify(init.jsonBody);
    headers["content-type"] ??= "application/json";
  } else if (typeof init.body === "string") {
    payload = init.body;
    headers["content-type"] ??= "text/plain;charset=UTF-8";
  } else {
    payload = init.body ? Buffer.from(init.body) : Buffer.alloc(0);
  }
  res.writeHead(init.status ?? 200, { ...headers, "content-length": String(Buffer.byteLength(payload)) });
  res.end(payload);
}

function isPlainInit(result: unknown): boolean {
  if (result === undefined || result === null) return true;
  const body = (result as { body?: unknown }).body;
  return body === undefined || typeof body === "string" || body instanceof Uint8Array;
}
