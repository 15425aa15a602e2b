// `npm run bench:webhook-flood` (issue 19): a legitimate caller's POST /api/token latency (p50/p95) on the local
// host, idle and while clients flood the unauthenticated Graph webhook with deeply nested JSON (250 KiB of `[`,
// under the webhook's 256 KiB cap; BENCH_FLOOD_KIB changes it), the same bytes to a path that never reads them
// (control: the cost of receiving them at all), then /api/openapi.json GETs. Target: p95 under a flood ≤ 2 × idle.
// The load runs in worker threads, so the host's event loop is the bridge's alone. Figures on a shared machine
// are noisy: compare the ratios within one run.
import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import { contextLine, loadLine, measureCpu, startTokenBench } from "./support/token-bench-env.js";

const PHASE_S = Number(process.env.BENCH_DURATION ?? 10);
const FLOODERS = Number(process.env.BENCH_FLOODERS ?? 6);
const TARGET_RATIO = 2;

/** A worker that sends `request` in `concurrency` loops for `seconds` and reports each latency (ms) and status. */
const LOAD_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { url, init, concurrency, seconds } = workerData;
const latencies = [], statuses = {};
// Encoded once: the flooders' own cost per request stays small (they share the machine's cores with the bridge).
const body = init.bodyText ?? (init.bodyRepeat ? Buffer.from(init.bodyRepeat.prefix + "[".repeat(init.bodyRepeat.depth) + "]".repeat(init.bodyRepeat.depth) + init.bodyRepeat.suffix) : undefined);
const end = Date.now() + seconds * 1000;
async function loop() {
  while (Date.now() < end) {
    const started = performance.now();
    try {
      const res = await fetch(url, { method: init.method, headers: init.headers, body });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    } catch { statuses.error = (statuses.error ?? 0) + 1; }
    latencies.push(performance.now() - started);
    if (init.pauseMs) await new Promise((r) => setTimeout(r, init.pauseMs));
  }
}
// The thread's own CPU time: what the clients take from the shared cores, apart from the bridge.
const cpuStart = process.threadCpuUsage(), wallStart = performance.now();
Promise.all(Array.from({ length: concurrency }, loop)).then(() => {
  const { user, system } = process.threadCpuUsage(cpuStart);
  parentPort.postMessage({ latencies, statuses, cpu: (user + system) / 1000 / (performance.now() - wallStart) });
});
`;

/** `cpu`: the client thread's CPU time over its wall time (1 = a whole core). */
interface Load { latencies: number[]; statuses: Record<string, number>; cpu: number }

function load(url: string, init: Record<string, unknown>, concurrency: number, seconds = PHASE_S): Promise<Load> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD_WORKER, { eval: true, workerData: { url, init, concurrency, seconds } });
    worker.once("message", (result: Load) => { void worker.terminate(); resolve(result); });
    worker.once("error", reject);
  });
}

const pct = (share: number | undefined) => `${(100 * (share ?? NaN)).toFixed(0)} %`;
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

async function main(): Promise<void> {
  const env = await startTokenBench("webhook-flood", new URL("./webhook-flood-functions", import.meta.url));
  if (!env) return;
  const { host } = env;
  const tokenInit = { method: "POST", bodyText: env.body, headers: env.headers, pauseMs: 5 }; // a steady caller, not a saturating one

  const floodKib = Number(process.env.BENCH_FLOOD_KIB ?? 250); // of brackets: under the webhook's 256 KiB cap
  const nestedDepth = (floodKib * 1024) / 2;
  const flood = { method: "POST", headers: { "content-type": "application/json" }, bodyRepeat: { prefix: '{"value":', depth: nestedDepth, suffix: "}" } };
  const openApi = { method: "GET", headers: {} };

  console.log(`bench:webhook-flood — ${PHASE_S} s per phase, ${FLOODERS} flooding clients, token caller at 2 connections; ${contextLine()}; ${loadLine(availableParallelism())}`);
  // Per phase, the host thread's event-loop utilisation and CPU time: what the flood costs the bridge itself,
  // apart from the CPU the client threads (printed per row) take from the same cores.
  const busy: Record<string, number> = {};
  const cpu: Record<string, string> = {};
  const phase = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const before = performance.eventLoopUtilization();
    const [thread, started] = [process.threadCpuUsage(), performance.now()];
    const measured = await measureCpu(env.azurite, run);
    busy[name] = performance.eventLoopUtilization(before).utilization;
    const { user, system } = process.threadCpuUsage(thread);
    cpu[name] = `${pct((user + system) / 1000 / (performance.now() - started))} (Azurite ${pct(measured.azuriteMs / measured.wallMs)})`;
    return measured.result;
  };
  const idle = await phase("idle", () => load(`${host.url}/api/token`, tokenInit, 2));
  const [underFlood, flooder] = await phase("webhook", () => Promise.all([load(`${host.url}/api/token`, tokenInit, 2), load(`${host.url}/api/notifications`, flood, FLOODERS)]));
  // Control: the same bytes to a route that does not exist: answered 404 by the host before the function runs, so
  // nothing of the bridge's slows it down. What remains is the cost of receiving the bytes at all, which only a
  // rate limit in front of the app can take away.
  const [underControl, controlFlooder] = await phase("control", () => Promise.all([load(`${host.url}/api/token`, tokenInit, 2), load(`${host.url}/api/no-such-route`, flood, FLOODERS)]));
  const [underOpenApi, openApiFlooder] = await phase("openapi", () => Promise.all([load(`${host.url}/api/token`, tokenInit, 2), load(`${host.url}/api/openapi.json`, openApi, FLOODERS)]));

  const row = (name: string, l: Load) =>
    `${name.padEnd(44)} n ${String(l.latencies.length).padStart(6)}   p50 ${percentile(l.latencies, 50).toFixed(1).padStart(7)} ms   p95 ${percentile(l.latencies, 95).toFixed(1).padStart(7)} ms   client thread CPU ${pct(l.cpu)}   ${JSON.stringify(l.statuses)}`;
  console.log(row("token, idle", idle));
  console.log(row("token, deep-nesting webhook flood", underFlood));
  console.log(row(`  webhook flood (${FLOODERS} clients, ${floodKib} KiB nested)`, flooder));
  console.log(row("token, control flood (404 route: bytes received, no function)", underControl));
  console.log(row(`  control flood (${FLOODERS} clients, ${floodKib} KiB)`, controlFlooder));
  console.log(row("token, openapi.json flood", underOpenApi));
  console.log(row(`  openapi.json flood (${FLOODERS} clients)`, openApiFlooder));
  const ratio = (l: Load) => percentile(l.latencies, 95) / percentile(idle.latencies, 95);
  const verdict = (r: number) => (r <= TARGET_RATIO ? "met" : "NOT met");
  console.log(`token p95 under the webhook flood: ${ratio(underFlood).toFixed(2)} × idle (target ≤ ${TARGET_RATIO}: ${verdict(ratio(underFlood))})`);
  console.log(`host event loop busy: idle ${pct(busy.idle)}, webhook flood ${pct(busy.webhook)}, control ${pct(busy.control)}, openapi.json flood ${pct(busy.openapi)}`);
  console.log(`host thread CPU (the bridge; 100 % = a core): idle ${cpu.idle}, webhook flood ${cpu.webhook}, control ${cpu.control}, openapi.json flood ${cpu.openapi}`);
  console.log(`end: ${loadLine(availableParallelism())}`);
  console.log(`token p95 under the control flood: ${ratio(underControl).toFixed(2)} × idle (the cost of receiving the bytes at all)`);
  console.log(`token p95 under the openapi.json flood: ${ratio(underOpenApi).toFixed(2)} × idle (target ≤ ${TARGET_RATIO}: ${verdict(ratio(underOpenApi))})`);

  await env.stop();
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(`bench:webhook-flood failed: ${(error as Error)?.stack ?? error}`);
  process.exit(1);
});
