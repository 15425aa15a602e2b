// DataverseOrgPort over the Web API v9.2: paged reads, escaped lookups, update-only PATCH, and `$batch` writes
// (one change set per write, so a failing write rolls nothing else back) with bounded concurrency.
import { encodeBatch, decodeBatchResponse, BatchFormatError, type BatchLayout, type BatchPartResponse, type BatchRequest } from "./batch-codec.js";
import { DataverseError, errorBodyParts, isDataverseError } from "./errors.js";
import { DataverseHttp, type DataverseHttpOptions, type DataverseRequestStats, type GetToken, type HttpResponse, type RetryPolicy, type Sleep } from "./http.js";
import type { OrgThrottle } from "./limiter.js";
import type { AxiosAdapter } from "axios";
import { eq, guidLiteral, inValues, isGuid, queryString, selectList, stringLiteral } from "./odata.js";
import type { ColumnValue, DataverseOrgPort, DataverseRequestOptions, SystemUser, SystemUserKeys, SystemUserWrite, WriteResult } from "./types.js";

const DEFAULT_BATCH_SIZE = 250;

export interface DataverseClientOptions {
  orgUrl: string;
  getToken: GetToken;
  /** Web API version (default 9.2; on-premises orgs serve 9.0 / 9.1). */
  apiVersion?: string;
  /**
   * Writes per `$batch` request (1..1000, default 250). A `$batch` counts once against Dataverse's 6,000 requests
   * per user in 300 s: a million-user first round in batches of 100 would need 500 s for that limit alone, in
   * batches of 250 it needs 4,000 requests; and a sync step of 1,000 writes is one wave of four batches.
   */
  batchSize?: number;
  /** Most requests in flight to this org (the server's x-ms-dop-hint caps it further). */
  maxConcurrency?: number;
  /** `Prefer: odata.maxpagesize` (1..5000, default 5000). */
  pageSize?: number;
  /**
   * Longest GET URL `findSystemUsersIn` builds (default 12,000). Dataverse allows 32 KB; staying well under 16 KB
   * leaves room for the headers within common proxy and server header limits (Node's is 16 KB in all).
   */
  maxUrlLength?: number;
  /** Root business unit for creates; looked up once when absent. */
  businessUnitId?: string;
  batchLayout?: BatchLayout;
  retry?: Partial<RetryPolicy>;
  sleep?: Sleep;
  random?: () => number;
  now?: () => number;
  timeoutMs?: number;
  /** Override the process-wide per-org throttle (tests). */
  throttle?: OrgThrottle;
  /** Replaces the network (unit tests). */
  adapter?: AxiosAdapter;
  /** An on-premises org's TLS trust (its private CA bundle). */
  onPremisesCa?: DataverseHttpOptions["onPremisesCa"];
}

const ENTITY_SET = "systemusers";
const KEY = "systemuserid";
const WRITE_COLUMN_RE = /^[A-Za-z_][A-Za-z0-9_]*(@odata\.bind)?$/;
const ENTITY_ID_RE = /\(([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\)\s*$/i;
const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.floor(n)));

interface Page { value?: unknown; "@odata.nextLink"?: unknown }

export class DataverseClient implements DataverseOrgPort {
  readonly orgUrl: string;
  private readonly http: DataverseHttp;
  private readonly batchSize: number;
  private readonly pageSize: number;
  private readonly maxUrlLength: number;
  private readonly layout: BatchLayout;
  private businessUnit: Promise<string> | undefined;

  constructor(options: DataverseClientOptions) {
    this.http = new DataverseHttp({
      orgUrl: options.orgUrl,
      getToken: options.getToken,
      apiVersion: options.apiVersion,
      throttle: options.throttle,
      maxConcurrency: options.maxConcurrency,
      retry: options.retry,
      sleep: options.sleep,
      random: options.random,
      now: options.now,
      timeoutMs: options.timeoutMs,
      adapter: options.adapter,
      onPremisesCa: options.onPremisesCa,
    });
    this.orgUrl = this.http.orgUrl;
    this.batchSize = clamp(options.batchSize ?? DEFAULT_BATCH_SIZE, 1, 1000);
    this.pageSize = clamp(options.pageSize ?? 5000, 1, 5000);
    this.maxUrlLength = clamp(options.maxUrlLength ?? 12_000, 1_000, 32_768);
    this.layout = options.batchLayout ?? "changeset-per-request";
    if (options.businessUnitId) this.businessUnit = Promise.resolve(guidLiteral(options.businessUnitId));
  }

