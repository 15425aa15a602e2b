// The access step of one org's sync run. At the run's start it resolves the org's rules, reads the rule groups'
// direct members and their membership changes since the last run (groups/delta, cursor per org), and collects the
// users the run touches; at the round's end it reads those users' current access in pages, plans each (pure
// core), weighs the removals against ACCESS_REMOVAL_THRESHOLD, and writes the moves and associations — or halts
// for approval, or, on a dry run, only reports. Users whose record the run just created are the exception: they
// hold nothing yet, so their plans only add, and are written beside the round as their page is applied. An incremental run's touched users are kept in the org's state
// until their access is applied, so a run cut off loses none; a user whose access write fails is carried forward.
import { rulesForOrg, type AccessRule } from "../config/access-rules.js";
import { normalizeOrgUrl } from "../config/org-url.js";
import { ON_PREMISES_ANCHOR, ONLINE_ANCHOR, recordAnchor } from "../sync/identity.js";
import { byAnchor, readAdAnchors, type AnchorOf } from "./member-anchors.js";
import type { DataverseOrgPort, SystemUser } from "../dataverse/types.js";
import type { GroupsDeltaSource } from "../directory/group-members-delta.js";
import { RuleGroupMembers } from "./rule-group-members.js";
import type { DirectoryPort } from "../directory/types.js";
import type { DisableThreshold } from "../sync/domain.js";
import type { OrgStateStore, OrgSyncState } from "../sync/org-state-store.js";
import type { ChangeEntry } from "../sync/run-report.js";
import type { RunTally } from "../sync/run-tally.js";
import { describeDisableThreshold } from "../sync/threshold.js";
import { isProtected, isProtectedRow, objectIdKey, type IndexedUser, type UserIndex } from "../sync/user-index.js";
import type { AccessOrgPort, AccessWrite, CurrentAccess } from "./dataverse-access.js";
import { planAccess, type AccessModel, type AccessPlan } from "./plan.js";
import { ACCESS_ACTION } from "./report-entries.js";
import { readOrgFacts, resolveOrgAccess, type GroupLookup, type OrgAccessResolution, type OrgFacts } from "./resolve.js";

/** The org's rules, each with its position in ACCESS_RULES. */
export interface OrgAccessSettings {
  rules: ReadonlyArray<{ rule: AccessRule; index: number }>;
  threshold: DisableThreshold;
  /** An on-premises org: records are anchored to the AD objectGUID, not the Entra object id (member-anchors.ts). */
  onPremises?: boolean;
}

/** The access rules that apply to an org (online or on-premises), each with its position in ACCESS_RULES. */
export function orgAccessSettings(config: { access: { rules: readonly AccessRule[]; removalThreshold: DisableThreshold }; orgs?: ReadonlyArray<{ url: string; kind: string }> }, org: string): OrgAccessSettings {
  const rules = config.access.rules.map((rule, index) => ({ rule, index })).filter(({ rule }) => rulesForOrg([rule], org).length > 0);
  const onPremises = config.orgs?.find((o) => o.url === normalizeOrgUrl(org))?.kind === "onpremises";
  return { rules, threshold: config.access.removalThreshold, ...(onPremises ? { onPremises } : {}) };
}

export interface AccessRunDependencies {
  directory: DirectoryPort;
  /** The rule groups' membership changes (Graph groups/delta). */
  groupsDelta: GroupsDeltaSource;
  dataverse: Pick<DataverseOrgPort, "listSystemUsers">;
  access: AccessOrgPort;
  orgState: OrgStateStore;
  log: (message: string) => void;
  now?: () => Date;
}

/** A user whose access is planned: their record and the directory object it is anchored to (key). */
interface Candidate {
  systemUserId: string;
  /** The org's anchor: the Entra object id online, the AD objectGUID on-premises. */
  objectId: string;
  /** Their access, when it was read with the record. */
  access?: CurrentAccess;
}

interface Planned extends Candidate {
  plan: AccessPlan;
}

export interface AccessOutcome {
  /** Set when the removals exceed the threshold: nothing was written. */
  halt?: { removals: number; limit: number; threshold: string; message: string };
  entries: ChangeEntry[];
  /** Entra object ids (keys) of the users whose access write failed: carried forward. */
  failed: string[];
}

