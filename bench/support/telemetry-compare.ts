// Runs a measurement with telemetry off, on (the real SDK pipeline, exports dropped), and off again, and prints
// the cost against the mean of the two "off" runs (drift on a shared machine shows as their difference).
// `measure` returns a throughput (higher is better). Target (issue 12): at most 10 % slower with telemetry on.
import { installBenchTelemetry } from "./telemetry.js";

export async function compareTelemetry(measure: (label: string) => Promise<number>): Promise<{ off: number; on: number; cost: number }> {
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
  return { off, on, cost };
}
