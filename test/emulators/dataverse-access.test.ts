// Fidelity of the Dataverse emulator's access tables (business units, roles, teams and their N:N
// associations), over HTTPS with a third-party client (dynamics-web-api) and raw requests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DynamicsWebApi } from "dynamics-web-api";
import type { Tenant } from "../../dev/sandbox/tenant.js";
import type { DataverseOrg } from "../../dev/sandbox/dataverse/index.js";
import { startDataverseEmulator, type DataverseEmulator } from "../support/dataverse-emulator.js";

let emulator: DataverseEmulator;
let tenant: Tenant;
let org: DataverseOrg;
let api: DynamicsWebApi;
let seq = 0;

type Json = Record<string, any>;

/** A directory user with a systemuser row in `unit` (default: the root unit). */
function user(unit?: string): string {
  const n = ++seq;
  const upn = `access${n}@contoso.com`;
  const dir = tenant.directory.addUser({ userPrincipalName: upn, givenName: `Access${n}`, surname: "User" });
  return org.addSystemUser({ azureactivedirectoryobjectid: dir.id, domainname: upn, ...(unit ? { _businessunitid_value: unit } : {}) }).systemuserid;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${org.url}/api/data/v9.2/${path}`, {
    method,
    headers: { Accept: "application/json", "OData-Version": "4.0", Authorization: `Bearer ${emulator.token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) as Json : {} };
}

const ref = (set: string, id: string) => ({ "@odata.id": `${org.url}/api/data/v9.2/${set}(${id})` });
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error("expected a failure"); }, (e: { status?: number; code?: string; message?: string }) => e);

let sales: string;
let service2: string;
let salesperson: string;

beforeAll(async () => {
  emulator = await startDataverseEmulator();
  ({ tenant, org, api } = emulator);
  salesperson = org.addRole("Salesperson").roleid;
  sales = org.addBusinessUnit("Sales").businessunitid;
  service2 = org.addBusinessUnit("Service").businessunitid;
});

afterAll(async () => {
  await emulator.close();
});

const roleIn = (name: string, unit: string) => org.access.roleInUnit(name, unit)!.roleid;

describe("business units, roles and teams", () => {
  it("copies every root role into every unit, whichever is created first, with its root role named", async () => {
    org.addRole("Late Root Role");
    const roles = (await call("GET", `roles?$select=name,_businessunitid_value,_parentrootroleid_value&$filter=name eq 'Late Root Role' or name eq 'Salesperson'`)).json.value as Json[];
    expect(roles).toHaveLength(6);
    for (const name of ["Late Root Role", "Salesperson"]) {
      const copies = roles.filter((r) => r.name === name);
      const root = copies.find((r) => r._businessunitid_value === org.businessUnitId)!;
      expect(copies.map((r) => r._businessunitid_value).sort()).toEqual([org.businessUnitId, sales, service2].sort());
      expect(new Set(copies.map((r) => r._parentrootroleid_value))).toEqual(new Set([root.roleid]));
    }
    const found = await call("GET", `roles?$select=roleid&$filter=name eq 'Salesperson' and _businessunitid_value eq ${sales}`);
    expect(found.json.value).toEqual([expect.objectContaining({ roleid: roleIn("Salesperson", sales) })]);
  });

  it("lists units with their parent, each with one default team, and pages a set with maxpagesize", async () => {
    const units = (await call("GET", "businessunits?$select=name,_parentbusinessunitid_value")).json.value as Json[];
    expect(units.find((u) => u._parentbusinessunitid_value === null)).toMatchObject({ businessunitid: org.businessUnitId, name: "org1" });
    expect(units.filter((u) => u._parentbusinessunitid_value === org.businessUnitId).map((u) => u.name).sort()).toEqual(["Sales", "Service"]);
    const defaults = (await call("GET", "teams?$select=name,teamtype,_businessunitid_value&$filter=isdefault eq true")).json.value as Json[];
    expect(defaults.map((t) => [t.name, t.teamtype]).sort()).toEqual([["Sales", 0], ["Service", 0], ["org1", 0]]);

    const seen: string[] = [];
    let page = await call("GET", "roles?$select=name", undefined, { Prefer: "odata.maxpagesize=2" });
    for (;;) {
      expect(page.json.value.length).toBeLessThanOrEqual(2);
      seen.push(...(page.json.value as Json[]).map((r) => r.roleid as string));
      const next = page.json["@odata.nextLink"] as string | undefined;
      if (!next) break;
      page = await call("GET", next.slice(next.indexOf("/api/data/v9.2/") + 15), undefined, { Prefer: "odata.maxpagesize=2" });
    }
    expect(seen.sort()).toEqual([...org.access.roles.keys()].sort());
    const ordered = await call("GET", "teams?$select=name&$orderby=name desc&$top=2");
    const names = [...org.access.teams.values()].map((t) => t.name.toLowerCase()).sort().reverse();
    expect((ordered.json.value as Json[]).map((t) => (t.name as string).toLowerCase())).toEqual(names.slice(0, 2));
    expect(ordered.json["@odata.nextLink"]).toBeUndefined();
    const counted = await call("GET", "teams?$select=teamid&$filter=isdefault eq true&$count=true", undefined, { Prefer: "odata.maxpagesize=1" });
    expect(counted.json).toMatchObject({ "@odata.count": 3, value: [expect.anything()] });
  });

  it("puts a new user in the root unit's default team unless bound to another unit", async () => {
    const created = await api.create({ collection: "systemusers", data: { domainname: (tenant.directory.addUser({ userPrincipalName: "bound@contoso.com", givenName: "B", surname: "U" }), "bound@contoso.com"), "businessunitid@odata.bind": `/businessunits(${sales})` } });
    const id = typeof created === "string" ? created : String((created as Json).systemuserid);
    expect(org.get(id)!._businessunitid_value).toBe(sales);
    expect(org.teamNamesOf(id)).toEqual(["Sales"]);
    expect(org.teamNamesOf(user())).toEqual(["org1"]);
  });
});

