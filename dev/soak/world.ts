// What the soak's parts share: the sandbox and storage under test, the hosts, an in-process bridge that reads
// what the hosts wrote (reports, journal, jobs), the seeded randomness and the tally of what was done.
import type { Bridge } from "../../shared/bridge.js";
import { QUEUES } from "../../shared/state/storage.js";
import type { RunningAzurite } from "../sandbox/azurite.js";
import type { DataverseOrg } from "../sandbox/dataverse/index.js";
import type { DirectoryUser } from "../sandbox/directory.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import type { AccessRule } from "../sandbox/seed-access.js";
import type { HostPool, HostSlot } from "./hosts.js";

export interface SoakWorld {
  sandbox: Sandbox;
  /** The org under test. */
  org: DataverseOrg;
  azurite: RunningAzurite;
  hosts: HostPool;
  bridge: Bridge;
  adminToken: string;
  /** ACCESS_RULES the hosts run with: units, roles and owner teams from rule-group membership. */
  accessRules: AccessRule[];
  /** SYNC_LICENSE_SKUS (lower case): a person holding none of them is out of scope (no record, or disabled). */
  licenceSkus: string[];
  /** The remap temporary accounts (REMAP_PLACEHOLDER_USERS): directory users nobody may be left on. */
  placeholders: string[];
  /** The directory population the churn works on (UPNs start with PERSON_PREFIX). */
  names: { nextPerson: number; nextRename: number };
  /** Sync runs and bulk remap jobs started, in order. */
  runIds: string[];
  bulkJobIds: string[];
  tally: Tally;
  /** Work under way that settling waits for (host restarts, storage outages). */
  background: Set<Promise<unknown>>;
  log(line: string): void;
}

export const PERSON_PREFIX = "person";
export const DOMAINS = ["contoso.com", "fabrikam.com"] as const;

/** Counts by kind (faults injected, churn applied, runs), printed as the soak's table. */
export class Tally {
  readonly counts = new Map<string, number>();

  add(kind: string, n = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
  }

  get(kind: string): number {
    return this.counts.get(kind) ?? 0;
  }

  /** Kinds under a prefix ("fault: "), sorted by name. */
  under(prefix: string): Array<[string, number]> {
    return [...this.counts]
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, n]): [string, number] => [k.slice(prefix.length), n])
      .sort(([a], [b]) => a.localeCompare(b));
  }
}

/** The churned population, in UPN order so a seed picks the same people whatever their random ids. */
export function people(world: SoakWorld, keep: (u: DirectoryUser) => boolean = () => true): DirectoryUser[] {
  return [...world.sandbox.tenant.directory.users.values()]
    .filter((u) => u.userPrincipalName.startsWith(PERSON_PREFIX) && keep(u))
    .sort((a, b) => a.userPrincipalName.localeCompare(b.userPrincipalName));
}

/** Runs `work` in the background (errors logged, never thrown); settling waits for it. */
export function inBackground(world: SoakWorld, what: string, work: () => Promise<unknown>): void {
  const promise = work()
    .catch((error: unknown) => world.log(`${what}: ${(error as Error).message}`))
    .finally(() => world.background.delete(promise));
  world.background.add(promise);
}

export async function adminPost(
  world: SoakWorld,
  host: HostSlot,
  path: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${host.url}/api/${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${world.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: ((await res.json().catch(() => ({}))) ?? {}) as Record<string, unknown> };
}

/** Starts a sync run through a host, as an admin would; the run id, or undefined when refused (409: one is running). */
export async function startSync(world: SoakWorld, host: HostSlot, mode: "incremental" | "full"): Promise<string | undefined> {
  const answer = await adminPost(world, host, "sync", { mode });
  if (answer.status !== 202) return undefined;
  const runId = String(answer.body.runId);
  world.runIds.push(runId);
  world.tally.add(`run: started ${mode}`);
  return runId;
}

/**
 * The platform's redelivery after a crash, done now rather than after the visibility timeout: every run and
 * bulk job not finished gets its message again (a duplicate when a host is still on it).
 */
export async function redeliverUnfinished(world: SoakWorld): Promise<number> {
  const { bridge } = world;
  let sent = 0;
  for (const runId of world.runIds) {
    const report = await bridge.syncRuns.get(runId).catch(() => undefined);
    if (!report || !["queued", "running"].includes(report.state)) continue;
    await bridge.storage.enqueueJson(QUEUES.syncOrg, { org: report.org, runId });
    sent++;
  }
  const { getBulkJob } = await import("../../shared/remap/bulk-jobs.js");
  for (const jobId of world.bulkJobIds) {
    const job = await getBulkJob(jobId, bridge.remapDeps());
    if (!job || job.finishedAt) continue;
    if (job.state === "planning") {
      await bridge.storage.enqueueJson(QUEUES.remapBulk, { kind: "plan", jobId });
      sent++;
      continue;
    }
    for (const item of job.plan.filter((i) => i.outcome === "pending")) {
      await bridge.storage.enqueueJson(QUEUES.remapBulk, { kind: "apply", jobId, start: item.index, end: item.index + 1 });
      sent++;
    }
  }
  return sent;
}
