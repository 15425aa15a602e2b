// The one base of every error the bridge throws on purpose: a closed `code` (shared/errors/codes.ts), the HTTP
// status it answers with where it has one, its cause, and never a token. Failures of a service the bridge calls
// (Dataverse, Graph, Entra, AD FS, storage) keep the upstream status and code in fields of their own.
import type { AppErrorCode } from "./codes.js";

export type { AppErrorCode } from "./codes.js";

export interface AppErrorOptions {
  cause?: unknown;
  /** Extra members of the problem+json answer. */
  detail?: Record<string, unknown>;
  /** What the HTTP answer says instead of `message`, when the message is for the log only. */
  publicMessage?: string;
}

const BRAND = Symbol.for("identity-bridge.AppError");

export class AppError<C extends AppErrorCode = AppErrorCode> extends Error {
  override name = "AppError";
  readonly detail?: Record<string, unknown>;
  readonly publicMessage?: string;
  readonly [BRAND] = true;

  /** `status`: the HTTP status the error answers with, or undefined when it is not an answer (500 if it escapes). */
  constructor(message: string, readonly status: number | undefined, readonly code: C, options?: AppErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.detail !== undefined) this.detail = options.detail;
    if (options?.publicMessage !== undefined) this.publicMessage = options.publicMessage;
  }

  /** One line for a log or a report; a subclass may say it more usefully than its message. */
  get summary(): string {
    return this.message;
  }
}

/** The one guard: `instanceof` first; the brand covers a second copy of this module (a bundler or test loader). */
export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError || (typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[BRAND] === true);
}

/** Any thrown value as one line for a log, a report or a message: the first line of its summary, capped. */
export function describeError(error: unknown, maxLength = 1000): string {
  const text = isAppError(error) ? error.summary : errorMessage(error);
  return (text.split("\n")[0] ?? "").slice(0, maxLength);
}

/** The name of a thrown value's class, for telemetry ("Error" for anything that is not an Error). */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "Error";
}

/** The full message of any thrown value (for a report or an operator's log line). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The HTTP status an upstream SDK error carries (`statusCode` of RestError, GraphError, DataverseError), if any. */
export function upstreamStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("statusCode" in error)) return undefined;
  return typeof error.statusCode === "number" ? error.statusCode : undefined;
}

/** The `code` a Node or SDK error carries (`ECONNRESET`, `ERR_JWT_EXPIRED`, …), if any. */
export function systemCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

/** An error that answers with a 4xx: the request was refused, nothing failed. */
export function isRefusal(error: unknown): error is AppError & { status: number } {
  return isAppError(error) && error.status !== undefined && error.status < 500;
}

/** An error the bridge answers with its own status and message (the rest answer 500 without details). */
export function isAnswerable(error: unknown): error is AppError & { status: number } {
  return isAppError(error) && error.status !== undefined;
}