describe("moves and role assignment", () => {
  it("moving a user removes all their roles and moves their default-team membership", async () => {
    const u = user();
    await api.associate({ collection: "systemusers", primaryKey: u, relationshipName: "systemuserroles_association", relatedCollection: "roles", relatedKey: salesperson });
    org.assignRoles(u, ["Hand-made Role"]);
    expect(org.roleNamesOf(u)).toEqual(["Hand-made Role", "Salesperson"]);
    const moves = org.stats.access.unitMoves;
    await api.update({ collection: "systemusers", key: u, data: { "businessunitid@odata.bind": `/businessunits(${sales})` } });
    expect(org.roleNamesOf(u)).toEqual([]);
    expect(org.teamNamesOf(u)).toEqual(["Sales"]);
    expect(org.stats.access.unitMoves).toBe(moves + 1);
    const members = (await call("GET", `teammemberships?$filter=systemuserid eq ${u}`)).json.value as Json[];
    expect(members.map((m) => m.teamid)).toEqual([org.access.defaultTeamOf(sales).teamid]);
  });

  it("refuses a role of another unit, and answers 404 for unknown users and roles", async () => {
    const u = user(sales);
    const err = await failure(api.associate({ collection: "systemusers", primaryKey: u, relationshipName: "systemuserroles_association", relatedCollection: "roles", relatedKey: salesperson }));
    expect(err).toMatchObject({ status: 400, code: "0x8004021d" });
    expect(org.roleNamesOf(u)).toEqual([]);
    await api.associate({ collection: "systemusers", primaryKey: u, relationshipName: "systemuserroles_association", relatedCollection: "roles", relatedKey: roleIn("Salesperson", sales) });
    expect(org.roleNamesOf(u)).toEqual(["Salesperson"]);
    const dup = await call("POST", `systemusers(${u})/systemuserroles_association/$ref`, ref("roles", roleIn("Salesperson", sales)));
    expect(dup).toMatchObject({ status: 400, json: { error: { code: "0x80040237" } } });
    const nobody = "00000000-0000-0000-0000-00000000abcd";
    expect((await call("POST", `systemusers(${nobody})/systemuserroles_association/$ref`, ref("roles", salesperson))).status).toBe(404);
    expect((await call("POST", `systemusers(${u})/systemuserroles_association/$ref`, ref("roles", nobody))).status).toBe(404);
  });

  it("removes a role by key or by $id, and removing one not held changes nothing", async () => {
    const u = user();
    org.assignRoles(u, ["Salesperson", "Late Root Role"]);
    const before = { ...org.stats.access };
    expect((await call("DELETE", `systemusers(${u})/systemuserroles_association(${salesperson})/$ref`)).status).toBe(204);
    expect((await call("DELETE", `systemusers(${u})/systemuserroles_association/$ref?$id=${org.url}/api/data/v9.2/roles(${roleIn("Late Root Role", org.businessUnitId)})`)).status).toBe(204);
    expect((await call("DELETE", `systemusers(${u})/systemuserroles_association(${salesperson})/$ref`)).status).toBe(204);
    expect(org.roleNamesOf(u)).toEqual([]);
    expect(org.stats.access.roleDisassociate).toBe(before.roleDisassociate + 2);
  });
});

