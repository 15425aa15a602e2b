// The HTTP layer for one org: axios with Dataverse's headers (dataverse-web-api.md §1), a bearer token per
// request, 429/503/network retries that honour Retry-After (else exponential back-off with full jitter),
// the org's shared concurrency limiter, one token refresh on 401, and request accounting.
import { randomUUID } from "node:crypto";
import axios, { type AxiosAdapter, type AxiosInstance, type AxiosResponse } from "axios";
import { untrustedCertificateCode, untrustedCertificateHint, type OnPremisesCa } from "../credentials/onprem-ca.js";
import { DataverseError, errorBodyParts } from "./errors.js";
import { OrgThrottle } from "./limiter.js";
import { dataverseAttempt, dataverseRetryWait, dataverseThrottledPart, tracedDataverseRequest } from "../telemetry/dataverse.js";
import { errorMessage, systemCode } from "../errors/app-error.js";

export type GetToken = (scope: string, options?: { forceRefresh?: boolean }) => Promise<string>;
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 60_000 };

export interface DataverseHttpOptions {
  orgUrl: string;
  getToken: GetToken;
  /** Shared per org by default. */
  throttle?: OrgThrottle;
  maxConcurrency?: number;
  initialConcurrency?: number;
  retry?: Partial<RetryPolicy>;
  sleep?: Sleep;
  random?: () => number;
  now?: () => number;
  timeoutMs?: number;
  apiVersion?: string;
  /** Replaces the network (unit tests script responses with it). */
  adapter?: AxiosAdapter;
  /** An on-premises org's TLS trust: its private CA bundle's agent (undefined without a bundle: Node's default trust). */
  onPremisesCa?: Pick<OnPremisesCa, "httpsAgent" | "configured">;
}

export interface HttpRequest {
  /** Accounting label: "list", "get", "update", "batch", … */
  kind: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Relative to the API base (`systemusers?…`) or an absolute URL on the org's origin (a nextLink). */
  url: string;
  headers?: Record<string, string>;
  /** Object → JSON; string → sent as is (give the Content-Type). */
  body?: unknown;
  signal?: AbortSignal;
  /** Statuses returned rather than thrown (default: 2xx). */
  accept?: (status: number) => boolean;
}

export interface HttpResponse {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  text: string;
  json<T = unknown>(): T;
}

export interface DataverseRequestStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  byKind: Record<string, number>;
  retries: number;
  /** 429 answers received. */
  throttled: number;
  /** 503 answers received. */
  unavailable: number;
  networkErrors: number;
  /** Writes carried inside `$batch` requests. */
  batchedOperations: number;
}

export const emptyStats = (): DataverseRequestStats => ({ requests: 0, byKind: {}, retries: 0, throttled: 0, unavailable: 0, networkErrors: 0, batchedOperations: 0 });

export const defaultSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => { clearTimeout(timer); reject(signal!.reason); };
    const timer = setTimeout(() => { signal?.removeEventListener("abort", onAbort); resolve(); }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** Full jitter: uniform in [0, min(cap, base·2^(retry−1))]; `retry` counts from 1. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/** `Retry-After` as milliseconds: delta-seconds (Dataverse) or an HTTP date; undefined when absent/invalid. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const RETRYABLE_NETWORK = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "EAI_AGAIN", "ERR_SOCKET_CONNECTION_TIMEOUT", "UND_ERR_SOCKET"]);

/** One attempt's outcome: a response, or the network failure. */
type Sent = { res: AxiosResponse<string>; failure?: undefined } | { res?: undefined; failure: unknown };

function headerRecord(res: AxiosResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers ?? {})) {
    if (v === undefined || v === null || typeof v === "function") continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : String(v);
  }
  return out;
}

export class DataverseHttp {
  readonly orgUrl: string;
  readonly apiBase: string;
  readonly scope: string;
  readonly throttle: OrgThrottle;
  readonly stats: DataverseRequestStats = emptyStats();
  private readonly axios: AxiosInstance;
  private readonly policy: RetryPolicy;
  private readonly getToken: GetToken;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly onPremisesCa?: Pick<OnPremisesCa, "httpsAgent" | "configured">;

