// Our own OData `$batch` multipart codec (dataverse-web-api.md §6). Requests are encoded with CRLF; responses
// are decoded whether they use LF or CRLF. A malformed response raises BatchFormatError, never a crash.
import { randomUUID } from "node:crypto";
import { AppError } from "../errors/app-error.js";

export interface BatchRequest {
  method: string;
  /** Absolute URL, or a path such as `/api/data/v9.2/systemusers`. */
  url: string;
  headers?: Record<string, string>;
  /** JSON body (serialized here) or already-serialized text. */
  body?: unknown;
}

export interface BatchPartResponse {
  status: number;
  statusText: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, else the text; undefined when empty. */
  body: unknown;
  contentId?: string;
}

/** A top-level item of a batch response: a single response, or the responses of one change set. */
export type BatchResponseItem =
  | { kind: "response"; response: BatchPartResponse }
  | { kind: "changeset"; responses: BatchPartResponse[] };

export class BatchFormatError extends AppError<"batch_malformed"> {
  override name = "BatchFormatError";
  constructor(message: string) {
    super(message, undefined, "batch_malformed");
  }
}

/** How independent requests are grouped: one change set each (default), or plain top-level parts. */
export type BatchLayout = "changeset-per-request" | "top-level";

export interface EncodedBatch {
  contentType: string;
  body: string;
  boundary: string;
}

const CRLF = "\r\n";

export function encodeBatch(requests: readonly BatchRequest[], options: { layout?: BatchLayout; boundary?: string } = {}): EncodedBatch {
  const boundary = options.boundary ?? `batch_${randomUUID()}`;
  const layout = options.layout ?? "changeset-per-request";
  const lines: string[] = [];
  requests.forEach((request, index) => {
    lines.push(`--${boundary}`);
    // GETs may not sit in a change set (§6).
    if (layout === "top-level" || request.method.toUpperCase() === "GET") {
      lines.push("Content-Type: application/http", "Content-Transfer-Encoding: binary", "");
      lines.push(encodeHttpRequest(request));
      return;
    }
    const changeset = `changeset_${randomUUID()}`;
    lines.push(`Content-Type: multipart/mixed; boundary=${changeset}`, "");
    lines.push(`--${changeset}`);
    lines.push("Content-Type: application/http", "Content-Transfer-Encoding: binary", `Content-ID: ${index + 1}`, "");
    lines.push(encodeHttpRequest(request));
    lines.push(`--${changeset}--`);
  });
  lines.push(`--${boundary}--`, "");
  return { boundary, contentType: `multipart/mixed; boundary=${boundary}`, body: lines.join(CRLF) };
}

/**
 * Encodes change sets of several requests each (run in order, all or nothing: one failing request rolls its
 * change set back); Content-IDs number the requests across the batch.
 */
export function encodeChangeSets(changeSets: ReadonlyArray<readonly BatchRequest[]>, options: { boundary?: string } = {}): EncodedBatch {
  const boundary = options.boundary ?? `batch_${randomUUID()}`;
  const lines: string[] = [];
  let contentId = 0;
  for (const requests of changeSets) {
    const changeset = `changeset_${randomUUID()}`;
    lines.push(`--${boundary}`, `Content-Type: multipart/mixed; boundary=${changeset}`, "");
    for (const request of requests) {
      lines.push(`--${changeset}`, "Content-Type: application/http", "Content-Transfer-Encoding: binary", `Content-ID: ${++contentId}`, "");
      lines.push(encodeHttpRequest(request));
    }
    lines.push(`--${changeset}--`);
  }
  lines.push(`--${boundary}--`, "");
  return { boundary, contentType: `multipart/mixed; boundary=${boundary}`, body: lines.join(CRLF) };
}

function bodyText(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  return typeof body === "string" ? body : JSON.stringify(body);
}

export function encodeHttpRequest(request: BatchRequest): string {
  const lines = [`${request.method.toUpperCase()} ${request.url} HTTP/1.1`];
  const text = bodyText(request.body);
  const headers = { ...(request.headers ?? {}) };
  if (text !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["Content-Type"] = "application/json";
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push("");
  lines.push(text ?? "");
  return lines.join(CRLF);
}

// ---- decoding ------------------------------------------------------------------------------------

/** The `boundary` parameter of a multipart Content-Type, quoted or not. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\//i.test(contentType)) return undefined;
  const match = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : undefined;
}

interface RawPart {
  headers: Record<string, string>;
  content: string;
}

interface Delimiter {
  /** Where the delimiter line starts, including the line break before it (the break belongs to the delimiter). */
  index: number;
  /** Just past the delimiter line and its own line break. */
  end: number;
  closing: boolean;
}

