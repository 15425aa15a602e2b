// The HTTP layer for one org: axios with Dataverse's headers (dataverse-web-api.md §1), a bearer token per
// request, the org's shared concurrency limiter, and the org's retry policy (retry.ts: 429/503/network errors,
// Retry-After as an org-wide pause, back-off with full jitter, one token refresh on 401) with its accounting.
import { randomUUID } from "node:crypto";
import axios, { type AxiosAdapter, type AxiosInstance, type AxiosResponse } from "axios";
import { untrustedCertificateCode, untrustedCertificateHint, type OnPremisesCa } from "../credentials/onprem-ca.js";
import { DataverseError, errorBodyParts } from "./errors.js";
import { OrgThrottle } from "./limiter.js";
import { dataverseAttempt, tracedDataverseRequest } from "../telemetry/dataverse.js";
import { DataverseRetries, type DataverseRequestStats, type RetryPolicy, type Sleep } from "./retry.js";
import { errorMessage, systemCode } from "../errors/app-error.js";

export type GetToken = (scope: string, options?: { forceRefresh?: boolean }) => Promise<string>;
export { backoffDelay, DEFAULT_RETRY, defaultSleep, emptyStats, parseRetryAfter } from "./retry.js";
export type { DataverseRequestStats, RetryPolicy, Sleep } from "./retry.js";

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
  /** Work that may lag: it waits for a slot behind every other request to the org (AdaptiveLimiter.acquire). */
  background?: boolean;
}

export interface HttpResponse {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  text: string;
  json<T = unknown>(): T;
}

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
  /** The retry policy and the request statistics it keeps (shared with `$batch` write retries). */
  readonly retries: DataverseRetries;
  private readonly axios: AxiosInstance;
  private readonly getToken: GetToken;
  private readonly onPremisesCa?: Pick<OnPremisesCa, "httpsAgent" | "configured">;

  constructor(options: DataverseHttpOptions) {
    this.onPremisesCa = options.onPremisesCa;
    this.orgUrl = new URL(options.orgUrl).origin;
    this.apiBase = `${this.orgUrl}/api/data/v${options.apiVersion ?? "9.2"}/`;
    this.scope = `${this.orgUrl}/.default`;
    this.getToken = options.getToken;
    this.throttle = options.throttle ?? new OrgThrottle({ max: options.maxConcurrency, initial: options.initialConcurrency });
    this.retries = new DataverseRetries({ orgUrl: this.orgUrl, throttle: this.throttle, policy: options.retry, sleep: options.sleep, random: options.random, now: options.now });
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

  get stats(): DataverseRequestStats {
    return this.retries.stats;
  }

  get maxAttempts(): number {
    return this.retries.policy.maxAttempts;
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

  /** Attempts until an answer is final; what is retried, and how long to wait, is the retry policy's call. */
  private async sendWithRetries(request: HttpRequest): Promise<HttpResponse> {
    const url = this.resolve(request.url);
    const accept = request.accept ?? ((s: number) => s >= 200 && s < 300);
    const run = this.retries.start(request.signal);
    // One id per logical request, the same on each retry (as Azure clients send it): ties retries together in logs.
    const clientRequestId = randomUUID();
    for (;;) {
      await run.begin();
      const release = await this.throttle.limiter.acquire(request.signal, request.background);
      let sent: Sent;
      try {
        sent = await this.sendOnce(request, url, clientRequestId, run.takeForceRefresh());
      } finally {
        // Released here, not inside sendOnce: what follows up to a Retry-After pause runs in this same tick, so no
        // request waiting for the limiter is sent before the pause is set.
        release();
      }
      if (!sent.res) {
        dataverseAttempt(this.orgUrl, request.kind, 0, {});
        const code = systemCode(sent.failure);
        if (await run.again({ kind: "network", code })) continue;
        throw this.networkError(sent.failure, code, request, url);
      }
      const { status } = sent.res;
      const { headers, text } = this.received(request, sent.res);
      if (status === 401 && (await run.again({ kind: "unauthorized" }))) continue;
      if (status === 429 || status === 503) {
        if (await run.again({ kind: "throttled", status, retryAfter: headers["retry-after"] })) continue;
        throw this.error(request.method, url, status, text, run.retryAfterMs);
      }
      this.throttle.limiter.onSuccess();
      if (accept(status)) return { status, headers, text, json: <T>() => (text.trim() === "" ? undefined : JSON.parse(text)) as T };
      throw this.error(request.method, url, status, text);
    }
  }

  /** One attempt, holding the org's limiter: the response, or the network failure (an abort is rethrown). */
  private async sendOnce(request: HttpRequest, url: string, clientRequestId: string, forceRefresh: boolean): Promise<Sent> {
    const { signal } = request;
    await this.retries.waitNotBefore(signal);
    // A credential failure is the credential's error, not a Dataverse one: it propagates as is.
    const token = await this.getToken(this.scope, forceRefresh ? { forceRefresh: true } : undefined);
    const httpsAgent = await this.onPremisesCa?.httpsAgent();
    this.retries.count(request.kind);
    try {
      return { res: await this.axios.request<string>({ method: request.method, url, headers: this.headers(request, token, clientRequestId), data: this.body(request.body), signal, ...(httpsAgent ? { httpsAgent } : {}) }) };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      return { failure: err };
    }
  }

  /** A final network failure as a DataverseError. The axios error holds the request config (and so the bearer token): only its message and code are kept. */
  private networkError(failure: unknown, code: string | undefined, request: HttpRequest, url: string): DataverseError {
    const untrusted = this.onPremisesCa ? untrustedCertificateCode(failure) : undefined;
    const message = untrusted ? untrustedCertificateHint(this.orgUrl, untrusted, this.onPremisesCa!.configured) : errorMessage(failure);
    return new DataverseError({ statusCode: 0, code: code ?? "", method: request.method, url, serverMessage: message, cause: Object.assign(new Error(message), { code }) });
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
