// Lookup mode's per-page reads: which object ids and domainnames a page asks Dataverse for, and that what the
// index already knows (this run's own writes) is never overwritten by a re-read.
import { describe, expect, it } from "vitest";
import type { DataverseOrgPort, SystemUser, SystemUserKeys } from "../../shared/dataverse/types.js";
import type { DirectoryChange, DirectoryUser } from "../../shared/directory/types.js";
import { DEFAULT_ATTRIBUTE_MAP } from "../../shared/sync/mapping.js";
import { countManagedEnabled, PageLookup } from "../../shared/sync/page-lookup.js";
import { applyToIndex, planChange } from "../../shared/sync/plan.js";
import { UserIndex } from "../../shared/sync/user-index.js";

const oid = (n: number) => `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, "0")}`;
const sid = (n: number) => `5a000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

function directoryUser(n: number, upn: string, over: Partial<DirectoryUser> = {}): DirectoryUser {
  return { id: oid(n), userPrincipalName: upn, accountEnabled: true, givenName: "G", surname: `S${n}`, mail: null, jobTitle: null, mobilePhone: null, ...over };
}
const upsert = (user: DirectoryUser): DirectoryChange => ({ kind: "upsert", user });
const row = (n: number, over: Partial<SystemUser>): SystemUser => ({
  systemuserid: sid(n), azureactivedirectoryobjectid: null, domainname: null, isdisabled: false, accessmode: 0, applicationid: null,
  firstname: "G", lastname: `S${n}`, internalemailaddress: null, jobtitle: null, mobilephone: null, ...over,
});

/** A port answering `findSystemUsersIn` from rows, recording what it was asked. */
function fakeOrg(rows: SystemUser[]) {
  const asked: SystemUserKeys[] = [];
  const port = {
    orgUrl: "https://contoso.crm.dynamics.com",
    async findSystemUsersIn(keys: SystemUserKeys) {
      asked.push(keys);
      const ids = new Set((keys.objectIds ?? []).map((v) => v.toLowerCase()));
      const names = new Set((keys.domainNames ?? []).map((v) => v.toLowerCase()));
      return rows.filter((r) => ids.has(String(r.azureactivedirectoryobjectid).toLowerCase()) || names.has(String(r.domainname).toLowerCase())).map((r) => ({ ...r }));
    },
    async *listSystemUsers(_select: readonly string[], options: { filter?: string } = {}) {
      expect(options.filter).toBe("isdisabled eq false");
      yield rows.filter((r) => !r.isdisabled).map((r) => ({ systemuserid: r.systemuserid, accessmode: r.accessmode, applicationid: r.applicationid }));
    },
  } as unknown as DataverseOrgPort;
  return { port, asked };
}

const plan = { map: DEFAULT_ATTRIBUTE_MAP, identity: "upn" as const };

describe("PageLookup", () => {
  it("asks for every change's object id, and for names only where matching or a remap depends on them", async () => {
    const rows = [
      row(1, { azureactivedirectoryobjectid: oid(1), domainname: "same@contoso.com" }),
      row(2, { azureactivedirectoryobjectid: oid(2), domainname: "old@contoso.com" }),
      row(3, { domainname: "unlinked@contoso.com" }),
      row(4, { azureactivedirectoryobjectid: oid(99), domainname: "taken@contoso.com" }),
      row(5, { azureactivedirectoryobjectid: oid(5), domainname: "gone@contoso.com" }),
      row(6, { azureactivedirectoryobjectid: oid(6), domainname: "bystander@contoso.com" }),
    ];
    const { port, asked } = fakeOrg(rows);
    const index = new UserIndex(DEFAULT_ATTRIBUTE_MAP);
    const lookup = new PageLookup(port, index, DEFAULT_ATTRIBUTE_MAP, "upn");
    const changes: DirectoryChange[] = [
      upsert(directoryUser(1, "Same@contoso.com", { jobTitle: "New title" })), // matched by id, same name
      upsert(directoryUser(2, "renamed@contoso.com")), // matched by id, new name: who holds it?
      upsert(directoryUser(3, "unlinked@contoso.com")), // no record by id: matched by name
      upsert(directoryUser(4, "taken@contoso.com")), // no record by id: name held by another object
      { kind: "removed", id: oid(5), reason: "deleted" },
    ];
    await lookup.load(changes);
    expect(asked).toEqual([
      { objectIds: [oid(1), oid(2), oid(3), oid(4), oid(5)] },
      { domainNames: ["renamed@contoso.com", "unlinked@contoso.com", "taken@contoso.com"] },
    ]);
    expect(index.get(sid(6))).toBeUndefined(); // never read: no change concerns it
    expect(changes.map((c) => {
      const a = planChange(c, index, plan);
      return [a.kind, "systemUserId" in a ? a.systemUserId : undefined];
    })).toEqual([["update", sid(1)], ["remap", sid(2)], ["update", sid(3)], ["skip", undefined], ["disable", sid(5)]]);

    // Asked once per run: the same page again costs nothing.
    await lookup.load(changes);
    expect(asked).toHaveLength(2);
  });

  it("keeps the index's view of a record it already knows (this run's writes or dry-run plans)", async () => {
    const { port } = fakeOrg([row(1, { azureactivedirectoryobjectid: oid(1), domainname: "a@contoso.com", jobtitle: "Before" })]);
    const index = new UserIndex(DEFAULT_ATTRIBUTE_MAP);
    const lookup = new PageLookup(port, index, DEFAULT_ATTRIBUTE_MAP, "upn");
    await lookup.load([upsert(directoryUser(1, "a@contoso.com", { jobTitle: "After" }))]);
    const action = planChange(upsert(directoryUser(1, "a@contoso.com", { jobTitle: "After" })), index, plan);
    applyToIndex(index, action); // a dry run: Dataverse still says "Before"
    // A later page names the record by domainname: the re-read must not undo the planned value.
    await lookup.load([upsert(directoryUser(7, "A@contoso.com"))]);
    expect(index.value(index.get(sid(1))!, "jobtitle")).toBe("After");
  });
});

describe("countManagedEnabled", () => {
  it("counts enabled records that are neither application users nor accessmode 3/4/5", async () => {
    const { port } = fakeOrg([
      row(1, {}), row(2, {}), row(3, { isdisabled: true }), row(4, { applicationid: oid(40) }),
      row(5, { accessmode: 3 }), row(6, { accessmode: 4 }), row(7, { accessmode: 5 }), row(8, { accessmode: 1 }),
      row(9, { applicationid: "00000000-0000-0000-0000-000000000000" }),
    ]);
    expect(await countManagedEnabled(port)).toBe(4);
  });
});
