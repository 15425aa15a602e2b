// The per-caller token rate enforced across every instance: callers are promised
// a rate, not a rate per instance. One Table entity per caller holds its token bucket; each take is a
// read-modify-write guarded by the entity's ETag, so two instances cannot both spend the last token.
// Within an instance, concurrent takes for one caller are coalesced: one read-modify-write decides all of them.
// Storage cost: one conditional write per such round while this instance's copy of the entity is current (the
// ETag it got back from its own last write), plus one read (and a retry) when another instance wrote between.
// A busy caller's round also reserves what this instance used of that caller's rate in the last second (at most
// one second's allowance, `ratePerMinute / 60`): later takes spend the reservation locally, without a storage
// round trip, for up to RESERVATION_MS. What a reservation leaves unspent goes back into the bucket (capped at its
// capacity) on this instance's next write. So the promise holds across instances — tokens leave the shared bucket
// before they are spent — and a caller at a steady rate costs about one write per second per instance, not one
// per issuance. The reservation is sized by the last full second's demand (not the current second's, which
// starts small every second) and renewed in the background once it runs low or near its end, so a caller at a
// steady rate never waits for storage; takes that arrive while a renewal is in flight are served from it when it
// lands. A caller under 60 a minute never gets a reservation: every take is decided in storage.
import type { TableClient } from "@azure/data-tables";
import { spend, type RateDecision } from "./rate-limit.js";
import { upstreamStatus } from "../errors/app-error.js";

type Client = Pick<TableClient, "getEntity" | "createEntity" | "updateEntity">;

interface BucketRow {
  tokens: number;
  updatedAt: number;
  ratePerMinute: number;
  etag: string;
}

/** Concurrent takes retry on a lost race; past this, the take is refused (a 429 the caller retries). */
const MAX_ATTEMPTS = 8;
const PARTITION = "rate";
/** How long reserved tokens may be spent locally; also the demand window that sizes the next reservation. */
const RESERVATION_MS = 1_000;
/** A reservation is renewed ahead once it is down to this share of its demand or of its time. */
const RENEW_AT = 0.25;

interface Reservation {
  tokens: number;
  expiresAt: number;
  /** Takes for this caller on this instance in the current window. */
  demand: number;
  /** Takes in the last full window (0 when that window saw none): with `demand`, sizes the next reservation. */
  lastDemand: number;
  windowStart: number;
}

export class TableRateLimiter {
  /** The last bucket this instance read or wrote per caller, with its ETag (a hint only: the ETag decides). */
  private readonly known = new Map<string, BucketRow>();

