// Remapping one Dataverse user to a changed directory logon: validation, the 404 / 409 / 422
// answers, idempotent repeats, dry runs, then the journaled two-step procedure under a per-user lease.
import { randomUUID } from "node:crypto";
import { normalizeOrgUrl, resolveOrg } from "../config/org-url.js";
import { isGuid } from "../dataverse/odata.js";
import type { DataverseOrgPort, SystemUser } from "../dataverse/types.js";
import { AppError, describeError, isAnswerable } from "../errors/app-error.js";
import { USER_COLUMNS, describeUser, notRemappableReason } from "./dataverse-lookup.js";
import { identityFor, type RemapDeps } from "./deps.js";
import { anchorColumn, nameFormOf, recordAnchor, type OrgIdentity } from "../sync/identity.js";
import { resolveName, type ResolvedName } from "./directory-names.js";
import type { JournalEntry, JournalStep } from "./journal.js";
import { userLeaseKey } from "./leases.js";
import { nameProblem, sameId, sameName } from "./names.js";
import { holdPlaceholder, peekPlaceholder, type HeldPlaceholder, type PlaceholderContext } from "./placeholders.js";
import { runRemapSteps } from "./remap-procedure.js";

export interface RemapUserRequest {
  /** systemuserid or current domainname. */
  user: string;
  newDomainName: string;
  dryRun?: boolean;
  org?: string;
  /** Who asked (`app:<id>/oid:<id>`, `sync:<runId>`, …), for the audit. */
  requestedBy: string;
  /** `api`, `bulk:<jobId>`, `sync:<runId>`. */
  source: string;
  /** The sync knows which directory object the new name must belong to. */
  expectedObjectId?: string;
  abortSignal?: AbortSignal;
}

export interface StepReport {
  step: JournalStep["step"];
  domainName: string | null;
  outcome: JournalStep["outcome"] | "planned";
  at?: string;
  error?: string;
}

export interface RemapUserResult {
  org: string;
  systemUserId: string;
  from: string | null;
  to: string;
  objectId: string;
  changed: boolean;
  dryRun: boolean;
  steps: StepReport[];
  operationId?: string;
}

/**
 * One remap's state, filled in by its steps as they learn it: what the audit names (the org, the record, the
 * journaled steps) and what the end must release (the placeholder held, the journal entry written).
 */
interface RemapState {
  org: string | null;
  systemUserId: string | null;
  from: string | null;
  operationId?: string;
  steps: readonly JournalStep[];
  placeholder?: HeldPlaceholder;
  entry?: JournalEntry;
}

/** The one place a result is built: the record (before the remap), the target, and how the remap went. */
function remapResult(
  org: string, row: Pick<SystemUser, "systemuserid" | "domainname">, target: { name: string; objectId: string },
  outcome: { changed: boolean; dryRun: boolean; steps?: StepReport[]; operationId?: string },
): RemapUserResult {
  return {
    org, systemUserId: row.systemuserid, from: row.domainname ?? null, to: target.name, objectId: target.objectId,
    changed: outcome.changed, dryRun: outcome.dryRun, steps: outcome.steps ?? [], ...(outcome.operationId ? { operationId: outcome.operationId } : {}),
  };
}

export async function remapUser(request: RemapUserRequest, deps: RemapDeps): Promise<RemapUserResult> {
  const state: RemapState = { org: null, systemUserId: null, from: null, steps: [] };
  try {
    const result = await remap(request, deps, state);
    if (!request.dryRun) await audit(deps, request, state, result.changed ? "succeeded" : "no-change", 200);
    return result;
  } catch (error) {
    if (!request.dryRun) {
      const status = isAnswerable(error) ? error.status : 500;
      const outcome = !isAnswerable(error) ? "failed" : status < 500 ? "refused" : String(error.detail?.state ?? "failed");
      await audit(deps, request, state, outcome, status, error);
    }
    throw error;
  }
}

