// NCRONTAB (six fields, seconds first) as the Functions host reads it; croner parses the same form.
import { Cron } from "croner";
import { errorMessage } from "../errors/app-error.js";

/** Returns a problem description, or undefined when the expression is a valid six-field NCRONTAB. */
export function parseNcrontab(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) return `must have six fields (second minute hour day month day-of-week), got ${fields.length}`;
  try {
    new Cron(expression, { paused: true });
    return undefined;
  } catch (error) {
    return `is not a valid NCRONTAB expression: ${errorMessage(error)}`;
  }
}

/** Next occurrence after `from`, or null. */
export function nextOccurrence(expression: string, from: Date = new Date()): Date | null {
  return new Cron(expression, { paused: true }).nextRun(from);
}
