// Temporary accounts for step 1: REMAP_PLACEHOLDER_USERS when set, else directory accounts no systemuser
// holds (found a page at a time, disabled accounts first: they cannot sign in while a record points at
// them). Each is held through a lease, so one remap at a time uses it per org; a pool lets bulk jobs run
// several remaps in parallel. Whatever the lease says, an account some record holds is never used.
import { anchorColumn, nameFormOf, recordAnchor, type OrgIdentity } from "../sync/identity.js";
import type { DataverseOrgPort } from "../dataverse/types.js";
import type { DirectoryPort } from "../directory/types.js";
import { AppError } from "../errors/app-error.js";
import type { LeaseStore } from "../state/leases.js";
import { findUsersByValues } from "./dataverse-lookup.js";
import { DIRECTORY_SELECT, resolveNames, toResolved } from "./directory-names.js";
import { nameForm } from "./names.js";

export interface Placeholder {
  name: string;
  objectId: string;
}

export interface HeldPlaceholder extends Placeholder {
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

export interface PlaceholderContext {
  /** The candidates found (cached 10 minutes) and the rotation counter: one pool per bridge. */
  pool: PlaceholderPool;
  org: string;
  port: DataverseOrgPort;
  directory: DirectoryPort;
  /** The org's rule: its name form, and for on-premises orgs AD accounts anchored by objectGUID. */
  identity: OrgIdentity;
  /** REMAP_PLACEHOLDER_USERS. */
  configured: readonly string[];
  leases: LeaseStore;
  leaseMs: number;
  /** Directory objects that must not serve (the user's own, the target's). */
  exclude: ReadonlySet<string>;
  abortSignal?: AbortSignal;
  log?: (line: string) => void;
}

const POOL_TARGET = 4;
const DISCOVERY_PAGE = 100;
const DISCOVERY_MAX_PAGES = 10;
const CACHE_MS = 10 * 60_000;

/** What the placeholder search remembers between remaps (an instance of the composition root, shared/bridge.ts). */
export class PlaceholderPool {
  /** Candidates per (org, name rule, configured list), found at most every 10 minutes. */
  readonly cache = new Map<string, { at: number; list: Placeholder[] }>();
  /** Where the next hold starts in the list, so concurrent remaps spread over the accounts. */
  rotation = 0;
}

export const placeholderLeaseKey = (org: string, objectId: string): string => `remap:placeholder:${org}:${objectId.toLowerCase()}`;

/** Holds a free temporary account, waiting up to `waitMs` while every one is busy. */
export async function holdPlaceholder(ctx: PlaceholderContext, holder: string, waitMs = 60_000): Promise<HeldPlaceholder> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    const list = await usableCandidates(ctx);
    let busy = 0;
    const start = ctx.pool.rotation++;
    for (let i = 0; i < list.length; i++) {
      const p = list[(start + i) % list.length]!;
      const key = placeholderLeaseKey(ctx.org, p.objectId);
      const lease = await ctx.leases.acquire(key, holder, ctx.leaseMs, holder);
      if (!lease.acquired) { busy++; continue; }
      if (await isHeldInDataverse(ctx, p)) {
        await ctx.leases.release(key, holder);
        forget(ctx, p);
        continue;
      }
      return { ...p, renew: () => ctx.leases.renew(key, holder, ctx.leaseMs), release: () => ctx.leases.release(key, holder) };
    }
    if (busy === 0 && attempt > 0) throw noPlaceholder(ctx);
    if (Date.now() >= deadline) {
      throw new AppError("Every temporary account is in use by other remaps; try again shortly.", 503, "placeholder_busy", { detail: { retryAfterSeconds: 5 } });
    }
    await sleep(Math.min(2_000, 100 * 2 ** attempt) + Math.floor(Math.random() * 100), ctx.abortSignal);
  }
}

/** The account a remap would use now, without holding it (dry runs). */
export async function peekPlaceholder(ctx: PlaceholderContext): Promise<Placeholder> {
  const list = await usableCandidates(ctx);
  for (const p of list) {
    const lease = await ctx.leases.get(placeholderLeaseKey(ctx.org, p.objectId));
    if (lease && lease.expiresAt > Date.now()) continue;
    if (!(await isHeldInDataverse(ctx, p))) return p;
  }
  if (list.length > 0) return list[0]!;
  throw noPlaceholder(ctx);
}

