// The `bridge` CLI against a sandbox that the local host serves in this process, signed in with --token: what the
// CLI tests share (start, one `bridge(...args)` call capturing output and exit code, stop).
import { installFunctionsCore } from "../../dev/local-host/functions-core.js";
import type { LocalHost } from "../../dev/local-host/host.js";
import { runCli } from "../../cli/main.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "./bridge-env.js";

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export interface CliSandbox {
  env: BridgeEnvironment;
  host: LocalHost;
  token: string;
  bridge(...args: string[]): Promise<CliResult>;
  stop(): Promise<void>;
}

export async function startCliSandbox(options: Parameters<typeof startBridgeEnvironment>[0]): Promise<CliSandbox> {
  installFunctionsCore();
  const env = await startBridgeEnvironment(options);
  const { startLocalHost } = await import("../../dev/local-host/host.js");
  const host = await startLocalHost({ port: 0, timers: false, storageConnectionString: env.azurite.connectionString, log: () => undefined });
  const token = await env.sandbox.adminToken();
  const bridge = async (...args: string[]): Promise<CliResult> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(["--url", host.url, "--token", token, ...args], { out: (l) => out.push(l), err: (l) => err.push(l), interactive: false, env: {} });
    return { code, out: out.join("\n"), err: err.join("\n") };
  };
  return { env, host, token, bridge, stop: async () => { await host.close(); await env.stop(); } };
}
