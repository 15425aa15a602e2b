// The chaos soak: a seeded, reproducible randomized run of the bridge against the sandbox. Two local hosts
// (child processes) on one on-disk Azurite sync a sandbox org while the directory churns (churn.ts) and faults
// come together (faults.ts): throttling with Retry-After, slow answers, connection resets, storage outages,
// hosts SIGKILLed mid-page, mid-$batch, mid-remap and mid-bulk job, duplicate and out-of-order deliveries.
// Each round ends by stopping the faults, letting the runs converge, making one quiet run, and checking the
// invariants (invariants.ts). The same seed makes the same choices; timing still varies with the machine.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBridge } from "../../shared/bridge.js";
import { loadConfig } from "../../shared/config/config.js";
import { recoverRemaps } from "../../shared/remap/recovery.js";
import { TABLES } from "../../shared/state/storage.js";
import type { RunReport } from "../../shared/sync/run-report.js";
import { startAzurite } from "../sandbox/azurite.js";
import { startSandbox } from "../sandbox/sandbox.js";
import { DYNAMICS_CUSTOMER_SERVICE_SKU, DYNAMICS_SALES_SKU, sandboxAccessRules } from "../sandbox/seed-access.js";
import type { SandboxTls } from "../sandbox/tls.js";
import { addPerson, CHURN_KINDS, churnOnce } from "./churn.js";
import { FAULT_KINDS, FaultInjector, type FaultKind } from "./faults.js";
import { HostPool } from "./hosts.js";
import { INVARIANTS, type Invariant } from "./invariants.js";
import { Rng } from "./random.js";
import { redeliverUnfinished, startSync, Tally, type SoakWorld } from "./world.js";

export interface SoakOptions {
  seed: number;
  tls: SandboxTls;
  /** No new round starts after this long (the round under way finishes). */
  durationMs: number;
  /** Chaos per round, before the faults stop (default 25 s). */
  chaosMs?: number;
  /** Directory people at the start (default 60). */
  users?: number;
  /** How long a round may take to converge once the faults stop (default 120 s). */
  settleMs?: number;
  invariants?: readonly Invariant[];
  log?: (line: string) => void;
}

export interface Violation {
  round: number;
  invariant: string;
  message: string;
}

export interface SoakResult {
  seed: number;
  rounds: number;
  checks: number;
  violations: Violation[];
  tally: Tally;
  elapsedMs: number;
}

const PLACEHOLDERS = ["remap-temp-1@contoso.com", "remap-temp-2@contoso.com", "remap-temp-3@contoso.com", "remap-temp-4@contoso.com"];
/** Delta pages this small spread the directory over several pages, so a kill can land between them. */
const DELTA_PAGE_SIZE = 20;
/**
 * REMAP_LEASE_SECONDS for the hosts: a killed host's remap is settled once its lease lapses, as in production,
 * with a lease short enough that a round waits seconds for it rather than the default two minutes.
 */
