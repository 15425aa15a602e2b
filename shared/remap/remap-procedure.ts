// The two steps of a remap, each journaled before it runs: (1) point the record's domainname at the
// temporary account, (2) point it at the new name, then read the record back and confirm it is linked to
// the new name's directory object. If step 2 fails the original name is restored; if that is impossible
// too (typically: the original UPN no longer exists because it was renamed to the new one) the entry
// stays open as `stuck` and the recovery pass keeps retrying. What happened is always decided from the
// record as read back, never from the journal alone, so a write that landed unreported is still seen.
import { isDataverseError } from "../dataverse/errors.js";
import type { DataverseOrgPort, SystemUser } from "../dataverse/types.js";
import { AppError, describeError } from "../errors/app-error.js";
import type { JournalEntry, RemapJournal, StepName } from "./journal.js";
import { sameId, sameName } from "./names.js";
import { SPANS } from "../telemetry/names.js";
import { withSpan } from "../telemetry/tracing.js";
import { recordAnchor } from "../sync/identity.js";

export interface ProcedureHooks {
  /** Called after a step's outcome is journaled (tests pause or inject faults here). */
  afterStep?(step: StepName, entry: JournalEntry): Promise<void> | void;
}

export interface ProcedureContext {
  port: DataverseOrgPort;
  journal: RemapJournal;
  /** Renews the leases the remap holds; false when one was lost (the remap stops before its next write). */
  renew(): Promise<boolean>;
  hooks?: ProcedureHooks;
  abortSignal?: AbortSignal;
}

const READ = ["systemuserid", "domainname", "azureactivedirectoryobjectid", "activedirectoryguid"] as const;

export type RecordPosition = "target" | "temporary" | "original" | "elsewhere" | "missing";

/** Where the record stands relative to the remap. */
export function positionOf(entry: JournalEntry, row: SystemUser | null): RecordPosition {
  if (!row) return "missing";
  const oid = recordAnchor(row);
  if (sameName(row.domainname, entry.to) && sameId(oid, entry.targetObjectId)) return "target";
  if (sameId(oid, entry.placeholderObjectId) || sameName(row.domainname, entry.placeholder)) return "temporary";
  if (entry.from !== null && sameName(row.domainname, entry.from) && (entry.originalObjectId === null || sameId(oid, entry.originalObjectId))) return "original";
  return "elsewhere";
}

export function readRecord(ctx: ProcedureContext, entry: JournalEntry): Promise<SystemUser | null> {
  return ctx.port.getSystemUser(entry.systemUserId, READ, { abortSignal: ctx.abortSignal });
}

/** Step 1 and on. `etag` guards step 1 against a record changed since it was checked. */
export function runRemapSteps(ctx: ProcedureContext, entry: JournalEntry, etag?: string): Promise<JournalEntry> {
  return withSpan(SPANS.remapStep, { remapId: entry.operationId, org: entry.org, step: "temporary" }, () => remapSteps(ctx, entry, etag));
}

async function remapSteps(ctx: ProcedureContext, entry: JournalEntry, etag?: string): Promise<JournalEntry> {
  await closedIfStopped(ctx, entry);
  // The entry was created in state step1 with this step started: the journal is ahead of the write.
  try {
    await ctx.port.updateSystemUser(entry.systemUserId, { domainname: entry.placeholder }, { etag, abortSignal: ctx.abortSignal });
  } catch (error) {
    const row = await readRecord(ctx, entry).catch(() => undefined);
    if (row === undefined || positionOf(entry, row) !== "temporary") {
      const message = describeError(error);
      entry = await ctx.journal.settle(entry, "failed", row === undefined ? "stuck" : "failed", message);
      if (row === undefined) throw incomplete(entry, "step 1 failed and the record could not be read back; the recovery pass will settle it", error);
      const concurrent = isDataverseError(error) && error.statusCode === 412;
      throw new AppError(
        concurrent ? "The user record changed while the remap was starting; nothing was changed. Try again." : `Step 1 (temporary account) failed; nothing was changed: ${message}`,
        concurrent ? 409 : 502,
        concurrent ? "concurrent_change" : "remap_step_failed",
        { cause: error, detail: { operationId: entry.operationId, state: entry.state } },
      );
    }
  }
  entry = await ctx.journal.settle(entry, "ok");
  await ctx.hooks?.afterStep?.("temporary", entry);
  return finishFromTemporary(ctx, entry);
}

/**
 * Before step 1 nothing was written, so a remap that lost its lease or was aborted here closes its own entry
 * (`not-started`) rather than leaving it open for a recovery pass that may not come before the user is
 * remapped again. Guarded by the entry's ETag: if another holder (the recovery pass) wrote it meanwhile,
 * that holder settles it.
 */
async function closedIfStopped(ctx: ProcedureContext, entry: JournalEntry): Promise<void> {
  try {
    await mustRenew(ctx);
  } catch (error) {
    const why = `stopped before step 1: ${describeError(error)}`;
    await ctx.journal.settle(entry, "failed", "not-started", why).catch(() => undefined);
    throw error;
  }
}

