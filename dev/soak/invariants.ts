// What must hold once the faults stop and the runs converge. Each invariant returns its violations (empty
// when it holds), each a sentence naming what is wrong. A new capability adds one entry to INVARIANTS beside
// its churn kind (churn.ts).
import { expectedColumns, recordsOf } from "../../test/support/converged.js";
import { getBulkJob } from "../../shared/remap/bulk-jobs.js";
import type { JournalEntry } from "../../shared/remap/journal.js";
import type { RunReport } from "../../shared/sync/run-report.js";
import type { DirectoryUser } from "../sandbox/directory.js";
import type { RecordedRequest } from "../sandbox/https-service.js";
import type { AccessRule } from "../sandbox/seed-access.js";
import type { SoakWorld } from "./world.js";

export interface InvariantContext {
  world: SoakWorld;
  /** The run made after the faults stopped, on a quiet directory change, and the writes the emulator counted meanwhile. */
  quietRun: { report: RunReport; writes: number };
}

export interface Invariant {
  name: string;
  check(ctx: InvariantContext): Promise<string[]> | string[];
}

/** A request arriving this soon after a throttled answer was sent before the client read it (both cores are busy). */
export const RETRY_AFTER_GRACE_MS = 500;
/** The answer's recorded time trails the moment the client could read it by a few ms (and clocks tick in ms). */
const CLOCK_SLACK_MS = 50;

const lower = (v: string | null | undefined) => (v ?? "").toLowerCase();

