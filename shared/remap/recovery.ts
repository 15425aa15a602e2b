// The recovery pass: settles every open journal entry whose remap is no longer running (its user lease
// lapsed). It reads the record and finishes forward from where it stands: on the new name → succeeded;
// on the temporary account → step 2 (then rollback, else it stays `stuck` for the next pass); still on the
// original → step 1 never took effect; anything else → abandoned. Runs on a timer and before every sync.
// A user renamed again while their record sat on the temporary account is finished to the name the
// directory has now: the entry's new name (and often the original) no longer exist.
import { randomUUID } from "node:crypto";
import type { SyncIdentity } from "../config/config.js";
import type { DataverseOrgPort } from "../dataverse/types.js";
import type { DirectoryPort } from "../directory/types.js";
import { describeError, isAnswerable } from "../errors/app-error.js";
import type { LeaseStore } from "../state/leases.js";
import { isOnPremises, type OrgIdentity } from "../sync/identity.js";
import type { RemapAuditSink } from "./audit.js";
import { DIRECTORY_SELECT, domainNameOf } from "./directory-names.js";
import { identityFor } from "./deps.js";
import { sameName } from "./names.js";
import { OPEN_STATES, type JournalEntry, type RemapJournal } from "./journal.js";
import { placeholderLeaseKey } from "./placeholders.js";
import { finishFromTemporary, positionOf, readRecord, type ProcedureContext, type ProcedureHooks } from "./remap-procedure.js";
import { userLeaseKey } from "./leases.js";

export interface RecoveryDeps {
  journal: RemapJournal;
  leases: LeaseStore;
  audit: RemapAuditSink;
  port(org: string): DataverseOrgPort;
  leaseMs: number;
  hooks?: ProcedureHooks;
  log?: (line: string) => void;
  /** With the directory and the org's name form, a remap whose user was renamed again finishes to the current name. */
  directory?: DirectoryPort;
  identity?: SyncIdentity;
  identityOf?: (org: string) => OrgIdentity;
}

export interface RecoveryReport {
  examined: number;
  /** Entries still running elsewhere (lease held): left alone. */
  skipped: number;
  succeeded: number;
  rolledBack: number;
  closed: number;
  /** Still open after this pass (stuck); each also in `problems`. */
  stillOpen: number;
  problems: Array<{ operationId: string; org: string; systemUserId: string; state: string; message: string }>;
}

export async function recoverRemaps(deps: RecoveryDeps, options: { org?: string; abortSignal?: AbortSignal } = {}): Promise<RecoveryReport> {
  const report: RecoveryReport = { examined: 0, skipped: 0, succeeded: 0, rolledBack: 0, closed: 0, stillOpen: 0, problems: [] };
  for (const listed of await deps.journal.listOpen(options.org)) {
    options.abortSignal?.throwIfAborted();
    report.examined++;
    await recoverOne(listed, deps, report, options.abortSignal);
  }
  for (const p of report.problems) {
    deps.log?.(`remap ${p.operationId} in ${p.org}: user ${p.systemUserId} is still on the temporary account (${p.state}): ${p.message}`);
  }
  return report;
}

/** One open entry, under its user's lease (skipped while another holder has it); leases released at the end. */
async function recoverOne(listed: JournalEntry, deps: RecoveryDeps, report: RecoveryReport, abortSignal?: AbortSignal): Promise<void> {
  const holder = `recovery:${randomUUID()}`;
  const userKey = userLeaseKey(listed.org, listed.systemUserId);
  const lease = await deps.leases.acquire(userKey, holder, deps.leaseMs, holder);
  if (!lease.acquired) { report.skipped++; return; }
  const placeholderKey = placeholderLeaseKey(listed.org, listed.placeholderObjectId);
  const held = { placeholder: false };
  try {
    // Re-read under the lease: the remap may have settled since the listing.
    let entry = await deps.journal.get(listed.org, listed.operationId);
    if (!entry || !["step1", "step2", "rollback", "stuck"].includes(entry.state)) return;
    entry = await deps.journal.update(entry, { attempts: entry.attempts + 1 });
    const ctx: ProcedureContext = {
      port: deps.port(entry.org),
      journal: deps.journal,
      hooks: deps.hooks,
      abortSignal,
      renew: async () => (await deps.leases.renew(userKey, holder, deps.leaseMs)) && (!held.placeholder || deps.leases.renew(placeholderKey, holder, deps.leaseMs)),
    };
    entry = await settle(entry, ctx, deps, report, async () => {
      // The record holds the temporary account, so no other remap can be using it; take its lease anyway.
      held.placeholder = (await deps.leases.acquire(placeholderKey, holder, deps.leaseMs, holder)).acquired;
    });
    await auditRecovery(entry, deps);
  } catch (error) {
    report.stillOpen++;
    report.problems.push(problem(listed, describeError(error)));
    deps.log?.(`remap recovery ${listed.operationId}: ${describeError(error)}`);
  } finally {
    if (held.placeholder) await deps.leases.release(placeholderKey, holder).catch(() => undefined);
    await deps.leases.release(userKey, holder).catch(() => undefined);
  }
}

