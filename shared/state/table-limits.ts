// Azure Table storage limits (Azure Table storage limits: 1 MiB an entity, 64 KiB a property, 255 properties, 100 operations a transaction), enforced in one place: every
// entity the bridge writes goes through fitEntity (or tableBatches for transactions), so no input, however
// large or odd, can make a write fail with PropertyValueTooLarge, EntityTooLarge or an invalid key.
// What must not be cut (JSON that is read back) is split first by the writer (splitText / packJsonList);
// what is still too large is truncated here with a visible marker saying how much was left out.
// Pure functions only: no I/O.
import { createHash } from "node:crypto";
import type { TransactionAction } from "@azure/data-tables";

/** A string property: 64 KiB, i.e. 32K UTF-16 code units (a JS string's length). */
export const MAX_STRING_CHARS = 32 * 1024;
/**
 * What fitEntity keeps a string to: a little under the limit, because Azurite (observed with 3.35) refuses some
 * mixed multi-byte strings of exactly 32,768 code units, apparently counting a character split across the chunks
 * of the request body twice. 768 code units of margin cost nothing.
 */
export const SAFE_STRING_CHARS = 32_000;
export const MAX_BINARY_BYTES = 64 * 1024;
export const MAX_ENTITY_BYTES = 1024 * 1024;
/** 255 properties, PartitionKey, RowKey and Timestamp included. */
export const MAX_CUSTOM_PROPERTIES = 252;
/** Keys are at most 1 KiB; counted as UTF-16 (2 bytes a code unit), as the entity size formula does. */
export const MAX_KEY_CHARS = 512;
export const MAX_TRANSACTION_OPS = 100;
export const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;
/** Room kept for the transaction's multipart framing and per-operation headers. */
const TRANSACTION_OVERHEAD_BYTES = 64 * 1024;
const OPERATION_OVERHEAD_BYTES = 1024;

export type TableEntity = Record<string, unknown> & { partitionKey: string; rowKey: string };

/** Replaces lone surrogates (not valid Unicode, refused or mangled by the service) with U+FFFD. */
export function wellFormed(value: string): string {
  return value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

export const truncationMarker = (omitted: number) => `…[truncated ${omitted} chars]`;

/**
 * `value` cut to at most `maxChars` UTF-16 code units, ending with a marker that counts what was left out.
 * Never splits a surrogate pair.
 */
export function truncateText(value: string, maxChars: number): string {
  if (value.length <= maxChars) return value;
  // The marker's length depends on the count; the count's digits never exceed the value's length's digits.
  const markerLength = truncationMarker(value.length).length;
  if (maxChars <= markerLength) return truncationMarker(value.length).slice(0, Math.max(0, maxChars));
  let keep = maxChars - markerLength;
  const code = value.charCodeAt(keep - 1);
  if (keep > 0 && code >= 0xd800 && code <= 0xdbff) keep--;
  return value.slice(0, keep) + truncationMarker(value.length - keep);
}

/** Every string inside a JSON-like value truncated to `maxChars` (with markers) and made well-formed. */
export function capStrings<T>(value: T, maxChars: number): T {
  if (typeof value === "string") return truncateText(wellFormed(value), maxChars) as T;
  if (Array.isArray(value)) return value.map((v) => capStrings(v, maxChars)) as T;
  if (value !== null && typeof value === "object" && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, capStrings(v, maxChars)])) as T;
  }
  return value;
}

// Keys -------------------------------------------------------------------------------------------------------

// eslint-disable-next-line no-control-regex
const FORBIDDEN_KEY_CHARS = /[/\\#?\u0000-\u001f\u007f-\u009f]/;

export function isValidKey(key: string): boolean {
  return key.length <= MAX_KEY_CHARS && !FORBIDDEN_KEY_CHARS.test(key) && wellFormed(key) === key;
}

/**
 * A key the service accepts: a valid key is kept as is (so existing rows keep their keys); anything else maps
 * deterministically to "~" + SHA-256, so the same input always finds the same row. Idempotent.
 */
export function tableKey(key: string): string {
  if (isValidKey(key)) return key;
  return `~${createHash("sha256").update(key, "utf8").digest("base64url")}`;
}

/** Any string as a key: base64url (reversible for ordinary lengths), hashed when that would be over the limit. */
export function encodeKey(key: string): string {
  return tableKey(Buffer.from(key, "utf8").toString("base64url"));
}

// Sizes ------------------------------------------------------------------------------------------------------

/** Bytes a property value takes in the service's entity size formula; undefined/null count nothing. */
export function valueSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === "string") return 4 + value.length * 2;
  if (typeof value === "boolean") return 1;
  if (typeof value === "number") return Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? 4 : 8;
  if (typeof value === "bigint") return 8;
  if (value instanceof Date) return 8;
  if (value instanceof Uint8Array) return 4 + value.byteLength;
  if (typeof value === "object" && "type" in value && "value" in value) {
    const typed = value as { type: string; value: unknown };
    if (typed.type === "Guid") return 16;
    if (typed.type === "Binary") return 4 + Buffer.from(String(typed.value), "base64").byteLength;
    if (typed.type === "String") return valueSize(String(typed.value));
    return 8;
  }
  return 4 + JSON.stringify(value).length * 2;
}

