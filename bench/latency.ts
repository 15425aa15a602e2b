// `npm run bench:latency`: change-to-Dataverse latency of the webhook loop in the sandbox, with the default
// debounce. Everything runs in this process: sandbox tenant (Graph emulator posting notifications), Azurite
// (in memory), the local Functions host. After the subscription timer and an initial full sync, users are
// changed at random intervals (0.5–3 s) for BENCH_DURATION seconds (default 60); each change is timed until
// every org's systemuser shows it. Prints p50/p95/max. Target: p95 < 60 s. BENCH_ORGS (default 2),
// BENCH_USERS (default 200).
import { prepareBenchProcess } from "./support/bench-process.js";

const DURATION_S = Number(process.env.BENCH_DURATION ?? 60);
const ORGS = Number(process.env.BENCH_ORGS ?? 2);
const USERS = Number(process.env.BENCH_USERS ?? 200);
const TARGET_P95_S = 60;


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  const tls = prepareBenchProcess("latency");
  if (!tls) return;

  const { startSandbox } = await import("../dev/sandbox/sandbox.js");
  const { startAzurite } = await import("../dev/sandbox/azurite.js");
  const { startLocalHost } = await import("../dev/local-host/host.js");
  const [sandbox, azurite] = await Promise.all([startSandbox({ tls, orgs: ORGS, seed: { users: USERS } }), startAzurite()]);
  Object.assign(process.env, sandbox.env, { AzureWebJobsStorage: azurite.connectionString, SYNC_DISABLE_THRESHOLD: "100%" });
  const host = await startLocalHost({ port: 0, timers: false, log: () => {}, storageConnectionString: azurite.connectionString });
  process.env.NOTIFICATION_URL = `${host.url}/api/notifications`;
  // The host's bridge is built at its first invocation (below), so it sees NOTIFICATION_URL.
  const { bridge } = await import("../functions/bridge.js");
  const syncRuns = () => bridge().syncRuns;
  const { DEFAULT_DEBOUNCE_SECONDS } = await import("../shared/notifications/debounce.js");
  await host.runTimer("graphSubscriptions");
  if (sandbox.graph.emulator.subscriptions.length !== 1) throw new Error("the subscription was not created");
  // The initial full sync, so notification runs are incremental as in steady state.
  for (const org of sandbox.dataverse) {
    const run = await syncRuns().start({ org: org.url, mode: "full", trigger: "bench" });
    for (;;) {
      const report = await syncRuns().get(run.runId);
      if (report.state === "succeeded") break;
      if (report.state === "failed" || report.state === "halted") throw new Error(`initial sync ${report.state}`);
      await sleep(200);
    }
  }

  const directory = sandbox.tenant.directory;
  const users = [...directory.users.values()].filter((u) => u.state === "active" && u.accountEnabled);
  const orgs = sandbox.dataverse.map((d) => d.org);
  const pending = new Map<string, { userId: string; at: number }>();
  const latencies: number[] = [];
  const watcher = setInterval(() => {
    const now = Date.now();
    for (const [title, change] of pending) {
      const arrived = orgs.every((org) => [...org.users.values()].some((r) => r.azureactivedirectoryobjectid?.toLowerCase() === change.userId.toLowerCase() && r.jobtitle === title));
      if (arrived) { latencies.push((now - change.at) / 1000); pending.delete(title); }
    }
  }, 50);

  console.log(`bench:latency: ${ORGS} org(s), ${users.length} users, debounce ${DEFAULT_DEBOUNCE_SECONDS} s, changes for ${DURATION_S} s …`);
  const end = Date.now() + DURATION_S * 1000;
  let n = 0;
  while (Date.now() < end) {
    const user = users[Math.floor(Math.random() * users.length)]!;
    const title = `Bench ${++n} ${Date.now()}`;
    pending.set(title, { userId: user.id, at: Date.now() });
    directory.updateUser(user.id, { jobTitle: title });
    await sleep(500 + Math.random() * 2_500);
  }
  // A later change to the same user supersedes an earlier title: those never show and are not counted.
  const superseded = new Set<string>();
  const latestByUser = new Map<string, string>();
  for (const [title, change] of pending) {
    const previous = latestByUser.get(change.userId);
    if (previous) superseded.add(previous);
    latestByUser.set(change.userId, title);
  }
  for (const title of superseded) pending.delete(title);
  const deadline = Date.now() + 120_000;
  while (pending.size > 0 && Date.now() < deadline) await sleep(200);
  clearInterval(watcher);

  const sorted = [...latencies].sort((a, b) => a - b);
  const p95 = percentile(sorted, 95);
  console.log(`changes measured: ${sorted.length}, not arrived within 120 s: ${pending.size}`);
  console.log(`latency  p50 ${percentile(sorted, 50).toFixed(2)} s   p95 ${p95.toFixed(2)} s   max ${sorted.at(-1)?.toFixed(2)} s   (target p95 < ${TARGET_P95_S} s)`);
  const ok = pending.size === 0 && p95 < TARGET_P95_S;
  console.log(ok ? "PASS" : "FAIL");
  await host.close();
  await Promise.all([sandbox.stop(), azurite.stop()]);
  process.exit(ok ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
