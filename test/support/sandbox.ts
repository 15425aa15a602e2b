// Test helper: a sandbox on the CA made by global-setup (already trusted by this worker process).
import { ensureSandboxTls } from "../../dev/sandbox/tls.js";
import { startSandbox, type Sandbox, type SandboxOptions } from "../../dev/sandbox/sandbox.js";

export function testTls() {
  const dir = process.env.SANDBOX_TLS_DIR;
  if (!dir) throw new Error("SANDBOX_TLS_DIR is not set: run the tests through vitest (global-setup makes the CA)");
  return ensureSandboxTls(dir);
}

export function startTestSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  return startSandbox({ tls: testTls(), ...options });
}
