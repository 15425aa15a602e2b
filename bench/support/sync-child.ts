// One sync run of `npm run bench:sync`, in its own process so its peak RSS is the bridge's alone (the emulators
// live in the parent). Starts a run for the only org, executes it, and prints one `BENCH_RESULT {json}` line.
// Args: <mode: full|incremental>. Environment: the sandbox's app settings + AzureWebJobsStorage.
import { readFileSync } from "node:fs";
import { createBridge } from "../../shared/bridge.js";
import { loadConfig } from "../../shared/config/config.js";
import { executeTraced } from "../../shared/sync/run-telemetry.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { installBenchTelemetry } from "./telemetry.js";

function statusKb(field: "VmHWM" | "VmRSS"): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null; // not Linux
  }
}

/** Peaks of process.memoryUsage() sampled every 100 ms: shows whether RSS is live data or uncollected garbage. */
const peaks = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  for (const k of Object.keys(peaks) as Array<keyof typeof peaks>) peaks[k] = Math.max(peaks[k], m[k]);
}, 100);
sampler.unref();

async function main(): Promise<void> {
  const mode = process.argv[2] === "full" ? "full" : "incremental";
  // BENCH_TELEMETRY=1: the SDK installed (exports dropped); the run goes through the worker's traced path either way.
  const installed = process.env.BENCH_TELEMETRY === "1" ? await installBenchTelemetry() : undefined;
  const root = createBridge(loadConfig());
  const runs = root.syncRuns;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const run = await runs.start({ trigger: "bench", mode });
  const report = await executeTraced(runs, { org: run.org, runId: run.runId }, silentLogger);
  const runMs = performance.now() - started;
  await installed?.telemetry.flush(); // the export's CPU counts as the run's
  const cpu = process.cpuUsage(cpuBefore);
  const client = root.dataverse.get(run.org).stats;
  const result = {
    runMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    state: report.state,
    mode: report.mode,
    counts: report.counts,
    errors: report.errors.slice(0, 5),
    clientRequests: client.requests,
    clientByKind: client.byKind,
    clientRetries: client.retries,
    peakRssKb: statusKb("VmHWM") ?? process.resourceUsage().maxRSS,
    telemetry: installed?.counts ?? null,
    peakMemoryMb: Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Math.round(v / 2 ** 20)])),
  };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

main().then(() => process.exit(0), (error: unknown) => {
  process.stderr.write(`sync-child failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