/** The records a run knows (its index). */
type KnownRecords = Pick<UserIndex, "byObjectId" | "records">;
const NO_RECORDS: KnownRecords = { byObjectId: () => undefined, records: () => new Map<string, IndexedUser>().values() };

const leanSelect = (settings: OrgAccessSettings) => ["systemuserid", settings.onPremises ? ON_PREMISES_ANCHOR : ONLINE_ANCHOR, "isdisabled", "accessmode", "applicationid"];

/** Rule groups' direct members, by user (object id key) → the rule groups they belong to. */
export type Memberships = ReadonlyMap<string, ReadonlySet<string>>;

/** Where the rule groups' direct members come from: given the groups that exist, each one's members (object id keys). */
export type MemberSource = (existing: readonly string[]) => Promise<(group: string) => ReadonlySet<string>>;

/**
 * The members now without moving anything on: the org's saved sets plus the changes since its saved cursor (a
 * whole read when none is saved). Nothing is saved: the next run reads the same changes and applies them.
 */
export const readMembersSince = (orgState: Pick<OrgStateStore, "get" | "listGroupMembers">, org: string, source: GroupsDeltaSource, signal?: AbortSignal): MemberSource => async (existing) => {
  const read = await RuleGroupMembers.read(orgState, await orgState.get(org), source, existing, signal);
  return (group) => read.of(group) ?? new Set();
};

/** Reads each group's direct members now, whole (GET /api/access, which shows their counts). */
export const readMembersNow = (directory: Pick<DirectoryPort, "listGroupMemberIds">, signal?: AbortSignal): MemberSource => async (existing) => {
  const members = new Map<string, Set<string>>();
  for (const group of existing) members.set(group, new Set([...await directory.listGroupMemberIds(group, { abortSignal: signal })].map(objectIdKey)));
  return (group) => members.get(group) ?? new Set();
};

/** The rule groups that exist, with their names: one lookup per group, concurrently (20 in a row cost 20 round trips). */
async function ruleGroupNames(settings: OrgAccessSettings, directory: Pick<DirectoryPort, "getGroup">, signal?: AbortSignal): Promise<Map<string, string | null>> {
  const groupIds = [...new Set(settings.rules.map((r) => r.rule.group))];
  const found = await Promise.all(groupIds.map((group) => directory.getGroup(group, { abortSignal: signal })));
  return new Map<string, string | null>(groupIds.flatMap((group, i) => (found[i] ? [[group, found[i].displayName] as const] : [])));
}

/**
 * Starts reading the org's units, roles and teams, which the directory reads do not wait for (nor they for it);
 * a failure surfaces when resolution awaits it, never as an unhandled rejection meanwhile.
 */
function startReadingFacts(settings: OrgAccessSettings, access: AccessOrgPort, signal?: AbortSignal): Promise<OrgFacts> {
  const read = readOrgFacts(access, settings.rules.map((r) => r.rule), signal);
  read.catch(() => undefined);
  return read;
}

/** The org's rules resolved against `names` (the groups that exist) and each group's direct member count. */
function resolveRules(settings: OrgAccessSettings, access: AccessOrgPort, names: ReadonlyMap<string, string | null>, members: (group: string) => number | null, facts: Promise<OrgFacts>, signal?: AbortSignal): Promise<OrgAccessResolution> {
  const indexOf = new Map(settings.rules.map((r) => [r.rule, r.index]));
  const lookup: GroupLookup = async (group) => (names.has(group) ? { name: names.get(group)!, members: members(group) } : null);
  return resolveOrgAccess(access, settings.rules.map((r) => r.rule), (rule) => indexOf.get(rule)!, lookup, signal, facts);
}

/**
 * The org's rules resolved for a view (GET /api/access, /api/ready): each group's direct members counted by Graph
 * (`$count`, one request a group) rather than read, so a view costs the same whatever the groups' sizes.
 */
export async function resolveOrgRules(
  settings: OrgAccessSettings,
  deps: { directory: Pick<DirectoryPort, "getGroup" | "countGroupMembers">; access: AccessOrgPort },
  signal?: AbortSignal,
): Promise<OrgAccessResolution> {
  const facts = startReadingFacts(settings, deps.access, signal);
  const names = await ruleGroupNames(settings, deps.directory, signal);
  const counts = new Map(await Promise.all([...names.keys()].map(async (group) => [group, await deps.directory.countGroupMembers(group, { abortSignal: signal })] as const)));
  return resolveRules(settings, deps.access, names, (group) => counts.get(group) ?? null, facts, signal);
}

