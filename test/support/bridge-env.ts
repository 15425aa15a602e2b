// Integration-test harness: the sandbox tenant + Azurite, with process.env pointing the bridge at them.
// Each vitest file runs in a fresh worker process, so the bridge's lazily-built singletons see this env.
import { HttpRequest, InvocationContext, type HttpResponseInit } from "@azure/functions";
import { startAzurite, type RunningAzurite } from "../../dev/sandbox/azurite.js";
import type { Sandbox, SandboxOptions } from "../../dev/sandbox/sandbox.js";
import { startTestSandbox } from "./sandbox.js";

export interface BridgeEnvironment {
  sandbox: Sandbox;
  azurite: RunningAzurite;
  stop(): Promise<void>;
}

export async function startBridgeEnvironment(options: SandboxOptions & { env?: Record<string, string> } = {}): Promise<BridgeEnvironment> {
  const [sandbox, azurite] = await Promise.all([startTestSandbox(options), startAzurite()]);
  const previous = { ...process.env };
  Object.assign(process.env, sandbox.env, { AzureWebJobsStorage: azurite.connectionString }, options.env);
  return {
    sandbox,
    azurite,
    stop: async () => {
      process.env = previous;
      await Promise.all([sandbox.stop(), azurite.stop()]);
    },
  };
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
  params?: Record<string, string>;
  query?: Record<string, string>;
}

/** Calls an exported HTTP handler the way the host would, and returns status, headers and parsed body. */
export async function callHandler(
  handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>,
  url: string,
  options: CallOptions = {},
): Promise<{ status: number; headers: Record<string, string>; body: any; text: string }> {
  const headers: Record<string, string> = { ...options.headers };
  let body: { string: string } | { bytes: Buffer } | undefined;
  if (Buffer.isBuffer(options.body)) body = { bytes: options.body };
  else if (typeof options.body === "string") body = { string: options.body };
  else if (options.body !== undefined) {
    body = { string: JSON.stringify(options.body) };
    headers["content-type"] ??= "application/json";
  }
  const full = new URL(url, "http://127.0.0.1:7071");
  for (const [k, v] of Object.entries(options.query ?? {})) full.searchParams.set(k, v);
  const request = new HttpRequest({ method: options.method ?? "GET", url: full.href, headers, body, params: options.params ?? {}, query: Object.fromEntries(full.searchParams) });
  const logs: string[] = [];
  const context = new InvocationContext({ invocationId: "test", functionName: "test", logHandler: (_level, ...args) => logs.push(args.join(" ")) });
  const result = await handler(request, context);
  const responseHeaders: Record<string, string> = {};
  const rawHeaders = result.headers as Record<string, string> | Headers | undefined;
  if (rawHeaders instanceof Headers) rawHeaders.forEach((v, k) => { responseHeaders[k.toLowerCase()] = v; });
  else for (const [k, v] of Object.entries(rawHeaders ?? {})) responseHeaders[k.toLowerCase()] = String(v);
  const text = result.jsonBody !== undefined ? JSON.stringify(result.jsonBody) : typeof result.body === "string" ? result.body : result.body ? String(result.body) : "";
  if (result.jsonBody !== undefined) responseHeaders["content-type"] ??= "application/json";
  let parsed: unknown = text;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { /* plain text */ }
  return { status: result.status ?? 200, headers: responseHeaders, body: parsed, text };
}
