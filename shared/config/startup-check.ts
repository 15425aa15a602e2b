// Validates the whole configuration when the Functions host starts the app, so a bad setting shows in the
// log (and Application Insights) at once, with every problem named, rather than at the first request.
import { loadConfig } from "./config.js";
import { errorMessage } from "../errors/app-error.js";

export function checkConfigurationAtStart(log: { error(message: string): void; info(message: string): void }): void {
  try {
    const config = loadConfig();
    log.info(`configuration valid: ${config.dataverseUrls.length} org(s), ${config.tokenCallers.length} token caller(s), sync ${config.sync.dryRun ? "dry run" : "live"}`);
  } catch (error) {
    log.error(errorMessage(error));
  }
}
