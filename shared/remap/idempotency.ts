// Idempotency-Key for POST /api/users/remap (and bulk): the first request with a key runs and its final
// answer (2xx/4xx) is kept for 24 h; a repeat with the same key and body gets that answer again, a repeat
// with another body is refused (422), one that arrives while the first still runs gets 409. 5xx answers
// are not kept, so a retry runs again. Keys are scoped by caller.
import { createHash } from "node:crypto";
import { RestError, type TableClient } from "@azure/data-tables";
import { AppError, isRefusal } from "../errors/app-error.js";
import { encodeKey, fitEntity, SAFE_STRING_CHARS } from "../state/table-limits.js";
import { isAppErrorCode } from "../errors/codes.js";

export interface StoredResponse {
  status: number;
  body: unknown;
}

interface Row {
  partitionKey: string;
  rowKey: string;
  requestHash: string;
  state: "running" | "done";
  status: number;
  body: string;
  expiresAt: number;
}

const TTL_MS = 24 * 3600_000;
/** A "running" marker older than this belongs to a dead process and may be taken over. */
const RUNNING_STALE_MS = 10 * 60_000;
const KEY_RE = /^[\x21-\x7e]{1,200}$/;

export class IdempotencyStore {
  constructor(
    private readonly client: () => Promise<TableClient>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs `fn` once per (scope, key); repeats are answered from the stored response. */
  async run(scope: string, key: string, requestBody: unknown, fn: () => Promise<StoredResponse>): Promise<StoredResponse & { replayed: boolean }> {
    if (!KEY_RE.test(key)) throw new AppError("The Idempotency-Key header must be 1 to 200 visible ASCII characters.", 400, "invalid_idempotency_key");
    const client = await this.client();
    const partitionKey = encodeKey(scope);
    const rowKey = encodeKey(key);
    const requestHash = createHash("sha256").update(JSON.stringify(requestBody ?? null)).digest("base64url");
    const marker: Row = { partitionKey, rowKey, requestHash, state: "running", status: 0, body: "", expiresAt: this.now() + RUNNING_STALE_MS };
    try {
      await client.createEntity(fitEntity(marker));
    } catch (error) {
      if (!(error instanceof RestError && error.statusCode === 409)) throw error;
      const existing = (await client.getEntity<Row>(partitionKey, rowKey)) as Row & { etag: string };
      const live = existing.expiresAt > this.now();
      if (live && existing.requestHash !== requestHash) {
        throw new AppError("This Idempotency-Key was already used with a different request body.", 422, "idempotency_key_reused");
      }
      if (live && existing.state === "done") return { status: existing.status, body: JSON.parse(existing.body), replayed: true };
      if (live) throw new AppError("A request with this Idempotency-Key is still being processed.", 409, "idempotency_in_progress");
      // Expired (or a dead run's marker): take it over; a concurrent taker loses on the ETag.
      try {
        await client.updateEntity(fitEntity(marker), "Replace", { etag: existing.etag });
      } catch (takeover) {
        if (takeover instanceof RestError && takeover.statusCode === 412) throw new AppError("A request with this Idempotency-Key is still being processed.", 409, "idempotency_in_progress");
        throw takeover;
      }
    }
    let response: StoredResponse;
    try {
      response = await fn();
    } catch (error) {
      if (isRefusal(error)) {
        await this.store(client, marker, { status: error.status, body: { problem: { status: error.status, code: error.code, detail: error.message, extra: error.detail ?? null } } });
      } else {
        await client.deleteEntity(partitionKey, rowKey).catch(() => undefined);
      }
      throw error;
    }
    if (response.status < 500) await this.store(client, marker, response);
    else await client.deleteEntity(partitionKey, rowKey).catch(() => undefined);
    return { ...response, replayed: false };
  }

  private async store(client: TableClient, marker: Row, response: StoredResponse): Promise<void> {
    const body = JSON.stringify(response.body);
    // A table property holds at most 32K UTF-16 code units; a larger answer (a big dry-run plan) is not kept.
    if (body.length > SAFE_STRING_CHARS) {
      await client.deleteEntity(marker.partitionKey, marker.rowKey).catch(() => undefined);
      return;
    }
    await client.updateEntity(fitEntity({ ...marker, state: "done", status: response.status, body, expiresAt: this.now() + TTL_MS }), "Replace");
  }
}

/** A stored refusal replays as the same problem. */
export function replayedError(stored: StoredResponse): AppError | undefined {
  const p = (stored.body as { problem?: { status: number; code: string; detail: string; extra: Record<string, unknown> | null } } | null)?.problem;
  if (!p || !isAppErrorCode(p.code)) return undefined;
  return new AppError(p.detail, p.status, p.code, p.extra ? { detail: p.extra } : undefined);
}