async function remap(request: RemapUserRequest, deps: RemapDeps, state: RemapState): Promise<RemapUserResult> {
  const to = request.newDomainName.trim();
  // Checked before any lookup when the org is known (named, or the only one); else again once it is found.
  const single = request.org ? normalizeOrgUrl(request.org) : deps.orgs.length === 1 ? deps.orgs[0] : undefined;
  checkName(to, identityFor(deps, single));

  const found = await findUser(request, deps, to);
  if ("done" in found) return found.done;
  const { org, row } = found;
  const identity = identityFor(deps, org);
  checkName(to, identity);
  const port = deps.port(org);
  Object.assign(state, { org, systemUserId: row.systemuserid, from: row.domainname ?? null });

  await checkRemappable(org, row, deps);
  const target = await resolveTarget(request, deps, to, identity);
  if (sameName(row.domainname, target.name) && sameId(recordAnchor(row), target.objectId)) {
    return remapResult(org, row, target, { changed: false, dryRun: !!request.dryRun });
  }
  await checkConflicts(port, row, target, identity, request.abortSignal);

  const remapCase: RemapCase = { org, row, target, port, placeholders: placeholderContext(request, deps, org, port, identity, [target.objectId, recordAnchor(row) ?? ""]) };
  if (request.dryRun) return planRemap(remapCase);
  return runJournaledRemap(request, deps, state, remapCase);
}

/** One user's remap once it is known to be due: the org, its record, the target name and how to get a placeholder. */
interface RemapCase {
  org: string;
  row: SystemUser;
  target: ResolvedName;
  port: DataverseOrgPort;
  placeholders: PlaceholderContext;
}

/** 409 when the record cannot be remapped (protected, …) or an earlier remap of it is not settled yet. */
async function checkRemappable(org: string, row: SystemUser, deps: RemapDeps): Promise<void> {
  const why = notRemappableReason(row);
  if (why) throw new AppError(`User ${row.systemuserid} cannot be remapped: ${why}.`, 409, "not_remappable", { detail: { conflict: describeUser(row) } });
  const open = await deps.journal.openForUser(org, row.systemuserid);
  if (open.length > 0) {
    throw new AppError(
      `An earlier remap of this user is not settled yet (operation ${open[0]!.operationId}, ${open[0]!.state}); the recovery pass finishes it.`,
      409, "remap_pending", { detail: { operationId: open[0]!.operationId, state: open[0]!.state } },
    );
  }
}

/** The directory user the new name belongs to: 422 when none, 409 when not the one the caller expects. */
async function resolveTarget(request: RemapUserRequest, deps: RemapDeps, to: string, identity: OrgIdentity): Promise<ResolvedName> {
  const target = await resolveName(deps.directory, to, { abortSignal: request.abortSignal, identity });
  if (!target) throw new AppError(`"${to}" is not a user in the directory.`, 422, "not_in_directory", { detail: { newDomainName: to } });
  if (request.expectedObjectId && !sameId(request.expectedObjectId, target.objectId)) {
    throw new AppError(`"${to}" belongs to directory object ${target.objectId}, not ${request.expectedObjectId}.`, 409, "directory_mismatch");
  }
  return target;
}

function placeholderContext(request: RemapUserRequest, deps: RemapDeps, org: string, port: DataverseOrgPort, identity: OrgIdentity, exclude: string[]): PlaceholderContext {
  return {
    pool: deps.placeholderPool, org, port, directory: deps.directory, identity, configured: deps.placeholders, leases: deps.leases,
    leaseMs: deps.leaseMs, exclude: new Set(exclude.filter(Boolean).map((x) => x.toLowerCase())), abortSignal: request.abortSignal, log: deps.log,
  };
}

/** A dry run: the steps the remap would take, with the placeholder it would borrow now. */
async function planRemap({ org, row, target, placeholders }: RemapCase): Promise<RemapUserResult> {
  const placeholder = await peekPlaceholder(placeholders);
  return remapResult(org, row, target, {
    changed: false, dryRun: true,
    steps: [
      { step: "temporary", domainName: placeholder.name, outcome: "planned" },
      { step: "target", domainName: target.name, outcome: "planned" },
      { step: "verify", domainName: target.name, outcome: "planned" },
    ],
  });
}

