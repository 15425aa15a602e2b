// What the sync needs from the remap procedure (the remap capability implements it).

export interface RemapRequest {
  org: string;
  systemUserId: string;
  objectId: string;
  from: string | null;
  to: string;
  requestedBy: string;
  abortSignal?: AbortSignal;
}

export type RemapOutcome = { ok: true; steps: string[] } | { ok: false; code: string; message: string };

export interface RemapPort {
  remap(request: RemapRequest): Promise<RemapOutcome>;
  /** Finishes or rolls back remaps cut off between their steps (runs at the start of every sync). */
  recover(org: string, options?: { abortSignal?: AbortSignal }): Promise<void>;
  /** Directory anchors of users whose record an open remap has (or may have) on its temporary account now. */
  pendingTargets(org: string, options?: { abortSignal?: AbortSignal }): Promise<Set<string>>;
}