/**
 * The next `--boundary` delimiter line at or after `from` (RFC 2046 §5.1.1: at the start of the body or after a
 * line break, followed by optional `--`, optional blanks and a line break or the end). Scans with `indexOf`:
 * a regular expression with a leading `(?:^|\r?\n)` alternation tried at every offset cost an eighth of a sync
 * run's CPU on large batch responses.
 */
function nextDelimiter(text: string, dash: string, from: number): Delimiter | undefined {
  for (let at = text.indexOf(dash, from); at >= 0; at = text.indexOf(dash, at + 1)) {
    const lineStart = at === 0 || text.charCodeAt(at - 1) === 10;
    if (!lineStart) continue;
    let end = at + dash.length;
    const closing = text.startsWith("--", end);
    if (closing) end += 2;
    while (text[end] === " " || text[end] === "\t") end++;
    if (end < text.length && !text.startsWith("\n", end) && !text.startsWith("\r\n", end)) continue;
    end += text.startsWith("\r\n", end) ? 2 : text.startsWith("\n", end) ? 1 : 0;
    const index = at === 0 ? 0 : at - (at >= 2 && text.charCodeAt(at - 2) === 13 ? 2 : 1);
    return { index, end, closing };
  }
  return undefined;
}

/** Splits a multipart body into parts; preamble and epilogue are ignored. */
export function splitMultipart(text: string, boundary: string): RawPart[] {
  const dash = `--${boundary}`;
  const parts: RawPart[] = [];
  let start: number | undefined;
  for (let d = nextDelimiter(text, dash, 0); d !== undefined; d = nextDelimiter(text, dash, d.end)) {
    if (start !== undefined) parts.push(parsePart(text.slice(start, d.index)));
    if (d.closing) return parts;
    start = d.end;
  }
  if (start === undefined) throw new BatchFormatError(`no multipart delimiter "--${boundary}" found`);
  throw new BatchFormatError(`multipart body has no closing delimiter "--${boundary}--" (truncated?)`);
}

function splitHead(text: string): { head: string[]; rest: string } {
  const blank = /\r?\n\r?\n/.exec(text);
  if (text.startsWith("\r\n") || text.startsWith("\n")) return { head: [], rest: text.replace(/^\r?\n/, "") };
  if (!blank) return { head: text.split(/\r?\n/).filter((l) => l !== ""), rest: "" };
  return { head: text.slice(0, blank.index).split(/\r?\n/), rest: text.slice(blank.index + blank[0].length) };
}

