// The CA and server certificate made by global-setup (this worker already trusts it via NODE_EXTRA_CA_CERTS).
import { ensureSandboxTls, type SandboxTls } from "../../dev/sandbox/tls.js";

export function testTls(): SandboxTls {
  const dir = process.env.SANDBOX_TLS_DIR;
  if (!dir) throw new Error("SANDBOX_TLS_DIR is not set: run the tests through vitest (global-setup makes the CA)");
  return ensureSandboxTls(dir);
}