  /** A snapshot of the request counters. */
  get stats(): DataverseRequestStats {
    return structuredClone(this.http.stats);
  }

  resetStats(): void {
    this.http.retries.resetStats();
  }

  listSystemUsers(select: readonly string[], options: DataverseRequestOptions & { filter?: string; pageSize?: number } = {}): AsyncIterable<SystemUser[]> {
    return this.pages("list", select, options.filter, options.pageSize, options.abortSignal);
  }

  async getSystemUser(systemUserId: string, select: readonly string[], options: DataverseRequestOptions = {}): Promise<SystemUser | null> {
    if (!isGuid(systemUserId)) return null;
    const url = `${ENTITY_SET}(${guidLiteral(systemUserId)})${queryString({ $select: selectList(select, KEY) })}`;
    const res = await this.http.send({ kind: "get", method: "GET", url, signal: options.abortSignal, accept: (s) => s === 200 || s === 404 });
    if (res.status === 404) return null;
    return toSystemUser(this.json(res, "GET", url));
  }

  async findSystemUsers(column: "domainname" | "azureactivedirectoryobjectid" | "activedirectoryguid", value: string, select: readonly string[], options: DataverseRequestOptions = {}): Promise<SystemUser[]> {
    let filter: string;
    if (column !== "domainname") {
      // No row can hold a non-GUID object id; asking would only earn a 400.
      if (!isGuid(value)) return [];
      filter = eq(column, { guid: value });
    } else {
      filter = `${column} eq ${stringLiteral(value)}`;
    }
    const found: SystemUser[] = [];
    for await (const page of this.pages("find", select, filter, undefined, options.abortSignal)) found.push(...page);
    return found;
  }

  async findSystemUsersIn(keys: SystemUserKeys, select: readonly string[], options: DataverseRequestOptions = {}): Promise<SystemUser[]> {
    const base = this.http.resolve(`${ENTITY_SET}${queryString({ $select: selectList(select, KEY), $filter: "" })}`).length;
    const filters = packInFilters(keys, this.maxUrlLength - base);
    const found = new Map<string, SystemUser>();
    // Chunks go out together; the org's limiter decides how many are really in flight.
    const pages = await Promise.all(filters.map(async (filter) => {
      const rows: SystemUser[] = [];
      for await (const page of this.pages("find", select, filter, undefined, options.abortSignal)) rows.push(...page);
      return rows;
    }));
    for (const row of pages.flat()) found.set(row.systemuserid.toLowerCase(), row);
    return [...found.values()];
  }

  async updateSystemUser(systemUserId: string, columns: Record<string, ColumnValue>, options: DataverseRequestOptions & { etag?: string } = {}): Promise<void> {
    checkColumns(columns);
    const url = `${ENTITY_SET}(${guidLiteral(systemUserId)})`;
    // If-Match makes the PATCH update-only: a missing row is a 404, never an accidental create.
    await this.http.send({ kind: "update", method: "PATCH", url, headers: { "If-Match": options.etag ?? "*" }, body: columns, signal: options.abortSignal });
  }

  async applyWrites(writes: readonly SystemUserWrite[], options: DataverseRequestOptions = {}): Promise<WriteResult[]> {
    const signal = options.abortSignal;
    const results: WriteResult[] = new Array(writes.length);
    const sendable: number[] = [];
    writes.forEach((w, i) => {
      const problem = invalidWrite(w);
      if (problem) results[i] = { ok: false, status: 400, code: "InvalidRequest", message: problem };
      else sendable.push(i);
    });

    let businessUnit: string | undefined;
    if (sendable.some((i) => needsBusinessUnit(writes[i]!))) {
      try {
        businessUnit = await this.rootBusinessUnit(signal);
      } catch (err) {
        if (!isDataverseError(err)) throw err;
        for (const i of sendable.filter((i) => needsBusinessUnit(writes[i]!))) results[i] = failure(err);
        sendable.splice(0, sendable.length, ...sendable.filter((i) => !needsBusinessUnit(writes[i]!)));
      }
    }

    const chunks: number[][] = [];
    for (let i = 0; i < sendable.length; i += this.batchSize) chunks.push(sendable.slice(i, i + this.batchSize));
    // All chunks start at once; the org's limiter decides how many are really in flight.
    await Promise.all(chunks.map(async (chunk) => {
      const chunkResults = await this.runBatch(chunk.map((i) => writes[i]!), businessUnit, signal);
      chunk.forEach((i, j) => { results[i] = chunkResults[j]!; });
    }));
    return results;
  }