/** Resolves the org's rules (groups that do not exist are named) and gathers every user's rule-group memberships. */
export async function loadOrgAccess(
  settings: OrgAccessSettings,
  deps: { directory: Pick<DirectoryPort, "getGroup" | "listGroupMemberIds">; access: AccessOrgPort },
  signal?: AbortSignal,
  source: MemberSource = readMembersNow(deps.directory, signal),
): Promise<{ resolution: OrgAccessResolution; memberships: Memberships }> {
  const facts = startReadingFacts(settings, deps.access, signal);
  const names = await ruleGroupNames(settings, deps.directory, signal);
  const membersOf = await source([...names.keys()]);
  const memberships = new Map<string, Set<string>>();
  for (const group of names.keys()) {
    for (const id of membersOf(group)) {
      let set = memberships.get(id);
      if (!set) memberships.set(id, (set = new Set()));
      set.add(group);
    }
  }
  const resolution = await resolveRules(settings, deps.access, names, (group) => membersOf(group).size, facts, signal);
  return { resolution, memberships };
}

export class OrgAccessRun {
  /** Users to plan (anchor keys). */
  private readonly touched = new Set<string>();
  /** On-premises: anchor → Entra object id, where the run knows it (failures are carried forward by Entra id). */
  private readonly directoryIds = new Map<string, string>();
  /** Users whose record this run created (object id keys): it holds nothing yet, so its access is not read. */
  private readonly created = new Set<string>();
  /** Ids kept in the org's state (loaded or added by this run): removed once their access is applied. */
  private readonly kept = new Set<string>();
  /** Created users planned as their page was applied (anchor keys): the round's end plans them no more. */
  private readonly plannedEarly = new Set<string>();
  /**
   * Their writes, a page's at a time beside the round (the org's limiter bounds them with the sync's own): each
   * on its own, so one waiting to retry holds up no other.
   */
  private readonly early: Array<Promise<AccessOutcome>> = [];

  private constructor(
    /** The run's tally (its report in progress): it counts the entries the run records from `finish`. */
    private readonly report: RunTally,
    private readonly settings: OrgAccessSettings,
    private readonly deps: AccessRunDependencies,
    private readonly model: AccessModel,
    private readonly memberships: Memberships,
    /** The rule groups' members and cursor, saved once the round's access is applied. */
    private readonly groups: RuleGroupMembers,
    /** Applying a halted run's held access after approval: only the users kept pending, threshold passed. */
    private readonly approval: boolean,
  ) {}

  /**
   * Resolves the rules (problems go to the report's errors) and collects the users whose memberships changed. On
   * an on-premises org, memberships and changed users are keyed by the members' AD objectGUIDs (member-anchors.ts).
   */
  static async open(report: RunTally, state: OrgSyncState, settings: OrgAccessSettings, deps: AccessRunDependencies, signal?: AbortSignal, approval = false): Promise<OrgAccessRun> {
    let groups: RuleGroupMembers | undefined;
    const loaded = await loadOrgAccess(settings, deps, signal, async (existing) => {
      const read = await RuleGroupMembers.read(deps.orgState, state, deps.groupsDelta, existing, signal);
      groups = read;
      return (group) => read.of(group) ?? new Set();
    });
    const { resolution } = loaded;
    const at = (deps.now?.() ?? new Date()).toISOString();
    report.recordErrors(resolution.problems.map((message) => ({ code: "access_rule", message, at })));
    const changed = groups!.changedUsers;
    const anchorOf: AnchorOf = settings.onPremises ? await readAdAnchors(deps.directory, [...loaded.memberships.keys(), ...changed], signal) : (id) => id;
    const memberships = settings.onPremises ? byAnchor(loaded.memberships, anchorOf) : loaded.memberships;
    const run = new OrgAccessRun(report, settings, deps, resolution.model, memberships, groups!, approval);
    const pending = report.dryRun ? [] : await deps.orgState.listAccessPending(report.org);
    for (const id of pending) run.kept.add(objectIdKey(id));
    const changedUsers = changed.flatMap((objectId) => { const anchor = anchorOf(objectId); return anchor ? [{ objectId, anchor }] : []; });
    // Users whose memberships changed need no keeping: the rule groups' cursor moves on only once their access is
    // applied, so a run cut off reads the same changes again.
    await run.touch(changedUsers, [], false);
    await run.touch(pending.map((id) => ({ objectId: id, anchor: id })));
    return run;
  }

