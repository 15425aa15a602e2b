// The Dataverse port: systemuser reads and writes the use cases need, in our own terms.

export type ColumnValue = string | number | boolean | null;

/** A systemuser row with the columns that were selected. */
export interface SystemUser {
  systemuserid: string;
  azureactivedirectoryobjectid?: string | null;
  /** On-premises: the AD objectGUID of the record's account (platform-filled). */
  activedirectoryguid?: string | null;
  domainname?: string | null;
  isdisabled?: boolean;
  accessmode?: number;
  applicationid?: string | null;
  /** Weak ETag (`W/"123"`), when read. */
  etag?: string;
  [column: string]: ColumnValue | undefined;
}

export type SystemUserWrite =
  | { kind: "create"; columns: Record<string, ColumnValue> }
  | { kind: "update"; systemUserId: string; columns: Record<string, ColumnValue>; etag?: string };

export interface WriteResult {
  ok: boolean;
  /** For creates: the new systemuserid. */
  systemUserId?: string;
  status: number;
  /** Dataverse error code (`0x80044331`) and message when not ok. */
  code?: string;
  message?: string;
}

export interface SystemUserKeys {
  objectIds?: readonly string[];
  domainNames?: readonly string[];
}

export interface DataverseRequestOptions {
  abortSignal?: AbortSignal;
}

export interface DataverseOrgPort {
  readonly orgUrl: string;
  /** Pages of systemusers (`$select`, optional `$filter`), following `@odata.nextLink`. */
  listSystemUsers(select: readonly string[], options?: DataverseRequestOptions & { filter?: string; pageSize?: number }): AsyncIterable<SystemUser[]>;
  getSystemUser(systemUserId: string, select: readonly string[], options?: DataverseRequestOptions): Promise<SystemUser | null>;
  /** Users whose column equals the value (the literal is escaped). */
  findSystemUsers(column: "domainname" | "azureactivedirectoryobjectid" | "activedirectoryguid", value: string, select: readonly string[], options?: DataverseRequestOptions): Promise<SystemUser[]>;
  /**
   * Users whose object id is one of `objectIds` OR whose domainname is one of `domainNames` (case-insensitively),
   * via `Microsoft.Dynamics.CRM.In` in as few GETs as the URL length allows. Non-GUID object ids are dropped.
   */
  findSystemUsersIn(keys: SystemUserKeys, select: readonly string[], options?: DataverseRequestOptions): Promise<SystemUser[]>;
  /** One write, outside any batch. Throws DataverseError on failure. */
  updateSystemUser(systemUserId: string, columns: Record<string, ColumnValue>, options?: DataverseRequestOptions & { etag?: string }): Promise<void>;
  /** Many independent writes, sent as `$batch` change sets of a tunable size with bounded concurrency; one result per write, in order. */
  applyWrites(writes: readonly SystemUserWrite[], options?: DataverseRequestOptions): Promise<WriteResult[]>;
}
