// Runs once in the main vitest process, before the worker processes start: makes the sandbox CA and
// exports NODE_EXTRA_CA_CERTS so every worker (a fresh Node process) trusts the emulators' HTTPS.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureSandboxTls } from "../../dev/sandbox/tls.js";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "bridge-test-tls-"));
  const tls = ensureSandboxTls(dir);
  process.env.NODE_EXTRA_CA_CERTS = tls.caPath;
  process.env.SANDBOX_TLS_DIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
