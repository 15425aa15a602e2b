import { describe, expect, it } from "vitest";
import { DEFAULT_ATTRIBUTE_MAP, parseAttributeMap } from "../../shared/sync/mapping.js";
import { applyToIndex, planChange, planOrphans, type PlanOptions, type UserAction } from "../../shared/sync/plan.js";
import { UserIndex } from "../../shared/sync/user-index.js";
import type { SystemUser } from "../../shared/dataverse/types.js";
import type { DirectoryChange, DirectoryUser } from "../../shared/directory/types.js";

const OID = "aaaaaaaa-0000-0000-0000-000000000001";
const OTHER_OID = "bbbbbbbb-0000-0000-0000-000000000002";
const SU = "5u000000-0000-0000-0000-000000000001";
const SU2 = "5u000000-0000-0000-0000-000000000002";

function user(over: Partial<DirectoryUser> = {}): DirectoryUser {
  return {
    id: OID,
    userPrincipalName: "o'brien@contoso.com",
    accountEnabled: true,
    givenName: "Sean",
    surname: "O'Brien",
    mail: "sean.obrien@contoso.com",
    jobTitle: "Engineer",
    mobilePhone: null,
    ...over,
  };
}

/** The record as Dataverse would hold it for `user()`. */
function record(over: Partial<SystemUser> = {}): SystemUser {
  return {
    systemuserid: SU,
    azureactivedirectoryobjectid: OID,
    domainname: "o'brien@contoso.com",
    isdisabled: false,
    accessmode: 0,
    applicationid: null,
    firstname: "Sean",
    lastname: "O'Brien",
    internalemailaddress: "sean.obrien@contoso.com",
    jobtitle: "Engineer",
    mobilephone: null,
    ...over,
  };
}

const upsert = (u: Partial<DirectoryUser> = {}): DirectoryChange => ({ kind: "upsert", user: user(u) });
const opts = (over: Partial<PlanOptions> = {}): PlanOptions => ({ map: DEFAULT_ATTRIBUTE_MAP, identity: "upn", ...over });

function indexOf(...rows: SystemUser[]): UserIndex {
  const index = new UserIndex(DEFAULT_ATTRIBUTE_MAP);
  index.addPage(rows);
  return index;
}

interface Case {
  name: string;
  rows: SystemUser[];
  change: DirectoryChange;
  options?: Partial<PlanOptions>;
  expected: UserAction | Partial<UserAction>;
}

