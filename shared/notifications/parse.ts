// Graph's notification collection ({"value":[…]}), parsed tolerantly: a body that is not such a collection
// is a 400; inside it, each item is checked on its own and a malformed or unknown one is dropped, so one bad
// item never costs the others (nor a 5xx that would make Graph redeliver the whole batch).
import { z } from "zod";
import { AppError } from "../errors/app-error.js";
import { duplicateKeyProblem } from "../http/json-body.js";
import { JsonShapeScanner, type JsonShapeLimits } from "../http/json-shape.js";

export const LIFECYCLE_EVENTS = ["reauthorizationRequired", "subscriptionRemoved", "missed"] as const;
export type LifecycleEventName = (typeof LIFECYCLE_EVENTS)[number];

const changeItem = z.looseObject({
  subscriptionId: z.string().min(1).max(100),
  changeType: z.string().min(1).max(100),
  resource: z.string().max(2048),
  clientState: z.string().max(1024).nullish(),
  tenantId: z.string().max(100).optional(),
});

const lifecycleItem = z.looseObject({
  subscriptionId: z.string().min(1).max(100),
  lifecycleEvent: z.enum(LIFECYCLE_EVENTS),
  clientState: z.string().max(1024).nullish(),
  tenantId: z.string().max(100).optional(),
});

export type ChangeNotification = z.output<typeof changeItem>;
export type LifecycleNotification = z.output<typeof lifecycleItem>;

export interface ParsedNotifications {
  changes: ChangeNotification[];
  lifecycle: LifecycleNotification[];
  /** Items that were neither a change nor a known lifecycle notification. */
  malformed: number;
}

/**
 * Graph delivers notifications in small batches; a collection past this is not Graph's and is refused before any
 * item is looked at (a 1 MiB body holds ~350k `{}` items, which per-item validation would chew on for a second).
 */
export const MAX_NOTIFICATIONS_PER_REQUEST = 1_000;

/**
 * The webhook's body cap. A users change notification (no resource data, our subscription's kind) is ~540 bytes,
 * so 256 KiB carries ~480 of them; the webhook only wakes an incremental (delta) run, so a larger batch refused
 * here loses nothing: its changes arrive with that run or the next scheduled one. Receiving the bytes is what a
 * flood of valid-looking bodies still costs (bench:webhook-flood), so the cap is kept well under the 1 MiB that
 * authenticated admin bodies may use.
 */
export const MAX_NOTIFICATION_BODY_BYTES = 256 * 1024;

/**
 * Graph's notifications are shallow ({"value":[{…,"resourceData":{…}}]}: depth 3, 4 with encrypted content) with
 * short strings; a body past these bounds is refused before JSON.parse spends time on it.
 */
export const NOTIFICATION_SHAPE: JsonShapeLimits = { maxDepth: 8, maxItems: MAX_NOTIFICATIONS_PER_REQUEST, maxStringBytes: 8 * 1024 };

/**
 * The shape check of a body read in pieces (readBodyBytes' `inspect`): throws the 400/413 at the first piece past
 * a bound, so a deeply nested flood is refused after its first bytes, before the rest is copied or parsed.
 */
export function notificationShapeCheck(): (piece: Uint8Array) => void {
  const scanner = new JsonShapeScanner(NOTIFICATION_SHAPE);
  return (piece) => {
    const shape = scanner.feed(piece);
    if (shape?.bound === "maxItems") throw tooManyNotifications();
    if (shape) throw new AppError(`The body is not a Graph notification collection: ${shape.text}.`, 400, "json_too_complex");
  };
}

/**
 * Parses the raw body into its items; throws a 400/413 AppError when it is not Graph's notification collection.
 * `shapeChecked`: the body was already read through notificationShapeCheck().
 */
export function parseNotificationCollection(body: Buffer | string, shapeChecked = false): unknown[] {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  if (!shapeChecked) notificationShapeCheck()(bytes);
  let raw: unknown;
  const text = bytes.toString("utf8");
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AppError("The body is not valid JSON.", 400, "malformed_json");
  }
  const duplicate = duplicateKeyProblem(text);
  if (duplicate) throw duplicate;
  const value = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as { value?: unknown }).value : undefined;
  if (!Array.isArray(value)) throw new AppError('The body must be a notification collection: {"value":[…]}.', 400, "invalid_body");
  if (value.length > MAX_NOTIFICATIONS_PER_REQUEST) throw tooManyNotifications();
  return value;
}

function tooManyNotifications(): AppError {
  return new AppError(`A notification collection holds at most ${MAX_NOTIFICATIONS_PER_REQUEST} items (and no array or object in it more).`, 413, "too_many_notifications");
}

export interface ClassifiedNotifications extends ParsedNotifications {
  /** Items dropped for a wrong or missing clientState or another tenant, before any other check. */
  untrusted: number;
}

/**
 * Sorts items into trusted changes and lifecycle events. The cheap check comes first: only an item whose
 * clientState (and tenant) `isTrusted` accepts is validated further, so forged items cost one comparison each.
 */
export function classifyNotifications(items: readonly unknown[], isTrusted: (clientState: string, tenantId: unknown) => boolean): ClassifiedNotifications {
  const result: ClassifiedNotifications = { changes: [], lifecycle: [], malformed: 0, untrusted: 0 };
  for (const item of items) {
    if (typeof item !== "object" || item === null) { result.malformed++; continue; }
    const { clientState, tenantId } = item as { clientState?: unknown; tenantId?: unknown };
    if (typeof clientState !== "string" || !isTrusted(clientState, tenantId)) { result.untrusted++; continue; }
    if ("lifecycleEvent" in item) {
      const lifecycle = lifecycleItem.safeParse(item);
      if (lifecycle.success) result.lifecycle.push(lifecycle.data);
      else result.malformed++;
      continue;
    }
    const change = changeItem.safeParse(item);
    if (change.success) result.changes.push(change.data);
    else result.malformed++;
  }
  return result;
}