/** The journaled two-step procedure under the user's lease, holding a placeholder; both are released at the end. */
async function runJournaledRemap(request: RemapUserRequest, deps: RemapDeps, state: RemapState, remapCase: RemapCase): Promise<RemapUserResult> {
  const { org, row } = remapCase;
  const operationId = randomUUID();
  state.operationId = operationId;
  const userKey = userLeaseKey(org, row.systemuserid);
  const lease = await deps.leases.acquire(userKey, operationId, deps.leaseMs, operationId);
  if (!lease.acquired) {
    throw new AppError("Another remap of this user is running.", 409, "remap_in_progress", { detail: { operationId: lease.current.note } });
  }
  try {
    return await journalAndRun(request, deps, state, remapCase, operationId);
  } catch (error) {
    if (state.entry) {
      const latest = await deps.journal.get(org, operationId).catch(() => undefined);
      if (latest) state.steps = latest.steps;
    }
    if (isAnswerable(error) || !state.entry) throw error;
    throw new AppError(`The remap stopped unexpectedly (${describeError(error)}); the recovery pass settles it (operation ${operationId}).`, 502, "remap_incomplete", {
      cause: error, detail: { operationId, state: "open" },
    });
  } finally {
    await state.placeholder?.release().catch(() => undefined);
    await deps.leases.release(userKey, operationId).catch(() => undefined);
  }
}

/** Holds a placeholder, journals the operation, then runs its steps; the state tells the caller what to release. */
async function journalAndRun(
  request: RemapUserRequest, deps: RemapDeps, state: RemapState, { org, row, target, port, placeholders }: RemapCase, operationId: string,
): Promise<RemapUserResult> {
  const placeholder = await holdPlaceholder(placeholders, operationId, deps.placeholderWaitMs);
  state.placeholder = placeholder;
  let entry = await deps.journal.create({
    operationId, org, systemUserId: row.systemuserid, from: row.domainname ?? null, to: target.name,
    originalObjectId: recordAnchor(row), targetObjectId: target.objectId,
    placeholder: placeholder.name, placeholderObjectId: placeholder.objectId,
    requestedBy: request.requestedBy, source: request.source, state: "step1",
    steps: [{ step: "temporary", domainName: placeholder.name, outcome: "started", at: new Date().toISOString() }],
  });
  state.entry = entry;
  state.steps = entry.steps;
  const userKey = userLeaseKey(org, row.systemuserid);
  entry = await runRemapSteps({
    port, journal: deps.journal, hooks: deps.hooks, abortSignal: request.abortSignal,
    renew: async () => (await deps.leases.renew(userKey, operationId, deps.leaseMs)) && placeholder.renew(),
  }, entry, row.etag);
  state.entry = entry;
  state.steps = entry.steps;
  return remapResult(org, row, target, { changed: true, dryRun: false, steps: entry.steps.map(report), operationId });
}

type Found = { org: string; row: SystemUser } | { done: RemapUserResult };

