// Who a run's change entry is about, for people: the display name and logon the run recorded at plan time (else
// the entry's own mapped columns), the ids kept for a click or --json. Shared by the console and the CLI.
import type { RunReport } from "./admin-api.js";

export type ChangeEntry = RunReport["changes"][number];
export type AccessChange = NonNullable<ChangeEntry["access"]>;

export interface PersonView {
  name?: string;
  /** UPN, or DOMAIN\sam on premises. */
  logon?: string;
  objectId?: string;
  systemUserId?: string;
}

const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v.trim() : undefined);
const column = (c: ChangeEntry, name: string) => c.columns?.find((col) => col.column === name);

export function personOf(c: ChangeEntry): PersonView {
  const first = text(column(c, "firstname")?.new ?? column(c, "firstname")?.old);
  const last = text(column(c, "lastname")?.new ?? column(c, "lastname")?.old);
  const name = text(c.displayName) ?? text(column(c, "fullname")?.new ?? column(c, "fullname")?.old) ?? ([first, last].filter(Boolean).join(" ") || undefined);
  const logon = text(c.logon) ?? text(column(c, "domainname")?.new ?? column(c, "domainname")?.old);
  return { name, logon, objectId: c.objectId, systemUserId: c.systemUserId };
}

/** "Ada Lovelace <ada@contoso.com>", else the logon, else the first id. */
export function personText(p: PersonView): string {
  if (p.name && p.logon) return `${p.name} <${p.logon}>`;
  return p.name ?? p.logon ?? p.objectId ?? p.systemUserId ?? "(unknown user)";
}

/** Whether the change matches a search: any part of the name, logon or ids, case-insensitively. */
export function personMatches(p: PersonView, search: string): boolean {
  const needle = search.trim().toLowerCase();
  return !needle || [p.name, p.logon, p.objectId, p.systemUserId].some((v) => v?.toLowerCase().includes(needle));
}

/** A change by name: the unit old → new, roles and teams added (+) and removed (−). */
export function accessChangeText(change: AccessChange): string {
  const parts: string[] = [];
  if (change.businessUnit) parts.push(`business unit: ${change.businessUnit.old} → ${change.businessUnit.new}`);
  const list = (label: string, names: readonly string[] | undefined, sign: string) => { if (names?.length) parts.push(`${label}: ${names.map((n) => sign + n).join(", ")}`); };
  list("roles", change.rolesAdded, "+");
  list("roles", change.rolesRemoved, "−");
  list("roles lost in the move", change.rolesLostInMove, "−");
  list("teams", change.teamsAdded, "+");
  list("teams", change.teamsRemoved, "−");
  return parts.join("; ");
}

/** The access write's outcome when it differs from the entry's, with its error: "failed: code message". */
export function accessOutcomeText(c: ChangeEntry): string | undefined {
  if (!c.accessOutcome) return undefined;
  return c.accessError ? `${c.accessOutcome}: ${`${c.accessError.code ?? ""} ${c.accessError.message}`.trim()}` : c.accessOutcome;
}

const CSV_HEADERS = ["action", "displayName", "logon", "outcome", "reason", "columns", "access", "accessOutcome", "error", "objectId", "systemUserId"];

/** One CSV field: quoted when needed; a leading = + - @ is neutralised so a spreadsheet never runs it as a formula. */
function csvField(value: string | undefined): string {
  const v = value ?? "";
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The changes as RFC 4180 CSV (CRLF line ends), people first, ids last. */
export function changesCsv(changes: readonly ChangeEntry[]): string {
  const rows = changes.map((c) => {
    const p = personOf(c);
    const columns = (c.columns ?? []).map((col) => `${col.column}: ${col.old ?? ""} -> ${col.new ?? ""}`).join("; ");
    const error = c.error ? `${c.error.code ?? ""} ${c.error.message}`.trim() : undefined;
    const access = c.access ? accessChangeText(c.access) : undefined;
    return [c.action, p.name, p.logon, c.outcome, c.reason, columns, access, accessOutcomeText(c), error, p.objectId, p.systemUserId];
  });
  return [CSV_HEADERS, ...rows].map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}
