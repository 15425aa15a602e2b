// `npm run bench:sync [-- --sizes 10000,100000 --changes 1000 --child-heap-mb 384]`: the directory sync against the sandbox with
// realistic latency (Dataverse 30 ms a request, Graph 50 ms a page, 200 users a delta page as Graph caps it).
// Per size: an initial full sync of N users, then an incremental run after `changes` directory updates.
// This process hosts the emulators and Azurite; each run executes in a child process (bench/support/
// sync-child.ts) so its peak RSS (VmHWM) is the bridge's own; it runs with --max-old-space-size=384 as deployed
// (infra: languageWorkers__node__arguments), or `--child-heap-mb N` (`0`: Node's default). Prints a table and writes
// bench/results/sync-<date>.json. Targets (issues 3 and 14): 100k initial ≤ 45 s wall and ≤ 0.3 ms of CPU per user in
// the sync process, 1k-change incremental ≤ 1 s, ≤ 0.02 Dataverse requests per changed user, zero writes for
// unchanged users, peak RSS < 384 MB. Then the access line (bench/support/access-bench.ts; `--access-users 0` skips it).
// `--tenant N --scope M` (issue 20): a scoped org (SYNC_SCOPE_GROUP_IDS: one group of M members spread over a tenant
// of N users) instead of the sizes: initial ≤ 30 s, then `--changes` (default 100) member changes ≤ 1 s.
// `--sizes 1000000` (issue 20): initial ≤ 6 min wall, ≤ 0.15 ms CPU per user, peak RSS ≤ 1 GiB (run it with
// `--child-heap-mb 768`), 10k-change incremental ≤ 5 s. Each run prints where its wall time went (Graph busy share,
// Dataverse requests in flight, CPU of the sync, the emulators and Azurite); Dataverse applies its service protection
// (6,000 requests in 300 s). `BENCH_TRACE=1` also prints each run's first 80 emulator requests with their start
// offsets and durations.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { ensureSandboxTls } from "../dev/sandbox/tls.js";
import { startSandbox, type Sandbox } from "../dev/sandbox/sandbox.js";
import { startAzurite } from "../dev/sandbox/azurite.js";
import { accessLines, benchAccess, type AccessBenchResult } from "./support/access-bench.js";

