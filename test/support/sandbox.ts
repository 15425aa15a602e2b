// Test helper: a whole sandbox tenant on the CA made by global-setup.
import { startSandbox, type Sandbox, type SandboxOptions } from "../../dev/sandbox/sandbox.js";
import { testTls } from "./tls.js";

export { testTls };

export function startTestSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  return startSandbox({ tls: testTls(), ...options });
}
