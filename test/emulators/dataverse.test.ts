// Fidelity of the Dataverse emulator: driven by a third-party client (dynamics-web-api) and by raw HTTPS,
// against the documented wire behaviour (Microsoft's Dataverse Web API documentation).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DynamicsWebApi } from "dynamics-web-api";
import { Tenant } from "../../dev/sandbox/tenant.js";
import type { DataverseOrg, SystemUserRecord } from "../../dev/sandbox/dataverse/index.js";
import { candidates, parseFilter } from "../../dev/sandbox/dataverse/filter.js";
import { randomUUID } from "node:crypto";
import { startDataverseEmulator, type DataverseEmulator } from "../support/dataverse-emulator.js";

let emulator: DataverseEmulator;
let tenant: Tenant;
let org: DataverseOrg;
let token: string;
let api: DynamicsWebApi;
let seq = 0;

/** A directory user and (unless `row` is false) its systemuser, linked by object id. */
function person(init: { given?: string; family?: string; jobTitle?: string; upn?: string } = {}, row = true): { id: string; upn: string; rec?: SystemUserRecord } {
  const n = ++seq;
  const upn = init.upn ?? `user${n}@contoso.com`;
  const user = tenant.directory.addUser({ userPrincipalName: upn, givenName: init.given ?? `Given${n}`, surname: init.family ?? `Family${n}` });
  if (!row) return { id: user.id, upn };
  const rec = org.addSystemUser({
    azureactivedirectoryobjectid: user.id, domainname: upn, firstname: init.given ?? `Given${n}`, lastname: init.family ?? `Family${n}`,
    jobtitle: init.jobTitle ?? null,
  });
  return { id: user.id, upn, rec };
}

