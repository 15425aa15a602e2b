import { describe, expect, it } from "vitest";
import type { AxiosAdapter, AxiosRequestConfig, AxiosResponse } from "axios";
import { backoffDelay, DataverseHttp, DEFAULT_RETRY, parseRetryAfter, type GetToken } from "../../shared/dataverse/http.js";
import { AdaptiveLimiter, OrgThrottle } from "../../shared/dataverse/limiter.js";
import { type DataverseError, isDataverseError } from "../../shared/dataverse/errors.js";

const ORG = "https://contoso.crm.dynamics.com";
const TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-part.sig";

type Reply = { status: number; headers?: Record<string, string>; body?: unknown } | { networkError: string };

/** A scripted network: each request takes the next reply (the last one repeats). */
function harness(replies: Reply[], options: { random?: () => number; throttle?: OrgThrottle; clock?: { t: number } } = {}) {
  const shared = options.clock ?? { t: 1_000_000 };
  const sleeps: number[] = [];
  const sent: Array<{ config: AxiosRequestConfig; at: number }> = [];
  const tokenCalls: Array<{ scope: string; forceRefresh?: boolean }> = [];
  let n = 0;
  const adapter: AxiosAdapter = async (config) => {
    sent.push({ config, at: shared.t });
    const reply = replies[Math.min(n++, replies.length - 1)]!;
    // Like an AxiosError, it carries the request config (Authorization header included).
    if ("networkError" in reply) throw Object.assign(new Error("socket hang up"), { code: reply.networkError, config });
    const data = reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
    return { data, status: reply.status, statusText: "", headers: reply.headers ?? {}, config, request: {} } as AxiosResponse;
  };
  const getToken: GetToken = async (scope, o) => { tokenCalls.push({ scope, forceRefresh: o?.forceRefresh }); return o?.forceRefresh ? `${TOKEN}-fresh` : TOKEN; };
  const http = new DataverseHttp({
    orgUrl: ORG,
    getToken,
    adapter,
    throttle: options.throttle ?? new OrgThrottle(),
    random: options.random ?? (() => 0.5),
    now: () => shared.t,
    sleep: async (ms, signal) => { signal?.throwIfAborted(); sleeps.push(ms); shared.t += ms; },
  });
  return { http, sleeps, sent, tokenCalls, now: () => shared.t };
}

const throttled = (retryAfter?: number): Reply => ({
  status: 429,
  headers: retryAfter === undefined ? {} : { "retry-after": String(retryAfter) },
  body: { error: { code: "0x80072322", message: "Number of requests exceeded the limit of 6000 over time window of 300 seconds." } },
});
const ok = (body: unknown = { value: [] }): Reply => ({ status: 200, headers: { "content-type": "application/json; odata.metadata=minimal" }, body });

describe("back-off math", () => {
  it("is full jitter over base·2^(n−1), capped at 60 s", () => {
    expect(backoffDelay(1, DEFAULT_RETRY, () => 0.999999)).toBe(999);
    expect(backoffDelay(3, DEFAULT_RETRY, () => 0.5)).toBe(2000);
    expect(backoffDelay(7, DEFAULT_RETRY, () => 0.999999)).toBe(59_999);
    expect(backoffDelay(30, DEFAULT_RETRY, () => 0.999999)).toBe(59_999);
    expect(backoffDelay(4, DEFAULT_RETRY, () => 0)).toBe(0);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(parseRetryAfter("1", 0)).toBe(1000);
    expect(parseRetryAfter(" 30 ", 0)).toBe(30_000);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
    expect(parseRetryAfter("soon", 0)).toBeUndefined();
  });
});