  constructor(options: DataverseHttpOptions) {
    this.onPremisesCa = options.onPremisesCa;
    this.orgUrl = new URL(options.orgUrl).origin;
    this.apiBase = `${this.orgUrl}/api/data/v${options.apiVersion ?? "9.2"}/`;
    this.scope = `${this.orgUrl}/.default`;
    this.getToken = options.getToken;
    this.throttle = options.throttle ?? new OrgThrottle({ max: options.maxConcurrency, initial: options.initialConcurrency });
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.axios = axios.create({
      baseURL: this.apiBase,
      timeout: options.timeoutMs ?? 120_000,
      maxRedirects: 0,
      responseType: "text",
      // We parse bodies ourselves: $batch answers are multipart text, and errors must not throw in axios.
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      transitional: { clarifyTimeoutError: true },
      ...(options.adapter ? { adapter: options.adapter } : {}),
    });
  }

  /** Absolute URL of a request path (nextLinks must stay on the org: the bearer token goes with them). */
  resolve(url: string): string {
    const absolute = new URL(url, this.apiBase);
    if (absolute.origin !== this.orgUrl) throw new Error(`refusing to send the org's token to another origin (${absolute.origin})`);
    return absolute.href;
  }

  send(request: HttpRequest): Promise<HttpResponse> {
    return tracedDataverseRequest(this.orgUrl, request.kind, request.method, () => this.sendWithRetries(request));
  }

  /** The retry loop: network errors and 429/503 are retried with back-off (Retry-After honoured), a 401 once with a fresh token. */
  private async sendWithRetries(request: HttpRequest): Promise<HttpResponse> {
    const url = this.resolve(request.url);
    const accept = request.accept ?? ((s: number) => s >= 200 && s < 300);
    let attempt = 0;
    let forceRefresh = false;
    let refreshed = false;
    // One id per logical request, the same on each retry (as Azure clients send it): ties retries together in logs.
    const clientRequestId = randomUUID();
    for (;;) {
      attempt++;
      await this.waitNotBefore(request.signal);
      const release = await this.throttle.limiter.acquire(request.signal);
      let sent: Sent;
      try {
        sent = await this.sendOnce(request, url, clientRequestId, forceRefresh);
      } finally {
        // Released here, not inside sendOnce: what follows up to a Retry-After pause runs in this same tick, so no
        // request waiting for the limiter is sent before the pause is set.
        release();
      }
      forceRefresh = false;
      if (!sent.res) {
        await this.retryAfterNetworkError(sent.failure, attempt, request, url);
        continue;
      }
      const { status } = sent.res;
      const { headers, text } = this.received(request, sent.res);

      if (status === 401 && !refreshed) {
        refreshed = true;
        forceRefresh = true;
        this.stats.retries++;
        continue;
      }
      if (status === 429 || status === 503) {
        await this.retryWhenThrottled(attempt, request, url, status, headers, text);
        continue;
      }
      this.throttle.limiter.onSuccess();
      if (accept(status)) return { status, headers, text, json: <T>() => (text.trim() === "" ? undefined : JSON.parse(text)) as T };
      throw this.error(request.method, url, status, text);
    }
  }

  /** One attempt, holding the org's limiter: the response, or the network failure (an abort is rethrown). */
  private async sendOnce(request: HttpRequest, url: string, clientRequestId: string, forceRefresh: boolean): Promise<Sent> {
    const { signal } = request;
    await this.waitNotBefore(signal);
    // A credential failure is the credential's error, not a Dataverse one: it propagates as is.
    const token = await this.getToken(this.scope, forceRefresh ? { forceRefresh: true } : undefined);
    const httpsAgent = await this.onPremisesCa?.httpsAgent();
    this.count(request.kind);
    try {
      return { res: await this.axios.request<string>({ method: request.method, url, headers: this.headers(request, token, clientRequestId), data: this.body(request.body), signal, ...(httpsAgent ? { httpsAgent } : {}) }) };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      return { failure: err };
    }
  }

  /** Waits to retry a retryable network error, else throws it as a DataverseError. */
  private async retryAfterNetworkError(failure: unknown, attempt: number, request: HttpRequest, url: string): Promise<void> {
    const code = systemCode(failure);
    dataverseAttempt(this.orgUrl, request.kind, 0, {});
    this.stats.networkErrors++;
    if (code && RETRYABLE_NETWORK.has(code) && attempt < this.policy.maxAttempts) {
      this.stats.retries++;
      await this.sleep(backoffDelay(attempt, this.policy, this.random), request.signal);
      return;
    }
    // The axios error holds the request config (and so the bearer token): keep only its message and code.
    const untrusted = this.onPremisesCa ? untrustedCertificateCode(failure) : undefined;
    const message = untrusted ? untrustedCertificateHint(this.orgUrl, untrusted, this.onPremisesCa!.configured) : errorMessage(failure);
    throw new DataverseError({ statusCode: 0, code: code ?? "", method: request.method, url, serverMessage: message, cause: Object.assign(new Error(message), { code }) });
  }