const REMAP_LEASE_SECONDS = 30;
/** Changes made on a quiet directory before the run whose counts are compared with the writes. */
const QUIET_KINDS = new Set([
  "attribute change",
  "account disabled",
  "account enabled",
  "user deleted",
  "user restored",
  "UPN changed",
  "user created",
]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const rng = new Rng(options.seed);
  const location = mkdtempSync(join(tmpdir(), "bridge-soak-azurite-"));
  const previousEnv = { ...process.env };
  const [sandbox, azurite] = await Promise.all([startSandbox({ tls: options.tls, seed: { users: 0 } }), startAzurite({ location })]);
  let hosts: HostPool | undefined;
  try {
    // The sandbox's rules: Sales and Service members get their unit, two roles and their owner team.
    const accessRules = sandboxAccessRules(sandbox.dataverse[0]!.url);
    const licenceSkus = [DYNAMICS_SALES_SKU, DYNAMICS_CUSTOMER_SERVICE_SKU];
    Object.assign(process.env, sandbox.env, {
      AzureWebJobsStorage: azurite.connectionString,
      REMAP_PLACEHOLDER_USERS: PLACEHOLDERS.join(","),
      ACCESS_RULES: JSON.stringify(accessRules),
      SYNC_LICENSE_SKUS: licenceSkus.join(","),
      REMAP_LEASE_SECONDS: String(REMAP_LEASE_SECONDS),
    });
    hosts = await HostPool.start(2, process.env);
    const world: SoakWorld = {
      sandbox,
      org: sandbox.dataverse[0]!.org,
      azurite,
      hosts,
      bridge: createBridge(loadConfig()),
      adminToken: await sandbox.adminToken({ lifetimeSeconds: 8 * 3600 }),
      accessRules,
      licenceSkus,
      placeholders: PLACEHOLDERS,
      names: { nextPerson: 0, nextRename: 0 },
      runIds: [],
      bulkJobIds: [],
      tally: new Tally(),
      background: new Set(),
      log,
    };
    populate(world, rng.stream("population"), options.users ?? 60);
    const faults = new FaultInjector(world, rng.stream("faults"));
    faults.install(sandbox.graph.knobs, sandbox.dataverse[0]!.knobs);
    await runToEnd(world, "full", 60_000); // the initial round, before any chaos
    const result: SoakResult = { seed: options.seed, rounds: 0, checks: 0, violations: [], tally: world.tally, elapsedMs: 0 };
    do {
      result.rounds++;
      const roundRng = rng.stream(`round ${result.rounds}`);
      log(`round ${result.rounds}: chaos`);
      await chaos(world, faults, roundRng, options.chaosMs ?? 25_000);
      log(`round ${result.rounds}: settling`);
      await settle(world, faults, options.settleMs ?? 120_000);
      const quietRun = await quietRound(world, roundRng);
      for (const invariant of options.invariants ?? INVARIANTS) {
        result.checks++;
        const problems = await Promise.resolve()
          .then(() => invariant.check({ world, quietRun }))
          .catch((error: unknown) => [`the check failed: ${(error as Error).message}`]);
        for (const message of problems) result.violations.push({ round: result.rounds, invariant: invariant.name, message });
      }
      log(`round ${result.rounds}: ${result.violations.length} violation(s) so far`);
      for (const service of [sandbox.graph, ...sandbox.dataverse]) service.knobs.requests.length = 0;
    } while (Date.now() - started < options.durationMs && result.violations.length === 0);
    await tallyRuns(world);
    result.elapsedMs = Date.now() - started;
    return result;
  } finally {
    await hosts?.stop();
    process.env = previousEnv;
    await Promise.all([sandbox.stop(), azurite.stop()]);
    rmSync(location, { recursive: true, force: true });
  }
}

/**
 * People (some in the rule groups), the remap temporary accounts (disabled, as REMAP_PLACEHOLDER_USERS wants),
 * and records for some people.
 */
function populate(world: SoakWorld, rng: Rng, users: number): void {
  const dir = world.sandbox.tenant.directory;
  for (const upn of PLACEHOLDERS) dir.addUser({ userPrincipalName: upn, accountEnabled: false });
  world.sandbox.graph.emulator.maxDeltaPageSize = DELTA_PAGE_SIZE;
  for (let i = 0; i < users; i++) {
    const user = addPerson(world, rng);
    for (const rule of world.accessRules) if (rng.chance(0.2)) dir.addGroupMember(rule.group, user.id);
    // Some people already have a record, a few with stale values, as when the bridge is first deployed.
    if (rng.chance(0.4))
      world.org.addSystemUser({
        domainname: user.userPrincipalName,
        azureactivedirectoryobjectid: user.id,
        firstname: user.givenName,
        lastname: rng.chance(0.3) ? "Stale" : user.surname,
      });
  }
}

/**
 * Two lanes at once until `ms` pass and the script is done: every fault kind once, in a random order (kills
 * waited for), beside churn, runs and more faults at random.
 */
async function chaos(world: SoakWorld, faults: FaultInjector, rng: Rng, ms: number): Promise<void> {
  const end = Date.now() + ms;
  let scripted = false;
  const script = async (lane: Rng) => {
    await runScript(world, faults, lane);
    scripted = true;
  };
  const random = async (lane: Rng) => {
    while (Date.now() < end || !scripted) {
      const roll = lane.float();
      await step(world, async () => {
        // Kills stay with the script (armed together once a round): more would only wait on each other.
        if (roll < 0.2) await lane.weighted(FAULT_KINDS.filter((k) => !k.name.startsWith("kill"))).inject(world, faults, lane);
        else if (roll < 0.45) await startSync(world, lane.pick(world.hosts.slots), lane.chance(0.8) ? "incremental" : "full");
        else await churnOnce(world, lane);
      });
      await sleep(lane.int(50, 400));
    }
  };
  await Promise.all([script(rng.stream("script")), random(rng.stream("random"))]);
}

/** One chaos step; a host being restarted or storage being down refuses requests: that is the chaos, not a failure. */
async function step(world: SoakWorld, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    world.log(`chaos step: ${(error as Error).message}`);
  }
}

/**
 * Every fault kind once a round, in a random order: first the windows, outages and deliveries, then the kills
 * armed together (the first kill's host dies, the redelivered run meets the next moment), waited for; if none
 * of them fired (no run reached its moment in time) they are armed once more on an idle org.
 */
