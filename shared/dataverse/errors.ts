// One error type for every Dataverse failure: HTTP status, the platform's 0x… code, the request (path only:
// queries may carry user names, and the bearer token is never part of it).
import { AppError } from "../errors/app-error.js";

export interface DataverseErrorInit {
  statusCode: number;
  code?: string;
  method: string;
  url: string;
  serverMessage?: string;
  cause?: unknown;
  /** Seconds the server asked to wait, when it said. */
  retryAfterSeconds?: number;
}

/** Path of a URL without its query or fragment, which may hold literals or skip tokens. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url, "http://relative.invalid");
    return u.origin === "http://relative.invalid" ? u.pathname : `${u.origin}${u.pathname}`;
  } catch {
    return url.split(/[?#]/)[0] ?? "";
  }
}

/** Dataverse error codes the bridge acts on; only this module spells them. */
export const DATAVERSE_CODES = {
  /** The record does not exist (deleted meanwhile). */
  objectDoesNotExist: "0x80040217",
} as const;

/** Whether a Dataverse error code (of a DataverseError or a batch result) says the record is gone. */
export const isRecordGone = (dataverseCode: string | undefined): boolean => dataverseCode === DATAVERSE_CODES.objectDoesNotExist;

export class DataverseError extends AppError<"dataverse_request_failed"> {
  override name = "DataverseError";
  /** The HTTP status Dataverse answered (0: no answer — a network error). */
  readonly statusCode: number;
  /** Dataverse error code (`0x80040217`), or "" when the server gave none. */
  readonly dataverseCode: string;
  readonly method: string;
  readonly url: string;
  readonly serverMessage: string;
  readonly retryAfterSeconds?: number;

  constructor(init: DataverseErrorInit) {
    const url = redactUrl(init.url);
    const status = init.statusCode > 0 ? String(init.statusCode) : "network error";
    const detail = (init.serverMessage ?? "").slice(0, 500);
    super(`Dataverse ${init.method.toUpperCase()} ${url} failed: ${status}${init.code ? ` ${init.code}` : ""}${detail ? ` ${detail}` : ""}`, undefined, "dataverse_request_failed", { cause: init.cause });
    this.statusCode = init.statusCode;
    this.dataverseCode = init.code ?? "";
    this.method = init.method.toUpperCase();
    this.url = url;
    this.serverMessage = init.serverMessage ?? "";
    if (init.retryAfterSeconds !== undefined) this.retryAfterSeconds = init.retryAfterSeconds;
  }

  /** "Dataverse 412 0x80060882: message": what a person reading a remap's outcome needs. */
  override get summary(): string {
    return `Dataverse ${this.statusCode}${this.dataverseCode ? ` ${this.dataverseCode}` : ""}${this.serverMessage ? `: ${this.serverMessage}` : ""}`;
  }
}

export const isDataverseError = (err: unknown): err is DataverseError => err instanceof DataverseError;

/** `{"error":{"code","message"}}` → its parts; tolerant of anything else. */
export function errorBodyParts(body: unknown): { code?: string; message?: string } {
  if (typeof body === "string") {
    try { return errorBodyParts(JSON.parse(body)); } catch { return body.trim() ? { message: body.trim().slice(0, 500) } : {}; }
  }
  if (body && typeof body === "object" && "error" in body) {
    const e = (body as { error: unknown }).error;
    if (e && typeof e === "object") {
      const { code, message } = e as { code?: unknown; message?: unknown };
      return { code: typeof code === "string" ? code : undefined, message: typeof message === "string" ? message : undefined };
    }
  }
  return {};
}
