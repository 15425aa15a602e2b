// Throttling of failed attempts on the routes that authenticate their senders themselves (issue #11 item 8, issue
// #19 item 1). It never refuses a valid credential: each route checks credentials first (in memory where it can)
// and serves whoever authenticates, whatever its source's failure count. What the throttle limits is what FAILED
// attempts cost us, per (claimed client id, source) and per source.
// On /api/token, failures are counted in a per-minute row in Table storage (TableFailureCounter, optimistic
// concurrency, like the jti store) so the limit holds across instances, and audited. Once a key is over its limit,
// this instance stops counting and auditing that key's failures until the window ends (one audit row says it was
// throttled) and answers them 429 with Retry-After: no storage write, no audit row, no vault read. Refused at once
// rather than delayed there: a held answer would keep a connection and a worker slot per attempt, costing us more
// than a small form costs. Another instance learns of the block on its own next failure for that key.
// The Graph webhook counts in memory (MemoryFailureCounter) and holds its answers instead (slow-refusals.ts).
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

/** What a failed attempt costs: counted (and audited), or throttled (`first`: the one throttled attempt audited). */
export type FailureOutcome = { throttled: false } | { throttled: true; first: boolean; retryAfterSeconds: number };

interface Block {
  until: number;
  reported: boolean;
}

/** Longest claimed id kept as a key: real ids are short; longer claims only need to land in one bucket. */
const MAX_ID_CHARS = 256;

export class AuthFailureThrottle {
  private readonly blocked = new Map<string, Block>();
  private readonly limits: AuthFailureLimits;

  constructor(private readonly counter: FailureCounter, private readonly now: () => number = Date.now, limits: Partial<AuthFailureLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /**
   * Notes one failed attempt. Over the limit (known in memory) it is throttled without touching storage;
   * otherwise it is counted everywhere, and the keys that went over their limit are blocked from then on.
   */
  async recordFailure(claimedId: string | undefined, source: string): Promise<FailureOutcome> {
    const keys = this.keys(claimedId, source);
    const held = this.blockedNow(keys.map((k) => k.key));
    if (held) {
      const first = !held.reported;
      held.reported = true;
      return { throttled: true, first, retryAfterSeconds: Math.max(1, Math.ceil((held.until - this.now()) / 1000)) };
    }
    const windowStart = Math.floor(this.now() / this.limits.windowMs) * this.limits.windowMs;
    await Promise.all(keys.map(async ({ key, limit }) => {
      const count = await this.counter.increment(key, windowStart);
      if (count >= limit) this.block(key, windowStart + this.limits.windowMs);
    }));
    return { throttled: false };
  }

  /** In memory only: is this (claimed id, source) over a limit now? (What a failed attempt would meet.) */
  isThrottled(claimedId: string | undefined, source: string): boolean {
    return this.blockedNow(this.keys(claimedId, source).map((k) => k.key)) !== undefined;
  }

  private blockedNow(keys: string[]): Block | undefined {
    const now = this.now();
    let found: Block | undefined;
    for (const key of keys) {
      const block = this.blocked.get(key);
      if (!block) continue;
      if (block.until <= now) this.blocked.delete(key);
      else if (!found || block.until > found.until) found = block;
    }
    return found;
  }

  private block(key: string, until: number): void {
    if (this.blocked.size >= MAX_BLOCKED) {
      const now = this.now();
      for (const [k, b] of this.blocked) if (b.until <= now) this.blocked.delete(k);
      if (this.blocked.size >= MAX_BLOCKED) return;
    }
    if ((this.blocked.get(key)?.until ?? 0) < until) this.blocked.set(key, { until, reported: false });
  }

  private keys(claimedId: string | undefined, source: string): Array<{ key: string; limit: number }> {
    const keys = [{ key: `src|${source}`, limit: this.limits.perSource }];
    if (claimedId) keys.push({ key: `id|${claimedId.slice(0, MAX_ID_CHARS)}|src|${source}`, limit: this.limits.perClientAndSource });
    return keys;
  }
}

/**
 * Counters kept by this instance alone (the Graph webhook: what is guarded is this instance's CPU, and a storage
 * write per refused body would be a cost of its own). At most `maxKeys` keys: past that, with every key still in
 * its window, a new key counts as over its limit — only failures are counted, so that slows refusals and never
 * a request that authenticates.
 */
export class MemoryFailureCounter implements FailureCounter {
  private readonly counts = new Map<string, { windowStart: number; count: number }>();

  constructor(private readonly maxKeys = 10_000) {}

  async increment(key: string, windowStart: number): Promise<number> {
    const entry = this.counts.get(key);
    if (entry?.windowStart === windowStart) return ++entry.count;
    if (!entry && this.counts.size >= this.maxKeys) {
      for (const [k, e] of this.counts) if (e.windowStart < windowStart) this.counts.delete(k);
      if (this.counts.size >= this.maxKeys) return Number.MAX_SAFE_INTEGER;
    }
    this.counts.set(key, { windowStart, count: 1 });
    return 1;
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


/** App Service's front end is the one proxy in front of a Function App (TRUSTED_PROXY_HOPS' default). */
export const DEFAULT_TRUSTED_PROXY_HOPS = 1;

/**
 * The request's source: the address the outermost trusted proxy saw. Each proxy appends the address it was
 * reached from to X-Forwarded-For, so with `trustedHops` proxies the source is the entry that many places from
 * the right; entries further left are whatever the client sent and never count. Port removed; "direct" when the
 * header is absent (no front end: every such request is one source).
 */
export function requestSource(forwardedFor: string | null | undefined, trustedHops = DEFAULT_TRUSTED_PROXY_HOPS): string {
  const entries = forwardedFor?.split(",").map((s) => s.trim()).filter(Boolean) ?? [];
  if (entries.length === 0) return "direct";
  // Fewer entries than hops: every entry was still written by a trusted proxy; the left-most is the furthest out.
  const entry = entries[Math.max(0, entries.length - Math.max(1, trustedHops))]!;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  const value = bracketed ? bracketed[1]! : /^[^:]+:\d+$/.test(entry) ? entry.slice(0, entry.lastIndexOf(":")) : entry;
  return value.slice(0, 64);
}