/** The entity's size as the service counts it: 4 + keys (UTF-16) + per property 8 + name (UTF-16) + value. */
export function entitySize(entity: TableEntity): number {
  let size = 4 + entity.partitionKey.length * 2 + entity.rowKey.length * 2;
  for (const [name, value] of Object.entries(entity)) {
    if (name === "partitionKey" || name === "rowKey" || name === "etag" || value === undefined || value === null) continue;
    size += 8 + name.length * 2 + valueSize(value);
  }
  return size;
}

/** UTF-8 bytes of the entity as JSON on the wire (control characters and lone surrogates escape to 6 bytes). */
export function jsonSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), "utf8");
}

/**
 * The size to hold under 1 MiB: the service's formula, and the JSON body too (Azurite checks that one, and a
 * string of control characters is six times larger on the wire than in the formula).
 */
export function encodedSize(entity: TableEntity): number {
  return Math.max(entitySize(entity), jsonSize(entity));
}

// Entities ---------------------------------------------------------------------------------------------------

/** Name of the property that counts the properties an oversized entity had to leave out. */
export const OMITTED_PROPERTIES = "omittedProperties";

/**
 * The entity within every Table limit: keys made valid (tableKey), strings well-formed and at most 32K code
 * units, binaries at most 64 KiB, at most 252 custom properties, and at most 1 MiB in total, cutting the
 * largest strings first. Truncated strings end with a visible marker; dropped properties are counted.
 */
export function fitEntity<T extends { partitionKey: string; rowKey: string }>(input: T, options: { maxStringChars?: number } = {}): T {
  const entity = input as unknown as TableEntity;
  const maxChars = Math.min(options.maxStringChars ?? SAFE_STRING_CHARS, SAFE_STRING_CHARS);
  const out: TableEntity = { partitionKey: tableKey(entity.partitionKey), rowKey: tableKey(entity.rowKey) };
  let names = Object.keys(entity).filter((n) => n !== "partitionKey" && n !== "rowKey" && n !== "etag" && entity[n] !== undefined);
  if (names.length > MAX_CUSTOM_PROPERTIES) {
    out[OMITTED_PROPERTIES] = names.length - (MAX_CUSTOM_PROPERTIES - 1);
    names = names.slice(0, MAX_CUSTOM_PROPERTIES - 1);
  }
  for (const name of names) out[name] = fitValue(entity[name], maxChars);
  shrinkToEntityLimit(out);
  return out as T;
}

function fitValue(value: unknown, maxChars: number): unknown {
  if (typeof value === "string") return truncateText(wellFormed(value), maxChars);
  if (value instanceof Uint8Array && value.byteLength > MAX_BINARY_BYTES) return value.subarray(0, MAX_BINARY_BYTES);
  return value;
}

/** Cuts the largest string property (by its size on the wire) until the entity is within 1 MiB. */
function shrinkToEntityLimit(entity: TableEntity): void {
  for (let over = encodedSize(entity) - MAX_ENTITY_BYTES; over > 0; over = encodedSize(entity) - MAX_ENTITY_BYTES) {
    let largest: string | undefined;
    let largestBytes = 0;
    for (const [name, value] of Object.entries(entity)) {
      if (name === "partitionKey" || name === "rowKey" || typeof value !== "string") continue;
      const bytes = Math.max(value.length * 2, jsonSize(value));
      if (largest === undefined || bytes > largestBytes) [largest, largestBytes] = [name, bytes];
    }
    if (largest === undefined) {
      // Only non-string values left (cannot happen within 252 properties): drop properties, counting them.
      const victim = Object.keys(entity).find((n) => n !== "partitionKey" && n !== "rowKey" && n !== OMITTED_PROPERTIES);
      if (!victim) return;
      delete entity[victim];
      entity[OMITTED_PROPERTIES] = Number(entity[OMITTED_PROPERTIES] ?? 0) + 1;
      continue;
    }
    const text = entity[largest] as string;
    // Bytes per code unit of this string (2 in the formula, up to 6 escaped on the wire); room for the marker too.
    const perChar = Math.max(1, largestBytes / Math.max(1, text.length));
    entity[largest] = truncateText(text, Math.max(0, text.length - Math.ceil(over / perChar) - 64));
  }
}

