// Debounces notification-triggered syncs across instances. Per org, a Table row holds "a run is pending
// until T"; the instance that claims a window (ETag-guarded create/replace) sends ONE queue message made
// visible at T. Every notification before T is covered by that run, so a burst of 1,000 notifications
// costs one run per org. In-process memory spares the table reads during a burst.
import { RestError, type TableClient } from "@azure/data-tables";
import { encodeKey, fitEntity } from "../state/table-limits.js";
import type { SyncMessage } from "./messages.js";

/** Default debounce: long enough to coalesce Graph's batches, short enough for a p95 well under 60 s. */
export const DEFAULT_DEBOUNCE_SECONDS = 5;
/** Longest wait before retrying an org whose run is still in progress. */
const MAX_RETRY_DELAY_SECONDS = 60;

interface DebounceEntity {
  partitionKey: string;
  rowKey: string;
  org: string;
  pendingUntil: number;
}

export interface SyncDebouncerOptions {
  delaySeconds?: number;
  client: () => Promise<TableClient>;
  enqueue: (message: SyncMessage, visibilityTimeoutSeconds: number) => Promise<void>;
  now?: () => number;
}

const PARTITION = "debounce";

export class SyncDebouncer {
  readonly delaySeconds: number;
  private readonly client: () => Promise<TableClient>;
  private readonly enqueue: (message: SyncMessage, visibilityTimeoutSeconds: number) => Promise<void>;
  private readonly now: () => number;
  /** org → end of the pending window this process knows about. */
  private readonly known = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<"scheduled" | "coalesced">>();

  constructor(options: SyncDebouncerOptions) {
    this.delaySeconds = Math.max(1, Math.ceil(options.delaySeconds ?? DEFAULT_DEBOUNCE_SECONDS));
    this.client = options.client;
    this.enqueue = options.enqueue;
    this.now = options.now ?? Date.now;
  }

  /** Makes sure a sync of `org` starts within the debounce delay; "coalesced" when one already will. */
  async request(org: string): Promise<"scheduled" | "coalesced"> {
    if ((this.known.get(org) ?? 0) > this.now()) return "coalesced";
    const running = this.inflight.get(org);
    if (running) return running.then(() => "coalesced");
    const attempt = this.claim(org).finally(() => this.inflight.delete(org));
    this.inflight.set(org, attempt);
    return attempt;
  }

  /** A run could not start yet (another is in progress): try again later, backing off up to a minute. */
  async retryLater(org: string, attempt: number): Promise<number> {
    const seconds = Math.min(this.delaySeconds * 2 ** attempt, MAX_RETRY_DELAY_SECONDS);
    const pendingUntil = this.now() + seconds * 1000;
    // Not guarded: at worst a concurrent window also sends a message, which costs one extra (empty) run.
    await (await this.client()).upsertEntity(entity(org, pendingUntil), "Replace");
    this.known.set(org, pendingUntil);
    await this.enqueue({ kind: "sync", org, attempt: attempt + 1 }, seconds);
    return seconds;
  }

  private async claim(org: string): Promise<"scheduled" | "coalesced"> {
    const client = await this.client();
    const now = this.now();
    const existing = await getRow(client, org);
    if (existing && Number(existing.pendingUntil) > now) {
      this.known.set(org, Number(existing.pendingUntil));
      return "coalesced";
    }
    const pendingUntil = now + this.delaySeconds * 1000;
    let etag: string | undefined;
    try {
      etag = existing
        ? (await client.updateEntity(entity(org, pendingUntil), "Replace", { etag: existing.etag })).etag
        : (await client.createEntity(entity(org, pendingUntil))).etag;
    } catch (error) {
      if (error instanceof RestError && (error.statusCode === 409 || error.statusCode === 412)) {
        // Another instance claimed this window: its message covers us.
        const winner = await getRow(client, org);
        if (winner) this.known.set(org, Number(winner.pendingUntil));
        return "coalesced";
      }
      throw error;
    }
    this.known.set(org, pendingUntil);
    try {
      await this.enqueue({ kind: "sync", org }, this.delaySeconds);
    } catch (error) {
      // Give the window back so the next notification (or Graph's redelivery) claims it again.
      this.known.delete(org);
      await client.deleteEntity(PARTITION, encodeKey(org), { etag }).catch(() => undefined);
      throw error;
    }
    return "scheduled";
  }
}

function entity(org: string, pendingUntil: number): DebounceEntity {
  return fitEntity({ partitionKey: PARTITION, rowKey: encodeKey(org), org, pendingUntil });
}

async function getRow(client: TableClient, org: string): Promise<(DebounceEntity & { etag: string }) | undefined> {
  try {
    return (await client.getEntity<DebounceEntity>(PARTITION, encodeKey(org))) as DebounceEntity & { etag: string };
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
}