export const INVARIANTS: Invariant[] = [
  {
    name: "Dataverse matches the directory",
    check: ({ world }) => {
      const problems: string[] = [];
      for (const user of managedUsers(world)) {
        const records = recordsOf(world.org, user.id);
        // A person without a synced licence is out of scope: no record is created, an enabled one is disabled.
        const enabled = inScope(world, user);
        for (const r of records)
          if (r.isdisabled === enabled)
            problems.push(
              `${user.userPrincipalName} (${user.state}, ${user.accountEnabled ? "enabled" : "disabled"}${licensed(world, user) ? "" : ", unlicensed"}): record ${r.systemuserid} isdisabled=${r.isdisabled}`,
            );
        if (!enabled) continue;
        if (records.length === 0) {
          problems.push(`${user.userPrincipalName} has no record`);
          continue;
        }
        const r = records[0]!;
        const actual = {
          domainname: r.domainname,
          firstname: r.firstname,
          lastname: r.lastname,
          internalemailaddress: r.internalemailaddress,
          jobtitle: r.jobtitle,
          mobilephone: r.mobilephone,
        };
        const expected = expectedColumns(user);
        const wrong = Object.keys(expected).filter(
          (k) => (actual[k as keyof typeof actual] ?? null) !== (expected[k as keyof typeof expected] ?? null),
        );
        if (wrong.length > 0)
          problems.push(
            `${user.userPrincipalName}: ${wrong.map((k) => `${k} is ${JSON.stringify(actual[k as keyof typeof actual])}, expected ${JSON.stringify(expected[k as keyof typeof expected])}`).join("; ")}`,
          );
      }
      return problems;
    },
  },
  {
    name: "one record per user",
    check: ({ world }) =>
      managedUsers(world).flatMap((user) => {
        const records = recordsOf(world.org, user.id);
        return records.length > 1
          ? [`${user.userPrincipalName} has ${records.length} records: ${records.map((r) => r.systemuserid).join(", ")}`]
          : [];
      }),
  },
  {
    name: "nobody on a placeholder",
    check: async ({ world }) => {
      const names = new Set(world.placeholders.map(lower));
      const ids = new Set(world.placeholders.map((p) => lower(world.sandbox.tenant.directory.findByUpn(p)?.id)));
      const held = [...world.org.users.values()].filter(
        (r) => names.has(lower(r.domainname)) || ids.has(lower(r.azureactivedirectoryobjectid)),
      );
      const problems: string[] = [];
      for (const r of held) {
        const [entry] = await world.bridge.remapDeps().journal.openForUser(world.org.url.toLowerCase(), r.systemuserid);
        if (entry && parkedForDeletedUser(world, entry)) continue;
        problems.push(`record ${r.systemuserid} is on the temporary account ${r.domainname}${describeRemap(world, entry)}`);
      }
      return problems;
    },
  },
  {
    name: "the remap journal is empty",
    check: async ({ world }) => {
      const open = await world.bridge.remapDeps().journal.listOpen();
      const parked = open.filter((e) => parkedForDeletedUser(world, e));
      if (parked.length > 0) world.tally.add("documented: remap parked, its user deleted meanwhile", parked.length);
      return open
        .filter((e) => !parked.includes(e))
        .map((e) => `remap ${e.operationId} of ${e.systemUserId} (${e.from} → ${e.to}) is still ${e.state}`);
    },
  },
  {
    name: "every run and bulk job finished",
    check: async ({ world }) => {
      const problems: string[] = [];
      for (const runId of world.runIds) {
        const report = await world.bridge.syncRuns.get(runId);
        if (report.state === "queued" || report.state === "running") problems.push(`run ${runId} is still ${report.state}`);
      }
      for (const jobId of world.bulkJobIds) {
        const job = await getBulkJob(jobId, world.bridge.remapDeps());
        if (!job?.finishedAt) problems.push(`bulk job ${jobId} is still ${job?.state ?? "missing"}`);
      }
      return problems;
    },
  },
  {
    name: "Dataverse access matches the rules",
    check: ({ world }) => managedUsers(world).filter((u) => inScope(world, u)).flatMap((user) => accessProblems(world, user)),
  },
  {
    name: "report counts equal the writes Dataverse saw",
    check: ({ quietRun: { report, writes } }) => {
      const c = report.counts;
      if (report.state !== "succeeded" || c.failed > 0)
        return [
          `the quiet run ${report.runId} ended ${report.state} with ${c.failed} failed: ${JSON.stringify(report.errors.slice(0, 3))}`,
        ];
      // A remap is two writes (temporary name, new name), plus one when other columns or enabling follow it.
      const least = c.created + c.updated + c.enabled + c.disabled + 2 * c.remapped;
      return writes >= least && writes <= least + c.remapped
        ? []
        : [`run ${report.runId} reports ${JSON.stringify(c)} (${least}–${least + c.remapped} writes) but Dataverse saw ${writes}`];
    },
  },
  {
    name: "no request inside a Retry-After window",
    check: ({ world }) => [
      // Dataverse's service protection is per user: the client's whole org pauses (one token = one client process).
      ...insideRetryAfter("Dataverse", world.sandbox.dataverse[0]!.knobs.requests, (r) => r.caller),
      // Graph's SDK waits per request: its retries (same client-request-id) must wait.
      ...insideRetryAfter("Graph", world.sandbox.graph.knobs.requests, (r) => r.clientRequestId),
    ],
  },
];

/**
 * The documented exception (docs/remap.md): a user deleted while their record sat on the temporary account has
 * no name to finish to or roll back to; the remap stays open until the user is restored.
 */
function parkedForDeletedUser(world: SoakWorld, entry: JournalEntry): boolean {
  const target = world.sandbox.tenant.directory.users.get(entry.targetObjectId);
  return entry.state === "stuck" && target !== undefined && target.state !== "active";
}

/** A record's open remap and where its target user stands in the directory, for a violation's text. */
function describeRemap(world: SoakWorld, entry: JournalEntry | undefined): string {
  if (!entry) return " (no open remap)";
  const target = world.sandbox.tenant.directory.users.get(entry.targetObjectId);
  return ` (remap ${entry.from} → ${entry.to}, ${entry.state}; the target user is now ${target ? `${target.userPrincipalName}, ${target.state}` : "unknown"})`;
}

/** Enabled in the directory and holding a licence the bridge syncs: the people who must have an enabled record. */
function inScope(world: SoakWorld, user: DirectoryUser): boolean {
  return user.state === "active" && user.accountEnabled && licensed(world, user);
}