const cases: Case[] = [
  {
    name: "create: enabled, in-scope user without a record",
    rows: [],
    change: upsert(),
    expected: {
      kind: "create",
      objectId: OID,
      columns: { domainname: "o'brien@contoso.com", firstname: "Sean", lastname: "O'Brien", internalemailaddress: "sean.obrien@contoso.com", jobtitle: "Engineer" },
    },
  },
  {
    name: "unchanged: record equals the mapped columns (whitespace and null/\"\" are equal)",
    rows: [record({ firstname: " Sean ", mobilephone: "" })],
    change: upsert(),
    expected: { kind: "unchanged", systemUserId: SU, objectId: OID, matchedBy: "objectId" },
  },
  {
    name: "update: only the differing columns, case-sensitive outside domainname",
    rows: [record({ jobtitle: "engineer", lastname: "OBrien", firstname: "Sean" })],
    change: upsert(),
    expected: {
      kind: "update",
      systemUserId: SU,
      objectId: OID,
      matchedBy: "objectId",
      changes: [
        { column: "jobtitle", from: "engineer", to: "Engineer" },
        { column: "lastname", from: "OBrien", to: "O'Brien" },
      ],
    },
  },
  {
    name: "update: a cleared directory attribute clears the column",
    rows: [record({ mobilephone: "+1 555" })],
    change: upsert({ mobilePhone: null }),
    expected: { kind: "update", changes: [{ column: "mobilephone", from: "+1 555", to: null }] },
  },
  {
    name: "unchanged: a domainname differing only in case is the same name",
    rows: [record({ domainname: "O'Brien@Contoso.com" })],
    change: upsert(),
    expected: { kind: "unchanged", systemUserId: SU },
  },
  {
    name: "unchanged: attributes not returned in a partial change are left alone",
    rows: [record({ jobtitle: "Something else" })],
    change: { kind: "upsert", user: { id: OID, accountEnabled: true, givenName: "Sean" } },
    expected: { kind: "unchanged", systemUserId: SU },
  },
  {
    name: "update: truncation keeps the column within its maximum and carries the warning",
    rows: [record()],
    change: upsert({ jobTitle: "J".repeat(120) }),
    expected: {
      kind: "update",
      changes: [{ column: "jobtitle", from: "Engineer", to: "J".repeat(100) }],
      warnings: [`user ${OID}: jobtitle truncated from 120 to 100 characters`],
    },
  },
  {
    name: "update: a record without an object id is matched by domainname",
    rows: [record({ azureactivedirectoryobjectid: null, domainname: "O'BRIEN@contoso.com", jobtitle: "Intern" })],
    change: upsert(),
    expected: { kind: "update", systemUserId: SU, matchedBy: "domainname", changes: [{ column: "jobtitle", from: "Intern", to: "Engineer" }] },
  },
  {
    name: "update: the empty GUID counts as no object id",
    rows: [record({ azureactivedirectoryobjectid: "00000000-0000-0000-0000-000000000000", jobtitle: "Intern" })],
    change: upsert(),
    expected: { kind: "update", matchedBy: "domainname" },
  },
  {
    name: "conflict: a record holding the name but another object id is never matched",
    rows: [record({ azureactivedirectoryobjectid: OTHER_OID })],
    change: upsert(),
    expected: { kind: "skip", objectId: OID, reason: "conflict", conflictingSystemUserId: SU },
  },
  {
    name: "conflict: several records without an object id share the name",
    rows: [record({ azureactivedirectoryobjectid: null }), record({ systemuserid: SU2, azureactivedirectoryobjectid: null })],
    change: upsert(),
    expected: { kind: "skip", reason: "conflict" },
  },
  {
    name: "remap: matched by object id, logon name changed",
    rows: [record({ domainname: "sean@contoso.com", jobtitle: "Intern" })],
    change: upsert(),
    expected: {
      kind: "remap",
      systemUserId: SU,
      objectId: OID,
      from: "sean@contoso.com",
      to: "o'brien@contoso.com",
      changes: [{ column: "jobtitle", from: "Intern", to: "Engineer" }],
      enable: false,
    },
  },
  {
    name: "remap + enable: a disabled record whose user is back under a new name",
    rows: [record({ domainname: "sean@contoso.com", isdisabled: true })],
    change: upsert(),
    expected: { kind: "remap", to: "o'brien@contoso.com", enable: true, changes: [] },
  },
  {
    name: "conflict: the new logon name is held by another record",
    rows: [record({ domainname: "sean@contoso.com" }), record({ systemuserid: SU2, azureactivedirectoryobjectid: OTHER_OID, domainname: "O'Brien@contoso.com" })],
    change: upsert(),
    expected: { kind: "skip", systemUserId: SU, reason: "conflict", conflictingSystemUserId: SU2 },
  },
  {
    name: "enable: directory user enabled again, with column changes",
    rows: [record({ isdisabled: true, jobtitle: "Intern" })],
    change: upsert(),
    expected: { kind: "enable", systemUserId: SU, changes: [{ column: "jobtitle", from: "Intern", to: "Engineer" }] },
  },
  {
    name: "disable: account disabled in the directory",
    rows: [record()],
    change: upsert({ accountEnabled: false }),
    expected: { kind: "disable", systemUserId: SU, objectId: OID, matchedBy: "objectId", reason: "account-disabled" },
  },
  {
    name: "unchanged: account disabled and record already disabled (no column updates)",
    rows: [record({ isdisabled: true, jobtitle: "Intern" })],
    change: upsert({ accountEnabled: false }),
    expected: { kind: "unchanged", systemUserId: SU },
  },
  {
    name: "skip: disabled user without a record is never created",
    rows: [],
    change: upsert({ accountEnabled: false }),
    expected: { kind: "skip", reason: "disabled-no-record" },
  },
  {
    name: "disable: out of scope",
    rows: [record()],
    change: upsert(),
    options: { inScope: () => false },
    expected: { kind: "disable", reason: "out-of-scope" },
  },
  {
    name: "skip: out of scope without a record",
    rows: [],
    change: upsert(),
    options: { inScope: (id) => id !== OID },
    expected: { kind: "skip", reason: "out-of-scope-no-record" },
  },
  {
    name: "create: scope answering undefined means no scoping",
    rows: [],
    change: upsert(),
    options: { inScope: () => undefined },
    expected: { kind: "create" },
  },
  {
    name: "disable: hard delete",
    rows: [record()],
    change: { kind: "removed", id: OID, reason: "deleted" },
    expected: { kind: "disable", systemUserId: SU, reason: "deleted" },
  },
  {
    name: "disable: soft delete",
    rows: [record()],
    change: { kind: "removed", id: OID.toUpperCase(), reason: "changed" },
    expected: { kind: "disable", systemUserId: SU, reason: "soft-deleted" },
  },
  {
    name: "unchanged: removed user whose record is already disabled",
    rows: [record({ isdisabled: true })],
    change: { kind: "removed", id: OID, reason: "deleted" },
    expected: { kind: "unchanged", systemUserId: SU },
  },
  {
    name: "skip: removed user without a record",
    rows: [],
    change: { kind: "removed", id: OID, reason: "changed" },
    expected: { kind: "skip", objectId: OID, reason: "removed-no-record" },
  },
  ...[
    ["application user", { applicationid: "cccccccc-0000-0000-0000-000000000003" }],
    ["support user (accessmode 3)", { accessmode: 3 }],
    ["non-interactive user (accessmode 4)", { accessmode: 4 }],
    ["delegated admin (accessmode 5)", { accessmode: 5 }],
  ].flatMap(([label, over]) =>
    [
      ["update", upsert({ jobTitle: "Boss" })],
      ["disable", upsert({ accountEnabled: false })],
      ["remove", { kind: "removed", id: OID, reason: "deleted" } as DirectoryChange],
      ["remap", upsert({ userPrincipalName: "new@contoso.com" })],
    ].map(([what, change]) => ({
      name: `skip: ${label} is never touched (${what as string})`,
      rows: [record(over as Partial<SystemUser>)],
      change: change as DirectoryChange,
      expected: { kind: "skip", systemUserId: SU, reason: "protected" } as Partial<UserAction>,
    })),
  ),
  {
    name: "skip: protected record found by domainname",
    rows: [record({ azureactivedirectoryobjectid: null, accessmode: 4 })],
    change: upsert(),
    expected: { kind: "skip", reason: "protected" },
  },
  {
    name: "skip: sam identity without a sam account name is unmappable",
    rows: [record()],
    change: upsert({ onPremisesSamAccountName: null, onPremisesDomainName: null }),
    options: { identity: "sam" },
    expected: { kind: "skip", systemUserId: SU, reason: "unmappable" },
  },
  {
    name: "disable: an unmappable user is still disabled by object id",
    rows: [record()],
    change: upsert({ accountEnabled: false, onPremisesSamAccountName: null }),
    options: { identity: "sam" },
    expected: { kind: "disable", reason: "account-disabled" },
  },
  {
    name: "remap: sam identity maps to DOMAIN\\sam",
    rows: [record()],
    change: upsert({ onPremisesSamAccountName: "sobrien", onPremisesDomainName: "corp.contoso.local" }),
    options: { identity: "sam" },
    expected: { kind: "remap", from: "o'brien@contoso.com", to: "CORP\\sobrien" },
  },
  {
    name: "update: sam record without object id matched by DOMAIN\\sam, case-insensitively",
    rows: [record({ azureactivedirectoryobjectid: null, domainname: "corp\\SOBRIEN", jobtitle: null })],
    change: upsert({ onPremisesSamAccountName: "sobrien", onPremisesDomainName: "corp.contoso.local" }),
    options: { identity: "sam" },
    expected: { kind: "update", matchedBy: "domainname", changes: [{ column: "jobtitle", from: null, to: "Engineer" }] },
  },
  {
    name: "skip: account state not returned never creates",
    rows: [],
    change: { kind: "upsert", user: { id: OID, userPrincipalName: "x@contoso.com" } },
    expected: { kind: "skip", reason: "account-state-unknown" },
  },
  {
    name: "unchanged: account state not returned never enables a disabled record",
    rows: [record({ isdisabled: true, jobtitle: "Intern" })],
    change: upsert({ accountEnabled: undefined }),
    expected: { kind: "unchanged", systemUserId: SU },
  },
  {
    name: "update: account state not returned still updates an enabled record",
    rows: [record({ jobtitle: "Intern" })],
    change: upsert({ accountEnabled: null }),
    expected: { kind: "update" },
  },
];

