// Graph's notification collection ({"value":[…]}), parsed tolerantly: a body that is not such a collection
// is a 400; inside it, each item is checked on its own and a malformed or unknown one is dropped, so one bad
// item never costs the others (nor a 5xx that would make Graph redeliver the whole batch).
import { z } from "zod";
import { AppError } from "../errors/app-error.js";

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

/** Parses the raw body into its items; throws a 400/413 AppError when it is not Graph's notification collection. */
export function parseNotificationCollection(body: Buffer | string): unknown[] {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof body === "string" ? body : body.toString("utf8"));
  } catch {
    throw new AppError("The body is not valid JSON.", 400, "malformed_json");
  }
  const value = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as { value?: unknown }).value : undefined;
  if (!Array.isArray(value)) throw new AppError('The body must be a notification collection: {"value":[…]}.', 400, "invalid_body");
  if (value.length > MAX_NOTIFICATIONS_PER_REQUEST) {
    throw new AppError(`A notification collection holds at most ${MAX_NOTIFICATIONS_PER_REQUEST} items.`, 413, "too_many_notifications");
  }
  return value;
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