async function call(method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; auth?: string | null } = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json", "OData-Version": "4.0", "OData-MaxVersion": "4.0", ...init.headers };
  if (init.auth !== null) headers.Authorization = `Bearer ${init.auth ?? token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
    headers["Content-Type"] ??= "application/json";
  }
  return fetch(`${org.url}/api/data/v9.2/${path}`, { method, headers, body });
}

beforeAll(async () => {
  emulator = await startDataverseEmulator({ authorityUrl: "https://login.sandbox.test" });
  ({ tenant, org, token, api } = emulator);
});

afterAll(async () => {
  await emulator.close();
});

beforeEach(() => {
  org.throttle = null;
  org.concurrencyLimit = 52;
  org.processingMs = 0;
});

describe("dynamics-web-api against the emulator", () => {
  it("pages through a filtered collection with retrieveAll and maxPageSize", async () => {
    const engineers = Array.from({ length: 23 }, () => person({ jobTitle: "Page Engineer" }).rec!.systemuserid);
    person({ jobTitle: "Page Analyst" });
    org.resetStats();
    const all = await api.retrieveAll<Record<string, unknown>>({
      collection: "systemusers", select: ["fullname", "domainname"], filter: "jobtitle eq 'page engineer'", maxPageSize: 5,
    });
    expect(all.value.map((r) => r.systemuserid).sort()).toEqual([...engineers].sort());
    expect(org.stats.get).toBe(5); // 5+5+5+5+3: the last page has no nextLink
    const row = all.value[0]!;
    expect(Object.keys(row).sort()).toEqual(["@odata.etag", "domainname", "fullname", "systemuserid"]);
    expect(row["@odata.etag"]).toBe(`W/"${org.get(row.systemuserid as string)!.versionnumber}"`);
  });

  it("retrieves by id with every column present, null when unset", async () => {
    const { rec } = person({ given: "Ada", family: "Lovelace" });
    const got = await api.retrieve<Record<string, unknown>>({ collection: "systemusers", key: rec!.systemuserid });
    expect(got.fullname).toBe("Ada Lovelace");
    expect(got.azureactivedirectoryobjectid).toBe(rec!.azureactivedirectoryobjectid);
    expect(got).toHaveProperty("mobilephone", null);
    expect(got).toHaveProperty("_businessunitid_value", org.businessUnitId);
    expect(got["@odata.context"]).toBe(`${org.url}/api/data/v9.2/$metadata#systemusers/$entity`);
  });

  it("creates a user whose domainname is resolved in the directory", async () => {
    const { id, upn } = person({}, false);
    const newId: unknown = await api.create({ collection: "systemusers", data: { domainname: upn, firstname: "New", lastname: "Comer" } });
    expect(typeof newId).toBe("string");
    const rec = org.get(newId as string)!;
    expect(rec.azureactivedirectoryobjectid).toBe(id);
    expect(rec.windowsliveid).toBe(upn);
    expect(rec.fullname).toBe("New Comer");
  });

  it("updates with If-Match: * (404 when missing) and recomputes fullname", async () => {
    const { rec } = person({ given: "Grace", family: "Hopper" });
    const before = rec!.versionnumber;
    await api.update({ collection: "systemusers", key: rec!.systemuserid, data: { lastname: "Murray", jobtitle: "Admiral", fullname: "ignored" } });
    expect(rec!.fullname).toBe("Grace Murray");
    expect(rec!.jobtitle).toBe("Admiral");
    expect(rec!.versionnumber).toBeGreaterThan(before);
    const missing = "00000000-0000-0000-0000-00000000abcd";
    await expect(api.update({ collection: "systemusers", key: missing, data: { jobtitle: "x" } })).rejects.toMatchObject({ status: 404 });
    expect(org.get(missing)).toBeUndefined();
  });

  it("upserts: creates with the key from the URL, then updates", async () => {
    const { upn } = person({}, false);
    const key = "11111111-2222-3333-4444-555555555555";
    await api.upsert({ collection: "systemusers", key, data: { domainname: upn, firstname: "Up", lastname: "Sert" } });
    expect(org.get(key)?.fullname).toBe("Up Sert");
    await api.upsert({ collection: "systemusers", key, data: { jobtitle: "Upserted" } });
    expect(org.get(key)?.jobtitle).toBe("Upserted");
    expect([...org.users.values()].filter((u) => u.systemuserid === key)).toHaveLength(1);
  });

  it("rolls a failing change set back atomically", async () => {
    const a = person({ jobTitle: "A0" }).rec!;
    const b = person({ jobTitle: "B0" }).rec!;
    const versions = [a.versionnumber, b.versionnumber];
    api.startBatch();
    void api.update({ collection: "systemusers", key: a.systemuserid, data: { jobtitle: "A1" } });
    void api.update({ collection: "systemusers", key: b.systemuserid, data: { jobtitle: "B1" } });
    void api.update({ collection: "systemusers", key: b.systemuserid, data: { jobtitle: "x".repeat(101) } });
    const outcome = await api.executeBatch().then((r) => ({ ok: true, r }), (e: unknown) => ({ ok: false, r: e }));
    const errors = (Array.isArray(outcome.r) ? outcome.r : [outcome.r]) as Array<{ status?: number; error?: { code: string; message: string } }>;
    expect(outcome.ok).toBe(false);
    expect(errors).toHaveLength(1); // stopped at the failing part: only it is answered
    expect(errors[0]).toMatchObject({ status: 400, error: { code: "0x80044331" } });
    expect(errors[0]!.error!.message).toMatch(/exceeded the maximum allowed length of '100'\.$/);
    expect([a.jobtitle, b.jobtitle]).toEqual(["A0", "B0"]);
    expect([a.versionnumber, b.versionnumber]).toEqual(versions);

    api.startBatch();
    void api.update({ collection: "systemusers", key: a.systemuserid, data: { jobtitle: "A2" } });
    void api.update({ collection: "systemusers", key: b.systemuserid, data: { jobtitle: "B2" } });
    void api.retrieve({ collection: "systemusers", key: a.systemuserid, select: ["jobtitle"] });
    const results = await api.executeBatch();
    expect(results[2]).toMatchObject({ jobtitle: "A2" });
    expect([a.jobtitle, b.jobtitle]).toEqual(["A2", "B2"]);
  });

  it("matches a filter with an escaped quote (o'brien)", async () => {
    const { rec } = person({ given: "Conan", family: "O'Brien", upn: "conan.o'brien@contoso.com" });
    const res = await api.retrieveMultiple<Record<string, unknown>>({
      collection: "systemusers", select: ["lastname"], filter: "domainname eq 'Conan.O''Brien@contoso.com' and lastname eq 'o''brien'",
    });
    expect(res.value.map((r) => r.systemuserid)).toEqual([rec!.systemuserid]);
  });
});

// Response bodies are asserted field by field.
const json = (res: Response): Promise<any> => res.json();
const batchBody = (lines: string[], eol: string) => lines.join(eol);