  constructor(
    private readonly client: () => Promise<Client>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes waiting for this instance's round on each caller's bucket. */
  private readonly waiting = new Map<string, Array<{ resolve: (d: RateDecision) => void; reject: (e: unknown) => void }>>();

  /** Tokens this instance took from each caller's bucket ahead of use, and its recent demand. */
  private readonly reservations = new Map<string, Reservation>();

  take(callerId: string, ratePerMinute: number): Promise<RateDecision> {
    const rowKey = rowKeyOf(callerId);
    const reservation = this.countDemand(rowKey);
    if (spendReserved(reservation, this.now())) {
      if (runningLow(reservation, this.now())) this.renewAhead(rowKey, ratePerMinute);
      return Promise.resolve({ allowed: true, retryAfterSeconds: 0 });
    }
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(rowKey);
      if (queue) return void queue.push({ resolve, reject });
      this.waiting.set(rowKey, [{ resolve, reject }]);
      void this.drain(rowKey, ratePerMinute);
    });
  }

  /** A round with no takes of its own, only to top up the reservation; none when a round is already under way. */
  private renewAhead(rowKey: string, ratePerMinute: number): void {
    if (this.waiting.has(rowKey)) return;
    this.waiting.set(rowKey, []);
    void this.drain(rowKey, ratePerMinute, true);
  }

  /** Decides the caller's waiting takes round after round, each round in one conditional write. */
  private async drain(rowKey: string, ratePerMinute: number, renewing = false): Promise<void> {
    const queue = this.waiting.get(rowKey)!;
    for (let renew = renewing; renew || queue.length > 0; renew = false) {
      // Takes that queued behind the previous round are served from what it reserved first.
      const reservation = this.reservations.get(rowKey);
      while (queue.length > 0 && reservation && spendReserved(reservation, this.now())) queue.shift()!.resolve({ allowed: true, retryAfterSeconds: 0 });
      const round = queue.splice(0);
      if (round.length === 0 && !renew) continue;
      try {
        const decisions = await this.spendMany(rowKey, ratePerMinute, round.length);
        round.forEach((waiter, i) => waiter.resolve(decisions[i]!));
      } catch (error) {
        for (const waiter of round) waiter.reject(error);
      }
    }
    this.waiting.delete(rowKey);
  }

  /** The caller's reservation, with this take counted in its demand window. */
  private countDemand(rowKey: string): Reservation {
    const now = this.now();
    let r = this.reservations.get(rowKey);
    if (!r) {
      r = { tokens: 0, expiresAt: 0, demand: 0, lastDemand: 0, windowStart: now };
      this.reservations.set(rowKey, r);
    }
    if (now - r.windowStart >= RESERVATION_MS) {
      // The window just ended is the last full one only if it ended less than a window ago.
      Object.assign(r, { lastDemand: now - r.windowStart < 2 * RESERVATION_MS ? r.demand : 0, demand: 0, windowStart: now });
    }
    r.demand++;
    return r;
  }

  private async spendMany(rowKey: string, ratePerMinute: number, count: number): Promise<RateDecision[]> {
    const client = await this.client();
    const reservation = this.reservations.get(rowKey);
    // Unspent reserved tokens go back (the bucket caps them); a busy caller reserves about a second's demand.
    const returned = reservation && this.now() >= reservation.expiresAt ? reservation.tokens : 0;
    const kept = reservation && !returned ? reservation.tokens : 0;
    // About a second's demand, and never more than a second's allowance held at once.
    const extra = Math.max(0, Math.min(Math.floor(ratePerMinute / 60) - kept, reservation ? Math.max(reservation.demand, reservation.lastDemand) : 0));
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = this.known.get(rowKey) ?? (await read(client, rowKey));
      const now = this.now();
      const stored = current && current.ratePerMinute === ratePerMinute ? current : { tokens: ratePerMinute, updatedAt: now };
      const { tokens, decisions } = spend({ ...stored, tokens: stored.tokens + returned }, ratePerMinute, now, count + extra);
      const written = await write(client, rowKey, { tokens, updatedAt: now, ratePerMinute }, current?.etag);
      if (written) {
        this.known.set(rowKey, { tokens, updatedAt: now, ratePerMinute, etag: written });
        if (reservation) {
          const reserved = decisions.slice(count).filter((d) => d.allowed).length;
          Object.assign(reservation, { tokens: reserved + (returned ? 0 : reservation.tokens), expiresAt: now + RESERVATION_MS });
        }
        return decisions.slice(0, count);
      }
      this.known.delete(rowKey); // another instance wrote first: read theirs and decide again
    }
    return Array.from({ length: count }, () => ({ allowed: false, retryAfterSeconds: 1 }));
  }
}

/** Spends one reserved token when one is left and fresh. */
function spendReserved(r: Reservation, now: number): boolean {
  if (r.tokens < 1 || now >= r.expiresAt) return false;
  r.tokens--;
  return true;
}

/** Down to a quarter of a second's demand or of its time: time to renew before takes would have to wait. */
function runningLow(r: Reservation, now: number): boolean {
  return r.tokens < RENEW_AT * Math.max(r.demand, r.lastDemand) || r.expiresAt - now < RENEW_AT * RESERVATION_MS;
}

/** Table keys exclude / \ # ? and control characters; caller ids are configuration, but stay safe. */
function rowKeyOf(callerId: string): string {
  return encodeURIComponent(callerId).replace(/[%]/g, "~").slice(0, 512);
}

async function read(client: Client, rowKey: string): Promise<BucketRow | undefined> {
  try {
    const e = await client.getEntity<{ tokens: number; updatedAt: number; ratePerMinute: number }>(PARTITION, rowKey);
    return { tokens: Number(e.tokens), updatedAt: Number(e.updatedAt), ratePerMinute: Number(e.ratePerMinute), etag: e.etag };
  } catch (error) {
    if (upstreamStatus(error) === 404) return undefined;
    throw error;
  }
}

/** The new ETag, or undefined when another instance changed (or created) the row first. */
async function write(client: Client, rowKey: string, row: Omit<BucketRow, "etag">, etag: string | undefined): Promise<string | undefined> {
  const entity = { partitionKey: PARTITION, rowKey, ...row };
  try {
    const response = etag ? await client.updateEntity(entity, "Replace", { etag }) : await client.createEntity(entity);
    return response.etag;
  } catch (error) {
    const status = upstreamStatus(error);
    if (status === 412 || status === 409 || (status === 404 && etag)) return undefined;
    throw error;
  }
}