  /** The root business unit (no parent): new users are bound to it. */
  private rootBusinessUnit(signal?: AbortSignal): Promise<string> {
    this.businessUnit ??= (async () => {
      const url = `businessunits${queryString({ $filter: "_parentbusinessunitid_value eq null", $select: "businessunitid" })}`;
      const res = await this.http.send({ kind: "lookup", method: "GET", url, signal });
      const body = this.json(res, "GET", url) as Page;
      const first = Array.isArray(body.value) ? (body.value[0] as { businessunitid?: unknown } | undefined) : undefined;
      if (typeof first?.businessunitid !== "string" || !isGuid(first.businessunitid)) {
        throw new DataverseError({ statusCode: res.status, code: "NoRootBusinessUnit", method: "GET", url: this.http.resolve(url), serverMessage: "no root business unit found" });
      }
      return first.businessunitid;
    })();
    const pending = this.businessUnit;
    // A failed lookup is not remembered: the next call asks again.
    pending.catch(() => { if (this.businessUnit === pending) this.businessUnit = undefined; });
    return pending;
  }

  /** One $batch request for the pending writes: its parts in order, or the result every pending write gets. */
  private async sendBatch(writes: SystemUserWrite[], pending: number[], businessUnit: string | undefined, signal?: AbortSignal): Promise<
    { ok: true; parts: Array<BatchPartResponse | undefined> } | { ok: false; failure: (i: number) => WriteResult }
  > {
    const encoded = encodeBatch(pending.map((i) => this.batchRequest(writes[i]!, businessUnit)), { layout: this.layout });
    this.http.retries.countBatched(pending.length);
    let res: HttpResponse;
    try {
      res = await this.http.send({
        kind: "batch",
        method: "POST",
        url: "$batch",
        headers: { "Content-Type": encoded.contentType, Prefer: "odata.continue-on-error" },
        body: encoded.body,
        signal,
        // Without continue-on-error Dataverse answers 400 with the failing part; decode that too.
        accept: (s) => s === 200 || s === 400,
      });
      if (res.status === 400 && !/^\s*multipart\//i.test(res.headers["content-type"] ?? "")) {
        const { code, message } = errorBodyParts(res.text);
        throw new DataverseError({ statusCode: 400, code, method: "POST", url: this.http.resolve("$batch"), serverMessage: message });
      }
    } catch (err) {
      if (!isDataverseError(err)) throw err;
      return { ok: false, failure: () => failure(err) };
    }
    try {
      return { ok: true, parts: matchParts(decodeBatchResponse(res.headers["content-type"], res.text), pending.length) };
    } catch (err) {
      if (!(err instanceof BatchFormatError)) throw err;
      return { ok: false, failure: () => ({ ok: false, status: res.status, code: "MalformedBatchResponse", message: err.message }) };
    }
  }