const TARGETS = { initial100kMs: 45_000, cpuMsPerUser: 0.3, incremental1kMs: 1_000, requestsPerChangedUser: 0.02, peakRssMb: 384 };
const MILLION_TARGETS = { initialMs: 360_000, cpuMsPerUser: 0.15, peakRssMb: 1024, incremental10kMs: 5_000 };
const SCOPED_TARGETS = { initialMs: 30_000, incremental100Ms: 1_000 };

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** The child's V8 flags: the deployed app's bounded old space unless overridden. */
const CHILD_HEAP_MB = Number(option("child-heap-mb", "384"));
const CHILD_PROFILE_DIR = option("child-cpu-prof", "");
const CHILD_FLAGS = [
  ...(Number.isInteger(CHILD_HEAP_MB) && CHILD_HEAP_MB > 0 ? [`--max-old-space-size=${CHILD_HEAP_MB}`] : []),
  // `--child-cpu-prof DIR`: a V8 CPU profile of each sync child, for `node scripts/cpu-profile-top.mjs DIR/*.cpuprofile`.
  ...(CHILD_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${resolve(CHILD_PROFILE_DIR)}`] : []),
];
const childFlagsText = () => (CHILD_FLAGS.length > 0 ? CHILD_FLAGS.join(" ") : "node default heap");

interface ChildResult {
  runMs: number;
  /** User + system CPU of the sync process during the run. */
  cpuMs: number;
  state: string;
  mode: string;
  counts: Record<string, number>;
  errors: unknown[];
  clientRequests: number;
  clientByKind: Record<string, number>;
  clientRetries: number;
  peakRssKb: number;
  peakMemoryMb: Record<string, number>;
}

interface PhaseResult {
  phase: "initial" | "incremental";
  users: number;
  changedUsers: number;
  /** The run itself (start → execute returned), measured in the child. */
  wallMs: number;
  cpuMs: number;
  cpuMsPerUser: number;
  /** Child process spawn → exit (adds Node/tsx start-up and credential acquisition). */
  processMs: number;
  state: string;
  mode: string;
  counts: Record<string, number>;
  dataverseRequests: number;
  dataverseByKind: Record<string, number>;
  dataverseRequestsPerChangedUser: number;
  dataverseWrites: number;
  /** Dataverse requests answered 429 (service protection) and retried. */
  dataverseThrottled: number;
  writesForUnchangedUsers: number;
  graphPages: number;
  graphRequests: number;
  peakRssMb: number;
  peakRssSampledMb: number;
  /** Peaks of the child's heapUsed / heapTotal / external / arrayBuffers. */
  peakMemoryMb: Record<string, number>;
  /** Where the wall time went: see `breakdown`. */
  breakdown: Breakdown;
}

/**
 * Where a run's wall time goes. CPU of each process during the phase (the sync child, this process's emulators,
 * Azurite); Graph busy = share of the wall with a Graph request being answered (its chain is sequential, so this
 * near 100 % means Graph's latency bounds the run); Dataverse in flight = mean concurrent requests.
 */
interface Breakdown {
  syncCpuMs: number;
  emulatorsCpuMs: number;
  azuriteCpuMs: number;
  graphBusyPct: number;
  graphMsPerRequest: number;
  dataverseInFlight: number;
  dataverseMsPerRequest: number;
}

/** User + system CPU of a process (Linux /proc; 0 elsewhere), in ms. */
function processCpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

const answeringMs = (requests: Array<{ at: number; answeredAt?: number }>) => requests.reduce((sum, r) => sum + ((r.answeredAt ?? r.at) - r.at), 0);

const kb = (text: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);

/** Runs one sync in a child process, sampling its RSS every 100 ms. */
function runChild(mode: "full" | "incremental", env: NodeJS.ProcessEnv): Promise<{ result: ChildResult; processMs: number; sampledPeakKb: number }> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const args = [...CHILD_FLAGS, "--import", "tsx", "bench/support/sync-child.ts", mode];
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let sampledPeakKb = 0;
    const sampler = setInterval(() => {
      try { sampledPeakKb = Math.max(sampledPeakKb, kb(readFileSync(`/proc/${child.pid}/status`, "utf8"), "VmRSS")); } catch { /* exited */ }
    }, 100);
    child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { err += d.toString(); });
    child.on("exit", (code) => {
      clearInterval(sampler);
      const line = out.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      if (code !== 0 || !line) return reject(new Error(`sync child (${mode}) exited ${code}:\n${out.slice(-2000)}\n${err.slice(-4000)}`));
      resolvePromise({ result: JSON.parse(line.slice("BENCH_RESULT ".length)) as ChildResult, processMs: performance.now() - started, sampledPeakKb });
    });
  });
}

async function phase(sandbox: Sandbox, env: NodeJS.ProcessEnv, name: PhaseResult["phase"], changedUsers: number): Promise<PhaseResult> {
  const dv = sandbox.dataverse[0]!;
  const graph = sandbox.graph;
  const dvStart = dv.knobs.requests.length;
  const graphStart = graph.knobs.requests.length;
  const writesBefore = dv.org.stats.writes;
  const t0 = Date.now();
  const azuritePid = Number(env.BENCH_AZURITE_PID);
  const cpuBefore = { emulators: process.cpuUsage(), azurite: processCpuMs(azuritePid) };
  const { result, processMs, sampledPeakKb } = await runChild(name === "initial" ? "full" : "incremental", env);
  const emulatorsCpu = process.cpuUsage(cpuBefore.emulators);
  const azuriteCpuMs = processCpuMs(azuritePid) - cpuBefore.azurite;
  if (process.env.BENCH_TRACE === "1") {
    const trace = [...dv.knobs.requests.slice(dvStart).map((r) => ({ ...r, svc: "DV" })), ...graph.knobs.requests.slice(graphStart).map((r) => ({ ...r, svc: "Graph" }))].sort((a, b) => a.at - b.at);
    for (const r of trace.slice(0, 80)) console.log(`TRACE ${r.svc} +${r.at - t0} ms (${(r.answeredAt ?? r.at) - r.at} ms) ${r.method} ${r.url.slice(0, 140)}`);
    const sums = new Map<string, { n: number; ms: number; first: number; last: number }>();
    for (const r of trace) {
      const key = `${r.svc} ${r.method} ${r.url.split("?")[0]!.replace(/\(.*$/, "")}`;
      const sum = sums.get(key) ?? { n: 0, ms: 0, first: r.at - t0, last: 0 };
      sum.n++;
      sum.ms += (r.answeredAt ?? r.at) - r.at;
      sum.last = (r.answeredAt ?? r.at) - t0;
      sums.set(key, sum);
    }
    for (const [key, v] of sums) console.log(`TRACE-SUM ${key}: ${v.n} requests, ${v.ms} ms answering, from +${v.first} to +${v.last} ms`);
  }
  const dvRequests = dv.knobs.requests.slice(dvStart);
  const graphRequests = graph.knobs.requests.slice(graphStart);
  const byKind: Record<string, number> = {};
  for (const r of dvRequests) {
    const path = r.url.split("?")[0]!.replace(/^\/api\/data\/v9\.\d\//, "").replace(/\(.*$/, "");
    const key = `${r.method} ${path}`;
    byKind[key] = (byKind[key] ?? 0) + 1;
  }
  const writes = dv.org.stats.writes - writesBefore;
  const throttled = dvRequests.filter((r) => r.status === 429).length;
  if (result.state !== "succeeded") throw new Error(`${name} run ended ${result.state}: ${JSON.stringify(result.errors)}`);
  return {
    phase: name,
    users: sandbox.tenant.directory.users.size,
    changedUsers,
    wallMs: Math.round(result.runMs),
    cpuMs: Math.round(result.cpuMs),
    cpuMsPerUser: result.cpuMs / Math.max(1, sandbox.tenant.directory.users.size),
    processMs: Math.round(processMs),
    state: result.state,
    mode: result.mode,
    counts: result.counts,
    dataverseRequests: dvRequests.length,
    dataverseByKind: byKind,
    dataverseRequestsPerChangedUser: changedUsers > 0 ? dvRequests.length / changedUsers : 0,
    dataverseWrites: writes,
    dataverseThrottled: throttled,
    writesForUnchangedUsers: writes - changedUsers,
    graphPages: graphRequests.filter((r) => (r.url.includes("/users/delta") || r.url.includes("/v1.0/users?")) && r.status === 200).length,
    graphRequests: graphRequests.length,
    peakRssMb: Math.round(result.peakRssKb / 1024),
    peakRssSampledMb: Math.round(sampledPeakKb / 1024),
    peakMemoryMb: result.peakMemoryMb,
    breakdown: {
      syncCpuMs: Math.round(result.cpuMs),
      emulatorsCpuMs: Math.round((emulatorsCpu.user + emulatorsCpu.system) / 1000),
      azuriteCpuMs: Math.round(azuriteCpuMs),
      graphBusyPct: Math.round((answeringMs(graphRequests) / Math.max(1, result.runMs)) * 100),
      graphMsPerRequest: Math.round(answeringMs(graphRequests) / Math.max(1, graphRequests.length)),
      dataverseInFlight: Number((answeringMs(dvRequests) / Math.max(1, result.runMs)).toFixed(1)),
      dataverseMsPerRequest: Math.round(answeringMs(dvRequests) / Math.max(1, dvRequests.length)),
    },
  };
}

/** A sandbox of `users` (none in Dataverse yet) with the bench's latency, Azurite, and the sync child's environment. */
async function startSized(users: number, tlsDir: string, telemetry = false): Promise<{ sandbox: Sandbox; env: NodeJS.ProcessEnv; stop: () => Promise<void> }> {
  const tls = ensureSandboxTls(tlsDir);
  // Azurite first: seeding a large tenant keeps this process busy past Azurite's start-up timeout.
  const azurite = await startAzurite();
  const sandbox = await startSandbox({ tls, seed: { users, existingShare: 0 } });
  sandbox.dataverse[0]!.knobs.latencyMs = 30;
  // Dataverse's service protection as the real service applies it: 6,000 requests per caller in 300 s (a $batch
  // counts once), answered 429 with Retry-After beyond that. A run that outpaces it is throttled, not flattered.
  sandbox.dataverse[0]!.org.throttle = { limit: 6_000, windowSeconds: 300, retryAfterSeconds: 5 };
  sandbox.graph.knobs.latencyMs = 50;
  sandbox.graph.emulator.pageSize = 200; // Graph's cap for users/delta
  const env = { ...process.env, ...sandbox.env, AzureWebJobsStorage: azurite.connectionString, SYNC_DISABLE_THRESHOLD: "5%", BENCH_TELEMETRY: telemetry ? "1" : "0", BENCH_AZURITE_PID: String(azurite.process.pid) };
  return { sandbox, env, stop: async () => { await Promise.all([sandbox.stop(), azurite.stop()]); } };
}

async function benchSize(users: number, changes: number, tlsDir: string, telemetry = false, scope = 0): Promise<{ seedMs: number; phases: PhaseResult[]; parentPeakRssMb: number }> {
  const seedStart = performance.now();
  const { sandbox, env: baseEnv, stop } = await startSized(users, tlsDir, telemetry);
  const seedMs = Math.round(performance.now() - seedStart);
  try {
    const directory = sandbox.tenant.directory;
    const members = scope > 0 ? scopeGroup(sandbox, scope) : undefined;
    const env = { ...baseEnv, ...(members ? { SYNC_SCOPE_GROUP_IDS: members.groupId } : {}) };

    const initial = await phase(sandbox, env, "initial", members?.users.length ?? users);
    const org = sandbox.dataverse[0]!.org;
    const synced = [...org.users.values()].filter((r) => r.azureactivedirectoryobjectid && !r.applicationid).length;
    const expected = members?.users.length ?? users;
    if (synced !== expected) throw new Error(`initial sync left ${synced} of ${expected} users in Dataverse`);

    // `changes` distinct users spread over the directory (the scope's members when scoped) get a new job title.
    const all = members?.users ?? [...directory.users.values()];
    const step = Math.max(1, Math.floor(all.length / changes));
    const changed = all.filter((_, i) => i % step === 0).slice(0, changes);
    for (const [i, user] of changed.entries()) directory.updateUser(user.id, { jobTitle: `Bench title ${i}` });

    const incremental = await phase(sandbox, env, "incremental", changed.length);
    for (const user of changed) {
      const record = org.findByObjectId(user.id);
      if (record?.jobtitle !== user.jobTitle) throw new Error(`incremental sync missed ${user.userPrincipalName}`);
    }
    return { seedMs, phases: [initial, incremental], parentPeakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
  } finally {
    await stop();
  }
}

/** One scope group of `size` members spread evenly over the tenant (all enabled, so each gets a record). */
function scopeGroup(sandbox: Sandbox, size: number): { groupId: string; users: Array<{ id: string; userPrincipalName: string; jobTitle: string | null }> } {
  const directory = sandbox.tenant.directory;
  const group = directory.addGroup("Dynamics 365 users");
  const all = [...directory.users.values()];
  const step = Math.max(1, Math.floor(all.length / size));
  const users = all.filter((_, i) => i % step === 0).slice(0, size);
  for (const user of users) {
    if (!user.accountEnabled) directory.updateUser(user.id, { accountEnabled: true });
    directory.setMembership(group.id, user.id, true);
  }
  return { groupId: group.id, users };
}

function printTable(rows: PhaseResult[]): void {
  const header = ["users", "phase", "changed", "wall s", "CPU s", "CPU ms/user", "proc s", "DV req", "DV req/chg", "DV writes", "unchanged writes", "Graph pages", "peak RSS MB"];
  const lines = rows.map((r) => [
    String(r.users), r.phase, String(r.changedUsers), (r.wallMs / 1000).toFixed(1), (r.cpuMs / 1000).toFixed(1), r.cpuMsPerUser.toFixed(3), (r.processMs / 1000).toFixed(1),
    String(r.dataverseRequests), r.dataverseRequestsPerChangedUser.toFixed(4), String(r.dataverseWrites),
    String(r.writesForUnchangedUsers), String(r.graphPages), `${r.peakRssMb} (sampled ${r.peakRssSampledMb})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  console.log(`sync child: ${childFlagsText()}`);
  console.log(fmt(header));
  for (const l of lines) console.log(fmt(l));
  for (const r of rows) {
    const b = r.breakdown;
    console.log(`where ${r.users} ${r.phase}'s ${(r.wallMs / 1000).toFixed(1)} s went: Graph busy ${b.graphBusyPct} % (${b.graphMsPerRequest} ms a request), ` +
      `Dataverse ${b.dataverseInFlight} requests in flight (${b.dataverseMsPerRequest} ms each, ${r.dataverseThrottled} throttled); CPU: sync ${(b.syncCpuMs / 1000).toFixed(1)} s, ` +
      `emulators ${(b.emulatorsCpuMs / 1000).toFixed(1)} s, Azurite ${(b.azuriteCpuMs / 1000).toFixed(1)} s`);
  }
}

/** `--tenant N --scope M`: one scoped org; prints its figures against the scoped targets. */
async function mainScoped(tenant: number, scope: number, tlsDir: string): Promise<void> {
  const changes = Number(option("changes", "100"));
  console.log(`bench:sync scoped: ${scope} members of a ${tenant}-user tenant …`);
  const r = await benchSize(tenant, Math.min(changes, scope), tlsDir, false, scope);
  printTable(r.phases);
  const [initial, incremental] = r.phases;
  const verdict = {
    initialWithin30s: initial!.wallMs <= SCOPED_TARGETS.initialMs,
    incremental100Within1s: incremental!.wallMs <= SCOPED_TARGETS.incremental100Ms,
    zeroWritesForUnchangedUsers: r.phases.every((p) => p.writesForUnchangedUsers === 0),
  };
  console.log(`\ntargets (scoped): ${JSON.stringify(verdict)}`);
  const out = { date: new Date().toISOString(), node: process.version, childFlags: childFlagsText(), cpus: cpus().length, tenant, scope, targets: SCOPED_TARGETS, verdict, ...r };
  writeResults(out, "sync-scoped");
}

function writeResults(out: { date: string } & Record<string, unknown>, prefix: string): void {
  mkdirSync("bench/results", { recursive: true });
  const file = option("out", `bench/results/${prefix}-${out.date.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`written ${file}`);
}

async function main(): Promise<void> {
  const tenant = Number(option("tenant", "0"));
  const scope = Number(option("scope", "0"));
  if (tenant > 0 && scope > 0) return mainScoped(tenant, scope, resolve(".sandbox/tls"));
  const sizes = option("sizes", "10000,100000").split(",").map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
  const changes = Number(option("changes", "1000"));
  const tlsDir = resolve(".sandbox/tls");
  const results: Array<{ users: number; seedMs: number; parentPeakRssMb: number; phases: PhaseResult[] }> = [];
  const telemetryRows: Array<{ users: number; phase: string; offMs: number; onMs: number }> = [];
  for (const users of sizes) {
    console.log(`bench:sync ${users} users …`);
    const r = await benchSize(users, Math.min(changes, users), tlsDir);
    results.push({ users, ...r });
    printTable(r.phases);
    // Telemetry on (issue 12): the same size again with the OpenTelemetry SDK installed in the sync child.
    if (option("telemetry", "compare") !== "off") {
      const on = await benchSize(users, Math.min(changes, users), tlsDir, true);
      console.log("with telemetry on:");
      printTable(on.phases);
      telemetryRows.push(...r.phases.map((off, i) => ({ users, phase: off.phase, offMs: off.wallMs, onMs: on.phases[i]!.wallMs })));
    }
  }
  // The access line (issue 18): `--access-users N` (0: skip), 20 rules, 10 % of users in rule groups.
  const accessUsers = Number(option("access-users", "100000"));
  let access: AccessBenchResult | undefined;
  if (accessUsers > 0) {
    console.log(`bench:sync access ${accessUsers} users …`);
    access = await benchAccess(accessUsers, changes, (users) => startSized(users, tlsDir), phase);
  }
  for (const t of telemetryRows) {
    console.log(`telemetry ${t.users} users ${t.phase}: off ${(t.offMs / 1000).toFixed(1)} s, on ${(t.onMs / 1000).toFixed(1)} s, cost ${((t.onMs / t.offMs - 1) * 100).toFixed(1)} % (target ≤ 10 %)`);
  }
  const rows = results.flatMap((r) => r.phases);
  const big = results.find((r) => r.users === 100_000);
  const incrementals = rows.filter((r) => r.phase === "incremental");
  const verdict = {
    initial100kWithin45s: big ? big.phases[0]!.wallMs <= TARGETS.initial100kMs : null,
    initial100kCpuWithin03MsPerUser: big ? big.phases[0]!.cpuMsPerUser <= TARGETS.cpuMsPerUser : null,
    incremental1kWithin1s: incrementals.filter((r) => r.changedUsers <= 1_000).every((r) => r.wallMs <= TARGETS.incremental1kMs),
    requestsPerChangedUserAtMost002: incrementals.every((r) => r.dataverseRequestsPerChangedUser <= TARGETS.requestsPerChangedUser),
    zeroWritesForUnchangedUsers: rows.every((r) => r.writesForUnchangedUsers === 0),
    peakRssUnder384Mb: rows.every((r) => r.peakRssMb < TARGETS.peakRssMb),
    ...millionVerdict(results.find((r) => r.users === 1_000_000)?.phases),
  };
  console.log("\nall figures:");
  printTable(rows);
  console.log(`\ntargets: ${JSON.stringify(verdict)}`);
  if (access) for (const line of accessLines(access)) console.log(line);
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    childFlags: childFlagsText(),
    cpus: cpus().length,
    latency: { dataverseMs: 30, graphMs: 50, graphPageSize: 200 },
    targets: TARGETS,
    verdict,
    results,
    telemetry: telemetryRows,
    access,
  };
  writeResults(out, "sync");
}

/** The million-user targets, when that size ran. */
function millionVerdict(phases: PhaseResult[] | undefined): Record<string, boolean> {
  if (!phases) return {};
  const [initial, incremental] = phases;
  return {
    million_initialWithin6min: initial!.wallMs <= MILLION_TARGETS.initialMs,
    million_cpuWithin015MsPerUser: initial!.cpuMsPerUser <= MILLION_TARGETS.cpuMsPerUser,
    million_peakRssWithin1GiB: phases.every((p) => p.peakRssMb <= MILLION_TARGETS.peakRssMb),
    million_incremental10kWithin5s: incremental!.changedUsers > 10_000 || incremental!.wallMs <= MILLION_TARGETS.incremental10kMs,
  };
}

main().catch((error: unknown) => {
  console.error(`bench:sync failed: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
