// multipart/mixed codec for `$batch` (dataverse-web-api.md §6): reads batches with or without quotes around
// the boundary and with LF or CRLF line endings; writes responses the way Dataverse does
// (`--batchresponse_<guid>`, change sets as `changesetresponse_<guid>`, CRLF).
import { randomUUID } from "node:crypto";
import { DataverseError } from "./errors.js";

export interface BatchRequestPart {
  contentId?: string;
  method: string;
  /** As written on the request line: absolute, `/api/data/…`, relative, or `$n/…`. */
  url: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
}

export type BatchItem = { kind: "request"; request: BatchRequestPart } | { kind: "changeset"; requests: BatchRequestPart[] };

export interface OpResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

export type BatchResponseItem =
  | { kind: "response"; contentId?: string; response: OpResponse }
  | { kind: "changeset"; parts: Array<{ contentId?: string; response: OpResponse }> };

const batchError = (message: string) => new DataverseError(400, "0x80048d19", message);

export function boundaryOf(contentType: string | undefined): string | null {
  if (!contentType || !/^\s*multipart\/mixed\s*;/i.test(contentType)) return null;
  const m = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

/** Parts between `--boundary` delimiters; the line break before a delimiter belongs to it (RFC 2046). */
function splitParts(text: string, boundary: string): string[] {
  const lines = text.split("\n");
  const parts: string[] = [];
  let current: string[] | null = null;
  for (const line of lines) {
    const t = line.trimEnd();
    if (t === `--${boundary}`) {
      if (current) parts.push(current.join("\n"));
      current = [];
    } else if (t === `--${boundary}--`) {
      if (current) parts.push(current.join("\n"));
      return parts;
    } else if (current) {
      current.push(line);
    }
  }
  throw batchError(`The end of the multipart batch boundary '--${boundary}--' was not found.`);
}

/** Headers up to the first blank line, then the rest. */
function splitHead(text: string): { headers: Record<string, string>; rest: string; firstLine?: string } {
  const lines = text.split("\n");
  const headers: Record<string, string> = {};
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === "") i++; // tolerate blank lines before the headers
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") { i++; break; }
    const colon = line.indexOf(":");
    if (colon <= 0) throw batchError(`The header line '${line}' is not valid in a batch part.`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, rest: lines.slice(i).join("\n") };
}

function parseHttpPart(mimeHeaders: Record<string, string>, content: string): BatchRequestPart {
  const lines = content.split("\n");
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === "") i++;
  const requestLine = (lines[i] ?? "").trim();
  const m = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/1\.[01])?$/.exec(requestLine);
  if (!m) throw batchError(`The HTTP request line '${requestLine}' in the batch is not valid.`);
  const { headers, rest } = splitHead(lines.slice(i + 1).join("\n"));
  const contentId = mimeHeaders["content-id"] ?? headers["content-id"];
  return { method: m[1]!, url: m[2]!, headers, body: rest.trim(), ...(contentId ? { contentId } : {}) };
}

export function parseBatch(text: string, contentType: string | undefined): BatchItem[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw batchError("The batch request must have a \"Content-Type\" header of \"multipart/mixed\" with a boundary.");
  const normalized = text.replace(/\r\n/g, "\n"); // JSON bodies carry no raw line breaks, so this is lossless
  return splitParts(normalized, boundary).map((part): BatchItem => {
    const { headers, rest } = splitHead(part);
    const inner = boundaryOf(headers["content-type"]);
    if (inner) {
      return {
        kind: "changeset",
        requests: splitParts(rest, inner).map((p) => {
          const h = splitHead(p);
          return parseHttpPart(h.headers, h.rest);
        }),
      };
    }
    if (!/^application\/http/i.test(headers["content-type"] ?? "")) throw batchError("A batch part must have Content-Type application/http or multipart/mixed.");
    return { kind: "request", request: parseHttpPart(headers, rest) };
  });
}

const REASONS: Record<number, string> = {
  200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
  404: "Not Found", 405: "Method Not Allowed", 412: "Precondition Failed", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
};
export const reason = (status: number): string => REASONS[status] ?? "Unknown";

function renderPart(out: string[], response: OpResponse, contentId?: string): void {
  out.push("Content-Type: application/http", "Content-Transfer-Encoding: binary");
  if (contentId !== undefined) out.push(`Content-ID: ${contentId}`);
  out.push("", `HTTP/1.1 ${response.status} ${reason(response.status)}`);
  for (const [k, v] of Object.entries(response.headers)) out.push(`${k}: ${v}`);
  out.push("");
  // An empty body still ends with a blank line, as in Dataverse's responses.
  out.push(response.body ?? "");
}

export function renderBatch(items: BatchResponseItem[]): { contentType: string; body: string } {
  const batch = `batchresponse_${randomUUID()}`;
  const out: string[] = [];
  for (const item of items) {
    out.push(`--${batch}`);
    if (item.kind === "response") {
      renderPart(out, item.response, item.contentId);
      continue;
    }
    const cs = `changesetresponse_${randomUUID()}`;
    out.push(`Content-Type: multipart/mixed; boundary=${cs}`, "");
    for (const part of item.parts) {
      out.push(`--${cs}`);
      renderPart(out, part.response, part.contentId);
    }
    out.push(`--${cs}--`);
  }
  out.push(`--${batch}--`, "");
  return { contentType: `multipart/mixed; boundary=${batch}`, body: out.join("\r\n") };
}
