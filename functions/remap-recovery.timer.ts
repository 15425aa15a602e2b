// Every 5 minutes: finishes or rolls back remaps cut off between their steps (the sync also runs this pass
// before each run). Incomplete remaps are logged as errors until they settle.
import { app, type InvocationContext, type Timer } from "@azure/functions";
import { invocationLogger } from "../shared/telemetry/logger.js";
import { recoverRemapsTraced } from "../shared/telemetry/remap.js";
import { bridge } from "./bridge.js";
import { errorMessage } from "../shared/errors/app-error.js";

export async function remapRecovery(_timer: Timer, context: InvocationContext): Promise<void> {
  try {
    const report = await recoverRemapsTraced(bridge().remapDeps({ log: (line) => context.warn(line) }));
    if (report.examined > 0) context.log(`remap recovery: ${JSON.stringify({ ...report, problems: report.problems.length })}`);
    for (const p of report.problems) invocationLogger(context).error(`remap is still incomplete: ${p.message}`, { remapId: p.operationId, org: p.org });
  } catch (error) {
    context.error(`remap recovery failed: ${errorMessage(error)}`);
    throw error;
  }
}

app.timer("remapRecovery", { schedule: "0 */5 * * * *", runOnStartup: false, handler: remapRecovery });
