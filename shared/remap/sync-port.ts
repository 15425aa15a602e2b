// The remap procedure as the sync engine calls it (shared/sync/remap-port.ts): every logon-name change the
// sync detects goes through the same validated, journaled, audited two-step remap, and each sync run
// starts with the recovery pass.
import { describeError, isAnswerable } from "../errors/app-error.js";
import type { RemapOutcome, RemapPort, RemapRequest } from "../sync/remap-port.js";
import type { RemapDeps } from "./deps.js";
import { recoverRemaps } from "./recovery.js";
import { remapUser } from "./remap-user.js";

export function remapPort(deps: () => RemapDeps): RemapPort {
  return {
    async remap(request: RemapRequest): Promise<RemapOutcome> {
      try {
        const result = await remapUser({
          user: request.systemUserId,
          newDomainName: request.to,
          org: request.org,
          requestedBy: request.requestedBy,
          source: request.requestedBy,
          expectedObjectId: request.objectId,
          abortSignal: request.abortSignal,
        }, deps());
        return { ok: true, steps: result.steps.map((s) => `${s.step}:${s.domainName ?? ""}:${s.outcome}`) };
      } catch (error) {
        if (isAnswerable(error)) return { ok: false, code: error.code, message: error.message };
        return { ok: false, code: "remap_failed", message: describeError(error) };
      }
    },
    async recover(org, options = {}): Promise<void> {
      const d = deps();
      const report = await recoverRemaps(d, { org, abortSignal: options.abortSignal });
      if (report.stillOpen > 0) d.log?.(`remap recovery for ${org}: ${report.stillOpen} remap(s) still open; see the journal`);
    },
    async pendingTargets(org): Promise<Set<string>> {
      return new Set((await deps().journal.listOpen(org)).map((e) => e.targetObjectId.toLowerCase()));
    },
  };
}