  /**
   * Users the run touched (created, changed, back in scope): planned at the round's end; kept durably until then.
   * Each is given by Entra object id and by the org's anchor (the same online); `created`: the anchors of those
   * whose record this run created; `keep` false: users that need no keeping (found again by a run cut off).
   */
  async touch(users: ReadonlyArray<{ objectId: string; anchor: string }>, created: readonly string[] = [], keep = true): Promise<void> {
    for (const id of created) this.created.add(objectIdKey(id));
    const added: string[] = [];
    for (const user of users) {
      const anchor = objectIdKey(user.anchor);
      if (anchor !== objectIdKey(user.objectId)) this.directoryIds.set(anchor, objectIdKey(user.objectId));
      if (!this.touched.has(anchor)) { this.touched.add(anchor); added.push(anchor); }
    }
    if (keep && !this.report.dryRun && this.report.mode === "incremental" && !this.approval) await this.keep(added);
  }

  /**
   * Grants the access of users whose record this run has just created (`anchors`, found in `index`) now rather
   * than at the round's end. A new record holds nothing (the root unit, no roles, no teams), so its plan only
   * adds: no removal is written before the threshold is weighed at the round's end, and the removals it weighs
   * are the same. The writes go while the round goes on; `finish` waits for them and reports them. Nothing is
   * granted early on a dry run or when applying an approved run.
   */
  grantCreated(anchors: readonly string[], index: KnownRecords, signal?: AbortSignal): void {
    if (this.report.dryRun || this.approval) return;
    const planned: Planned[] = [];
    const empty = emptyAccess(this.model);
    for (const anchor of anchors) {
      const record = index.byObjectId(objectIdKey(anchor));
      for (const candidate of record ? eligible([record]) : []) {
        const groups = this.memberships.get(candidate.objectId);
        // In no rule group, a record holding nothing is given nothing: no plan to make.
        const plan = groups ? planAccess(this.model, groups, empty) : undefined;
        if (plan && plan.removals > 0) continue; // none by construction; were there any, the round's end weighs them
        this.plannedEarly.add(candidate.objectId);
        if (plan) planned.push({ ...candidate, plan });
      }
    }
    if (planned.length === 0) return;
    // In the background: the round's own writes, which its next page waits for, go first.
    const writes = this.apply(planned, signal, true);
    // A failure surfaces when `finish` awaits the writes, never as an unhandled rejection meanwhile.
    writes.catch(() => undefined);
    this.early.push(writes);
  }

  /**
   * Plans and applies the round's access. `index`: the run's records (every record of the org in a full round);
   * `excluded`: records about to be disabled; `base`: the threshold's base for a share.
   */
  async finish(index: KnownRecords, excluded: ReadonlySet<string>, base: (removals: number) => Promise<number>, signal?: AbortSignal): Promise<AccessOutcome> {
    const candidates = await this.candidates(index, signal);
    const planned = await this.plan(candidates.filter((c) => !excluded.has(c.systemUserId) && !this.plannedEarly.has(c.objectId)), signal);
    const early = (await Promise.all(this.early)).reduce(joined, { entries: [], failed: [] });
    const removals = planned.reduce((n, p) => n + p.plan.removals, 0);
    const check = describeDisableThreshold(removals, removals > 0 ? await base(removals) : 0, this.settings.threshold);
    if (check.exceeded && !this.approval) {
      const message = `${removals} access removals planned, more than ACCESS_REMOVAL_THRESHOLD (${check.limit}): halted before changing any existing user's access, approve the run to go on`;
      if (!this.report.dryRun) await this.keep(planned.map((p) => p.objectId));
      const entries = [...early.entries, ...planned.map((p) => entryOf(p, "pending-approval"))];
      return { halt: { removals, limit: check.limit, threshold: check.threshold, message }, entries, failed: this.directoryIdsOf(early.failed) };
    }
    const outcome = joined(early, await this.apply(planned, signal));
    await this.settle(outcome.failed);
    return { ...outcome, failed: this.directoryIdsOf(outcome.failed) };
  }