describe("DataverseHttp retries", () => {
  it("sends the Web API headers, a bearer token for <org>/.default, and If-None-Match: null on reads", async () => {
    const h = harness([ok()]);
    await h.http.send({ kind: "list", method: "GET", url: "systemusers?$select=domainname" });
    const headers = h.sent[0]!.config.headers as Record<string, string>;
    expect(headers.Accept).toBe("application/json");
    expect(headers["OData-MaxVersion"]).toBe("4.0");
    expect(headers["OData-Version"]).toBe("4.0");
    expect(headers["If-None-Match"]).toBe("null");
    expect(headers.Authorization).toBe(`Bearer ${TOKEN}`);
    expect(h.sent[0]!.config.url).toBe(`${ORG}/api/data/v9.2/systemusers?$select=domainname`);
    expect(h.tokenCalls[0]!.scope).toBe(`${ORG}/.default`);
  });

  it("waits exactly Retry-After on 429, then succeeds", async () => {
    const h = harness([throttled(3), ok()]);
    const res = await h.http.send({ kind: "list", method: "GET", url: "systemusers" });
    expect(res.status).toBe(200);
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]!.at - h.sent[0]!.at).toBeGreaterThanOrEqual(3000);
    expect(h.http.stats).toMatchObject({ requests: 2, retries: 1, throttled: 1, byKind: { list: 2 } });
  });

  it("backs off exponentially with jitter when Retry-After is absent (429 and 503)", async () => {
    const h = harness([throttled(), { status: 503 }, throttled(), ok()], { random: () => 0.5 });
    await h.http.send({ kind: "get", method: "GET", url: "systemusers" });
    expect(h.sleeps).toEqual([500, 1000, 2000]);
    expect(h.http.stats).toMatchObject({ throttled: 2, unavailable: 1, retries: 3 });
  });

  it("gives up after maxAttempts with a DataverseError carrying the code, never the token or the query", async () => {
    const h = harness([throttled(1)]);
    const err = await h.http.send({ kind: "find", method: "GET", url: "systemusers?$filter=domainname%20eq%20'secret'" }).catch((e: unknown) => e);
    expect(isDataverseError(err)).toBe(true);
    const e = err as DataverseError;
    expect(h.sent).toHaveLength(DEFAULT_RETRY.maxAttempts);
    expect(e).toMatchObject({ statusCode: 429, dataverseCode: "0x80072322", method: "GET", url: `${ORG}/api/data/v9.2/systemusers` });
    expect(e.message).toContain("GET");
    expect(e.message).toContain("/api/data/v9.2/systemusers");
    expect(e.message).toContain("429");
    expect(e.message).toContain("0x80072322");
    expect(e.message).not.toContain("secret");
    expect(JSON.stringify({ ...e, message: e.message })).not.toContain(TOKEN);
    // Every retry waited its Retry-After: no two requests closer than 1 s.
    for (let i = 1; i < h.sent.length; i++) expect(h.sent[i]!.at - h.sent[i - 1]!.at).toBeGreaterThanOrEqual(1000);
  });

  it("retries network resets with back-off, but not other failures", async () => {
    const h = harness([{ networkError: "ECONNRESET" }, ok()]);
    await h.http.send({ kind: "get", method: "GET", url: "systemusers" });
    expect(h.sent).toHaveLength(2);
    expect(h.sleeps).toEqual([500]);
    expect(h.http.stats.networkErrors).toBe(1);

    const h2 = harness([{ networkError: "ENOTFOUND" }, ok()]);
    const err = await h2.http.send({ kind: "get", method: "GET", url: "systemusers" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 0, dataverseCode: "ENOTFOUND" });
    expect(h2.sent).toHaveLength(1);
    // The cause must not carry the request config (with its Authorization header).
    const { inspect } = await import("node:util");
    expect(inspect(err, { depth: 10 })).not.toContain(TOKEN);
  });

  it("on 401 fetches a fresh token and retries once", async () => {
    const h = harness([{ status: 401 }, ok()]);
    await h.http.send({ kind: "get", method: "GET", url: "systemusers" });
    expect(h.tokenCalls.map((c) => c.forceRefresh)).toEqual([undefined, true]);
    expect((h.sent[1]!.config.headers as Record<string, string>).Authorization).toBe(`Bearer ${TOKEN}-fresh`);

    const h2 = harness([{ status: 401, body: { error: { code: "0x80072560", message: "The user is not a member of the organization." } } }]);
    const err = await h2.http.send({ kind: "get", method: "GET", url: "systemusers" }).catch((e: unknown) => e);
    expect(h2.sent).toHaveLength(2);
    expect(err).toMatchObject({ statusCode: 401, dataverseCode: "0x80072560" });
    expect((err as Error).message).not.toContain(TOKEN);
  });

  it("maps other errors without retrying, and returns accepted statuses", async () => {
    const h = harness([{ status: 404, body: { error: { code: "0x80040217", message: "SystemUser With Id = x Does Not Exist" } } }]);
    await expect(h.http.send({ kind: "get", method: "GET", url: "systemusers(x)" })).rejects.toMatchObject({ statusCode: 404, dataverseCode: "0x80040217" });
    expect(h.sent).toHaveLength(1);
    const h2 = harness([{ status: 404 }]);
    expect((await h2.http.send({ kind: "get", method: "GET", url: "x", accept: (s) => s === 404 })).status).toBe(404);
  });

  it("is abortable while backing off", async () => {
    const controller = new AbortController();
    const h = harness([throttled()]);
    const throttle = new OrgThrottle();
    const http = new DataverseHttp({
      orgUrl: ORG, getToken: async () => TOKEN, throttle,
      adapter: async (config) => { h.sent.push({ config, at: 0 }); return { data: "", status: 429, statusText: "", headers: {}, config, request: {} } as AxiosResponse; },
      sleep: (_ms, signal) => new Promise((_r, reject) => { signal?.addEventListener("abort", () => reject(signal.reason)); queueMicrotask(() => controller.abort(new Error("stop"))); }),
    });
    await expect(http.send({ kind: "get", method: "GET", url: "x", signal: controller.signal })).rejects.toThrow("stop");
    expect(h.sent).toHaveLength(1);
  });

  it("refuses to send the token to another origin", async () => {
    const h = harness([ok()]);
    await expect(h.http.send({ kind: "list", method: "GET", url: "https://evil.example/api/data/v9.2/systemusers" })).rejects.toThrow(/another origin/);
    expect(h.sent).toHaveLength(0);
  });

  it("a Retry-After holds back every request to the org, not just the throttled one", async () => {
    const throttle = new OrgThrottle();
    const clock = { t: 1_000_000 };
    const h = harness([throttled(5), ok()], { throttle, clock });
    await h.http.send({ kind: "a", method: "GET", url: "x" });
    expect(throttle.notBefore).toBe(h.sent[0]!.at + 5000);
    // Another client of the same org, while a later 429 holds the org for 2 s.
    const h2 = harness([ok()], { throttle, clock });
    throttle.pauseUntil(clock.t + 2000);
    await h2.http.send({ kind: "b", method: "GET", url: "x" });
    expect(h2.sleeps).toEqual([2000]);
    expect(h2.sent[0]!.at).toBe(throttle.notBefore);
  });

  it("caps concurrency at x-ms-dop-hint", async () => {
    const throttle = new OrgThrottle({ initial: 8, max: 32 });
    const h = harness([{ status: 200, headers: { "x-ms-dop-hint": "3" }, body: { value: [] } }], { throttle });
    await h.http.send({ kind: "a", method: "GET", url: "x" });
    expect(throttle.limiter.limit).toBe(3);
  });
});

