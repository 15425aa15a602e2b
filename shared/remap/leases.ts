// Lease keys and duration for remaps: one remap per user, one remap per temporary account (per org).
export const REMAP_LEASE_MS = 120_000;

export const userLeaseKey = (org: string, systemUserId: string): string => `remap:user:${org}:${systemUserId.toLowerCase()}`;
