// Runs a measurement with telemetry off, on (the real SDK pipeline, exports dropped), and off again, and prints
// the cost against the mean of the two "off" runs (drift on a shared machine shows as their difference).
// `measure` returns a throughput (higher is better). Target (issue 12): at most 10 % slower with telemetry on.
// It also prints the process's CPU time per request in each run: on a machine shared with other work the
// throughput moves with their load, the CPU a request costs far less.
import { installBenchTelemetry } from "./telemetry.js";

export interface TelemetryRun {
  throughput: number;
  /** This process's CPU time per request (ms), when known. */
  cpuPerRequest?: number;
}

export async function compareTelemetry(run: (label: string) => Promise<TelemetryRun>): Promise<{ off: number; on: number; cost: number }> {
  const cpu: Array<number | undefined> = [];
  const measure = (label: string) => run(label).then((r) => { cpu.push(r.cpuPerRequest); return r.throughput; });
  const before = await measure("telemetry off");
  const { telemetry, counts } = await installBenchTelemetry();
  let on: number;
  try {
    on = await measure("telemetry on");
    await telemetry.flush();
  } finally {
    await telemetry.shutdown();
  }
  const after = await measure("telemetry off again");
  const off = (before + after) / 2;
  const cost = 1 - on / off;
  console.log(`telemetry cost ${(cost * 100).toFixed(1)} % (target ≤ 10 %: ${cost <= 0.1 ? "met" : "NOT met"}); exported ${counts.spans} spans, ${counts.logs} log records, ${counts.metricExports} metric exports, ${(counts.bytes / 1024).toFixed(0)} KiB serialized`);
  const [cpuOff, cpuOn, cpuOffAgain] = cpu;
  if (cpuOff !== undefined && cpuOn !== undefined && cpuOffAgain !== undefined) {
    const cpuCost = 1 - (cpuOff + cpuOffAgain) / 2 / cpuOn;
    console.log(`telemetry cost by CPU per request: ${(cpuCost * 100).toFixed(1)} % (${cpuOff.toFixed(3)} / ${cpuOn.toFixed(3)} / ${cpuOffAgain.toFixed(3)} ms off / on / off: the throughput it would cost a CPU-bound instance)`);
  }
  return { off, on, cost };
}