async function usableCandidates(ctx: PlaceholderContext): Promise<Placeholder[]> {
  const key = `${ctx.org}|${JSON.stringify(ctx.identity)}|${ctx.configured.join(",")}`;
  const cache = ctx.pool.cache;
  let entry = cache.get(key);
  if (!entry || Date.now() - entry.at > CACHE_MS || entry.list.filter((p) => !ctx.exclude.has(p.objectId)).length === 0) {
    entry = { at: Date.now(), list: ctx.configured.length > 0 ? await fromConfiguration(ctx) : await discover(ctx) };
    cache.set(key, entry);
  }
  const list = entry.list.filter((p) => !ctx.exclude.has(p.objectId));
  if (list.length === 0) throw noPlaceholder(ctx);
  return list;
}

async function fromConfiguration(ctx: PlaceholderContext): Promise<Placeholder[]> {
  const usable = ctx.configured.filter((name) => {
    if (nameForm(name) === nameFormOf(ctx.identity)) return true;
    ctx.log?.(`REMAP_PLACEHOLDER_USERS: "${name}" is not in the ${nameFormOf(ctx.identity)} form this org's users take; skipped`);
    return false;
  });
  const resolved = await resolveNames(ctx.directory, usable, { abortSignal: ctx.abortSignal, identity: ctx.identity });
  const out: Placeholder[] = [];
  for (const name of usable) {
    const r = resolved.get(name.toLowerCase());
    if (r) out.push({ name: r.name, objectId: r.objectId });
    else ctx.log?.(`REMAP_PLACEHOLDER_USERS: "${name}" is not in the directory; skipped`);
  }
  return out;
}

/** A few directory accounts no systemuser holds: one directory page and two Dataverse queries at a time. */
async function discover(ctx: PlaceholderContext): Promise<Placeholder[]> {
  const found: Placeholder[] = [];
  let pages = 0;
  for (const filter of ["accountEnabled eq false", undefined]) {
    for await (const page of ctx.directory.listUsers(DIRECTORY_SELECT, { filter, pageSize: DISCOVERY_PAGE, abortSignal: ctx.abortSignal })) {
      pages++;
      const candidates = page
        .map((u) => toResolved(u, ctx.identity))
        .filter((c): c is NonNullable<typeof c> => !!c && !ctx.exclude.has(c.objectId) && !found.some((f) => f.objectId === c.objectId));
      if (candidates.length > 0) {
        const heldObjects = new Set((await findUsersByValues(ctx.port, anchorColumn(ctx.identity), candidates.map((c) => c.objectId), ctx))
          .map((r) => recordAnchor(r) ?? ""));
        const heldNames = new Set((await findUsersByValues(ctx.port, "domainname", candidates.map((c) => c.name), ctx))
          .map((r) => (r.domainname ?? "").toLowerCase()));
        for (const c of candidates) {
          if (heldObjects.has(c.objectId) || heldNames.has(c.name.toLowerCase())) continue;
          found.push({ name: c.name, objectId: c.objectId });
          if (found.length >= POOL_TARGET) return found;
        }
      }
      if (pages >= DISCOVERY_MAX_PAGES) return found;
    }
    if (found.length > 0) return found;
  }
  return found;
}

async function isHeldInDataverse(ctx: PlaceholderContext, p: Placeholder): Promise<boolean> {
  const byObject = await ctx.port.findSystemUsers(anchorColumn(ctx.identity), p.objectId, ["systemuserid"], ctx);
  if (byObject.length > 0) return true;
  return (await ctx.port.findSystemUsers("domainname", p.name, ["systemuserid"], ctx)).length > 0;
}

function forget(ctx: PlaceholderContext, p: Placeholder): void {
  // Discovered accounts that became held are dropped; configured ones stay (they may be freed by recovery).
  if (ctx.configured.length > 0) return;
  for (const entry of ctx.pool.cache.values()) entry.list = entry.list.filter((x) => x.objectId !== p.objectId);
}

function noPlaceholder(ctx: PlaceholderContext): AppError {
  const hint = ctx.configured.length > 0
    ? "none of the REMAP_PLACEHOLDER_USERS accounts is in the directory and free in this org"
    : "no directory account that no Dataverse user holds was found; set REMAP_PLACEHOLDER_USERS";
  return new AppError(`No temporary account is available for the remap: ${hint}.`, 503, "no_placeholder");
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
  });
}
