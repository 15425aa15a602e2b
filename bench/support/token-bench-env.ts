// What bench:token and bench:webhook-flood share: the sandbox tenant, Azurite and the local host in this process
// (the sandbox's CA trusted first), the secret caller's client-credentials request, warmed up so the measured
// path is the cached one, and the CPU the bridge's process and Azurite spend while a phase runs.
// Azurite runs in memory: Table storage in Azure is a service on other machines, not this disk, so a benchmark
// of the bridge should not also measure LokiJS saving its database to the local disk every few seconds.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type { LocalHost } from "../../dev/local-host/host.js";
import type { RunningAzurite } from "../../dev/sandbox/azurite.js";
import type { Sandbox } from "../../dev/sandbox/sandbox.js";
import { prepareBenchProcess } from "./bench-process.js";

export interface TokenBenchEnv {
  sandbox: Sandbox;
  azurite: RunningAzurite;
  host: LocalHost;
  tokenUrl: string;
  /** The secret caller: its id and a client-credentials request for the first org (form body and headers). */
  clientId: string;
  body: string;
  headers: Record<string, string>;
  /** The warm-up answer's text (sizes a bare server's answer like ours). */
  warmText: string;
  stop(): Promise<void>;
}

/**
 * The Node options the deployment gives the worker that change the measured path (infra/main.bicep's
 * languageWorkers__node__arguments): AsyncLocalStorage on AsyncContextFrame, so OpenTelemetry's context puts no
 * async hooks on every promise. BENCH_ASYNC_CONTEXT_FRAME=0 measures without it (Node 22's default).
 */
export function deployedNodeFlags(): string[] {
  return process.env.BENCH_ASYNC_CONTEXT_FRAME === "0" ? [] : ["--experimental-async-context-frame"];
}

/** "AsyncLocalStorage on AsyncContextFrame" or "… on async hooks": which one this process runs (printed with the figures). */
export function contextLine(): string {
  return `AsyncLocalStorage on ${process.execArgv.includes("--experimental-async-context-frame") ? "AsyncContextFrame (as deployed)" : "async hooks (BENCH_ASYNC_CONTEXT_FRAME=0)"}`;
}

/** Starts everything, or returns undefined when this process re-ran itself to trust the sandbox CA. */
export async function startTokenBench(name: string, functionsDir: URL): Promise<TokenBenchEnv | undefined> {
  const tls = prepareBenchProcess(name, deployedNodeFlags());
  if (!tls) return undefined;
  const { startSandbox } = await import("../../dev/sandbox/sandbox.js");
  const { startAzurite } = await import("../../dev/sandbox/azurite.js");
  const { startLocalHost } = await import("../../dev/local-host/host.js");
  const [sandbox, azurite] = await Promise.all([startSandbox({ tls }), startAzurite()]);
  // The measured caller's rate must not be what limits a benchmark.
  const callers = sandbox.identities.tokenCallers.map((c) => (c.id === "reporting" ? { ...c, ratePerMinute: 1_000_000 } : c));
  Object.assign(process.env, sandbox.env, { AzureWebJobsStorage: azurite.connectionString, TOKEN_CALLERS: JSON.stringify(callers) });
  const host = await startLocalHost({
    port: 0, timers: false, log: () => {}, storageConnectionString: azurite.connectionString, functionsDir: fileURLToPath(functionsDir),
  });
  const { clientId, secret } = sandbox.identities.secretCaller;
  const body = new URLSearchParams({ grant_type: "client_credentials", scope: `${sandbox.dataverse[0]!.url}/.default` }).toString();
  const headers = {
    "content-type": "application/x-www-form-urlencoded",
    authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString("base64")}`,
  };
  const tokenUrl = `${host.url}/api/token`;
  const warm = await fetch(tokenUrl, { method: "POST", headers, body });
  const warmText = await warm.text();
  if (warm.status !== 200) throw new Error(`warm-up request failed: ${warm.status} ${warmText}`);
  return {
    sandbox, azurite, host, tokenUrl, clientId, body, headers, warmText,
    stop: async () => {
      await host.close();
      await Promise.all([sandbox.stop(), azurite.stop()]);
    },
  };
}

/** CPU time (ms) a process has used so far: this one, or another by pid (Linux /proc; NaN elsewhere). */
export function cpuMs(pid?: number): number {
  if (pid === undefined) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

/** CPU (ms) this process and Azurite spend while `run` runs. */
export async function measureCpu<T>(azurite: RunningAzurite, run: () => Promise<T>): Promise<{ result: T; benchMs: number; azuriteMs: number; wallMs: number }> {
  const [bench, store, started] = [cpuMs(), cpuMs(azurite.process.pid), performance.now()];
  const result = await run();
  return { result, benchMs: cpuMs() - bench, azuriteMs: cpuMs(azurite.process.pid) - store, wallMs: performance.now() - started };
}

/** "load average 3.1 / 2.4 / 1.9 on 2 cores": how shared the machine was (figures are noisy when it is). */
export function loadLine(cores: number): string {
  return `load average ${loadavg().map((l) => l.toFixed(1)).join(" / ")} on ${cores} cores`;
}