describe("planChange", () => {
  it.each(cases)("$name", ({ rows, change, options, expected }) => {
    const action = planChange(change, indexOf(...rows), opts(options));
    expect(action).toMatchObject(expected);
    if (action.kind === "update" || action.kind === "enable" || action.kind === "remap") {
      // Only the columns that differ, never domainname (it moves through the remap procedure).
      expect(action.changes.map((c) => c.column)).not.toContain("domainname");
    }
  });

  it("does not carry a warnings field when nothing was truncated", () => {
    expect(planChange(upsert(), indexOf(), opts())).not.toHaveProperty("warnings");
  });

  it("uses a custom attribute map", () => {
    const map = parseAttributeMap('{"jobtitle":"department","mobilephone":null}');
    const index = new UserIndex(map);
    index.addPage([record({ jobtitle: "Engineer", mobilephone: "+1 555" })]);
    const action = planChange(upsert({ department: "R&D" }), index, opts({ map }));
    expect(action).toMatchObject({ kind: "update", changes: [{ column: "jobtitle", from: "Engineer", to: "R&D" }] });
  });
});

describe("applyToIndex", () => {
  it("lets later changes of the same run see a created user", () => {
    const index = indexOf();
    const create = planChange(upsert(), index, opts());
    applyToIndex(index, create, { systemUserId: SU.toUpperCase() });
    expect(index.byObjectId(OID)?.systemUserId).toBe(SU);
    expect(planChange(upsert(), index, opts())).toMatchObject({ kind: "unchanged", systemUserId: SU });
    expect(planChange(upsert({ accountEnabled: false }), index, opts())).toMatchObject({ kind: "disable", systemUserId: SU });
  });

  it("uses a pending id for a create without a result (dry run)", () => {
    const index = indexOf();
    applyToIndex(index, planChange(upsert(), index, opts()));
    expect(index.byObjectId(OID)?.systemUserId).toBe(`pending:${OID}`);
  });

  it("leaves the index alone when the write failed", () => {
    const index = indexOf(record({ jobtitle: "Intern" }));
    const action = planChange(upsert(), index, opts());
    applyToIndex(index, action, { ok: false });
    expect(planChange(upsert(), index, opts())).toEqual(action);
  });

  it("moves the name on remap, freeing the old one for another user in the same run", () => {
    const index = indexOf(record({ domainname: "old@contoso.com" }), record({ systemuserid: SU2, azureactivedirectoryobjectid: OTHER_OID, domainname: "x@contoso.com" }));
    // The other user wants the first user's old name: blocked until the first remap is applied.
    const other = upsert({ id: OTHER_OID, userPrincipalName: "old@contoso.com", mail: "x@contoso.com" });
    expect(planChange(other, index, opts())).toMatchObject({ kind: "skip", reason: "conflict", conflictingSystemUserId: SU });
    applyToIndex(index, planChange(upsert(), index, opts()));
    expect(index.holdersOf("OLD@contoso.com")).toEqual([]);
    expect(planChange(other, index, opts())).toMatchObject({ kind: "remap", systemUserId: SU2, to: "old@contoso.com" });
  });
});

