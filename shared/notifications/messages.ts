// Messages on QUEUES.notifications: a debounced sync of one org, or a lifecycle event to act on.
import { z } from "zod";
import { LIFECYCLE_EVENTS } from "./parse.js";

export const notificationMessage = z.discriminatedUnion("kind", [
  // claim: the debounce claim that sent it (absent on messages sent before claims existed).
  z.object({ kind: z.literal("sync"), org: z.string().min(1), attempt: z.number().int().min(0).optional(), claim: z.string().min(1).max(64).optional() }),
  z.object({ kind: z.literal("lifecycle"), event: z.enum(LIFECYCLE_EVENTS), subscriptionId: z.string().min(1) }),
]);

export type NotificationMessage = z.output<typeof notificationMessage>;
export type SyncMessage = Extract<NotificationMessage, { kind: "sync" }>;
