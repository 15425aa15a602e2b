// Starts notification-triggered syncs at once and coalesces what arrives meanwhile, across instances. Per org,
// one Table row (ETag-guarded) says where the org is:
//   no row (or an expired one): quiet. A notification claims it ("queued", a fresh claim id) and sends a queue
//     message visible at once: the leading edge.
//   "queued": a message is on its way and its run has not started reading: a notification is covered by it.
//   "running": a run has started reading (runStarted, called by the run itself): a notification marks a
//     follow-up; when the run ends (runFinished) the follow-up is queued, once, however many arrived: the
//     trailing edge. The first follow-up goes at once; one that follows a follow-up (a change stream that
//     keeps going) starts no sooner than MIN_SPACING_SECONDS after the previous run started, so a long burst
//     costs a run every few seconds at most, as the fixed window did, not a run per notification.
// A queue message carries its claim: one whose claim is no longer the row's (a run started meanwhile and
// covers it, or the row expired and was claimed again) is dropped as superseded.
import { randomUUID } from "node:crypto";
import { RestError, type TableClient } from "@azure/data-tables";
import { encodeKey, fitEntity } from "../state/table-limits.js";
import type { SyncMessage } from "./messages.js";

/** Least time between the starts of two notification runs of an org (the follow-up waits out the rest). */
export const MIN_SPACING_SECONDS = 5;
/** Longest wait before retrying an org whose run is still in progress. */
const MAX_RETRY_DELAY_SECONDS = 60;
/** A claim whose message never started a run (lost, poisoned) stops covering notifications after this. */
const QUEUED_TTL_MS = 5 * 60_000;
/** A run that never reported its end (its process died for good) stops covering notifications after this. */
const RUNNING_TTL_MS = 30 * 60_000;
/** ETag conflicts retried before giving up (each means another instance moved the row meanwhile). */
const MAX_CONFLICTS = 8;

type OrgPhase = "queued" | "running";

interface DebounceEntity {
  partitionKey: string;
  rowKey: string;
  org: string;
  phase: OrgPhase;
  /** The claim id of the queue message that is to start the next run ("queued"). */
  claim?: string;
  /** The run reading now ("running"). */
  runId?: string;
  /** When the running run started (ms): the follow-up waits until MIN_SPACING_SECONDS after it. */
  startedAt?: number;
  followUp: boolean;
  /** Follow-ups in a row so far (0: the run was led by a notification or started otherwise). */
  chain?: number;
  expiresAt: number;
}

type Row = DebounceEntity & { etag: string };

export interface SyncDebouncerOptions {
  client: () => Promise<TableClient>;
  enqueue: (message: SyncMessage, visibilityTimeoutSeconds: number) => Promise<void>;
  now?: () => number;
  /** Least seconds between two notification runs of an org (tests shorten it). */
  minSpacingSeconds?: number;
}

const PARTITION = "debounce";

export class SyncDebouncer {
  readonly minSpacingSeconds: number;
  private readonly client: () => Promise<TableClient>;
  private readonly enqueue: SyncDebouncerOptions["enqueue"];
  private readonly now: () => number;
  /** Per org: the request under way, and the one that follows it (shared by every notification meanwhile). */
  private readonly current = new Map<string, Promise<"scheduled" | "coalesced">>();
  private readonly next = new Map<string, Promise<"scheduled" | "coalesced">>();

  constructor(options: SyncDebouncerOptions) {
    this.minSpacingSeconds = Math.max(0, options.minSpacingSeconds ?? MIN_SPACING_SECONDS);
    this.client = options.client;
    this.enqueue = options.enqueue;
    this.now = options.now ?? Date.now;
  }

  /**
   * A notification for `org`: "scheduled" when it starts a run (leading edge) or marks a follow-up, "coalesced"
   * when a run that will read after it is already on its way. Notifications that arrive while one request
   * reads the row share the next request: one that began before them cannot have seen their change's state.
   */
  request(org: string): Promise<"scheduled" | "coalesced"> {
    const following = this.next.get(org);
    if (following) return following;
    const running = this.current.get(org);
    if (!running) return this.begin(org);
    const queued = running
      .catch(() => undefined)
      .then(() => {
        this.next.delete(org);
        return this.begin(org);
      });
    this.next.set(org, queued);
    return queued;
  }

  private begin(org: string): Promise<"scheduled" | "coalesced"> {
    const attempt = this.noteChange(org).finally(() => this.current.delete(org));
    this.current.set(org, attempt);
    return attempt;
  }

  private async noteChange(org: string): Promise<"scheduled" | "coalesced"> {
    const client = await this.client();
    for (let conflicts = 0; ; conflicts++) {
      const row = await getRow(client, org);
      const now = this.now();
      try {
        if (!row || row.expiresAt <= now) return await this.claim(client, org, row, 0);
        if (row.phase === "queued" || row.followUp) return "coalesced";
        await client.updateEntity(entity({ ...row, followUp: true }), "Replace", { etag: row.etag });
        return "scheduled";
      } catch (error) {
        if (!isConflict(error) || conflicts >= MAX_CONFLICTS) throw error;
      }
    }
  }

