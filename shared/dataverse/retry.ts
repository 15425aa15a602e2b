// The one retry policy of the Dataverse layer, used by single requests and by the writes of a `$batch` alike:
// 429/503 honour Retry-After as a pause for the whole org (service protection counts per user, so every request
// of the org waits it out), else exponential back-off with full jitter; a retryable network error backs off the
// same way; a 401 is retried once, at once, with a freshly acquired token. It owns the request statistics.
//
// Why not @azure/core-rest-pipeline's retry policies: the transport is axios (per-host TLS trust for on-premises
// orgs, a scripted adapter in unit tests), the pipeline's throttlingRetryPolicy pauses one request rather than the
// org, it cannot retry only the throttled parts of a `$batch`, and its jitter cannot be made deterministic in tests.
import type { OrgThrottle } from "./limiter.js";
import { dataverseRetryWait, dataverseThrottledPart } from "../telemetry/dataverse.js";

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 60_000 };

export interface DataverseRequestStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  byKind: Record<string, number>;
  retries: number;
  /** 429 answers received (whole requests or `$batch` parts). */
  throttled: number;
  /** 503 answers received. */
  unavailable: number;
  networkErrors: number;
  /** Writes carried inside `$batch` requests. */
  batchedOperations: number;
}

export const emptyStats = (): DataverseRequestStats => ({ requests: 0, byKind: {}, retries: 0, throttled: 0, unavailable: 0, networkErrors: 0, batchedOperations: 0 });

/** Why an attempt failed: what the retry decision needs to know. */
export type AttemptFailure =
  | { kind: "network"; code: string | undefined }
  | { kind: "unauthorized" }
  /** `inBatch`: some writes of a `$batch` were answered 429/503 inside its parts. */
  | { kind: "throttled"; status: number; retryAfter: string | undefined; inBatch?: boolean };

const RETRYABLE_NETWORK = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "EAI_AGAIN", "ERR_SOCKET_CONNECTION_TIMEOUT", "UND_ERR_SOCKET"]);

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

export interface DataverseRetryOptions {
  orgUrl: string;
  throttle: OrgThrottle;
  policy?: Partial<RetryPolicy>;
  sleep?: Sleep;
  random?: () => number;
  now?: () => number;
}

/** The org's retry policy and request accounting; `start()` gives one logical request its attempt counter. */
export class DataverseRetries {
  readonly policy: RetryPolicy;
  readonly stats: DataverseRequestStats = emptyStats();
  readonly sleep: Sleep;
  readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: DataverseRetryOptions) {
    this.policy = { ...DEFAULT_RETRY, ...options.policy };
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  start(signal?: AbortSignal): RetryRun {
    return new RetryRun(this, signal);
  }

  count(kind: string): void {
    this.stats.requests++;
    this.stats.byKind[kind] = (this.stats.byKind[kind] ?? 0) + 1;
  }

  countBatched(operations: number): void {
    this.stats.batchedOperations += operations;
  }

  resetStats(): void {
    Object.assign(this.stats, emptyStats());
  }

  /** Waits until the org's pause (a Retry-After) is over; twice at most, so a fake clock never makes it spin. */
  async waitNotBefore(signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const wait = this.options.throttle.notBefore - this.now();
      if (wait <= 0) return;
      await this.sleep(wait, signal);
    }
  }

  /** Accounts for a 429/503; with Retry-After the whole org pauses, else this request backs off. */
  async throttled(failure: Extract<AttemptFailure, { kind: "throttled" }>, attempt: number, retry: boolean, signal?: AbortSignal): Promise<number | undefined> {
    const { throttle, orgUrl } = this.options;
    if (failure.status === 429) {
      this.stats.throttled++;
      throttle.limiter.onThrottled();
      if (failure.inBatch) dataverseThrottledPart(orgUrl);
    } else this.stats.unavailable++;
    const retryAfter = parseRetryAfter(failure.retryAfter, this.now());
    if (!retry) return retryAfter;
    this.stats.retries++;
    if (retryAfter !== undefined) { dataverseRetryWait(orgUrl, retryAfter); throttle.pauseUntil(this.now() + retryAfter); }
    else await this.sleep(dataverseRetryWait(orgUrl, backoffDelay(attempt, this.policy, this.random)), signal);
    return retryAfter;
  }

  /** Accounts for a network failure; backs off when it is retried. */
  async networkFailure(code: string | undefined, attempt: number, signal?: AbortSignal): Promise<boolean> {
    this.stats.networkErrors++;
    if (!code || !RETRYABLE_NETWORK.has(code) || attempt >= this.policy.maxAttempts) return false;
    this.stats.retries++;
    await this.sleep(backoffDelay(attempt, this.policy, this.random), signal);
    return true;
  }
}

/** One logical request's attempts (a single request, or the writes of one `$batch` call). */
export class RetryRun {
  attempt = 0;
  /** Set after a 401: the next attempt asks for a fresh token. */
  private forceRefresh = false;
  /** The last Retry-After of a throttled answer, in ms (for the error when attempts run out). */
  retryAfterMs: number | undefined;
  private refreshed = false;

  constructor(private readonly retries: DataverseRetries, private readonly signal?: AbortSignal) {}

  /** Counts the next attempt and waits out the org's pause. */
  async begin(): Promise<void> {
    this.attempt++;
    await this.retries.waitNotBefore(this.signal);
  }

  /** Whether this attempt needs a fresh token (once, after a 401). */
  takeForceRefresh(): boolean {
    const force = this.forceRefresh;
    this.forceRefresh = false;
    return force;
  }

  /** After a failed attempt: true when it is tried again (the wait done), false when the failure is final. */
  async again(failure: AttemptFailure): Promise<boolean> {
    if (failure.kind === "unauthorized") {
      if (this.refreshed) return false;
      this.refreshed = true;
      this.forceRefresh = true;
      this.retries.stats.retries++;
      return true;
    }
    if (failure.kind === "network") return this.retries.networkFailure(failure.code, this.attempt, this.signal);
    const retry = this.attempt < this.retries.policy.maxAttempts;
    this.retryAfterMs = await this.retries.throttled(failure, this.attempt, retry, this.signal);
    return retry;
  }
}
