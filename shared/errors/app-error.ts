// Errors that cross module boundaries carry an HTTP status, a stable code and their cause; never a token.

export class AppError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    options?: { cause?: unknown; detail?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.detail = options?.detail;
  }
  readonly detail?: Record<string, unknown>;
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof Error && error.name === "AppError";
}
