// The one Dataverse retry policy over real HTTP (a loopback server scripting each answer): 429 with Retry-After,
// 503 without, 401 (one retry with a fresh token) and a dropped connection, through a single request and through
// a `$batch` — whole-request faults and throttled parts alike.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DataverseClient } from "../../shared/dataverse/client.js";
import { decodeBatchRequest, encodeBatchResponse, type EncodedResponsePart } from "../../shared/dataverse/batch-codec.js";
import { DataverseHttp } from "../../shared/dataverse/http.js";
import { OrgThrottle } from "../../shared/dataverse/limiter.js";

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
type Step = (req: IncomingMessage, body: string, res: ServerResponse) => void;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Step => (_req, _body, res) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};
const tooMany = json(429, { error: { code: "0x80072322", message: "Number of requests exceeded the limit." } }, { "retry-after": "2" });
const unavailable = json(503, { error: { code: "ServiceUnavailable", message: "busy" } });
const unauthorized = json(401, { error: { code: "0x80072560", message: "token expired" } });
const dropConnection: Step = (req) => req.socket.destroy();
/** Answers a $batch with each part's status from `statuses` (in order of the parts sent). */
const batchAnswer = (statuses: number[]): Step => (req, body, res) => {
  const parts = decodeBatchRequest(String(req.headers["content-type"]), body);
  const answer = (contentId: string | undefined, status: number): EncodedResponsePart => status === 204
    ? { contentId, status }
    : { contentId, status, headers: status === 429 ? { "Retry-After": "3" } : {}, body: { error: { code: "0x80072322", message: "throttled part" } } };
  const encoded = encodeBatchResponse(parts.map((p, i) => ({ kind: "changeset" as const, responses: [answer(p.contentId, statuses[i]!)] })));
  res.writeHead(200, { "content-type": encoded.contentType });
  res.end(encoded.body);
};

let server: Server;
let orgUrl: string;
let script: Step[] = [];
const seen: Array<{ method: string; url: string; authorization: string; parts: number }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const parts = req.url?.endsWith("$batch") ? decodeBatchRequest(String(req.headers["content-type"]), body).length : 0;
      seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: String(req.headers.authorization), parts });
      const step = script.shift();
      if (!step) return json(500, { error: { code: "NoScript", message: "unscripted request" } })(req, body, res);
      step(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  orgUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => { await new Promise((resolve) => server.close(resolve)); });
beforeEach(() => { script = []; seen.length = 0; });

/** A fake clock the injected sleep advances; tokens numbered, fresh ones only on forceRefresh. */
function harness() {
  let clock = 1_000_000;
  let issued = 0;
  const waits: number[] = [];
  const throttle = new OrgThrottle();
  const options = {
    orgUrl, throttle, random: () => 0, now: () => clock,
    sleep: async (ms: number) => { waits.push(ms); clock += ms; },
    getToken: async (_scope: string, o?: { forceRefresh?: boolean }) => (o?.forceRefresh || issued === 0 ? `token-${++issued}` : `token-${issued}`),
  };
  return { options, waits, throttle };
}

describe("Dataverse retry policy, one implementation for single requests and $batch", () => {
  it("a single request rides out 429 (Retry-After pauses the org), 503 (back-off), 401 (fresh token) and a dropped connection", async () => {
    const { options, waits, throttle } = harness();
    const http = new DataverseHttp(options);
    script = [tooMany, unavailable, unauthorized, dropConnection, json(200, { UserId: id(7) })];

    const res = await http.send({ kind: "whoami", method: "GET", url: "WhoAmI" });

    expect(res.json()).toEqual({ UserId: id(7) });
    expect(seen).toHaveLength(5);
    // The Retry-After became a pause for the whole org, waited out before the next attempt.
    expect(throttle.notBefore).toBe(1_000_000 + 2000);
    expect(waits[0]).toBe(2000);
    // After the 401 (and only then) a fresh token was asked for and sent.
    expect(seen.map((s) => s.authorization)).toEqual(["Bearer token-1", "Bearer token-1", "Bearer token-1", "Bearer token-2", "Bearer token-2"]);
    expect(http.stats).toMatchObject({ requests: 5, retries: 4, throttled: 1, unavailable: 1, networkErrors: 1 });
  });

  it("gives up after maxAttempts with the server's Retry-After on the error", async () => {
    const { options } = harness();
    const http = new DataverseHttp({ ...options, retry: { maxAttempts: 2 } });
    script = [tooMany, tooMany];
    await expect(http.send({ kind: "get", method: "GET", url: "systemusers" })).rejects.toMatchObject({ statusCode: 429, dataverseCode: "0x80072322", retryAfterSeconds: 2 });
    expect(http.stats).toMatchObject({ requests: 2, retries: 1, throttled: 2 });
  });

  it("a $batch rides out the same faults on the whole request, then resends only its throttled parts", async () => {
    const { options, throttle } = harness();
    const client = new DataverseClient({ ...options, businessUnitId: id(999) });
    const writes = [1, 2, 3].map((n) => ({ kind: "update" as const, systemUserId: id(n), columns: { jobtitle: `T${n}` } }));
    script = [
      tooMany, unavailable, unauthorized, dropConnection,
      batchAnswer([204, 429, 503]), // write 1 done; 2 and 3 throttled inside their parts
      batchAnswer([204, 204]),
    ];

    const results = await client.applyWrites(writes);

    expect(results.map((r) => [r.ok, r.status])).toEqual([[true, 204], [true, 204], [true, 204]]);
    expect(seen.map((s) => s.parts)).toEqual([3, 3, 3, 3, 3, 2]);
    expect(seen.at(-1)!.authorization).toBe("Bearer token-2");
    // The part's Retry-After paused the org as a whole-request one does.
    expect(throttle.notBefore).toBeGreaterThanOrEqual(1_000_000 + 3000);
    // One throttled answer per round: the whole-request 429, then the round whose parts were throttled.
    expect(client.stats).toMatchObject({ requests: 6, retries: 5, throttled: 2, unavailable: 1, networkErrors: 1, batchedOperations: 5 });
  });

  it("a $batch whose parts stay throttled ends with those parts' answers once attempts run out", async () => {
    const { options } = harness();
    const client = new DataverseClient({ ...options, businessUnitId: id(999), retry: { maxAttempts: 2 } });
    const writes = [1, 2].map((n) => ({ kind: "update" as const, systemUserId: id(n), columns: { jobtitle: `T${n}` } }));
    script = [batchAnswer([204, 429]), batchAnswer([429])];
    const results = await client.applyWrites(writes);
    expect(results.map((r) => [r.ok, r.status])).toEqual([[true, 204], [false, 429]]);
    expect(seen.map((s) => s.parts)).toEqual([2, 1]);
  });
});
