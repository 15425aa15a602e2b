// Domain types of the sync that configuration is parsed into. A leaf module: it imports nothing, so config.ts
// can import it (and the sync's own modules never need config.ts for their types).

/** The form of an online org's `domainname` (SYNC_IDENTITY): the UPN, or `NETBIOS\sAMAccountName`. */
export type SyncIdentity = "upn" | "sam";

/** SYNC_DISABLE_THRESHOLD: at most this many disables, or this share of the org's managed users, per run. */
export type DisableThreshold = { count: number } | { percent: number };