  private async runBatch(writes: SystemUserWrite[], businessUnit: string | undefined, signal?: AbortSignal): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(writes.length);
    let pending = writes.map((_, i) => i);
    // The whole $batch request retries inside http.send; writes answered 429/503 inside its parts are sent again
    // under the same policy, counted as attempts of this one call.
    const run = this.http.retries.start(signal);
    for (;;) {
      await run.begin();
      const answered = await this.sendBatch(writes, pending, businessUnit, signal);
      if (!answered.ok) {
        for (const i of pending) results[i] = answered.failure(i);
        return results;
      }
      const throttled: Array<{ index: number; part: BatchPartResponse }> = [];
      pending.forEach((i, j) => {
        const part = answered.parts[j];
        if (!part) results[i] = { ok: false, status: 0, code: "NotExecuted", message: "the $batch response has no answer for this write" };
        else if (part.status === 429 || part.status === 503) throttled.push({ index: i, part });
        else results[i] = toWriteResult(writes[i]!, part);
      });
      if (throttled.length === 0) return results;
      const first = throttled[0]!.part;
      const retryAfter = throttled.map((t) => t.part.headers["retry-after"]).find((v) => v !== undefined);
      if (!(await run.again({ kind: "throttled", status: first.status, retryAfter, inBatch: true }))) {
        for (const { index, part } of throttled) results[index] = toWriteResult(writes[index]!, part);
        return results;
      }
      pending = throttled.map((t) => t.index);
    }
  }

  private batchRequest(write: SystemUserWrite, businessUnit: string | undefined): BatchRequest {
    if (write.kind === "create") {
      const body: Record<string, ColumnValue> = { ...write.columns };
      if (businessUnit && needsBusinessUnit(write)) body["businessunitid@odata.bind"] = `/businessunits(${businessUnit})`;
      return { method: "POST", url: `${this.http.apiBase}${ENTITY_SET}`, headers: { "Content-Type": "application/json; type=entry" }, body };
    }
    return {
      method: "PATCH",
      url: `${this.http.apiBase}${ENTITY_SET}(${guidLiteral(write.systemUserId)})`,
      headers: { "Content-Type": "application/json", "If-Match": write.etag ?? "*" },
      body: write.columns,
    };
  }

  private async *pages(kind: string, select: readonly string[], filter: string | undefined, pageSize: number | undefined, signal?: AbortSignal): AsyncGenerator<SystemUser[]> {
    const size = clamp(pageSize ?? this.pageSize, 1, 5000);
    let url: string | undefined = `${ENTITY_SET}${queryString({ $select: selectList(select, KEY), $filter: filter })}`;
    while (url !== undefined) {
      const res = await this.http.send({ kind, method: "GET", url, headers: { Prefer: `odata.maxpagesize=${size}` }, signal });
      const body = this.json(res, "GET", url) as Page;
      if (!Array.isArray(body?.value)) throw this.malformed(res, url, "no value array");
      yield body.value.map(toSystemUser);
      const next = body["@odata.nextLink"];
      // Followed unchanged (§2); the http layer refuses one that leaves the org.
      url = typeof next === "string" && next !== "" ? next : undefined;
    }
  }

  private json(res: HttpResponse, method: string, url: string): Record<string, unknown> {
    try {
      const body = res.json();
      if (body && typeof body === "object") return body as Record<string, unknown>;
    } catch { /* reported below */ }
    throw this.malformed(res, url, "not a JSON object", method);
  }

  private malformed(res: HttpResponse, url: string, what: string, method = "GET"): DataverseError {
    return new DataverseError({ statusCode: res.status, code: "MalformedResponse", method, url: this.http.resolve(url), serverMessage: `response body is ${what}` });
  }
}

