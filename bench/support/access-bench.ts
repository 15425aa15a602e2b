// The access line of `npm run bench:sync`: N users (100k), 20 ACCESS_RULES over 20 Entra groups whose direct members
// are 10 % of the users (each rule: one of 5 business units, two of 10 roles, its own owner team). Measures the
// initial full run with the rules against the same initial run without them (a second sandbox, same seed), then an
// incremental run after `changes` membership changes (half joins of users in no rule group, half leaves).
// Targets: initial with access ≤ 1.3 × without; ≤ 0.02 Dataverse requests per access write; the membership changes
// applied by one incremental run ≤ 2 s.
import type { Sandbox } from "../../dev/sandbox/sandbox.js";

export const ACCESS_TARGETS = { initialRatio: 1.3, requestsPerAccessWrite: 0.02, membershipChangesMs: 2_000 };

const RULES = 20;
const UNITS = 5;
const ROLES = 10;
const MEMBER_SHARE = 0.1;

export interface AccessPhase {
  wallMs: number;
  cpuMs: number;
  dataverseRequests: number;
  counts: Record<string, number>;
}

/** Runs one phase (initial full run or incremental) in the bench's child process, as bench/sync.ts does. */
export type RunPhase = (sandbox: Sandbox, env: NodeJS.ProcessEnv, name: "initial" | "incremental", changedUsers: number) => Promise<AccessPhase>;
export type StartSized = (users: number) => Promise<{ sandbox: Sandbox; env: NodeJS.ProcessEnv; stop: () => Promise<void> }>;

export interface AccessBenchResult {
  users: number;
  rules: number;
  ruleMembers: number;
  initialWithoutRules: AccessPhase;
  initialWithRules: AccessPhase;
  initialRatio: number;
  initialAccessWrites: number;
  /** Dataverse requests the rules added to the initial run (with − without), per access write. */
  requestsPerAccessWrite: number;
  membershipChanges: number;
  incremental: AccessPhase;
  incrementalAccessWrites: number;
  incrementalRequestsPerAccessWrite: number;
  /** Where the incremental run's time went, as the emulators saw its requests (ms from its first request). */
  timeline: Timeline;
  verdict: { initialWithin13x: boolean; requestsPerAccessWriteAtMost002: boolean; membershipChangesWithin2s: boolean };
}

const accessWrites = (sandbox: Sandbox) => {
  const a = sandbox.dataverse[0]!.org.stats.access;
  return a.roleAssociate + a.roleDisassociate + a.teamAdd + a.teamRemove + a.unitMoves;
};

/** Units, root roles (copied into every unit), one owner team per rule, and the rule groups with their members. */
function seedRules(sandbox: Sandbox): { rules: object[]; members: string[][]; outsiders: string[] } {
  const org = sandbox.dataverse[0]!.org;
  const directory = sandbox.tenant.directory;
  const units = Array.from({ length: UNITS }, (_, i) => org.addBusinessUnit(`Bench Unit ${i}`).name);
  const roles = Array.from({ length: ROLES }, (_, i) => org.addRole(`Bench Role ${i}`).name);
  const users = [...directory.users.keys()];
  const perRule = Math.floor((users.length * MEMBER_SHARE) / RULES);
  const rules: object[] = [];
  const members: string[][] = [];
  for (let i = 0; i < RULES; i++) {
    const group = directory.addGroup(`Bench Rule Group ${i}`);
    const team = org.addTeam({ name: `Bench Team ${i}` });
    const ids = users.slice(i * perRule, (i + 1) * perRule);
    for (const id of ids) directory.addGroupMember(group.id, id);
    members.push(ids);
    rules.push({ group: group.id, businessUnit: units[i % UNITS], roles: [roles[i % ROLES], roles[(i + 1) % ROLES]], teams: [team.name] });
  }
  return { rules, members, outsiders: users.slice(RULES * perRule) };
}