  /** Claims the org's next run and sends its message, visible after `delaySeconds`. */
  private async claim(client: TableClient, org: string, row: Row | undefined, delaySeconds: number, chain = 0): Promise<"scheduled"> {
    const claim = randomUUID();
    const next = entity({
      partitionKey: PARTITION,
      rowKey: encodeKey(org),
      org,
      phase: "queued",
      claim,
      followUp: false,
      chain,
      expiresAt: this.now() + delaySeconds * 1000 + QUEUED_TTL_MS,
    });
    const { etag } = row ? await client.updateEntity(next, "Replace", { etag: row.etag }) : await client.createEntity(next);
    try {
      await this.enqueue({ kind: "sync", org, claim }, delaySeconds);
    } catch (error) {
      // Give the claim back so the next notification (or Graph's redelivery) claims it again.
      await client.deleteEntity(PARTITION, encodeKey(org), { etag }).catch(() => undefined);
      throw error;
    }
    return "scheduled";
  }

  /** Whether a queue message's claim is still the org's; a message without one (sent before claims) is. */
  async holds(org: string, claim: string | undefined): Promise<boolean> {
    if (claim === undefined) return true;
    const row = await getRow(await this.client(), org);
    return row?.phase === "queued" && row.claim === claim;
  }

  /** The run that a claim led to could not start and will not (halted, unknown org): the org is quiet again. */
  async release(org: string, claim: string | undefined): Promise<void> {
    const client = await this.client();
    const row = await getRow(client, org);
    if (row && (claim === undefined || row.claim === claim))
      await client.deleteEntity(PARTITION, encodeKey(org), { etag: row.etag }).catch(ignoreConflict);
  }

  /** A run of `org` started reading: every notification before now is covered; later ones need a follow-up. */
  async runStarted(org: string, runId: string): Promise<void> {
    const client = await this.client();
    const row = await getRow(client, org);
    const now = this.now();
    // A follow-up's run carries the chain on; any other run (led by a notification, timer, admin) starts one.
    const chain = row?.phase === "queued" && row.expiresAt > now ? (row.chain ?? 0) : 0;
    await client.upsertEntity(
      entity({
        partitionKey: PARTITION,
        rowKey: encodeKey(org),
        org,
        phase: "running",
        runId,
        startedAt: now,
        followUp: false,
        chain,
        expiresAt: now + RUNNING_TTL_MS,
      }),
      "Replace",
    );
  }

  /** A run of `org` ended (any outcome): queue the follow-up if notifications arrived meanwhile, else go quiet. */
  async runFinished(org: string, runId: string): Promise<void> {
    const client = await this.client();
    for (let conflicts = 0; ; conflicts++) {
      const row = await getRow(client, org);
      if (!row || row.phase !== "running" || row.runId !== runId) return;
      try {
        if (!row.followUp) return void (await client.deleteEntity(PARTITION, encodeKey(org), { etag: row.etag }));
        const chain = row.chain ?? 0;
        const spaced = Math.ceil(((row.startedAt ?? 0) + this.minSpacingSeconds * 1000 - this.now()) / 1000);
        return void (await this.claim(client, org, row, chain === 0 ? 0 : Math.max(0, spaced), chain + 1));
      } catch (error) {
        if (!isConflict(error) || conflicts >= MAX_CONFLICTS) throw error;
      }
    }
  }

  /** A claimed run could not start yet (a run not seen by runStarted holds the org): try again, backing off. */
  async retryLater(org: string, attempt: number, claim?: string): Promise<number> {
    const seconds = Math.min(MIN_SPACING_SECONDS * 2 ** attempt, MAX_RETRY_DELAY_SECONDS);
    await this.enqueue({ kind: "sync", org, attempt: attempt + 1, ...(claim ? { claim } : {}) }, seconds);
    return seconds;
  }
}

/** The row's own fields only (a read row also carries etag, timestamp and OData metadata). */
function entity(row: DebounceEntity): DebounceEntity {
  const { partitionKey, rowKey, org, phase, claim, runId, startedAt, followUp, chain, expiresAt } = row;
  return fitEntity({ partitionKey, rowKey, org, phase, claim, runId, startedAt, followUp, chain, expiresAt });
}

async function getRow(client: TableClient, org: string): Promise<Row | undefined> {
  try {
    const row = await client.getEntity<DebounceEntity>(PARTITION, encodeKey(org));
    // Rows of the fixed-window debounce (pendingUntil, no phase) read as expired: the org is quiet.
    return {
      ...row,
      phase: row.phase,
      followUp: row.followUp === true,
      expiresAt: Number(row.expiresAt ?? 0),
      startedAt: row.startedAt === undefined ? undefined : Number(row.startedAt),
      chain: Number(row.chain ?? 0),
    } as Row;
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
}

function isConflict(error: unknown): boolean {
  return error instanceof RestError && (error.statusCode === 409 || error.statusCode === 412);
}

function ignoreConflict(error: unknown): void {
  if (!isConflict(error) && !(error instanceof RestError && error.statusCode === 404)) throw error;
}