/** Finishes the entry forward from where its record stands (see the top of the file), counting the outcome. */
async function settle(entry: JournalEntry, ctx: ProcedureContext, deps: RecoveryDeps, report: RecoveryReport, holdPlaceholder: () => Promise<void>): Promise<JournalEntry> {
  const row = await readRecord(ctx, entry);
  const position = positionOf(entry, row);
  if (position === "target") {
    const verified = await deps.journal.step(entry, "succeeded", { step: "verify", domainName: row?.domainname ?? null, outcome: "ok" });
    report.succeeded++;
    return verified;
  }
  if (position === "temporary") {
    await holdPlaceholder();
    return finishOrRollBack(await retargetIfRenamed(entry, deps, ctx.abortSignal), ctx, deps, report);
  }
  const state = position === "original" && entry.state === "step1" ? "not-started" : "abandoned";
  const note = position === "missing" ? "the record no longer exists" : `the record reads ${row?.domainname ?? "(none)"}`;
  const closed = await deps.journal.update(entry, { state, lastError: `recovery: ${note}` });
  report.closed++;
  return closed;
}

/**
 * The name the directory has now for the remap's target object, when it is not the entry's new name (the user
 * was renamed again while the record was on the temporary account): the entry is pointed at it. Online orgs
 * only, whose records are anchored by the Entra object id the directory is read by.
 */
async function retargetIfRenamed(entry: JournalEntry, deps: RecoveryDeps, abortSignal?: AbortSignal): Promise<JournalEntry> {
  if (!deps.directory || deps.identity === undefined) return entry;
  const identity = identityFor({ identity: deps.identity, identityOf: deps.identityOf }, entry.org);
  if (isOnPremises(identity)) return entry;
  const user = await deps.directory.getUser(entry.targetObjectId, DIRECTORY_SELECT, { abortSignal }).catch(() => null);
  const current = user ? domainNameOf(user, identity) : null;
  if (!current || sameName(current, entry.to)) return entry;
  deps.log?.(`remap recovery ${entry.operationId}: the user was renamed from ${entry.to} to ${current} meanwhile; finishing to ${current}`);
  return deps.journal.update(entry, { to: current, lastError: `recovery: the user was renamed from ${entry.to} to ${current} meanwhile` });
}

/** Step 2 from the temporary account; when it fails, the procedure rolled back, closed, or left the entry open. */
async function finishOrRollBack(entry: JournalEntry, ctx: ProcedureContext, deps: RecoveryDeps, report: RecoveryReport): Promise<JournalEntry> {
  try {
    const finished = await finishFromTemporary(ctx, entry);
    report.succeeded++;
    return finished;
  } catch (error) {
    const settled = (await deps.journal.get(entry.org, entry.operationId)) ?? entry;
    if (settled.state === "rolled-back") report.rolledBack++;
    // Still open (a lost lease stops it before step 2 is journaled: then still step1): reported, never counted closed.
    else if (OPEN_STATES.has(settled.state)) {
      report.stillOpen++;
      report.problems.push(problem(settled, describeError(error)));
    } else report.closed++;
    if (!isAnswerable(error)) deps.log?.(`remap recovery ${settled.operationId}: ${describeError(error)}`);
    return settled;
  }
}

async function auditRecovery(entry: JournalEntry, deps: RecoveryDeps): Promise<void> {
  await deps.audit.record({
    requestedBy: "recovery",
    source: `recovery:${entry.source}`,
    org: entry.org,
    user: entry.systemUserId,
    systemUserId: entry.systemUserId,
    from: entry.from,
    to: entry.to,
    steps: entry.steps,
    outcome: entry.state,
    status: entry.state === "succeeded" ? 200 : 502,
    operationId: entry.operationId,
    ...(entry.lastError ? { message: entry.lastError } : {}),
  }).catch((error: unknown) => deps.log?.(`remap audit failed: ${describeError(error)}`));
}

function problem(entry: JournalEntry, message: string) {
  return { operationId: entry.operationId, org: entry.org, systemUserId: entry.systemUserId, state: entry.state, message };
}