/** The user in the named org, or in the only org that has it; a repeat of a finished remap is answered here. */
async function findUser(request: RemapUserRequest, deps: RemapDeps, to: string): Promise<Found> {
  let orgs = deps.orgs;
  if (request.org) {
    orgs = [resolveOrg(deps.orgs, request.org)];
  }
  const hits: Array<{ org: string; row: SystemUser }> = [];
  for (const org of orgs) {
    const row = await lookup(deps.port(org), request.user.trim(), request.abortSignal);
    if (row) hits.push({ org, row });
  }
  if (hits.length > 1) {
    throw new AppError(`"${request.user}" exists in several orgs; name one with "org".`, 400, "org_required", { detail: { orgs: hits.map((h) => h.org) } });
  }
  if (hits.length === 1) return hits[0]!;
  // A repeat of a remap that already finished: the old name is gone, the journal remembers it.
  if (!isGuid(request.user.trim())) {
    for (const org of orgs) {
      for (const entry of (await deps.journal.succeeded(org, request.user.trim(), to)).reverse()) {
        const row = await deps.port(org).getSystemUser(entry.systemUserId, USER_COLUMNS, { abortSignal: request.abortSignal });
        if (row && sameName(row.domainname, entry.to) && sameId(recordAnchor(row), entry.targetObjectId)) {
          return { done: remapResult(org, row, { name: entry.to, objectId: entry.targetObjectId }, { changed: false, dryRun: !!request.dryRun }) };
        }
      }
    }
  }
  throw new AppError(`No Dataverse user "${request.user}" was found.`, 404, "user_not_found");
}

async function lookup(port: DataverseOrgPort, user: string, abortSignal?: AbortSignal): Promise<SystemUser | null> {
  if (isGuid(user)) return port.getSystemUser(user, USER_COLUMNS, { abortSignal });
  const rows = await port.findSystemUsers("domainname", user, USER_COLUMNS, { abortSignal });
  if (rows.length > 1) {
    throw new AppError(`Several Dataverse users hold "${user}"; name one by systemuserid.`, 409, "ambiguous_user", { detail: { conflicts: rows.map(describeUser) } });
  }
  return rows[0] ?? null;
}

function checkName(to: string, identity: OrgIdentity): void {
  const problem = nameProblem(to, nameFormOf(identity));
  if (problem) throw new AppError(`"newDomainName" ${problem}.`, 400, "invalid_name");
}

async function checkConflicts(port: DataverseOrgPort, row: SystemUser, target: ResolvedName, identity: OrgIdentity, abortSignal?: AbortSignal): Promise<void> {
  const self = row.systemuserid.toLowerCase();
  const byName = (await port.findSystemUsers("domainname", target.name, USER_COLUMNS, { abortSignal })).filter((r) => r.systemuserid.toLowerCase() !== self);
  if (byName.length > 0) {
    const other = describeUser(byName[0]!);
    throw new AppError(`Dataverse user ${other.systemUserId} (${other.fullName ?? other.domainName}) already holds "${target.name}".`, 409, "name_taken", { detail: { conflict: other } });
  }
  const anchor = anchorColumn(identity);
  const byObject = (await port.findSystemUsers(anchor, target.objectId, USER_COLUMNS, { abortSignal })).filter((r) => r.systemuserid.toLowerCase() !== self);
  if (byObject.length > 0) {
    const other = describeUser(byObject[0]!);
    throw new AppError(
      `Dataverse user ${other.systemUserId} (${other.domainName ?? "no user name"}) is already linked to the directory object of "${target.name}" (${target.objectId}).`,
      409, "object_taken", { detail: { conflict: { ...other, objectId: target.objectId } } },
    );
  }
}

function report(step: JournalStep): StepReport {
  return { step: step.step, domainName: step.domainName, outcome: step.outcome, at: step.at, ...(step.error ? { error: step.error } : {}) };
}

async function audit(deps: RemapDeps, request: RemapUserRequest, state: RemapState, outcome: string, status: number, error?: unknown): Promise<void> {
  try {
    await deps.audit.record({
      requestedBy: request.requestedBy,
      source: request.source,
      org: state.org,
      user: request.user,
      systemUserId: state.systemUserId,
      from: state.from,
      to: request.newDomainName,
      steps: state.steps,
      outcome,
      status,
      ...(isAnswerable(error) ? { code: error.code, message: error.message } : error ? { code: "internal", message: describeError(error) } : {}),
      ...(state.operationId ? { operationId: state.operationId } : {}),
    });
  } catch (auditError) {
    // The remap's outcome stands; a lost audit row is logged loudly instead.
    deps.log?.(`remap audit could not be written: ${describeError(auditError)}`);
  }
}
