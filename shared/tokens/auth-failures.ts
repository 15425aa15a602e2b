// Throttling of failed client authentications (issue #11 item 8, contract §5), across every instance.
// Each failure increments a per-minute counter row in Table storage (optimistic concurrency, like the jti
// store), keyed by (claimed client id, source) and by source; the count it returns is the global one. Once a
// key is over its limit, this instance refuses that key until the window ends without asking storage again,
// so successful requests never pay a storage call. Another instance learns of the block on its own next
// failure for that key, so a spread-out attacker gets at most one extra attempt per instance per window.
// The per-id limit is per (id, source): a global per-id lockout would let anyone lock a real caller out.
import { createHash } from "node:crypto";
import type { TableClient } from "@azure/data-tables";
import { upstreamStatus } from "../errors/app-error.js";

export interface FailureCounter {
  /** Adds one failure to `key` in the window starting at `windowStart`; returns the window's global count. */
  increment(key: string, windowStart: number): Promise<number>;
}

export interface AuthFailureLimits {
  /** Failures per claimed id from one source per window (default 10). */
  perClientAndSource: number;
  /** Failures from one source per window, whatever id it claims (default 30). */
  perSource: number;
  windowMs: number;
}

const DEFAULT_LIMITS: AuthFailureLimits = { perClientAndSource: 10, perSource: 30, windowMs: 60_000 };
/** Blocked keys remembered by one instance (an attacker cannot grow this without bound). */
const MAX_BLOCKED = 10_000;

export interface ThrottleDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

export class AuthFailureThrottle {
  private readonly blockedUntil = new Map<string, number>();
  private readonly limits: AuthFailureLimits;

  constructor(private readonly counter: FailureCounter, private readonly now: () => number = Date.now, limits: Partial<AuthFailureLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** In memory only: may this (claimed id, source) try to authenticate now? */
  check(claimedId: string | undefined, source: string): ThrottleDecision {
    const now = this.now();
    let until = 0;
    for (const key of this.keys(claimedId, source)) {
      const blocked = this.blockedUntil.get(key.key) ?? 0;
      if (blocked > now) until = Math.max(until, blocked);
      else if (blocked) this.blockedUntil.delete(key.key);
    }
    return until > now ? { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) } : { allowed: true, retryAfterSeconds: 0 };
  }

  /** Counts a failed authentication everywhere; blocks the keys that went over their limit. */
  async recordFailure(claimedId: string | undefined, source: string): Promise<void> {
    const windowStart = Math.floor(this.now() / this.limits.windowMs) * this.limits.windowMs;
    await Promise.all(this.keys(claimedId, source).map(async ({ key, limit }) => {
      const count = await this.counter.increment(key, windowStart);
      if (count >= limit) this.block(key, windowStart + this.limits.windowMs);
    }));
  }

  private block(key: string, until: number): void {
    if (this.blockedUntil.size >= MAX_BLOCKED) {
      const now = this.now();
      for (const [k, t] of this.blockedUntil) if (t <= now) this.blockedUntil.delete(k);
      if (this.blockedUntil.size >= MAX_BLOCKED) return;
    }
    this.blockedUntil.set(key, until);
  }

  private keys(claimedId: string | undefined, source: string): Array<{ key: string; limit: number }> {
    const keys = [{ key: `src|${source}`, limit: this.limits.perSource }];
    if (claimedId) keys.push({ key: `id|${claimedId}|src|${source}`, limit: this.limits.perClientAndSource });
    return keys;
  }
}

type CounterClient = Pick<TableClient, "createEntity" | "getEntity" | "updateEntity">;

/** Counters in TABLES.authFailures: one row per key per window; keys are hashed (wire values, any length). */
export class TableFailureCounter implements FailureCounter {
  constructor(private readonly client: () => Promise<CounterClient>) {}

  async increment(key: string, windowStart: number): Promise<number> {
    const client = await this.client();
    const partitionKey = createHash("sha256").update(key).digest("hex").slice(0, 40);
    const rowKey = String(windowStart);
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        await client.createEntity({ partitionKey, rowKey, count: 1 });
        return 1;
      } catch (error) {
        if (upstreamStatus(error) !== 409) throw error;
      }
      const row = await client.getEntity<{ count: number }>(partitionKey, rowKey);
      const count = Number(row.count) + 1;
      try {
        await client.updateEntity({ partitionKey, rowKey, count }, "Replace", { etag: row.etag });
        return count;
      } catch (error) {
        if (upstreamStatus(error) !== 412) throw error; // another instance counted first: read again
      }
    }
    return Number.MAX_SAFE_INTEGER; // heavy contention on one key is itself an attack: treat it as over the limit
  }
}


/**
 * The request's source address: the right-most X-Forwarded-For entry (the one the platform's front end
 * added; entries to its left are whatever the client sent), port removed. "direct" when there is none.
 */
export function requestSource(forwardedFor: string | null | undefined): string {
  const last = forwardedFor?.split(",").map((s) => s.trim()).filter(Boolean).pop();
  if (!last) return "direct";
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(last);
  const value = bracketed ? bracketed[1]! : /^[^:]+:\d+$/.test(last) ? last.slice(0, last.lastIndexOf(":")) : last;
  return value.slice(0, 64);
}
