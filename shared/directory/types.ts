// The directory port: what the sync and remap use cases need from Microsoft Graph, in our own terms.
import { AppError } from "../errors/app-error.js";

/** A directory user as Graph returns it for the selected attributes (others absent). */
export interface DirectoryUser {
  id: string;
  userPrincipalName?: string | null;
  accountEnabled?: boolean | null;
  givenName?: string | null;
  surname?: string | null;
  mail?: string | null;
  jobTitle?: string | null;
  mobilePhone?: string | null;
  onPremisesSamAccountName?: string | null;
  onPremisesDomainName?: string | null;
  /** Synced from Active Directory by Entra Connect. */
  onPremisesSyncEnabled?: boolean | null;
  /** Entra Connect's source anchor: base64 of the AD objectGUID (see immutable-id.ts). */
  onPremisesImmutableId?: string | null;
  [attribute: string]: unknown;
}

/** One entry of a delta page: a user as it now is, or its removal (`changed` = soft-deleted, `deleted` = gone). */
export type DirectoryChange =
  | { kind: "upsert"; user: DirectoryUser }
  | { kind: "removed"; id: string; reason: "changed" | "deleted" };

export interface DeltaPage {
  changes: DirectoryChange[];
  /** More pages follow in this round. */
  nextLink?: string;
  /** The round is complete; start the next round here. */
  deltaLink?: string;
}

export interface DirectoryRequestOptions {
  abortSignal?: AbortSignal;
}

export interface DirectoryPort {
  /** One delta page: the first of a full round when `link` is undefined, else the page at `link`. */
  usersDeltaPage(link: string | undefined, select: readonly string[], options?: DirectoryRequestOptions): Promise<DeltaPage>;
  /**
   * One page of the tenant's users (`/users`, up to 999 a page), as upserts: the first when `link` is undefined,
   * else the page at `link`; no delta link. A refused continuation link throws DeltaResetError.
   */
  usersListPage(link: string | undefined, select: readonly string[], options?: DirectoryRequestOptions): Promise<DeltaPage>;
  /** A delta link from now (`$deltatoken=latest`): the next round reports only changes made after this call. */
  usersDeltaLatest(select: readonly string[], options?: DirectoryRequestOptions): Promise<string>;
  /** Users by object id, in batches; ids not found are absent from the result. */
  getUsersByIds(ids: readonly string[], select: readonly string[], options?: DirectoryRequestOptions): Promise<DirectoryUser[]>;
  /** A user by object id or UPN; null when not found. */
  getUser(idOrUpn: string, select: readonly string[], options?: DirectoryRequestOptions): Promise<DirectoryUser | null>;
  /** Whether a group exists, with its display name (null when it does not). */
  getGroup(groupId: string, options?: DirectoryRequestOptions): Promise<{ id: string; displayName: string | null } | null>;
  /** Direct member user ids of a group. */
  listGroupMemberIds(groupId: string, options?: DirectoryRequestOptions): Promise<Set<string>>;
  /** How many users are direct members of a group, counted by Graph (one request, whatever the group's size). */
  countGroupMembers(groupId: string, options?: DirectoryRequestOptions): Promise<number>;
  /**
   * Users (optionally matching a `$filter`), a page at a time. `advancedQuery` sends `ConsistencyLevel: eventual`
   * with `$count=true`, which Graph needs to filter on properties such as `onPremisesSamAccountName`.
   */
  listUsers(select: readonly string[], options?: DirectoryRequestOptions & { filter?: string; pageSize?: number; advancedQuery?: boolean }): AsyncIterable<DirectoryUser[]>;
}

/** The stored delta cursor is no longer valid (410 Gone, syncStateNotFound, resyncRequired): start a full round. */
export class DeltaResetError extends AppError<"delta_reset"> {
  override name = "DeltaResetError";
  /** `upstreamCode`: what Graph said ("410 Gone", "syncStateNotFound", …). */
  constructor(readonly upstreamCode: string, options?: { cause?: unknown }) {
    super(`directory delta cursor must be reset (${upstreamCode})`, undefined, "delta_reset", options);
  }
}
