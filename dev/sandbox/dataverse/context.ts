// What one Web API operation is (top-level or a `$batch` part), the context it runs in, and its `Prefer` header.
import type { DataverseOrg, JournalEntry } from "./org.js";
import type { SystemUserRecord } from "./schema.js";

export interface Operation {
  method: string;
  /** Path after `/api/data/v9.2/`, without the query. */
  path: string;
  /** Raw query string, without `?`. */
  query: string;
  /** Lower-cased names. */
  headers: Record<string, string | undefined>;
  body: string;
}

export interface OpContext {
  org: DataverseOrg;
  caller: SystemUserRecord;
  inBatch: boolean;
  /** Change-set journal (atomic rollback) and Content-ID → entity URL map. */
  journal?: JournalEntry[];
  contentIds?: Map<string, string>;
  created?: (id: string) => void;
}

export interface Preferences {
  representation: boolean;
  maxPageSize?: number;
  annotations?: string;
  continueOnError: boolean;
}

/** `Prefer` values, comma-separated; quoted values (annotation lists) may contain commas. */
export function parsePrefer(header: string | undefined): Preferences {
  const prefs: Preferences = { representation: false, continueOnError: false };
  for (const raw of (header ?? "").match(/(?:[^,"]+|"[^"]*")+/g) ?? []) {
    const item = raw.trim();
    const [name, value] = [item.split("=")[0]!.trim().toLowerCase(), item.slice(item.indexOf("=") + 1).trim()];
    if (name === "return" && value === "representation") prefs.representation = true;
    else if (name === "odata.maxpagesize" && /^\d+$/.test(value)) prefs.maxPageSize = Number(value);
    else if (name === "odata.include-annotations") prefs.annotations = value.replace(/^"|"$/g, "");
    else if (name === "odata.continue-on-error") prefs.continueOnError = true;
  }
  return prefs;
}