describe("planOrphans", () => {
  it("after a full round disables enabled, unprotected records whose object id was not seen", () => {
    const index = indexOf(
      record(),
      record({ systemuserid: SU2, azureactivedirectoryobjectid: OTHER_OID, domainname: "gone@contoso.com" }),
      record({ systemuserid: "s3", azureactivedirectoryobjectid: "cccccccc-0000-0000-0000-000000000003", domainname: "off@contoso.com", isdisabled: true }),
      record({ systemuserid: "s4", azureactivedirectoryobjectid: "dddddddd-0000-0000-0000-000000000004", domainname: "app@contoso.com", applicationid: "eeeeeeee-0000-0000-0000-000000000005" }),
      record({ systemuserid: "s5", azureactivedirectoryobjectid: "ffffffff-0000-0000-0000-000000000006", domainname: "ni@contoso.com", accessmode: 4 }),
      record({ systemuserid: "s6", azureactivedirectoryobjectid: null, domainname: "local@contoso.com" }),
    );
    expect(planOrphans(index, new Set([OID.toUpperCase()]), opts())).toEqual([
      // `who` from the record itself (its names and logon): the user is gone from the directory.
      { kind: "disable", systemUserId: SU2, objectId: OTHER_OID, matchedBy: "objectId", reason: "deleted", who: { displayName: "Sean O'Brien", logon: "gone@contoso.com" } },
    ]);
  });
});

describe("who an action is about (for the report)", () => {
  it("a create names the directory user and the new logon; a removal names the record; long names are capped", () => {
    const created = planChange({ kind: "upsert", user: user({ displayName: "Seán O'Brien" }) }, indexOf(), opts());
    expect(created).toMatchObject({ kind: "create", who: { displayName: "Seán O'Brien", logon: "o'brien@contoso.com" } });
    const removed = planChange({ kind: "removed", id: OID, reason: "deleted" }, indexOf(record()), opts());
    expect(removed).toMatchObject({ kind: "disable", who: { displayName: "Sean O'Brien", logon: "o'brien@contoso.com" } });
    const long = planChange({ kind: "upsert", user: user({ displayName: "x".repeat(5_000) }) }, indexOf(), opts());
    expect(long.who?.displayName).toHaveLength(256);
  });
});