  /** Carried forward by Entra object id (the sync reads them from Graph); on-premises only where the run knows it. */
  private directoryIdsOf(anchors: readonly string[]): string[] {
    return anchors.flatMap((anchor) => (this.settings.onPremises ? this.directoryIds.get(anchor) ?? [] : [anchor]));
  }

  /**
   * The users to plan: in a full round every eligible record; after the rule groups' cursor was reset (memberships
   * lost in between are unknown) every enabled record; else the touched users' records.
   */
  private async candidates(index: KnownRecords, signal?: AbortSignal): Promise<Candidate[]> {
    if (this.report.mode === "full" && !this.approval) return eligible(index.records());
    if (this.groups.reset && !this.approval) return eligibleRows(await readLean(this.deps.dataverse, this.settings, signal));
    const out: Candidate[] = [];
    const missing: string[] = [];
    for (const id of this.touched) {
      const record = index.byObjectId(id);
      if (record) out.push(...eligible([record]));
      else missing.push(id);
    }
    // Records the run's index lacks are found and their access read in the same requests, by anchor.
    const found = missing.length > 0 ? await this.deps.access.readAccessByAnchor(missing, this.settings.onPremises ? ON_PREMISES_ANCHOR : ONLINE_ANCHOR, signal) : [];
    for (const access of found) if (!access.disabled && !access.protected) out.push({ systemUserId: access.systemUserId, objectId: access.anchor, access });
    return out;
  }

  /**
   * Reads the candidates' current access in pages (unless read already) and plans each one. Records this run
   * created (or, on a dry run, would create) start empty in the root unit, where the sync creates them: nothing to read.
   */
  private async plan(candidates: readonly Candidate[], signal?: AbortSignal): Promise<Planned[]> {
    const isNew = (c: Candidate) => c.systemUserId.startsWith("pending:") || this.created.has(c.objectId);
    const current = await this.deps.access.readAccess(candidates.filter((c) => !isNew(c) && !c.access).map((c) => c.systemUserId), signal);
    const empty = emptyAccess(this.model);
    const out: Planned[] = [];
    for (const candidate of candidates) {
      const access = isNew(candidate) ? empty : candidate.access ?? current.get(candidate.systemUserId);
      if (!access || access.disabled || access.protected) continue;
      const plan = planAccess(this.model, this.memberships.get(candidate.objectId) ?? new Set(), access);
      if (plan) out.push({ ...candidate, plan });
    }
    return out;
  }

  private async apply(planned: readonly Planned[], signal?: AbortSignal, background = false): Promise<AccessOutcome> {
    if (this.report.dryRun) {
      return { entries: planned.map((p) => entryOf(p, "planned")), failed: [] };
    }
    const writes: AccessWrite[] = planned.map((p) => ({ systemUserId: p.systemUserId, plan: p.plan }));
    const results = await this.deps.access.applyAccess(writes, signal, background);
    const entries: ChangeEntry[] = [];
    const failed: string[] = [];
    const at = (this.deps.now?.() ?? new Date()).toISOString();
    planned.forEach((p, i) => {
      const result = results[i]!;
      if (result.ok) { entries.push(entryOf(p, "applied")); return; }
      failed.push(p.objectId);
      const error = { code: result.code, message: `access: ${result.message ?? "the write failed"}` };
      entries.push({ ...entryOf(p, "failed"), error });
      this.report.recordErrors([{ objectId: p.objectId, systemUserId: p.systemUserId, ...error, at }]);
    });
    return { entries, failed };
  }

  /** Keeps users in the org's state until their access is applied (held for approval, or touched). */
  private async keep(objectIds: readonly string[]): Promise<void> {
    const unkept = objectIds.filter((id) => !this.kept.has(id));
    await this.deps.orgState.addAccessPending(this.report.org, unkept);
    for (const id of unkept) this.kept.add(id);
  }

  /**
   * The kept users are done; those whose write failed are kept (the next run plans them again, besides the sync
   * carrying them forward); then the rule groups' cursor moves on.
   */
  private async settle(failed: readonly string[]): Promise<void> {
    if (this.report.dryRun) return;
    const done = new Set(this.kept);
    for (const id of failed) done.delete(id);
    await this.deps.orgState.removeAccessPending(this.report.org, [...done]);
    await this.keep(failed);
    await this.groups.save(this.deps.orgState, this.report.org);
  }
}

