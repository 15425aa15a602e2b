// Queue worker of bulk remap jobs (QUEUES.remapBulk): plans a job, or applies one chunk of it.
import { app, type InvocationContext } from "@azure/functions";
import { z } from "zod";
import { processBulkMessage, type BulkMessage } from "../shared/remap/bulk-jobs.js";
import { bridge } from "./bridge.js";
import { QUEUES } from "../shared/state/storage.js";
import { errorMessage } from "../shared/errors/app-error.js";

const message = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("plan"), jobId: z.uuid() }),
  z.strictObject({ kind: z.literal("apply"), jobId: z.uuid(), start: z.number().int().min(0), end: z.number().int().min(0),
    busyRetries: z.number().int().min(0).optional() }),
]);

export async function remapBulkWorker(queueItem: unknown, context: InvocationContext): Promise<void> {
  const parsed = message.safeParse(queueItem);
  if (!parsed.success) {
    // A malformed message can never succeed: log it and let it go rather than retry it into the poison queue.
    context.error(`remap bulk: ignored a malformed message: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
    return;
  }
  try {
    await processBulkMessage(parsed.data as BulkMessage, bridge().remapDeps({ log: (line) => context.warn(line) }));
  } catch (error) {
    context.error(`remap bulk ${parsed.data.kind} ${parsed.data.jobId} failed: ${errorMessage(error)}`);
    throw error;
  }
}

app.storageQueue("remapBulkWorker", { queueName: QUEUES.remapBulk, connection: "AzureWebJobsStorage", handler: remapBulkWorker });