describe("raw HTTPS", () => {
  it("answers a CRLF batch with a quoted boundary, Content-ID references and a GET", async () => {
    const { upn } = person({}, false);
    const target = person({ jobTitle: "Before" }).rec!;
    const body = batchBody([
      "--batch_AAA",
      "Content-Type: multipart/mixed; boundary=\"changeset_BBB\"",
      "",
      "--changeset_BBB",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "Content-ID: 1",
      "",
      "POST /api/data/v9.2/systemusers HTTP/1.1",
      "Content-Type: application/json; type=entry",
      "",
      JSON.stringify({ domainname: upn, firstname: "Batch", lastname: "Created" }),
      "--changeset_BBB",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "Content-ID: 2",
      "",
      "PATCH $1 HTTP/1.1",
      "Content-Type: application/json",
      "",
      JSON.stringify({ jobtitle: "Via reference" }),
      "--changeset_BBB",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "Content-ID: 3",
      "",
      `PATCH ${org.url}/api/data/v9.2/systemusers(${target.systemuserid}) HTTP/1.1`,
      "Content-Type: application/json",
      "",
      JSON.stringify({ jobtitle: "After" }),
      "--changeset_BBB--",
      "--batch_AAA",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "",
      `GET systemusers(${target.systemuserid})?$select=jobtitle HTTP/1.1`,
      "Accept: application/json",
      "",
      "--batch_AAA--",
      "",
    ], "\r\n");
    const res = await call("POST", "$batch", { body, headers: { "Content-Type": "multipart/mixed; boundary=\"batch_AAA\"" } });
    expect(res.status).toBe(200);
    const boundary = /boundary=(batchresponse_[0-9a-f-]{36})$/.exec(res.headers.get("content-type") ?? "")?.[1];
    expect(boundary).toBeDefined();
    const text = await res.text();
    expect(text.startsWith(`--${boundary}\r\nContent-Type: multipart/mixed; boundary=changesetresponse_`)).toBe(true);
    expect(text.trimEnd().endsWith(`--${boundary}--`)).toBe(true);
    expect(text.match(/HTTP\/1\.1 204 No Content/g)).toHaveLength(3);
    expect(text).toMatch(/Content-ID: 1\r\n\r\nHTTP\/1\.1 204 No Content\r\nOData-Version: 4\.0\r\n/);
    expect(text).toContain('"jobtitle":"After"');
    const created = [...org.users.values()].find((u) => u.domainname === upn)!;
    expect(created.jobtitle).toBe("Via reference");
    expect(text).toContain(`Location: ${org.url}/api/data/v9.2/systemusers(${created.systemuserid})`);
  });

  it("stops an LF batch at the first failure (400, only the failing part) unless continue-on-error", async () => {
    const a = person({ jobTitle: "Keep" }).rec!;
    const parts = (boundary: string) => batchBody([
      `--${boundary}`, "Content-Type: application/http", "Content-Transfer-Encoding: binary", "",
      "GET systemusers(00000000-0000-0000-0000-000000000001) HTTP/1.1", "",
      `--${boundary}`, "Content-Type: application/http", "Content-Transfer-Encoding: binary", "",
      `PATCH systemusers(${a.systemuserid}) HTTP/1.1`, "Content-Type: application/json", "", JSON.stringify({ jobtitle: "Changed" }),
      `--${boundary}--`, "",
    ], "\n");
    const stopped = await call("POST", "$batch", { body: parts("b1"), headers: { "Content-Type": "multipart/mixed;boundary=b1" } });
    expect(stopped.status).toBe(400);
    const text = await stopped.text();
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(text).toContain("HTTP/1.1 404 Not Found");
    expect(text).toContain("Does Not Exist");
    expect(a.jobtitle).toBe("Keep");

    const cont = await call("POST", "$batch", { body: parts("b2"), headers: { "Content-Type": "multipart/mixed;boundary=b2", Prefer: "odata.continue-on-error" } });
    expect(cont.status).toBe(200);
    const all = await cont.text();
    expect(all).toContain("HTTP/1.1 404 Not Found");
    expect(all).toContain("HTTP/1.1 204 No Content");
    expect(a.jobtitle).toBe("Changed");
  });

  it("answers 412 to a stale If-Match and 304 to a current If-None-Match", async () => {
    const rec = person().rec!;
    const stale = `W/"${rec.versionnumber}"`;
    expect((await call("PATCH", `systemusers(${rec.systemuserid})`, { body: { jobtitle: "One" }, headers: { "If-Match": stale } })).status).toBe(204);
    const res = await call("PATCH", `systemusers(${rec.systemuserid})`, { body: { jobtitle: "Two" }, headers: { "If-Match": stale } });
    expect(res.status).toBe(412);
    expect(await json(res)).toEqual({ error: { code: "0x80060882", message: "The version of the existing record doesn't match the RowVersion property provided." } });
    expect(rec.jobtitle).toBe("One");

    const current = await call("GET", `systemusers(${rec.systemuserid})?$select=jobtitle`);
    const etag = current.headers.get("etag")!;
    expect(etag).toBe(`W/"${rec.versionnumber}"`);
    expect((await call("GET", `systemusers(${rec.systemuserid})`, { headers: { "If-None-Match": etag } })).status).toBe(304);
    expect((await call("GET", `systemusers(${rec.systemuserid})`, { headers: { "If-None-Match": stale } })).status).toBe(200);
  });

  it("creates with PATCH + If-None-Match: * only when the row is absent", async () => {
    const rec = person().rec!;
    const res = await call("PATCH", `systemusers(${rec.systemuserid})`, { body: { jobtitle: "x" }, headers: { "If-None-Match": "*" } });
    expect(res.status).toBe(412);
    expect((await json(res)).error.message).toBe("A record with matching key values already exists.");
  });

  it("rejects an over-long column with the exact validation message", async () => {
    const rec = person().rec!;
    const res = await call("PATCH", `systemusers(${rec.systemuserid})`, { body: { jobtitle: "j".repeat(101) } });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({ error: { code: "0x80044331",
      message: "A validation error occurred.  The length of the 'jobtitle' attribute of the 'systemuser' entity exceeded the maximum allowed length of '100'." } });
  });

  it("rejects unknown properties and columns, quoted GUIDs and keys other than the primary key", async () => {
    const rec = person().rec!;
    const prop = await call("PATCH", `systemusers(${rec.systemuserid})`, { body: { nosuch: 1 } });
    expect(prop.status).toBe(400);
    expect((await json(prop)).error.message).toMatch(/^The property 'nosuch' does not exist on type 'Microsoft\.Dynamics\.CRM\.systemuser'\./);
    const sel = await call("GET", "systemusers?$select=fullname,nosuch");
    expect(await json(sel)).toEqual({ error: { code: "0x80060888", message: "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.systemuser'." } });
    const quoted = await call("GET", `systemusers?$filter=azureactivedirectoryobjectid eq '${rec.azureactivedirectoryobjectid}'`);
    expect(quoted.status).toBe(400);
    const unquoted = await json(await call("GET", `systemusers?$filter=azureactivedirectoryobjectid eq ${rec.azureactivedirectoryobjectid}&$select=domainname`));
    expect(unquoted.value.map((r: { systemuserid: string }) => r.systemuserid)).toEqual([rec.systemuserid]);
    for (const key of [`systemuserid=${rec.systemuserid}`, `domainname='${rec.domainname}'`]) {
      const res = await call("GET", `systemusers(${key})`);
      expect(res.status).toBe(400);
      expect((await json(res)).error.message).toMatch(/^The key in the request URI is not valid for resource 'Microsoft\.Dynamics\.CRM\.systemuser'/);
    }
  });

  it("evaluates Microsoft.Dynamics.CRM.In over object ids and domainnames from the indexes", async () => {
    const a = person().rec!;
    const b = person({ upn: "Conan.O'Brien.In@contoso.com" }).rec!;
    person();
    const filter = `Microsoft.Dynamics.CRM.In(PropertyName='azureactivedirectoryobjectid',PropertyValues=['${a.azureactivedirectoryobjectid!.toUpperCase()}','${randomUUID()}'])`
      + ` or Microsoft.Dynamics.CRM.In(PropertyName='domainname',PropertyValues=['conan.o''brien.in@CONTOSO.com','nobody@contoso.com'])`;
    const res = await json(await call("GET", `systemusers?$select=domainname&$filter=${encodeURIComponent(filter)}`));
    expect(res.value.map((r: { systemuserid: string }) => r.systemuserid).sort()).toEqual([a.systemuserid, b.systemuserid].sort());
    // Indexed: the candidate rows come from the object id and domainname indexes, not a scan of the org.
    expect([...(candidates(parseFilter(filter), org.lookup) ?? ["full scan"])].sort()).toEqual([a.systemuserid, b.systemuserid].sort());
    expect(candidates(parseFilter("Microsoft.Dynamics.CRM.In(PropertyName='jobtitle',PropertyValues=['x'])"), org.lookup)).toBeNull();
    // GUID columns take the values as strings; an unquoted or malformed value, or an unknown column, is a 400.
    for (const bad of [
      `Microsoft.Dynamics.CRM.In(PropertyName='azureactivedirectoryobjectid',PropertyValues=[${a.azureactivedirectoryobjectid}])`,
      "Microsoft.Dynamics.CRM.In(PropertyName='azureactivedirectoryobjectid',PropertyValues=['not-a-guid'])",
      "Microsoft.Dynamics.CRM.In(PropertyName='nosuch',PropertyValues=['x'])",
      "Microsoft.Dynamics.CRM.In(PropertyName='domainname')",
    ]) {
      const r = await call("GET", `systemusers?$filter=${encodeURIComponent(bad)}`);
      expect(r.status, bad).toBe(400);
      expect((await json(r)).error.code).toBe("0x80060888");
    }
  });

  it("fidelity: a quoted GUID compared with an Edm.Guid column is 400 0x80060888 with Dataverse's text", async () => {
    const rec = person().rec!;
    for (const column of ["azureactivedirectoryobjectid", "systemuserid", "applicationid", "_businessunitid_value"]) {
      const res = await call("GET", `systemusers?$filter=${encodeURIComponent(`${column} eq '${rec.azureactivedirectoryobjectid}'`)}`);
      expect(res.status, column).toBe(400);
      expect(await json(res), column).toEqual({ error: { code: "0x80060888",
        message: "A binary operator with incompatible types was detected. Found operand types 'Edm.Guid' and 'Edm.String' for operator kind 'Equal'." } });
    }
  });

  it("fidelity: values for read-only columns are ignored on create and update, never stored", async () => {
    const before = { ...org.stats.ignoredColumns };
    const p = person({}, false);
    const stranger = randomUUID();
    const readOnly = {
      azureactivedirectoryobjectid: stranger, fullname: "Forged Name", applicationiduri: "api://forged", disabledreason: "forged",
      deletedstate: 1, versionnumber: 7, createdon: "2000-01-01T00:00:00Z", modifiedon: "2000-01-01T00:00:00Z",
    };
    const created = await call("POST", "systemusers", { body: { domainname: p.upn, firstname: "Real", lastname: "Name", ...readOnly }, headers: { Prefer: "return=representation" } });
    expect(created.status).toBe(201);
    const row = await json(created);
    expect(row).toMatchObject({ azureactivedirectoryobjectid: p.id, fullname: "Real Name", applicationiduri: null, disabledreason: null, deletedstate: null });
    expect(row.versionnumber).not.toBe(7);
    expect(row.createdon).not.toBe("2000-01-01T00:00:00Z");
    const updated = await call("PATCH", `systemusers(${row.systemuserid})`, { body: { jobtitle: "Kept", ...readOnly }, headers: { "If-Match": "*", Prefer: "return=representation" } });
    expect(updated.status).toBe(200);
    expect(await json(updated)).toMatchObject({ jobtitle: "Kept", azureactivedirectoryobjectid: p.id, fullname: "Real Name", applicationiduri: null, disabledreason: null });
    expect(org.get(row.systemuserid)).toMatchObject({ azureactivedirectoryobjectid: p.id, fullname: "Real Name" });
    for (const column of Object.keys(readOnly)) expect(org.stats.ignoredColumns[column], column).toBe((before[column] ?? 0) + 2);
  });

  it("fidelity: Microsoft.Dynamics.CRM.In takes string values for every column type", async () => {
    const rec = person({ jobTitle: "In typed" }).rec!;
    const cases: Array<[string, string]> = [
      ["systemuserid", `'${rec.systemuserid.toUpperCase()}'`],
      ["azureactivedirectoryobjectid", `'${rec.azureactivedirectoryobjectid}'`],
      ["_businessunitid_value", `'${rec._businessunitid_value}'`],
      ["accessmode", "'0'"],
      ["isdisabled", "'false'"],
      ["jobtitle", "'in TYPED'"],
    ];
    for (const [column, values] of cases) {
      const filter = `Microsoft.Dynamics.CRM.In(PropertyName='${column}',PropertyValues=[${values}]) and systemuserid eq ${rec.systemuserid}`;
      const res = await call("GET", `systemusers?$select=domainname&$filter=${encodeURIComponent(filter)}`);
      expect(res.status, column).toBe(200);
      expect((await json(res)).value.map((r: { systemuserid: string }) => r.systemuserid), column).toEqual([rec.systemuserid]);
    }
    for (const [column, values] of [["accessmode", "0"], ["isdisabled", "false"], ["systemuserid", rec.systemuserid]]) {
      const res = await call("GET", `systemusers?$filter=${encodeURIComponent(`Microsoft.Dynamics.CRM.In(PropertyName='${column}',PropertyValues=[${values}])`)}`);
      expect(res.status, `${column} unquoted`).toBe(400);
    }
  });

  it("pages with a paging-cookie skiptoken and echoes the page size", async () => {
    for (let i = 0; i < 4; i++) person({ jobTitle: "Cookie Tester" });
    const res = await call("GET", "systemusers?$select=fullname&$filter=jobtitle eq 'Cookie Tester'&$count=true", { headers: { Prefer: "odata.maxpagesize=3" } });
    expect(res.headers.get("preference-applied")).toBe("odata.maxpagesize=3");
    expect(res.headers.get("odata-version")).toBe("4.0");
    expect(res.headers.get("content-type")).toBe("application/json; odata.metadata=minimal");
    expect(res.headers.get("x-ms-dop-hint")).toBe(String(org.dopHint));
    const page1 = await json(res);
    expect(page1["@odata.context"]).toBe(`${org.url}/api/data/v9.2/$metadata#systemusers(fullname)`);
    expect(page1["@odata.count"]).toBe(4);
    expect(page1.value[0]["@odata.etag"]).toMatch(/^W\/"\d+"$/);
    expect(page1.value).toHaveLength(3);
    expect(page1["@odata.nextLink"]).toMatch(/&\$skiptoken=%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e/);
    const page2 = await json(await fetch(page1["@odata.nextLink"], { headers: { Authorization: `Bearer ${token}`, Prefer: "odata.maxpagesize=3" } }));
    expect(page2.value).toHaveLength(1);
    expect(page2["@odata.nextLink"]).toBeUndefined();
  });

  it("makes a remap go through a temporary name: the direct change to the record's own object fails", async () => {
    const { id, rec } = person({ upn: "old.name@contoso.com" });
    const temp = person({ upn: "remap.placeholder@contoso.com" }, false);
    tenant.directory.updateUser(id, { userPrincipalName: "new.name@contoso.com" });
    const url = `systemusers(${rec!.systemuserid})`;

    const same = await call("PATCH", url, { body: { domainname: "OLD.name@contoso.com" } });
    expect(same.status).toBe(204); // unchanged value: no-op

    const direct = await call("PATCH", url, { body: { domainname: "new.name@contoso.com" } });
    expect(direct.status).toBe(400);
    expect((await json(direct)).error).toEqual({ code: "0x80041d2c", message: "The specified Active Directory user already exists as a Dynamics 365 user." });
    expect(rec!.domainname).toBe("old.name@contoso.com");

    expect((await call("PATCH", url, { body: { domainname: "nobody@contoso.com" } })).status).toBe(400);

    expect((await call("PATCH", url, { body: { domainname: temp.upn } })).status).toBe(204);
    expect(rec!.azureactivedirectoryobjectid).toBe(temp.id);
    expect((await call("PATCH", url, { body: { domainname: "new.name@contoso.com" } })).status).toBe(204);
    expect(rec!.azureactivedirectoryobjectid).toBe(id);
    expect(rec!.windowsliveid).toBe("new.name@contoso.com");
    expect(org.findByDomainName("new.name@contoso.com")?.systemuserid).toBe(rec!.systemuserid);
  });

  it("resolves DOMAIN\\sam names, locks application users and updates isdisabled", async () => {
    const user = tenant.directory.addUser({ userPrincipalName: "sam.user@contoso.com", onPremisesSamAccountName: "samuser", onPremisesDomainName: "contoso.local" });
    const res = await call("POST", "systemusers", { body: { domainname: "CONTOSO\\samuser", firstname: "Sam" }, headers: { Prefer: "return=representation" } });
    expect(res.status).toBe(201);
    const created = await json(res);
    expect(created).toMatchObject({ domainname: "CONTOSO\\samuser", azureactivedirectoryobjectid: user.id, windowsliveid: "sam.user@contoso.com", fullname: "Sam" });
    expect(res.headers.get("odata-entityid")).toBe(`${org.url}/api/data/v9.2/systemusers(${created.systemuserid})`);

    const disabled = await call("PATCH", `systemusers(${created.systemuserid})?$select=isdisabled`, { body: { isdisabled: true }, headers: { Prefer: "return=representation" } });
    expect(disabled.status).toBe(200);
    expect(await json(disabled)).toMatchObject({ isdisabled: true, systemuserid: created.systemuserid });

    const appUser = [...org.users.values()].find((u) => u.applicationid)!;
    const locked = await call("PATCH", `systemusers(${appUser.systemuserid})`, { body: { domainname: "sam.user@contoso.com" } });
    expect(locked.status).toBe(400);
    expect((await json(locked)).error.code).toBe("0x80041d48");
  });

  it("counts requests by kind and the operations inside batches", async () => {
    const rec = person().rec!;
    org.resetStats();
    api.startBatch();
    void api.retrieve({ collection: "systemusers", key: rec.systemuserid, select: ["fullname"] });
    void api.update({ collection: "systemusers", key: rec.systemuserid, data: { jobtitle: "Counted" } });
    await api.executeBatch();
    await call("GET", `systemusers(${rec.systemuserid})`);
    expect(org.stats).toMatchObject({ batch: 1, batchOperations: 2, get: 1, patch: 0, writes: 1 });
  });

  it("fails the next write of a record on demand", async () => {
    const rec = person().rec!;
    org.failNextWrites(rec.systemuserid, 1);
    expect((await call("PATCH", `systemusers(${rec.systemuserid})`, { body: { jobtitle: "x" } })).status).toBe(500);
    expect((await call("PATCH", `systemusers(${rec.systemuserid})`, { body: { jobtitle: "x" } })).status).toBe(204);
  });

  it("challenges a missing or bad token with an unquoted WWW-Authenticate", async () => {
    const expected = `Bearer authorization_uri=https://login.sandbox.test/${tenant.tenantId}/oauth2/authorize, resource_id=${org.url}/`;
    const none = await call("GET", "systemusers", { auth: null });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe(expected);
    const appId = [...org.users.values()].find((u) => u.applicationid)!.applicationid!;
    const wrongAud = (await tenant.issueAccessToken({ clientId: appId, audience: "https://other.crm.dynamics.com" })).token;
    expect((await call("GET", "systemusers", { auth: wrongAud })).status).toBe(401);
    const expired = (await tenant.issueAccessToken({ clientId: appId, audience: org.url, lifetimeSeconds: -60 })).token;
    expect((await call("GET", "systemusers", { auth: expired })).status).toBe(401);
    const foreignKey = (await tenant.issueAccessToken({ clientId: appId, audience: `${org.url}/`, key: await Tenant.newSigningKey() })).token;
    expect((await call("GET", "systemusers", { auth: foreignKey })).status).toBe(401);
    await tenant.rotateSigningKey();
    const rotated = (await tenant.issueAccessToken({ clientId: appId, audience: `${org.url}/` })).token;
    expect((await call("GET", "systemusers?$top=1", { auth: rotated })).status).toBe(200);
  });

  it("forbids an app without an application user", async () => {
    const stranger = tenant.registerApp({ displayName: "Stranger" });
    const t = (await tenant.issueAccessToken({ clientId: stranger.clientId, audience: org.url })).token;
    const res = await call("GET", "systemusers", { auth: t });
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual({ error: { code: "0x80072560", message: "The user is not a member of the organization." } });
  });

  it("throttles with Dataverse's 429 and Retry-After", async () => {
    org.throttle = { rate: 1, retryAfterSeconds: 7 };
    const res = await call("GET", "systemusers?$top=1");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(await json(res)).toEqual({ error: { code: "0x80072322", message: "Number of requests exceeded the limit of 6000 over time window of 300 seconds." } });
    org.throttle = { limit: 2, retryAfterSeconds: 3 };
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call("GET", "systemusers?$top=1")).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it("limits concurrent requests per caller", async () => {
    org.concurrencyLimit = 1;
    org.processingMs = 1000;
    const responses = await Promise.all(Array.from({ length: 4 }, () => call("GET", "systemusers?$top=1")));
    const statuses = responses.map((r) => r.status);
    expect(statuses).toContain(200);
    expect(statuses).toContain(429);
    const limited = responses.find((r) => r.status === 429)!;
    expect((await json(limited)).error.code).toBe("0x80072326");
  });
});
