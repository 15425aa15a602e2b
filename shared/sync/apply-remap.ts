// A planned remap, applied: the remap procedure renames the record, then the columns the remap did not write
// (other mapped columns, enabling) are updated. One rule for the scheduled sync and provision on demand.
import type { DataverseOrgPort } from "../dataverse/types.js";
import { columnsLeftAfterRemap, entryFor } from "./apply-actions.js";
import type { UserAction } from "./plan.js";
import type { RemapPort } from "./remap-port.js";
import type { ChangeEntry } from "./run-report.js";

export type RemapAction = Extract<UserAction, { kind: "remap" }>;

export interface RemapTarget {
  org: string;
  dataverse: Pick<DataverseOrgPort, "getSystemUser" | "updateSystemUser">;
  /** Absent when the remap procedure is not available: the remap stays planned. */
  remap?: RemapPort;
  requestedBy: string;
}

export interface AppliedRemap {
  entry: ChangeEntry;
  result: "applied" | "failed" | "unavailable";
  error?: { code: string; message: string };
}

export async function applyRemap(action: RemapAction, target: RemapTarget, abortSignal?: AbortSignal): Promise<AppliedRemap> {
  const entry = entryFor(action, "applied")!;
  if (!target.remap) {
    return { entry: { ...entry, action: "remap-needed", outcome: "planned", reason: "the remap procedure is not available" }, result: "unavailable" };
  }
  const { org, requestedBy } = target;
  const outcome = await target.remap.remap({ org, systemUserId: action.systemUserId, objectId: action.objectId, from: action.from, to: action.to, requestedBy, abortSignal });
  if (!outcome.ok) {
    const error = { code: outcome.code, message: outcome.message };
    return { entry: { ...entry, outcome: "failed", error }, result: "failed", error };
  }
  const rest = await columnsLeftAfterRemap(target.dataverse, action, abortSignal);
  if (Object.keys(rest).length > 0) await target.dataverse.updateSystemUser(action.systemUserId, rest, { abortSignal });
  return { entry, result: "applied" };
}