function licensed(world: SoakWorld, user: DirectoryUser): boolean {
  return user.assignedLicenses.some((l) => world.licenceSkus.includes(l.skuId.toLowerCase()));
}

/**
 * An in-scope user's unit, managed roles and managed owner teams against the rules they match: the unit of the
 * first matching rule that names one (none: any unit), exactly the roles and teams of the matching rules among
 * those any rule names (others are not the bridge's).
 */
function accessProblems(world: SoakWorld, user: DirectoryUser): string[] {
  const record = recordsOf(world.org, user.id)[0];
  if (!record) return []; // "Dataverse matches the directory" names it
  const dir = world.sandbox.tenant.directory;
  const matching = world.accessRules.filter((r) => dir.membersOf(r.group).includes(user.id));
  const managed = (pick: (r: AccessRule) => string[] | undefined) => new Set(world.accessRules.flatMap((r) => pick(r) ?? []).map(lower));
  const expected = (pick: (r: AccessRule) => string[] | undefined) => [...new Set(matching.flatMap((r) => pick(r) ?? []).map(lower))].sort();
  const held = (names: string[], pick: (r: AccessRule) => string[] | undefined) => names.map(lower).filter((n) => managed(pick).has(n)).sort();
  const problems: string[] = [];
  const unit = matching.find((r) => r.businessUnit)?.businessUnit;
  const actualUnit = world.org.access.units.get(record._businessunitid_value)?.name;
  if (unit && lower(actualUnit) !== lower(unit)) problems.push(`unit is ${actualUnit}, expected ${unit}`);
  const roles = held(world.org.roleNamesOf(record.systemuserid), (r) => r.roles);
  if (roles.join() !== expected((r) => r.roles).join()) problems.push(`managed roles are [${roles.join(", ")}], expected [${expected((r) => r.roles).join(", ")}]`);
  const teams = held(world.org.teamNamesOf(record.systemuserid), (r) => r.teams);
  if (teams.join() !== expected((r) => r.teams).join()) problems.push(`managed teams are [${teams.join(", ")}], expected [${expected((r) => r.teams).join(", ")}]`);
  const groups = matching.map((r) => dir.groups.get(r.group)?.displayName ?? r.group).join(", ") || "no rule group";
  return problems.length === 0 ? [] : [`${user.userPrincipalName} (${groups}): ${problems.join("; ")}`];
}

/** The directory users the bridge manages (every user but the remap temporary accounts). */
function managedUsers(world: SoakWorld) {
  const placeholders = new Set(world.placeholders.map(lower));
  return [...world.sandbox.tenant.directory.users.values()].filter((u) => !placeholders.has(lower(u.userPrincipalName)));
}

/** Requests of one client (by `clientOf`) that arrived after a throttled answer to it reached it and before its Retry-After ended. */
export function insideRetryAfter(
  service: string,
  requests: readonly RecordedRequest[],
  clientOf: (r: RecordedRequest) => string | undefined,
): string[] {
  const byClient = new Map<string, RecordedRequest[]>();
  for (const r of requests) {
    const client = clientOf(r);
    if (client) byClient.set(client, [...(byClient.get(client) ?? []), r]);
  }
  const problems: string[] = [];
  for (const [client, list] of byClient) {
    for (const throttled of list.filter((r) => (r.status === 429 || r.status === 503) && r.retryAfterSeconds && r.answeredAt)) {
      const from = throttled.answeredAt! + RETRY_AFTER_GRACE_MS;
      const to = throttled.answeredAt! + throttled.retryAfterSeconds! * 1000 - CLOCK_SLACK_MS;
      const early = list.filter((r) => r.at > from && r.at < to);
      if (early.length > 0) {
        problems.push(
          `${service} client ${client}: ${early.length} request(s) within the ${throttled.retryAfterSeconds} s Retry-After of a ${throttled.status} to ${throttled.method} ${throttled.url.slice(0, 80)}, the first ${early[0]!.at - throttled.answeredAt!} ms after it (${early[0]!.method} ${early[0]!.url.slice(0, 80)})`,
        );
      }
    }
  }
  return problems;
}
