// Request bodies: JSON only, at most 1 MiB, no duplicate keys, validated by a strict zod schema; errors name the field.
import type { HttpRequest } from "@azure/functions";
import { visit } from "jsonc-parser";
import type { z } from "zod";
import { AppError } from "../errors/app-error.js";
import { jsonShapeProblem, type JsonShapeLimits } from "./json-shape.js";

export const MAX_BODY_BYTES = 1024 * 1024;
/** Admin bodies are a few levels deep; the bound keeps JSON.parse and the duplicate-key scan cheap and shallow. */
const BODY_SHAPE: JsonShapeLimits = { maxDepth: 32, maxItems: 100_000, maxStringBytes: MAX_BODY_BYTES };

export class BodyTooLargeError extends AppError {
  constructor(readonly limit: number) {
    super(`The body is larger than ${limit} bytes.`, 413, "body_too_large");
  }
}

/**
 * Reads the raw body, refusing more than `limit` bytes (413): a declared Content-Length over the limit is refused
 * before reading, and a chunked (or lying) body stops being read once the limit is passed — never buffered whole.
 * `inspect` sees each piece as it arrives and may throw to refuse the body there, before the rest is read or copied.
 */
export async function readBodyBytes(request: HttpRequest, limit = MAX_BODY_BYTES, inspect?: (piece: Uint8Array) => void): Promise<Buffer> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw new BodyTooLargeError(limit);
  const stream = request.body;
  if (!stream) return Buffer.alloc(0);
  return readCapped(stream, limit, inspect);
}

async function readCapped(stream: ReadableStream<Uint8Array>, limit: number, inspect?: (piece: Uint8Array) => void): Promise<Buffer> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    try {
      if (total > limit) throw new BodyTooLargeError(limit);
      inspect?.(value);
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      throw error;
    }
    chunks.push(value);
  }
  // One piece (the usual small body) is used as it is, not copied.
  if (chunks.length === 1) return Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.byteLength);
  return Buffer.concat(chunks, total);
}

export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 10)
    .map((issue) => {
      const path = issue.path.map(String).join(".");
      if (issue.code === "unrecognized_keys") return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${path ? `${path}.` : ""}${k}"`).join(", ")}`;
      return `${path ? `"${path}"` : "body"}: ${issue.message}`;
    })
    .join("; ");
}

export async function readJsonBody<T extends z.ZodType>(request: HttpRequest, schema: T, options: { allowEmpty?: boolean } = {}): Promise<z.output<T>> {
  const bytes = await readBodyBytes(request);
  let raw: unknown = {};
  if (bytes.length > 0) {
    const type = request.headers.get("content-type") ?? "application/json";
    if (!/^application\/([a-z.+-]*\+)?json\b/i.test(type)) {
      throw new AppError("The body must be JSON (Content-Type: application/json).", 415, "unsupported_media_type");
    }
    const shape = jsonShapeProblem(bytes, BODY_SHAPE);
    if (shape) throw new AppError(`The body is too complex: ${shape.text}.`, 400, "json_too_complex");
    const text = bytes.toString("utf8");
    try {
      raw = JSON.parse(text);
    } catch {
      throw new AppError("The body is not valid JSON.", 400, "malformed_json");
    }
    const duplicate = duplicateKeyProblem(text);
    if (duplicate) throw duplicate;
  } else if (!options.allowEmpty) {
    throw new AppError("The request needs a JSON body.", 400, "missing_body");
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new AppError(`Invalid body: ${describeIssues(result.error.issues)}.`, 400, "invalid_body");
  return result.data;
}

/**
 * A 400 naming the first key that appears twice in one object, or undefined. JSON.parse keeps the last of them
 * silently ({"dryRun":true,"dryRun":false} would run for real), so a body that says two things is refused.
 * Run on text JSON.parse accepted (jsonc-parser's tolerance of comments is never reached).
 */
export function duplicateKeyProblem(text: string): AppError | undefined {
  const open: Array<Set<string>> = [];
  let found: string | undefined;
  visit(text, {
    onObjectBegin: () => {
      open.push(new Set());
      return found === undefined;
    },
    onObjectEnd: () => void open.pop(),
    onObjectProperty: (property, _offset, _length, _line, _column, pathSupplier) => {
      const keys = open.at(-1);
      if (!keys || found !== undefined) return;
      if (keys.has(property)) found = [...pathSupplier(), property].map(String).join(".");
      keys.add(property);
    },
  }, { disallowComments: true });
  return found === undefined ? undefined : new AppError(`The body repeats the key "${found}".`, 400, "duplicate_key");
}
