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

const collection = z.object({ value: z.array(z.unknown()) });

/** Parses the raw body; throws a 400 AppError when it is not Graph's notification collection. */
export function parseNotifications(body: Buffer | string): ParsedNotifications {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof body === "string" ? body : body.toString("utf8"));
  } catch {
    throw new AppError("The body is not valid JSON.", 400, "malformed_json");
  }
  const parsed = collection.safeParse(raw);
  if (!parsed.success) throw new AppError('The body must be a notification collection: {"value":[…]}.', 400, "invalid_body");
  const result: ParsedNotifications = { changes: [], lifecycle: [], malformed: 0 };
  for (const item of parsed.data.value) {
    const isLifecycle = typeof item === "object" && item !== null && "lifecycleEvent" in item;
    if (isLifecycle) {
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