// Text split across numbered properties ----------------------------------------------------------------------

/**
 * `value` split into properties `name`, `name1`, `name2`, … of at most `chunkChars` each (whole text kept, so
 * JSON read back stays parseable). Throws when more than `maxParts` are needed: callers cap their content first.
 */
export function splitText(name: string, value: string, maxParts = 16, chunkChars = 30_000): Record<string, string> {
  const text = wellFormed(value);
  const parts: Record<string, string> = {};
  let start = 0;
  let i = 0;
  do {
    let end = Math.min(text.length, start + chunkChars);
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end--;
    if (i >= maxParts) throw new Error(`${name} needs more than ${maxParts} properties`);
    parts[i === 0 ? name : `${name}${i}`] = text.slice(start, end);
    start = end;
    i++;
  } while (start < text.length);
  parts[`${name}Parts`] = String(i);
  return parts;
}

/** The text splitText stored (a row written before splitting existed has only `name`). */
export function joinText(entity: Record<string, unknown>, name: string): string {
  const parts = Number(entity[`${name}Parts`] ?? 1);
  let text = String(entity[name] ?? "");
  for (let i = 1; i < parts; i++) text += String(entity[`${name}${i}`] ?? "");
  return text;
}

// Lists ------------------------------------------------------------------------------------------------------

/**
 * Items packed as JSON arrays of at most `maxChars` each, in order. An item that cannot fit alone is replaced by
 * `oversized(item, length)` (which must fit), so a list is split, never lost to one huge element.
 */
export function packJsonList<T>(items: readonly T[], maxChars: number, oversized: (item: T, length: number) => unknown): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const item of items) {
    let text = JSON.stringify(item);
    if (text.length + 2 > maxChars) text = JSON.stringify(oversized(item, text.length));
    if (current.length > 0 && size + text.length + 1 > maxChars) {
      chunks.push(`[${current.join(",")}]`);
      current = [];
      size = 2;
    }
    current.push(text);
    size += text.length + 1;
  }
  if (current.length > 0) chunks.push(`[${current.join(",")}]`);
  return chunks;
}

// Transactions -----------------------------------------------------------------------------------------------

/**
 * Actions grouped into valid entity-group transactions: one partition each, at most 100 operations and 4 MiB,
 * each entity at most once, every entity fitted. Order is kept within a partition. Batches are separate
 * transactions: atomicity holds within a batch only.
 */
export function tableBatches(actions: readonly TransactionAction[]): TransactionAction[][] {
  const byPartition = new Map<string, TransactionAction[][]>();
  const state = new Map<string, { bytes: number; rows: Set<string> }>();
  for (const action of actions) {
    const fitted = fitAction(action);
    const entity = fitted[1] as TableEntity;
    const bytes = encodedSize(entity) + OPERATION_OVERHEAD_BYTES;
    const batches = byPartition.get(entity.partitionKey) ?? [];
    let current = batches[batches.length - 1];
    let s = state.get(entity.partitionKey);
    if (!current || !s || current.length >= MAX_TRANSACTION_OPS || s.rows.has(entity.rowKey) || s.bytes + bytes > MAX_TRANSACTION_BYTES - TRANSACTION_OVERHEAD_BYTES) {
      current = [];
      batches.push(current);
      s = { bytes: 0, rows: new Set() };
      state.set(entity.partitionKey, s);
    }
    current.push(fitted);
    s.bytes += bytes;
    s.rows.add(entity.rowKey);
    byPartition.set(entity.partitionKey, batches);
  }
  return [...byPartition.values()].flat();
}

function fitAction(action: TransactionAction): TransactionAction {
  const [kind, entity, ...rest] = action as [string, TableEntity, ...unknown[]];
  if (kind === "delete") return [kind, { partitionKey: tableKey(entity.partitionKey), rowKey: tableKey(entity.rowKey) }, ...rest] as unknown as TransactionAction;
  return [kind, fitEntity(entity), ...rest] as unknown as TransactionAction;
}
