// Refusals slowed per source on an unauthenticated route (issue #19): the Graph webhook, which anyone can POST
// to. A source whose requests keep being refused (unreadable or over-complex bodies, nothing signed with our
// clientState) gets each further refusal only after a pause, as a 429 with Retry-After, until its window ends.
// What such a flood costs is the bytes the instance has to receive, and a client that waits for each answer
// (every HTTP/1.1 connection does) cannot send its next body before it: six connections then cost six bodies a
// pause instead of as many as the instance can receive. A request that authenticates is never counted or held,
// whatever its source, so Graph, or anyone sharing its source, is never slowed.
// Counted per instance (MemoryFailureCounter): the cost guarded is this instance's. Held answers are capped:
// past the cap a refusal is answered at once, and an attacker with more connections than that is a job for a
// rate limit at the edge (docs/deployment.md).
import { setTimeout as sleep } from "node:timers/promises";
import { AuthFailureThrottle, MemoryFailureCounter, type FailureOutcome } from "./auth-failures.js";

export interface SlowRefusalOptions {
  /** Refusals a source may have per window before the next ones are held. */
  perSource: number;
  windowMs: number;
  /** How long a held refusal waits before it is answered. */
  holdMs: number;
  /** Answers held at once by this instance; past it, refusals are answered without a pause. */
  maxHeld: number;
}

/** 1 s: a closed-loop flood sends a body a second per connection, and even a held answer stays well inside the 3 s
 * Graph allows a delivery (a clientState rotation makes Graph's own deliveries untrusted for a while). */
export const WEBHOOK_REFUSALS: SlowRefusalOptions = { perSource: 20, windowMs: 60_000, holdMs: 1_000, maxHeld: 512 };

export class SlowRefusals {
  private readonly throttle: AuthFailureThrottle;
  private held = 0;

  constructor(private readonly options: SlowRefusalOptions = WEBHOOK_REFUSALS, now: () => number = Date.now) {
    this.throttle = new AuthFailureThrottle(new MemoryFailureCounter(), now, { perSource: options.perSource, windowMs: options.windowMs });
  }

  /**
   * Notes one refused request from `source` and resolves when it may be answered: at once while the source is
   * within its budget, after `holdMs` once it is over (then `throttled`, with the seconds left in the window).
   */
  async refused(source: string): Promise<FailureOutcome> {
    const outcome = await this.throttle.recordFailure(undefined, source);
    if (!outcome.throttled || this.held >= this.options.maxHeld) return outcome;
    this.held++;
    try {
      await sleep(this.options.holdMs);
    } finally {
      this.held--;
    }
    return outcome;
  }

  /** Answers being held now. */
  get holding(): number {
    return this.held;
  }
}