function parseHeaders(lines: string[], where: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new BatchFormatError(`malformed header line in ${where}: ${JSON.stringify(line.slice(0, 120))}`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function parsePart(text: string): RawPart {
  const { head, rest } = splitHead(text);
  return { headers: parseHeaders(head, "batch part"), content: rest };
}

function parseBody(text: string, contentType: string | undefined): unknown {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  const looksJson = /json/i.test(contentType ?? "") || trimmed.startsWith("{") || trimmed.startsWith("[");
  if (!looksJson) return trimmed;
  try {
    return JSON.parse(trimmed);
  } catch {
    // Tolerate trailing junk as DynamicsWebApi does: the JSON is first `{` to last `}`.
    const first = trimmed.indexOf("{");
    const last = trimmed.lastIndexOf("}");
    if (first >= 0 && last > first) {
      try { return JSON.parse(trimmed.slice(first, last + 1)); } catch { /* fall through */ }
    }
    return trimmed;
  }
}

const STATUS_LINE_RE = /^HTTP\/\d(?:\.\d)?\s+(\d{3})(?:\s+(.*))?$/;

export function parseHttpResponse(text: string): Omit<BatchPartResponse, "contentId"> {
  const { head, rest } = splitHead(text.replace(/^(?:\r?\n)+/, ""));
  const statusLine = head.shift();
  const match = statusLine === undefined ? null : STATUS_LINE_RE.exec(statusLine.trim());
  if (!match) throw new BatchFormatError(`batch part has no HTTP status line: ${JSON.stringify((statusLine ?? "").slice(0, 120))}`);
  const headers = parseHeaders(head, "batch part response");
  return { status: Number(match[1]), statusText: (match[2] ?? "").trim(), headers, body: parseBody(rest, headers["content-type"]) };
}

function httpPart(part: RawPart): BatchPartResponse {
  const type = part.headers["content-type"];
  if (type !== undefined && !/^\s*application\/http/i.test(type)) throw new BatchFormatError(`unexpected batch part Content-Type ${JSON.stringify(type)}`);
  const response = parseHttpResponse(part.content);
  const contentId = part.headers["content-id"];
  return contentId !== undefined ? { ...response, contentId } : response;
}

/** Decodes a `$batch` response body given its Content-Type header (the boundary is sniffed if absent). */
export function decodeBatchResponse(contentType: string | undefined, body: string): BatchResponseItem[] {
  if (typeof body !== "string") throw new BatchFormatError("batch response body is not text");
  const boundary = boundaryOf(contentType) ?? /^\s*--([^\r\n]+?)\s*\r?\n/.exec(body)?.[1];
  if (!boundary) throw new BatchFormatError(`batch response is not multipart (Content-Type ${JSON.stringify(contentType ?? "")})`);
  return splitMultipart(body, boundary).map((part): BatchResponseItem => {
    const inner = boundaryOf(part.headers["content-type"]);
    if (inner) return { kind: "changeset", responses: splitMultipart(part.content, inner).map(httpPart) };
    return { kind: "response", response: httpPart(part) };
  });
}

// ---- the other direction, for the emulator-free round-trip tests ---------------------------------------

export interface EncodedResponsePart {
  status: number;
  statusText?: string;
  headers?: Record<string, string>;
  body?: unknown;
  contentId?: string;
}

/** Encodes a batch response as Dataverse does (`batchresponse_`/`changesetresponse_` boundaries). */
export function encodeBatchResponse(
  items: ReadonlyArray<{ kind: "response"; response: EncodedResponsePart } | { kind: "changeset"; responses: EncodedResponsePart[] }>,
  options: { eol?: "\r\n" | "\n"; boundary?: string } = {},
): { contentType: string; body: string } {
  const eol = options.eol ?? CRLF;
  const boundary = options.boundary ?? `batchresponse_${randomUUID()}`;
  const lines: string[] = [];
  const part = (r: EncodedResponsePart) => {
    lines.push("Content-Type: application/http", "Content-Transfer-Encoding: binary");
    if (r.contentId !== undefined) lines.push(`Content-ID: ${r.contentId}`);
    lines.push("", `HTTP/1.1 ${r.status} ${r.statusText ?? ""}`.trimEnd());
    const text = bodyText(r.body);
    const headers = { ...(r.headers ?? {}) };
    if (text !== undefined) headers["Content-Type"] ??= "application/json; odata.metadata=minimal";
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    lines.push("");
    if (text !== undefined) lines.push(text);
  };
  for (const item of items) {
    lines.push(`--${boundary}`);
    if (item.kind === "response") { part(item.response); continue; }
    const cs = `changesetresponse_${randomUUID()}`;
    lines.push(`Content-Type: multipart/mixed; boundary=${cs}`, "");
    for (const r of item.responses) { lines.push(`--${cs}`); part(r); }
    lines.push(`--${cs}--`);
  }
  lines.push(`--${boundary}--`, "");
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: lines.join(eol) };
}

export interface DecodedBatchRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  contentId?: string;
  /** Index of the top-level item (change set or part) it came in. */
  item: number;
  inChangeset: boolean;
}

const REQUEST_LINE_RE = /^([A-Z]+)\s+(\S+)\s+HTTP\/\d(?:\.\d)?$/;

/** Decodes a `$batch` request (the inverse of encodeBatch; tests use it to check what goes on the wire). */
export function decodeBatchRequest(contentType: string | undefined, body: string): DecodedBatchRequest[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new BatchFormatError(`batch request is not multipart (Content-Type ${JSON.stringify(contentType ?? "")})`);
  const out: DecodedBatchRequest[] = [];
  const request = (part: RawPart, item: number, inChangeset: boolean) => {
    const { head, rest } = splitHead(part.content.replace(/^(?:\r?\n)+/, ""));
    const match = REQUEST_LINE_RE.exec((head.shift() ?? "").trim());
    if (!match) throw new BatchFormatError("batch part has no HTTP request line");
    const headers = parseHeaders(head, "batch part request");
    const contentId = part.headers["content-id"];
    out.push({ method: match[1]!, url: match[2]!, headers, body: parseBody(rest, headers["content-type"]), item, inChangeset, ...(contentId !== undefined ? { contentId } : {}) });
  };
  splitMultipart(body, boundary).forEach((part, item) => {
    const inner = boundaryOf(part.headers["content-type"]);
    if (inner) for (const p of splitMultipart(part.content, inner)) request(p, item, true);
    else request(part, item, false);
  });
  return out;
}
