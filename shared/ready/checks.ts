// The readiness checks' shape and runner (pure apart from the clock): each check is timed, bounded by a
// timeout, and a failure carries a named cause (`dataverse_unreachable`, `secret_missing`, …) and a detail
// that never holds a secret or token.
import { AppError, describeError, type AppErrorCode } from "../errors/app-error.js";
import type { ReadinessCause } from "../errors/codes.js";

export interface CheckResult {
  name: string;
  ok: boolean;
  durationMs: number;
  /** Machine-readable cause when failing. */
  cause?: string;
  /** What was found or what went wrong, for a person. */
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  checkedAt: string;
  checks: CheckResult[];
  /** How the bridge signs in as its app registration (never a secret). */
  appCredential?: { clientId: string; kind: string; secretName?: string };
}

/** What a check throws to name its cause. */
export class CheckFailure extends AppError<ReadinessCause | AppErrorCode> {
  override name = "CheckFailure";
  constructor(code: ReadinessCause | AppErrorCode, detail: string) {
    super(detail, undefined, code);
  }
}

export type Check = { name: string; run: (signal: AbortSignal) => Promise<string | undefined> };

const MAX_DETAIL = 300;

/** Runs one check with a deadline; any error becomes a failed result with a cause. */
export async function runCheck(check: Check, timeoutMs: number, now: () => number = Date.now): Promise<CheckResult> {
  const started = now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new CheckFailure("timeout", `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const detail = await Promise.race([check.run(controller.signal), deadline]);
    return { name: check.name, ok: true, durationMs: now() - started, ...(detail ? { detail: detail.slice(0, MAX_DETAIL) } : {}) };
  } catch (error) {
    const cause = error instanceof CheckFailure ? error.code : "error";
    const detail = describeError(error, MAX_DETAIL);
    return { name: check.name, ok: false, durationMs: now() - started, cause, detail };
  } finally {
    clearTimeout(timer);
  }
}

export function summarize(checks: CheckResult[], checkedAt: Date): Readiness {
  return { ready: checks.every((c) => c.ok), checkedAt: checkedAt.toISOString(), checks };
}
