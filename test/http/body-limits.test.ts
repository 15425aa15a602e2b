// Body limits are enforced while reading (issue #11 item 5): a declared Content-Length over the limit is refused
// before a byte is read, and a chunked body stops being read once it passes the limit — in the shared reader
// (JSON endpoints, notifications, the token form) and in the local host.
import { request as httpRequest } from "node:http";
import { HttpRequest } from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installFunctionsCore } from "../../dev/local-host/functions-core.js";
import type { LocalHost } from "../../dev/local-host/host.js";
import { MAX_BODY_BYTES, readBodyBytes } from "../../shared/http/json-body.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";

const CHUNK = 64 * 1024;

/** A request whose body is an endless-looking stream of `total` bytes, counting what the reader pulled. */
function streamingRequest(total: number, headers: Record<string, string> = {}, url = "http://127.0.0.1:7071/api/sync") {
  const pulled = { bytes: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled.bytes >= total) return controller.close();
      pulled.bytes += CHUNK;
      controller.enqueue(new Uint8Array(CHUNK).fill(0x20));
    },
  }, { highWaterMark: 0 });
  const nativeRequest = new Request(url, { method: "POST", headers, body, duplex: "half" } as RequestInit);
  return { request: new HttpRequest({ method: "POST", url, nativeRequest, params: {} } as unknown as ConstructorParameters<typeof HttpRequest>[0]), pulled };
}

describe("readBodyBytes", () => {
  it("a declared Content-Length over the limit is refused before reading", async () => {
    const { request, pulled } = streamingRequest(60 * 1024 * 1024, { "content-length": String(60 * 1024 * 1024), "content-type": "application/json" });
    await expect(readBodyBytes(request)).rejects.toMatchObject({ status: 413, code: "body_too_large" });
    expect(pulled.bytes).toBe(0);
  });

  it("a chunked 60 MB body stops being read just past the limit", async () => {
    const { request, pulled } = streamingRequest(60 * 1024 * 1024, { "content-type": "application/json" });
    await expect(readBodyBytes(request)).rejects.toMatchObject({ status: 413 });
    expect(pulled.bytes).toBeLessThanOrEqual(MAX_BODY_BYTES + 2 * CHUNK);
  });

  it("a body within the limit is read whole", async () => {
    const { request } = streamingRequest(4 * CHUNK);
    expect((await readBodyBytes(request)).length).toBe(4 * CHUNK);
  });
});

describe("with the bridge", () => {
  let env: BridgeEnvironment;
  let host: LocalHost;
  beforeAll(async () => {
    installFunctionsCore();
    env = await startBridgeEnvironment({});
    const { startLocalHost } = await import("../../dev/local-host/host.js");
    host = await startLocalHost({ port: 0, timers: false, storageConnectionString: env.azurite.connectionString, log: () => undefined });
  });
  afterAll(async () => {
    await host?.close();
    await env?.stop();
  });

  it("POST /api/token stops reading a chunked form body past its 64 KiB limit (413, an OAuth invalid_request)", async () => {
    const { token } = await import("../../functions/token.http.js");
    const { request, pulled } = streamingRequest(60 * 1024 * 1024, { "content-type": "application/x-www-form-urlencoded" }, "http://127.0.0.1:7071/api/token");
    const { InvocationContext } = await import("@azure/functions");
    const res = await token(request, new InvocationContext({ invocationId: "t", functionName: "token" }));
    expect(res.status).toBe(413);
    expect((res.jsonBody as { error: string }).error).toBe("invalid_request");
    expect(pulled.bytes).toBeLessThanOrEqual(64 * 1024 + 2 * CHUNK);
  });

  /** Sends `total` bytes in 64 KiB chunks (chunked unless `declare`), stopping when the answer arrives. */
  function sendLarge(path: string, total: number, declare = false): Promise<{ status: number; body: string; sent: number }> {
    return new Promise((resolve, reject) => {
      const url = new URL(path, host.url);
      const headers: Record<string, string> = { "content-type": path.endsWith("token") ? "application/x-www-form-urlencoded" : "application/json" };
      if (declare) headers["content-length"] = String(total);
      let sent = 0;
      let answered = false;
      const req = httpRequest(url, { method: "POST", headers }, (res) => {
        answered = true;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => { body += d; });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, sent }));
        res.on("error", reject);
      });
      req.on("error", (error) => { if (!answered) reject(error); });
      const chunk = Buffer.alloc(CHUNK, 0x20);
      const pump = () => {
        while (!answered && sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        if (!answered && !declare) req.end();
      };
      if (declare) req.flushHeaders(); else pump();
    });
  }

  it("the local host refuses a declared 60 MB body with 413 before reading it, in the route's own error format", async () => {
    const res = await sendLarge("/api/notifications", 60 * 1024 * 1024, true);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ status: 413 });
    expect(res.sent).toBe(0);
    const token = await sendLarge("/api/token", 60 * 1024 * 1024, true);
    expect(token.status).toBe(413);
    expect(JSON.parse(token.body)).toEqual({ error: "invalid_request", error_description: expect.any(String) });
    expect(token.sent).toBe(0);
  });

  it("the local host stops reading a chunked 60 MB body at its limit: refused (admin routes authenticate first), not buffered whole", async () => {
    for (const [path, status] of [["/api/sync", 401], ["/api/token", 413], ["/api/notifications", 413]] as const) {
      const res = await sendLarge(path, 60 * 1024 * 1024);
      expect(res.status, path).toBe(status);
      expect(res.sent, path).toBeLessThan(16 * 1024 * 1024);
    }
    const token = await sendLarge("/api/token", 2 * 1024 * 1024);
    expect([token.status, JSON.parse(token.body).error]).toEqual([413, "invalid_request"]);
    expect((await fetch(`${host.url}/api/health`)).status).toBe(200);
  });
});