describe("team membership", () => {
  it("adds and removes owner-team members from either side; refuses default, access and Entra group teams", async () => {
    const owner = org.addTeam({ name: "Owners" }).teamid;
    const accessTeam = org.addTeam({ name: "Record sharing", teamtype: 1 }).teamid;
    const groupTeam = org.addTeam({ name: "Group team", teamtype: 2, azureactivedirectoryobjectid: "11111111-2222-3333-4444-555555555555" }).teamid;
    const u = user();
    expect((await call("POST", `teams(${owner})/teammembership_association/$ref`, ref("systemusers", u))).status).toBe(204);
    expect(org.teamNamesOf(u)).toEqual(["Owners", "org1"]);
    expect((await call("DELETE", `systemusers(${u})/teammembership_association(${owner})/$ref`)).status).toBe(204);
    await api.associate({ collection: "systemusers", primaryKey: u, relationshipName: "teammembership_association", relatedCollection: "teams", relatedKey: owner });
    expect(org.teamNamesOf(u)).toEqual(["Owners", "org1"]);

    const salesDefault = org.access.defaultTeamOf(sales).teamid;
    expect(await call("POST", `teams(${salesDefault})/teammembership_association/$ref`, ref("systemusers", u))).toMatchObject({ status: 400, json: { error: { code: "0x8004830B" } } });
    const own = org.access.defaultTeamOf(org.businessUnitId).teamid;
    expect(await call("DELETE", `teams(${own})/teammembership_association(${u})/$ref`)).toMatchObject({ status: 400, json: { error: { code: "0x8004830C" } } });
    for (const team of [accessTeam, groupTeam]) {
      expect(await call("POST", `teams(${team})/teammembership_association/$ref`, ref("systemusers", u))).toMatchObject({ status: 400, json: { error: { code: "0x80048405" } } });
    }
    expect(org.teamNamesOf(u)).toEqual(["Owners", "org1"]);
    const groupRow = (await call("GET", `teams(${groupTeam})?$select=teamtype,azureactivedirectoryobjectid,membershiptype`)).json;
    expect(groupRow).toMatchObject({ teamtype: 2, azureactivedirectoryobjectid: "11111111-2222-3333-4444-555555555555", membershiptype: 0 });
  });
});

describe("reading associations in bulk", () => {
  it("returns what was written through $expand, the intersect sets and the navigation properties", async () => {
    const owner = org.addTeam({ name: "Readers" }).teamid;
    const [a, b] = [user(sales), user(sales)];
    for (const u of [a, b]) {
      await call("POST", `systemusers(${u})/systemuserroles_association/$ref`, ref("roles", roleIn("Salesperson", sales)));
      await call("POST", `systemusers(${u})/teammembership_association/$ref`, ref("teams", owner));
    }
    const filter = `Microsoft.Dynamics.CRM.In(PropertyName='systemuserid',PropertyValues=['${a}','${b}'])`;
    const listed = await call("GET", `systemusers?$select=systemuserid&$filter=${filter}&$expand=systemuserroles_association($select=roleid,name),teammembership_association($select=teamid,name;$filter=isdefault eq false)`);
    expect(listed.status).toBe(200);
    for (const row of listed.json.value as Json[]) {
      expect(row.systemuserroles_association).toEqual([expect.objectContaining({ roleid: roleIn("Salesperson", sales), name: "Salesperson" })]);
      expect(row.teammembership_association).toEqual([expect.objectContaining({ teamid: owner, name: "Readers" })]);
    }
    const single = await api.retrieve({ collection: "systemusers", key: a, select: ["systemuserid"], expand: [{ property: "systemuserroles_association", select: ["name"] }] });
    expect((single as Json).systemuserroles_association).toEqual([expect.objectContaining({ name: "Salesperson" })]);

    const intersect = await call("GET", `systemuserrolescollection?$select=systemuserid,roleid&$filter=roleid eq ${roleIn("Salesperson", sales)} and ${filter}`);
    expect((intersect.json.value as Json[]).map((r) => r.systemuserid).sort()).toEqual([a, b].sort());
    const teamRows = await call("GET", `teammemberships?$select=systemuserid&$filter=teamid eq ${owner}`, undefined, { Prefer: "odata.maxpagesize=1" });
    expect(teamRows.json.value).toHaveLength(1);
    expect(teamRows.json["@odata.nextLink"]).toContain("$skiptoken=");
    const viaUser = await call("GET", `systemusers(${a})/systemuserroles_association?$select=name`);
    expect(viaUser.json.value).toEqual([expect.objectContaining({ name: "Salesperson" })]);
    const viaTeam = await call("GET", `teams(${owner})/teammembership_association?$select=systemuserid`);
    expect((viaTeam.json.value as Json[]).map((r) => r.systemuserid).sort()).toEqual([a, b].sort());
  });
});