/** What a record the sync has just created holds: the root unit, where it is created, and nothing else. */
const emptyAccess = (model: AccessModel): CurrentAccess => ({ systemUserId: "", businessUnitId: model.rootUnitId, roles: [], teamIds: [], disabled: false, protected: false });

const joined = (a: AccessOutcome, b: AccessOutcome): AccessOutcome => ({ entries: [...a.entries, ...b.entries], failed: [...a.failed, ...b.failed] });

function entryOf(p: Planned, outcome: NonNullable<ChangeEntry["outcome"]>): ChangeEntry {
  return { objectId: p.objectId, systemUserId: p.systemUserId, action: ACCESS_ACTION, access: p.plan.change, outcome };
}

/** Enabled, unprotected records with a directory object id. */
function eligible(records: Iterable<IndexedUser>): Candidate[] {
  const out: Candidate[] = [];
  for (const r of records) if (r.objectId !== null && !r.disabled && !isProtected(r)) out.push({ systemUserId: r.systemUserId, objectId: r.objectId });
  return out;
}

function eligibleRows(rows: readonly SystemUser[]): Candidate[] {
  return rows.flatMap((r) => {
    const objectId = recordAnchor(r);
    return objectId && r.isdisabled !== true && !isProtectedRow(r) ? [{ systemUserId: r.systemuserid.toLowerCase(), objectId }] : [];
  });
}

/** Every enabled record of the org, lean (a full reconcile without a whole-org index). */
async function readLean(dataverse: AccessRunDependencies["dataverse"], settings: OrgAccessSettings, signal?: AbortSignal): Promise<SystemUser[]> {
  const out: SystemUser[] = [];
  for await (const page of dataverse.listSystemUsers(leanSelect(settings), { abortSignal: signal, filter: "isdisabled eq false" })) out.push(...page);
  return out;
}

/** After approval: applies the access a halted run held back (the users kept pending), without the threshold. */
export async function applyApprovedAccess(
  report: RunTally,
  settings: OrgAccessSettings | undefined,
  deps: Omit<AccessRunDependencies, "access" | "groupsDelta"> & { access?: AccessOrgPort; groupsDelta?: GroupsDeltaSource },
  record: (entries: readonly ChangeEntry[]) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  if (!settings || settings.rules.length === 0 || !deps.access || !deps.groupsDelta) return;
  const state = await deps.orgState.get(report.org);
  const run = await OrgAccessRun.open(report, state, settings, { ...deps, access: deps.access, groupsDelta: deps.groupsDelta }, signal, true);
  const outcome = await run.finish(NO_RECORDS, new Set(), async () => 0, signal);
  await record(outcome.entries);
  if (!report.dryRun) await deps.orgState.addRetries(report.org, outcome.failed);
}

/**
 * Provision on demand: plans and applies one user's access now (no threshold for one user, as for a single
 * disable). Undefined when their access is already right, or the record is disabled, protected or missing.
 */
export async function applyAccessToUser(
  settings: OrgAccessSettings,
  deps: { directory: Pick<DirectoryPort, "getGroup" | "listGroupMemberIds">; access: AccessOrgPort; members?: MemberSource },
  user: Candidate,
  signal?: AbortSignal,
): Promise<ChangeEntry | undefined> {
  if (settings.rules.length === 0) return undefined;
  const { resolution, memberships } = await loadOrgAccess(settings, deps, signal, deps.members);
  const current = (await deps.access.readAccess([user.systemUserId], signal)).get(user.systemUserId.toLowerCase());
  if (!current || current.disabled || current.protected) return undefined;
  const plan = planAccess(resolution.model, memberships.get(objectIdKey(user.objectId)) ?? new Set(), current);
  if (!plan) return undefined;
  const [result] = await deps.access.applyAccess([{ systemUserId: user.systemUserId, plan }], signal);
  const planned = { ...user, plan };
  if (result?.ok) return entryOf(planned, "applied");
  return { ...entryOf(planned, "failed"), error: { code: result?.code, message: `access: ${result?.message ?? "the write failed"}` } };
}
