import { app, type InvocationContext, type Timer } from "@azure/functions";
import { fanOutTraced } from "../shared/sync/run-telemetry.js";
import { recordPoisonDepth } from "../shared/telemetry/poison-depth.js";
import { bridge } from "./bridge.js";
import { errorMessage } from "../shared/errors/app-error.js";

/** Fans out one queued run per org on SYNC_SCHEDULE; rethrows so the host records failures. */
export async function directorySyncTimer(timer: Timer, context: InvocationContext): Promise<void> {
  try {
    if (timer.isPastDue) context.warn("the directory sync timer is running late");
    const result = await fanOutTraced(bridge().syncRuns, "timer");
    await recordPoisonDepth(bridge().storage).catch((error: unknown) => context.warn(`poison-queue depth unavailable: ${errorMessage(error)}`));
    context.log(`directory sync: started ${result.started.length} run(s); skipped ${JSON.stringify(result.skipped)}`);
  } catch (error) {
    context.error(`directory sync fan-out failed: ${errorMessage(error)}`);
    throw error;
  }
}

app.timer("directorySync", { schedule: "%SYNC_SCHEDULE%", runOnStartup: false, handler: directorySyncTimer });
