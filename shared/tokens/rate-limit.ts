// Per-caller token bucket (contract §5: `ratePerMinute`, 429 + Retry-After). In memory, per instance:
// with N instances a caller may get up to N × its rate; the bucket bounds bursts, not a global quota.
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
    const perMs = ratePerMinute / 60_000;
    bucket.tokens = Math.min(ratePerMinute, bucket.tokens + (now - bucket.updatedAt) * perMs);
    bucket.updatedAt = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)) };
  }
}