async function runScript(world: SoakWorld, faults: FaultInjector, rng: Rng): Promise<void> {
  const kinds = [...FAULT_KINDS];
  const order: FaultKind[] = [];
  while (kinds.length > 0) order.push(kinds.splice(rng.int(0, kinds.length - 1), 1)[0]!);
  const kills = order.filter((k) => k.name.startsWith("kill"));
  for (const kind of order.filter((k) => !kills.includes(k))) {
    await step(world, () => kind.inject(world, faults, rng));
    await sleep(rng.int(100, 500));
  }
  const before = faults.fired;
  for (let attempt = 0; attempt === 0 || (attempt < 2 && faults.fired === before); attempt++) {
    if (attempt > 0) await orgIdle(world, 5_000);
    for (const kind of kills) await step(world, () => kind.inject(world, faults, rng));
    await faults.killsSettled();
  }
}

/** Waits (at most `ms`) until the latest run has ended. */
async function orgIdle(world: SoakWorld, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const latest = world.runIds.at(-1);
    const state = latest ? (await world.bridge.syncRuns.get(latest).catch(() => undefined))?.state : undefined;
    if (state === undefined || !["queued", "running"].includes(state)) return;
    await sleep(250);
  }
}

/**
 * Stops every fault, waits for host restarts, then for every run and bulk job to finish (redelivering what a
 * killed host left, as the queue would after its visibility timeout), then finishes interrupted remaps.
 */
async function settle(world: SoakWorld, faults: FaultInjector, ms: number): Promise<void> {
  faults.clear();
  await Promise.allSettled([...world.background]);
  if (world.azurite.process.exitCode !== null) await world.azurite.restart();
  await Promise.all(world.hosts.slots.map((s) => world.hosts.restart(s)));
  const deadline = Date.now() + ms;
  // The first redelivery after the hosts are back at once (a killed host's message would return after its
  // visibility timeout), then again while something is still unfinished.
  let redelivered = 0;
  // Settled once nothing is unfinished twice in a row: a redelivered message can start an ended job's next step.
  for (let quiet = 0; quiet < 2;) {
    if (Date.now() > deadline) {
      world.log(`settling: ${await unfinished(world)} run(s) or bulk job(s) still unfinished after ${ms} ms`);
      return;
    }
    quiet = (await unfinished(world)) === 0 ? quiet + 1 : 0;
    if (quiet === 0 && Date.now() - redelivered > 10_000) {
      world.tally.add("settle: redeliveries", await redeliverUnfinished(world));
      // The recovery timer too: a bulk item waits for a killed host's remap to be settled before it runs again.
      const report = await recoverRemaps(world.bridge.remapDeps({ log: world.log }));
      world.tally.add("settle: remaps recovered", report.examined - report.skipped);
      redelivered = Date.now();
    }
    await sleep(500);
  }
  await recoverAbandonedRemaps(world);
}

async function unfinished(world: SoakWorld): Promise<number> {
  await adoptUntrackedBulkJobs(world);
  let count = 0;
  for (const runId of world.runIds) if (["queued", "running"].includes((await world.bridge.syncRuns.get(runId)).state)) count++;
  const { getBulkJob } = await import("../../shared/remap/bulk-jobs.js");
  for (const jobId of world.bulkJobIds) if (!(await getBulkJob(jobId, world.bridge.remapDeps()))?.finishedAt) count++;
  return count;
}

/**
 * A domain move whose POST lost its answer (its host killed, or the request timed out during a storage outage)
 * still stored and queued its job: it is tracked too, or settling would not wait for it and the recovery pass
 * below would meet its remaps while they run.
 */
async function adoptUntrackedBulkJobs(world: SoakWorld): Promise<void> {
  const jobs = await world.bridge.storage.table(TABLES.remapJobs);
  const known = new Set(world.bulkJobIds);
  for await (const row of jobs.listEntities<{ dryRun?: boolean }>({ queryOptions: { filter: "PartitionKey eq 'job'" } })) {
    if (!row.dryRun && !known.has(row.rowKey!)) {
      world.bulkJobIds.push(row.rowKey!);
      world.tally.add("settle: bulk jobs whose start answer was lost");
    }
  }
}

/** How often settling looks at the leases and runs the remap recovery pass (its timer, compressed) while one is live. */
const RECOVERY_POLL_MS = 2_000;
/** The longest lease a host takes (a sync run's), and then some: nothing the hosts left can outlive it. */
const LONGEST_LEASE_MS = 100_000;

/**
 * Nothing runs any more (every run and bulk job finished, the faults stopped), so a lease still live is a killed
 * host's (a remap waiting for a temporary account, a remap step, a run). It is not cut short: settling waits
 * until it lapses at its own expiry, as in production, running the remap recovery pass as its timer would, so
 * the quiet round starts with every user free and no remap open.
 */