const OBJECT_ID = "azureactivedirectoryobjectid";
const DOMAIN_NAME = "domainname";
/** Length a text takes in the sent URL: percent-encoded, and `'` too (the URL parser escapes it in https queries). */
const urlLength = (text: string): number => encodeURIComponent(text).replace(/'/g, "%27").length;

/**
 * `In(objectid) or In(domainname)` filters, each within `budget` URL characters (a value too long for any
 * budget still goes alone). Values are deduplicated case-insensitively; non-GUID object ids match no row.
 */
export function packInFilters(keys: SystemUserKeys, budget: number): string[] {
  const unique = (values: readonly string[] | undefined, keep: (v: string) => boolean) => {
    const seen = new Map<string, string>();
    for (const v of values ?? []) if (keep(v) && !seen.has(v.toLowerCase())) seen.set(v.toLowerCase(), v);
    return [...seen.values()];
  };
  const values: Array<[typeof OBJECT_ID | typeof DOMAIN_NAME, string]> = [
    ...unique(keys.objectIds, isGuid).map((v) => [OBJECT_ID, v.toLowerCase()] as [typeof OBJECT_ID, string]),
    ...unique(keys.domainNames, (v) => v !== "").map((v) => [DOMAIN_NAME, v] as [typeof DOMAIN_NAME, string]),
  ];
  const render = (chunk: Record<string, string[]>) =>
    [OBJECT_ID, DOMAIN_NAME].filter((c) => chunk[c]!.length > 0).map((c) => inValues(c, chunk[c]!)).join(" or ");
  const empty = () => ({ [OBJECT_ID]: [] as string[], [DOMAIN_NAME]: [] as string[] });
  const clause = { [OBJECT_ID]: urlLength(inValues(OBJECT_ID, [])), [DOMAIN_NAME]: urlLength(inValues(DOMAIN_NAME, [])) };
  const or = urlLength(" or ");
  const comma = urlLength(",");
  const filters: string[] = [];
  let chunk = empty();
  let used = 0;
  for (const [column, value] of values) {
    const cost = () => {
      const list = chunk[column]!;
      if (list.length > 0) return comma + urlLength(stringLiteral(value));
      const other = chunk[column === OBJECT_ID ? DOMAIN_NAME : OBJECT_ID]!;
      return clause[column] + (other.length > 0 ? or : 0) + urlLength(stringLiteral(value));
    };
    if (used + cost() > budget && used > 0) {
      filters.push(render(chunk));
      chunk = empty();
      used = 0;
    }
    used += cost();
    chunk[column]!.push(value);
  }
  if (used > 0) filters.push(render(chunk));
  return filters;
}

function toSystemUser(row: unknown): SystemUser {
  const out: Record<string, ColumnValue | undefined> = {};
  for (const [k, v] of Object.entries((row ?? {}) as Record<string, unknown>)) {
    if (k.includes("@")) continue;
    if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[k] = v;
  }
  const etag = (row as Record<string, unknown> | null)?.["@odata.etag"];
  if (typeof etag === "string") out.etag = etag;
  return out as SystemUser;
}

function checkColumns(columns: Record<string, ColumnValue>): void {
  for (const name of Object.keys(columns)) {
    if (!WRITE_COLUMN_RE.test(name)) throw new TypeError(`not a valid column name: ${JSON.stringify(name.slice(0, 80))}`);
  }
}

function invalidWrite(write: SystemUserWrite): string | undefined {
  if (write.kind === "update" && !isGuid(write.systemUserId)) return `not a GUID: ${JSON.stringify(String(write.systemUserId).slice(0, 80))}`;
  const bad = Object.keys(write.columns).find((c) => !WRITE_COLUMN_RE.test(c));
  return bad === undefined ? undefined : `not a valid column name: ${JSON.stringify(bad.slice(0, 80))}`;
}

const needsBusinessUnit = (w: SystemUserWrite) => w.kind === "create" && !("businessunitid@odata.bind" in w.columns);

function failure(err: DataverseError): WriteResult {
  return { ok: false, status: err.statusCode, code: err.dataverseCode, message: err.serverMessage || err.message };
}

/** Pairs response parts with the sent writes: by Content-ID when every part has a known one, else by position. */
function matchParts(items: ReturnType<typeof decodeBatchResponse>, count: number): Array<BatchPartResponse | undefined> {
  const flat = items.flatMap((item) => (item.kind === "response" ? [item.response] : item.responses));
  const byId: Array<BatchPartResponse | undefined> = new Array(count);
  const allIds = flat.length > 0 && flat.every((p) => {
    const n = Number(p.contentId);
    if (!Number.isInteger(n) || n < 1 || n > count || byId[n - 1]) return false;
    byId[n - 1] = p;
    return true;
  });
  return allIds ? byId : Array.from({ length: count }, (_, i) => flat[i]);
}

function toWriteResult(write: SystemUserWrite, part: BatchPartResponse): WriteResult {
  if (part.status >= 200 && part.status < 300) {
    if (write.kind === "update") return { ok: true, status: part.status, systemUserId: write.systemUserId };
    const body = part.body as Record<string, unknown> | undefined;
    const fromHeader = ENTITY_ID_RE.exec(part.headers["odata-entityid"] ?? part.headers["location"] ?? "")?.[1];
    const fromBody = typeof body?.systemuserid === "string" ? body.systemuserid : undefined;
    const given = typeof write.columns.systemuserid === "string" ? write.columns.systemuserid : undefined;
    const id = fromHeader ?? fromBody ?? given;
    // A copy, not a slice: a substring of the batch response would keep the whole response alive as long as the id
    // (the sync's index holds a million of them).
    return id ? { ok: true, status: part.status, systemUserId: Buffer.from(id.toLowerCase(), "latin1").toString("latin1") } : { ok: true, status: part.status };
  }
  const { code, message } = errorBodyParts(part.body);
  return {
    ok: false,
    status: part.status,
    code: code ?? "",
    message: message ?? part.statusText,
    ...(write.kind === "update" ? { systemUserId: write.systemUserId } : {}),
  };
}
