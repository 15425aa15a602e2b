// The exit codes of `bridge`, one per outcome a script can act on (listed in `bridge --help` and docs/cli.md).
import { ApiError, NetworkError } from "../client/admin-api.js";

export const EXIT = {
  /** Done; for `sync --wait`, the run succeeded. */
  ok: 0,
  /** An unexpected error (a bug, or sign-in failed). */
  error: 1,
  /** Bad arguments or options: nothing was sent. */
  usage: 2,
  /** The bridge answered with an HTTP error (4xx/5xx); the message names the URL, status and problem. */
  http: 3,
  /** The bridge could not be reached (connection refused, DNS, TLS, timeout). */
  network: 4,
  /** `--wait` gave up after `--timeout` seconds; the run or job goes on. */
  timeout: 5,
  /** The run halted at a removal threshold and waits for `bridge runs approve <runId>`. */
  halted: 6,
  /** The run failed, or a bulk remap job failed or completed with errors. */
  failed: 7,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  success (for --wait: the run succeeded)
  1  unexpected error (or sign-in failed)
  2  bad arguments or options
  3  the bridge answered with an HTTP error
  4  the bridge could not be reached (connection refused, DNS, TLS)
  5  --wait timed out (the run goes on)
  6  the run halted at a threshold: approve it with \`bridge runs approve <runId>\`
  7  the run failed, or a bulk remap job failed or completed with errors

Environment:
  BRIDGE_URL     the bridge's origin (default http://127.0.0.1:7071), as --url
  BRIDGE_TOKEN   an admin access token, as --token
  BRIDGE_SCOPE   <API_AUDIENCE>/.default, the scope to sign in for with Entra, as --scope
  AZURE_TENANT_ID  the Entra tenant to sign in to, as --tenant`;

/** A failure the CLI expected: its message is shown as is and `code` is the exit code. */
export class CliFailure extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

/** The line to print and the exit code for an error thrown by a command. */
export function describeFailure(error: unknown): { message: string; code: number } {
  if (error instanceof CliFailure) return { message: error.message, code: error.code };
  if (error instanceof ApiError) {
    const code = typeof error.problem.type === "string" ? error.problem.type.replace(/^urn:identity-bridge:problem:/, "") : "";
    return { message: `error ${error.status}${code && code !== "about:blank" ? ` ${code}` : ""}: ${error.message} (${error.url})`, code: EXIT.http };
  }
  if (error instanceof NetworkError) return { message: `error: ${error.message}`, code: EXIT.network };
  return { message: `error: ${(error as Error).message ?? String(error)}`, code: EXIT.error };
}
