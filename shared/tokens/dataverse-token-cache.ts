// Dataverse tokens per key (the token service keys them by caller identity and org). Like
// core's tokenCycler:
// - cold or too close to expiry to be useful to a caller → callers wait for one shared acquisition;
// - inside the refresh-ahead window → callers get the cached token and one background refresh starts;
// - concurrent misses share one acquisition (single flight), so a cold org costs one request to Entra.
// The window defaults to MSAL's own renewal offset (5 min): asking earlier would get MSAL's cached copy back.
import { createHash } from "node:crypto";
import type { AccessToken } from "@azure/identity";

export interface CachedToken {
  token: string;
  expiresOnTimestamp: number;
  /** SHA-256 (hex) of the token, computed once per token for the audit. */
  sha256: string;
}

export interface DataverseTokenCacheOptions {
  /** Gets the token for a key when `get` is not given its own acquisition. */
  acquire?: (key: string) => Promise<AccessToken>;
  now?: () => number;
  /** Start a background refresh when less than this remains (default 5 min). */
  refreshAheadMs?: number;
  /** Never hand out a token with less than this left; wait for a fresh one instead (default 2 min). */
  minRemainingMs?: number;
  /** After a failed background refresh, wait this long before trying again (default 30 s). */
  retryAfterFailureMs?: number;
  onBackgroundError?: (key: string, error: unknown) => void;
}

interface Entry {
  current?: CachedToken;
  refreshAt: number;
  inflight?: Promise<CachedToken>;
}

export class DataverseTokenCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly refreshAheadMs: number;
  private readonly minRemainingMs: number;
  private readonly retryAfterFailureMs: number;

  constructor(private readonly options: DataverseTokenCacheOptions) {
    this.now = options.now ?? Date.now;
    this.refreshAheadMs = options.refreshAheadMs ?? 5 * 60_000;
    this.minRemainingMs = options.minRemainingMs ?? 2 * 60_000;
    this.retryAfterFailureMs = options.retryAfterFailureMs ?? 30_000;
  }

  /** `acquire`: how to get this key's token (defaults to the constructor's). */
  get(key: string, acquire?: () => Promise<AccessToken>): Promise<CachedToken> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { refreshAt: 0 };
      this.entries.set(key, entry);
    }
    const fetch = acquire ?? (() => {
      if (!this.options.acquire) throw new Error("DataverseTokenCache: no acquire function");
      return this.options.acquire(key);
    });
    const now = this.now();
    const current = entry.current;
    if (!current || current.expiresOnTimestamp - now < this.minRemainingMs) return this.refresh(key, entry, fetch);
    if (now >= entry.refreshAt && !entry.inflight) {
      this.refresh(key, entry, fetch).catch((error: unknown) => {
        entry.refreshAt = this.now() + this.retryAfterFailureMs;
        this.options.onBackgroundError?.(key, error);
      });
    }
    return Promise.resolve(current);
  }

  private refresh(key: string, entry: Entry, acquire: () => Promise<AccessToken>): Promise<CachedToken> {
    entry.inflight ??= Promise.resolve().then(acquire).then(
      (token) => {
        entry.inflight = undefined;
        if (!token?.token || !Number.isFinite(token.expiresOnTimestamp)) throw new Error(`the credential returned no usable token for ${key}`);
        const fresh: CachedToken = entry.current?.token === token.token
          ? entry.current
          : { token: token.token, expiresOnTimestamp: jwtExpiry(token.token) ?? token.expiresOnTimestamp, sha256: sha256Hex(token.token) };
        entry.current = fresh;
        const dueAt = Math.min(fresh.expiresOnTimestamp - this.refreshAheadMs, token.refreshAfterTimestamp ?? Infinity);
        // The credential's own cache may hand back the same token early; don't ask again on every request.
        entry.refreshAt = Math.max(dueAt, this.now() + this.retryAfterFailureMs);
        return fresh;
      },
      (error: unknown) => {
        entry.inflight = undefined;
        throw error;
      },
    );
    return entry.inflight;
  }
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** The token's own `exp` (MSAL derives expiresOn from `expires_in` and its clock, which can be a second off). */
function jwtExpiry(token: string): number | undefined {
  const exp = jwtClaims(token)?.exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
}

/** The unverified payload of a JWT we just received from Entra (for its own claims, never for trust). */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as unknown;
    return claims && typeof claims === "object" ? claims as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}