export async function benchAccess(users: number, changes: number, start: StartSized, phase: RunPhase): Promise<AccessBenchResult> {
  const baseline = await start(users);
  let initialWithoutRules: AccessPhase;
  try {
    seedRules(baseline.sandbox);
    initialWithoutRules = await phase(baseline.sandbox, baseline.env, "initial", users);
  } finally {
    await baseline.stop();
  }

  const { sandbox, env, stop } = await start(users);
  try {
    const { rules, members, outsiders } = seedRules(sandbox);
    const withRules = { ...env, ACCESS_RULES: JSON.stringify(rules), ACCESS_REMOVAL_THRESHOLD: "100%" };
    const before = accessWrites(sandbox);
    const initialWithRules = await phase(sandbox, withRules, "initial", users);
    const initialAccessWrites = accessWrites(sandbox) - before;
    const ruleMembers = members.reduce((n, m) => n + m.length, 0);
    if ((initialWithRules.counts.accessChanged ?? 0) !== ruleMembers) throw new Error(`initial run changed access of ${initialWithRules.counts.accessChanged} users, expected ${ruleMembers}`);

    // Half the changes: users in no rule group join one; half: members leave theirs.
    const directory = sandbox.tenant.directory;
    const groups = (JSON.parse(withRules.ACCESS_RULES) as Array<{ group: string }>).map((r) => r.group);
    const joins = outsiders.slice(0, Math.ceil(changes / 2));
    const leaves = members.flatMap((m) => m.slice(0, Math.ceil(changes / 2 / RULES))).slice(0, changes - joins.length);
    joins.forEach((id, i) => directory.addGroupMember(groups[i % RULES]!, id));
    for (const id of leaves) directory.removeGroupMember(groups[members.findIndex((m) => m.includes(id))]!, id);
    const writesBefore = accessWrites(sandbox);
    const marks = { dv: sandbox.dataverse[0]!.knobs.requests.length, graph: sandbox.graph.knobs.requests.length };
    const incremental = await phase(sandbox, withRules, "incremental", joins.length + leaves.length);
    const timeline = timelineOf(sandbox, marks);
    const incrementalAccessWrites = accessWrites(sandbox) - writesBefore;
    if ((incremental.counts.accessChanged ?? 0) !== joins.length + leaves.length) {
      throw new Error(`incremental run changed access of ${incremental.counts.accessChanged} users, expected ${joins.length + leaves.length}`);
    }
    const initialRatio = initialWithRules.wallMs / initialWithoutRules.wallMs;
    const requestsPerAccessWrite = (initialWithRules.dataverseRequests - initialWithoutRules.dataverseRequests) / Math.max(1, initialAccessWrites);
    return {
      users, rules: RULES, ruleMembers, initialWithoutRules, initialWithRules, initialRatio, initialAccessWrites, requestsPerAccessWrite,
      membershipChanges: joins.length + leaves.length, incremental, incrementalAccessWrites, timeline,
      incrementalRequestsPerAccessWrite: incremental.dataverseRequests / Math.max(1, incrementalAccessWrites),
      verdict: {
        initialWithin13x: initialRatio <= ACCESS_TARGETS.initialRatio,
        requestsPerAccessWriteAtMost002: requestsPerAccessWrite <= ACCESS_TARGETS.requestsPerAccessWrite,
        membershipChangesWithin2s: incremental.wallMs <= ACCESS_TARGETS.membershipChangesMs,
      },
    };
  } finally {
    await stop();
  }
}

interface Timeline {
  spanMs: number;
  graph: { requests: number; busyMs: number };
  dataverseReads: { requests: number; busyMs: number; slowestMs: number };
  dataverseBatches: { requests: number; busyMs: number; slowestMs: number };
}

/** Busy time (union of request intervals) per kind of request since `marks`. */
function timelineOf(sandbox: Sandbox, marks: { dv: number; graph: number }): Timeline {
  type R = { method: string; url: string; at: number; answeredAt?: number };
  const dv = sandbox.dataverse[0]!.knobs.requests.slice(marks.dv) as R[];
  const graph = sandbox.graph.knobs.requests.slice(marks.graph) as R[];
  const busy = (list: R[]) => {
    let total = 0;
    let end = 0;
    for (const r of [...list].sort((a, b) => a.at - b.at)) {
      const stop = r.answeredAt ?? r.at;
      total += Math.max(0, stop - Math.max(r.at, end));
      end = Math.max(end, stop);
    }
    return total;
  };
  const slowest = (list: R[]) => Math.max(0, ...list.map((r) => (r.answeredAt ?? r.at) - r.at));
  const all = [...dv, ...graph];
  const start = Math.min(...all.map((r) => r.at));
  const reads = dv.filter((r) => r.method === "GET");
  const batches = dv.filter((r) => r.method !== "GET");
  return {
    spanMs: Math.max(...all.map((r) => r.answeredAt ?? r.at)) - start,
    graph: { requests: graph.length, busyMs: busy(graph) },
    dataverseReads: { requests: reads.length, busyMs: busy(reads), slowestMs: slowest(reads) },
    dataverseBatches: { requests: batches.length, busyMs: busy(batches), slowestMs: slowest(batches) },
  };
}

export function accessLines(r: AccessBenchResult): string[] {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return [
    `access ${r.users} users, ${r.rules} rules, ${r.ruleMembers} rule-group members:`,
    `  initial full run: ${s(r.initialWithRules.wallMs)} with rules vs ${s(r.initialWithoutRules.wallMs)} without = ${r.initialRatio.toFixed(2)}× (target ≤ ${ACCESS_TARGETS.initialRatio}×)`,
    `  access writes ${r.initialAccessWrites}; Dataverse requests added by the rules ${r.initialWithRules.dataverseRequests - r.initialWithoutRules.dataverseRequests} = ${r.requestsPerAccessWrite.toFixed(4)} per access write (target ≤ ${ACCESS_TARGETS.requestsPerAccessWrite})`,
    `  ${r.membershipChanges} membership changes: incremental run ${s(r.incremental.wallMs)} (target ≤ ${s(ACCESS_TARGETS.membershipChangesMs)}), ${r.incrementalAccessWrites} access writes, ${r.incremental.dataverseRequests} Dataverse requests (${r.incrementalRequestsPerAccessWrite.toFixed(4)} per access write)`,
    `  incremental run's requests: span ${s(r.timeline.spanMs)}; Graph ${r.timeline.graph.requests} busy ${s(r.timeline.graph.busyMs)}; Dataverse reads ${r.timeline.dataverseReads.requests} busy ${s(r.timeline.dataverseReads.busyMs)}, writes ($batch) ${r.timeline.dataverseBatches.requests} busy ${s(r.timeline.dataverseBatches.busyMs)} (slowest ${s(r.timeline.dataverseBatches.slowestMs)})`,
    `  targets: ${JSON.stringify(r.verdict)}`,
  ];
}
