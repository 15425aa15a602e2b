// Human-readable lines for the CLI: people by name and logon first, ids after them (all of them with --json).
import type { BulkJob, RunReport } from "../client/admin-api.js";
import { accessChangeText, accessOutcomeText, personOf, personText } from "../client/people.js";

type Change = RunReport["changes"][number];

/** "Ada Lovelace <ada@contoso.com>" from the entry itself (the name and logon recorded at plan time), else its ids. */
export const person = (c: Change): string => personText(personOf(c));

function columnsText(c: Change): string {
  return (c.columns ?? []).map((col) => `${col.column}: ${col.old ?? "∅"} → ${col.new ?? "∅"}`).join("; ");
}

export function changeLine(c: Change): string {
  const outcome = accessOutcomeText(c);
  const access = c.access ? `${accessChangeText(c.access)}${outcome ? ` (access ${outcome})` : ""}` : "";
  const columns = columnsText(c);
  const changed = columns && access ? `${columns}; access: ${access}` : columns || access;
  const details = [changed, c.reason ? `(${c.reason})` : "", c.error ? `error ${c.error.code ?? ""}: ${c.error.message}` : ""].filter(Boolean).join(" ");
  return `    ${c.action} ${person(c)}${details ? `  ${details}` : ""}`;
}

export function runLines(report: RunReport): string[] {
  const counts = Object.entries(report.counts).filter(([, n]) => typeof n === "number" && n > 0).map(([k, n]) => `${k} ${n}`).join(", ");
  return [
    `run ${report.runId}  ${report.org}  ${report.mode}${report.dryRun ? " (dry run)" : ""}  ${report.state}`,
    `  counts: ${counts || "nothing"}`,
    ...(report.halt ? [`  halted: ${report.halt.pendingDisables} disables over the limit of ${report.halt.limit}: bridge runs approve ${report.runId}`] : []),
    ...report.errors.map((e) => `  error ${e.code ?? ""}: ${e.message}`),
    `  changes ${report.changesTotal}${report.changesNext ? ` (showing ${report.changes.length}; --offset/--limit for more)` : ""}:`,
    ...report.changes.map(changeLine),
  ];
}

export function bulkLines(job: BulkJob, planOnly: boolean): string[] {
  return [
    `bulk job ${job.jobId}  ${job.state}  ${Object.entries(job.counts).map(([k, n]) => `${k} ${n}`).join(", ")}`,
    ...job.plan.map((i) => `  ${i.user}: ${i.from ?? "∅"} → ${i.to ?? "∅"}  ${i.action}${i.outcome ? ` ${i.outcome}` : ""}${i.conflicts?.length ? ` conflicts ${JSON.stringify(i.conflicts)}` : ""}${i.message ? ` (${i.code ?? ""}: ${i.message})` : ""}`),
    ...(planOnly ? ["(plan only: add --apply to remap)"] : []),
  ];
}

/** Key: value lines of an object's scalar fields, nested objects as compact JSON. */
export function fieldLines(value: Record<string, unknown>, indent = "  "): string[] {
  return Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => `${indent}${k}: ${v !== null && typeof v === "object" ? JSON.stringify(v) : String(v)}`);
}
