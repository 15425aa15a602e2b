// The per-caller token rate (contract §5: `ratePerMinute`) enforced across every instance: callers are promised
// a rate, not a rate per instance. One Table entity per caller holds its token bucket; each take is a
// read-modify-write guarded by the entity's ETag, so two instances cannot both spend the last token.
// Within an instance, concurrent takes for one caller are coalesced: one read-modify-write decides all of them.
// Storage cost: one conditional write per such round while this instance's copy of the entity is current (the
// ETag it got back from its own last write), plus one read (and a retry) when another instance wrote between.
import type { TableClient } from "@azure/data-tables";
import { spend, type RateDecision } from "./rate-limit.js";

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

export class TableRateLimiter {
  /** The last bucket this instance read or wrote per caller, with its ETag (a hint only: the ETag decides). */
  private readonly known = new Map<string, BucketRow>();

  constructor(
    private readonly client: () => Promise<Client>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes waiting for this instance's round on each caller's bucket. */
  private readonly waiting = new Map<string, Array<{ resolve: (d: RateDecision) => void; reject: (e: unknown) => void }>>();

  take(callerId: string, ratePerMinute: number): Promise<RateDecision> {
    const rowKey = rowKeyOf(callerId);
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(rowKey);
      if (queue) return void queue.push({ resolve, reject });
      this.waiting.set(rowKey, [{ resolve, reject }]);
      void this.drain(rowKey, ratePerMinute);
    });
  }

  /** Decides the caller's waiting takes round after round, each round in one conditional write. */
  private async drain(rowKey: string, ratePerMinute: number): Promise<void> {
    const queue = this.waiting.get(rowKey)!;
    while (queue.length > 0) {
      const round = queue.splice(0);
      try {
        const decisions = await this.spendMany(rowKey, ratePerMinute, round.length);
        round.forEach((waiter, i) => waiter.resolve(decisions[i]!));
      } catch (error) {
        for (const waiter of round) waiter.reject(error);
      }
    }
    this.waiting.delete(rowKey);
  }

  private async spendMany(rowKey: string, ratePerMinute: number, count: number): Promise<RateDecision[]> {
    const client = await this.client();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = this.known.get(rowKey) ?? (await read(client, rowKey));
      const now = this.now();
      const bucket = current && current.ratePerMinute === ratePerMinute ? current : { tokens: ratePerMinute, updatedAt: now };
      const { tokens, decisions } = spend(bucket, ratePerMinute, now, count);
      const written = await write(client, rowKey, { tokens, updatedAt: now, ratePerMinute }, current?.etag);
      if (written) {
        this.known.set(rowKey, { tokens, updatedAt: now, ratePerMinute, etag: written });
        return decisions;
      }
      this.known.delete(rowKey); // another instance wrote first: read theirs and decide again
    }
    return Array.from({ length: count }, () => ({ allowed: false, retryAfterSeconds: 1 }));
  }
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
    if (statusOf(error) === 404) return undefined;
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
    const status = statusOf(error);
    if (status === 412 || status === 409 || (status === 404 && etag)) return undefined;
    throw error;
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number })?.statusCode;
}