/** Step 2, read-back, and on failure the rollback (shared with the recovery pass). */
export function finishFromTemporary(ctx: ProcedureContext, entry: JournalEntry): Promise<JournalEntry> {
  return withSpan(SPANS.remapStep, { remapId: entry.operationId, org: entry.org, step: "target" }, () => finishStep(ctx, entry));
}

async function finishStep(ctx: ProcedureContext, entry: JournalEntry): Promise<JournalEntry> {
  await mustRenew(ctx);
  entry = await ctx.journal.step(entry, "step2", { step: "target", domainName: entry.to, outcome: "started" });
  let stepError: unknown;
  try {
    await ctx.port.updateSystemUser(entry.systemUserId, { domainname: entry.to }, { abortSignal: ctx.abortSignal });
  } catch (error) {
    stepError = error;
  }
  const row = await readRecord(ctx, entry);
  const position = positionOf(entry, row);
  if (position === "target") {
    entry = await ctx.journal.settle(entry, "ok");
    await ctx.hooks?.afterStep?.("target", entry);
    return ctx.journal.step(entry, "succeeded", { step: "verify", domainName: row?.domainname ?? null, outcome: "ok" });
  }
  if (position === "temporary") {
    entry = await ctx.journal.settle(entry, "failed", "step2", describeError(stepError ?? "the read-back does not show the new name"));
    await ctx.hooks?.afterStep?.("target", entry);
    return rollback(ctx, entry, stepError);
  }
  // Neither: step 2 wrote but the platform linked another object, or someone else changed the record.
  const seen = row ? `${row.domainname ?? "(none)"} / ${recordAnchor(row) ?? "(no object)"}` : "(record deleted)";
  entry = await ctx.journal.settle(entry, stepError ? "failed" : "ok", position === "missing" ? "abandoned" : "verify-failed", describeError(stepError ?? `read back ${seen}`));
  entry = await ctx.journal.step(entry, entry.state, { step: "verify", domainName: row?.domainname ?? null, outcome: "failed", error: `read back ${seen}` });
  throw new AppError(`The remap could not be confirmed: the record now reads ${seen}.`, 502, "remap_unverified", {
    detail: { operationId: entry.operationId, state: entry.state },
  });
}

async function rollback(ctx: ProcedureContext, entry: JournalEntry, cause: unknown): Promise<JournalEntry> {
  if (entry.from === null) {
    entry = await ctx.journal.update(entry, { state: "stuck", lastError: `step 2 failed: ${describeError(cause)}; no original name to restore` });
    throw incomplete(entry, "step 2 failed and the record had no original name to restore", cause);
  }
  await mustRenew(ctx);
  entry = await ctx.journal.step(entry, "rollback", { step: "rollback", domainName: entry.from, outcome: "started" });
  let rollbackError: unknown;
  try {
    await ctx.port.updateSystemUser(entry.systemUserId, { domainname: entry.from }, { abortSignal: ctx.abortSignal });
  } catch (error) {
    rollbackError = error;
  }
  const row = await readRecord(ctx, entry).catch(() => null);
  const position = positionOf(entry, row);
  if (position === "original") {
    entry = await ctx.journal.settle(entry, "ok", "rolled-back", `step 2 failed: ${describeError(cause)}`);
    await ctx.hooks?.afterStep?.("rollback", entry);
    throw new AppError(`Step 2 (new name) failed; the original name was restored: ${describeError(cause)}`, 502, "remap_rolled_back", {
      cause, detail: { operationId: entry.operationId, state: entry.state },
    });
  }
  if (position === "target") {
    // Whatever failed before, the record is where it should be.
    entry = await ctx.journal.settle(entry, "ok");
    return ctx.journal.step(entry, "succeeded", { step: "verify", domainName: row?.domainname ?? null, outcome: "ok" });
  }
  // Typically the original name no longer resolves (it was renamed to the new one): leave it open.
  entry = await ctx.journal.settle(entry, "failed", "stuck", `step 2 failed: ${describeError(cause)}; rollback failed: ${describeError(rollbackError ?? "record not on the original name")}`);
  await ctx.hooks?.afterStep?.("rollback", entry);
  throw incomplete(entry, "step 2 failed and the original name could not be restored", cause);
}

function incomplete(entry: JournalEntry, why: string, cause: unknown): AppError {
  return new AppError(
    `The remap is incomplete: ${why}. The user is on the temporary account ${entry.placeholder}; the recovery pass retries step 2 every few minutes (operation ${entry.operationId}).`,
    502,
    "remap_incomplete",
    { cause, detail: { operationId: entry.operationId, state: entry.state, temporaryName: entry.placeholder } },
  );
}

async function mustRenew(ctx: ProcedureContext): Promise<void> {
  ctx.abortSignal?.throwIfAborted();
  if (!(await ctx.renew())) throw new AppError("The remap lost its lease; it stopped before its next write and the recovery pass will settle it.", 503, "lease_lost");
}

