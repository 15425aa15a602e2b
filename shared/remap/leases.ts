// Lease keys for remaps: one remap per user, one remap per temporary account (per org). Their duration is
// REMAP_LEASE_SECONDS (config.remap.leaseMs).

export const userLeaseKey = (org: string, systemUserId: string): string => `remap:user:${org}:${systemUserId.toLowerCase()}`;