  /** A response's headers and text, recorded (attempt telemetry, the server's degree-of-parallelism hint). */
  private received(request: HttpRequest, res: AxiosResponse<string>): { headers: Record<string, string>; text: string } {
    const headers = headerRecord(res);
    const text = typeof res.data === "string" ? res.data : res.data === undefined || res.data === null ? "" : String(res.data);
    dataverseAttempt(this.orgUrl, request.kind, res.status, headers);
    const dop = Number(headers["x-ms-dop-hint"]);
    if (dop > 0) this.throttle.limiter.setDopHint(dop);
    return { headers, text };
  }

  /** 429/503: waits out Retry-After (or backs off) before the next attempt; throws once attempts run out. */
  private async retryWhenThrottled(attempt: number, request: HttpRequest, url: string, status: number, headers: Record<string, string>, text: string): Promise<void> {
    if (status === 429) { this.stats.throttled++; this.throttle.limiter.onThrottled(); } else this.stats.unavailable++;
    const retryAfter = parseRetryAfter(headers["retry-after"], this.now());
    if (attempt >= this.policy.maxAttempts) throw this.error(request.method, url, status, text, retryAfter);
    this.stats.retries++;
    // Retry-After speaks for the whole org (service protection is per user): nobody sends before it ends.
    if (retryAfter !== undefined) { dataverseRetryWait(this.orgUrl, retryAfter); this.throttle.pauseUntil(this.now() + retryAfter); }
    else await this.sleep(dataverseRetryWait(this.orgUrl, backoffDelay(attempt, this.policy, this.random)), request.signal);
  }

  /** Waits before resending writes a `$batch` answered with 429/503 inside its parts. */
  async waitToRetry(attempt: number, status: number, retryAfter: string | undefined, signal?: AbortSignal): Promise<void> {
    if (status === 429) { this.stats.throttled++; this.throttle.limiter.onThrottled(); dataverseThrottledPart(this.orgUrl); } else this.stats.unavailable++;
    this.stats.retries++;
    const ms = parseRetryAfter(retryAfter, this.now());
    if (ms !== undefined) { dataverseRetryWait(this.orgUrl, ms); this.throttle.pauseUntil(this.now() + ms); }
    else await this.sleep(dataverseRetryWait(this.orgUrl, backoffDelay(attempt, this.policy, this.random)), signal);
  }

  get maxAttempts(): number { return this.policy.maxAttempts; }

  private error(method: string, url: string, status: number, text: string, retryAfterMs?: number): DataverseError {
    const { code, message } = errorBodyParts(text);
    return new DataverseError({
      statusCode: status,
      code,
      method,
      url,
      serverMessage: message,
      ...(retryAfterMs !== undefined ? { retryAfterSeconds: retryAfterMs / 1000 } : {}),
    });
  }

  private async waitNotBefore(signal?: AbortSignal): Promise<void> {
    // Twice at most: the instant can move while we wait, but a fake clock must never make this spin.
    for (let i = 0; i < 2; i++) {
      const wait = this.throttle.notBefore - this.now();
      if (wait <= 0) return;
      await this.sleep(wait, signal);
    }
  }

  private count(kind: string): void {
    this.stats.requests++;
    this.stats.byKind[kind] = (this.stats.byKind[kind] ?? 0) + 1;
  }

  private headers(request: HttpRequest, token: string, clientRequestId: string): Record<string, string> {
    const h: Record<string, string> = {
      Accept: "application/json",
      "x-ms-client-request-id": clientRequestId,
      "OData-MaxVersion": "4.0",
      "OData-Version": "4.0",
    };
    const given = Object.keys(request.headers ?? {}).map((k) => k.toLowerCase());
    // Defeats caching of expanded collections (§1); never alongside a conditional the caller set.
    if (request.method === "GET" && !given.includes("if-none-match") && !given.includes("if-match")) h["If-None-Match"] = "null";
    if (request.body !== undefined && !given.includes("content-type")) h["Content-Type"] = "application/json; charset=utf-8";
    Object.assign(h, request.headers);
    h.Authorization = `Bearer ${token}`;
    return h;
  }

  private body(body: unknown): string | undefined {
    if (body === undefined) return undefined;
    return typeof body === "string" ? body : JSON.stringify(body);
  }
}
