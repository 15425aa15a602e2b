// Concurrency per org (dataverse-web-api.md §7): start low, add one slot after a window of successes, halve on
// 429, never above the server's `x-ms-dop-hint`. Shared by every client of one org in this process, with the
// org-wide "not before" instant a 429's Retry-After sets.

export interface LimiterOptions {
  initial?: number;
  max?: number;
}

interface Waiter {
  grant: () => void;
  fail: (reason: unknown) => void;
}

export class AdaptiveLimiter {
  private limitValue: number;
  private ceiling: number;
  private readonly max: number;
  private active = 0;
  private successes = 0;
  private readonly waiters: Waiter[] = [];
  /** Requests that may lag (background work): granted a slot only when no other request waits for one. */
  private readonly background: Waiter[] = [];

  constructor(options: LimiterOptions = {}) {
    this.max = Math.max(1, Math.floor(options.max ?? 16));
    this.ceiling = this.max;
    this.limitValue = Math.min(this.max, Math.max(1, Math.floor(options.initial ?? 2)));
  }

  get limit(): number { return this.limitValue; }
  get inFlight(): number { return this.active; }
  get queued(): number { return this.waiters.length + this.background.length; }

  /**
   * Waits for a slot; the returned function frees it (calling it twice is harmless). `background`: the request
   * waits behind every other one, so work that may lag never delays the work waited on.
   */
  acquire(signal?: AbortSignal, background = false): Promise<() => void> {
    signal?.throwIfAborted();
    const queue = background ? this.background : this.waiters;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          this.active++;
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.active--;
            this.pump();
          });
        },
        fail: reject,
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(waiter);
      this.pump();
    });
  }

  /** Additive increase: one more slot after `limit` successes in a row. */
  onSuccess(): void {
    if (++this.successes >= this.limitValue && this.limitValue < this.ceiling) {
      this.limitValue++;
      this.successes = 0;
      this.pump();
    }
  }

  /** Multiplicative decrease on a 429. */
  onThrottled(): void {
    this.limitValue = Math.max(1, Math.floor(this.limitValue / 2));
    this.successes = 0;
  }

  /** The server's recommended parallelism caps us (and our own maximum caps it). */
  setDopHint(hint: number): void {
    if (!Number.isFinite(hint) || hint < 1) return;
    this.ceiling = Math.min(this.max, Math.floor(hint));
    if (this.limitValue > this.ceiling) this.limitValue = this.ceiling;
    this.pump();
  }

  private pump(): void {
    while (this.active < this.limitValue && this.waiters.length + this.background.length > 0) (this.waiters.shift() ?? this.background.shift()!).grant();
  }
}

/** Throttling state of one org: its limiter and the instant before which nothing may be sent. */
export class OrgThrottle {
  readonly limiter: AdaptiveLimiter;
  /** Epoch ms; a 429 with Retry-After pushes it forward for every request to the org. */
  notBefore = 0;

  constructor(options: LimiterOptions = {}) {
    this.limiter = new AdaptiveLimiter(options);
  }

  pauseUntil(at: number): void {
    if (at > this.notBefore) this.notBefore = at;
  }
}

