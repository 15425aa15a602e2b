// Per-caller token bucket. RateLimiter is in memory, per
// instance (units and benches); the token service uses TableRateLimiter (global-rate-limit.ts), which keeps the
// same bucket in Table storage so the rate holds across instances.
export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until one request would be allowed (when refused). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  ratePerMinute: number;
}

/** Anything that decides one take: the in-memory limiter or the Table-backed one. */
export interface RateLimitPort {
  take(callerId: string, ratePerMinute: number): RateDecision | Promise<RateDecision>;
}

/**
 * The bucket's refill (capacity = one minute's allowance, continuous) and the decisions of `count` takes in a
 * row: as many as there are whole tokens are allowed, the rest refused with the wait until the next token.
 */
export function spend(bucket: { tokens: number; updatedAt: number }, ratePerMinute: number, now: number, count = 1): { tokens: number; decisions: RateDecision[] } {
  const perMs = ratePerMinute / 60_000;
  let tokens = Math.min(ratePerMinute, bucket.tokens + Math.max(0, now - bucket.updatedAt) * perMs);
  const decisions: RateDecision[] = [];
  for (let i = 0; i < count; i++) {
    if (tokens >= 1) {
      tokens -= 1;
      decisions.push({ allowed: true, retryAfterSeconds: 0 });
    } else {
      decisions.push({ allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)) });
    }
  }
  return { tokens, decisions };
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one token from the caller's bucket: capacity = one minute's allowance, refilled continuously. */
  take(callerId: string, ratePerMinute: number): RateDecision {
    const now = this.now();
    let bucket = this.buckets.get(callerId);
    if (!bucket || bucket.ratePerMinute !== ratePerMinute) {
      bucket = { tokens: ratePerMinute, updatedAt: now, ratePerMinute };
      this.buckets.set(callerId, bucket);
    }
    const { tokens, decisions } = spend(bucket, ratePerMinute, now);
    bucket.tokens = tokens;
    bucket.updatedAt = now;
    return decisions[0]!;
  }
}