describe("$ref in $batch change sets", () => {
  it("associates a user created earlier in the same change set through its Content-ID", async () => {
    const owner = org.addTeam({ name: "New Hires" }).teamid;
    const upn = "newhire@contoso.com";
    tenant.directory.addUser({ userPrincipalName: upn, givenName: "New", surname: "Hire" });
    const part = (id: number, line: string, body: unknown) =>
      `--cs\nContent-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: ${id}\n\n${line} HTTP/1.1\nContent-Type: application/json\n\n${JSON.stringify(body)}\n`;
    const text = `--b\nContent-Type: multipart/mixed; boundary=cs\n\n${[
      part(1, "POST /api/data/v9.2/systemusers", { domainname: upn }),
      part(2, "POST $1/systemuserroles_association/$ref", ref("roles", salesperson)),
      part(3, `POST /api/data/v9.2/teams(${owner})/teammembership_association/$ref`, { "@odata.id": "$1" }),
    ].join("")}--cs--\n--b--\n`;
    const res = await fetch(`${org.url}/api/data/v9.2/$batch`, { method: "POST", body: text, headers: { Authorization: `Bearer ${emulator.token}`, "Content-Type": "multipart/mixed; boundary=b" } });
    expect(res.status).toBe(200);
    expect((await res.text()).match(/HTTP\/1\.1 204/g)).toHaveLength(3);
    const created = org.findByDomainName(upn)!;
    expect(org.roleNamesOf(created.systemuserid)).toEqual(["Salesperson"]);
    expect(org.teamNamesOf(created.systemuserid)).toEqual(["New Hires", "org1"]);
  });

  it("applies a change set of moves and associations together, and rolls the whole set back when one fails", async () => {
    const owner = org.addTeam({ name: "Batch Team" }).teamid;
    const u = user();
    org.assignRoles(u, ["Late Root Role"]);
    api.startBatch();
    void api.update({ collection: "systemusers", key: u, data: { "businessunitid@odata.bind": `/businessunits(${sales})` } });
    void api.associate({ collection: "systemusers", primaryKey: u, relationshipName: "systemuserroles_association", relatedCollection: "roles", relatedKey: roleIn("Salesperson", sales) });
    void api.associate({ collection: "teams", primaryKey: owner, relationshipName: "teammembership_association", relatedCollection: "systemusers", relatedKey: u });
    void api.associate({ collection: "systemusers", primaryKey: u, relationshipName: "systemuserroles_association", relatedCollection: "roles", relatedKey: salesperson }); // root copy: refused
    const failed = await api.executeBatch().then(() => null, (e: unknown) => (Array.isArray(e) ? e : [e]) as Json[]);
    expect(failed?.[0]).toMatchObject({ status: 400, error: { code: "0x8004021d" } });
    expect(org.get(u)!._businessunitid_value).toBe(org.businessUnitId);
    expect(org.roleNamesOf(u)).toEqual(["Late Root Role"]);
    expect(org.teamNamesOf(u)).toEqual(["org1"]);

    const before = { ...org.stats.access };
    api.startBatch();
    void api.update({ collection: "systemusers", key: u, data: { "businessunitid@odata.bind": `/businessunits(${sales})` } });
    void api.associate({ collection: "systemusers", primaryKey: u, relationshipName: "systemuserroles_association", relatedCollection: "roles", relatedKey: roleIn("Salesperson", sales) });
    void api.associate({ collection: "teams", primaryKey: owner, relationshipName: "teammembership_association", relatedCollection: "systemusers", relatedKey: u });
    await api.executeBatch();
    expect(org.roleNamesOf(u)).toEqual(["Salesperson"]);
    expect(org.teamNamesOf(u)).toEqual(["Batch Team", "Sales"]);
    expect(org.stats.access).toMatchObject({
      unitMoves: before.unitMoves + 1, rolesDroppedByMoves: before.rolesDroppedByMoves + 1,
      roleAssociate: before.roleAssociate + 1, teamAdd: before.teamAdd + 1,
    });
  });
});