async function recoverAbandonedRemaps(world: SoakWorld): Promise<void> {
  const started = Date.now();
  for (;;) {
    const report = await recoverRemaps(world.bridge.remapDeps({ log: world.log }));
    world.tally.add("settle: remaps recovered", report.examined - report.skipped);
    const live = await liveLeases(world);
    if (report.skipped === 0 && live.length === 0) break;
    if (Date.now() - started > LONGEST_LEASE_MS) {
      world.log(`settling: ${report.skipped} remap(s) held, lease(s) still live after ${Date.now() - started} ms: ${live.join(", ")}`);
      break;
    }
    await sleep(RECOVERY_POLL_MS);
  }
  if (Date.now() - started > RECOVERY_POLL_MS) world.tally.add("settle: seconds waited for killed hosts' leases to lapse", Math.round((Date.now() - started) / 1000));
}

/** The leases not yet expired, each as its holder's note (a run or remap operation id) and how long it has left. */
async function liveLeases(world: SoakWorld): Promise<string[]> {
  const leases = await world.bridge.storage.table(TABLES.leases);
  const live: string[] = [];
  for await (const lease of leases.listEntities<{ expiresAt: number; note?: string; holder: string }>()) {
    if (lease.expiresAt > Date.now()) live.push(`${lease.note || lease.holder} (${Math.ceil((lease.expiresAt - Date.now()) / 1000)} s left)`);
  }
  return live;
}

/** Starts a run through a host (retrying while the org is busy) and waits for its end; the last report. */
export async function runToEnd(world: SoakWorld, mode: "incremental" | "full", ms: number): Promise<RunReport> {
  const deadline = Date.now() + ms;
  let runId: string | undefined;
  while (!runId) {
    runId = await startSync(world, world.hosts.slots[world.runIds.length % world.hosts.slots.length]!, mode).catch(() => undefined);
    if (!runId && Date.now() > deadline) throw new Error(`no ${mode} run could start within ${ms} ms`);
    if (!runId) await sleep(1_000);
  }
  for (;;) {
    const report = await world.bridge.syncRuns.get(runId);
    if (!["queued", "running"].includes(report.state)) return report;
    if (Date.now() > deadline) return report;
    await sleep(300);
  }
}

/** After the chaos: a full run converges; then a few quiet changes and an incremental run whose record writes are counted. */
async function quietRound(world: SoakWorld, rng: Rng): Promise<{ report: RunReport; writes: number }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const full = await runToEnd(world, "full", 90_000);
    if (full.state === "succeeded" && full.counts.failed === 0) break;
    world.log(`convergence run ${full.runId} ended ${full.state}: ${JSON.stringify(full.errors.slice(0, 3))}`);
  }
  const quiet = CHURN_KINDS.filter((k) => QUIET_KINDS.has(k.name));
  for (let i = rng.int(3, 6); i > 0; i--) await churnOnce(world, rng, quiet);
  const before = recordWrites(world);
  const report = await runToEnd(world, "incremental", 90_000);
  return { report, writes: recordWrites(world) - before };
}

/**
 * The writes Dataverse saw to users' records, without access writes (a business-unit move, a role or team
 * association): the run counts those users once in `accessChanged`, however many writes their access took.
 */
function recordWrites(world: SoakWorld): number {
  const { writes, access } = world.org.stats;
  return writes - access.unitMoves - access.roleAssociate - access.roleDisassociate - access.teamAdd - access.teamRemove;
}

async function tallyRuns(world: SoakWorld): Promise<void> {
  for (const runId of world.runIds) {
    const report = await world.bridge.syncRuns.get(runId).catch(() => undefined);
    world.tally.add(`run: ${report?.state ?? "unknown"}`);
  }
}

/** The soak's table: what was injected and done, and what was checked. */
export function formatResult(result: SoakResult): string {
  const rows: Array<[string, string]> = [];
  const section = (title: string, prefix: string) => {
    const kinds = result.tally.under(prefix);
    if (kinds.length > 0) rows.push([title, ""]);
    for (const [kind, n] of kinds) rows.push([`  ${kind}`, String(n)]);
  };
  section("faults injected", "fault: ");
  section("fault windows opened", "fault window: ");
  section("host kills armed (fired when that request comes)", "kill armed: ");
  section("directory churn", "churn: ");
  section("runs", "run: ");
  section("settling", "settle: ");
  section("documented limitations met (not violations)", "documented: ");
  rows.push(
    ["rounds", String(result.rounds)],
    ["invariant checks", String(result.checks)],
    ["violations", String(result.violations.length)],
  );
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  const lines = rows.map(([k, v]) => (v === "" ? k : `${k.padEnd(width)}${v.padStart(6)}`));
  for (const v of result.violations) lines.push(`VIOLATION (round ${v.round}) ${v.invariant}: ${v.message}`);
  lines.push(`seed ${result.seed}, ${(result.elapsedMs / 1000).toFixed(0)} s`);
  return lines.join("\n");
}
