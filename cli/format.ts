// Human-readable lines for the CLI: people by name and logon first, ids after them (all of them with --json).
import type { BulkJob, RunReport } from "../client/admin-api.js";

type Change = RunReport["changes"][number];
type Column = NonNullable<Change["columns"]>[number];

const column = (c: Change, name: string): Column | undefined => c.columns?.find((col) => col.column === name);
const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v : undefined);

/** "Ada Lovelace <ada@contoso.com>" from the entry itself (its displayName and logon, else its mapped columns), else its ids. */
export function person(c: Change): string {
  const name = text(c.displayName) ?? text(column(c, "fullname")?.new) ?? text(column(c, "fullname")?.old);
  const logon = text(c.logon) ?? text(column(c, "domainname")?.new) ?? text(column(c, "domainname")?.old);
  const who = [name, logon && (name ? `<${logon}>` : logon)].filter(Boolean).join(" ");
  return who || c.objectId || c.systemUserId || "(unknown user)";
}

function columnsText(c: Change): string {
  return (c.columns ?? []).map((col) => `${col.column}: ${col.old ?? "∅"} → ${col.new ?? "∅"}`).join("; ");
}

export function changeLine(c: Change): string {
  const details = [columnsText(c), c.reason ? `(${c.reason})` : "", c.error ? `error ${c.error.code ?? ""}: ${c.error.message}` : ""].filter(Boolean).join(" ");
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
