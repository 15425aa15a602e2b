import { app, type InvocationContext } from "@azure/functions";
import { z } from "zod";
import { QUEUES } from "../shared/state/storage.js";
import { executeTraced } from "../shared/sync/run-telemetry.js";
import { invocationLogger } from "../shared/telemetry/logger.js";
import { bridge } from "./bridge.js";
import { errorMessage } from "../shared/errors/app-error.js";

const message = z.object({ org: z.string().min(1), runId: z.string().uuid(), approved: z.boolean().optional(), traceparent: z.string().max(64).optional(), tracestate: z.string().max(512).optional() });

/** Runs one org's sync from its queue message; rethrows after logging so the host retries and poisons. */
export async function syncOrgWorker(queueItem: unknown, context: InvocationContext): Promise<void> {
  const parsed = message.safeParse(queueItem);
  if (!parsed.success) {
    context.error(`dropping a malformed sync message: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
    return;
  }
  const log = invocationLogger(context, { org: parsed.data.org, runId: parsed.data.runId });
  try {
    await executeTraced(bridge().syncRuns, parsed.data, log);
  } catch (error) {
    log.error(`sync run failed: ${errorMessage(error)}`);
    throw error;
  }
}

app.storageQueue("syncOrg", { queueName: QUEUES.syncOrg, connection: "AzureWebJobsStorage", handler: syncOrgWorker });
