// The on-premises rule in the pure planner: AD users only, NETBIOS\sam names, records anchored by activedirectoryguid.
import { describe, expect, it } from "vitest";
import { DEFAULT_ATTRIBUTE_MAP, graphSelect, mapUser } from "../../shared/sync/mapping.js";
import { applyToIndex, planChange, planOrphans, type PlanOptions } from "../../shared/sync/plan.js";
import { UserIndex, indexSelect } from "../../shared/sync/user-index.js";
import { anchorColumn, changeKey, type OrgIdentity } from "../../shared/sync/identity.js";
import { immutableIdFromGuid } from "../../shared/directory/immutable-id.js";
import type { SystemUser } from "../../shared/dataverse/types.js";
import type { DirectoryChange, DirectoryUser } from "../../shared/directory/types.js";

const ENTRA_ID = "aaaaaaaa-0000-0000-0000-000000000001";
const AD_GUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const SU = "5u000000-0000-0000-0000-000000000001";
const ONPREM: OrgIdentity = { kind: "onpremises", netbiosDomains: { "corp.contoso.com": "CONTOSO" } };

function user(over: Partial<DirectoryUser> = {}): DirectoryUser {
  return {
    id: ENTRA_ID, userPrincipalName: "ada@contoso.com", accountEnabled: true, givenName: "Ada", surname: "Lovelace",
    mail: "ada@contoso.com", jobTitle: null, mobilePhone: null,
    onPremisesSyncEnabled: true, onPremisesSamAccountName: "alovelace", onPremisesDomainName: "corp.contoso.com",
    onPremisesImmutableId: immutableIdFromGuid(AD_GUID),
    ...over,
  };
}

function record(over: Partial<SystemUser> = {}): SystemUser {
  return {
    systemuserid: SU, activedirectoryguid: AD_GUID, azureactivedirectoryobjectid: null, domainname: "CONTOSO\\alovelace",
    isdisabled: false, accessmode: 0, applicationid: null, firstname: "Ada", lastname: "Lovelace",
    internalemailaddress: "ada@contoso.com", jobtitle: null, mobilephone: null, ...over,
  } as SystemUser;
}

const opts: PlanOptions = { map: DEFAULT_ATTRIBUTE_MAP, identity: ONPREM };
const index = (...rows: SystemUser[]) => { const i = new UserIndex(DEFAULT_ATTRIBUTE_MAP, anchorColumn(ONPREM)); i.addPage(rows); return i; };
const upsert = (over: Partial<DirectoryUser> = {}): DirectoryChange => ({ kind: "upsert", user: user(over) });

describe("on-premises orgs in the planner", () => {
  it("names users NETBIOS\\sam from the org's NetBIOS map (first label otherwise) and selects the on-premises attributes", () => {
    const mapped = mapUser(user(), DEFAULT_ATTRIBUTE_MAP, ONPREM);
    expect(mapped.ok && mapped.columns.domainname).toBe("CONTOSO\\alovelace");
    const other = mapUser(user({ onPremisesDomainName: "emea.fabrikam.com" }), DEFAULT_ATTRIBUTE_MAP, ONPREM);
    expect(other.ok && other.columns.domainname).toBe("EMEA\\alovelace");
    expect(graphSelect(DEFAULT_ATTRIBUTE_MAP, ONPREM)).toEqual(expect.arrayContaining(["onPremisesSyncEnabled", "onPremisesSamAccountName", "onPremisesDomainName", "onPremisesImmutableId"]));
    expect(graphSelect(DEFAULT_ATTRIBUTE_MAP, "upn")).not.toContain("onPremisesImmutableId");
    expect(indexSelect(DEFAULT_ATTRIBUTE_MAP, anchorColumn(ONPREM))).toContain("activedirectoryguid");
  });

  it("matches by activedirectoryguid, so a changed sAMAccountName is a remap of the same record", () => {
    const action = planChange(upsert({ onPremisesSamAccountName: "aking" }), index(record()), opts);
    expect(action).toMatchObject({ kind: "remap", systemUserId: SU, objectId: AD_GUID, from: "CONTOSO\\alovelace", to: "CONTOSO\\aking" });
    expect(planChange(upsert(), index(record()), opts)).toMatchObject({ kind: "unchanged", matchedBy: "objectId", objectId: AD_GUID });
  });

  it("falls back to domainname when the user has no GUID anchor, even though the record carries its AD GUID", () => {
    const action = planChange(upsert({ onPremisesImmutableId: null, jobTitle: "Countess" }), index(record()), opts);
    expect(action).toMatchObject({ kind: "update", systemUserId: SU, matchedBy: "domainname", changes: [{ column: "jobtitle", from: null, to: "Countess" }] });
  });

  it("a record held by another AD object under the user's name is a conflict, never a guess", () => {
    const action = planChange(upsert(), index(record({ activedirectoryguid: "11111111-2222-3333-4444-555555555555" })), opts);
    expect(action).toMatchObject({ kind: "skip", reason: "conflict", conflictingSystemUserId: SU });
  });

  it("creates AD users only: cloud-only users are out of scope (and disable a record they still match)", () => {
    const created = planChange(upsert(), index(), opts);
    expect(created).toMatchObject({ kind: "create", objectId: AD_GUID, columns: { domainname: "CONTOSO\\alovelace" } });
    const cloud = planChange(upsert({ onPremisesSyncEnabled: false }), index(), opts);
    expect(cloud).toMatchObject({ kind: "skip", reason: "out-of-scope-no-record" });
    const unsynced = planChange(upsert({ onPremisesSyncEnabled: null }), index(record()), opts);
    expect(unsynced).toMatchObject({ kind: "disable", reason: "out-of-scope", systemUserId: SU });
  });

  it("a full round's orphans are judged by AD GUID (changeKey), not by Entra id", () => {
    const idx = index(record(), record({ systemuserid: "5u000000-0000-0000-0000-000000000002", activedirectoryguid: "22222222-0000-0000-0000-000000000000", domainname: "CONTOSO\\gone" }));
    const change = upsert();
    applyToIndex(idx, planChange(change, idx, opts));
    const orphans = planOrphans(idx, new Set([changeKey(change, ONPREM)]));
    expect(orphans.map((a) => a.kind === "disable" && a.systemUserId)).toEqual(["5u000000-0000-0000-0000-000000000002"]);
  });
});
