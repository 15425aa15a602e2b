// Benchmarks run the sandbox in-process: make (or reuse) its CA and make sure this process trusts it.
// Returns undefined when the process re-ran itself with NODE_EXTRA_CA_CERTS set (the caller just returns).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installFunctionsCore } from "../../dev/local-host/functions-core.js";
import { restartWithCa } from "../../dev/restart-with-ca.js";
import { ensureSandboxTls, type SandboxTls } from "../../dev/sandbox/tls.js";

/** `nodeFlags`: Node options the measured process must run with (those the deployment passes to the worker). */
export function prepareBenchProcess(name: string, nodeFlags: readonly string[] = []): SandboxTls | undefined {
  process.env.BENCH_TLS_DIR ??= mkdtempSync(join(tmpdir(), `bench-${name}-tls-`));
  const tls = ensureSandboxTls(process.env.BENCH_TLS_DIR);
  if (process.env.NODE_EXTRA_CA_CERTS !== tls.caPath || nodeFlags.some((flag) => !process.execArgv.includes(flag))) {
    restartWithCa(tls.caPath, { BENCH_TLS_DIR: process.env.BENCH_TLS_DIR }, nodeFlags);
    return undefined;
  }
  installFunctionsCore(); // before anything loads @azure/functions
  return tls;
}