describe("AdaptiveLimiter", () => {
  const tick = () => new Promise((r) => setImmediate(r));

  it("starts modest, never exceeds its limit, and frees slots on release", async () => {
    const limiter = new AdaptiveLimiter({ initial: 2, max: 10 });
    const releases: Array<() => void> = [];
    for (let i = 0; i < 5; i++) void limiter.acquire().then((r) => releases.push(r));
    await tick();
    expect(limiter.inFlight).toBe(2);
    expect(limiter.queued).toBe(3);
    releases.shift()!();
    releases.shift()!();
    await tick();
    expect(limiter.inFlight).toBe(2);
    expect(limiter.queued).toBe(1);
  });

  it("ramps up one slot per window of successes, up to min(max, dop hint), and halves on 429", () => {
    const limiter = new AdaptiveLimiter({ initial: 2, max: 6 });
    for (let i = 0; i < 100; i++) limiter.onSuccess();
    expect(limiter.limit).toBe(6);
    limiter.onThrottled();
    expect(limiter.limit).toBe(3);
    limiter.onThrottled();
    limiter.onThrottled();
    limiter.onThrottled();
    expect(limiter.limit).toBe(1);
    limiter.setDopHint(4);
    for (let i = 0; i < 100; i++) limiter.onSuccess();
    expect(limiter.limit).toBe(4);
    limiter.setDopHint(2);
    expect(limiter.limit).toBe(2);
  });

  it("a background request gets a slot only once no other request waits for one; aborted, it leaves the queue", async () => {
    const limiter = new AdaptiveLimiter({ initial: 1, max: 1 });
    const first = await limiter.acquire();
    const order: string[] = [];
    const releases: Array<() => void> = [];
    const take = (name: string, background: boolean) => void limiter.acquire(undefined, background).then((release) => { order.push(name); releases.push(release); });
    take("background 1", true);
    take("foreground 1", false);
    take("background 2", true);
    take("foreground 2", false);
    await tick();
    expect(limiter.queued).toBe(4);
    first();
    for (let i = 0; i < 4; i++) {
      await tick();
      releases.shift()!();
    }
    await tick();
    expect(order).toEqual(["foreground 1", "foreground 2", "background 1", "background 2"]);
    const held = await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal, true);
    controller.abort(new Error("gone"));
    await expect(waiting).rejects.toThrow("gone");
    expect(limiter.queued).toBe(0);
    held();
  });

  it("a queued acquire can be aborted", async () => {
    const limiter = new AdaptiveLimiter({ initial: 1 });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error("gone"));
    await expect(waiting).rejects.toThrow("gone");
    expect(limiter.queued).toBe(0);
  });
});

describe("DataverseHttp credential failures", () => {
  it("propagates a getToken error unchanged and sends nothing", async () => {
    const sent: unknown[] = [];
    const boom = new Error("AADSTS7000215: Invalid client secret provided.");
    const http = new DataverseHttp({
      orgUrl: ORG, throttle: new OrgThrottle(), getToken: async () => { throw boom; },
      adapter: async (config) => { sent.push(config); return { data: "", status: 200, statusText: "", headers: {}, config, request: {} } as AxiosResponse; },
    });
    await expect(http.send({ kind: "get", method: "GET", url: "x" })).rejects.toBe(boom);
    expect(sent).toHaveLength(0);
    expect(http.throttle.limiter.inFlight).toBe(0);
  });
});
